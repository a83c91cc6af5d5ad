//! The reconciliation section (SPEC §11): the published national figures beside the same
//! counts from the exports, with the coverage ratio, and a sentence naming the years whose
//! coverage is below 90% or above 110%. It lays out the protected reconciliation rows only.

use serde::Serialize;

use super::ReportInput;
use super::format::{format_count, format_rate};
use super::i18n::{Strings, text};
use super::tables::{Cell, status_cell};
use crate::config::PublishedTable;

/// Coverage outside these bounds is named in the sentence.
const LOW: f64 = 0.9;
const HIGH: f64 = 1.1;

#[derive(Serialize)]
pub(super) struct ReconciliationView {
    rows: Vec<ReconciliationLine>,
    sentence: String,
    source: String,
}

#[derive(Serialize)]
struct ReconciliationLine {
    year: i32,
    quantity: String,
    published: String,
    computed: Cell,
    coverage: Cell,
}

/// The section, or `None` when no published figure falls in a finished year of the data.
pub(super) fn reconciliation(input: &ReportInput<'_>, t: &Strings) -> Option<ReconciliationView> {
    if input.reconciliation.is_empty() {
        return None;
    }
    let lang = input.lang;
    let rows = input
        .reconciliation
        .iter()
        .map(|r| {
            let quantity = text(t, &format!("quantity_{}", r.quantity_name()), &[]);
            let computed = status_cell(
                r.status,
                || {
                    Cell::ok(
                        r.computed
                            .map(|c| format_count(c, lang))
                            .unwrap_or_default(),
                        String::new(),
                    )
                },
                t,
            );
            let coverage = status_cell(
                r.status,
                || {
                    let mut cell = Cell::ok(
                        r.coverage
                            .map(|c| format_rate(c, lang))
                            .unwrap_or_else(|| "—".into()),
                        String::new(),
                    );
                    if r.coverage.is_some_and(|c| !(LOW..=HIGH).contains(&c)) {
                        cell.class = "outside";
                    }
                    cell
                },
                t,
            );
            ReconciliationLine {
                year: r.year,
                quantity,
                published: format_count(r.published, lang),
                computed,
                coverage,
            }
        })
        .collect();
    let sentence = verdict(input, t);
    let source = match &input.pipeline.published {
        PublishedTable { file: None, .. } => text(t, "reconciliation_source_shipped", &[]),
        PublishedTable {
            file: Some((path, _)),
            ..
        } => text(
            t,
            "reconciliation_source_file",
            &[(
                "file",
                &path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )],
        ),
    };
    Some(ReconciliationView {
        rows,
        sentence,
        source,
    })
}

/// A verdict per year of the data: covered (every published figure 90–110%), outside (with
/// the range of its coverage), not checked (nothing published for it), or not finished.
fn verdict(input: &ReportInput<'_>, t: &Strings) -> String {
    let lang = input.lang;
    let mut years: Vec<i32> = input.rates.iter().map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let (mut covered, mut outside, mut unchecked, mut partial) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for year in years {
        if !super::rows::year_over(year, input.as_of) {
            partial.push(year.to_string());
            continue;
        }
        let coverages: Vec<f64> = input
            .reconciliation
            .iter()
            .filter(|r| r.year == year)
            .filter_map(|r| r.coverage)
            .collect();
        if coverages.is_empty() {
            unchecked.push(year.to_string());
            continue;
        }
        let low = coverages.iter().copied().fold(f64::INFINITY, f64::min);
        let high = coverages.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if low >= LOW && high <= HIGH {
            covered.push(year.to_string());
        } else if (high - low).abs() < 5e-4 {
            outside.push(format!("{year} ({})", format_rate(low, lang)));
        } else {
            outside.push(format!(
                "{year} ({}–{})",
                format_rate(low, lang),
                format_rate(high, lang)
            ));
        }
    }
    let mut parts = Vec::new();
    for (key, list) in [
        ("reconciliation_covered", covered),
        ("reconciliation_outside", outside),
        ("reconciliation_unchecked", unchecked),
        ("reconciliation_partial", partial),
    ] {
        if !list.is_empty() {
            parts.push(text(t, key, &[("years", &list.join(", "))]));
        }
    }
    parts.join(" ")
}

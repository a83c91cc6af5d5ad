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
    let mut low = Vec::new();
    let mut high = Vec::new();
    let rows = input
        .reconciliation
        .iter()
        .map(|r| {
            let quantity = text(t, &format!("quantity_{}", r.quantity_name()), &[]);
            if let Some(c) = r.coverage {
                let named = format!(
                    "{} ({}: {})",
                    r.year,
                    quantity.to_lowercase(),
                    format_rate(c, lang)
                );
                if c < LOW {
                    low.push(named);
                } else if c > HIGH {
                    high.push(named);
                }
            }
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
    let sentence = match (low.is_empty(), high.is_empty()) {
        (true, true) => text(t, "reconciliation_all_within", &[]),
        _ => {
            let mut parts = Vec::new();
            if !low.is_empty() {
                parts.push(text(t, "reconciliation_low", &[("years", &low.join("; "))]));
            }
            if !high.is_empty() {
                parts.push(text(
                    t,
                    "reconciliation_high",
                    &[("years", &high.join("; "))],
                ));
            }
            parts.join(" ")
        }
    };
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

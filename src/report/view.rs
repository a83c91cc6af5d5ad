//! The view model: everything `templates/report.html` gets, as formatted strings, gathered
//! from the parts (headlines and warnings here; charts, map, tables and programmes in their
//! files). The template only lays it out; nothing here writes HTML.

use serde::Serialize;

use super::ReportInput;
use super::chart::{Chart, chart};
use super::format::{
    format_change, format_count, format_date, format_interval, format_rate, format_value,
};
use super::funnel::{FunnelPlot, funnel_plot};
use super::i18n::{Strings, measure_name, strings, text};
use super::map::{MapView, map};
use super::method::{footnotes, method_notes};
use super::programmes::{ProgrammeView, Scope, programme_view};
use super::reconciliation::{ReconciliationView, reconciliation};
use super::rows::{latest_ok_year, rows_of, year_over};
use super::tables::{Table, table};
use crate::config::Lang;
use crate::ingest::{self, Distinct, InputFile};
use crate::measures::{Measure, Status};

/// Everything the template reads, already formatted in the report's language.
#[derive(Serialize)]
pub(super) struct View {
    lang: &'static str,
    t: &'static Strings,
    title: String,
    pipeline_name: String,
    as_of: String,
    warnings: Vec<String>,
    headlines: Vec<Headline>,
    charts: Vec<Chart>,
    map: Option<MapView>,
    tables: Vec<Table>,
    footnotes: Vec<String>,
    /// SPEC §10's programmes, when the pipeline defines any.
    programmes: Vec<ProgrammeView>,
    programme_footnotes: Vec<String>,
    /// SPEC §7's funnel plots, one per rate measure with a published year.
    funnels: Vec<FunnelPlot>,
    /// SPEC §11's reconciliation with the published national figures.
    reconciliation: Option<ReconciliationView>,
    quality: Vec<SourceQuality>,
    methodology: Vec<Definition>,
    method_notes: Vec<String>,
    metadata: Vec<(String, String)>,
    inputs: Vec<InputRow>,
}

#[derive(Serialize)]
struct Headline {
    name: String,
    year: String,
    value: String,
    interval: Option<String>,
    change: Option<String>,
}

#[derive(Serialize)]
struct SourceQuality {
    name: String,
    files: u64,
    read: String,
    accepted: String,
    rejected: String,
    duplicate: String,
    over_limit: bool,
    reasons: Vec<(String, String, String)>,
    /// Per column with unmapped labels, how many there are: the number only (the labels
    /// themselves go to the run's log, never into a publishable output).
    unmapped: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct Definition {
    pub name: String,
    pub text: String,
}

#[derive(Serialize)]
struct InputRow {
    name: String,
    sha256: String,
    rows: String,
}

/// The warnings a reader must see first: a demo key, a changed key, a source over the reject
/// limit.
pub(super) fn warnings(input: &ReportInput<'_>, lang: Lang, t: &Strings) -> Vec<String> {
    let mut warnings = Vec::new();
    if input.demo_key {
        warnings.push(text(t, "demo_key_warning", &[]));
    }
    if let Some(old) = input.changed_from_fingerprint {
        warnings.push(text(
            t,
            "key_changed_warning",
            &[("old", old), ("new", input.key_fingerprint)],
        ));
    }
    if !input.sources_over_limit.is_empty() {
        warnings.push(text(
            t,
            "reject_limit_warning",
            &[
                ("limit", &format_rate(input.pipeline.max_reject_rate, lang)),
                ("sources", &input.sources_over_limit.join(", ")),
            ],
        ));
    }
    warnings
}

/// The whole view: warnings, headlines, charts, map, tables, quality, method and metadata.
pub(super) fn build_view(input: &ReportInput<'_>) -> View {
    let lang = input.lang;
    let t = strings(lang);
    let k = input.pipeline.min_count;

    let warnings = warnings(input, lang, t);
    let headlines = Measure::ALL
        .iter()
        .map(|m| headline(input, *m, t))
        .collect();
    let charts = Measure::ALL.iter().map(|m| chart(input, *m, t)).collect();
    let tables = Measure::ALL.iter().map(|m| table(input, *m, t)).collect();

    let mut footnotes = footnotes(t, k);
    if input.rates.iter().any(|r| !year_over(r.year, input.as_of)) {
        footnotes.push(text(
            t,
            "footnote_partial_year",
            &[("date", &format_date(input.as_of, lang))],
        ));
    }

    let methodology = Measure::ALL
        .iter()
        .map(|m| Definition {
            name: measure_name(t, *m),
            text: text(t, &format!("define_{}", m.code()), &[]),
        })
        .collect();
    let mut method_notes = method_notes(input.pipeline, t);
    method_notes.push(text(
        t,
        "small_class_share",
        &[
            ("k", &k.to_string()),
            ("share", &format_rate(input.small_class_share, lang)),
        ],
    ));

    let metadata = vec![
        (text(t, "as_of", &[]), format_date(input.as_of, lang)),
        (text(t, "pipeline", &[]), input.pipeline.name.clone()),
        (
            text(t, "pipeline_sha", &[]),
            input.pipeline_sha256.to_string(),
        ),
        (text(t, "tool_version", &[]), input.version.to_string()),
        (
            text(t, "key_fingerprint", &[]),
            input.key_fingerprint.to_string(),
        ),
    ];
    let inputs = input
        .files
        .iter()
        .map(|f| InputRow {
            name: f.display.clone(),
            sha256: f.sha256.clone(),
            rows: format_count(f.rows_read, lang),
        })
        .collect();

    View {
        lang: lang.code(),
        t,
        title: text(t, "title", &[]),
        pipeline_name: input.pipeline.name.clone(),
        as_of: format_date(input.as_of, lang),
        warnings,
        headlines,
        charts,
        map: map(input, t),
        tables,
        footnotes,
        programmes: (0..input.pipeline.programmes.len())
            .filter_map(|i| programme_view(input, i, lang, t, Scope::Section))
            .collect(),
        programme_footnotes: vec![
            text(t, "footnote_programme_withheld", &[("k", &k.to_string())]),
            text(t, "footnote_programme_points", &[]),
        ],
        funnels: Measure::ALL
            .iter()
            .filter_map(|m| funnel_plot(input, *m, t))
            .collect(),
        reconciliation: reconciliation(input, t),
        quality: quality(input, t),
        methodology,
        method_notes,
        metadata,
        inputs,
    }
}

fn headline(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Headline {
    let lang = input.lang;
    let national = rows_of(input.rates, m, None);
    let latest =
        latest_ok_year(input, m).and_then(|y| national.iter().find(|r| r.year == y).copied());
    let Some(row) = latest else {
        return Headline {
            name: measure_name(t, m),
            year: String::new(),
            value: text(t, "no_complete_year", &[]),
            interval: None,
            change: None,
        };
    };
    let previous = national
        .iter()
        .find(|r| r.year == row.year - 1 && r.status == Status::Ok);
    let change = match (m.is_count(), previous) {
        (false, Some(p)) => row
            .rate
            .zip(p.rate)
            .map(|(now, before)| format_change(now - before, lang, t)),
        (true, Some(p)) => row.numerator.zip(p.numerator).map(|(now, before)| {
            let delta = now as i64 - before as i64;
            let sign = if delta > 0 {
                "+"
            } else if delta < 0 {
                "−"
            } else {
                "±"
            };
            format!("{sign}{}", format_count(delta.unsigned_abs(), lang))
        }),
        _ => None,
    };
    Headline {
        name: measure_name(t, m),
        year: row.year.to_string(),
        value: format_value(row, lang).unwrap_or_default(),
        interval: row
            .ci_low
            .zip(row.ci_high)
            .map(|(lo, hi)| format_interval(lo, hi, lang)),
        change,
    }
}

fn quality(input: &ReportInput<'_>, t: &Strings) -> Vec<SourceQuality> {
    let lang = input.lang;
    input
        .pipeline
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let files: Vec<&InputFile> = input.files.iter().filter(|f| f.source == i).collect();
            let counts = input.per_source.get(i).cloned().unwrap_or_default();
            let reasons = ingest::reject_summary(files.iter().copied());
            SourceQuality {
                name: source.name.clone(),
                files: files.len() as u64,
                read: format_count(counts.rows_read, lang),
                accepted: format_count(counts.rows_accepted, lang),
                rejected: format_count(counts.rows_rejected, lang),
                duplicate: format_count(counts.rows_duplicate, lang),
                over_limit: input.sources_over_limit.contains(&source.name),
                reasons: reasons
                    .into_iter()
                    .take(5)
                    .map(|(reason, field, n)| {
                        (
                            text(t, &format!("reason_{}", reason.code()), &[]),
                            field.to_string(),
                            format_count(n, lang),
                        )
                    })
                    .collect(),
                unmapped: input
                    .unmapped
                    .iter()
                    .filter(|u| u.source == i)
                    .map(|u| {
                        let distinct = match u.distinct {
                            Distinct::Exactly(n) => format_count(n as u64, lang),
                            Distinct::MoreThan(n) => {
                                text(t, "more_than", &[("n", &format_count(n as u64, lang))])
                            }
                        };
                        text(
                            t,
                            "unmapped_count",
                            &[
                                ("field", u.field.name()),
                                ("distinct", &distinct),
                                ("rows", &format_count(u.rows, lang)),
                            ],
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

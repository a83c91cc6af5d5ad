//! The HTML reports: the summary report (SPEC §7) and each programme's funder report (SPEC
//! §10), self-contained files (inline CSS and SVG, no script), printable on A4, in Bulgarian
//! or English. This module turns the protected tables and the run's accounting into view
//! models of formatted strings and chart geometry; the templates (`templates/report.html`,
//! `templates/programme.html`, and the macros both use in `templates/parts.html`) only lay
//! them out, and minijinja escapes every value.
//!
//! - `view`: the view model of report.html, its headlines and warnings;
//! - `chart`, `map`, `tables`: the parts of the view that have geometry or many cells;
//! - `programmes`, `words`: a programme's view (who, charts, period table) and its findings in
//!   plain words; `funder`: the funder report's view, with its method and suppression notes;
//! - `funnel`, `reconciliation`: the funnel plots (SPEC §7) and the reconciliation with the
//!   published figures (SPEC §11);
//! - `rows`: which rows of the protected tables each part reads;
//! - `format`, `i18n`: numbers, dates and words in the report's language;
//! - `method`: the legend and method notes, which `rates.xlsx` shares (its words come from
//!   here, so the workbook and the report say the same).
//!
//! The reports read only the rates and programme tables after disclosure control and the
//! run's accounting: they never see a case and never unsuppress or recount a row.

mod chart;
mod format;
mod funder;
mod funnel;
mod i18n;
mod map;
mod method;
mod programmes;
mod reconciliation;
mod rows;
mod tables;
mod view;
mod words;

use chrono::NaiveDate;

use crate::config::{Lang, Pipeline, Programme};
use crate::ingest::{InputFile, UnmappedColumn};
use crate::link::Counts;
use crate::measures::{ProgrammeRow, RateRow, ReconciliationRow};

pub(crate) use format::region_name;
pub use format::{format_count, format_date, format_rate};
pub(crate) use i18n::{Strings, measure_name, strings, text};
pub(crate) use method::{footnotes, method_notes};

/// The templates, by name (the `.html` names turn on minijinja's HTML escaping).
const TEMPLATES: [(&str, &str); 3] = [
    ("parts.html", include_str!("../../templates/parts.html")),
    ("report.html", include_str!("../../templates/report.html")),
    (
        "programme.html",
        include_str!("../../templates/programme.html"),
    ),
];

/// A report could not be rendered: a defect in a template, or a programme the pipeline does
/// not have; never the data.
#[derive(Debug, thiserror::Error)]
#[error("rendering {file}: {message}")]
pub struct ReportError {
    file: String,
    message: String,
}

/// Everything the report shows, gathered by the caller.
pub struct ReportInput<'a> {
    pub lang: Lang,
    pub pipeline: &'a Pipeline,
    pub pipeline_sha256: &'a str,
    pub as_of: NaiveDate,
    /// The rates table after disclosure control.
    pub rates: &'a [RateRow],
    /// The programmes' rows after disclosure control (SPEC §10); empty without programmes.
    pub programmes: &'a [ProgrammeRow],
    /// The reconciliation with the published figures after disclosure control (SPEC §11).
    pub reconciliation: &'a [ReconciliationRow],
    pub files: &'a [InputFile],
    /// Each source's rows accounted for, in the order of the pipeline's sources.
    pub per_source: &'a [Counts],
    /// Per source and column, the unmapped labels found (the report shows their number only).
    pub unmapped: &'a [UnmappedColumn],
    pub key_fingerprint: &'a str,
    pub demo_key: bool,
    /// The previous run's fingerprint, when it differs from this run's.
    pub changed_from_fingerprint: Option<&'a str>,
    pub small_class_share: f64,
    pub sources_over_limit: &'a [String],
    pub version: &'a str,
}

/// Render report.html in `input.lang`.
pub fn render(input: &ReportInput<'_>) -> Result<String, ReportError> {
    render_view("report.html", "report.html", &view::build_view(input))
}

/// The file name of a programme's funder report in `lang`: `programme-<name>-<lang>.html`.
pub fn programme_file_name(programme: &Programme, lang: Lang) -> String {
    format!("programme-{}-{}.html", programme.name, lang.code())
}

/// Render the funder report of programme `index` (its position in the pipeline's
/// programmes) in `lang`, whatever `input.lang` is.
pub fn render_programme(
    input: &ReportInput<'_>,
    index: usize,
    lang: Lang,
) -> Result<String, ReportError> {
    let programme = input
        .pipeline
        .programmes
        .get(index)
        .ok_or_else(|| ReportError {
            file: format!("programme #{}", index + 1),
            message: format!(
                "the pipeline has {} programmes",
                input.pipeline.programmes.len()
            ),
        })?;
    let file = programme_file_name(programme, lang);
    let view = funder::funder_view(input, index, lang).ok_or_else(|| ReportError {
        file: file.clone(),
        message: "no such programme".into(),
    })?;
    render_view(&file, "programme.html", &view)
}

fn render_view(
    file: &str,
    template: &str,
    view: &impl serde::Serialize,
) -> Result<String, ReportError> {
    let error = |e: minijinja::Error| ReportError {
        file: file.to_string(),
        message: e.to_string(),
    };
    let mut env = minijinja::Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(error)?;
    }
    env.get_template(template)
        .map_err(error)?
        .render(minijinja::value::Value::from(minijinja::value::Serde(view)))
        .map_err(error)
}

//! The HTML summary report (SPEC §7): one self-contained file, inline CSS and SVG, no script,
//! printable on A4, in Bulgarian or English. This module turns the protected rates table and
//! the run's accounting into a view model of formatted strings and chart geometry; the
//! template (`templates/report.html`) only lays it out, and minijinja escapes every value.
//!
//! - `view`: the view model the template gets, and the headlines;
//! - `chart`, `map`, `tables`: the parts of the view that have geometry or many cells;
//! - `rows`: which rows of the rates table each part reads;
//! - `format`, `i18n`: numbers, dates and words in the report's language;
//! - `method`: the legend and method notes, which `rates.xlsx` shares (its words come from
//!   here, so the workbook and the report say the same).
//!
//! The report reads only the rates table after disclosure control and the run's accounting:
//! it never sees a case and never unsuppresses or recounts a row.

mod chart;
mod format;
mod i18n;
mod map;
mod method;
mod rows;
mod tables;
mod view;

use chrono::NaiveDate;

use crate::config::{Lang, Pipeline};
use crate::ingest::{InputFile, UnmappedColumn};
use crate::link::Counts;
use crate::measures::{ProgrammeRow, RateRow};

pub(crate) use format::region_name;
pub use format::{format_count, format_date, format_rate};
pub(crate) use i18n::{Strings, measure_name, strings, text};
pub(crate) use method::{footnotes, method_notes};

const TEMPLATE: &str = include_str!("../../templates/report.html");

/// The report could not be rendered: a defect in the template, never in the data.
#[derive(Debug, thiserror::Error)]
#[error("rendering report.html: {0}")]
pub struct ReportError(String);

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

/// Render the report.
pub fn render(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let view = view::build_view(input);
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError(e.to_string()))?;
    let template = env
        .get_template("report.html")
        .map_err(|e| ReportError(e.to_string()))?;
    template
        .render(minijinja::value::Value::from(minijinja::value::Serde(
            &view,
        )))
        .map_err(|e| ReportError(e.to_string()))
}

//! The tables: one per measure, a row per region (Bulgaria first, then by name in the
//! language) and a cell per year, each cell showing its value or why it has none; and that
//! cell (`status_cell`), which the programmes' period tables use too.

use serde::Serialize;

use super::ReportInput;
use super::format::{format_count, format_value, region_name};
use super::i18n::{Strings, measure_name, text};
use super::rows::year_over;
use crate::config::Lang;
use crate::measures::{Measure, RateRow, Status};

#[derive(Serialize)]
pub(super) struct Table {
    id: String,
    title: String,
    /// The column headings: a year, marked `*` when it had not ended by the as-of date.
    years: Vec<String>,
    rows: Vec<TableRow>,
}

#[derive(Serialize)]
struct TableRow {
    region: String,
    national: bool,
    cells: Vec<Cell>,
}

/// One cell: its value, or the mark of why it has none (◆ withheld, … incomplete, — no data).
#[derive(Serialize)]
pub(super) struct Cell {
    pub text: String,
    pub class: &'static str,
    pub title: String,
    /// A second line under the value (an interval); empty for none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// An id for the cell, when it has one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
}

impl Cell {
    /// An `ok` cell.
    pub fn ok(text: String, title: String) -> Cell {
        Cell {
            text,
            class: "ok",
            title,
            detail: String::new(),
            id: String::new(),
        }
    }

    fn marked(mark: &str, class: &'static str, title: String) -> Cell {
        Cell {
            text: mark.into(),
            class,
            title,
            detail: String::new(),
            id: String::new(),
        }
    }
}

/// The cell of a row of `status`: `ok()` for a published row, else the status' mark. A row
/// that is not `ok` has no numbers, so none can reach its cell.
pub(super) fn status_cell(status: Status, ok: impl FnOnce() -> Cell, t: &Strings) -> Cell {
    match status {
        Status::Ok => ok(),
        Status::SuppressedPrimary => {
            Cell::marked("◆", "suppressed", text(t, "status_suppressed_primary", &[]))
        }
        Status::SuppressedSecondary => Cell::marked(
            "◆",
            "suppressed",
            text(t, "status_suppressed_secondary", &[]),
        ),
        Status::Incomplete => Cell::marked("…", "incomplete", text(t, "status_incomplete", &[])),
        Status::NoData => Cell::marked("—", "nodata", text(t, "status_no_data", &[])),
    }
}

/// A region × year cell: the rate, and under it its numerator and denominator (so a reader
/// sees that 100% is 5 of 5; a hover title is lost in print).
fn cell(row: &RateRow, lang: Lang, t: &Strings) -> Cell {
    status_cell(
        row.status,
        || {
            let counts = match (row.numerator, row.denominator) {
                (Some(x), Some(n)) => {
                    format!("{} / {}", format_count(x, lang), format_count(n, lang))
                }
                _ => String::new(),
            };
            let mut cell = Cell::ok(format_value(row, lang).unwrap_or_default(), counts.clone());
            cell.detail = counts;
            cell
        },
        t,
    )
}

pub(super) fn table(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Table {
    let lang = input.lang;
    // The rates table is ordered by measure, region (BG first), year: one run per region.
    let measure_rows: Vec<&RateRow> = input.rates.iter().filter(|r| r.measure == m).collect();
    let mut by_region: Vec<&[&RateRow]> =
        measure_rows.chunk_by(|a, b| a.region == b.region).collect();
    // Readers look regions up by name: Bulgaria first, then alphabetically in the language.
    by_region.sort_by_key(|rows| (rows[0].region.is_some(), region_name(rows[0].region, lang)));
    let years = by_region
        .first()
        .map(|rows| {
            rows.iter()
                .map(|r| match year_over(r.year, input.as_of) {
                    true => r.year.to_string(),
                    false => format!("{}*", r.year),
                })
                .collect()
        })
        .unwrap_or_default();
    Table {
        id: format!("table-{}", m.code()),
        title: measure_name(t, m),
        years,
        rows: by_region
            .into_iter()
            .map(|rows| TableRow {
                region: region_name(rows[0].region, lang),
                national: rows[0].region.is_none(),
                cells: rows.iter().map(|r| cell(r, lang, t)).collect(),
            })
            .collect(),
    }
}

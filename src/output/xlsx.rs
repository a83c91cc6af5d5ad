//! `rates.xlsx` (SPEC §12): the protected rates and programme rows laid out for Excel in the
//! report's language, with fixed document properties so that reruns are byte-identical. This
//! file owns the workbook: which sheets it has, in which order, and its properties.
//!
//! - `measures`: a sheet per measure, region × year; `programmes`: a sheet per programme;
//!   `reconciliation`: the published national figures against the computed ones (SPEC §11);
//!   `notes`: the Notes sheet (definitions, legend, suppression rule);
//! - `cells`: the formats, and how a row's status becomes cells (a withheld row becomes the
//!   report's marker and never a number); `names`: valid, unique sheet names.
//!
//! Layout only: every number in the workbook is a field of a protected row, written as a
//! number with a number format. Nothing here computes, recounts or unsuppresses a figure.

mod cells;
mod measures;
mod names;
mod notes;
mod programmes;
mod reconciliation;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook, Worksheet, XlsxError};
use sha2::{Digest, Sha256};

use super::{OutputEntry, OutputError, io_error};
use crate::config::{Lang, Pipeline};
use crate::measures::{Measure, ProgrammeRow, RateRow, ReconciliationRow};
use crate::pseudonym::to_hex;
use crate::report::{Strings, strings, text};
use cells::Styles;
use names::SheetNames;

/// What `rates.xlsx` lays out: the protected tables and what the sheets say about them.
pub struct XlsxInput<'a> {
    pub lang: Lang,
    /// The pipeline: its programmes (each a sheet), `min_count` and success sets (the notes).
    pub pipeline: &'a Pipeline,
    pub as_of: NaiveDate,
    /// The rates table after disclosure control.
    pub rates: &'a [RateRow],
    /// The programmes' rows after disclosure control; empty without programmes.
    pub programmes: &'a [ProgrammeRow],
    /// The reconciliation with the published figures after disclosure control (SPEC §11).
    pub reconciliation: &'a [ReconciliationRow],
    /// The program's version, for the Notes sheet and the document properties.
    pub version: &'a str,
}

/// What every sheet writer gets: the input, the strings of its language and the formats.
struct Context<'a> {
    input: &'a XlsxInput<'a>,
    t: &'static Strings,
    styles: Styles,
}

/// Write `rates.xlsx`; its manifest entry.
pub fn write_rates_xlsx(path: &Path, input: &XlsxInput<'_>) -> Result<OutputEntry, OutputError> {
    let bytes = workbook_bytes(input)?;
    fs::write(path, &bytes).map_err(io_error(path))?;
    Ok(OutputEntry::hashed(path, to_hex(&Sha256::digest(&bytes))))
}

/// The workbook's bytes.
fn workbook_bytes(input: &XlsxInput<'_>) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    book.set_properties(&properties(input)?);
    let cx = Context {
        input,
        t: strings(input.lang),
        styles: Styles::new(input.lang),
    };
    add_sheets(&mut book, &cx)?;
    book.save_to_buffer()
}

/// The sheets, in order: the measures (SPEC §4's order), the programmes (the pipeline's
/// order), then the notes. A new sheet is one `add_sheet` call here and a `write` of its own.
fn add_sheets(book: &mut Workbook, cx: &Context<'_>) -> Result<(), XlsxError> {
    let mut names = SheetNames::default();
    for measure in Measure::ALL {
        let name = text(cx.t, &format!("xlsx_sheet_{}", measure.code()), &[]);
        measures::write(add_sheet(book, &mut names, &name)?, cx, measure)?;
    }
    for (index, programme) in cx.input.pipeline.programmes.iter().enumerate() {
        programmes::write(add_sheet(book, &mut names, &programme.name)?, cx, index)?;
    }
    if !cx.input.reconciliation.is_empty() {
        let name = text(cx.t, "xlsx_sheet_reconciliation", &[]);
        reconciliation::write(add_sheet(book, &mut names, &name)?, cx)?;
    }
    let name = text(cx.t, "xlsx_sheet_notes", &[]);
    notes::write(add_sheet(book, &mut names, &name)?, cx)?;
    Ok(())
}

/// A new sheet named after `wanted`, made valid and unique among the workbook's.
fn add_sheet<'b>(
    book: &'b mut Workbook,
    names: &mut SheetNames,
    wanted: &str,
) -> Result<&'b mut Worksheet, XlsxError> {
    let name = names.claim(wanted);
    book.add_worksheet().set_name(name)
}

/// Fixed document properties: the creation date is the as-of date (midnight UTC), never the
/// time of the run, so the same inputs give the same bytes.
fn properties(input: &XlsxInput<'_>) -> Result<DocProperties, XlsxError> {
    let t = strings(input.lang);
    let created = u16::try_from(input.as_of.year())
        .map_err(|_| XlsxError::DateTimeRangeError(input.as_of.to_string()))
        .and_then(|year| {
            ExcelDateTime::from_ymd(year, input.as_of.month() as u8, input.as_of.day() as u8)
        })
        // Excel's dates start in 1900: an as-of date it cannot hold gets a constant.
        .or_else(|_| ExcelDateTime::from_ymd(2000, 1, 1))?;
    Ok(DocProperties::new()
        .set_title(text(t, "title", &[]))
        .set_subject(text(t, "subtitle", &[]))
        .set_author("outcomes")
        .set_comment(format!("outcomes {}", input.version))
        .set_creation_datetime(&created))
}

//! Whether calamine may read an `.ods`: the memory it would take for the sheets of its
//! `content.xml`, reckoned by walking the XML as calamine walks it, before calamine does.
//!
//! calamine reads every sheet of an `.ods` whole when it opens it, and a few bytes of XML can
//! stand for a great deal: a cell repeated across 16,384 columns, a row repeated a million times,
//! `<text:s text:c="4000000000"/>` (that many spaces). Its own cap (100 million cells) is far
//! past what fits in memory here. No element or text may run past `MAX_XML_RUN` bytes without a
//! `<`, which bounds what either reader buffers at a time.

use std::io::{self, BufReader, Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::WHOLE_READ_BUDGET;

/// Why an `.ods` is not handed to calamine.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::ingest) enum OdsRefusal {
    /// No `content.xml`, or XML this walk cannot follow (calamine would not either).
    Damaged,
    /// Its sheets would take about this many bytes in calamine.
    TooLarge(u64),
}

/// Bytes calamine holds a cell in: a `Data` value and a formula `String`, once while it reads a
/// row and once in the sheet's grid.
const CELL_BYTES: u64 = 32 + 24;

/// calamine's caps: a sheet's rows and a row's columns (repeats beyond them are dropped).
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

/// The longest stretch of `content.xml` without a `<`: 16 MB. Every element and text node lies
/// within one, so neither this walk nor calamine buffers more at a time.
pub(in crate::ingest) const MAX_XML_RUN: usize = 16 << 20;

/// Check the `.ods` in `bytes` (a ZIP archive whose sizes were checked already).
pub(in crate::ingest) fn check(bytes: &[u8]) -> Result<(), OdsRefusal> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| OdsRefusal::Damaged)?;
    let content = archive
        .by_name("content.xml")
        .map_err(|_| OdsRefusal::Damaged)?;
    let need = memory_needed(BufReader::new(content))?;
    if need > WHOLE_READ_BUDGET {
        return Err(OdsRefusal::TooLarge(need));
    }
    Ok(())
}

/// The memory calamine (0.38, `Ods::new`) takes for the sheets in `content`.
pub(in crate::ingest) fn memory_needed(content: impl Read) -> Result<u64, OdsRefusal> {
    let mut reader = Reader::from_reader(BufReader::new(RunBound {
        inner: content,
        run: 0,
    }));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut total = 0u64;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == "table:table" => {
                buf.clear();
                total = total.saturating_add(table_memory(&mut reader, &mut buf)?);
            }
            Ok(Event::Eof) => return Ok(total),
            Err(_) => return Err(OdsRefusal::Damaged),
            Ok(_) => {}
        }
        buf.clear();
    }
}

type XmlReader<R> = Reader<BufReader<RunBound<R>>>;

/// One sheet: the cells calamine lists while reading its rows, and its grid from the first row
/// with a value to the last (rows repeated as often as they say), each row as wide as the widest.
fn table_memory<R: Read>(reader: &mut XmlReader<R>, buf: &mut Vec<u8>) -> Result<u64, OdsRefusal> {
    let mut listed = 0u64;
    let mut rows_so_far = 0u64;
    let mut width = 0u64;
    // Rows from the first with a value, and those rows' text (cloned for every repeat).
    let mut span: Option<(u64, u64)> = None;
    let mut span_to_last_value = (0u64, 0u64);
    loop {
        match reader.read_event_into(buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == "table:table-row" => {
                let repeats = repeat_count(&e, "table:number-rows-repeated")
                    .min(MAX_ROWS.saturating_sub(rows_so_far));
                rows_so_far += repeats;
                buf.clear();
                let row = row_memory(reader, buf)?;
                listed = listed
                    .saturating_add(row.cells.saturating_mul(CELL_BYTES))
                    .saturating_add(row.text);
                width = width.max(row.cells);
                if row.has_value {
                    let (rows, text) = span.get_or_insert((0, 0));
                    *rows += repeats;
                    *text = text.saturating_add(row.text.saturating_mul(repeats));
                    span_to_last_value = (*rows, *text);
                } else if let Some((rows, _)) = span.as_mut() {
                    *rows += repeats;
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == "table:table" => break,
            Ok(Event::Eof) | Err(_) => return Err(OdsRefusal::Damaged),
            Ok(_) => {}
        }
        buf.clear();
    }
    let (rows, text) = span_to_last_value;
    let grid = rows
        .saturating_mul(width)
        .saturating_mul(CELL_BYTES)
        .saturating_add(text);
    Ok(listed.saturating_add(grid))
}

/// What one row costs calamine.
struct Row {
    /// Cells listed: up to and including the last with a value or formula.
    cells: u64,
    /// Bytes of text in those cells (each repeat its own copy).
    text: u64,
    has_value: bool,
}

fn row_memory<R: Read>(reader: &mut XmlReader<R>, buf: &mut Vec<u8>) -> Result<Row, OdsRefusal> {
    let mut row = Row {
        cells: 0,
        text: 0,
        has_value: false,
    };
    let mut columns = 0u64;
    loop {
        match reader.read_event_into(buf) {
            Ok(Event::Start(e))
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                let repeats = repeat_count(&e, "table:number-columns-repeated")
                    .min(MAX_COLUMNS.saturating_sub(columns));
                let (valued, attr_text) = cell_attributes(&e);
                buf.clear();
                let text = cell_text(reader, buf)?.saturating_add(attr_text);
                columns += repeats;
                if valued {
                    row.cells = columns;
                    row.text = row.text.saturating_add(text.saturating_mul(repeats));
                    row.has_value = true;
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == "table:table-row" => return Ok(row),
            Ok(Event::Eof) | Err(_) => return Err(OdsRefusal::Damaged),
            Ok(_) => {}
        }
        buf.clear();
    }
}

/// A repeat attribute's count: 1 when absent; calamine fails on one that is not a number.
fn repeat_count(e: &BytesStart<'_>, name: &str) -> u64 {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.value.trim().parse().ok())
        .unwrap_or(1)
}

/// Whether a cell holds a value or formula for calamine, and the bytes of its text attributes.
fn cell_attributes(e: &BytesStart<'_>) -> (bool, u64) {
    let mut valued = false;
    let mut text = 0u64;
    for a in e.attributes().with_checks(false).flatten() {
        match a.key.as_ref() {
            "office:value" | "office:boolean-value" | "calcext:value-type" => valued = true,
            "office:string-value" | "office:date-value" | "office:time-value" | "table:formula" => {
                valued = true;
                text = text.saturating_add(a.value.len() as u64);
            }
            "office:value-type" => valued = true,
            _ => {}
        }
    }
    (valued, text)
}

/// The bytes of text inside a cell, to its end: text nodes, and the spaces `text:s` stands for.
fn cell_text<R: Read>(reader: &mut XmlReader<R>, buf: &mut Vec<u8>) -> Result<u64, OdsRefusal> {
    let mut depth = 0usize;
    let mut text = 0u64;
    loop {
        match reader.read_event_into(buf) {
            Ok(Event::Start(e)) => {
                match e.name().as_ref() {
                    "text:s" => text = text.saturating_add(repeat_count(&e, "text:c")),
                    // calamine writes a character for each of these (a paragraph after the first
                    // is a line break): a million of them are a few KB packed.
                    "text:tab" | "text:line-break" | "text:p" => text = text.saturating_add(1),
                    _ => {}
                }
                depth += 1;
            }
            Ok(Event::End(_)) if depth == 0 => return Ok(text),
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => text = text.saturating_add(t.len() as u64),
            Ok(Event::GeneralRef(r)) => text = text.saturating_add(r.len() as u64 + 2),
            Ok(Event::Eof) | Err(_) => return Err(OdsRefusal::Damaged),
            Ok(_) => {}
        }
        buf.clear();
    }
}

/// A reader that fails once more than `MAX_XML_RUN` bytes come without a `<`.
struct RunBound<R> {
    inner: R,
    run: usize,
}

impl<R: Read> Read for RunBound<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        for &b in &out[..n] {
            self.run = if b == b'<' { 0 } else { self.run + 1 };
            if self.run > MAX_XML_RUN {
                return Err(io::Error::other("an XML element or text runs too long"));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(tables: &str) -> Result<u64, OdsRefusal> {
        let xml = format!(
            "<?xml version=\"1.0\"?><office:document-content><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
        );
        memory_needed(xml.as_bytes())
    }

    const NUMBER: &str = "<table:table-cell office:value-type=\"float\" office:value=\"1\"/>";

    #[test]
    fn a_plain_sheet_takes_its_cells_twice() {
        let row = format!("<table:table-row>{NUMBER}{NUMBER}{NUMBER}</table:table-row>");
        let sheet = format!("<table:table table:name=\"A\">{row}{row}</table:table>");
        assert_eq!(need(&sheet), Ok(2 * (2 * 3 * CELL_BYTES)));
    }

    #[test]
    fn trailing_empty_rows_and_cells_cost_nothing_as_libreoffice_writes_them() {
        let row = format!(
            "<table:table-row>{NUMBER}<table:table-cell table:style-name=\"ce1\" table:number-columns-repeated=\"16383\"/></table:table-row>"
        );
        let tail = "<table:table-row table:number-rows-repeated=\"1048575\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>";
        let sheet = format!("<table:table table:name=\"A\">{row}{tail}</table:table>");
        assert_eq!(need(&sheet), Ok(2 * CELL_BYTES));
    }

    #[test]
    fn repeats_and_spaces_count_what_they_stand_for() {
        let wide = "<table:table-row table:number-rows-repeated=\"1000000\"><table:table-cell office:value-type=\"float\" office:value=\"1\" table:number-columns-repeated=\"16384\"/></table:table-row>";
        let sheet = format!("<table:table table:name=\"A\">{wide}</table:table>");
        let n = need(&sheet).unwrap();
        assert_eq!(n, 16_384 * CELL_BYTES + 1_000_000 * 16_384 * CELL_BYTES);
        assert!(n > WHOLE_READ_BUDGET);
        let spaces = "<table:table-row><table:table-cell office:value-type=\"string\"><text:p><text:s text:c=\"4000000000\"/></text:p></table:table-cell></table:table-row>";
        let sheet = format!("<table:table table:name=\"A\">{spaces}</table:table>");
        assert!(need(&sheet).unwrap() > WHOLE_READ_BUDGET);
    }

    #[test]
    fn tabs_and_line_breaks_count_as_the_characters_calamine_writes() {
        let tabs = format!(
            "<table:table-row><table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"16384\"><text:p>{}</text:p></table:table-cell></table:table-row>",
            "<text:tab/><text:line-break/>".repeat(20_000)
        );
        let sheet = format!("<table:table table:name=\"A\">{tabs}</table:table>");
        // 40,001 characters in each of 16,384 columns, listed and then in the grid.
        assert!(need(&sheet).unwrap() > 2 * 16_384 * 40_000);
        assert!(need(&sheet).unwrap() > WHOLE_READ_BUDGET);
    }

    #[test]
    fn empty_rows_between_values_are_in_the_grid() {
        let gap = "<table:table-row table:number-rows-repeated=\"99\"><table:table-cell/></table:table-row>";
        let row = format!("<table:table-row>{NUMBER}</table:table-row>");
        let sheet = format!("<table:table table:name=\"A\">{row}{gap}{row}</table:table>");
        assert_eq!(need(&sheet), Ok(2 * CELL_BYTES + 101 * CELL_BYTES));
    }

    #[test]
    fn a_run_without_markup_past_the_bound_is_damaged() {
        let long = format!(
            "<table:table table:name=\"A\"><table:table-row><table:table-cell office:value-type=\"string\"><text:p>{}</text:p></table:table-cell></table:table-row></table:table>",
            "x".repeat(MAX_XML_RUN + 1)
        );
        assert_eq!(need(&long), Err(OdsRefusal::Damaged));
    }
}

//! Workbooks (`.xlsx`, `.xls`, `.ods`), read with calamine: the size limit, which sheet, and the
//! sheet's rows in order, each cell as text (numbers as their digits) or as a date (date cells,
//! whatever their display format). What the rows then go through is the CSV path's (`sheet`).
//!
//! An `.xlsx` sheet is read cell by cell (calamine holds its shared strings whole, not the
//! sheet); `.xls` and `.ods` are read whole by calamine. Either way the file is first read into
//! memory, so an `.xlsx` may take at most `MAX_WORKBOOK_BYTES`, an `.xls` or `.ods`
//! `MAX_WHOLE_WORKBOOK_BYTES`. No message here quotes a cell;
//! none passes on calamine's own error text, which may.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use calamine::{
    Data, DataRef, ExcelDateTime, Ods, Range, Reader, Sheet, SheetType, SheetVisible, Xls, Xlsx,
};

use super::IngestError;
use super::kind::WorkbookFormat;
use super::records::{DateCell, bound_text};
use super::text::Hashing;
use crate::dates;
use crate::reference::lookup_key;

/// The largest `.xlsx` read: 100 MB. It is read into memory, and its sheet cell by cell (its
/// shared strings whole): about 5 times its size besides the pipeline's own (measured). An Excel sheet's
/// most rows (1,048,576) of synth's 13-column regional layout take about 70 MB as `.xlsx`.
pub const MAX_WORKBOOK_BYTES: usize = 100 << 20;

/// The largest `.xls` or `.ods` read: 30 MB. calamine holds their sheet whole, as cells: about
/// 9 times the size of an `.xls` and 30 times that of an `.ods` (measured on 48,000 rows of 13
/// columns). A full `.xls` sheet (65,536 rows) of 20 columns is about 15 MB; 30 MB of `.ods`
/// hold about 550,000 such rows and take about 1 GB.
pub const MAX_WHOLE_WORKBOOK_BYTES: usize = 30 << 20;

/// The most memory calamine may take for the sheets of an `.xls` or `.ods`, which it reads whole
/// (all of them, as grids from each sheet's first cell to its last): 768 MB, reckoned before it
/// reads them (`xls_guard`, `ods_guard`). 400,000 rows of 20 columns take about 900 MB in an
/// `.ods`, 450 MB in an `.xls`; a stray cell far below or to the right makes a sheet span far.
pub const WHOLE_READ_BUDGET: u64 = 768 << 20;

mod ods_guard;
mod xls_guard;

/// The most an `.xlsx` or `.ods` (a ZIP archive) may unpack to, by what its parts declare: 1 GB,
/// about ten times `MAX_WORKBOOK_BYTES`, as sheet XML packs. More is a ZIP bomb, not an export.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// Excel's most columns: a cell further right (only a hand-made file has one) is not read.
const MAX_COLUMNS: u32 = 16_384;

/// An opened workbook: its chosen sheet, ready to be read row by row.
pub struct Workbook {
    pub format: WorkbookFormat,
    /// The sheet read.
    pub sheet: String,
    /// Every sheet's name, in workbook order.
    pub sheets: Vec<String>,
    /// The file's size and SHA-256.
    pub bytes: u64,
    pub sha256: [u8; 32],
    inner: Inner,
}

enum Inner {
    /// Read cell by cell, when asked.
    Xlsx(Box<Xlsx<Cursor<Vec<u8>>>>),
    /// The sheet, read whole.
    Range(Range<Data>),
}

/// One cell, as calamine gives it (either way it gives them).
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(ExcelDateTime),
    /// A date, time or duration as ISO 8601 text (`.ods`).
    Iso(&'a str),
    Error(&'static str),
}

impl<'a> Cell<'a> {
    fn of_data(d: &'a Data) -> Option<Cell<'a>> {
        Some(match d {
            Data::Empty => return None,
            Data::String(s) => Cell::Text(s),
            Data::Int(i) => Cell::Int(*i),
            Data::Float(f) => Cell::Float(*f),
            Data::Bool(b) => Cell::Bool(*b),
            Data::DateTime(dt) => Cell::DateTime(*dt),
            Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Iso(s),
            Data::Error(e) => Cell::Error(error_text(e)),
        })
    }

    fn of_ref(d: &'a DataRef<'_>) -> Option<Cell<'a>> {
        Some(match d {
            DataRef::Empty => return None,
            DataRef::String(s) => Cell::Text(s),
            DataRef::SharedString(s) => Cell::Text(s),
            DataRef::Int(i) => Cell::Int(*i),
            DataRef::Float(f) => Cell::Float(*f),
            DataRef::Bool(b) => Cell::Bool(*b),
            DataRef::DateTime(dt) => Cell::DateTime(*dt),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Iso(s),
            DataRef::Error(e) => Cell::Error(error_text(e)),
        })
    }

    /// Nothing but spaces, like a blank line.
    pub(super) fn is_blank(&self) -> bool {
        matches!(self, Cell::Text(s) if s.trim().is_empty())
    }
}

fn error_text(e: &calamine::CellErrorType) -> &'static str {
    use calamine::CellErrorType as E;
    match e {
        E::Div0 => "#DIV/0!",
        E::NA => "#N/A",
        E::Name => "#NAME?",
        E::Null => "#NULL!",
        E::Num => "#NUM!",
        E::Ref => "#REF!",
        E::Value => "#VALUE!",
        E::GettingData => "#DATA!",
    }
}

/// The text of `cell`, appended to `out`; a date cell also gives its date. Numbers are their
/// shortest decimal digits (a whole number without `.0`); with `egn`, a whole number of at most
/// ten digits is an ЕГН or ЛНЧ that lost its leading zeros to Excel, and gets them back.
pub(super) fn cell_text(cell: &Cell<'_>, egn: bool, out: &mut String) -> DateCell {
    use std::fmt::Write as _;
    let whole = |n: i64, out: &mut String| {
        let _ = if egn && (0..10_000_000_000).contains(&n) {
            write!(out, "{n:010}")
        } else {
            write!(out, "{n}")
        };
    };
    match *cell {
        Cell::Text(s) => out.push_str(s),
        Cell::Int(n) => whole(n, out),
        Cell::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
            whole(f as i64, out)
        }
        Cell::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Cell::Bool(b) => out.push_str(if b { "TRUE" } else { "FALSE" }),
        Cell::Error(e) => out.push_str(e),
        Cell::DateTime(dt) if dt.is_duration() => {
            let _ = write!(out, "{}", dt.as_f64());
        }
        Cell::DateTime(dt) => return date_cell(excel_date(&dt), out),
        Cell::Iso(s) => match iso_date(s) {
            Some(date) => return date_cell(Some(date), out),
            None => out.push_str(s),
        },
    }
    DateCell::None
}

/// A date cell's text (ISO 8601) and date; `None`: not a calendar date.
fn date_cell(date: Option<chrono::NaiveDate>, out: &mut String) -> DateCell {
    match date {
        Some(date) => {
            out.push_str(&date.format("%Y-%m-%d").to_string());
            DateCell::Date(dates::to_day(date))
        }
        None => DateCell::NotADate,
    }
}

/// The day of an Excel serial date (1900 or 1904 system; the time of day dropped). Serial 60 of
/// the 1900 system is Excel's 29 February 1900, which never was: not a date.
fn excel_date(dt: &ExcelDateTime) -> Option<chrono::NaiveDate> {
    let serial = dt.as_f64();
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let (y, m, d, ..) = dt.to_ymd_hms_milli();
    chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
}

/// The date at the start of an ISO 8601 date or date-time (`2023-12-31`, `2023-12-31T10:00:00`).
fn iso_date(s: &str) -> Option<chrono::NaiveDate> {
    let date = s.get(..10)?;
    let rest = &s[10..];
    if !(rest.is_empty() || rest.starts_with('T')) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// Open the workbook whose first bytes `head` were read from `raw`: read the rest (at most
/// `MAX_WORKBOOK_BYTES`), parse it, and choose `sheet` (by default the first visible worksheet).
pub(super) fn open<R: Read>(
    mut raw: Hashing<R>,
    mut head: Vec<u8>,
    path: &Path,
    format: WorkbookFormat,
    sheet: Option<&str>,
) -> Result<Workbook, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let limit = match format {
        WorkbookFormat::Xlsx => MAX_WORKBOOK_BYTES,
        WorkbookFormat::Xls | WorkbookFormat::Ods => MAX_WHOLE_WORKBOOK_BYTES,
    };
    raw.read_up_to(&mut head, limit + 1).map_err(io_err)?;
    if head.len() > limit {
        return Err(IngestError::WorkbookTooLarge {
            path: path.to_path_buf(),
            kind: format.describe(),
            limit: bound_text(limit),
        });
    }
    let bytes = raw.bytes_read();
    let sha256 = raw.finish().map_err(io_err)?;
    let unreadable = |why: &'static str| IngestError::UnreadableWorkbook {
        path: path.to_path_buf(),
        kind: format.describe(),
        why,
    };
    if format != WorkbookFormat::Xls {
        match unpacked_size(&head) {
            Some(size) if size <= MAX_UNPACKED_BYTES => {}
            Some(_) => {
                return Err(IngestError::WorkbookTooLarge {
                    path: path.to_path_buf(),
                    kind: format.describe(),
                    limit: format!("{} unpacked", bound_text(MAX_UNPACKED_BYTES as usize)),
                });
            }
            None => return Err(unreadable(DAMAGED)),
        }
    }
    let too_large = |need: u64| IngestError::SheetsTooLarge {
        path: path.to_path_buf(),
        kind: format.describe(),
        need: bound_text((need >> 20 << 20) as usize),
        limit: bound_text(WHOLE_READ_BUDGET as usize),
    };
    let head = match format {
        WorkbookFormat::Xlsx => head,
        WorkbookFormat::Xls => match xls_guard::clean_copy(&head) {
            Ok(copy) => copy,
            Err(xls_guard::XlsRefusal::TooLarge(need)) => return Err(too_large(need)),
            Err(xls_guard::XlsRefusal::Damaged) => return Err(unreadable(NOT_AN_XLS)),
        },
        WorkbookFormat::Ods => match ods_guard::check(&head) {
            Ok(()) => head,
            Err(ods_guard::OdsRefusal::TooLarge(need)) => return Err(too_large(need)),
            Err(ods_guard::OdsRefusal::Damaged) => return Err(unreadable(DAMAGED)),
        },
    };
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let cursor = Cursor::new(head);
        match format {
            WorkbookFormat::Xlsx => {
                let book = Xlsx::new(cursor).map_err(|e| why_xlsx(&e))?;
                let (name, sheets) = choose_sheet(book.sheets_metadata(), sheet, path)?;
                Ok((name, sheets, Inner::Xlsx(Box::new(book))))
            }
            WorkbookFormat::Xls => {
                let mut book = Xls::new(cursor).map_err(|e| why_xls(&e))?;
                let (name, sheets) = choose_sheet(book.sheets_metadata(), sheet, path)?;
                let range = book.worksheet_range(&name).map_err(|e| why_xls(&e))?;
                Ok((name, sheets, Inner::Range(range)))
            }
            WorkbookFormat::Ods => {
                let mut book = Ods::new(cursor).map_err(|e| why_ods(&e))?;
                let (name, sheets) = choose_sheet(book.sheets_metadata(), sheet, path)?;
                let range = book.worksheet_range(&name).map_err(|e| why_ods(&e))?;
                Ok((name, sheets, Inner::Range(range)))
            }
        }
    }));
    let (sheet, sheets, inner) = match parsed {
        Ok(Ok(found)) => found,
        Ok(Err(Problem::Why(why))) => return Err(unreadable(why)),
        Ok(Err(Problem::Error(e))) => return Err(e),
        Err(_) => return Err(unreadable(DAMAGED)),
    };
    Ok(Workbook {
        format,
        sheet,
        sheets,
        bytes,
        sha256,
        inner,
    })
}

/// What the parts of a ZIP archive declare they unpack to; `None` when it is not a ZIP archive.
fn unpacked_size(bytes: &[u8]) -> Option<u64> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        total = total.saturating_add(archive.by_index_raw(i).ok()?.size());
    }
    Some(total)
}

/// Why a workbook could not be opened: in words of ours, or an error of ours.
enum Problem {
    Why(&'static str),
    Error(IngestError),
}

impl From<IngestError> for Problem {
    fn from(e: IngestError) -> Problem {
        Problem::Error(e)
    }
}

const DAMAGED: &str = "it is damaged, or written in a way this program does not read";
const PASSWORD: &str = "it is password-protected";

fn why_xlsx(e: &calamine::XlsxError) -> Problem {
    Problem::Why(match e {
        calamine::XlsxError::Password => PASSWORD,
        _ => DAMAGED,
    })
}

const NOT_AN_XLS: &str =
    "it is damaged, or an Office file of that age that is not a workbook (Word, PowerPoint)";

fn why_xls(e: &calamine::XlsError) -> Problem {
    Problem::Why(match e {
        calamine::XlsError::Password => PASSWORD,
        _ => NOT_AN_XLS,
    })
}

fn why_ods(e: &calamine::OdsError) -> Problem {
    Problem::Why(match e {
        calamine::OdsError::Password => PASSWORD,
        _ => DAMAGED,
    })
}

/// The sheet to read: `wanted` (matched like a header: case and spaces aside), or the first
/// visible worksheet; and every sheet's name.
fn choose_sheet(
    sheets: &[Sheet],
    wanted: Option<&str>,
    path: &Path,
) -> Result<(String, Vec<String>), Problem> {
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let chosen = match wanted {
        Some(wanted) => sheets
            .iter()
            .find(|s| s.name == wanted)
            .or_else(|| {
                let key = lookup_key(wanted);
                sheets.iter().find(|s| lookup_key(&s.name) == key)
            })
            .ok_or_else(|| IngestError::NoSuchSheet {
                path: path.to_path_buf(),
                sheet: wanted.to_string(),
                sheets: quoted_list(&names),
            })?,
        None => worksheets()
            .find(|s| s.visible == SheetVisible::Visible)
            .or_else(|| worksheets().next())
            .ok_or_else(|| IngestError::NoWorksheet {
                path: path.to_path_buf(),
            })?,
    };
    Ok((chosen.name.clone(), names))
}

/// Names as a message lists them: `"A", "B"`.
pub(super) fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\"{}\"", n.escape_debug()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Workbook {
    /// Call `on_row` with every row of the sheet that has a cell, in order: its number (1-based,
    /// as Excel shows it) and its cells (0-based column, value, left of `MAX_COLUMNS`), columns
    /// ascending; stop when it returns `false`.
    pub(super) fn rows(
        &mut self,
        path: &Path,
        mut on_row: impl FnMut(u32, &[(u32, Cell<'_>)]) -> Result<bool, IngestError>,
    ) -> Result<(), IngestError> {
        let damaged = || IngestError::UnreadableWorkbook {
            path: path.to_path_buf(),
            kind: self.format.describe(),
            why: DAMAGED,
        };
        match &mut self.inner {
            Inner::Range(range) => {
                let Some((row0, col0)) = range.start() else {
                    return Ok(());
                };
                let mut cells = Vec::new();
                for (i, row) in range.rows().enumerate() {
                    cells.clear();
                    cells.extend(row.iter().enumerate().filter_map(|(j, d)| {
                        let col = col0.saturating_add(j as u32);
                        (col < MAX_COLUMNS)
                            .then(|| Cell::of_data(d).map(|c| (col, c)))
                            .flatten()
                    }));
                    if !cells.is_empty()
                        && !on_row(row0.saturating_add(i as u32).saturating_add(1), &cells)?
                    {
                        break;
                    }
                }
                Ok(())
            }
            Inner::Xlsx(book) => {
                let sheet = self.sheet.clone();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    xlsx_rows(book, &sheet, path, &mut on_row)
                }));
                match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(Problem::Error(e))) => Err(e),
                    Ok(Err(Problem::Why(_))) | Err(_) => Err(damaged()),
                }
            }
        }
    }
}

/// The rows of an `.xlsx` sheet, cell by cell as they come in the file.
fn xlsx_rows(
    book: &mut Xlsx<Cursor<Vec<u8>>>,
    sheet: &str,
    path: &Path,
    on_row: &mut impl FnMut(u32, &[(u32, Cell<'_>)]) -> Result<bool, IngestError>,
) -> Result<(), Problem> {
    let mut reader = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| why_xlsx(&e))?;
    let mut row: Option<u32> = None;
    let mut held: Vec<(u32, DataRef<'_>)> = Vec::new();
    let mut flush = |number: u32, held: &mut Vec<(u32, DataRef<'_>)>| {
        held.sort_by_key(|(c, _)| *c);
        let cells: Vec<(u32, Cell<'_>)> = held
            .iter()
            .filter_map(|(c, d)| Cell::of_ref(d).map(|cell| (*c, cell)))
            .collect();
        let go_on = cells.is_empty() || on_row(number.saturating_add(1), &cells)?;
        held.clear();
        Ok::<bool, IngestError>(go_on)
    };
    while let Some(cell) = reader.next_cell().map_err(|e| why_xlsx(&e))? {
        let (r, c) = cell.get_position();
        match row {
            Some(current) if r < current => {
                return Err(Problem::Error(IngestError::SheetRowsOutOfOrder {
                    path: path.to_path_buf(),
                    sheet: sheet.to_string(),
                    row: r.saturating_add(1),
                }));
            }
            Some(current) if r > current && !flush(current, &mut held)? => return Ok(()),
            _ => {}
        }
        row = Some(r);
        if c < MAX_COLUMNS && !matches!(cell.get_value(), DataRef::Empty) {
            held.push((c, cell.get_value().clone()));
        }
    }
    if let Some(current) = row {
        flush(current, &mut held)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    fn text(cell: Cell<'_>, egn: bool) -> (String, DateCell) {
        let mut out = String::new();
        let date = cell_text(&cell, egn, &mut out);
        (out, date)
    }

    #[test]
    fn numbers_read_as_their_digits_and_ids_get_their_zeros_back() {
        assert_eq!(text(Cell::Float(123456789.0), false).0, "123456789");
        assert_eq!(text(Cell::Float(123456789.0), true).0, "0123456789");
        assert_eq!(text(Cell::Int(512), true).0, "0000000512");
        assert_eq!(text(Cell::Int(512), false).0, "512");
        assert_eq!(text(Cell::Float(12345678901.0), true).0, "12345678901");
        assert_eq!(text(Cell::Float(-5.0), true).0, "-5");
        assert_eq!(text(Cell::Float(2.5), true).0, "2.5");
        assert_eq!(text(Cell::Float(0.1), false).0, "0.1");
        assert_eq!(text(Cell::Bool(true), false).0, "TRUE");
        assert_eq!(text(Cell::Error("#N/A"), false).0, "#N/A");
        assert_eq!(text(Cell::Text(" 0042 "), true).0, " 0042 ");
    }

    #[test]
    fn date_cells_are_dates_in_both_systems() {
        let date = |serial: f64, is_1904: bool| {
            text(
                Cell::DateTime(ExcelDateTime::new(
                    serial,
                    ExcelDateTimeType::DateTime,
                    is_1904,
                )),
                false,
            )
        };
        let day = |y, m, d| {
            DateCell::Date(dates::to_day(
                chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            ))
        };
        assert_eq!(
            date(45291.0, false),
            ("2023-12-31".into(), day(2023, 12, 31))
        );
        assert_eq!(
            date(45291.75, false).1,
            day(2023, 12, 31),
            "the time is dropped"
        );
        assert_eq!(date(43829.0, true).1, day(2023, 12, 31));
        assert_eq!(date(59.0, false).1, day(1900, 2, 28));
        assert_eq!(date(61.0, false).1, day(1900, 3, 1));
        for not_a_date in [60.0, -1.0, f64::NAN, 1e12] {
            assert_eq!(
                date(not_a_date, false).1,
                DateCell::NotADate,
                "{not_a_date}"
            );
        }
        let duration = Cell::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(text(duration, false), ("1.5".into(), DateCell::None));
        assert_eq!(text(Cell::Iso("2023-12-31"), false).1, day(2023, 12, 31));
        assert_eq!(
            text(Cell::Iso("2023-12-31T08:00:00"), false).1,
            day(2023, 12, 31)
        );
        assert_eq!(
            text(Cell::Iso("PT8H"), false),
            ("PT8H".into(), DateCell::None)
        );
    }
}

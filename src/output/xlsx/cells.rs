//! The workbook's formats, and how one protected row becomes a group of cells (value,
//! interval, denominator): numbers with number formats for an `ok` row; for any other row the
//! report's marker (◆ suppressed, … incomplete, — no data), and for a suppressed row a note
//! saying which kind. A suppressed or incomplete row never puts a number in a cell.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{
    Color, ExcelDateTime, Format, FormatAlign, FormatBorder, Note, Worksheet, XlsxError,
};

use crate::config::Lang;
use crate::measures::{Measure, ProgrammeRow, RateRow, Status};
use crate::report::{Strings, text};

/// The markers of the report's tables (`report/tables.rs`).
const SUPPRESSED: &str = "◆";
const INCOMPLETE: &str = "…";
const NO_DATA: &str = "—";

/// Every format the sheets use.
pub(super) struct Styles {
    /// No format: the workbook's default.
    pub plain: Format,
    pub title: Format,
    pub bold: Format,
    /// Column headings: bold, centred, wrapped, with a rule below.
    pub header: Format,
    /// Long text: wrapped, at the top of its cell.
    pub wrap: Format,
    pub wrap_bold: Format,
    /// A share as a percentage with one decimal.
    pub rate: Format,
    /// A difference of shares, signed, as a percentage with one decimal.
    pub difference: Format,
    /// A count: a whole number.
    pub count: Format,
    /// A year: a whole number without a thousands separator.
    pub year: Format,
    pub date: Format,
    pub suppressed: Format,
    pub incomplete: Format,
    pub no_data: Format,
}

impl Styles {
    pub fn new(lang: Lang) -> Styles {
        let grey = Color::RGB(0x59_59_59);
        let marker = Format::new().set_align(FormatAlign::Center);
        Styles {
            plain: Format::new(),
            title: Format::new().set_bold().set_font_size(14),
            bold: Format::new().set_bold(),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0xE7_EE_F5))
                .set_border_bottom(FormatBorder::Thin),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            wrap_bold: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            rate: Format::new().set_num_format("0.0%"),
            difference: Format::new().set_num_format("+0.0%;-0.0%;0.0%"),
            count: Format::new().set_num_format("#,##0"),
            year: Format::new()
                .set_num_format("0")
                .set_align(FormatAlign::Left),
            date: Format::new()
                .set_num_format(match lang {
                    Lang::Bg => "dd.mm.yyyy",
                    Lang::En => "d mmm yyyy",
                })
                .set_align(FormatAlign::Left),
            suppressed: marker
                .clone()
                .set_font_color(grey)
                .set_background_color(Color::RGB(0xEE_EE_EE)),
            incomplete: marker.clone().set_font_color(grey).set_italic(),
            no_data: marker.set_font_color(grey),
        }
    }
}

/// What a value is: a share, a count (`children_served`) or a difference of shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Rate,
    Count,
    Difference,
}

/// One protected row's figures, as the cells show them.
pub(super) struct Figures {
    pub kind: Kind,
    /// The rate, the count, or the difference.
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub denominator: Option<u64>,
    pub status: Status,
}

fn kind_of(measure: Measure) -> Kind {
    if measure.is_count() {
        Kind::Count
    } else {
        Kind::Rate
    }
}

impl Figures {
    pub fn of_rate(row: &RateRow) -> Figures {
        let kind = kind_of(row.measure);
        Figures {
            kind,
            value: match kind {
                Kind::Count => row.numerator.map(|n| n as f64),
                _ => row.rate,
            },
            low: row.ci_low,
            high: row.ci_high,
            denominator: row.denominator,
            status: row.status,
        }
    }

    pub fn of_programme(row: &ProgrammeRow, difference: bool) -> Figures {
        let kind = if difference {
            Kind::Difference
        } else {
            kind_of(row.measure)
        };
        Figures {
            kind,
            value: match kind {
                Kind::Count => row.numerator.map(|n| n as f64),
                _ => row.rate,
            },
            low: row.ci_low,
            high: row.ci_high,
            denominator: row.denominator,
            status: row.status,
        }
    }
}

/// Which cells a group has, from its first column on: the value alone, the value and its
/// interval, or those and the denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cells {
    Value,
    Interval,
    WithDenominator,
}

impl Cells {
    pub fn width(self) -> u16 {
        match self {
            Cells::Value => 1,
            Cells::Interval => 3,
            Cells::WithDenominator => 4,
        }
    }
}

/// Write `figures` into the group of cells at (`row`, `col`). An `ok` row writes its numbers
/// (a missing one stays blank); any other row writes its marker in the value cell, shades a
/// suppressed group and notes its kind; a `no_data` row still shows its denominator (0).
pub(super) fn write_figures(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cells: Cells,
    figures: &Figures,
    styles: &Styles,
    t: &Strings,
) -> Result<(), XlsxError> {
    let share = match figures.kind {
        Kind::Difference => &styles.difference,
        _ => &styles.rate,
    };
    let value_format = match figures.kind {
        Kind::Count => &styles.count,
        _ => share,
    };
    let denominator_col = (cells == Cells::WithDenominator).then_some(col + 3);
    match figures.status {
        Status::Ok => {
            if let Some(value) = figures.value {
                sheet.write_number_with_format(row, col, value, value_format)?;
            }
            if cells != Cells::Value {
                for (offset, end) in [(1, figures.low), (2, figures.high)] {
                    if let Some(end) = end {
                        sheet.write_number_with_format(row, col + offset, end, share)?;
                    }
                }
            }
            if let (Some(c), Some(n)) = (denominator_col, figures.denominator) {
                sheet.write_number_with_format(row, c, n as f64, &styles.count)?;
            }
        }
        Status::SuppressedPrimary | Status::SuppressedSecondary => {
            sheet.write_string_with_format(row, col, SUPPRESSED, &styles.suppressed)?;
            for offset in 1..cells.width() {
                sheet.write_blank(row, col + offset, &styles.suppressed)?;
            }
            let kind = text(t, &format!("status_{}", figures.status.code()), &[]);
            let note = Note::new(kind)
                .add_author_prefix(false)
                .set_width(180)
                .set_height(30);
            sheet.insert_note(row, col, &note)?;
        }
        Status::Incomplete => {
            sheet.write_string_with_format(row, col, INCOMPLETE, &styles.incomplete)?;
        }
        Status::NoData => {
            sheet.write_string_with_format(row, col, NO_DATA, &styles.no_data)?;
            if let (Some(c), Some(n)) = (denominator_col, figures.denominator) {
                sheet.write_number_with_format(row, c, n as f64, &styles.count)?;
            }
        }
    }
    Ok(())
}

/// The sub-headings of a group: value, interval ends, denominator (or `count` for a count).
pub(super) fn group_headings(cells: Cells, kind: Kind, t: &Strings) -> Vec<String> {
    let value = match (kind, cells) {
        (Kind::Count, Cells::Value) => text(t, "count", &[]),
        _ => text(t, "xlsx_value", &[]),
    };
    let mut headings = vec![value];
    if cells != Cells::Value {
        headings.push(text(t, "xlsx_ci_low", &[]));
        headings.push(text(t, "xlsx_ci_high", &[]));
    }
    if cells == Cells::WithDenominator {
        headings.push(text(t, "xlsx_denominator", &[]));
    }
    headings
}

/// Column widths of a group's cells (in characters).
pub(super) fn set_group_widths(
    sheet: &mut Worksheet,
    col: u16,
    cells: Cells,
) -> Result<(), XlsxError> {
    let widths: &[f64] = match cells {
        Cells::Value => &[10.0],
        Cells::Interval => &[9.0, 9.0, 9.0],
        Cells::WithDenominator => &[9.0, 9.0, 9.0, 12.0],
    };
    for (offset, width) in widths.iter().enumerate() {
        sheet.set_column_width(col + offset as u16, *width)?;
    }
    Ok(())
}

/// A heading over a group of columns: merged when it spans more than one.
pub(super) fn group_heading(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    width: u16,
    heading: &str,
    styles: &Styles,
) -> Result<(), XlsxError> {
    if width > 1 {
        sheet.merge_range(row, col, row, col + width - 1, heading, &styles.header)?;
    } else {
        sheet.write_string_with_format(row, col, heading, &styles.header)?;
    }
    Ok(())
}

/// A year heading over a group of columns: the year as a number.
pub(super) fn year_heading(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    width: u16,
    year: i32,
    styles: &Styles,
) -> Result<(), XlsxError> {
    if width > 1 {
        sheet.merge_range(row, col, row, col + width - 1, "", &styles.header)?;
    }
    sheet.write_number_with_format(row, col, year, &styles.header)?;
    Ok(())
}

/// A date as an Excel date with the language's date format; as ISO text for a date Excel's
/// calendar cannot hold (before 1900).
pub(super) fn write_date(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    date: NaiveDate,
    styles: &Styles,
) -> Result<(), XlsxError> {
    let excel = u16::try_from(date.year())
        .ok()
        .and_then(|year| ExcelDateTime::from_ymd(year, date.month() as u8, date.day() as u8).ok());
    match excel {
        Some(excel) => sheet.write_datetime_with_format(row, col, &excel, &styles.date)?,
        None => sheet.write_string(row, col, date.to_string())?,
    };
    Ok(())
}

/// The height (points) of a row whose `text` wraps in a cell `width` characters wide:
/// neither Excel nor LibreOffice grows a row for wrapped text written by a program, so the
/// height is set from an estimate (a line holds about as many characters as the cell has
/// units of width, and a little more room is left than it needs).
pub(super) fn wrapped_height(text: &str, width: f64) -> f64 {
    let per_line = (width * 0.95).max(1.0);
    let lines: f64 = text
        .split('\n')
        .map(|line| (line.chars().count() as f64 / per_line).ceil().max(1.0))
        .sum();
    lines * 15.0 + 2.0
}

/// The legend of the markers, one line a row from `row` on, in column A; the row after it.
pub(super) fn write_legend(
    sheet: &mut Worksheet,
    row: u32,
    lines: &[String],
) -> Result<u32, XlsxError> {
    for (i, line) in lines.iter().enumerate() {
        sheet.write_string(row + i as u32, 0, line)?;
    }
    Ok(row + lines.len() as u32)
}

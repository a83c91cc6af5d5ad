//! The other forms synth can write an office's exports in (`--form SOURCE=FORM`): an Excel
//! workbook (`.xlsx`), UTF-16 text with a byte-order mark (Excel's "Unicode Text", `.txt`) or
//! bare CR line ends (Excel for Mac's "CSV (Macintosh)"). Each is made from the CSV file synth
//! has just written, holding the same rows; without the option nothing here runs.
//!
//! In a workbook, dates are date cells (shown in the layout's style), ЕГН of an `egn` layout,
//! row numbers and plain family numbers are number cells (so Excel drops an ЕГН's leading
//! zero, as it does), the rest is text. A row the CSV writes a column short (a bad row) cannot
//! be short in a sheet: it is written as its CSV line pasted into the first cell, which the
//! pipeline rejects too, for another reason.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use super::calendar::DateStyle;
use super::layouts::{Column, FamilyIdStyle, IdStyle, Layout, Source};

/// How one office's files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    #[default]
    Csv,
    Xlsx,
    Utf16,
    Cr,
}

impl Form {
    fn parse(text: &str) -> Option<Form> {
        Some(match text {
            "csv" => Form::Csv,
            "xlsx" => Form::Xlsx,
            "utf-16" | "utf16" => Form::Utf16,
            "cr" => Form::Cr,
            _ => return None,
        })
    }

    /// The extension of the files in this form.
    pub(super) fn extension(self) -> &'static str {
        match self {
            Form::Csv | Form::Cr => "csv",
            Form::Xlsx => "xlsx",
            Form::Utf16 => "txt",
        }
    }
}

/// Which offices' files are written in another form than CSV: `SOURCE=FORM` pairs, where
/// SOURCE is a source name (`dsp_sml`), a layout (`dsp`, `ngo`, `sofia`, `regional`) or `all`.
#[derive(Debug, Clone, Default)]
pub struct Forms {
    rules: Vec<(String, Form)>,
}

impl Forms {
    /// Every file as CSV, as without the option.
    pub fn csv() -> Forms {
        Forms::default()
    }

    /// Parse `SOURCE=FORM` pairs; the last pair naming a source wins.
    pub fn parse(pairs: &[String]) -> anyhow::Result<Forms> {
        let mut rules = Vec::new();
        for pair in pairs {
            let Some((who, form)) = pair.split_once('=') else {
                bail!("--form {pair}: write it as SOURCE=FORM, e.g. dsp_sml=xlsx");
            };
            let form = Form::parse(form.trim()).with_context(|| {
                format!("--form {pair}: the form is one of csv, xlsx, utf-16, cr")
            })?;
            let who = who.trim();
            let known = ["all", "dsp", "ngo", "sofia", "regional", "plain"].contains(&who)
                || who
                    .strip_prefix("dsp_")
                    .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()));
            if !known {
                bail!(
                    "--form {pair}: the source is a layout (dsp, ngo, sofia, regional, plain), a source such as dsp_sml, or all"
                );
            }
            rules.push((who.to_string(), form));
        }
        Ok(Forms { rules })
    }

    /// The form of `source`'s files.
    pub(super) fn of(&self, source: Source) -> Form {
        let name = source.name();
        let layout = layout_name(source.layout);
        self.rules
            .iter()
            .rev()
            .find(|(who, _)| who == "all" || *who == name || who == layout)
            .map_or(Form::Csv, |(_, form)| *form)
    }

    /// The options that give these forms, for the pipeline file's comment.
    pub(super) fn options(&self) -> String {
        self.rules
            .iter()
            .map(|(who, form)| {
                let form = match form {
                    Form::Csv => "csv",
                    Form::Xlsx => "xlsx",
                    Form::Utf16 => "utf-16",
                    Form::Cr => "cr",
                };
                format!(" --form {who}={form}")
            })
            .collect()
    }
}

fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::Dsp => "dsp",
        Layout::Ngo => "ngo",
        Layout::Sofia => "sofia",
        Layout::Regional => "regional",
        Layout::Plain => "plain",
    }
}

/// The name of a layout's sheet, in the layout's language.
pub(super) fn sheet_name(layout: Layout) -> &'static str {
    if layout == Layout::Ngo {
        "Cases"
    } else {
        "Случаи"
    }
}

/// Rewrite the CSV file at `path` (of `layout`) in `form`; the path of the file written (the
/// CSV is removed when the form has another extension).
pub(super) fn rewrite(path: &Path, layout: Layout, form: Form) -> anyhow::Result<PathBuf> {
    if form == Form::Csv {
        return Ok(path.to_path_buf());
    }
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let out = path.with_extension(form.extension());
    let written = match form {
        Form::Csv => unreachable!("returned above"),
        Form::Cr => {
            let mut cr = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                match (bytes[i], bytes.get(i + 1)) {
                    (b'\r', Some(b'\n')) => {
                        cr.push(b'\r');
                        i += 2;
                        continue;
                    }
                    (b'\n', _) => cr.push(b'\r'),
                    (b, _) => cr.push(b),
                }
                i += 1;
            }
            cr
        }
        Form::Utf16 => {
            let text = decode(&bytes, layout);
            let mut utf16 = b"\xFF\xFE".to_vec();
            utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            utf16
        }
        Form::Xlsx => workbook(&decode(&bytes, layout), layout)?,
    };
    fs::write(&out, written).with_context(|| format!("cannot write {}", out.display()))?;
    if out != path {
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(out)
}

/// The text of a layout's CSV file.
fn decode(bytes: &[u8], layout: Layout) -> String {
    if layout.is_1251() {
        encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned()
    } else {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// The display format of a date style, as Excel writes it.
fn excel_format(style: DateStyle) -> &'static str {
    match style {
        DateStyle::Dot => "dd.mm.yyyy",
        DateStyle::DotG => "dd.mm.yyyy \"г.\"",
        DateStyle::Iso => "yyyy-mm-dd",
        DateStyle::Slash => "dd/mm/yyyy",
    }
}

/// A workbook holding the CSV `text` of `layout`, deterministic (fixed document properties).
fn workbook(text: &str, layout: Layout) -> anyhow::Result<Vec<u8>> {
    let columns = layout.columns();
    let styles = layout.date_styles();
    let formats: Vec<Format> = styles
        .iter()
        .map(|s| Format::new().set_num_format(excel_format(*s)))
        .collect();
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(2025, 1, 1).context("a fixed creation date")?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name(layout))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter() as u8)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let delimiter = layout.delimiter().to_string();
    let mut record = csv::StringRecord::new();
    let mut row: u32 = 0;
    while reader.read_record(&mut record)? {
        if row > 0 && record.len() != columns.len() {
            let pasted = record.iter().collect::<Vec<_>>().join(&delimiter);
            sheet.write_string(row, 0, &pasted)?;
            row += 1;
            continue;
        }
        for (col, value) in record.iter().enumerate() {
            let c = col as u16;
            if value.is_empty() {
                continue;
            }
            let kind = if row == 0 {
                None
            } else {
                columns.get(col).map(|(_, k)| *k)
            };
            match kind {
                Some(Column::Opened | Column::Closed | Column::BirthDate) => {
                    match date_cell(value, styles) {
                        Some((date, style)) => {
                            let index = styles.iter().position(|s| *s == style).unwrap_or(0);
                            sheet.write_datetime_with_format(row, c, &date, &formats[index])?;
                        }
                        None => {
                            sheet.write_string(row, c, value)?;
                        }
                    }
                }
                Some(Column::RowNumber | Column::FamilyId(FamilyIdStyle::Number))
                    if plain_number(value) =>
                {
                    sheet.write_number(row, c, value.parse::<f64>()?)?;
                }
                Some(Column::ChildId(IdStyle::Digits))
                    if layout.child_id_scheme() == "egn"
                        && value.len() <= 10
                        && value.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    sheet.write_number(row, c, value.parse::<f64>()?)?;
                }
                _ => {
                    sheet.write_string(row, c, value)?;
                }
            }
        }
        row += 1;
    }
    Ok(book.save_to_buffer()?)
}

/// Digits without a leading zero: a number that reads back as the same text.
fn plain_number(value: &str) -> bool {
    !value.starts_with('0') && value.len() <= 15 && value.bytes().all(|b| b.is_ascii_digit())
}

/// The date `value` holds in one of `styles`, when Excel can hold it as a date cell.
fn date_cell(value: &str, styles: &[DateStyle]) -> Option<(ExcelDateTime, DateStyle)> {
    styles.iter().find_map(|style| {
        let date = NaiveDate::parse_from_str(value, style.format()).ok()?;
        if !(1900..=9999).contains(&date.year()) {
            return None;
        }
        let cell =
            ExcelDateTime::from_ymd(date.year() as u16, date.month() as u8, date.day() as u8)
                .ok()?;
        Some((cell, *style))
    })
}

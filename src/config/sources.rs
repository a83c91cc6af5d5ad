//! `[[sources]]`: one office export as written (`SourceFile`) and as checked (`Source`):
//! encoding, delimiter, sheet, date formats, fixed region, the column mapping and its required
//! fields. The value maps are `labels`'; opening the files is ingest's.

use std::path::Path;

use serde::Deserialize;

use super::field::Field;
use super::labels::{self, Labels, ValuesFile};
use super::pipeline::resolve;
use crate::dates::{DateFormat, compile_formats};
use crate::model::RegionIdx;
use crate::reference;

// ---------------------------------------------------------------------------------------------
// As written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceFile {
    pub(super) name: String,
    path: String,
    #[serde(default)]
    encoding: EncodingChoice,
    delimiter: Option<String>,
    sheet: Option<String>,
    date_formats: Option<Vec<String>>,
    region: Option<String>,
    office: Option<String>,
    #[serde(default)]
    child_id_scheme: IdScheme,
    columns: ColumnsFile,
    #[serde(default)]
    values: ValuesFile,
}

/// Canonical field = header in this export.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnsFile {
    child_id: Option<String>,
    family_id: Option<String>,
    case_id: Option<String>,
    region: Option<String>,
    office: Option<String>,
    municipality: Option<String>,
    case_type: Option<String>,
    opened: Option<String>,
    closed: Option<String>,
    outcome: Option<String>,
    placement_type: Option<String>,
    placement_region: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
}

/// How a source's bytes are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum EncodingChoice {
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(
        rename = "windows-1251",
        alias = "cp1251",
        alias = "Windows-1251",
        alias = "WINDOWS-1251"
    )]
    Windows1251,
    /// UTF-16 (Excel's "Unicode Text"): little- or big-endian by its byte-order mark, little-endian
    /// without one. A file with a UTF-16 byte-order mark is read as UTF-16 whatever is declared.
    #[serde(rename = "utf-16", alias = "utf16", alias = "UTF-16")]
    Utf16,
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

/// Which child identifiers a source may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdScheme {
    /// ЕГН or ЛНЧ with a valid check digit.
    Egn,
    /// Anything non-empty.
    #[default]
    Any,
}

// ---------------------------------------------------------------------------------------------
// Checked.

/// One `[[sources]]` entry, checked.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// Glob pattern, resolved against the pipeline file's folder.
    pub pattern: String,
    pub encoding: EncodingChoice,
    pub delimiter: Option<u8>,
    /// The sheet of a workbook to read (its name); `None`: the first visible worksheet.
    pub sheet: Option<String>,
    pub date_formats: Vec<DateFormat>,
    pub fixed_region: Option<RegionIdx>,
    pub fixed_office: Option<String>,
    pub child_id_scheme: IdScheme,
    /// Mapped fields and the export header that holds each, in `Field` order.
    pub columns: Vec<(Field, String)>,
    pub labels: Labels,
}

impl Source {
    /// The header mapped to `field`, if any.
    pub fn column(&self, field: Field) -> Option<&str> {
        self.columns
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, h)| h.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// The check.

/// Check one entry; `base` is the pipeline file's folder. The message names the key.
pub(super) fn compile(s: SourceFile, base: &Path) -> Result<Source, String> {
    if s.name.trim().is_empty() {
        return Err("`name` must not be empty".into());
    }
    let delimiter = compile_delimiter(s.delimiter.as_deref())?;
    let sheet = match s.sheet {
        Some(name) if name.trim().is_empty() => {
            return Err(
                "`sheet` must name a sheet of the workbook; leave it out for the first".into(),
            );
        }
        other => other,
    };
    let date_formats = compile_formats(s.date_formats.as_deref())?;
    let fixed_region = match &s.region {
        None => None,
        Some(r) => Some(reference::find_region(r).ok_or_else(|| {
            format!("region = \"{r}\" is not an oblast code (e.g. \"VAR\"), NUTS-3 code or name")
        })?),
    };
    let columns = compile_columns(s.columns)?;
    if fixed_region.is_none() && !columns.iter().any(|(f, _)| *f == Field::Region) {
        return Err(
            "no region: map `region` in [sources.columns] or give a fixed `region = \"VAR\"`"
                .into(),
        );
    }
    let labels = labels::compile(s.values)?;
    let pattern = resolve(base, Path::new(&s.path));
    Ok(Source {
        name: s.name,
        pattern: pattern.to_string_lossy().into_owned(),
        encoding: s.encoding,
        delimiter,
        sheet,
        date_formats,
        fixed_region,
        fixed_office: s.office,
        child_id_scheme: s.child_id_scheme,
        columns,
        labels,
    })
}

/// One byte, `\t` spelled any usual way; never a quote or a line end.
fn compile_delimiter(delimiter: Option<&str>) -> Result<Option<u8>, String> {
    match delimiter {
        None => Ok(None),
        Some("\t") | Some("\\t") | Some("tab") => Ok(Some(b'\t')),
        Some(d) if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" && d != "\r" => {
            Ok(Some(d.as_bytes()[0]))
        }
        Some(d) => Err(format!(
            "delimiter \"{}\" must be one character such as \",\", \";\" or \"\\t\"",
            d.escape_debug()
        )),
    }
}

/// The mapped fields in `Field` order, headers trimmed; the required ones must be there.
fn compile_columns(c: ColumnsFile) -> Result<Vec<(Field, String)>, String> {
    let mapped = [
        (Field::ChildId, c.child_id),
        (Field::FamilyId, c.family_id),
        (Field::CaseId, c.case_id),
        (Field::Region, c.region),
        (Field::Office, c.office),
        (Field::Municipality, c.municipality),
        (Field::CaseType, c.case_type),
        (Field::Opened, c.opened),
        (Field::Closed, c.closed),
        (Field::Outcome, c.outcome),
        (Field::PlacementType, c.placement_type),
        (Field::PlacementRegion, c.placement_region),
        (Field::BirthDate, c.birth_date),
        (Field::Sex, c.sex),
    ];
    let columns: Vec<(Field, String)> = mapped
        .into_iter()
        .filter_map(|(f, h)| h.map(|h| (f, h.trim().to_string())))
        .collect();
    for required in [Field::ChildId, Field::CaseType, Field::Opened] {
        if !columns.iter().any(|(f, _)| *f == required) {
            return Err(format!(
                "[sources.columns] must map `{}` (a required field) to a column of the export",
                required.name()
            ));
        }
    }
    Ok(columns)
}

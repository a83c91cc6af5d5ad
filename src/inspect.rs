//! `outcomes inspect EXPORT`: onboarding a new office. From the head of one export it guesses the
//! encoding, delimiter, which column holds which canonical field (Bulgarian and English header
//! synonyms), the date formats, the identifier scheme and the label maps, and writes a
//! `[[sources]]` block to start from. Anything it cannot decide is marked TODO, in a form the
//! pipeline check rejects until someone fills it in.
//!
//! It reads the export only through `ingest::sample_file`, which opens it as the pipeline
//! does (`ingest::source`: byte-order mark, encoding, delimiter, blank lines before the
//! header; a workbook's first sheet and its first non-empty row), so it sees a file as `run`
//! reads it under `encoding = "auto"`, no `delimiter` and no `sheet`. It builds no reader of its
//! own.
//!
//! It prints header names and attribute labels only. A column's values are listed only when
//! they look like labels (few distinct values, no long digit runs), so a misdetected name or
//! identifier column is never echoed.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::Field;
use crate::dates;
use crate::ingest::{self, IngestError};
use crate::pseudonym;
use crate::reference::{self, lookup_key};

mod guess;
use guess::*;

/// Rows read from the head of the file.
const SAMPLE_ROWS: usize = 2000;
/// Inspect `path` and return the `[[sources]]` block.
pub fn inspect(path: &Path) -> Result<String, IngestError> {
    let sample = ingest::sample_file(path, SAMPLE_ROWS)?;
    let columns = guess_columns(&sample.header);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "office".into());
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "csv".into());
    let mut out = String::new();
    let delimiter = match sample.delimiter {
        b'\t' => "\\t".to_string(),
        d => (d as char).to_string(),
    };
    match &sample.workbook {
        Some(book) => {
            let _ = writeln!(
                out,
                "# `outcomes inspect` of {file_name}: {}, sheet {} (of {}), header on row {}, {} columns, {} rows sampled.",
                book.format.describe(),
                toml_str(&book.sheet),
                book.sheets
                    .iter()
                    .map(|s| toml_str(s))
                    .collect::<Vec<_>>()
                    .join(", "),
                book.header_row,
                sample.header.len(),
                sample.rows.len()
            );
            let _ = writeln!(
                out,
                "# Date cells are read as dates whatever their format; `date_formats` read dates typed as text."
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# `outcomes inspect` of {file_name}: {}{}, delimiter \"{delimiter}\", {} columns, {} rows sampled.",
                sample.encoding,
                if sample.has_bom { " with BOM" } else { "" },
                sample.header.len(),
                sample.rows.len()
            );
        }
    }
    let _ = writeln!(
        out,
        "# Fill in every TODO (the pipeline check refuses them), then run `outcomes check`."
    );
    if columns.is_empty() {
        let _ = writeln!(
            out,
            "# No column name was recognized: the first line may not be a header. Map the columns by hand."
        );
    }
    let _ = writeln!(out, "[[sources]]");
    let _ = writeln!(out, "name = {}", toml_str(&stem));
    let _ = writeln!(
        out,
        "path = {}  # TODO if needed: a pattern for every export of this layout, relative to the pipeline file",
        toml_str(&format!("{stem}*.{extension}"))
    );
    match &sample.workbook {
        Some(book) => {
            let _ = writeln!(out, "sheet = {}", toml_str(&book.sheet));
        }
        None => {
            let encoding = if sample.encoding.starts_with("utf-16") {
                "utf-16"
            } else {
                sample.encoding
            };
            let _ = writeln!(out, "encoding = {}", toml_str(encoding));
            let _ = writeln!(out, "delimiter = \"{delimiter}\"");
        }
    }
    let formats = guess_date_formats(&sample, &columns);
    if formats.is_empty() {
        let _ = writeln!(
            out,
            "# TODO: no date format read the sampled dates; list the export's formats"
        );
        let _ = writeln!(out, "date_formats = {:?}", dates::DEFAULT_FORMATS);
    } else {
        let _ = writeln!(
            out,
            "date_formats = {}",
            toml::Value::Array(
                formats
                    .iter()
                    .map(|f| toml::Value::String(f.to_string()))
                    .collect()
            )
        );
    }
    if !columns.contains_key(&Field::Region) {
        let _ = writeln!(
            out,
            "region = \"TODO\"  # no region column: the oblast of this office, e.g. \"VAR\" or \"Варна\""
        );
    }
    if let Some(i) = columns.get(&Field::ChildId) {
        // A workbook's ЕГН given as numbers lost their leading zeros; the pipeline restores
        // them under the `egn` scheme, so the guess does too.
        let ids: Vec<String> = column_values(&sample, *i)
            .map(pseudonym::normalize)
            .map(|id| match &sample.workbook {
                Some(_) if id.len() < 10 && id.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{id:0>10}")
                }
                _ => id,
            })
            .collect();
        let valid = ids
            .iter()
            .filter(|id| pseudonym::is_valid_egn(id) || pseudonym::is_valid_lnch(id))
            .count();
        // Ids with letters are office numbers (`ВН-0042`), not mistyped ЕГН: the source needs
        // the `any` scheme, or every such child would be rejected.
        let office_numbers = ids
            .iter()
            .filter(|id| id.chars().any(char::is_alphabetic))
            .count();
        let scheme = if !ids.is_empty() && office_numbers == 0 && valid * 10 >= ids.len() * 9 {
            "egn"
        } else {
            "any"
        };
        let _ = writeln!(
            out,
            "child_id_scheme = \"{scheme}\"  # {valid} of {} sampled ids are valid ЕГН/ЛНЧ, {office_numbers} have letters",
            ids.len()
        );
    }

    let _ = writeln!(out, "\n[sources.columns]");
    for field in Field::ALL {
        match columns.get(&field) {
            Some(i) => {
                let _ = writeln!(out, "{} = {}", field.name(), toml_str(&sample.header[*i]));
            }
            None if matches!(field, Field::ChildId | Field::CaseType | Field::Opened) => {
                let _ = writeln!(
                    out,
                    "{} = \"TODO\"  # required: the column that holds it",
                    field.name()
                );
            }
            None => {}
        }
    }
    let dropped: Vec<String> = (0..sample.header.len())
        .filter(|i| !columns.values().any(|c| c == i))
        .map(|i| toml_str(&sample.header[i]))
        .collect();
    if !dropped.is_empty() {
        let _ = writeln!(
            out,
            "# not mapped, so never read or written: {}",
            dropped.join(", ")
        );
    }

    for field in [
        Field::CaseType,
        Field::Outcome,
        Field::PlacementType,
        Field::Sex,
        Field::Region,
        Field::PlacementRegion,
    ] {
        let Some(i) = columns.get(&field) else {
            continue;
        };
        let region_like = matches!(field, Field::Region | Field::PlacementRegion);
        let values = if region_like {
            region_labels(&sample, *i)
        } else {
            labels(&sample, *i)
        };
        let Some(values) = values else {
            let _ = writeln!(
                out,
                "\n# TODO: column {} ({}) has too many or identifier-like values to be labels: check the mapping",
                toml_str(&sample.header[*i]),
                field.name()
            );
            continue;
        };
        let mut lines = Vec::new();
        for value in values {
            let line = match field {
                Field::Region | Field::PlacementRegion => {
                    if reference::find_region(&value).is_some() {
                        continue;
                    }
                    let hint = if lookup_key(&value) == "софия" || lookup_key(&value) == "sofia"
                    {
                        "ambiguous: \"SOF\" (Sofia City) or \"SFO\" (Sofia Province)"
                    } else {
                        "an oblast code such as \"VAR\""
                    };
                    format!("{} = \"TODO\"  # {hint}", toml_str(&value))
                }
                _ if is_canonical(field, &value) => continue,
                _ => match guess_label(field, &value) {
                    Some(guess) => format!("{} = {}", toml_str(&value), toml_str(guess)),
                    None => format!(
                        "{} = \"TODO\"  # one of: {}",
                        toml_str(&value),
                        canonical_values(field).join(", ")
                    ),
                },
            };
            lines.push(line);
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "\n[sources.values.{}]", field.name());
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Sample;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bulgarian_and_english_headers_are_recognized() {
        let h = header(&[
            "№",
            "ЕГН на детето",
            "Име на детето",
            "Дата на раждане",
            "Пол",
            "Семейство №",
            "Преписка №",
            "Вид на случая",
            "Дата на откриване",
            "Дата на приключване",
            "Резултат",
            "Настаняване",
            "Област на настаняване",
            "Адрес",
        ]);
        let c = guess_columns(&h);
        assert_eq!(c[&Field::ChildId], 1);
        assert_eq!(c[&Field::BirthDate], 3);
        assert_eq!(c[&Field::Sex], 4);
        assert_eq!(c[&Field::FamilyId], 5);
        assert_eq!(c[&Field::CaseId], 6);
        assert_eq!(c[&Field::CaseType], 7);
        assert_eq!(c[&Field::Opened], 8);
        assert_eq!(c[&Field::Closed], 9);
        assert_eq!(c[&Field::Outcome], 10);
        assert_eq!(c[&Field::PlacementType], 11);
        assert_eq!(c[&Field::PlacementRegion], 12);
        assert!(
            !c.contains_key(&Field::Region),
            "the placement region is not the region"
        );
        assert!(
            !c.values().any(|i| *i == 2 || *i == 13),
            "names and addresses stay unmapped"
        );

        let e = guess_columns(&header(&[
            "Child ID",
            "Gender",
            "Case type",
            "Opened",
            "Closed",
            "Outcome",
            "Region",
            "Phone",
        ]));
        assert_eq!(e[&Field::ChildId], 0);
        assert_eq!(e[&Field::Sex], 1, "gender is not `end`");
        assert_eq!(e[&Field::Region], 6);
        assert!(!e.values().any(|i| *i == 7));
    }

    #[test]
    fn labels_are_guessed_in_both_languages() {
        assert_eq!(
            guess_label(Field::CaseType, "Превенция на изоставянето"),
            Some("prevention")
        );
        assert_eq!(
            guess_label(Field::Outcome, "Остава в услугата"),
            Some("remained_in_care")
        );
        assert_eq!(
            guess_label(Field::Outcome, "Детето остава в семейството"),
            Some("stayed_with_family")
        );
        assert_eq!(
            guess_label(Field::Outcome, "Reunified with parents"),
            Some("reunified")
        );
        assert_eq!(
            guess_label(Field::PlacementType, "Приемно семейство"),
            Some("foster_care")
        );
        assert_eq!(
            guess_label(Field::PlacementType, "Осиновяване"),
            None,
            "adoption is not a placement type"
        );
        assert_eq!(guess_label(Field::Sex, "Ж"), Some("F"));
        assert_eq!(guess_label(Field::Outcome, "Неясно"), None);
    }

    #[test]
    fn identifier_like_columns_are_never_listed() {
        let sample = Sample {
            decoding: ingest::Decoding::Utf8,
            encoding: "utf-8",
            workbook: None,
            has_bom: false,
            delimiter: b',',
            header: header(&["Резултат"]),
            rows: vec![vec!["7523169263".into()], vec!["Друго".into()]],
        };
        assert_eq!(labels(&sample, 0), None);
    }
}

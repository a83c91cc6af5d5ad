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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::config::Field;
use crate::dates::{self, DateFormat};
use crate::ingest::{self, IngestError, Sample};
use crate::model::{CaseType, Outcome, PlacementType, Sex, Vocabulary};
use crate::pseudonym;
use crate::reference::{self, lookup_key};

/// Rows read from the head of the file.
const SAMPLE_ROWS: usize = 2000;
/// More distinct values than this and a column is not a column of labels.
const MAX_LABELS: usize = 40;

/// Header synonyms per field, tried in this order (more specific fields first: "Област на
/// настаняване" is a placement region before it is a region). A synonym matches a header
/// when its words appear in the header consecutively.
const SYNONYMS: &[(Field, &[&str])] = &[
    (
        Field::PlacementRegion,
        &[
            "област на настаняване",
            "област настаняване",
            "placement region",
            "placement oblast",
        ],
    ),
    (
        Field::PlacementType,
        &[
            "вид настаняване",
            "вид на настаняване",
            "настаняване",
            "placement type",
            "placement",
        ],
    ),
    (
        Field::BirthDate,
        &[
            "дата на раждане",
            "рождена дата",
            "родено на",
            "роден на",
            "родена на",
            "роден",
            "date of birth",
            "birth date",
            "birth_date",
            "dob",
        ],
    ),
    (
        Field::ChildId,
        &[
            "егн на детето",
            "егн",
            "идентификатор на детето",
            "идентификатор",
            "лнч",
            "child id",
            "child_id",
            "personal number",
            "номер на детето",
        ],
    ),
    (
        Field::FamilyId,
        &[
            "номер на семейството",
            "семейство",
            "домакинство",
            "family id",
            "family_id",
            "family",
            "household",
        ],
    ),
    (
        Field::CaseId,
        &[
            "номер на случая",
            "преписка",
            "дело",
            "case number",
            "case no",
            "case id",
            "case_id",
        ],
    ),
    (Field::Municipality, &["община", "municipality"]),
    (
        Field::Region,
        &["код област", "област", "обл", "region", "oblast"],
    ),
    (Field::Office, &["отдел", "озд", "office"]),
    (
        Field::CaseType,
        &[
            "вид на случая",
            "вид случай",
            "тип на случая",
            "вид",
            "тип",
            "case type",
            "case_type",
            "type",
        ],
    ),
    (
        Field::Opened,
        &[
            "дата на откриване",
            "откриване",
            "дата на започване",
            "започване",
            "открит на",
            "открит",
            "начало",
            "opened",
            "open date",
            "date opened",
            "start date",
        ],
    ),
    (
        Field::Closed,
        &[
            "дата на приключване",
            "приключване",
            "дата на закриване",
            "закриване",
            "приключен на",
            "приключен",
            "край",
            "closed",
            "close date",
            "date closed",
            "end date",
        ],
    ),
    (Field::Outcome, &["резултат", "изход", "outcome", "result"]),
    (Field::Sex, &["пол", "sex", "gender"]),
];

const DATE_CANDIDATES: &[&str] = &[
    "%d.%m.%Y г.",
    "%d.%m.%Y",
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%Y.%m.%d",
];

fn words(s: &str) -> Vec<String> {
    lookup_key(s)
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn matches_synonym(header: &[String], synonym: &str) -> bool {
    let wanted = words(synonym);
    !wanted.is_empty() && header.windows(wanted.len()).any(|w| w == wanted.as_slice())
}

/// The canonical field each header column holds, guessed from its name.
pub fn guess_columns(header: &[String]) -> BTreeMap<Field, usize> {
    let mut taken = BTreeMap::new();
    for (i, name) in header.iter().enumerate() {
        let name_words = words(name);
        let field = SYNONYMS.iter().find_map(|(field, synonyms)| {
            (!taken.contains_key(field) && synonyms.iter().any(|s| matches_synonym(&name_words, s)))
                .then_some(*field)
        });
        if let Some(field) = field {
            taken.insert(field, i);
        }
    }
    taken
}

/// A guess at the canonical value of a label, by its words in Bulgarian or English.
fn guess_label(field: Field, label: &str) -> Option<&'static str> {
    let l = lookup_key(label);
    let has = |keys: &[&str]| keys.iter().any(|k| l.contains(k));
    match field {
        Field::CaseType => {
            if has(&["превенц", "превант", "prevent"]) {
                Some(CaseType::Prevention.as_str())
            } else if has(&["реинтегр", "reintegr"]) {
                Some(CaseType::Reintegration.as_str())
            } else {
                None
            }
        }
        Field::Outcome | Field::PlacementType => {
            let outcome = if has(&["в услугата", "в грижа", "remain"]) {
                Some(Outcome::RemainedInCare)
            } else if has(&["остава", "stayed", "stays"]) {
                Some(Outcome::StayedWithFamily)
            } else if has(&["върна", "реинтегрир", "reunif", "returned"]) {
                Some(Outcome::Reunified)
            } else if has(&["роднин", "близки", "kinship"]) {
                Some(Outcome::KinshipCare)
            } else if has(&["приемн", "foster"]) {
                Some(Outcome::FosterCare)
            } else if has(&["цнст", "резидент", "residential", "family-type"]) {
                Some(Outcome::ResidentialCare)
            } else if has(&["институц", "ддлрг", "дмсгд", "дом за деца", "institution"])
            {
                Some(Outcome::Institution)
            } else if has(&["осинов", "adopt"]) {
                Some(Outcome::Adopted)
            } else if has(&["премест", "прехвърл", "transfer"]) {
                Some(Outcome::Transferred)
            } else if has(&["друг", "other"]) {
                Some(Outcome::Other)
            } else {
                None
            };
            if field == Field::PlacementType {
                outcome
                    .and_then(|o| PlacementType::from_canonical(o.as_str()))
                    .map(|p| p.as_str())
            } else {
                outcome.map(|o| o.as_str())
            }
        }
        Field::Sex => match l.as_str() {
            "ж" | "жена" | "женски" | "момиче" | "f" | "female" | "girl" => {
                Some(Sex::F.as_str())
            }
            "м" | "мъж" | "мъжки" | "момче" | "m" | "male" | "boy" => {
                Some(Sex::M.as_str())
            }
            "u" | "unknown" | "неизвестен" | "?" => Some(Sex::U.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn canonical_values(field: Field) -> Vec<&'static str> {
    match field {
        Field::CaseType => CaseType::ALL.iter().map(|v| v.as_str()).collect(),
        Field::Outcome => Outcome::ALL.iter().map(|v| v.as_str()).collect(),
        Field::PlacementType => PlacementType::ALL.iter().map(|v| v.as_str()).collect(),
        Field::Sex => Sex::ALL.iter().map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    }
}

fn is_canonical(field: Field, value: &str) -> bool {
    canonical_values(field).contains(&value.trim())
}

fn looks_like_identifier(value: &str) -> bool {
    let mut run = 0;
    value.chars().any(|c| {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        run >= 6
    })
}

/// A TOML string literal.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Distinct non-empty values of column `i`, most frequent first; `None` when they do not look
/// like labels.
fn labels(sample: &Sample, i: usize) -> Option<Vec<String>> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &sample.rows {
        if let Some(v) = row.get(i).filter(|v| !v.is_empty()) {
            *counts.entry(v.as_str()).or_default() += 1;
        }
    }
    if counts.len() > MAX_LABELS
        || counts
            .keys()
            .any(|v| looks_like_identifier(v) || v.chars().count() > 80)
    {
        return None;
    }
    let mut values: Vec<(&str, usize)> = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    // Labels match ignoring case and spaces: one line per spelling that matters.
    let mut seen = std::collections::BTreeSet::new();
    values.retain(|(v, _)| seen.insert(lookup_key(v)));
    Some(values.into_iter().map(|(v, _)| v.to_string()).collect())
}

/// The values of a region column that do not resolve to an oblast. Listed only when most
/// distinct values do resolve: then the column really holds regions, not names.
fn region_labels(sample: &Sample, i: usize) -> Option<Vec<String>> {
    let mut distinct: Vec<&str> = column_values(sample, i).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let unresolved: Vec<String> = distinct
        .iter()
        .filter(|v| reference::find_region(v).is_none())
        .map(|v| v.to_string())
        .collect();
    let mostly_regions = unresolved.len() * 2 <= distinct.len();
    (mostly_regions
        && unresolved.len() <= MAX_LABELS
        && !unresolved.iter().any(|v| looks_like_identifier(v)))
    .then_some(unresolved)
}

fn column_values(sample: &Sample, i: usize) -> impl Iterator<Item = &str> {
    sample
        .rows
        .iter()
        .filter_map(move |r| r.get(i))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The date formats that read the sampled dates, most useful first.
fn guess_date_formats(sample: &Sample, columns: &BTreeMap<Field, usize>) -> Vec<&'static str> {
    let mut hits: Vec<(&'static str, usize)> = DATE_CANDIDATES.iter().map(|f| (*f, 0)).collect();
    for field in [Field::Opened, Field::Closed, Field::BirthDate] {
        let Some(i) = columns.get(&field) else {
            continue;
        };
        for value in column_values(sample, *i) {
            for (format, count) in hits.iter_mut() {
                let compiled = DateFormat::new(format).expect("candidate formats are valid");
                if dates::parse_date(value, std::slice::from_ref(&compiled)).is_ok() {
                    *count += 1;
                }
            }
        }
    }
    hits.retain(|(_, n)| *n > 0);
    hits.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    hits.into_iter().map(|(f, _)| f).collect()
}

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

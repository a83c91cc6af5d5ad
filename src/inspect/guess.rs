//! What `inspect` guesses from a sample of an export: which column holds which canonical field
//! (Bulgarian and English header synonyms), which canonical value each label stands for, the
//! date formats, and which columns hold labels at all (never echoing one that does not).

use std::collections::BTreeMap;

use crate::config::Field;
use crate::dates::{self, DateFormat};
use crate::ingest::Sample;
use crate::model::{CaseType, Outcome, PlacementType, Sex, Vocabulary};
use crate::reference::{self, lookup_key};

/// More distinct values than this and a column is not a column of labels.
pub(super) const MAX_LABELS: usize = 40;

/// Header synonyms per field, tried in this order (more specific fields first: "Област на
/// настаняване" is a placement region before it is a region). A synonym matches a header
/// when its words appear in the header consecutively.
pub(super) const SYNONYMS: &[(Field, &[&str])] = &[
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

pub(super) const DATE_CANDIDATES: &[&str] = &[
    "%d.%m.%Y г.",
    "%d.%m.%Y",
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%Y.%m.%d",
];

pub(super) fn words(s: &str) -> Vec<String> {
    lookup_key(s)
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn matches_synonym(header: &[String], synonym: &str) -> bool {
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
pub(super) fn guess_label(field: Field, label: &str) -> Option<&'static str> {
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

pub(super) fn canonical_values(field: Field) -> Vec<&'static str> {
    match field {
        Field::CaseType => CaseType::ALL.iter().map(|v| v.as_str()).collect(),
        Field::Outcome => Outcome::ALL.iter().map(|v| v.as_str()).collect(),
        Field::PlacementType => PlacementType::ALL.iter().map(|v| v.as_str()).collect(),
        Field::Sex => Sex::ALL.iter().map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn is_canonical(field: Field, value: &str) -> bool {
    canonical_values(field).contains(&value.trim())
}

pub(super) fn looks_like_identifier(value: &str) -> bool {
    let mut run = 0;
    value.chars().any(|c| {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        run >= 6
    })
}

/// A TOML string literal.
pub(super) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Distinct non-empty values of column `i`, most frequent first; `None` when they do not look
/// like labels.
pub(super) fn labels(sample: &Sample, i: usize) -> Option<Vec<String>> {
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
pub(super) fn region_labels(sample: &Sample, i: usize) -> Option<Vec<String>> {
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

pub(super) fn column_values(sample: &Sample, i: usize) -> impl Iterator<Item = &str> {
    sample
        .rows
        .iter()
        .filter_map(move |r| r.get(i))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The date formats that read the sampled dates, most useful first.
pub(super) fn guess_date_formats(
    sample: &Sample,
    columns: &BTreeMap<Field, usize>,
) -> Vec<&'static str> {
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

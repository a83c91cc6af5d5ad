//! What must never reach an output, found in the exports themselves: identifiers,
//! quasi-identifiers and dropped columns (`sensitive_values`), and how to look for them in
//! any text without printing them (`count_leaks`).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use aho_corasick::AhoCorasick;
use outcomes::config::{self, FieldClass};
use outcomes::pseudonym::normalize;

/// Values from the exports that must never reach an output: identifiers, quasi-identifiers and
/// every dropped column (names, addresses, phones, notes). Short values are left out: they
/// occur by chance in any text (see `long_enough_to_search`).
///
/// A sensitive value that also occurs inside an attribute value (a birth date equal to some
/// case's opening date, case number `2/2021` inside the date `29/02/2021`) is left out too: its
/// appearance in an output cannot be told apart from the legitimate label or date.
pub fn sensitive_values(pipeline_path: &Path) -> BTreeSet<String> {
    let pipeline = config::load(pipeline_path).expect("pipeline loads");
    let mut values = BTreeSet::new();
    let mut attributes = String::new();
    for source in &pipeline.sources {
        for path in glob::glob(&source.pattern).unwrap().map(Result::unwrap) {
            let mut rows = super::read_export(&path, source.delimiter).into_iter();
            let header: Vec<String> = rows
                .next()
                .unwrap_or_default()
                .iter()
                .map(|h| h.trim().to_lowercase())
                .collect();
            let keep: Vec<bool> = header
                .iter()
                .map(|h| {
                    match source
                        .columns
                        .iter()
                        .find(|(_, c)| c.trim().to_lowercase() == *h)
                    {
                        None => true, // dropped column
                        Some((field, _)) => field.class() != FieldClass::Attribute,
                    }
                })
                .collect();
            for record in rows {
                for (i, value) in record.iter().enumerate() {
                    let value = value.trim();
                    if !keep.get(i).copied().unwrap_or(true) {
                        attributes.push_str(value);
                        attributes.push('\n');
                    } else {
                        for candidate in [value.to_string(), normalize(value)] {
                            if long_enough_to_search(&candidate) {
                                values.insert(candidate);
                            }
                        }
                    }
                }
            }
        }
    }
    let sensitive: Vec<String> = values.into_iter().collect();
    let matcher = AhoCorasick::new(&sensitive).unwrap();
    let mut in_attributes = vec![false; sensitive.len()];
    for m in matcher.find_overlapping_iter(&attributes) {
        in_attributes[m.pattern().as_usize()] = true;
    }
    // A value the pipeline file itself holds (a programme's start date, an office it lists)
    // is configuration, which outputs may repeat, even when an export happens to hold it too.
    // The reports write its dates in their own formats, so those spellings count as well.
    let mut configured = fs::read_to_string(pipeline_path).unwrap();
    let dates = pipeline.as_of.into_iter().chain(
        pipeline
            .programmes
            .iter()
            .flat_map(|p| std::iter::once(p.start).chain(p.end)),
    );
    for date in dates {
        for format in ["%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"] {
            configured.push_str(&format!("\n{}", date.format(format)));
        }
    }
    sensitive
        .into_iter()
        .zip(in_attributes)
        .filter_map(|(v, shared)| (!shared && !configured.contains(&v)).then_some(v))
        .collect()
}

/// Whether finding `value` in an output would mean something: five characters at least, and
/// eight for digits only, which otherwise turn up by chance inside hexadecimal pseudonyms.
pub fn long_enough_to_search(value: &str) -> bool {
    let digits_only = value.bytes().all(|b| b.is_ascii_digit());
    value.chars().count() >= if digits_only { 8 } else { 5 }
}

/// How many of `values` occur in `text`: the number only, so that a failing test does not
/// print personal data either.
pub fn count_leaks(values: &[String], text: &str) -> usize {
    if values.is_empty() {
        return 0;
    }
    let matcher = AhoCorasick::new(values).expect("plain strings make a matcher");
    matcher
        .find_overlapping_iter(text)
        .map(|m| m.pattern().as_usize())
        .collect::<BTreeSet<_>>()
        .len()
}

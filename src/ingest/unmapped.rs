//! Unmapped labels (SPEC §2): the distinct values no value map resolves, tallied per piece,
//! merged per source in file order, and summarized once at the end of ingest, listed only when
//! the column looks like labels. It keeps at most 51 values a column, none over 100 characters.
//!
//! A reject line never quotes a value, so this summary is where an operator learns which labels
//! to map. What it keeps is bounded whatever the file: counting stops at `KEPT` distinct values
//! (more than `MAX_LISTED` already means "not labels"), and a value over `MAX_LABEL_CHARS`
//! characters is kept only as a hash (it is not a label either). Pieces are tallied in parallel
//! and merged in order; the summary is the same wherever the file is cut: below `KEPT`, every
//! piece's tally is complete, and at `KEPT` only the number is told.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::config::Field;

/// The most distinct unmapped values a column of labels has; more means it is not labels.
pub const MAX_LISTED: usize = 50;

/// Distinct values kept a column: one more than `MAX_LISTED`, to tell "more than 50".
const KEPT: usize = MAX_LISTED + 1;

/// A value longer than this (in characters) is not a label; it is kept as a hash only.
pub const MAX_LABEL_CHARS: usize = 100;

/// One distinct unmapped value as it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kept {
    /// A value that may be listed (trimmed, as the value map was asked).
    Text(Box<str>),
    /// A value with six or more digits in a row: never listed, so only its hash is kept.
    Digits([u8; 16]),
    /// A value over `MAX_LABEL_CHARS` characters: not a label; only its hash is kept.
    Long([u8; 16]),
}

impl Kept {
    fn of(text: &str) -> Kept {
        let hash = || -> [u8; 16] {
            let digest = Sha256::digest(text.as_bytes());
            let mut out = [0; 16];
            out.copy_from_slice(&digest[..16]);
            out
        };
        match not_a_label(text) {
            Some(NotALabel::Long) => Kept::Long(hash()),
            Some(NotALabel::Digits) => Kept::Digits(hash()),
            None => Kept::Text(text.into()),
        }
    }
}

/// Why a single value cannot be a label (nor an office name, which the same test guards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotALabel {
    /// Over `MAX_LABEL_CHARS` characters.
    Long,
    /// Six or more digits in a row: an identifier, a phone number, a date written without
    /// separators.
    Digits,
}

/// Whether `text` (trimmed) could be a label: `None` when it could.
pub(super) fn not_a_label(text: &str) -> Option<NotALabel> {
    if text.chars().nth(MAX_LABEL_CHARS).is_some() {
        Some(NotALabel::Long)
    } else if has_six_digit_run(text) {
        Some(NotALabel::Digits)
    } else {
        None
    }
}

/// Whether `text` holds six or more ASCII digits in a row.
fn has_six_digit_run(text: &str) -> bool {
    let mut run = 0;
    text.bytes().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 6
    })
}

/// The unmapped values of one column: at most `KEPT` distinct ones with their row counts, and
/// the rows that held any (all of them counted, kept or not).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Column {
    values: HashMap<Kept, u64>,
    rows: u64,
}

impl Column {
    /// Once `KEPT` values are kept, only "more than `MAX_LISTED`" and the rows are told: the
    /// counts of the kept values no longer matter.
    fn is_full(&self) -> bool {
        self.values.len() >= KEPT
    }

    fn add(&mut self, kept: Kept, rows: u64) {
        self.rows += rows;
        if !self.is_full() {
            *self.values.entry(kept).or_default() += rows;
        }
    }
}

/// Unmapped values by field: of one piece, or merged, of one source.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Unmapped {
    fields: [Column; Field::ALL.len()],
}

impl Unmapped {
    /// A row whose `field` holds `text` (trimmed), which no value map resolves.
    pub(super) fn add(&mut self, field: Field, text: &str) {
        let column = &mut self.fields[field as usize];
        if column.is_full() {
            column.rows += 1;
        } else {
            column.add(Kept::of(text), 1);
        }
    }

    /// Add a later piece's tally (pieces are merged in file order).
    pub(super) fn merge(&mut self, later: Unmapped) {
        for (column, later) in self.fields.iter_mut().zip(later.fields) {
            let values: u64 = later.values.values().sum();
            for (kept, n) in later.values {
                column.add(kept, n);
            }
            // Rows whose value a full piece did not keep.
            column.rows += later.rows - values;
        }
    }

    /// The summary of one source's unmapped values, column by column in field order.
    pub(super) fn summarize(&self, source: usize, min_count: u32) -> Vec<UnmappedColumn> {
        Field::ALL
            .iter()
            .filter_map(|&field| {
                let column = &self.fields[field as usize];
                (column.rows > 0).then(|| summarize_column(source, field, column, min_count))
            })
            .collect()
    }
}

fn summarize_column(
    source: usize,
    field: Field,
    column: &Column,
    min_count: u32,
) -> UnmappedColumn {
    let distinct = if column.values.len() > MAX_LISTED {
        Distinct::MoreThan(MAX_LISTED)
    } else {
        Distinct::Exactly(column.values.len())
    };
    let listing = if column.values.len() > MAX_LISTED {
        Listing::NotLabels(NotLabels::TooMany)
    } else if column.values.keys().any(|k| matches!(k, Kept::Long(_))) {
        Listing::NotLabels(NotLabels::TooLong)
    } else {
        let mut listed = Vec::new();
        let (mut rarer, mut withheld) = (0, 0);
        for (kept, &n) in &column.values {
            match kept {
                Kept::Text(text) if n >= u64::from(min_count) => listed.push((text.to_string(), n)),
                Kept::Text(_) => rarer += 1,
                Kept::Digits(_) | Kept::Long(_) => withheld += 1,
            }
        }
        listed.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Listing::Labels {
            listed,
            rarer,
            withheld,
        }
    };
    UnmappedColumn {
        source,
        field,
        rows: column.rows,
        distinct,
        listing,
    }
}

/// What the end of `check` and `run` says about one column's unmapped values; the report
/// gives only `distinct`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedColumn {
    /// Index of the `[[sources]]` entry.
    pub source: usize,
    pub field: Field,
    /// Rows rejected because this column's value is not mapped.
    pub rows: u64,
    pub distinct: Distinct,
    pub listing: Listing,
}

/// How many distinct unmapped values a column has, counted no further than one past
/// `MAX_LISTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distinct {
    Exactly(usize),
    /// More than this many (`MAX_LISTED`).
    MoreThan(usize),
}

impl std::fmt::Display for Distinct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distinct::Exactly(n) => write!(f, "{n}"),
            Distinct::MoreThan(n) => write!(f, "more than {n}"),
        }
    }
}

/// Whether a column's unmapped values may be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// The column looks like labels: the values seen in at least `min_count` rows and without
    /// six digits in a row, with their row counts (most rows first); the others only counted.
    Labels {
        listed: Vec<(String, u64)>,
        /// Values seen in fewer than `min_count` rows.
        rarer: usize,
        /// Values with six or more digits in a row.
        withheld: usize,
    },
    /// The column does not look like labels: nothing is listed.
    NotLabels(NotLabels),
}

/// Why a column does not look like labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotLabels {
    /// More than `MAX_LISTED` distinct unmapped values.
    TooMany,
    /// A value over `MAX_LABEL_CHARS` characters.
    TooLong,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(values: &[(&str, u64)]) -> Unmapped {
        let mut t = Unmapped::default();
        for (text, n) in values {
            for _ in 0..*n {
                t.add(Field::Outcome, text);
            }
        }
        t
    }

    #[test]
    fn labels_are_listed_by_rows_rare_and_digit_values_only_counted() {
        let t = tally(&[
            ("Неясно", 6),
            ("Друго", 9),
            ("Рядко", 2),
            ("Решение 1234567", 8),
        ]);
        let summary = t.summarize(0, 5);
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].rows, 25);
        assert_eq!(summary[0].distinct, Distinct::Exactly(4));
        assert_eq!(
            summary[0].listing,
            Listing::Labels {
                listed: vec![("Друго".into(), 9), ("Неясно".into(), 6)],
                rarer: 1,
                withheld: 1,
            }
        );
    }

    #[test]
    fn more_than_fifty_values_or_a_long_one_is_not_labels_and_kept_bounded() {
        let names: Vec<String> = (0..5_000).map(|i| format!("Name{i}")).collect();
        let mut t = Unmapped::default();
        for name in &names {
            t.add(Field::Outcome, name);
        }
        assert_eq!(t.fields[Field::Outcome as usize].values.len(), KEPT);
        let s = &t.summarize(0, 5)[0];
        assert_eq!((s.rows, s.distinct), (5_000, Distinct::MoreThan(50)));
        assert_eq!(s.listing, Listing::NotLabels(NotLabels::TooMany));

        let long = "x".repeat(MAX_LABEL_CHARS + 1);
        let t = tally(&[("Неясно", 6), (&long, 6)]);
        let s = &t.summarize(0, 5)[0];
        assert_eq!(s.distinct, Distinct::Exactly(2));
        assert_eq!(s.listing, Listing::NotLabels(NotLabels::TooLong));
        assert!(
            !format!("{t:?}").contains("xxxx"),
            "a long value is kept as a hash only"
        );
    }

    #[test]
    fn merging_pieces_gives_the_tally_of_the_whole() {
        let values: Vec<String> = (0..60).map(|i| format!("L{}", i % 7)).collect();
        let whole = {
            let mut t = Unmapped::default();
            values.iter().for_each(|v| t.add(Field::Sex, v));
            t
        };
        for cut in [1, 5, 30] {
            let mut merged = Unmapped::default();
            for piece in values.chunks(cut) {
                let mut t = Unmapped::default();
                piece.iter().for_each(|v| t.add(Field::Sex, v));
                merged.merge(t);
            }
            assert_eq!(merged, whole, "pieces of {cut}");
        }
    }
}

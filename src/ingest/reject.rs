//! Rejected rows: the reasons (stable codes), `RowReject`, the sinks they go to, the summary
//! `check`, `run` and the report show, and what a reject message may say about a value. Only
//! this module decides which values may be quoted; it never reads or validates a row.

use std::collections::BTreeMap;
use std::io;

use super::InputFile;
use crate::config::{Field, FieldClass};

/// Why a row was rejected; the codes are stable and appear in `rejects.csv` and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    WrongColumnCount,
    Undecodable,
    MissingRequired,
    UnparseableDate,
    ImpossibleDate,
    DateAfterAsOf,
    ClosedBeforeOpened,
    UnknownRegion,
    UnknownLabel,
    OutcomeNotApplicable,
    MissingOutcome,
    InvalidChildId,
    UnterminatedQuote,
}

impl RejectReason {
    pub const ALL: [RejectReason; 13] = [
        RejectReason::WrongColumnCount,
        RejectReason::Undecodable,
        RejectReason::MissingRequired,
        RejectReason::UnparseableDate,
        RejectReason::ImpossibleDate,
        RejectReason::DateAfterAsOf,
        RejectReason::ClosedBeforeOpened,
        RejectReason::UnknownRegion,
        RejectReason::UnknownLabel,
        RejectReason::OutcomeNotApplicable,
        RejectReason::MissingOutcome,
        RejectReason::InvalidChildId,
        RejectReason::UnterminatedQuote,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RejectReason::WrongColumnCount => "wrong_column_count",
            RejectReason::Undecodable => "undecodable",
            RejectReason::MissingRequired => "missing_required",
            RejectReason::UnparseableDate => "unparseable_date",
            RejectReason::ImpossibleDate => "impossible_date",
            RejectReason::DateAfterAsOf => "date_after_as_of",
            RejectReason::ClosedBeforeOpened => "closed_before_opened",
            RejectReason::UnknownRegion => "unknown_region",
            RejectReason::UnknownLabel => "unknown_label",
            RejectReason::OutcomeNotApplicable => "outcome_not_applicable",
            RejectReason::MissingOutcome => "missing_outcome",
            RejectReason::InvalidChildId => "invalid_child_id",
            RejectReason::UnterminatedQuote => "unterminated_quote",
        }
    }
}

/// A row that was not accepted. The message never holds an identifier, quasi-identifier or
/// dropped column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReject {
    /// The canonical field at fault; `None` for whole-row problems.
    pub field: Option<Field>,
    pub reason: RejectReason,
    pub message: String,
}

/// Where rejected rows go as they are found (a CSV file for `run`, nowhere for `check`).
pub trait RejectSink: Send {
    fn reject(&mut self, file: &InputFile, line: u64, reject: &RowReject) -> io::Result<()>;
}

/// A sink that keeps nothing: the counts in `InputFile` are all `check` needs.
pub struct DiscardRejects;

impl RejectSink for DiscardRejects {
    fn reject(&mut self, _: &InputFile, _: u64, _: &RowReject) -> io::Result<()> {
        Ok(())
    }
}

/// Rejected rows of `files` by reason and field name (`""` for whole-row problems), most
/// frequent first, ties in reason order: what `check`, `run` and the report show.
pub fn reject_summary<'a>(
    files: impl IntoIterator<Item = &'a InputFile>,
) -> Vec<(RejectReason, &'static str, u64)> {
    let mut totals: BTreeMap<(RejectReason, &'static str), u64> = BTreeMap::new();
    for file in files {
        for ((reason, field), n) in &file.reject_counts {
            *totals
                .entry((*reason, field.map_or("", |f| f.name())))
                .or_default() += n;
        }
    }
    let mut summary: Vec<_> = totals.into_iter().map(|((r, f), n)| (r, f, n)).collect();
    summary.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    summary
}

/// Whether a reject message may show a value of `field`: attributes (labels and case dates,
/// so that mappings can be fixed) only; never identifiers, birth dates or sex.
pub(super) fn may_show(field: Field) -> bool {
    matches!(field.class(), FieldClass::Attribute)
}

/// A value of `field` as a reject message may show it: ` "value"` (see `quote`) when the field
/// may be shown, nothing otherwise.
pub(super) fn shown(field: Field, value: &str) -> String {
    if may_show(field) {
        format!(" {}", quote(value))
    } else {
        String::new()
    }
}

/// How a value may be quoted in a reject message: labels and case dates only, shortened,
/// and withheld when they look like an identifier (six or more digits in a row).
pub(super) fn quote(value: &str) -> String {
    let mut run = 0;
    for c in value.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 6 {
            return "(value withheld: it looks like an identifier)".to_string();
        }
    }
    let mut shown: String = value
        .chars()
        .take(40)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if value.chars().count() > 40 {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

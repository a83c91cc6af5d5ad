//! Rejected rows: the reasons (stable codes), `RowReject`, the sinks they go to, and the
//! summary `check`, `run` and the report show. A reject message never quotes a value of any
//! field (SPEC §2); this module never reads or validates a row.

use std::collections::BTreeMap;
use std::io;

use super::InputFile;
use crate::config::Field;

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
    RecordTooLong,
}

impl RejectReason {
    pub const ALL: [RejectReason; 14] = [
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
        RejectReason::RecordTooLong,
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
            RejectReason::RecordTooLong => "record_too_long",
        }
    }
}

/// A row that was not accepted. The message names the column, the reason and the rule, and
/// never holds a value of any field: whoever holds the export can open it at the line.
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

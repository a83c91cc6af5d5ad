//! SPEC §10's programmes, counted in the same per-child pass as the rates table: each national
//! count is kept by its deciding case's programme class (`tally`), so the programme and its
//! comparison split the national row exactly. `membership` sorts cases into classes; `table`
//! makes the year, period and difference rows, before disclosure control; `counts` answers the
//! sums disclosure control needs (a region's cases inside and outside a programme, overlaps).

mod counts;
#[cfg(test)]
pub(crate) mod fixture;
mod membership;
mod table;
mod tally;

pub use counts::ProgrammeCounts;
pub use membership::{CaseClasses, ListedMatch, Membership, ProgrammeMatches, matches};
pub use table::{period_of, rows as programme_rows, sources_of};
pub(super) use tally::ProgrammeTally;

use super::Measure;
use super::table::Status;

/// Which side of a programme's figures a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Programme,
    Comparison,
    Difference,
    DifferenceInDifferences,
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Programme,
        Group::Comparison,
        Group::Difference,
        Group::DifferenceInDifferences,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Group::Programme => "programme",
            Group::Comparison => "comparison",
            Group::Difference => "difference",
            Group::DifferenceInDifferences => "difference_in_differences",
        }
    }
}

/// A programme's periods (SPEC §10): the years before its start year, from the start to the
/// end year (or the table's last year), and after the end year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    Before,
    During,
    After,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Before, Period::During, Period::After];

    pub fn code(self) -> &'static str {
        match self {
            Period::Before => "before",
            Period::During => "during",
            Period::After => "after",
        }
    }
}

/// One row of `programmes.parquet`: a programme's group, measure and year or period.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgrammeRow {
    /// Index into `pipeline.programmes`.
    pub programme: usize,
    pub group: Group,
    pub measure: Measure,
    /// A year row's year; `None` for period rows.
    pub year: Option<i32>,
    /// A period row's period; `None` for year rows.
    pub period: Option<Period>,
    /// The complete years a period row pools (a year row: its year).
    pub years: Vec<i32>,
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
    /// The rate; for the difference groups, the difference.
    pub rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub status: Status,
}

impl ProgrammeRow {
    /// The key that identifies the row within its programme.
    pub fn key(&self) -> (Group, Measure, Option<i32>, Option<Period>) {
        (self.group, self.measure, self.year, self.period)
    }
}

/// The programmes' rows before disclosure control, and the counts behind them (which never
/// leave the process: disclosure control reads them to decide what may be published).
pub struct ProgrammeTable {
    pub rows: Vec<ProgrammeRow>,
    pub counts: ProgrammeCounts,
}

#[cfg(test)]
mod tests;

//! The measures of SPEC §4 (`Measure::ALL`), computed from the deduplicated cases into the rates table
//! before disclosure control. National rows are counted from the cases alongside the regional
//! ones (a child's first case in the country is not the sum of its first cases per region),
//! never by summing regions. Measures may not suppress anything: that is `disclosure`'s, the
//! next stage, which may read these types; this module never reads it.
//!
//! - `catalogue`: the `Measure`s, their codes and kinds;
//! - `definitions`: one function per measure, SPEC §4's table line by line;
//! - `rules`: what the definitions share (follow-up window, re-entry, first-case rule, entry
//!   cohorts);
//! - `pass`: the one parallel pass over child-sorted cases that feeds every definition;
//! - `tally`: the counts the pass fills; `table`: the `RateRow`s made from them, with
//!   `interval`'s Wilson interval.
//!
//! A new measure: a variant in `catalogue.rs`, a function in `definitions.rs`, a line in
//! `pass.rs`'s `tally_child`, and its name and definition in `templates/i18n.toml`. A sibling
//! computation over the same children (programmes, SPEC §10) is a new file here that feeds
//! its own `tally::Count` from the same pass.

mod catalogue;
mod definitions;
mod interval;
mod pass;
mod rules;
mod table;
mod tally;

use crate::config::SuccessSets;
use crate::dates;
use crate::link::LinkCase;
use crate::model::{Day, RegionIdx};
use crate::reference;

pub use catalogue::Measure;
pub use interval::wilson_interval;
pub use rules::FOLLOW_UP_DAYS;
pub use table::{RateRow, Status, cohort_complete};

/// Compute the full rates table (before disclosure control) from the deduplicated cases,
/// sorted by child (as `link::dedupe` leaves them): a row for every measure, for `BG` and
/// every region with cases, for every year from the earliest to the latest year in the cases'
/// opened and closed dates. Rows are in a fixed order: measure, region (BG first, then by
/// code), year.
pub fn compute(cases: &[LinkCase], success: &SuccessSets, as_of: Day) -> Vec<RateRow> {
    let Some(first_year) = cases.iter().map(|c| dates::year_of(c.opened)).min() else {
        return Vec::new();
    };
    // `closed` is never before `opened`, so the latest year is the latest closed-or-opened one.
    let last_year = cases
        .iter()
        .map(|c| dates::year_of(c.closed().unwrap_or(c.opened)))
        .max()
        .unwrap_or(first_year);
    let regions = reference::oblasts().len();
    let tally = pass::tally_all(cases, success, first_year, last_year, regions);

    let mut present = vec![false; regions];
    for c in cases {
        present[usize::from(c.region)] = true;
    }
    let regions_present: Vec<RegionIdx> = (0..regions as RegionIdx)
        .filter(|r| present[usize::from(*r)])
        .collect();
    table::rows(
        &tally,
        &regions_present,
        first_year,
        last_year,
        dates::from_day(as_of),
    )
}

#[cfg(test)]
mod tests;

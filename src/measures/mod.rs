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
//! - `programmes`: SPEC §10's programme and comparison rows, counted by the same pass
//!   (`programmes::ProgrammeTally`, a second `tally::Count`) from each national count's
//!   deciding case.
//!
//! A new measure: a variant in `catalogue.rs`, a function in `definitions.rs`, a line in
//! `pass.rs`'s `tally_child`, and its name and definition in `templates/i18n.toml`.

mod catalogue;
mod definitions;
mod funnel;
mod interval;
mod pass;
pub mod programmes;
mod reconciliation;
mod rules;
mod table;
mod tally;

use crate::config::{Programme, PublishedTable, SuccessSets};
use crate::dates;
use crate::link::{LinkCase, Places};
use crate::model::{Day, RegionIdx};
use crate::reference;

pub use catalogue::Measure;
pub use funnel::{Funnel, LIMIT_PROBABILITIES, classify as funnel_class, control_limits};
pub use interval::{newcombe_difference, wald_difference_in_differences, wilson_interval};
pub use programmes::{Group, Membership, Period, ProgrammeRow, ProgrammeTable};
pub use reconciliation::ReconciliationRow;
pub use rules::FOLLOW_UP_DAYS;
pub use table::{RateRow, Status, cohort_complete};

/// Compute the full rates table (before disclosure control) from the deduplicated cases,
/// sorted by child (as `link::dedupe` leaves them): a row for every measure, for `BG` and
/// every region with cases, for every year from the earliest to the latest year in the cases'
/// opened and closed dates. Rows are in a fixed order: measure, region (BG first, then by
/// code), year.
pub fn compute(cases: &[LinkCase], success: &SuccessSets, as_of: Day) -> Vec<RateRow> {
    compute_all(cases, success, as_of, &PublishedTable::shipped(), None).rates
}

/// Everything the measures hand to disclosure control: the rates table, the reconciliation
/// with the published figures (SPEC §11) and the programmes' rows (SPEC §10).
pub struct Measured {
    pub rates: Vec<RateRow>,
    pub reconciliation: Vec<ReconciliationRow>,
    pub programmes: Option<ProgrammeTable>,
}

/// The programmes to count beside the rates table: the pipeline's, the classes of their
/// members, and each case's place.
pub struct ProgrammesInput<'a> {
    pub programmes: &'a [Programme],
    pub membership: &'a Membership,
    pub places: &'a Places,
}

/// `compute`, and in the same pass the reconciliation with `published` (SPEC §11) and the
/// programmes' rows (SPEC §10) when `programmes` are given, all before disclosure control.
pub fn compute_all(
    cases: &[LinkCase],
    success: &SuccessSets,
    as_of: Day,
    published: &PublishedTable,
    programmes: Option<ProgrammesInput<'_>>,
) -> Measured {
    let Some(first_year) = cases.iter().map(|c| dates::year_of(c.opened)).min() else {
        return Measured {
            rates: Vec::new(),
            reconciliation: Vec::new(),
            programmes: None,
        };
    };
    // `closed` is never before `opened`, so the latest year is the latest closed-or-opened one.
    let last_year = cases
        .iter()
        .map(|c| dates::year_of(c.closed().unwrap_or(c.opened)))
        .max()
        .unwrap_or(first_year);
    let regions = reference::oblasts().len();
    let classes = programmes
        .as_ref()
        .map(|p| p.membership.case_classes(p.places));
    let shape = pass::TallyShape {
        first_year,
        last_year,
        regions,
        classes: programmes.as_ref().map(|p| p.membership.classes()),
    };
    let pass::PassTally {
        rates: tally,
        quantities,
        programmes: programme_tally,
    } = pass::tally_all(cases, success, &shape, classes.as_ref());

    let mut present = vec![false; regions];
    for c in cases {
        present[usize::from(c.region)] = true;
    }
    let regions_present: Vec<RegionIdx> = (0..regions as RegionIdx)
        .filter(|r| present[usize::from(*r)])
        .collect();
    let as_of = dates::from_day(as_of);
    let rates = table::rows(&tally, &regions_present, first_year, last_year, as_of);
    let reconciliation = reconciliation::rows(published, &quantities, first_year, last_year, as_of);
    let programme_table = match (programmes, programme_tally, classes) {
        (Some(input), Some(programme_tally), Some(classes)) => {
            let membership = input.membership;
            let mut class_cases = vec![0u64; membership.classes()];
            for c in cases {
                class_cases[usize::from(classes.of(c.ordinal).0)] += 1;
            }
            let masks = (0..membership.classes())
                .map(|c| membership.mask(c as u16))
                .collect();
            let comparisons = input
                .programmes
                .iter()
                .map(|p| p.comparison.clone())
                .collect();
            let counts = programmes::ProgrammeCounts::new(
                comparisons,
                programme_tally,
                tally,
                masks,
                class_cases,
            );
            let rows =
                programmes::programme_rows(input.programmes, &counts, first_year, last_year, as_of);
            Some(ProgrammeTable { rows, counts })
        }
        _ => None,
    };
    Measured {
        rates,
        reconciliation,
        programmes: programme_table,
    }
}

#[cfg(test)]
mod tests;

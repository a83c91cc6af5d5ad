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
use crate::link::{LinkCase, PlaceTag, Places};
use crate::model::{Day, RegionIdx};
use crate::reference;

pub use catalogue::Measure;
pub use funnel::{Funnel, control_limits, tail_chance};
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
        return Measured::empty();
    };
    // `closed` is never before `opened`, so the latest year is the latest closed-or-opened one.
    let last_year = cases
        .iter()
        .map(|c| dates::year_of(c.closed().unwrap_or(c.opened)))
        .max()
        .unwrap_or(first_year);
    let classes = programmes
        .as_ref()
        .map(|p| p.membership.case_classes(p.places));
    let shape = pass::TallyShape {
        first_year,
        last_year,
        regions: reference::oblasts().len(),
        classes: programmes.as_ref().map(|p| p.membership.classes()),
    };
    let counted = pass::tally_all(cases, success, &shape, classes);
    let mut seen = Seen::new(&shape);
    seen.count(cases, classes);
    let programmes = programmes.map(|p| (p.programmes, p.membership));
    tables(counted, seen, &shape, as_of, published, programmes)
}

/// `compute_all` for cases that come a batch at a time (merged from runs spilled to disk):
/// each batch is counted by the same parallel pass and the counts summed.
pub struct MeasureStream<'a> {
    success: &'a SuccessSets,
    programmes: Option<(&'a [Programme], &'a Membership)>,
    /// `None` when there are no cases.
    shape: Option<pass::TallyShape>,
    counted: Option<pass::PassTally>,
    seen: Option<Seen>,
}

impl<'a> MeasureStream<'a> {
    /// Ready to count cases whose opened and closed dates lie in `span` (the earliest opened and
    /// the latest closed-or-opened date of the kept cases, `link::Spilled::span`; `None` when
    /// there are none), with `programmes` and the classes of their members when the pipeline
    /// has programmes.
    pub fn new(
        span: Option<(Day, Day)>,
        success: &'a SuccessSets,
        programmes: Option<(&'a [Programme], &'a Membership)>,
    ) -> MeasureStream<'a> {
        let shape = span.map(|(first, last)| pass::TallyShape {
            first_year: dates::year_of(first),
            last_year: dates::year_of(last),
            regions: reference::oblasts().len(),
            classes: programmes.map(|(_, m)| m.classes()),
        });
        MeasureStream {
            success,
            programmes,
            counted: shape.as_ref().map(pass::TallyShape::empty),
            seen: shape.as_ref().map(Seen::new),
            shape,
        }
    }

    /// Count `cases`: whole children, sorted by child, each child in one batch only, and
    /// `tags` their places, one a case (with programmes).
    pub fn add(&mut self, cases: &[LinkCase], tags: Option<&[PlaceTag]>) {
        let (Some(shape), Some(counted), Some(seen)) =
            (&self.shape, self.counted.take(), &mut self.seen)
        else {
            return;
        };
        let classes = match (self.programmes, tags) {
            (Some((_, membership)), Some(tags)) => Some(membership.classes_beside(tags)),
            _ => None,
        };
        let batch = pass::tally_all(cases, self.success, shape, classes);
        seen.count(cases, classes);
        self.counted = Some(counted.merge(batch));
    }

    /// The tables of everything counted, as `compute_all` makes them.
    pub fn finish(self, as_of: Day, published: &PublishedTable) -> Measured {
        match (self.shape, self.counted, self.seen) {
            (Some(shape), Some(counted), Some(seen)) => {
                tables(counted, seen, &shape, as_of, published, self.programmes)
            }
            _ => Measured::empty(),
        }
    }
}

impl Measured {
    fn empty() -> Measured {
        Measured {
            rates: Vec::new(),
            reconciliation: Vec::new(),
            programmes: None,
        }
    }
}

/// What the tables need of the cases besides the pass's counts: the regions that occur, and
/// the cases of each programme class.
struct Seen {
    present: Vec<bool>,
    class_cases: Vec<u64>,
}

impl Seen {
    fn new(shape: &pass::TallyShape) -> Seen {
        Seen {
            present: vec![false; shape.regions],
            class_cases: vec![0; shape.classes.unwrap_or(0)],
        }
    }

    fn count(&mut self, cases: &[LinkCase], classes: Option<programmes::CaseClasses>) {
        for (i, c) in cases.iter().enumerate() {
            if let Some(seen) = self.present.get_mut(usize::from(c.region)) {
                *seen = true;
            }
            if let Some(t) = classes
                && let Some(n) = self.class_cases.get_mut(usize::from(t.of(i, c.ordinal).0))
            {
                *n += 1;
            }
        }
    }
}

/// The rates table, the reconciliation and the programmes' rows from what the pass counted.
fn tables(
    counted: pass::PassTally,
    seen: Seen,
    shape: &pass::TallyShape,
    as_of: Day,
    published: &PublishedTable,
    programmes: Option<(&[Programme], &Membership)>,
) -> Measured {
    let pass::PassTally {
        rates: tally,
        quantities,
        programmes: programme_tally,
    } = counted;
    let (first_year, last_year) = (shape.first_year, shape.last_year);
    let regions_present: Vec<RegionIdx> = (0..shape.regions as RegionIdx)
        .filter(|r| seen.present[usize::from(*r)])
        .collect();
    let as_of = dates::from_day(as_of);
    let rates = table::rows(&tally, &regions_present, first_year, last_year, as_of);
    let reconciliation = reconciliation::rows(published, &quantities, first_year, last_year, as_of);
    let programme_table = match (programmes, programme_tally) {
        (Some((programmes, membership)), Some(programme_tally)) => {
            let masks = (0..membership.classes())
                .map(|c| membership.mask(c as u16))
                .collect();
            let comparisons = programmes.iter().map(|p| p.comparison.clone()).collect();
            let counts = programmes::ProgrammeCounts::new(
                comparisons,
                programme_tally,
                tally,
                masks,
                seen.class_cases,
            );
            let rows =
                programmes::programme_rows(programmes, &counts, first_year, last_year, as_of);
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

//! The one pass over the cases. Deduplication leaves them sorted by child, so each child's
//! cases are offered in turn to every definition of `definitions.rs` (in SPEC §4's order), and
//! runs of whole children are counted in parallel. A new measure is one more line in
//! `tally_child`; no definition walks the cases on its own.

use rayon::prelude::*;

use super::definitions::{
    Reunifications, YearsServed, children_served, out_of_region_placement, prevention_12m,
    prevention_closed, reintegration_12m, reintegration_closed, reintegration_sustained_12m,
};
use super::programmes::{CaseClasses, ProgrammeTally};
use super::reconciliation::QuantityTally;
use super::rules::{CaseFacts, Firsts};
use super::tally::{Count, Scope, Tally};
use crate::config::SuccessSets;
use crate::link::LinkCase;

/// What the definitions keep about one child while its cases go by; reused from child to
/// child so the pass does not allocate.
pub(super) struct ChildState {
    prevention_cohort: Firsts,
    reintegration_cohort: Firsts,
    reunifications: Reunifications,
    years_served: YearsServed,
}

impl ChildState {
    pub fn new() -> ChildState {
        ChildState {
            prevention_cohort: Firsts::new(),
            reintegration_cohort: Firsts::new(),
            reunifications: Reunifications::default(),
            years_served: YearsServed::default(),
        }
    }

    fn start_child(&mut self) {
        self.prevention_cohort = Firsts::new();
        self.reintegration_cohort = Firsts::new();
        self.reunifications.clear();
        self.years_served.clear();
    }
}

/// Everything one child's cases (sorted by case type, then opened) add to the counts.
/// `last_year`: the table's last year, to which open cases count as open; `classes`: the
/// programme class of each of `cases`, when the pipeline has programmes.
pub(super) fn tally_child(
    cases: &[LinkCase],
    success: &SuccessSets,
    last_year: i32,
    classes: Option<CaseClasses>,
    out: &mut PassTally,
    child: &mut ChildState,
) {
    child.start_child();
    for (i, c) in cases.iter().enumerate() {
        let case = CaseFacts::of(c, classes.map_or((0, 0), |t| t.of(i, c.ordinal)));
        out.quantities.record(&case, success);
        prevention_closed(&case, success, out);
        reintegration_closed(&case, success, out);
        prevention_12m(&case, &mut child.prevention_cohort, success, out);
        reintegration_12m(&case, &mut child.reintegration_cohort, out);
        child.reunifications.record(&case);
        out_of_region_placement(&case, out);
        child.years_served.record(&case, last_year);
    }
    // The measures that need all of the child's cases first.
    reintegration_sustained_12m(&mut child.reunifications, out);
    children_served(&mut child.years_served, out);
}

/// What one pass counts: the rates table, the reconciliation's quantities, and the programmes'
/// counts when there are any.
pub(super) struct PassTally {
    pub rates: Tally,
    pub quantities: QuantityTally,
    pub programmes: Option<ProgrammeTally>,
}

impl PassTally {
    pub(super) fn merge(self, other: PassTally) -> PassTally {
        PassTally {
            rates: self.rates.merge(other.rates),
            quantities: self.quantities.merge(other.quantities),
            programmes: match (self.programmes, other.programmes) {
                (Some(a), Some(b)) => Some(a.merge(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

impl Count for PassTally {
    fn count(&mut self, measure: super::Measure, scope: Scope, year: i32, hit: bool) {
        self.rates.count(measure, scope, year, hit);
        if let Some(p) = &mut self.programmes {
            p.count(measure, scope, year, hit);
        }
    }
}

/// The shape of the pass's tallies: years, regions and (with programmes) classes.
pub(super) struct TallyShape {
    pub first_year: i32,
    pub last_year: i32,
    pub regions: usize,
    pub classes: Option<usize>,
}

impl TallyShape {
    pub(super) fn empty(&self) -> PassTally {
        PassTally {
            rates: Tally::new(self.first_year, self.last_year, self.regions),
            quantities: QuantityTally::new(self.first_year, self.last_year),
            programmes: self.classes.map(|classes| {
                ProgrammeTally::new(self.first_year, self.last_year, classes, self.regions)
            }),
        }
    }
}

/// Count every child of `cases` (sorted by child) into tallies of `shape`: the cases are cut
/// into runs of whole children, tallied in parallel and the tallies summed. `classes`: the
/// programme class of each of `cases`, when the pipeline has programmes.
pub(super) fn tally_all(
    cases: &[LinkCase],
    success: &SuccessSets,
    shape: &TallyShape,
    classes: Option<CaseClasses>,
) -> PassTally {
    child_runs(cases)
        .par_windows(2)
        .map(|w| {
            let mut tally = shape.empty();
            let mut child = ChildState::new();
            let mut start = w[0];
            for cases in cases[w[0]..w[1]].chunk_by(|a, b| a.child == b.child) {
                let end = start + cases.len();
                let classes = classes.map(|t| t.part(start, end));
                let last_year = shape.last_year;
                tally_child(cases, success, last_year, classes, &mut tally, &mut child);
                start = end;
            }
            tally
        })
        .reduce(|| shape.empty(), PassTally::merge)
}

/// Cut points of `cases` into runs of about an eighth of a thread's share each, never inside
/// a child's cases: `[0, …, cases.len()]`.
fn child_runs(cases: &[LinkCase]) -> Vec<usize> {
    let mut bounds = vec![0];
    let step = (cases.len() / (rayon::current_num_threads() * 8)).max(1 << 14);
    while let Some(&start) = bounds.last() {
        let mut end = (start + step).min(cases.len());
        while end < cases.len() && cases[end].child == cases[end - 1].child {
            end += 1;
        }
        bounds.push(end);
        if end == cases.len() {
            break;
        }
    }
    bounds
}

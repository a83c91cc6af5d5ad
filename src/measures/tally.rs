//! Where the per-child pass puts what it counts: `Count`, the one thing a definition may do
//! with a case, and `Tally`, the rates table's cells of (numerator, denominator) per
//! (measure, region or country, year). Counting only: no definition and no status here.

use super::catalogue::Measure;
use crate::model::RegionIdx;

/// Where a count goes: a region's row or the country's (`BG`), which is counted from the cases
/// alongside the regions, never summed from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Region(RegionIdx),
    /// The country's row, with the case that decides whether and where the child (or case)
    /// counts in it: programmes (SPEC §10) split the national row by that case.
    Country(Decider),
}

/// The case that decides a national count: its region and its programme class
/// (`programmes::Membership`; 0 when the pipeline has no programmes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decider {
    pub region: RegionIdx,
    pub class: u16,
}

/// What the definitions count into: `Tally` (the rates table) and `ProgrammeTally` (SPEC §10),
/// both fed by the same pass; neither walks the cases itself.
pub(super) trait Count {
    /// Count one member of `measure`'s denominator (for `children_served`: one child) in
    /// `scope` and `year`; `hit`: also one of its numerator.
    fn count(&mut self, measure: Measure, scope: Scope, year: i32, hit: bool);
}

/// Counts per (measure, region slot, year): the last slot is the whole country.
pub(super) struct Tally {
    first_year: i32,
    years: usize,
    slots: usize,
    /// (numerator, denominator) per cell.
    cells: Vec<(u64, u64)>,
}

impl Tally {
    pub(super) fn new(first_year: i32, last_year: i32, regions: usize) -> Tally {
        let years = (last_year - first_year + 1).max(0) as usize;
        let slots = regions + 1;
        Tally {
            first_year,
            years,
            slots,
            cells: vec![(0, 0); Measure::ALL.len() * slots * years],
        }
    }

    fn slot(&self, scope: Scope) -> usize {
        match scope {
            Scope::Region(region) => usize::from(region),
            Scope::Country(_) => self.slots - 1,
        }
    }

    /// The (numerator, denominator) of one cell: a region's, or the country's (`None`); (0, 0)
    /// outside the table's years.
    pub(super) fn get(&self, measure: Measure, region: Option<RegionIdx>, year: i32) -> (u64, u64) {
        let offset = year - self.first_year;
        if offset < 0 || offset as usize >= self.years {
            return (0, 0);
        }
        let slot = region.map_or(self.slots - 1, usize::from);
        self.cells[(measure as usize * self.slots + slot) * self.years + offset as usize]
    }

    pub(super) fn merge(mut self, other: Tally) -> Tally {
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self
    }
}

impl Count for Tally {
    fn count(&mut self, measure: Measure, scope: Scope, year: i32, hit: bool) {
        let slot = self.slot(scope);
        let offset = year - self.first_year;
        if offset < 0 || offset as usize >= self.years || slot >= self.slots {
            return;
        }
        let i = (measure as usize * self.slots + slot) * self.years + offset as usize;
        let cell = &mut self.cells[i];
        cell.0 += u64::from(hit);
        cell.1 += 1;
    }
}

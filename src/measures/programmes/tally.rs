//! The programmes' counts from the per-child pass: every national count (SPEC §10: the case
//! that decides the national row decides the group) kept by the deciding case's programme
//! class and region, so that any group, region split or overlap is a sum over cells.

use super::super::catalogue::Measure;
use super::super::tally::{Count, Scope};
use crate::model::RegionIdx;

/// (numerator, denominator) per (class, measure, year, region of the deciding case).
#[derive(Debug, Clone)]
pub(in crate::measures) struct ProgrammeTally {
    first_year: i32,
    years: usize,
    classes: usize,
    regions: usize,
    cells: Vec<(u64, u64)>,
}

impl ProgrammeTally {
    pub(in crate::measures) fn new(
        first_year: i32,
        last_year: i32,
        classes: usize,
        regions: usize,
    ) -> ProgrammeTally {
        let years = (last_year - first_year + 1).max(0) as usize;
        ProgrammeTally {
            first_year,
            years,
            classes,
            regions,
            cells: vec![(0, 0); classes * Measure::ALL.len() * years * regions],
        }
    }

    fn index(&self, class: u16, measure: Measure, year: i32, region: RegionIdx) -> Option<usize> {
        let offset = year - self.first_year;
        let class = usize::from(class);
        let region = usize::from(region);
        if offset < 0
            || offset as usize >= self.years
            || class >= self.classes
            || region >= self.regions
        {
            return None;
        }
        Some(
            ((class * Measure::ALL.len() + measure as usize) * self.years + offset as usize)
                * self.regions
                + region,
        )
    }

    /// The counts of the national items of `measure` in `year` decided by a case of `class` in
    /// `region`.
    pub(in crate::measures) fn get(
        &self,
        class: u16,
        measure: Measure,
        year: i32,
        region: RegionIdx,
    ) -> (u64, u64) {
        self.index(class, measure, year, region)
            .map_or((0, 0), |i| self.cells[i])
    }

    pub(in crate::measures) fn regions(&self) -> usize {
        self.regions
    }

    pub(in crate::measures) fn merge(mut self, other: ProgrammeTally) -> ProgrammeTally {
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self
    }
}

impl Count for ProgrammeTally {
    fn count(&mut self, measure: Measure, scope: Scope, year: i32, hit: bool) {
        // Only the national count has a deciding case; regional rows are the rates table's.
        let Scope::Country(decider) = scope else {
            return;
        };
        if let Some(i) = self.index(decider.class, measure, year, decider.region) {
            let cell = &mut self.cells[i];
            cell.0 += u64::from(hit);
            cell.1 += 1;
        }
    }
}

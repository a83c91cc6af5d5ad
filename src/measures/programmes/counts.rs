//! The unpublished counts behind the programme rows, as sums over the pass's cells: a group's
//! items (all, or those decided in one region), a region's rates-table row, and the items one
//! programme counts that another does not. Disclosure control asks these; nothing publishes them.

use super::super::catalogue::Measure;
use super::super::tally::Tally;
use super::{Group, ProgrammeTally};
use crate::config::Comparison;
use crate::model::RegionIdx;

/// (numerator, denominator); for `children_served` both are the count.
pub type Counts = (u64, u64);

/// The counts of every class, region and year, and of the rates table.
pub struct ProgrammeCounts {
    comparisons: Vec<Comparison>,
    tally: ProgrammeTally,
    rates: Tally,
    masks: Vec<u32>,
    /// Kept cases per class.
    class_cases: Vec<u64>,
}

fn add(a: Counts, b: Counts) -> Counts {
    (a.0 + b.0, a.1 + b.1)
}

impl ProgrammeCounts {
    pub(in crate::measures) fn new(
        comparisons: Vec<Comparison>,
        tally: ProgrammeTally,
        rates: Tally,
        masks: Vec<u32>,
        class_cases: Vec<u64>,
    ) -> ProgrammeCounts {
        ProgrammeCounts {
            comparisons,
            tally,
            rates,
            masks,
            class_cases,
        }
    }

    /// Whether a national item decided by a case of `class` in `region` is in `group` of
    /// `programme` (only the programme and comparison groups have items).
    fn in_group(&self, programme: usize, group: Group, class: usize, region: RegionIdx) -> bool {
        let member = self.masks[class] & (1 << programme) != 0;
        match group {
            Group::Programme => member,
            Group::Comparison => {
                !member
                    && match &self.comparisons[programme] {
                        Comparison::Rest => true,
                        Comparison::Regions(list) => list.contains(&region),
                    }
            }
            Group::Difference | Group::DifferenceInDifferences => false,
        }
    }

    /// Sum the cells of `measure` over `years` whose (class, region) passes `keep`.
    fn sum(
        &self,
        measure: Measure,
        years: &[i32],
        keep: impl Fn(usize, RegionIdx) -> bool,
    ) -> Counts {
        let mut total = (0, 0);
        for class in 0..self.masks.len() {
            for region in 0..self.tally.regions() as RegionIdx {
                if keep(class, region) {
                    for &year in years {
                        total = add(total, self.tally.get(class as u16, measure, year, region));
                    }
                }
            }
        }
        total
    }

    /// The items of `group`'s row of `measure` pooled over `years`: all of them, or (with
    /// `region`) those whose deciding case is in that region ("inside" it, SPEC §10).
    pub fn group(
        &self,
        programme: usize,
        group: Group,
        measure: Measure,
        years: &[i32],
        region: Option<RegionIdx>,
    ) -> Counts {
        self.sum(measure, years, |class, r| {
            region.is_none_or(|only| only == r) && self.in_group(programme, group, class, r)
        })
    }

    /// The regions in which `group`'s row of `measure` over `years` has items, by code order of
    /// their index.
    pub fn regions_counted(
        &self,
        programme: usize,
        group: Group,
        measure: Measure,
        years: &[i32],
    ) -> Vec<RegionIdx> {
        (0..self.tally.regions() as RegionIdx)
            .filter(|r| self.group(programme, group, measure, years, Some(*r)).1 > 0)
            .collect()
    }

    /// A region's row of the rates table (before suppression), pooled over `years`.
    pub fn region_row(&self, measure: Measure, region: RegionIdx, years: &[i32]) -> Counts {
        years.iter().fold((0, 0), |total, &year| {
            add(total, self.rates.get(measure, Some(region), year))
        })
    }

    /// Whether two programmes have a kept case in common.
    pub fn share_cases(&self, a: usize, b: usize) -> bool {
        let both = (1u32 << a) | (1u32 << b);
        self.masks
            .iter()
            .zip(&self.class_cases)
            .any(|(mask, cases)| mask & both == both && *cases > 0)
    }

    /// The items that programme `a`'s row of `measure` (pooling `years_a`) counts and programme
    /// `b`'s row (pooling `years_b`) does not.
    pub fn only_in(
        &self,
        a: usize,
        b: usize,
        measure: Measure,
        years_a: &[i32],
        years_b: &[i32],
    ) -> Counts {
        let (shared, own): (Vec<i32>, Vec<i32>) = years_a.iter().partition(|y| years_b.contains(y));
        let a_only =
            |class: usize| self.masks[class] & (1 << a) != 0 && self.masks[class] & (1 << b) == 0;
        let in_a = |class: usize| self.masks[class] & (1 << a) != 0;
        add(
            self.sum(measure, &own, |class, _| in_a(class)),
            self.sum(measure, &shared, |class, _| a_only(class)),
        )
    }

    /// Whether the comparison of `programme` is a list of regions (then the differencing rule
    /// also applies to the comparison's rows).
    pub fn comparison_is_regions(&self, programme: usize) -> bool {
        matches!(self.comparisons[programme], Comparison::Regions(_))
    }
}

//! SPEC §4's table, one function per measure, named like it and in the table's order; each
//! doc line quotes the table's denominator and numerator. The shared parts are `rules.rs`';
//! the walk that offers each case to each function is `pass.rs`'. Definitions only count.

use super::catalogue::Measure;
use super::rules::{CaseFacts, FOLLOW_UP_DAYS, Firsts, cohort_entry, count_case, count_first};
use super::tally::{Count, Decider, Scope};
use crate::config::SuccessSets;
use crate::dates;
use crate::model::{CaseType, Day, Outcome, RegionIdx};

/// `prevention_closed`. Denominator: prevention cases in R closed in Y, outcome not neutral.
/// Numerator: those with a prevention success outcome.
pub(super) fn prevention_closed(case: &CaseFacts, success: &SuccessSets, out: &mut impl Count) {
    if case.case_type != CaseType::Prevention {
        return;
    }
    if let Some((year, outcome)) = case.closed_not_neutral() {
        let hit = success.prevention.contains(&outcome);
        count_case(out, Measure::PreventionClosed, case, year, hit);
    }
}

/// `reintegration_closed`. Denominator: reintegration cases in R closed in Y, outcome not
/// neutral. Numerator: those with a reintegration success outcome.
pub(super) fn reintegration_closed(case: &CaseFacts, success: &SuccessSets, out: &mut impl Count) {
    if case.case_type != CaseType::Reintegration {
        return;
    }
    if let Some((year, outcome)) = case.closed_not_neutral() {
        let hit = success.reintegration.contains(&outcome);
        count_case(out, Measure::ReintegrationClosed, case, year, hit);
    }
}

/// `prevention_12m`. Denominator: children with a prevention case opened in Y in R, the first
/// such case per child (R, Y); the child leaves the cohort if that case's outcome is neutral.
/// Numerator: that case closed with a prevention success outcome at most 365 days after
/// opening.
pub(super) fn prevention_12m(
    case: &CaseFacts,
    cohort: &mut Firsts,
    success: &SuccessSets,
    out: &mut impl Count,
) {
    if case.case_type != CaseType::Prevention {
        return;
    }
    if let Some(first) = cohort_entry(case, cohort) {
        let good = case
            .outcome
            .is_some_and(|o| success.prevention.contains(&o));
        let hit = good && case.closed_within_follow_up();
        let measure = Measure::Prevention12m;
        count_first(out, measure, first, case.decider(), case.year_opened, hit);
    }
}

/// `reintegration_12m`. Denominator: the same for reintegration cases. Numerator: that case
/// closed `reunified` at most 365 days after opening (`reunified` only, even when
/// `[measures]` widens the success set, as SPEC §4 words it).
pub(super) fn reintegration_12m(case: &CaseFacts, cohort: &mut Firsts, out: &mut impl Count) {
    if case.case_type != CaseType::Reintegration {
        return;
    }
    if let Some(first) = cohort_entry(case, cohort) {
        let hit = case.outcome == Some(Outcome::Reunified) && case.closed_within_follow_up();
        let measure = Measure::Reintegration12m;
        count_first(out, measure, first, case.decider(), case.year_opened, hit);
    }
}

/// What `reintegration_sustained_12m` needs from all of a child's cases, in any region and
/// source: its reunifications and its re-entries.
#[derive(Default)]
pub(super) struct Reunifications {
    /// Each reunification: its day, its tie rank (SPEC §4's tie rule, which decides the
    /// national count's case when two close the same day) and the case as a decider.
    reunified: Vec<(Day, (u64, u32), RegionIdx, u16)>,
    reentries: Vec<Day>,
}

impl Reunifications {
    pub fn clear(&mut self) {
        self.reunified.clear();
        self.reentries.clear();
    }

    pub fn record(&mut self, case: &CaseFacts) {
        if let Some(day) = case.reentry_day() {
            self.reentries.push(day);
        }
        if let Some(day) = case.reunified_on() {
            self.reunified
                .push((day, case.tie_rank, case.region, case.class));
        }
    }

    /// Whether the child re-entered 1 to `FOLLOW_UP_DAYS` days after `day` (re-entries sorted).
    fn reentered_within_follow_up(&self, day: Day) -> bool {
        let next = self.reentries.partition_point(|e| *e < day + 1);
        self.reentries
            .get(next)
            .is_some_and(|e| *e <= day + FOLLOW_UP_DAYS)
    }
}

/// `reintegration_sustained_12m`, once a child's cases are recorded. Denominator: children
/// whose reintegration case in R closed `reunified` in Y, the first such case per child (R, Y)
/// (earliest closed; ties by case pseudonym, then source and line). Numerator: no re-entry 1
/// to 365 days after that closing date.
pub(super) fn reintegration_sustained_12m(child: &mut Reunifications, out: &mut impl Count) {
    if child.reunified.is_empty() {
        return;
    }
    child.reunified.sort_unstable();
    child.reentries.sort_unstable();
    let mut firsts = Firsts::new();
    for &(day, _, region, class) in &child.reunified {
        let year = dates::year_of(day);
        let first = firsts.visit(region, year);
        if first.anywhere() {
            let hit = !child.reentered_within_follow_up(day);
            let measure = Measure::ReintegrationSustained12m;
            count_first(out, measure, first, Decider { region, class }, year, hit);
        }
    }
}

/// `out_of_region_placement`. Denominator: cases in R with a known `placement_region`:
/// prevention cases closed in Y with a placement outcome, and reintegration cases opened in
/// Y. Numerator: placement_region ≠ R.
pub(super) fn out_of_region_placement(case: &CaseFacts, out: &mut impl Count) {
    let Some(placed) = case.placement_region else {
        return;
    };
    let year = match case.case_type {
        CaseType::Prevention => case.year_closed.filter(|_| case.is_prevention_placement()),
        CaseType::Reintegration => Some(case.year_opened),
    };
    if let Some(year) = year {
        let measure = Measure::OutOfRegionPlacement;
        count_case(out, measure, case, year, placed != case.region);
    }
}

/// What `children_served` needs from all of a child's cases: each year a case was open, with
/// the case's opening day and tie rank (the earliest-opened case open in the year decides the
/// national count, SPEC §10) and the case as a decider.
#[derive(Default)]
pub(super) struct YearsServed(Vec<YearServed>);

/// (year, opened, tie rank, region, programme class): sorted, a year's first is its decider.
type YearServed = (i32, Day, (u64, u32), RegionIdx, u16);

impl YearsServed {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn record(&mut self, case: &CaseFacts, last_year: i32) {
        for year in case.years_open(last_year) {
            self.0
                .push((year, case.opened, case.tie_rank, case.region, case.class));
        }
    }
}

/// `children_served`, once a child's cases are recorded. No denominator. Numerator (the
/// count): distinct children with a case open at any time in Y, so the child counts once per
/// (R, Y) and once per (country, Y), the latter decided by its earliest-opened case open in Y.
pub(super) fn children_served(child: &mut YearsServed, out: &mut impl Count) {
    child.0.sort_unstable();
    let mut previous_year = None;
    // The regions (a bit each; there are 28) already counted in the current year.
    let mut regions_counted = 0u32;
    for &(year, _, _, region, class) in &child.0 {
        if previous_year != Some(year) {
            out.count(
                Measure::ChildrenServed,
                Scope::Country(Decider { region, class }),
                year,
                true,
            );
            previous_year = Some(year);
            regions_counted = 0;
        }
        let bit = 1u32 << (region % 32);
        if regions_counted & bit == 0 {
            out.count(Measure::ChildrenServed, Scope::Region(region), year, true);
            regions_counted |= bit;
        }
    }
}

//! The seven measures of SPEC §4. Deduplication leaves the cases sorted by child, so every
//! definition is a walk over one child's cases at a time (first case per region and year,
//! re-entry after a reunification, years open), counted into a table of (measure, region,
//! year) cells; runs of children are counted in parallel. `tally_child` holds the whole of
//! SPEC §4's table, one commented block per measure.
//!
//! National rows are counted from the cases alongside the regional ones (a child's first case
//! in the country is not the sum of its first cases per region), never by summing regions.
//! Rates get a 95% Wilson score interval here; suppression is a separate stage (`disclosure`).

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::config::SuccessSets;
use crate::dates;
use crate::link::LinkCase;
use crate::model::{CaseType, Day, Outcome, RegionIdx};
use crate::reference;

/// The follow-up window of the 12-month measures, in days.
pub const FOLLOW_UP_DAYS: i32 = 365;

/// The measures, in the order of SPEC §4's table (and of `rates.parquet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    PreventionClosed,
    ReintegrationClosed,
    Prevention12m,
    Reintegration12m,
    ReintegrationSustained12m,
    OutOfRegionPlacement,
    ChildrenServed,
}

impl Measure {
    pub const ALL: [Measure; 7] = [
        Measure::PreventionClosed,
        Measure::ReintegrationClosed,
        Measure::Prevention12m,
        Measure::Reintegration12m,
        Measure::ReintegrationSustained12m,
        Measure::OutOfRegionPlacement,
        Measure::ChildrenServed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Measure::PreventionClosed => "prevention_closed",
            Measure::ReintegrationClosed => "reintegration_closed",
            Measure::Prevention12m => "prevention_12m",
            Measure::Reintegration12m => "reintegration_12m",
            Measure::ReintegrationSustained12m => "reintegration_sustained_12m",
            Measure::OutOfRegionPlacement => "out_of_region_placement",
            Measure::ChildrenServed => "children_served",
        }
    }

    /// Entry-cohort measures: a year is complete only a full year after it ends.
    pub fn is_cohort(self) -> bool {
        matches!(
            self,
            Measure::Prevention12m | Measure::Reintegration12m | Measure::ReintegrationSustained12m
        )
    }

    /// Whether the measure is a count rather than a rate.
    pub fn is_count(self) -> bool {
        self == Measure::ChildrenServed
    }
}

/// The status of a row of the rates table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    SuppressedPrimary,
    SuppressedSecondary,
    Incomplete,
    NoData,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::SuppressedPrimary => "suppressed_primary",
            Status::SuppressedSecondary => "suppressed_secondary",
            Status::Incomplete => "incomplete",
            Status::NoData => "no_data",
        }
    }
}

/// One row of the rates table: a measure for one region (`None`: Bulgaria) and year.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    pub measure: Measure,
    pub region: Option<RegionIdx>,
    pub year: i32,
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
    pub rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub status: Status,
}

impl RateRow {
    /// The region code, `BG` for the country.
    pub fn region_code(&self) -> &'static str {
        match self.region {
            None => "BG",
            Some(r) => reference::oblasts()[r as usize].code.as_str(),
        }
    }

    /// Drop counts, rate and interval (suppressed or incomplete rows).
    pub fn withhold(&mut self, status: Status) {
        self.numerator = None;
        self.denominator = None;
        self.rate = None;
        self.ci_low = None;
        self.ci_high = None;
        self.status = status;
    }
}

/// The 95% Wilson score interval of `x` successes in `n` trials.
pub fn wilson_interval(x: u64, n: u64) -> (f64, f64) {
    const Z: f64 = 1.959_963_984_540_054;
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = x as f64 / n;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Whether cohort year `year` is complete at `as_of`: `as_of ≥ 31 December of year + 1`.
pub fn cohort_complete(year: i32, as_of: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(year + 1, 12, 31).is_some_and(|end| as_of >= end)
}

/// Counts per (measure, region slot, year): the last slot is the whole country.
struct Tally {
    first_year: i32,
    years: usize,
    slots: usize,
    /// (numerator, denominator) per cell.
    cells: Vec<(u64, u64)>,
}

impl Tally {
    fn new(first_year: i32, last_year: i32, regions: usize) -> Tally {
        let years = (last_year - first_year + 1).max(0) as usize;
        let slots = regions + 1;
        Tally {
            first_year,
            years,
            slots,
            cells: vec![(0, 0); Measure::ALL.len() * slots * years],
        }
    }

    fn national(&self) -> usize {
        self.slots - 1
    }

    /// Count one member of a denominator (for `children_served`: one child) in a region and
    /// in the country.
    fn add(&mut self, measure: Measure, region: RegionIdx, year: i32, hit: bool) {
        self.add_slot(measure, usize::from(region), year, hit);
        self.add_slot(measure, self.national(), year, hit);
    }

    fn add_slot(&mut self, measure: Measure, slot: usize, year: i32, hit: bool) {
        let offset = year - self.first_year;
        if offset < 0 || offset as usize >= self.years || slot >= self.slots {
            return;
        }
        let i = (measure as usize * self.slots + slot) * self.years + offset as usize;
        let cell = &mut self.cells[i];
        cell.0 += u64::from(hit);
        cell.1 += 1;
    }

    fn get(&self, measure: Measure, slot: usize, year: i32) -> (u64, u64) {
        let offset = (year - self.first_year) as usize;
        self.cells[(measure as usize * self.slots + slot) * self.years + offset]
    }

    fn merge(mut self, other: Tally) -> Tally {
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self
    }
}

/// First-per-year bookkeeping over cases visited in date order: which regions (a bit each) and
/// whether the country has had its first case in the current year.
struct Firsts {
    year: i32,
    regions: u32,
    national: bool,
}

impl Firsts {
    fn new() -> Firsts {
        Firsts {
            year: i32::MIN,
            regions: 0,
            national: false,
        }
    }

    /// Whether a case in `region` and `year` is the first of its (region, year) and of its
    /// (country, year); marks both as seen.
    fn visit(&mut self, region: RegionIdx, year: i32) -> (bool, bool) {
        if year != self.year {
            *self = Firsts {
                year,
                regions: 0,
                national: false,
            };
        }
        let bit = 1u32 << (region % 32);
        let first_in_region = self.regions & bit == 0;
        let first_in_country = !self.national;
        self.regions |= bit;
        self.national = true;
        (first_in_region, first_in_country)
    }
}

/// Work space reused from child to child.
#[derive(Default)]
struct Scratch {
    reunifications: Vec<(Day, RegionIdx)>,
    reentries: Vec<Day>,
    open_years: Vec<(i32, RegionIdx)>,
}

/// Everything one child's cases (sorted by case type, then opened) add to the tally.
fn tally_child(
    cases: &[LinkCase],
    success: &SuccessSets,
    last_year: i32,
    tally: &mut Tally,
    scratch: &mut Scratch,
) {
    let national = tally.national();
    let mut cohort = [Firsts::new(), Firsts::new()];
    scratch.reunifications.clear();
    scratch.reentries.clear();
    scratch.open_years.clear();
    for c in cases {
        let prevention = c.case_type == CaseType::Prevention;
        // Outcome is present exactly when the case is closed (ingest guarantees it).
        let closed = c.closed();
        let outcome = c.outcome.filter(|_| closed.is_some());
        let successes = if prevention {
            &success.prevention
        } else {
            &success.reintegration
        };
        let year_opened = dates::year_of(c.opened);
        let year_closed = closed.map(dates::year_of);

        // prevention_closed / reintegration_closed: closed in Y, outcome not neutral.
        if let (Some(y), Some(o)) = (year_closed, outcome)
            && !o.is_neutral()
        {
            let measure = if prevention {
                Measure::PreventionClosed
            } else {
                Measure::ReintegrationClosed
            };
            tally.add(measure, c.region, y, successes.contains(&o));
        }

        // prevention_12m / reintegration_12m: the first case of the type per (R, Y opened);
        // cases of one type come in `opened` order. A neutral first case leaves the cohort.
        let (first_in_region, first_in_country) =
            cohort[usize::from(!prevention)].visit(c.region, year_opened);
        if (first_in_region || first_in_country) && !outcome.is_some_and(Outcome::is_neutral) {
            let good = if prevention {
                outcome.is_some_and(|o| successes.contains(&o))
            } else {
                outcome == Some(Outcome::Reunified)
            };
            let within = closed.is_some_and(|d| d - c.opened <= FOLLOW_UP_DAYS);
            let measure = if prevention {
                Measure::Prevention12m
            } else {
                Measure::Reintegration12m
            };
            if first_in_region {
                tally.add_slot(measure, usize::from(c.region), year_opened, good && within);
            }
            if first_in_country {
                tally.add_slot(measure, national, year_opened, good && within);
            }
        }

        // Re-entry events for reintegration_sustained_12m, in any region.
        let placement = prevention && outcome.is_some_and(Outcome::is_placement);
        if !prevention {
            scratch.reentries.push(c.opened);
        } else if let (true, Some(d)) = (placement, closed) {
            scratch.reentries.push(d);
        }
        if let (false, Some(Outcome::Reunified), Some(d)) = (prevention, outcome, closed) {
            scratch.reunifications.push((d, c.region));
        }

        // out_of_region_placement: prevention cases closed with a placement (by year closed)
        // and reintegration cases (by year opened), with a known placement region.
        if let Some(placed) = c.placement_region() {
            let year = if prevention {
                year_closed
            } else {
                Some(year_opened)
            };
            if let (true, Some(y)) = (placement || !prevention, year) {
                tally.add(
                    Measure::OutOfRegionPlacement,
                    c.region,
                    y,
                    placed != c.region,
                );
            }
        }

        // children_served: every year the case was open.
        let last = year_closed.unwrap_or(last_year);
        for y in year_opened..=last {
            scratch.open_years.push((y, c.region));
        }
    }

    // reintegration_sustained_12m: per (R, Y closed) the earliest-closed reunification; it is
    // sustained without a re-entry 1 to 365 days after. Cases closed the same day share the
    // answer, so ties need no breaking here.
    if !scratch.reunifications.is_empty() {
        scratch.reunifications.sort_unstable();
        scratch.reentries.sort_unstable();
        let mut firsts = Firsts::new();
        for &(d, region) in &scratch.reunifications {
            let (first_in_region, first_in_country) = firsts.visit(region, dates::year_of(d));
            if !(first_in_region || first_in_country) {
                continue;
            }
            let next = scratch.reentries.partition_point(|e| *e < d + 1);
            let reentered = scratch
                .reentries
                .get(next)
                .is_some_and(|e| *e <= d + FOLLOW_UP_DAYS);
            let year = dates::year_of(d);
            if first_in_region {
                tally.add_slot(
                    Measure::ReintegrationSustained12m,
                    usize::from(region),
                    year,
                    !reentered,
                );
            }
            if first_in_country {
                tally.add_slot(
                    Measure::ReintegrationSustained12m,
                    national,
                    year,
                    !reentered,
                );
            }
        }
    }

    // children_served: the child once per (R, Y) and once per (country, Y).
    scratch.open_years.sort_unstable();
    scratch.open_years.dedup();
    let mut previous_year = None;
    for &(y, region) in &scratch.open_years {
        tally.add_slot(Measure::ChildrenServed, usize::from(region), y, true);
        if previous_year != Some(y) {
            tally.add_slot(Measure::ChildrenServed, national, y, true);
            previous_year = Some(y);
        }
    }
}

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
    let as_of_date = dates::from_day(as_of);
    let regions = reference::oblasts().len();

    // Cut the cases into runs of whole children and tally the runs in parallel.
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
    let tally = bounds
        .par_windows(2)
        .map(|w| {
            let mut tally = Tally::new(first_year, last_year, regions);
            let mut scratch = Scratch::default();
            for child in cases[w[0]..w[1]].chunk_by(|a, b| a.child == b.child) {
                tally_child(child, success, last_year, &mut tally, &mut scratch);
            }
            tally
        })
        .reduce(|| Tally::new(first_year, last_year, regions), Tally::merge);

    let mut present = vec![false; regions];
    for c in cases {
        present[usize::from(c.region)] = true;
    }
    let mut region_rows: Vec<Option<RegionIdx>> = (0..regions as RegionIdx)
        .filter(|r| present[usize::from(*r)])
        .map(Some)
        .collect();
    region_rows.sort_by_key(|r| r.map(|r| reference::oblasts()[r as usize].code.as_str()));
    region_rows.insert(0, None);

    let mut rows = Vec::new();
    for measure in Measure::ALL {
        for region in &region_rows {
            let slot = region.map_or(tally.national(), usize::from);
            for year in first_year..=last_year {
                let (numerator, denominator) = tally.get(measure, slot, year);
                rows.push(make_row(
                    measure,
                    *region,
                    year,
                    Some(numerator),
                    Some(denominator),
                    as_of_date,
                ));
            }
        }
    }
    rows
}

fn make_row(
    measure: Measure,
    region: Option<RegionIdx>,
    year: i32,
    numerator: Option<u64>,
    denominator: Option<u64>,
    as_of: NaiveDate,
) -> RateRow {
    let mut row = RateRow {
        measure,
        region,
        year,
        numerator: numerator.or(Some(0)),
        denominator: if measure.is_count() {
            None
        } else {
            denominator.or(Some(0))
        },
        rate: None,
        ci_low: None,
        ci_high: None,
        status: Status::Ok,
    };
    if measure.is_cohort() && !cohort_complete(year, as_of) {
        row.withhold(Status::Incomplete);
        return row;
    }
    let size = if measure.is_count() {
        row.numerator
    } else {
        row.denominator
    };
    if size.unwrap_or(0) == 0 {
        row.status = Status::NoData;
        return row;
    }
    if let (Some(x), Some(n)) = (row.numerator, row.denominator) {
        let (lo, hi) = wilson_interval(x, n);
        row.rate = Some(x as f64 / n as f64);
        row.ci_low = Some(lo);
        row.ci_high = Some(hi);
    }
    row
}

#[cfg(test)]
mod tests {
    //! Hand-computed fixtures: each test builds a handful of cases whose expected counts can be
    //! checked against SPEC §4 with pencil and paper.
    use super::*;
    use crate::model::{Case, Outcome::*, Pseudonym};

    fn day(s: &str) -> Day {
        dates::to_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn region(code: &str) -> RegionIdx {
        reference::region_by_code(code).unwrap()
    }

    fn child(n: u8) -> Pseudonym {
        [n; 16]
    }

    /// The compact cases the measures read, sorted as deduplication leaves them.
    fn links(cases: &[Case]) -> Vec<LinkCase> {
        let mut links: Vec<LinkCase> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| LinkCase::new(c, i as u32))
            .collect();
        links.sort_by_key(|c| (c.child, c.case_type, c.opened));
        links
    }

    struct Fixture(Vec<Case>);

    impl Fixture {
        fn new() -> Self {
            Fixture(Vec::new())
        }

        fn add(
            &mut self,
            who: u8,
            at: &str,
            case_type: CaseType,
            opened: &str,
            closed: Option<&str>,
            outcome: Option<Outcome>,
        ) -> &mut Case {
            self.0.push(Case {
                child: child(who),
                family: None,
                case: None,
                region: region(at),
                municipality: None,
                office: 0,
                case_type,
                opened: day(opened),
                closed: closed.map(day),
                outcome,
                placement_type: None,
                placement_region: None,
                birth_year: None,
                sex: None,
                file: 0,
                line: self.0.len() as u64 + 2,
            });
            self.0.last_mut().unwrap()
        }

        fn prevention(
            &mut self,
            who: u8,
            at: &str,
            opened: &str,
            closed: Option<&str>,
            outcome: Option<Outcome>,
        ) -> &mut Case {
            self.add(who, at, CaseType::Prevention, opened, closed, outcome)
        }

        fn reintegration(
            &mut self,
            who: u8,
            at: &str,
            opened: &str,
            closed: Option<&str>,
            outcome: Option<Outcome>,
        ) -> &mut Case {
            self.add(who, at, CaseType::Reintegration, opened, closed, outcome)
        }

        fn rates(&self, as_of: &str) -> Vec<RateRow> {
            self.rates_with(as_of, &SuccessSets::default())
        }

        fn rates_with(&self, as_of: &str, success: &SuccessSets) -> Vec<RateRow> {
            let mut cases = self.0.clone();
            cases.sort_by_key(|c| (c.child, c.case_type, c.opened));
            compute(&links(&cases), success, day(as_of))
        }
    }

    fn find<'a>(rows: &'a [RateRow], m: Measure, region_code: &str, year: i32) -> &'a RateRow {
        rows.iter()
            .find(|r| r.measure == m && r.region_code() == region_code && r.year == year)
            .unwrap_or_else(|| panic!("no row {m:?} {region_code} {year}"))
    }

    fn counts(row: &RateRow) -> (Option<u64>, Option<u64>, Status) {
        (row.numerator, row.denominator, row.status)
    }

    #[test]
    fn wilson_matches_an_independent_computation() {
        let close =
            |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6;
        assert!(close(wilson_interval(0, 10), (0.0, 0.277533)));
        assert!(close(wilson_interval(5, 10), (0.236593, 0.763407)));
        assert!(close(wilson_interval(10, 10), (0.722467, 1.0)));
        assert!(close(wilson_interval(2706, 3442), (0.772158, 0.799545)));
    }

    #[test]
    fn closed_measures_count_non_neutral_closings_by_closing_year() {
        let mut f = Fixture::new();
        for who in 1..=3 {
            f.prevention(
                who,
                "VAR",
                "2022-05-01",
                Some("2023-02-01"),
                Some(StayedWithFamily),
            );
        }
        f.prevention(4, "VAR", "2023-01-01", Some("2023-03-01"), Some(FosterCare));
        f.prevention(
            5,
            "VAR",
            "2023-01-01",
            Some("2023-03-01"),
            Some(Transferred),
        );
        f.prevention(6, "VAR", "2023-01-01", None, None);
        f.reintegration(7, "VAR", "2021-01-01", Some("2023-06-30"), Some(Reunified));
        f.reintegration(
            8,
            "VAR",
            "2023-01-01",
            Some("2023-06-30"),
            Some(RemainedInCare),
        );
        let rows = f.rates("2025-06-30");
        assert_eq!(
            counts(find(&rows, Measure::PreventionClosed, "VAR", 2023)),
            (Some(3), Some(4), Status::Ok)
        );
        assert_eq!(
            counts(find(&rows, Measure::PreventionClosed, "VAR", 2022)),
            (Some(0), Some(0), Status::NoData)
        );
        assert_eq!(
            counts(find(&rows, Measure::ReintegrationClosed, "VAR", 2023)),
            (Some(1), Some(2), Status::Ok)
        );
        assert_eq!(
            counts(find(&rows, Measure::PreventionClosed, "BG", 2023)),
            (Some(3), Some(4), Status::Ok)
        );
        let row = find(&rows, Measure::PreventionClosed, "VAR", 2023);
        assert_eq!(row.rate, Some(0.75));
        assert!(row.ci_low.unwrap() < 0.75 && row.ci_high.unwrap() > 0.75);
    }

    #[test]
    fn a_widened_success_set_counts_the_extra_outcome() {
        let mut f = Fixture::new();
        f.reintegration(1, "VAR", "2023-01-01", Some("2023-06-30"), Some(Reunified));
        f.reintegration(
            2,
            "VAR",
            "2023-01-01",
            Some("2023-06-30"),
            Some(KinshipCare),
        );
        f.reintegration(3, "VAR", "2023-01-01", Some("2023-06-30"), Some(FosterCare));
        let widened = SuccessSets {
            prevention: vec![StayedWithFamily],
            reintegration: vec![Reunified, KinshipCare],
        };
        let rows = f.rates_with("2025-06-30", &widened);
        assert_eq!(
            counts(find(&rows, Measure::ReintegrationClosed, "VAR", 2023)),
            (Some(2), Some(3), Status::Ok)
        );
        // reintegration_12m counts `reunified` only, as SPEC §4 words it.
        assert_eq!(
            counts(find(&rows, Measure::Reintegration12m, "VAR", 2023)),
            (Some(1), Some(3), Status::Ok)
        );
    }

    #[test]
    fn entry_cohorts_use_a_365_day_window_and_drop_neutral_first_cases() {
        let mut f = Fixture::new();
        // 2022-03-01 + 365 days = 2023-03-01; + 366 = 2023-03-02.
        f.prevention(
            1,
            "VAR",
            "2022-03-01",
            Some("2023-03-01"),
            Some(StayedWithFamily),
        ); // day 365: success
        f.prevention(
            2,
            "VAR",
            "2022-03-01",
            Some("2023-03-02"),
            Some(StayedWithFamily),
        ); // day 366: not
        f.prevention(3, "VAR", "2022-03-01", Some("2022-04-01"), Some(Other)); // neutral: leaves the cohort
        f.prevention(4, "VAR", "2022-03-01", None, None); // still open: in, not a success
        // Two cases of one child in one year: only the first counts.
        f.prevention(5, "VAR", "2022-02-01", Some("2022-05-01"), Some(FosterCare));
        f.prevention(
            5,
            "VAR",
            "2022-06-01",
            Some("2022-07-01"),
            Some(StayedWithFamily),
        );
        let rows = f.rates("2023-12-31");
        assert_eq!(
            counts(find(&rows, Measure::Prevention12m, "VAR", 2022)),
            (Some(1), Some(4), Status::Ok)
        );
        assert_eq!(
            counts(find(&rows, Measure::Prevention12m, "BG", 2022)),
            (Some(1), Some(4), Status::Ok)
        );
    }

    #[test]
    fn cohort_years_are_incomplete_until_the_end_of_the_next_year() {
        let mut f = Fixture::new();
        for who in 1..=10 {
            f.prevention(
                who,
                "VAR",
                "2022-03-01",
                Some("2022-06-01"),
                Some(StayedWithFamily),
            );
        }
        let early = f.rates("2023-12-30");
        let row = find(&early, Measure::Prevention12m, "VAR", 2022);
        assert_eq!(counts(row), (None, None, Status::Incomplete));
        assert_eq!(row.rate, None);
        // Closed-case measures have no completeness rule.
        assert_eq!(
            find(&early, Measure::PreventionClosed, "VAR", 2022).status,
            Status::Ok
        );
        let on_time = f.rates("2023-12-31");
        assert_eq!(
            counts(find(&on_time, Measure::Prevention12m, "VAR", 2022)),
            (Some(10), Some(10), Status::Ok)
        );
        assert!(cohort_complete(
            2022,
            NaiveDate::from_ymd_opt(2023, 12, 31).unwrap()
        ));
        assert!(!cohort_complete(
            2022,
            NaiveDate::from_ymd_opt(2023, 12, 30).unwrap()
        ));
    }

    #[test]
    fn reunifications_are_sustained_without_reentry_in_days_1_to_365_anywhere() {
        let mut f = Fixture::new();
        let reunified_on = "2022-06-01";
        for who in 1..=4 {
            f.reintegration(
                who,
                "VAR",
                "2021-06-01",
                Some(reunified_on),
                Some(Reunified),
            );
        }
        // 1: re-enters on day 1, in another region (another office's export).
        f.reintegration(1, "SOF", "2022-06-02", None, None).file = 1;
        // 2: placed by a prevention case closed on day 365.
        f.prevention(2, "VAR", "2022-09-01", Some("2023-06-01"), Some(FosterCare));
        // 3: re-enters on day 366: sustained.
        f.reintegration(3, "VAR", "2023-06-02", None, None);
        // 4: a case opened on day 0 is not a re-entry (1 to 365 days after): sustained.
        f.prevention(
            4,
            "VAR",
            "2022-06-01",
            Some("2022-06-01"),
            Some(StayedWithFamily),
        );
        let rows = f.rates("2024-01-01");
        assert_eq!(
            counts(find(&rows, Measure::ReintegrationSustained12m, "VAR", 2022)),
            (Some(2), Some(4), Status::Ok)
        );
        assert_eq!(
            counts(find(&rows, Measure::ReintegrationSustained12m, "BG", 2022)),
            (Some(2), Some(4), Status::Ok)
        );
    }

    #[test]
    fn out_of_region_placement_compares_with_the_cases_own_region() {
        let mut f = Fixture::new();
        f.prevention(1, "VAR", "2023-01-01", Some("2023-05-01"), Some(FosterCare))
            .placement_region = Some(region("SOF"));
        f.prevention(
            2,
            "VAR",
            "2023-01-01",
            Some("2023-05-01"),
            Some(Institution),
        )
        .placement_region = Some(region("VAR"));
        // Not a placement outcome: not in the denominator.
        f.prevention(
            3,
            "VAR",
            "2023-01-01",
            Some("2023-05-01"),
            Some(StayedWithFamily),
        )
        .placement_region = Some(region("SOF"));
        // Placement region unknown: not in the denominator.
        f.prevention(4, "VAR", "2023-01-01", Some("2023-05-01"), Some(FosterCare));
        // Reintegration cases count by the year they opened.
        f.reintegration(5, "SOF", "2023-02-01", None, None)
            .placement_region = Some(region("PDV"));
        let rows = f.rates("2025-01-01");
        assert_eq!(
            counts(find(&rows, Measure::OutOfRegionPlacement, "VAR", 2023)),
            (Some(1), Some(2), Status::Ok)
        );
        assert_eq!(
            counts(find(&rows, Measure::OutOfRegionPlacement, "SOF", 2023)),
            (Some(1), Some(1), Status::Ok)
        );
        assert_eq!(
            counts(find(&rows, Measure::OutOfRegionPlacement, "BG", 2023)),
            (Some(2), Some(3), Status::Ok),
            "national rows compare each case with its own region, not with BG"
        );
    }

    #[test]
    fn children_served_counts_each_child_once_per_year_open() {
        let mut f = Fixture::new();
        f.prevention(
            1,
            "VAR",
            "2021-11-01",
            Some("2023-01-15"),
            Some(StayedWithFamily),
        );
        f.prevention(
            2,
            "VAR",
            "2022-01-01",
            Some("2022-02-01"),
            Some(StayedWithFamily),
        );
        f.reintegration(2, "VAR", "2022-03-01", None, None);
        f.prevention(3, "SOF", "2022-05-01", None, None);
        let rows = f.rates("2024-06-30");
        let served =
            |region: &str, year: i32| counts(find(&rows, Measure::ChildrenServed, region, year));
        assert_eq!(served("VAR", 2021), (Some(1), None, Status::Ok));
        assert_eq!(served("VAR", 2022), (Some(2), None, Status::Ok));
        assert_eq!(
            served("VAR", 2023),
            (Some(2), None, Status::Ok),
            "child 2's open case runs on"
        );
        assert_eq!(served("SOF", 2021), (Some(0), None, Status::NoData));
        assert_eq!(served("BG", 2022), (Some(3), None, Status::Ok));
        assert_eq!(find(&rows, Measure::ChildrenServed, "BG", 2022).rate, None);
    }

    #[test]
    fn the_table_has_every_measure_region_and_year_in_a_fixed_order() {
        let mut f = Fixture::new();
        f.prevention(
            1,
            "VAR",
            "2020-11-01",
            Some("2022-01-15"),
            Some(StayedWithFamily),
        );
        f.prevention(2, "BGS", "2021-01-01", None, None);
        let rows = f.rates("2024-06-30");
        // 7 measures × (BG, BGS, VAR) × 2020..=2022.
        assert_eq!(rows.len(), 7 * 3 * 3);
        let keys: Vec<(Measure, &str, i32)> = rows
            .iter()
            .map(|r| (r.measure, r.region_code(), r.year))
            .collect();
        assert_eq!(keys[0], (Measure::PreventionClosed, "BG", 2020));
        assert_eq!(keys[3], (Measure::PreventionClosed, "BGS", 2020));
        assert_eq!(keys[6], (Measure::PreventionClosed, "VAR", 2020));
        let mut sorted = keys.clone();
        sorted.sort_by_key(|(m, r, y)| (*m, *r != "BG", *r, *y));
        assert_eq!(keys, sorted);
        assert!(compute(&[], &SuccessSets::default(), day("2024-01-01")).is_empty());
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        fn arbitrary_cases() -> impl Strategy<Value = Vec<Case>> {
            // Each child lives in one region (child id mod 4 picks it).
            let outcomes = prop_oneof![
                Just(None),
                Just(Some(StayedWithFamily)),
                Just(Some(Reunified)),
                Just(Some(FosterCare)),
                Just(Some(RemainedInCare)),
                Just(Some(Transferred)),
            ];
            proptest::collection::vec(
                (0u8..40, any::<bool>(), 0i32..1500, 0i32..500, outcomes),
                1..120,
            )
            .prop_map(|raw| {
                let regions = ["VAR", "SOF", "PDV", "DOB"];
                let mut cases: Vec<Case> = raw
                    .into_iter()
                    .map(|(who, prevention, start, length, outcome)| {
                        let case_type = if prevention {
                            CaseType::Prevention
                        } else {
                            CaseType::Reintegration
                        };
                        let outcome = outcome.filter(|o| o.applies_to(case_type));
                        let opened = day("2019-01-01") + start;
                        Case {
                            child: child(who),
                            family: None,
                            case: None,
                            region: region(regions[usize::from(who % 4)]),
                            municipality: None,
                            office: 0,
                            case_type,
                            opened,
                            closed: outcome.map(|_| opened + length),
                            outcome,
                            placement_type: None,
                            placement_region: None,
                            birth_year: None,
                            sex: None,
                            file: 0,
                            line: 0,
                        }
                    })
                    .collect();
                cases.sort_by_key(|c| (c.child, c.case_type, c.opened));
                cases.dedup_by_key(|c| (c.child, c.case_type, c.opened));
                cases
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn national_counts_are_regional_sums_when_no_child_moves(cases in arbitrary_cases()) {
                let rows = compute(&links(&cases), &SuccessSets::default(), day("2026-01-01"));
                for m in [Measure::PreventionClosed, Measure::ReintegrationClosed, Measure::Prevention12m, Measure::Reintegration12m] {
                    let years: std::collections::BTreeSet<i32> = rows.iter().map(|r| r.year).collect();
                    for y in years {
                        let national = find(&rows, m, "BG", y);
                        let regional: Vec<&RateRow> = rows.iter().filter(|r| r.measure == m && r.year == y && r.region.is_some()).collect();
                        let sum = |f: fn(&RateRow) -> Option<u64>| regional.iter().map(|r| f(r).unwrap_or(0)).sum::<u64>();
                        prop_assert_eq!(national.numerator.unwrap_or(0), sum(|r| r.numerator));
                        prop_assert_eq!(national.denominator.unwrap_or(0), sum(|r| r.denominator));
                    }
                }
            }
        }
    }
}

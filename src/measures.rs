//! The seven measures of SPEC §4, one function each, written in polars' lazy API so each body
//! can be held against the definitions table line by line. Case-level facts (is it a success,
//! a placement, out of region) are computed once from the vocabulary when the frame is built;
//! the measures only filter, pick first cases, join and count.
//!
//! National rows come from the same functions run on the cases relabelled to one region, `BG`:
//! computed from cases, never by summing regions. Rates get a 95% Wilson score interval here;
//! suppression is a separate stage (`disclosure`).

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::SuccessSets;
use crate::dates;
use crate::model::{Case, CaseType, Day, Outcome, RegionIdx};
use crate::reference;

/// The follow-up window of the 12-month measures, in days.
pub const FOLLOW_UP_DAYS: i32 = 365;

/// The region number that stands for the whole country inside the measure frames.
const NATIONAL: i32 = -1;

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

/// The case frame the measures read: one row per deduplicated case, with the case-level facts
/// the definitions use.
/// A dense number per child (pseudonyms are 16 bytes; joins and distinct counts want 4).
fn dense_child_ids(cases: &[Case]) -> Vec<u32> {
    let mut dense = HashMap::with_capacity(cases.len() / 2);
    cases
        .iter()
        .map(|c| {
            let next = dense.len() as u32;
            *dense.entry(c.child).or_insert(next)
        })
        .collect()
}

fn case_frame(cases: &[Case], child_ids: &[u32], success: &SuccessSets) -> PolarsResult<DataFrame> {
    let n = cases.len();
    let mut region = Vec::with_capacity(n);
    let mut is_prevention = Vec::with_capacity(n);
    let mut opened = Vec::with_capacity(n);
    let mut closed = Vec::with_capacity(n);
    let mut year_opened = Vec::with_capacity(n);
    let mut year_closed = Vec::with_capacity(n);
    let mut is_success = Vec::with_capacity(n);
    let mut is_reunified = Vec::with_capacity(n);
    let mut is_neutral = Vec::with_capacity(n);
    let mut is_placement = Vec::with_capacity(n);
    let mut out_of_region: Vec<Option<bool>> = Vec::with_capacity(n);
    for c in cases {
        region.push(i32::from(c.region));
        let prevention = c.case_type == CaseType::Prevention;
        is_prevention.push(prevention);
        opened.push(c.opened);
        closed.push(c.closed);
        year_opened.push(dates::year_of(c.opened));
        year_closed.push(c.closed.map(dates::year_of));
        // Outcome is present exactly when the case is closed (ingest guarantees it).
        let outcome = c.outcome.filter(|_| c.closed.is_some());
        let set = if prevention {
            &success.prevention
        } else {
            &success.reintegration
        };
        is_success.push(outcome.is_some_and(|o| set.contains(&o)));
        is_reunified.push(outcome == Some(Outcome::Reunified));
        is_neutral.push(outcome.is_some_and(Outcome::is_neutral));
        is_placement.push(prevention && outcome.is_some_and(Outcome::is_placement));
        out_of_region.push(c.placement_region.map(|p| p != c.region));
    }
    DataFrame::new(
        n,
        vec![
            Column::new("child".into(), child_ids.to_vec()),
            Column::new("region".into(), region),
            Column::new("is_prevention".into(), is_prevention),
            Column::new("opened".into(), opened),
            Column::new("closed".into(), closed),
            Column::new("year_opened".into(), year_opened),
            Column::new("year_closed".into(), year_closed),
            Column::new("is_success".into(), is_success),
            Column::new("is_reunified".into(), is_reunified),
            Column::new("is_neutral".into(), is_neutral),
            Column::new("is_placement".into(), is_placement),
            Column::new("out_of_region".into(), out_of_region),
        ],
    )
}

/// Counts per (region, year): `numerator` of `denominator` rows, where `hit` marks the
/// numerator rows. The shape every measure ends in.
fn count_by_region_year(rows: LazyFrame, year: &str, hit: Expr) -> LazyFrame {
    rows.group_by([col("region"), col(year).alias("year")])
        .agg([
            hit.cast(DataType::Int64).sum().alias("numerator"),
            len().cast(DataType::Int64).alias("denominator"),
        ])
}

fn of_type(prevention: bool) -> Expr {
    col("is_prevention").eq(lit(prevention))
}

fn closed_within_follow_up() -> Expr {
    col("closed")
        .is_not_null()
        .and((col("closed") - col("opened")).lt_eq(lit(FOLLOW_UP_DAYS)))
}

/// `prevention_closed` / `reintegration_closed`: cases closed in Y with a non-neutral outcome;
/// the numerator those with a success outcome.
fn closed_cases(cases: LazyFrame, prevention: bool) -> LazyFrame {
    let closed_not_neutral = cases.filter(
        of_type(prevention)
            .and(col("closed").is_not_null())
            .and(col("is_neutral").not()),
    );
    count_by_region_year(closed_not_neutral, "year_closed", col("is_success"))
}

/// The first case per child, region and year of `year` (earliest `day`). Deduplication makes
/// (child, case type, opened) unique, so the earliest opened case is one case.
fn first_case_per_child(cases: LazyFrame, year: &str, day: &str) -> LazyFrame {
    let firsts = cases
        .clone()
        .group_by([col("region"), col("child"), col(year)])
        .agg([col(day).min().alias("first_day")]);
    cases.join(
        firsts,
        [col("region"), col("child"), col(year), col(day)],
        [col("region"), col("child"), col(year), col("first_day")],
        JoinArgs::new(JoinType::Inner),
    )
}

/// `prevention_12m` / `reintegration_12m`: children with a case of the type opened in Y, the
/// first such case each; the child leaves the cohort if its outcome is neutral. Numerator: that
/// case closed with success (reintegration: `reunified`) at most 365 days after opening.
fn entry_cohort(cases: LazyFrame, prevention: bool) -> LazyFrame {
    let first = first_case_per_child(cases.filter(of_type(prevention)), "year_opened", "opened");
    let cohort = first.filter(col("is_neutral").not());
    let good = if prevention {
        col("is_success")
    } else {
        col("is_reunified")
    };
    count_by_region_year(cohort, "year_opened", good.and(closed_within_follow_up()))
}

/// Re-entry events per child, in any region: a reintegration case opened, or a prevention case
/// closed with a placement outcome, on `event_day`.
fn reentry_events(all_cases: LazyFrame) -> PolarsResult<LazyFrame> {
    let reintegration_opened = all_cases
        .clone()
        .filter(of_type(false))
        .select([col("child"), col("opened").alias("event_day")]);
    let placement_closed = all_cases
        .filter(col("is_placement"))
        .select([col("child"), col("closed").alias("event_day")]);
    concat(
        [reintegration_opened, placement_closed],
        UnionArgs::default(),
    )
}

/// `reintegration_sustained_12m`: children whose reintegration case closed `reunified` in Y,
/// the first such case each (earliest closed); numerator: no re-entry 1 to 365 days after.
fn sustained_reunification(cases: LazyFrame, all_cases: LazyFrame) -> PolarsResult<LazyFrame> {
    let reunified = cases.filter(of_type(false).and(col("is_reunified")));
    let first = first_case_per_child(reunified, "year_closed", "closed").select([
        col("region"),
        col("child"),
        col("year_closed"),
        col("closed"),
    ]);
    let days_after = col("event_day") - col("closed");
    let reentered = first
        .clone()
        .join(
            reentry_events(all_cases)?,
            [col("child")],
            [col("child")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            days_after
                .clone()
                .gt_eq(lit(1))
                .and(days_after.lt_eq(lit(FOLLOW_UP_DAYS))),
        )
        .group_by([col("region"), col("child"), col("year_closed")])
        .agg([len().alias("reentries")]);
    let flagged = first.join(
        reentered,
        [col("region"), col("child"), col("year_closed")],
        [col("region"), col("child"), col("year_closed")],
        JoinArgs::new(JoinType::Left),
    );
    Ok(count_by_region_year(
        flagged,
        "year_closed",
        col("reentries").is_null(),
    ))
}

/// `out_of_region_placement`: cases with a known placement region, prevention cases closed in
/// Y with a placement outcome and reintegration cases opened in Y; numerator: placed outside
/// the case's own region.
fn out_of_region_placement(cases: LazyFrame) -> LazyFrame {
    let placed = cases
        .filter(
            col("out_of_region")
                .is_not_null()
                .and(col("is_placement").or(of_type(false))),
        )
        .with_column(
            when(col("is_prevention"))
                .then(col("year_closed"))
                .otherwise(col("year_opened"))
                .alias("year_placed"),
        );
    count_by_region_year(placed, "year_placed", col("out_of_region"))
}

/// `children_served`: distinct children with a case open at any time in Y (the numerator).
fn children_served(open_years: LazyFrame) -> LazyFrame {
    open_years.group_by([col("region"), col("year")]).agg([
        col("child")
            .n_unique()
            .cast(DataType::Int64)
            .alias("numerator"),
        // Not a rate: the denominator column only keeps the shape of the other measures.
        len().cast(DataType::Int64).alias("denominator"),
    ])
}

/// (region, child, year) for every year each case was open, up to `last_year`.
fn open_years_frame(cases: &[Case], child_ids: &[u32], last_year: i32) -> PolarsResult<DataFrame> {
    let (mut region, mut child, mut year) = (Vec::new(), Vec::new(), Vec::new());
    for (c, id) in cases.iter().zip(child_ids.iter().copied()) {
        let last = c.closed.map_or(last_year, dates::year_of);
        for y in dates::year_of(c.opened)..=last {
            region.push(i32::from(c.region));
            child.push(id);
            year.push(y);
        }
    }
    DataFrame::new(
        region.len(),
        vec![
            Column::new("region".into(), region),
            Column::new("child".into(), child),
            Column::new("year".into(), year),
        ],
    )
}

/// (measure, region number, year) → (numerator, denominator).
type CountsByKey = HashMap<(Measure, i32, i32), (Option<u64>, Option<u64>)>;

/// Run every measure for `regional` (cases in their own regions) or national (relabelled)
/// cases, returning (measure, region, year) → (numerator, denominator).
fn counts(
    frame: LazyFrame,
    all_cases: LazyFrame,
    open_years: LazyFrame,
) -> PolarsResult<CountsByKey> {
    let queries = [
        (Measure::PreventionClosed, closed_cases(frame.clone(), true)),
        (
            Measure::ReintegrationClosed,
            closed_cases(frame.clone(), false),
        ),
        (Measure::Prevention12m, entry_cohort(frame.clone(), true)),
        (
            Measure::Reintegration12m,
            entry_cohort(frame.clone(), false),
        ),
        (
            Measure::ReintegrationSustained12m,
            sustained_reunification(frame.clone(), all_cases)?,
        ),
        (
            Measure::OutOfRegionPlacement,
            out_of_region_placement(frame),
        ),
        (Measure::ChildrenServed, children_served(open_years)),
    ];
    let mut out = HashMap::new();
    for (measure, query) in queries {
        let df = query.collect()?;
        let region = df.column("region")?.i32()?;
        let year = df.column("year")?.i32()?;
        let num = df.column("numerator")?.i64()?;
        let den = df.column("denominator")?.i64()?;
        for i in 0..df.height() {
            let (Some(r), Some(y)) = (region.get(i), year.get(i)) else {
                continue;
            };
            out.insert(
                (measure, r, y),
                (
                    num.get(i).map(|v| v.max(0) as u64),
                    den.get(i).map(|v| v.max(0) as u64),
                ),
            );
        }
    }
    Ok(out)
}

/// Compute the full rates table (before disclosure control): a row for every measure, for `BG`
/// and every region with cases, for every year from the earliest to the latest year in the
/// cases' opened and closed dates. Rows are in a fixed order: measure, region (BG first,
/// then by code), year.
pub fn compute(cases: &[Case], success: &SuccessSets, as_of: Day) -> PolarsResult<Vec<RateRow>> {
    let Some(first_year) = cases.iter().map(|c| dates::year_of(c.opened)).min() else {
        return Ok(Vec::new());
    };
    // `closed` is never before `opened`, so the latest year is the latest closed-or-opened one.
    let last_year = cases
        .iter()
        .map(|c| dates::year_of(c.closed.unwrap_or(c.opened)))
        .max()
        .unwrap_or(first_year);
    let as_of_date = dates::from_day(as_of);

    let child_ids = dense_child_ids(cases);
    let frame = case_frame(cases, &child_ids, success)?.lazy();
    let national = frame.clone().with_column(lit(NATIONAL).alias("region"));
    let open_years = open_years_frame(cases, &child_ids, last_year)?.lazy();
    let national_open_years = open_years
        .clone()
        .with_column(lit(NATIONAL).alias("region"));

    let mut found = counts(frame.clone(), frame.clone(), open_years)?;
    found.extend(counts(national, frame, national_open_years)?);

    let mut regions: Vec<RegionIdx> = cases.iter().map(|c| c.region).collect();
    regions.sort_unstable();
    regions.dedup();
    regions.sort_by_key(|r| reference::oblasts()[*r as usize].code.as_str());
    let region_rows: Vec<Option<RegionIdx>> = std::iter::once(None)
        .chain(regions.into_iter().map(Some))
        .collect();

    let mut rows = Vec::new();
    for measure in Measure::ALL {
        for region in &region_rows {
            for year in first_year..=last_year {
                let key = (measure, region.map_or(NATIONAL, i32::from), year);
                let (numerator, denominator) = found
                    .get(&key)
                    .copied()
                    .unwrap_or((Some(0), (!measure.is_count()).then_some(0)));
                rows.push(make_row(
                    measure,
                    *region,
                    year,
                    numerator,
                    denominator,
                    as_of_date,
                ));
            }
        }
    }
    Ok(rows)
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
    use crate::model::{Outcome::*, Pseudonym};

    fn day(s: &str) -> Day {
        dates::to_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn region(code: &str) -> RegionIdx {
        reference::region_by_code(code).unwrap()
    }

    fn child(n: u8) -> Pseudonym {
        [n; 16]
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
            compute(&cases, success, day(as_of)).unwrap()
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
        assert!(
            compute(&[], &SuccessSets::default(), day("2024-01-01"))
                .unwrap()
                .is_empty()
        );
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
                let rows = compute(&cases, &SuccessSets::default(), day("2026-01-01")).unwrap();
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

//! The programme rows of SPEC §10 before disclosure control: for each programme and its
//! comparison, every measure per year (with §4's statuses) and every rate measure pooled per
//! period over its complete years; then the differences per period and the differences in
//! differences against `before`. Measures set `ok`, `incomplete` and `no_data` only.

use chrono::{Datelike, NaiveDate};

use super::super::catalogue::Measure;
use super::super::interval::{
    newcombe_difference, wald_difference_in_differences, wilson_interval,
};
use super::super::table::{Status, cohort_complete};
use super::counts::Counts;
use super::{Group, Period, ProgrammeCounts, ProgrammeRow};
use crate::config::Programme;

/// The period of `year` for `programme`, whose `during` ends with its end year or, while it
/// runs, with the table's `last_year`.
pub fn period_of(programme: &Programme, year: i32, last_year: i32) -> Period {
    let end_year = programme.end.map_or(last_year, |d| d.year());
    if year < programme.start.year() {
        Period::Before
    } else if year <= end_year {
        Period::During
    } else {
        Period::After
    }
}

/// Whether `year` is complete for pooling `measure` (SPEC §10): a cohort year as §4 says, any
/// other year once it has ended by `as_of`.
fn complete(measure: Measure, year: i32, as_of: NaiveDate) -> bool {
    if measure.is_cohort() {
        cohort_complete(year, as_of)
    } else {
        NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|end| as_of >= end)
    }
}

/// Every row of every programme, in a fixed order: programme (as the pipeline lists them),
/// group, measure, the year rows by year, then the period rows (`before`, `during`, `after`).
pub fn rows(
    programmes: &[Programme],
    counts: &ProgrammeCounts,
    first_year: i32,
    last_year: i32,
    as_of: NaiveDate,
) -> Vec<ProgrammeRow> {
    let mut rows = Vec::new();
    for (index, programme) in programmes.iter().enumerate() {
        let mut own = Vec::new();
        for group in [Group::Programme, Group::Comparison] {
            for measure in Measure::ALL {
                for year in first_year..=last_year {
                    let incomplete = measure.is_cohort() && !cohort_complete(year, as_of);
                    let cell = counts.group(index, group, measure, &[year], None);
                    let mut row = counted_row(index, group, measure, vec![year], cell, incomplete);
                    row.year = Some(year);
                    own.push(row);
                }
                if measure.is_count() {
                    continue;
                }
                for period in Period::ALL {
                    let years: Vec<i32> = (first_year..=last_year)
                        .filter(|y| period_of(programme, *y, last_year) == period)
                        .filter(|y| complete(measure, *y, as_of))
                        .collect();
                    if years.is_empty() {
                        continue;
                    }
                    let cell = counts.group(index, group, measure, &years, None);
                    let mut row = counted_row(index, group, measure, years, cell, false);
                    row.period = Some(period);
                    own.push(row);
                }
            }
        }
        let differences = differences(index, &own);
        rows.extend(own);
        rows.extend(differences);
    }
    rows
}

/// A programme or comparison row from its counts: `incomplete` (no counts) for a cohort year
/// not complete, `no_data` when the denominator (for a count: the count) is 0, else `ok` with
/// the rate and its Wilson interval.
fn counted_row(
    programme: usize,
    group: Group,
    measure: Measure,
    years: Vec<i32>,
    (numerator, denominator): Counts,
    incomplete: bool,
) -> ProgrammeRow {
    let mut row = ProgrammeRow {
        programme,
        group,
        measure,
        year: None,
        period: None,
        years,
        numerator: Some(numerator),
        denominator: (!measure.is_count()).then_some(denominator),
        rate: None,
        ci_low: None,
        ci_high: None,
        status: Status::Ok,
    };
    if incomplete {
        row.numerator = None;
        row.denominator = None;
        row.status = Status::Incomplete;
    } else if denominator == 0 {
        row.status = Status::NoData;
    } else if !measure.is_count() {
        let (low, high) = wilson_interval(numerator, denominator);
        row.rate = Some(numerator as f64 / denominator as f64);
        row.ci_low = Some(low);
        row.ci_high = Some(high);
    }
    row
}

/// The difference rows of one programme from its period rows `own`: programme − comparison
/// per rate measure and period (Newcombe), then for `during` and `after` the difference in
/// differences against `before` (Wald). `ok` when every row it is made from is `ok`, else
/// `no_data` (disclosure control makes it `suppressed_secondary` when one is suppressed).
fn differences(programme: usize, own: &[ProgrammeRow]) -> Vec<ProgrammeRow> {
    let find = |group: Group, measure: Measure, period: Period| {
        own.iter()
            .find(|r| r.group == group && r.measure == measure && r.period == Some(period))
    };
    let blank = |group: Group, measure: Measure, period: Period| ProgrammeRow {
        programme,
        group,
        measure,
        year: None,
        period: Some(period),
        years: Vec::new(),
        numerator: None,
        denominator: None,
        rate: None,
        ci_low: None,
        ci_high: None,
        status: Status::NoData,
    };
    let ok_counts = |r: &ProgrammeRow| match (r.status, r.numerator, r.denominator) {
        (Status::Ok, Some(x), Some(n)) if n > 0 => Some((x, n)),
        _ => None,
    };
    let mut simple = Vec::new();
    let mut did = Vec::new();
    for measure in Measure::ALL.into_iter().filter(|m| !m.is_count()) {
        for period in Period::ALL {
            let (Some(p), Some(c)) = (
                find(Group::Programme, measure, period),
                find(Group::Comparison, measure, period),
            ) else {
                continue;
            };
            let mut row = blank(Group::Difference, measure, period);
            if let (Some((x1, n1)), Some((x2, n2))) = (ok_counts(p), ok_counts(c)) {
                let (d, low, high) = newcombe_difference(x1, n1, x2, n2);
                row.status = Status::Ok;
                (row.rate, row.ci_low, row.ci_high) = (Some(d), Some(low), Some(high));
            }
            simple.push(row);
        }
        for period in [Period::During, Period::After] {
            let sources = [
                find(Group::Programme, measure, period),
                find(Group::Comparison, measure, period),
                find(Group::Programme, measure, Period::Before),
                find(Group::Comparison, measure, Period::Before),
            ];
            let [Some(a), Some(b), Some(c), Some(d)] = sources else {
                continue;
            };
            let mut row = blank(Group::DifferenceInDifferences, measure, period);
            if let [Some(a), Some(b), Some(c), Some(d)] = [a, b, c, d].map(ok_counts) {
                let (estimate, low, high) = wald_difference_in_differences(a, b, c, d);
                row.status = Status::Ok;
                (row.rate, row.ci_low, row.ci_high) = (Some(estimate), Some(low), Some(high));
            }
            did.push(row);
        }
    }
    simple.extend(did);
    simple
}

/// The rows a difference row is made from: (group, period) pairs of the same programme and
/// measure.
pub fn sources_of(row: &ProgrammeRow) -> Vec<(Group, Period)> {
    match (row.group, row.period) {
        (Group::Difference, Some(period)) => {
            vec![(Group::Programme, period), (Group::Comparison, period)]
        }
        (Group::DifferenceInDifferences, Some(period)) => vec![
            (Group::Programme, period),
            (Group::Comparison, period),
            (Group::Programme, Period::Before),
            (Group::Comparison, Period::Before),
        ],
        _ => Vec::new(),
    }
}

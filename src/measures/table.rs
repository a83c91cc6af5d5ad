//! The rates table as the measures leave it: a `RateRow` per (measure, region or `BG`, year)
//! with its counts, rate, Wilson interval and status. Measures set `ok`, `incomplete` and
//! `no_data`; only `disclosure`, the next stage, sets the suppressed statuses and drops counts.

use chrono::NaiveDate;

use super::catalogue::Measure;
use super::funnel::{Funnel, classify};
use super::interval::wilson_interval;
use super::tally::Tally;
use crate::model::RegionIdx;
use crate::reference;

/// The status of a row of the rates table. The type is the row's, so it lives with the row;
/// the two suppressed kinds are set by `disclosure` alone (SPEC §5).
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
    /// The funnel class of an `ok` region row of a rate measure against its year's national
    /// rate (SPEC §6, §7); `None` for the country, counts and rows that are not `ok`.
    pub funnel: Option<Funnel>,
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
}

/// Whether cohort year `year` is complete at `as_of`: `as_of ≥ 31 December of year + 1`.
pub fn cohort_complete(year: i32, as_of: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(year + 1, 12, 31).is_some_and(|end| as_of >= end)
}

/// The rows of `tally` for every measure, for `BG` and each region of `regions`, for every year
/// of `first_year..=last_year`, in a fixed order: measure, region (BG first, then by code),
/// year.
pub(super) fn rows(
    tally: &Tally,
    regions: &[RegionIdx],
    first_year: i32,
    last_year: i32,
    as_of: NaiveDate,
) -> Vec<RateRow> {
    let mut region_rows: Vec<Option<RegionIdx>> = regions.iter().copied().map(Some).collect();
    region_rows.sort_by_key(|r| r.map(|r| reference::oblasts()[r as usize].code.as_str()));
    region_rows.insert(0, None);

    let mut rows = Vec::new();
    for measure in Measure::ALL {
        for region in &region_rows {
            for year in first_year..=last_year {
                let (numerator, denominator) = tally.get(measure, *region, year);
                rows.push(row(measure, *region, year, numerator, denominator, as_of));
            }
        }
    }
    classify_regions(&mut rows, tally);
    rows
}

/// Each `ok` region row of a rate measure, placed against its year's national rate.
fn classify_regions(rows: &mut [RateRow], tally: &Tally) {
    for row in rows.iter_mut() {
        if row.region.is_none() || row.measure.is_count() || row.status != Status::Ok {
            continue;
        }
        let (x, n) = (row.numerator.unwrap_or(0), row.denominator.unwrap_or(0));
        let (national_x, national_n) = tally.get(row.measure, None, row.year);
        if national_n > 0 {
            row.funnel = classify(x, n, national_x as f64 / national_n as f64);
        }
    }
}

/// One row from its cell's counts: `incomplete` (no counts) for a cohort year not yet
/// complete, `no_data` when the denominator (for a count: the count) is 0, else `ok` with the
/// rate and its interval.
fn row(
    measure: Measure,
    region: Option<RegionIdx>,
    year: i32,
    numerator: u64,
    denominator: u64,
    as_of: NaiveDate,
) -> RateRow {
    let mut row = RateRow {
        measure,
        region,
        year,
        numerator: Some(numerator),
        denominator: (!measure.is_count()).then_some(denominator),
        rate: None,
        ci_low: None,
        ci_high: None,
        funnel: None,
        status: Status::Ok,
    };
    if measure.is_cohort() && !cohort_complete(year, as_of) {
        row.numerator = None;
        row.denominator = None;
        row.status = Status::Incomplete;
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

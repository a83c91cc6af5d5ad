//! Which rows of the protected tables each part of the report reads: one measure's series,
//! one programme's rows, and the rule that headlines, trends and the map show only `ok` rows
//! of years that had ended by the as-of date. Selection only; nothing is formatted here.

use chrono::NaiveDate;

use super::ReportInput;
use crate::measures::{Measure, ProgrammeRow, RateRow, Status};

/// One measure's rows for one region (`None`: Bulgaria), in year order.
pub(super) fn rows_of(rates: &[RateRow], m: Measure, region: Option<u8>) -> Vec<&RateRow> {
    rates
        .iter()
        .filter(|r| r.measure == m && r.region == region)
        .collect()
}

/// Whether calendar year `year` had ended by `as_of`: a half year must not pass for a year
/// in a headline or a trend.
pub(super) fn year_over(year: i32, as_of: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|end| as_of >= end)
}

/// Whether a row belongs in the headlines, trends and map: publishable and of a finished year.
pub(super) fn is_headline_row(row: &RateRow, as_of: NaiveDate) -> bool {
    row.status == Status::Ok && year_over(row.year, as_of)
}

/// The latest finished year in which the national row of `m` is publishable.
pub(super) fn latest_ok_year(input: &ReportInput<'_>, m: Measure) -> Option<i32> {
    rows_of(input.rates, m, None)
        .into_iter()
        .filter(|r| is_headline_row(r, input.as_of))
        .map(|r| r.year)
        .max()
}

/// The rows of programme `index` (its position in the pipeline's programmes), in the table's
/// order.
pub(super) fn programme_rows(rows: &[ProgrammeRow], index: usize) -> Vec<&ProgrammeRow> {
    rows.iter().filter(|r| r.programme == index).collect()
}

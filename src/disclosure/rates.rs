//! SPEC §5's rules for the rates table, one function a rule, applied in order by `protect`.
//! A rule may only withhold a row (drop its counts, rate and interval and say why); it never
//! changes a count, adds a row or reorders the table.

use std::collections::BTreeMap;

use super::{Withhold, is_small};
use crate::measures::{Measure, RateRow, Status};

/// Apply SPEC §5's rules with threshold `k` (`min_count`), in the order the spec gives them.
/// Suppressed rows keep their keys and lose counts, rate and interval.
pub fn protect(rows: &mut [RateRow], k: u32) {
    suppress_primary(rows, k);
    suppress_secondary(rows);
    funnel_needs_the_national_row(rows);
}

/// Primary: a row is suppressed when its numerator, its denominator, or denominator −
/// numerator is between 1 and k−1 (for `children_served`: the count).
fn suppress_primary(rows: &mut [RateRow], k: u32) {
    for row in rows.iter_mut() {
        if needs_primary(row, k) {
            row.withhold(Status::SuppressedPrimary);
        }
    }
}

/// Whether an `ok` row must be hidden on its own counts.
fn needs_primary(row: &RateRow, k: u32) -> bool {
    if row.status != Status::Ok {
        return false;
    }
    let x = row.numerator.unwrap_or(0);
    match row.denominator {
        None => is_small(x, k),
        Some(n) => is_small(x, k) || is_small(n, k) || is_small(n.saturating_sub(x), k),
    }
}

/// Secondary: within one (measure, year), if exactly one region row is primary suppressed,
/// also suppress the `ok` region row with the smallest denominator (for `children_served`:
/// count; ties: region code), so the national total cannot give it away.
fn suppress_secondary(rows: &mut [RateRow]) {
    let mut groups: BTreeMap<(Measure, i32), Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if row.region.is_some() {
            groups.entry((row.measure, row.year)).or_default().push(i);
        }
    }
    for members in groups.values() {
        let primary = members
            .iter()
            .filter(|i| rows[**i].status == Status::SuppressedPrimary)
            .count();
        if primary != 1 {
            continue;
        }
        let smallest = members
            .iter()
            .copied()
            .filter(|i| rows[*i].status == Status::Ok)
            .min_by(|a, b| {
                size(&rows[*a])
                    .cmp(&size(&rows[*b]))
                    .then_with(|| rows[*a].region_code().cmp(rows[*b].region_code()))
            });
        if let Some(i) = smallest {
            rows[i].withhold(Status::SuppressedSecondary);
        }
    }
}

/// A region's funnel class places its rate against the national rate, so it is published only
/// with the national row (a withheld row has already lost its own class).
fn funnel_needs_the_national_row(rows: &mut [RateRow]) {
    let hidden: std::collections::HashSet<(Measure, i32)> = rows
        .iter()
        .filter(|r| r.region.is_none() && r.status != Status::Ok)
        .map(|r| (r.measure, r.year))
        .collect();
    for row in rows.iter_mut() {
        if hidden.contains(&(row.measure, row.year)) {
            row.funnel = None;
        }
    }
}

/// The size secondary suppression ranks by: the denominator, or the count.
fn size(row: &RateRow) -> u64 {
    row.denominator.or(row.numerator).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(measure: Measure, region: Option<u8>, x: u64, n: u64) -> RateRow {
        RateRow {
            measure,
            region,
            year: 2023,
            numerator: Some(x),
            denominator: (!measure.is_count()).then_some(n),
            rate: Some(0.5),
            ci_low: Some(0.1),
            ci_high: Some(0.9),
            funnel: None,
            status: if n == 0 && !measure.is_count() {
                Status::NoData
            } else {
                Status::Ok
            },
        }
    }

    const M: Measure = Measure::PreventionClosed;

    #[test]
    fn primary_hides_small_numerators_denominators_and_differences() {
        let mut rows = vec![
            row(M, None, 50, 100),
            row(M, Some(0), 3, 100),  // numerator small
            row(M, Some(1), 10, 4),   // denominator small (and x > n is impossible, but n rules)
            row(M, Some(2), 97, 100), // n − x = 3
            row(M, Some(3), 0, 100),  // zero is not small
            row(M, Some(4), 100, 100),
        ];
        protect(&mut rows, 5);
        let statuses: Vec<Status> = rows.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            vec![
                Status::Ok,
                Status::SuppressedPrimary,
                Status::SuppressedPrimary,
                Status::SuppressedPrimary,
                Status::Ok,
                Status::Ok
            ]
        );
        assert_eq!(rows[1].numerator, None);
        assert_eq!(rows[1].denominator, None);
        assert_eq!(rows[1].rate, None);
        assert_eq!(rows[1].ci_low, None);
    }

    #[test]
    fn one_suppressed_region_pulls_the_smallest_ok_region_with_it() {
        let mut rows = vec![
            row(M, None, 60, 120),
            row(M, Some(0), 2, 10),  // primary
            row(M, Some(1), 20, 40), // smallest ok denominator → secondary
            row(M, Some(2), 35, 70),
        ];
        protect(&mut rows, 5);
        assert_eq!(
            rows[0].status,
            Status::Ok,
            "the national row is never secondary"
        );
        assert_eq!(rows[1].status, Status::SuppressedPrimary);
        assert_eq!(rows[2].status, Status::SuppressedSecondary);
        assert_eq!(rows[3].status, Status::Ok);
    }

    #[test]
    fn two_suppressed_regions_need_no_secondary() {
        let mut rows = vec![
            row(M, Some(0), 2, 10),
            row(M, Some(1), 1, 10),
            row(M, Some(2), 20, 40),
        ];
        protect(&mut rows, 5);
        assert_eq!(rows[2].status, Status::Ok);
    }

    #[test]
    fn secondary_ties_go_to_the_first_region_code() {
        // Region indices 1 (BGS) and 0 (BLG): same denominator, BGS sorts first.
        let mut rows = vec![
            row(M, Some(5), 1, 10),
            row(M, Some(0), 20, 40),
            row(M, Some(1), 10, 40),
        ];
        protect(&mut rows, 5);
        assert_eq!(rows[2].status, Status::SuppressedSecondary, "BGS < BLG");
        assert_eq!(rows[1].status, Status::Ok);
    }

    #[test]
    fn counts_are_suppressed_on_the_count_and_no_data_rows_are_left_alone() {
        let c = Measure::ChildrenServed;
        let mut rows = vec![
            row(c, Some(0), 4, 0),
            row(c, Some(1), 5, 0),
            row(c, Some(2), 0, 0),
            row(M, Some(0), 0, 0),
        ];
        rows[2].status = Status::NoData;
        protect(&mut rows, 5);
        assert_eq!(rows[0].status, Status::SuppressedPrimary);
        assert_eq!(rows[1].status, Status::SuppressedSecondary);
        assert_eq!(rows[2].status, Status::NoData);
        assert_eq!(rows[3].status, Status::NoData);
    }
}

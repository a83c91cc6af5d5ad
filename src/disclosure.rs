//! Disclosure control (SPEC §5), a stage of its own between the measures and every publishable
//! output: primary suppression of small numbers, secondary suppression so the national total
//! cannot give a lone suppressed region away, and the small-class share of `cases.parquet`.

use std::collections::{BTreeMap, HashMap};

use crate::measures::{Measure, RateRow, Status};
use crate::model::Case;

/// Drop a row's counts, rate and interval and record which rule withheld it.
fn withhold(row: &mut RateRow, status: Status) {
    row.numerator = None;
    row.denominator = None;
    row.rate = None;
    row.ci_low = None;
    row.ci_high = None;
    row.status = status;
}

/// Whether a value would single out a small group: between 1 and k−1.
fn is_small(value: u64, k: u32) -> bool {
    (1..u64::from(k)).contains(&value)
}

/// Whether a row must be hidden on its own counts: its numerator, denominator or
/// denominator − numerator is small (for a count measure: the count).
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

/// The size secondary suppression ranks by: the denominator, or the count.
fn size(row: &RateRow) -> u64 {
    row.denominator.or(row.numerator).unwrap_or(0)
}

/// Apply primary and secondary suppression with threshold `k` (`min_count`). Suppressed rows
/// keep their keys and lose counts, rate and interval.
pub fn protect(rows: &mut [RateRow], k: u32) {
    for row in rows.iter_mut() {
        if needs_primary(row, k) {
            withhold(row, Status::SuppressedPrimary);
        }
    }
    // Within one (measure, year), a single suppressed region could be recovered as the national
    // total minus the other regions: hide the smallest remaining `ok` region too.
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
            withhold(&mut rows[i], Status::SuppressedSecondary);
        }
    }
}

/// The (region, birth year, sex) classes of `cases.parquet`, counted batch by batch as the
/// cases are written: how exposed the pseudonymized records are to linkage by
/// quasi-identifiers.
#[derive(Debug, Default)]
pub struct QuasiClasses {
    classes: HashMap<(u8, Option<i16>, Option<crate::model::Sex>), u64, foldhash::fast::FixedState>,
    records: u64,
}

impl QuasiClasses {
    pub fn add(&mut self, cases: &[Case]) {
        for c in cases {
            *self
                .classes
                .entry((c.region, c.birth_year, c.sex))
                .or_default() += 1;
        }
        self.records += cases.len() as u64;
    }

    /// The share of records whose class has fewer than `k` records.
    pub fn small_class_share(&self, k: u32) -> f64 {
        if self.records == 0 {
            return 0.0;
        }
        let small: u64 = self.classes.values().filter(|n| **n < u64::from(k)).sum();
        small as f64 / self.records as f64
    }
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

//! SPEC §10's disclosure rules for the programme rows, one function a rule, applied by
//! `protect_programmes`: §5's primary rule on every programme and comparison row; then the pair,
//! differencing and overlap rules (and for period rows the period rule), again and again until
//! nothing changes, first on the year rows, then on the period rows; last, a difference row goes
//! with any row it is made from. A rule only withholds rows. It reads the unpublished counts of
//! `ProgrammeCounts`, never a withheld row's fields (a withheld row has none left).

use std::collections::{HashMap, HashSet};

use super::{Withhold, is_small};
use crate::measures::programmes::{ProgrammeCounts, sources_of};
use crate::measures::{Group, Measure, Period, ProgrammeRow, RateRow, Status};
use crate::model::RegionIdx;

type Key = (usize, Group, Measure, Option<i32>, Option<Period>);

/// Whether a status hides a row's counts (SPEC §5).
fn is_suppressed(status: Status) -> bool {
    matches!(
        status,
        Status::SuppressedPrimary | Status::SuppressedSecondary
    )
}

/// Whether counts would be primary-suppressed as a row of their own (SPEC §5): the numerator,
/// denominator or their difference between 1 and k−1 (for `children_served`: the count).
fn would_be_primary(measure: Measure, (x, n): (u64, u64), k: u32) -> bool {
    if measure.is_count() {
        is_small(x, k)
    } else {
        is_small(x, k) || is_small(n, k) || is_small(n.saturating_sub(x), k)
    }
}

/// Apply SPEC §10's rules with threshold `k` to `rows` (as `measures` made them), given their
/// counts and the protected rates table `rates`.
pub fn protect_programmes(
    rows: &mut [ProgrammeRow],
    counts: &ProgrammeCounts,
    rates: &[RateRow],
    k: u32,
) {
    let rules = Rules::new(rows, counts, rates, k);
    rules.primary(rows);
    rules.settle(rows, false);
    rules.settle(rows, true);
    rules.differences(rows);
}

struct Rules<'a> {
    counts: &'a ProgrammeCounts,
    k: u32,
    /// (measure, region, year) of every suppressed region row of the rates table.
    rates_suppressed: HashSet<(Measure, RegionIdx, i32)>,
    index: HashMap<Key, usize>,
    programmes: usize,
}

impl<'a> Rules<'a> {
    fn new(
        rows: &[ProgrammeRow],
        counts: &'a ProgrammeCounts,
        rates: &[RateRow],
        k: u32,
    ) -> Rules<'a> {
        let rates_suppressed = rates
            .iter()
            .filter(|r| is_suppressed(r.status))
            .filter_map(|r| r.region.map(|region| (r.measure, region, r.year)))
            .collect();
        let index = rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect();
        let programmes = rows.iter().map(|r| r.programme + 1).max().unwrap_or(0);
        Rules {
            counts,
            k,
            rates_suppressed,
            index,
            programmes,
        }
    }

    /// The unpublished counts of a programme or comparison row over `years`, optionally only
    /// its items decided in `region`.
    fn counts_of(
        &self,
        row: &ProgrammeRow,
        years: &[i32],
        region: Option<RegionIdx>,
    ) -> (u64, u64) {
        self.counts
            .group(row.programme, row.group, row.measure, years, region)
    }

    /// SPEC §5's primary rule on every programme and comparison row.
    fn primary(&self, rows: &mut [ProgrammeRow]) {
        for row in rows.iter_mut() {
            let counted = matches!(row.group, Group::Programme | Group::Comparison);
            if counted
                && row.status == Status::Ok
                && would_be_primary(row.measure, self.counts_of(row, &row.years, None), self.k)
            {
                row.withhold(Status::SuppressedPrimary);
            }
        }
    }

    /// Apply the secondary rules to the year rows (`periods == false`) or the period rows until
    /// nothing changes. Every rule only adds suppressions, so the order cannot change the end.
    fn settle(&self, rows: &mut [ProgrammeRow], periods: bool) {
        loop {
            let mut changed = false;
            for i in 0..rows.len() {
                let row = &rows[i];
                let counted = matches!(row.group, Group::Programme | Group::Comparison);
                if !counted || row.status != Status::Ok || row.period.is_some() != periods {
                    continue;
                }
                let hide = self.pair(rows, row)
                    || self.differencing(row, &row.years)
                    || self.overlap(rows, row)
                    || (periods && self.period(rows, row));
                if hide {
                    rows[i].withhold(Status::SuppressedSecondary);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn find<'r>(&self, rows: &'r [ProgrammeRow], key: Key) -> Option<&'r ProgrammeRow> {
        self.index.get(&key).map(|i| &rows[*i])
    }

    /// The pair rule: the programme and comparison rows of a (measure, year or period) go
    /// together (the national row minus one gives the other).
    fn pair(&self, rows: &[ProgrammeRow], row: &ProgrammeRow) -> bool {
        let other = match row.group {
            Group::Programme => Group::Comparison,
            _ => Group::Programme,
        };
        let (_, _, measure, year, period) = key(row);
        self.find(rows, (row.programme, other, measure, year, period))
            .is_some_and(|r| is_suppressed(r.status))
    }

    /// The differencing rule over `years`: for any region in which the row has items, the
    /// region's rates-table row is suppressed in one of the years, or the region's items inside
    /// the row or outside it (the rest of the region's row) would be primary-suppressed. It
    /// applies to programme rows, and to comparison rows when the comparison is a list of regions.
    fn differencing(&self, row: &ProgrammeRow, years: &[i32]) -> bool {
        let applies =
            row.group == Group::Programme || self.counts.comparison_is_regions(row.programme);
        if !applies {
            return false;
        }
        let m = row.measure;
        self.counts
            .regions_counted(row.programme, row.group, m, years)
            .into_iter()
            .any(|region| {
                let rates_row_hidden = years
                    .iter()
                    .any(|y| self.rates_suppressed.contains(&(m, region, *y)));
                let inside = self.counts_of(row, years, Some(region));
                let whole = self.counts.region_row(m, region, years);
                let outside = (
                    whole.0.saturating_sub(inside.0),
                    whole.1.saturating_sub(inside.1),
                );
                rates_row_hidden
                    || would_be_primary(m, inside, self.k)
                    || would_be_primary(m, outside, self.k)
            })
    }

    /// The overlap rule: when two programmes share cases, the items one's row counts and the
    /// other's does not must not form a small group, in either direction.
    fn overlap(&self, rows: &[ProgrammeRow], row: &ProgrammeRow) -> bool {
        if row.group != Group::Programme {
            return false;
        }
        let (a, _, m, year, period) = key(row);
        (0..self.programmes)
            .filter(|b| *b != a && self.counts.share_cases(a, *b))
            .filter_map(|b| self.find(rows, (b, Group::Programme, m, year, period)))
            .any(|other| {
                let b = other.programme;
                let a_not_b = self.counts.only_in(a, b, m, &row.years, &other.years);
                let b_not_a = self.counts.only_in(b, a, m, &other.years, &row.years);
                would_be_primary(m, a_not_b, self.k) || would_be_primary(m, b_not_a, self.k)
            })
    }

    /// The period rule: the suppressed year rows a period row pools, taken together, form a row
    /// of their own; if the primary or the differencing rule would suppress it, the period row
    /// goes too (the period minus its published years would reveal it).
    fn period(&self, rows: &[ProgrammeRow], row: &ProgrammeRow) -> bool {
        let hidden_years: Vec<i32> = row
            .years
            .iter()
            .copied()
            .filter(|y| {
                self.find(
                    rows,
                    (row.programme, row.group, row.measure, Some(*y), None),
                )
                .is_some_and(|r| is_suppressed(r.status))
            })
            .collect();
        if hidden_years.is_empty() {
            return false;
        }
        would_be_primary(
            row.measure,
            self.counts_of(row, &hidden_years, None),
            self.k,
        ) || self.differencing(row, &hidden_years)
    }

    /// A difference needs every row it is made from published: one suppressed makes it
    /// `suppressed_secondary`.
    fn differences(&self, rows: &mut [ProgrammeRow]) {
        for i in 0..rows.len() {
            let row = &rows[i];
            let any_hidden = sources_of(row).into_iter().any(|(group, period)| {
                self.find(
                    rows,
                    (row.programme, group, row.measure, None, Some(period)),
                )
                .is_some_and(|r| is_suppressed(r.status))
            });
            if any_hidden {
                rows[i].withhold(Status::SuppressedSecondary);
            }
        }
    }
}

fn key(row: &ProgrammeRow) -> Key {
    (row.programme, row.group, row.measure, row.year, row.period)
}

#[cfg(test)]
mod tests;

//! SPEC §11's rule for the reconciliation with the published figures: a computed count is
//! suppressed when it, or its difference from another national count of the same case type and
//! year that the run publishes (this table's other quantities, the rates table's national rows),
//! is between 1 and k−1. A rule only withholds: the count and its coverage go.

use super::is_small;
use crate::measures::{Measure, RateRow, ReconciliationRow, Status};
use crate::model::CaseType;

/// The rates table's measures whose national counts are counts of one case type.
fn measures_of(case_type: CaseType) -> &'static [Measure] {
    match case_type {
        CaseType::Prevention => &[Measure::PreventionClosed, Measure::Prevention12m],
        CaseType::Reintegration => &[
            Measure::ReintegrationClosed,
            Measure::Reintegration12m,
            Measure::ReintegrationSustained12m,
        ],
    }
}

/// Apply the rule with threshold `k`; `rates` is the protected rates table (only its published
/// national rows are counts a reader has). The other quantities of this table count whether or
/// not they are suppressed themselves, so the rule does not depend on the order it is applied in.
pub fn protect_reconciliation(rows: &mut [ReconciliationRow], rates: &[RateRow], k: u32) {
    let computed: Vec<(i32, usize, CaseType, u64)> = rows
        .iter()
        .map(|r| (r.year, r.quantity, r.case_type(), r.computed.unwrap_or(0)))
        .collect();
    for row in rows.iter_mut() {
        let Some(count) = row.computed else { continue };
        let case_type = row.case_type();
        let others_here = computed
            .iter()
            .filter(|(y, q, t, _)| *y == row.year && *q != row.quantity && *t == case_type)
            .map(|(_, _, _, c)| *c);
        let national = rates
            .iter()
            .filter(|r| r.region.is_none() && r.year == row.year && r.status == Status::Ok)
            .filter(|r| measures_of(case_type).contains(&r.measure))
            .flat_map(|r| [r.numerator, r.denominator])
            .flatten();
        let revealing = is_small(count, k)
            || others_here
                .chain(national)
                .any(|other| is_small(count.abs_diff(other), k));
        if revealing {
            row.computed = None;
            row.coverage = None;
            row.status = Status::SuppressedPrimary;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(year: i32, quantity: usize, published: u64, computed: u64) -> ReconciliationRow {
        ReconciliationRow {
            year,
            quantity,
            published,
            computed: Some(computed),
            coverage: Some(computed as f64 / published as f64),
            status: Status::Ok,
        }
    }

    fn national(measure: Measure, year: i32, x: u64, n: u64) -> RateRow {
        RateRow {
            measure,
            region: None,
            year,
            numerator: Some(x),
            denominator: Some(n),
            rate: Some(x as f64 / n as f64),
            ci_low: None,
            ci_high: None,
            funnel: None,
            status: Status::Ok,
        }
    }

    #[test]
    fn small_counts_and_small_differences_are_withheld() {
        let mut rows = vec![
            row(2023, 0, 3570, 3),   // small itself
            row(2023, 1, 3442, 700), // 700 − 697 (closed successfully) = 3
            row(2023, 2, 2706, 697), // the other side of the same difference
            row(2023, 3, 2000, 400), // reintegration: 400 vs the rates row's 402 → 2
            row(2023, 4, 1300, 300), // 300 vs 402 and 250: fine
            row(2022, 1, 3000, 697), // another year: 697 vs nothing close
        ];
        let rates = vec![national(Measure::ReintegrationClosed, 2023, 250, 402)];
        protect_reconciliation(&mut rows, &rates, 5);
        let statuses: Vec<Status> = rows.iter().map(|r| r.status).collect();
        use Status::{Ok, SuppressedPrimary as Hidden};
        assert_eq!(statuses, vec![Hidden, Hidden, Hidden, Hidden, Ok, Ok]);
        assert_eq!((rows[1].computed, rows[1].coverage), (None, None));
        assert_eq!(rows[4].computed, Some(300));
    }

    #[test]
    fn a_suppressed_national_row_is_not_a_published_count() {
        let mut rows = vec![row(2023, 3, 2000, 400)];
        let mut hidden = national(Measure::ReintegrationClosed, 2023, 250, 402);
        hidden.status = Status::SuppressedPrimary;
        protect_reconciliation(&mut rows, &[hidden], 5);
        assert_eq!(rows[0].status, Status::Ok);
    }
}

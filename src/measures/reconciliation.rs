//! The counts SPEC §11 holds against the agency's published national figures, per year: new,
//! closed and successfully closed prevention cases, new reintegration cases and successful
//! reintegrations, counted from the deduplicated cases in the same pass as the measures, and the
//! reconciliation rows made from them (before disclosure control).

use chrono::NaiveDate;

use super::rules::CaseFacts;
use super::table::Status;
use crate::config::{PublishedTable, QUANTITIES, SuccessSets};
use crate::model::{CaseType, Outcome};

/// Per year, the computed value of each of `config::QUANTITIES`.
#[derive(Debug, Clone)]
pub(super) struct QuantityTally {
    first_year: i32,
    years: Vec<[u64; 5]>,
}

impl QuantityTally {
    pub(super) fn new(first_year: i32, last_year: i32) -> QuantityTally {
        let years = (last_year - first_year + 1).max(0) as usize;
        QuantityTally {
            first_year,
            years: vec![[0; 5]; years],
        }
    }

    fn add(&mut self, year: i32, quantity: usize) {
        let offset = year - self.first_year;
        if let Some(cell) = usize::try_from(offset)
            .ok()
            .and_then(|o| self.years.get_mut(o))
        {
            cell[quantity] += 1;
        }
    }

    /// Count one case: new in the year it opened; closed (any outcome) and successfully closed
    /// (the pipeline's prevention success set; for reintegration `reunified`, SPEC §11) in the
    /// year it closed.
    pub(super) fn record(&mut self, case: &CaseFacts, success: &SuccessSets) {
        match case.case_type {
            CaseType::Prevention => {
                self.add(case.year_opened, 0);
                if let (Some(year), Some(outcome)) = (case.year_closed, case.outcome) {
                    self.add(year, 1);
                    if success.prevention.contains(&outcome) {
                        self.add(year, 2);
                    }
                }
            }
            CaseType::Reintegration => {
                self.add(case.year_opened, 3);
                if let (Some(year), Some(Outcome::Reunified)) = (case.year_closed, case.outcome) {
                    self.add(year, 4);
                }
            }
        }
    }

    pub(super) fn get(&self, year: i32, quantity: usize) -> u64 {
        usize::try_from(year - self.first_year)
            .ok()
            .and_then(|o| self.years.get(o))
            .map_or(0, |cell| cell[quantity])
    }

    pub(super) fn merge(mut self, other: QuantityTally) -> QuantityTally {
        for (a, b) in self.years.iter_mut().zip(other.years) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self
    }
}

/// One row of `reconciliation.csv` (SPEC §11).
#[derive(Debug, Clone, PartialEq)]
pub struct ReconciliationRow {
    pub year: i32,
    /// Index into `config::QUANTITIES`.
    pub quantity: usize,
    pub published: u64,
    /// The value computed from the accepted cases; `None` when suppressed.
    pub computed: Option<u64>,
    /// computed / published; `None` when suppressed or nothing was published.
    pub coverage: Option<f64>,
    /// `ok`, or `suppressed_primary` (set by disclosure control only).
    pub status: Status,
}

impl ReconciliationRow {
    pub fn quantity_name(&self) -> &'static str {
        QUANTITIES[self.quantity]
    }

    /// The case type the row's quantity counts.
    pub fn case_type(&self) -> CaseType {
        if self.quantity < 3 {
            CaseType::Prevention
        } else {
            CaseType::Reintegration
        }
    }
}

/// A row for every year of `first_year..=last_year` that ended by `as_of` and every quantity the
/// table published for it, by year, then in the table's column order.
pub(super) fn rows(
    published: &PublishedTable,
    computed: &QuantityTally,
    first_year: i32,
    last_year: i32,
    as_of: NaiveDate,
) -> Vec<ReconciliationRow> {
    let mut years: Vec<&crate::config::PublishedYear> = published
        .years
        .iter()
        .filter(|(y, _)| (first_year..=last_year).contains(y))
        .filter(|(y, _)| NaiveDate::from_ymd_opt(*y, 12, 31).is_some_and(|end| as_of >= end))
        .collect();
    years.sort_by_key(|(y, _)| *y);
    let mut rows = Vec::new();
    for (year, values) in years {
        for (quantity, value) in values.iter().enumerate() {
            let Some(published) = *value else { continue };
            let computed_value = computed.get(*year, quantity);
            rows.push(ReconciliationRow {
                year: *year,
                quantity,
                published,
                computed: Some(computed_value),
                coverage: (published > 0).then(|| computed_value as f64 / published as f64),
                status: Status::Ok,
            });
        }
    }
    rows
}

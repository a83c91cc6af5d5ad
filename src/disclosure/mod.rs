//! Disclosure control (SPEC §5), a stage of its own between the measures and every publishable
//! output. It reads `measures`' rows and may only withhold them; the measures never read it,
//! and nothing is published that has not passed through here.
//!
//! - `rates`: the rules for the rates table (primary, secondary), one function a rule, run in
//!   order by `protect`. A new rule for the table is a function there and a line in `protect`;
//!   the rules for another table (programmes, SPEC §10) get a file of their own beside it.
//! - `programmes`: SPEC §10's rules for the programme rows (primary, pair, differencing,
//!   overlap, period, differences), run by `protect_programmes` after the rates table's.
//! - `reconciliation`: SPEC §11's rule for the reconciliation with the published figures.
//! - `quasi_classes`: the small-class share of `cases.parquet`, counted per written batch.

mod programmes;
mod quasi_classes;
mod rates;
mod reconciliation;

pub use programmes::protect_programmes;
pub use quasi_classes::QuasiClasses;
pub use rates::protect;
pub use reconciliation::protect_reconciliation;

use crate::measures::{ProgrammeRow, RateRow, Status};

/// Whether a value would single out a small group: between 1 and k−1.
fn is_small(value: u64, k: u32) -> bool {
    (1..u64::from(k)).contains(&value)
}

/// A published row whose counts, rate and interval a rule can withhold: they are dropped and
/// the status says which rule withheld it; the keys stay.
trait Withhold {
    fn withhold(&mut self, status: Status);
}

impl Withhold for RateRow {
    fn withhold(&mut self, status: Status) {
        self.numerator = None;
        self.denominator = None;
        self.rate = None;
        self.ci_low = None;
        self.ci_high = None;
        self.funnel = None;
        self.status = status;
    }
}

impl Withhold for ProgrammeRow {
    fn withhold(&mut self, status: Status) {
        self.numerator = None;
        self.denominator = None;
        self.rate = None;
        self.ci_low = None;
        self.ci_high = None;
        self.status = status;
    }
}

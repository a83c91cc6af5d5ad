//! Disclosure control (SPEC §5), a stage of its own between the measures and every publishable
//! output. It reads `measures`' rows and may only withhold them; the measures never read it,
//! and nothing is published that has not passed through here.
//!
//! - `rates`: the rules for the rates table (primary, secondary), one function a rule, run in
//!   order by `protect`. A new rule for the table is a function there and a line in `protect`;
//!   the rules for another table (programmes, SPEC §10) get a file of their own beside it.
//! - `quasi_classes`: the small-class share of `cases.parquet`, counted per written batch.

mod quasi_classes;
mod rates;

pub use quasi_classes::QuasiClasses;
pub use rates::protect;

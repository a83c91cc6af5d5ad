//! `outcomes`: child-protection case exports in, anonymized outcome statistics out.
//!
//! Data flows one way through the modules, in this order:
//! `config` → `ingest` (decode, map, validate; uses `pseudonym`) → `link` (dedupe)
//! → `measures` → `disclosure` → `report` / `output`. `cli` drives them; `synth`
//! makes synthetic exports for tests, samples and benchmarks.

#[cfg(feature = "engine")]
pub mod cli;
pub mod config;
pub mod dates;
#[cfg(feature = "engine")]
pub mod disclosure;
pub mod ingest;
pub mod inspect;
pub mod link;
#[cfg(feature = "engine")]
pub mod measures;
pub mod model;
#[cfg(feature = "engine")]
pub mod output;
pub mod pseudonym;
pub mod reference;
#[cfg(feature = "engine")]
pub mod report;
pub mod synth;

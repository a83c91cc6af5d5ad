//! `outcomes`: child-protection case exports in, anonymized outcome statistics out.
//!
//! Data flows one way through the modules, in this order:
//! `config` → `ingest` (decode, map, validate; uses `pseudonym`) → `link` (dedupe)
//! → `measures` → `disclosure` → `report` / `output`. `cli` drives them; `synth`
//! makes synthetic exports for tests, samples and benchmarks.

pub mod cli;
pub mod config;
pub mod dates;
pub mod disclosure;
pub mod fault;
pub mod ingest;
pub mod inspect;
pub mod link;
pub mod measures;
pub mod model;
pub mod output;
pub mod pseudonym;
pub mod reference;
pub mod report;
pub mod synth;

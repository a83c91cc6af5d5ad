//! Named fault points for the crash and disk-full tests (SPEC §9). Built only with the
//! `failpoints` Cargo feature, which `cargo test` turns on for the binary the integration
//! tests run (through a dev-dependency, so `cargo build --release` of the binary never has
//! it; `cargo test --release` does); without it `point` is an empty function.
//!
//! `FAILPOINTS="NAME=return"` makes the run abort at that point, the way `kill -9` would
//! stop it (no destructor runs, nothing is cleaned up); `FAILPOINTS="NAME=return(enospc)"`
//! makes it fail there as a full disk does (except `ingest-chunk`, which only aborts, and the
//! points after the swap, where the new outputs are already in place). fail-rs's other actions
//! and counts work too, e.g. `FAILPOINTS="parquet-write=20*off->return(enospc)"` fails the
//! 21st write of a Parquet file.

use std::io;

/// Every fault point, in the order a run passes them.
pub const POINTS: &[&str] = &[
    "ingest-chunk",
    "link-run",
    "parquet-write",
    "after-rejects",
    "after-cases-parquet",
    "after-rates-parquet",
    "after-rates-xlsx",
    "after-report",
    "after-manifest",
    "before-swap",
    "after-swap",
    "before-cleanup",
];

/// Pass the fault point `name`: abort, fail with ENOSPC, or (as always in a release build)
/// nothing.
#[inline]
pub fn point(name: &'static str) -> io::Result<()> {
    debug_assert!(POINTS.contains(&name), "unknown fault point {name}");
    #[cfg(feature = "failpoints")]
    if let Some(action) = fail::eval(name, |arg| arg) {
        return match action.as_deref() {
            Some("enospc") => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
            _ => std::process::abort(),
        };
    }
    Ok(())
}

/// Read `FAILPOINTS` once, at the start of the program. Keep the guard for the whole run.
#[cfg(feature = "failpoints")]
pub fn setup() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}

//! Helpers for the integration tests: run the real binary, make synthetic exports, read outputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use polars::prelude::*;

/// The `outcomes` binary, run from `dir`.
pub fn outcomes(dir: &Path) -> Command {
    let mut cmd =
        Command::cargo_bin("outcomes").expect("the binary is built for integration tests");
    cmd.current_dir(dir);
    cmd
}

/// The repository root (where `pipelines/` and `sample_data/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Write synthetic exports into `dir` and return the pipeline file's path.
pub fn synth(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    outcomes(dir)
        .args([
            "synth",
            "--out",
            "data",
            "--rows",
            &rows.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .assert()
        .success();
    dir.join("data/pipeline.toml")
}

/// Read a Parquet file into a DataFrame.
pub fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(file)
        .finish()
        .expect("a readable Parquet file")
}

/// Every string value in every string column of a Parquet file.
pub fn parquet_strings(path: &Path) -> Vec<String> {
    let df = read_parquet(path);
    let mut out = Vec::new();
    for column in df.columns() {
        if let Ok(values) = column.str() {
            out.extend(
                (0..values.len())
                    .filter_map(|i| values.get(i))
                    .map(str::to_string),
            );
        }
    }
    out
}

/// The parsed manifest of an output folder.
pub fn manifest(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// Check `rows_read = accepted + rejected + duplicate` for every input file; return totals.
pub fn assert_accounting_balances(manifest: &serde_json::Value) -> (u64, u64, u64, u64) {
    let mut totals = (0, 0, 0, 0);
    let inputs = manifest["inputs"].as_array().expect("inputs");
    assert!(!inputs.is_empty());
    for input in inputs {
        let n = |k: &str| {
            input[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{k} in {input}"))
        };
        assert_eq!(
            n("rows_read"),
            n("rows_accepted") + n("rows_rejected") + n("rows_duplicate"),
            "accounting of {}",
            input["name"]
        );
        totals.0 += n("rows_read");
        totals.1 += n("rows_accepted");
        totals.2 += n("rows_rejected");
        totals.3 += n("rows_duplicate");
    }
    totals
}

//! The reconciliation with the published national figures (SPEC §11) through the real binary:
//! `reconciliation.csv`'s shape, a pipeline's own `published` table (checked up front, in the
//! manifest, and an input of `--if-changed`).

mod common;

use std::fs;

use common::{manifest, outcomes, synth};

const HEADER: &str = "year,prevention_new_cases,prevention_closed_cases,prevention_closed_successfully,reintegration_new_cases,reintegration_successful";

#[test]
fn a_pipelines_own_published_table_is_reconciled_and_watched() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 4_000, 515);
    let table = dir.path().join("data/published.csv");
    fs::write(
        &table,
        format!("{HEADER}\n2020,2000,1900,1500,,\n2021,2100,,,300,\n"),
    )
    .unwrap();
    let text = fs::read_to_string(&pipeline).unwrap().replace(
        "max_reject_rate = 0.05",
        "max_reject_rate = 1.0\npublished = \"published.csv\"",
    );
    fs::write(&pipeline, text).unwrap();
    let run = |extra: &[&str]| {
        let output = outcomes(dir.path())
            .arg("run")
            .arg(&pipeline)
            .args(["--out", "out", "--as-of", "2025-06-30"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            matches!(output.status.code(), Some(0)),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    run(&[]);
    let csv = fs::read_to_string(dir.path().join("out/reconciliation.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("\u{feff}year,quantity,published,computed,coverage,status")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let keys: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(
        keys,
        [
            ("2020", "prevention_new_cases", "2000"),
            ("2020", "prevention_closed_cases", "1900"),
            ("2020", "prevention_closed_successfully", "1500"),
            ("2021", "prevention_new_cases", "2100"),
            ("2021", "reintegration_new_cases", "300"),
        ]
    );
    for r in &rows {
        match r[5] {
            "ok" => {
                let (computed, published): (f64, f64) =
                    (r[3].parse().unwrap(), r[2].parse().unwrap());
                let coverage: f64 = r[4].parse().unwrap();
                assert!((coverage - computed / published).abs() < 5e-5, "{r:?}");
            }
            "suppressed_primary" => assert!(r[3].is_empty() && r[4].is_empty(), "{r:?}"),
            other => panic!("status {other}"),
        }
    }
    let m = manifest(&dir.path().join("out"));
    assert!(
        m["published"]["path"]
            .as_str()
            .unwrap()
            .ends_with("published.csv")
    );
    assert_eq!(
        m["published"]["sha256"].as_str().unwrap(),
        outcomes::output::sha256_file(&table).unwrap()
    );
    assert!(
        m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["path"] == "reconciliation.csv")
    );

    // Nothing changed: skipped. The published table changed: a run.
    assert!(run(&["--if-changed"]).contains("nothing changed"));
    fs::write(&table, format!("{HEADER}\n2020,2001,1900,1500,,\n")).unwrap();
    let log = run(&["--if-changed"]);
    assert!(
        log.contains("published national figures changed; running"),
        "{log}"
    );

    // A malformed table stops the run before any data moves.
    fs::write(&table, format!("{HEADER}\n2020,lots,,,,\n")).unwrap();
    let output = outcomes(dir.path())
        .arg("check")
        .arg(&pipeline)
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{console}");
    assert!(
        console.contains("published.csv: line 2") && console.contains("prevention_new_cases"),
        "{console}"
    );
}

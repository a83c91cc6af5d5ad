//! `outcomes run` and `outcomes check` end to end: the real binary on the shipped sample and on
//! fresh synthetic exports.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use aho_corasick::AhoCorasick;
use common::*;
use outcomes::config::Field;

/// Everything a run wrote or printed, as text.
fn everything_written(out: &Path, console: &str) -> String {
    let mut all = String::from(console);
    for entry in fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            all.push_str(&parquet_strings(&path).join("\n"));
        } else if path.extension().is_some_and(|e| e == "xlsx") {
            all.push_str(&xlsx_strings(&path).join("\n"));
        } else {
            all.push_str(&String::from_utf8_lossy(&fs::read(&path).unwrap()));
        }
        all.push('\n');
    }
    all
}

fn assert_no_personal_data(pipeline: &Path, out: &Path, console: &str) {
    let sensitive: Vec<String> = sensitive_values(pipeline).into_iter().collect();
    assert!(
        sensitive.len() > 100,
        "the exports have personal data to look for"
    );
    let written = everything_written(out, console);
    let matcher = AhoCorasick::new(&sensitive).unwrap();
    let leaks: BTreeSet<&str> = matcher
        .find_overlapping_iter(&written)
        .map(|m| sensitive[m.pattern().as_usize()].as_str())
        .collect();
    // Say how many leaked, never which: a failing test must not print personal data either.
    assert!(
        leaks.is_empty(),
        "{} values from the exports appear in the outputs",
        leaks.len()
    );
}

#[test]
fn the_sample_pipeline_runs_and_accounts_for_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = outcomes(&repo())
        .args(["run", "pipelines/sample.toml", "--out"])
        .arg(&out)
        .assert()
        .success();
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&result.get_output().stdout),
        String::from_utf8_lossy(&result.get_output().stderr)
    );
    assert!(
        console.contains("PUBLIC DEMO KEY"),
        "the demo key is announced: {console}"
    );

    let manifest = manifest(&out);
    let (read, accepted, rejected, duplicate) = assert_accounting_balances(&manifest);
    assert!(read > 1000 && accepted > 0 && rejected > 0 && duplicate > 0);
    assert_eq!(manifest["totals"]["rows_read"], read);
    assert_eq!(manifest["demo_key"], true);

    let cases = read_parquet(&out.join("cases.parquet"));
    // SPEC §6, written out here rather than taken from the writer's own list.
    let names = cases.get_column_names();
    assert_eq!(
        names,
        [
            "child",
            "family",
            "case",
            "region",
            "municipality",
            "office",
            "case_type",
            "opened",
            "closed",
            "outcome",
            "placement_type",
            "placement_region",
            "birth_year",
            "sex",
            "source",
            "source_line"
        ]
    );
    assert_eq!(names, outcomes::output::CASES_COLUMNS);
    assert_eq!(cases.height() as u64, accepted);

    let rejects = fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert_eq!(
        rejects.lines().next(),
        Some("source,line,field,reason,message")
    );
    let mut reader = csv::Reader::from_reader(rejects.as_bytes());
    assert_eq!(reader.records().count() as u64, rejected);

    let rates = read_parquet(&out.join("rates.parquet"));
    let names = rates.get_column_names();
    assert_eq!(
        names,
        [
            "measure",
            "region",
            "region_name_bg",
            "region_name_en",
            "year",
            "numerator",
            "denominator",
            "rate",
            "ci_low",
            "ci_high",
            "status",
            "funnel"
        ]
    );
    assert_eq!(names, outcomes::output::RATES_COLUMNS);

    assert_no_personal_data(&repo().join("pipelines/sample.toml"), &out, &console);
}

#[test]
fn fresh_synthetic_exports_balance_per_file_and_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 3000, 424242);
    let out = dir.path().join("out");
    let result = outcomes(dir.path())
        .arg("run")
        .arg(&pipeline)
        .arg("--out")
        .arg(&out)
        .assert();
    let output = result.get_output();
    let code = output.status.code();
    assert!(code == Some(0) || code == Some(3), "exit code {code:?}");
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = manifest(&out);
    let (read, ..) = assert_accounting_balances(&manifest);
    assert!(read >= 2500, "about 3000 rows: {read}");
    assert_no_personal_data(&pipeline, &out, &console);
}

#[test]
fn check_writes_nothing_and_reports_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 600, 7);
    let before: BTreeSet<_> = walk(dir.path());
    let result = outcomes(dir.path()).arg("check").arg(&pipeline).assert();
    let output = result.get_output();
    assert!(matches!(output.status.code(), Some(0) | Some(3)));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rows read"), "{stderr}");
    assert!(stderr.contains("rejected:"), "top reject reasons: {stderr}");
    assert_eq!(before, walk(dir.path()), "check must not write any file");
}

fn walk(dir: &Path) -> BTreeSet<std::path::PathBuf> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.insert(path);
    }
    out
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 800, 99);
    let checksums = |out: &str| {
        outcomes(dir.path())
            .arg("run")
            .arg(&pipeline)
            .args(["--out", out])
            .assert()
            .success();
        let m = manifest(&dir.path().join(out));
        m["outputs"].clone()
    };
    assert_eq!(checksums("a"), checksums("b"));
}

#[test]
fn every_reject_names_a_known_reason_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    outcomes(&repo())
        .args(["run", "pipelines/sample.toml", "--out"])
        .arg(&out)
        .assert()
        .success();
    let reasons: BTreeSet<&str> = outcomes::ingest::RejectReason::ALL
        .iter()
        .map(|r| r.code())
        .collect();
    let fields: BTreeSet<&str> = Field::ALL.iter().map(|f| f.name()).chain([""]).collect();
    let mut reader = csv::Reader::from_path(out.join("rejects.csv")).unwrap();
    let mut seen = BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert!(reasons.contains(&record[3]), "reason {}", &record[3]);
        assert!(fields.contains(&record[2]), "field {}", &record[2]);
        assert!(
            record[1].parse::<u64>().unwrap() >= 2,
            "data lines start after the header"
        );
        seen.insert(record[3].to_string());
    }
    assert!(
        seen.len() >= 5,
        "the sample exercises several reasons: {seen:?}"
    );
}

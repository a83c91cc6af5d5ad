//! `outcomes run` and `outcomes check` end to end: the real binary on the shipped sample and on
//! fresh synthetic exports.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use aho_corasick::AhoCorasick;
use common::*;
use outcomes::config::{self, Field, FieldClass};
use outcomes::pseudonym::normalize;

/// Values from the exports that must never reach an output: identifiers, quasi-identifiers and
/// every dropped column (names, addresses, phones, notes). Short values are left out: they
/// occur by chance in any text (see `long_enough_to_search`).
///
/// A sensitive value that also occurs inside an attribute value (a birth date equal to some
/// case's opening date, case number `2/2021` inside the date `29/02/2021`) is left out too: its
/// appearance in an output cannot be told apart from the legitimate label or date.
fn sensitive_values(pipeline_path: &Path) -> BTreeSet<String> {
    let pipeline = config::load(pipeline_path).expect("pipeline loads");
    let mut values = BTreeSet::new();
    let mut attributes = String::new();
    for source in &pipeline.sources {
        for path in glob::glob(&source.pattern).unwrap().map(Result::unwrap) {
            let mut rows = read_export(&path, source.delimiter).into_iter();
            let header: Vec<String> = rows
                .next()
                .unwrap_or_default()
                .iter()
                .map(|h| h.trim().to_lowercase())
                .collect();
            let keep: Vec<bool> = header
                .iter()
                .map(|h| {
                    match source
                        .columns
                        .iter()
                        .find(|(_, c)| c.trim().to_lowercase() == *h)
                    {
                        None => true, // dropped column
                        Some((field, _)) => field.class() != FieldClass::Attribute,
                    }
                })
                .collect();
            for record in rows {
                for (i, value) in record.iter().enumerate() {
                    let value = value.trim();
                    if !keep.get(i).copied().unwrap_or(true) {
                        attributes.push_str(value);
                        attributes.push('\n');
                    } else {
                        for candidate in [value.to_string(), normalize(value)] {
                            if long_enough_to_search(&candidate) {
                                values.insert(candidate);
                            }
                        }
                    }
                }
            }
        }
    }
    let sensitive: Vec<String> = values.into_iter().collect();
    let matcher = AhoCorasick::new(&sensitive).unwrap();
    let mut in_attributes = vec![false; sensitive.len()];
    for m in matcher.find_overlapping_iter(&attributes) {
        in_attributes[m.pattern().as_usize()] = true;
    }
    // A value the pipeline file itself holds (a programme's start date, an office it lists)
    // is configuration, which outputs may repeat, even when an export happens to hold it too.
    let configured = fs::read_to_string(pipeline_path).unwrap();
    sensitive
        .into_iter()
        .zip(in_attributes)
        .filter_map(|(v, shared)| (!shared && !configured.contains(&v)).then_some(v))
        .collect()
}

/// Whether finding `value` in an output would mean something: five characters at least, and
/// eight for digits only, which otherwise turn up by chance inside hexadecimal pseudonyms.
fn long_enough_to_search(value: &str) -> bool {
    let digits_only = value.bytes().all(|b| b.is_ascii_digit());
    value.chars().count() >= if digits_only { 8 } else { 5 }
}

/// Everything a run wrote or printed, as text.
fn everything_written(out: &Path, console: &str) -> String {
    let mut all = String::from(console);
    for entry in fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            all.push_str(&parquet_strings(&path).join("\n"));
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
            "status"
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

//! Memory that stays bounded (SPEC §9): past `--memory-budget` (or `OUTCOMES_MEMORY_BUDGET`)
//! the accepted cases are sorted on disk in runs and merged. Every output is then byte for
//! byte what a run in memory writes (the manifest but for its times), `check` counts the
//! same, no run file is left anywhere, and a budget that is not a size is exit 2.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{manifest, outcomes, synth_with_programme};

/// How a run is given its memory budget.
#[derive(Clone, Copy)]
enum Budget {
    Default,
    Option(&'static str),
    Environment(&'static str),
}

fn run(dir: &Path, pipeline: &Path, out: &str, budget: Budget) -> Output {
    let mut cmd = outcomes(dir);
    cmd.env_remove("OUTCOMES_MEMORY_BUDGET")
        .arg("run")
        .arg(pipeline)
        .args(["--out", out, "--as-of", "2025-06-30"]);
    match budget {
        Budget::Default => {}
        Budget::Option(size) => {
            cmd.args(["--memory-budget", size]);
        }
        Budget::Environment(size) => {
            cmd.env("OUTCOMES_MEMORY_BUDGET", size);
        }
    }
    let output = cmd.output().unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The number of runs the log says the cases were sorted in (0: none).
fn runs_in(output: &Output) -> usize {
    let log = String::from_utf8_lossy(&output.stderr);
    log.split("sorted on disk in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// The file names in `folder`, sorted.
fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A manifest without the two times in it, which are the only part that may differ.
fn timeless_manifest(out: &Path) -> serde_json::Value {
    let mut m = manifest(out);
    let map = m.as_object_mut().unwrap();
    assert!(map.remove("started_at").is_some());
    assert!(map.remove("finished_at").is_some());
    m
}

#[test]
fn every_output_is_byte_identical_with_and_without_spilling() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 20_000, 1717);
    let plain = run(dir.path(), &pipeline, "plain", Budget::Default);
    assert_eq!(runs_in(&plain), 0, "20,000 rows fit the default budget");
    let expected = dir.path().join("plain");
    let files = names(&expected);
    for must in [
        "cases.parquet",
        "manifest.json",
        "programmes.parquet",
        "rates.parquet",
        "reconciliation.csv",
        "rejects.csv",
        "report.html",
    ] {
        assert!(files.iter().any(|f| f == must), "{must} in {files:?}");
    }
    // 64 KiB: about 1,500 cases a run; 4 KiB: about 90, more runs than one merge opens.
    for (name, budget, at_least) in [
        ("option", Budget::Option("64K"), 10),
        ("environment", Budget::Environment("4K"), 100),
    ] {
        let spilled = run(dir.path(), &pipeline, name, budget);
        let runs = runs_in(&spilled);
        assert!(runs >= at_least, "{name}: {runs} runs");
        let out = dir.path().join(name);
        assert_eq!(
            names(&out),
            files,
            "{name}: the same files, and no run file"
        );
        for file in &files {
            if file == "manifest.json" {
                assert_eq!(
                    timeless_manifest(&out),
                    timeless_manifest(&expected),
                    "{name}"
                );
            } else {
                let same =
                    fs::read(out.join(file)).unwrap() == fs::read(expected.join(file)).unwrap();
                assert!(same, "{name}: {file} differs from the run in memory");
            }
        }
    }
    let left: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.contains("staging") || n.ends_with(".run"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `check`'s log without times and without the line that says the cases were spilled.
fn check_log(dir: &Path, pipeline: &Path, budget: Option<&str>) -> Vec<String> {
    let mut cmd = outcomes(dir);
    cmd.env_remove("OUTCOMES_MEMORY_BUDGET")
        .env("TMPDIR", dir.join("tmp"))
        .arg("check")
        .arg(pipeline)
        .args(["--as-of", "2025-06-30"]);
    if let Some(size) = budget {
        cmd.args(["--memory-budget", size]);
    }
    let output = cmd.output().unwrap();
    assert!(matches!(output.status.code(), Some(0 | 3)));
    assert_eq!(runs_in(&output) > 0, budget.is_some());
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.contains("sorted on disk"))
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_string())
        .collect()
}

#[test]
fn check_counts_the_same_with_a_spill_and_leaves_no_temporary_folder() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 5_000, 23);
    fs::create_dir(dir.path().join("tmp")).unwrap();
    let in_memory = check_log(dir.path(), &pipeline, None);
    let spilled = check_log(dir.path(), &pipeline, Some("16K"));
    assert!(in_memory.iter().any(|l| l.contains("duplicate")));
    assert!(in_memory.iter().any(|l| l.contains("cases matched")));
    assert_eq!(spilled, in_memory);
    assert!(names(&dir.path().join("tmp")).is_empty());
}

#[test]
fn a_budget_that_is_not_a_size_is_a_usage_error_naming_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = common::synth(dir.path(), 200, 5);
    for (option, variable, names) in [
        (Some("512"), None, "--memory-budget 512"),
        (Some("0M"), None, "--memory-budget 0M"),
        (Some("99999999999T"), None, "--memory-budget 99999999999T"),
        (None, Some("lots"), "OUTCOMES_MEMORY_BUDGET lots"),
    ] {
        let mut cmd = outcomes(dir.path());
        cmd.env_remove("OUTCOMES_MEMORY_BUDGET")
            .arg("run")
            .arg(&pipeline)
            .args(["--out", "out"]);
        if let Some(size) = option {
            cmd.args(["--memory-budget", size]);
        }
        if let Some(size) = variable {
            cmd.env("OUTCOMES_MEMORY_BUDGET", size);
        }
        let output = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{err}");
        assert!(err.contains(names), "{err}");
        assert!(err.contains("512M or 2G"), "{err}");
        assert!(!dir.path().join("out").exists());
    }
}

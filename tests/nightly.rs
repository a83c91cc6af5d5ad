//! Unattended runs (SPEC §9): `--if-changed`, the lock, and outputs that survive `kill -9`.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;

fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("outcomes")
}

fn spawn_run(dir: &Path, pipeline: &Path, out: &str, as_of: &str) -> Child {
    spawn_run_within(dir, pipeline, out, as_of, None)
}

/// `spawn_run` with a memory budget (`OUTCOMES_MEMORY_BUDGET`), the default when `None`.
fn spawn_run_within(
    dir: &Path,
    pipeline: &Path,
    out: &str,
    as_of: &str,
    budget: Option<&str>,
) -> Child {
    let mut cmd = Command::new(binary());
    cmd.env_remove("OUTCOMES_MEMORY_BUDGET");
    if let Some(budget) = budget {
        cmd.env("OUTCOMES_MEMORY_BUDGET", budget);
    }
    cmd.current_dir(dir)
        .arg("run")
        .arg(pipeline)
        .args(["--out", out, "--as-of", as_of, "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The output folder holds exactly one run's outputs, whole: every file the manifest lists
/// has the checksum the manifest gives, and nothing else is there.
fn assert_whole(out: &Path) -> String {
    let m = manifest(out);
    let mut listed: Vec<String> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .chain(["manifest.json".to_string()])
        .collect();
    listed.sort();
    let mut present: Vec<String> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    assert_eq!(
        present, listed,
        "the output folder holds exactly the listed outputs"
    );
    for entry in m["outputs"].as_array().unwrap() {
        let name = entry["path"].as_str().unwrap();
        let sha = outcomes::output::sha256_file(&out.join(name)).unwrap();
        assert_eq!(
            sha,
            entry["sha256"].as_str().unwrap(),
            "{name} does not belong to the manifest beside it"
        );
    }
    m["as_of"].as_str().unwrap().to_string()
}

#[test]
fn if_changed_skips_a_run_with_nothing_new_and_runs_when_an_input_changes() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 500, 11);
    // Only a clean run (exit 0) is ever skipped: keep this one under the reject limit.
    let text = fs::read_to_string(&pipeline)
        .unwrap()
        .replace("max_reject_rate = 0.05", "max_reject_rate = 1.0");
    fs::write(&pipeline, text).unwrap();
    let run = |extra: &[&str]| {
        let output = outcomes(dir.path())
            .arg("run")
            .arg(&pipeline)
            .args(["--out", "out", "--as-of", "2025-06-30"])
            .args(extra)
            .output()
            .unwrap();
        assert!(matches!(output.status.code(), Some(0) | Some(3)));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    run(&[]);
    let before = fs::read(dir.path().join("out/manifest.json")).unwrap();
    let log = run(&["--if-changed"]);
    assert!(log.contains("nothing changed"), "{log}");
    assert_eq!(
        before,
        fs::read(dir.path().join("out/manifest.json")).unwrap(),
        "no new outputs"
    );
    // Another report language is a change.
    let log = run(&["--if-changed", "--lang", "en"]);
    assert!(log.contains("changed; running"), "{log}");
    // So is an edited export.
    let export = fs::read_dir(dir.path().join("data/ngo"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut text = fs::read(&export).unwrap();
    text.extend_from_slice(b"\n");
    fs::write(&export, text).unwrap();
    let log = run(&["--if-changed", "--lang", "en"]);
    assert!(log.contains("changed; running"), "{log}");
}

/// A run with fault points set (`FAILPOINTS`, see src/fault.rs) and the memory budget
/// `budget` (the default when `None`): its exit status and stderr.
fn run_with_faults(
    dir: &Path,
    pipeline: &Path,
    out: &str,
    as_of: &str,
    faults: &str,
    budget: Option<&str>,
) -> std::process::Output {
    let mut cmd = Command::new(binary());
    cmd.env_remove("OUTCOMES_MEMORY_BUDGET");
    if let Some(budget) = budget {
        cmd.env("OUTCOMES_MEMORY_BUDGET", budget);
    }
    cmd.current_dir(dir)
        .env("FAILPOINTS", faults)
        .arg("run")
        .arg(pipeline)
        .args(["--out", out, "--as-of", as_of, "--quiet"])
        .output()
        .unwrap()
}

/// Names beside the output folder that a finished run must not leave behind.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".staging-") || n.ends_with(".old"))
        .collect()
}

#[test]
fn a_crash_at_any_fault_point_leaves_one_whole_set_of_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 2_000, 9);
    let out = dir.path().join("out");
    let status = spawn_run(dir.path(), &pipeline, "out", "2025-06-30")
        .wait()
        .unwrap();
    assert!(matches!(status.code(), Some(0) | Some(3)));
    assert_eq!(assert_whole(&out), "2025-06-30");
    // In memory, and with a budget so small that the cases are spilled in sorted runs (which a
    // crash leaves in the staging folder too): `link-run` is passed only then.
    let budgets = [None, Some("16K")];
    let points = budgets.iter().flat_map(|budget| {
        outcomes::fault::POINTS
            .iter()
            .filter(move |p| budget.is_some() || **p != "link-run")
            .map(move |p| (*budget, *p))
    });
    for (budget, point) in points {
        // Abort there, as kill -9 would: no destructor runs, nothing is cleaned up.
        let crashed = run_with_faults(
            dir.path(),
            &pipeline,
            "out",
            "2025-03-31",
            &format!("{point}=return"),
            budget,
        );
        assert_eq!(
            crashed.status.code(),
            None,
            "{point}: the run should have aborted; is the failpoints feature on? {}",
            String::from_utf8_lossy(&crashed.stderr)
        );
        let as_of = assert_whole(&out);
        let swapped = matches!(point, "after-swap" | "before-cleanup");
        assert_eq!(
            as_of,
            if swapped { "2025-03-31" } else { "2025-06-30" },
            "{point}: the previous outputs before the swap, the new ones after it"
        );
        // The next run cleans up what the crashed one left and succeeds.
        let status = spawn_run_within(dir.path(), &pipeline, "out", "2025-06-30", budget)
            .wait()
            .unwrap();
        assert!(matches!(status.code(), Some(0) | Some(3)), "{point}");
        assert_eq!(assert_whole(&out), "2025-06-30");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{point}: {:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn a_full_disk_is_exit_1_with_a_message_that_says_so_and_the_previous_outputs_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 1_000, 21);
    let out = dir.path().join("out");
    let status = spawn_run(dir.path(), &pipeline, "out", "2025-06-30")
        .wait()
        .unwrap();
    assert!(matches!(status.code(), Some(0) | Some(3)));
    for (point, budget) in [
        ("link-run", Some("8K")),
        ("after-cases-parquet", None),
        ("after-cases-parquet", Some("8K")),
        ("after-report", None),
        ("after-manifest", None),
        ("before-swap", None),
    ] {
        let full = run_with_faults(
            dir.path(),
            &pipeline,
            "out",
            "2025-03-31",
            &format!("{point}=return(enospc)"),
            budget,
        );
        let err = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(1), "{point}: {err}");
        assert!(err.contains("No space left on device"), "{point}: {err}");
        assert!(err.contains("the disk is full"), "{point}: {err}");
        if point == "link-run" {
            assert!(err.contains(".links-00001.run"), "{err}");
            assert!(err.contains("--memory-budget"), "{err}");
        }
        assert_eq!(assert_whole(&out), "2025-06-30", "{point}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{point}: {:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn a_panic_prints_one_line_and_no_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 500, 3);
    for log_format in ["text", "json"] {
        let output = Command::new(binary())
            .current_dir(dir.path())
            .env("FAILPOINTS", "after-rejects=panic(a test panic)")
            .env("RUST_BACKTRACE", "1")
            .arg("run")
            .arg(&pipeline)
            .args(["--out", "out", "--log-format", log_format])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains("internal error"), "{err}");
        for word in ["panicked", "a test panic", "backtrace", "RUST_BACKTRACE"] {
            assert!(!err.contains(word), "{log_format}: {word} in {err}");
        }
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_second_run_on_the_same_folder_is_refused_while_the_lock_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 2_000, 9);
    // Hold the lock beside the output folder, as a running run does.
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join(".out.lock"))
        .unwrap();
    lock.lock().unwrap();
    fs::write(dir.path().join(".out.lock"), "pid 4242, started today\n").unwrap();
    let second = outcomes(dir.path())
        .arg("run")
        .arg(&pipeline)
        .args(["--out", "out"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another outcomes run") && err.contains("pid 4242"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
    assert!(leftovers(dir.path()).is_empty());
    // --if-changed waits for the lock like any run: it reads no half-written manifest.
    let if_changed = outcomes(dir.path())
        .arg("run")
        .arg(&pipeline)
        .args(["--out", "out", "--if-changed"])
        .output()
        .unwrap();
    assert_eq!(if_changed.status.code(), Some(1));
    drop(lock);
    let third = outcomes(dir.path())
        .arg("run")
        .arg(&pipeline)
        .args(["--out", "out"])
        .output()
        .unwrap();
    assert!(
        matches!(third.status.code(), Some(0) | Some(3)),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
}

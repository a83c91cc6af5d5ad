//! Unattended runs (SPEC §9): `--if-changed`, the lock, and outputs that survive `kill -9`.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("outcomes")
}

fn spawn_run(dir: &Path, pipeline: &Path, out: &str, as_of: &str) -> Child {
    Command::new(binary())
        .current_dir(dir)
        .arg("run")
        .arg(pipeline)
        .args(["--out", out, "--as-of", as_of, "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The output folder holds exactly one run's outputs, whole: every file the manifest lists
/// has the checksum the manifest gives.
fn assert_whole(out: &Path) -> String {
    let m = manifest(out);
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

#[test]
fn a_second_run_on_the_same_folder_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 60_000, 5);
    let mut first = spawn_run(dir.path(), &pipeline, "out", "2025-06-30");
    // Wait until the first run has taken the lock (its staging folder appears).
    let started = Instant::now();
    while !fs::read_dir(dir.path()).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".out.staging-")
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = outcomes(dir.path())
        .arg("run")
        .arg(&pipeline)
        .args(["--out", "out"])
        .output()
        .unwrap();
    let status = first.wait().unwrap();
    assert!(matches!(status.code(), Some(0) | Some(3)));
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another outcomes run") && err.contains(&format!("pid {}", first.id())),
        "{err}"
    );
}

#[test]
fn kill_9_at_any_moment_leaves_one_whole_set_of_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 40_000, 9);
    let out = dir.path().join("out");
    // A first, complete run.
    let status = spawn_run(dir.path(), &pipeline, "out", "2025-06-30")
        .wait()
        .unwrap();
    assert!(matches!(status.code(), Some(0) | Some(3)));
    assert_eq!(assert_whole(&out), "2025-06-30");
    // Measure how long a run takes, then kill later runs (with other outputs) at points
    // spread over it: during ingest, measures, writing, and around the swap.
    let started = Instant::now();
    spawn_run(dir.path(), &pipeline, "timing", "2025-03-31")
        .wait()
        .unwrap();
    let full = started.elapsed();
    for tenth in [0u32, 1, 3, 5, 7, 8, 9, 10] {
        let mut run = spawn_run(dir.path(), &pipeline, "out", "2025-03-31");
        std::thread::sleep(full * tenth / 10);
        let _ = run.kill(); // SIGKILL
        let _ = run.wait();
        let as_of = assert_whole(&out);
        assert!(as_of == "2025-06-30" || as_of == "2025-03-31", "{as_of}");
    }
    // The next run cleans up after the killed ones and succeeds.
    let status = spawn_run(dir.path(), &pipeline, "out", "2025-03-31")
        .wait()
        .unwrap();
    assert!(matches!(status.code(), Some(0) | Some(3)));
    assert_eq!(assert_whole(&out), "2025-03-31");
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".staging-") || n.ends_with(".old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

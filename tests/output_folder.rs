//! The output folder is the program's own (SPEC §9): a run replaces only a folder whose every
//! file its manifest lists, refuses every other place with exit 2, and never deletes a file it
//! did not write.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// Run the sample-like synthetic pipeline into `out`; exit code and stderr.
fn run_into(dir: &Path, pipeline: &Path, out: &Path, home: Option<&Path>) -> (Option<i32>, String) {
    let mut cmd = outcomes(dir);
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let output = cmd
        .arg("run")
        .arg(pipeline)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_refused(code: Option<i32>, err: &str, words: &str) {
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(words), "{words:?} not in {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
}

#[test]
fn a_folder_with_a_stray_manifest_and_a_users_document_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 2_000, 9);
    let out = dir.path().join("folder");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("manifest.json"), "{\"note\": \"someone else's\"}").unwrap();
    fs::write(out.join("funding-letter.docx"), "a director's own letter").unwrap();
    let (code, err) = run_into(dir.path(), &pipeline, &out, None);
    assert_refused(code, &err, "not an outcomes output folder");
    assert_eq!(
        fs::read_to_string(out.join("funding-letter.docx")).unwrap(),
        "a director's own letter"
    );
    assert!(out.join("manifest.json").exists());
}

#[test]
fn an_output_folder_with_a_file_its_manifest_does_not_list_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 2_000, 9);
    let out = dir.path().join("out");
    let (code, err) = run_into(dir.path(), &pipeline, &out, None);
    assert!(matches!(code, Some(0) | Some(3)), "{err}");
    let before = fs::read(out.join("manifest.json")).unwrap();

    for stray in ["notes.txt", "~$rates.xlsx"] {
        fs::write(out.join(stray), "not the program's").unwrap();
        let (code, err) = run_into(dir.path(), &pipeline, &out, None);
        assert_refused(code, &err, stray);
        assert_eq!(
            fs::read_to_string(out.join(stray)).unwrap(),
            "not the program's"
        );
        assert_eq!(
            fs::read(out.join("manifest.json")).unwrap(),
            before,
            "outputs untouched"
        );
        fs::remove_file(out.join(stray)).unwrap();
    }

    // A listed output edited since (say, a report saved from a browser) is still the
    // program's: the folder is replaced.
    fs::write(out.join("report.html"), "edited").unwrap();
    let (code, err) = run_into(dir.path(), &pipeline, &out, None);
    assert!(matches!(code, Some(0) | Some(3)), "{err}");
    assert_ne!(
        fs::read_to_string(out.join("report.html")).unwrap(),
        "edited"
    );
}

#[test]
fn the_root_the_home_folder_and_a_file_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 2_000, 9);

    let (code, err) = run_into(dir.path(), &pipeline, Path::new("/"), None);
    assert_refused(code, &err, "root folder");

    // A home folder with the user's files in it, and an empty one: both refused.
    let home = dir.path().join("home");
    fs::create_dir(&home).unwrap();
    let (code, err) = run_into(dir.path(), &pipeline, &home, Some(&home));
    assert_refused(code, &err, "home folder");
    fs::write(home.join("diary.txt"), "mine").unwrap();
    let (code, err) = run_into(dir.path(), &pipeline, &home.join("."), Some(&home));
    assert_refused(code, &err, "home folder");
    assert_eq!(fs::read_to_string(home.join("diary.txt")).unwrap(), "mine");
    assert_eq!(fs::read_dir(&home).unwrap().count(), 1);
    assert!(
        !dir.path().join(".home.lock").exists(),
        "nothing is created beside a refused folder"
    );

    let file = dir.path().join("rates.csv");
    fs::write(&file, "a user's table").unwrap();
    let (code, err) = run_into(dir.path(), &pipeline, &file, None);
    assert_refused(code, &err, "is a file, not a folder");
    assert_eq!(fs::read_to_string(&file).unwrap(), "a user's table");
}

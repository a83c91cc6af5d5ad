//! What a user sees when something is wrong: exit codes of SPEC §8 and messages that say what,
//! where and what to do, never a panic and never personal data.

mod common;

use std::fs;
use std::path::Path;

use common::*;

const HEADER: &str = "ЕГН,Име,Вид,Открит,Приключен,Резултат";

/// A pipeline over `rows` (after a fixed header) with a fresh private key; returns its path.
fn setup(dir: &Path, rows: &[&str], extra_toml: &str) -> std::path::PathBuf {
    fs::create_dir_all(dir.join("data")).unwrap();
    let mut csv = String::from(HEADER);
    for row in rows {
        csv.push('\n');
        csv.push_str(row);
    }
    fs::write(dir.join("data/office.csv"), csv).unwrap();
    if !dir.join("test.key").exists() {
        outcomes(dir)
            .args(["keygen", "test.key"])
            .assert()
            .success();
    }
    TestPipeline::new("t")
        .set("max_reject_rate", 0.5)
        .raw(extra_toml)
        .source(
            TestSource::new("office", "data/*.csv")
                .set("region", "VAR")
                .set("child_id_scheme", "egn")
                .columns(&case_columns(
                    "ЕГН",
                    "Вид",
                    "Открит",
                    "Приключен",
                    "Резултат",
                )),
        )
        .write(dir);
    dir.join("p.toml")
}

const GOOD: &str =
    "7523169263,Тестина Примерова,prevention,01.02.2023,01.06.2023,stayed_with_family";

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

#[test]
fn a_clean_export_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &[GOOD], "");
    outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(0);
    assert!(dir.path().join("out/cases.parquet").is_file());
}

#[test]
fn a_missing_pipeline_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = outcomes(dir.path())
        .args(["run", "nope.toml"])
        .assert()
        .code(2);
    assert!(stderr_of(&a).contains("nope.toml"));
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &[GOOD], "min_cuont = 5\n");
    let a = outcomes(dir.path())
        .args(["run", "p.toml"])
        .assert()
        .code(2);
    let err = stderr_of(&a);
    assert!(err.contains("min_cuont") && err.contains("line 5"), "{err}");
}

#[test]
fn a_pattern_that_matches_nothing_names_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path(), &[GOOD], "");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace("data/*.csv", "missing/*.csv");
    fs::write(&p, text).unwrap();
    let a = outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(1);
    let err = stderr_of(&a);
    assert!(
        err.contains("no file matches") && err.contains("office"),
        "{err}"
    );
    assert!(
        !dir.path().join("out").exists(),
        "a failed run writes no outputs"
    );
}

#[test]
fn a_missing_mapped_column_names_the_file_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path(), &[GOOD], "");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace("outcome = \"Резултат\"", "outcome = \"Изход\"");
    fs::write(&p, text).unwrap();
    let a = outcomes(dir.path())
        .args(["run", "p.toml"])
        .assert()
        .code(1);
    let err = stderr_of(&a);
    assert!(
        err.contains("office.csv") && err.contains("\"Изход\""),
        "{err}"
    );
}

#[test]
fn key_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &[GOOD], "");
    // keygen never overwrites.
    outcomes(dir.path())
        .args(["keygen", "test.key"])
        .assert()
        .code(2);
    // A key others can read is refused, with the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("test.key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let a = outcomes(dir.path())
            .args(["run", "p.toml"])
            .assert()
            .code(2);
        assert!(stderr_of(&a).contains("chmod 600"));
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    }
    // A missing key says how to make one.
    let a = outcomes(dir.path())
        .args(["run", "p.toml", "--key-file", "none.key"])
        .assert()
        .code(2);
    assert!(stderr_of(&a).contains("outcomes keygen"));
    // A file that is not a key.
    fs::write(dir.path().join("short.key"), "abcd\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            dir.path().join("short.key"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let a = outcomes(dir.path())
        .args(["run", "p.toml", "--key-file", "short.key"])
        .assert()
        .code(2);
    assert!(stderr_of(&a).contains("64 hexadecimal"));
}

#[test]
fn too_many_rejects_exit_3_with_outputs_written() {
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        &[
            GOOD,
            "7523169264,Тестина Примерова,prevention,01.02.2023,,",
            "8032056031,Тестан Измислев,prevention,31.02.2023,,",
        ],
        "",
    );
    let a = outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(3);
    assert!(stderr_of(&a).contains("max_reject_rate"));
    let m = manifest(&dir.path().join("out"));
    assert_eq!(m["exit_status"], 3);
    assert_eq!(m["status"], "reject_rate_exceeded");
    assert_eq!(m["sources_over_reject_limit"][0], "office");
}

#[test]
fn every_reject_reason_is_reported_without_the_value_of_an_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        GOOD,
        "7523169264,Тестина Примерова,prevention,01.02.2023,,", // check digit
        ",Тестина Примерова,prevention,01.02.2023,,",           // missing child
        "8032056031,Тестан Измислев,prevention,31.02.2023,,",   // impossible date
        "8032056031,Тестан Измислев,prevention,someday,,",      // unparseable date
        "8032056031,Тестан Измислев,prevention,01.02.2026,,",   // after as-of
        "8032056031,Тестан Измислев,prevention,01.02.2023,01.01.2023,stayed_with_family", // closed before opened
        "8032056031,Тестан Измислев,преглед,01.02.2023,,", // unknown case type
        "8032056031,Тестан Измислев,prevention,01.03.2023,01.04.2023,Неясно", // unknown outcome
        "8032056031,Тестан Измислев,prevention,01.04.2023,01.05.2023,reunified", // not applicable
        "8032056031,Тестан Измислев,prevention,01.05.2023,01.06.2023,", // closed, no outcome
        "8032056031,Тестан Измислев,prevention",           // column count
    ];
    setup(dir.path(), &rows, "");
    outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(3);
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    for reason in [
        "invalid_child_id",
        "missing_required",
        "impossible_date",
        "unparseable_date",
        "date_after_as_of",
        "closed_before_opened",
        "unknown_label",
        "outcome_not_applicable",
        "missing_outcome",
        "wrong_column_count",
    ] {
        assert!(
            rejects.contains(reason),
            "{reason} missing from:\n{rejects}"
        );
    }
    for secret in ["7523169264", "8032056031", "Тестина", "Тестан", "Примерова"]
    {
        assert!(
            !rejects.contains(secret),
            "an identifier or name reached rejects.csv"
        );
    }
    // No value is quoted, not even a label (SPEC §2): the line says where to map it.
    assert!(
        !rejects.contains("Неясно") && !rejects.contains("преглед"),
        "{rejects}"
    );
    assert!(rejects.contains("[sources.values.outcome]"), "{rejects}");
    let m = manifest(&dir.path().join("out"));
    let (read, accepted, rejected, _) = assert_accounting_balances(&m);
    assert_eq!((read, accepted, rejected), (12, 1, 11));
}

#[test]
fn synth_programme_options_go_together_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let synth = |extra: &[&str]| {
        let a = outcomes(dir.path())
            .args(["synth", "--out", "data", "--rows", "100"])
            .args(extra)
            .assert()
            .code(2);
        stderr_of(&a)
    };
    let err = synth(&["--programme-regions", "VAR,DOB", "--programme-effect", "-8"]);
    assert!(err.contains("--programme-from"), "{err}");
    let err = synth(&["--programme-from", "2016"]);
    assert!(
        err.contains("--programme-regions") && err.contains("--programme-effect"),
        "{err}"
    );
    let all = |regions: &'static str, effect: &'static str, from: &'static str| {
        [
            "--programme-regions",
            regions,
            "--programme-effect",
            effect,
            "--programme-from",
            from,
        ]
    };
    let err = synth(&all("VAR,XYZ", "8", "2016"));
    assert!(err.contains("\"XYZ\" is not an oblast code"), "{err}");
    let err = synth(&all("VAR", "60", "2016"));
    assert!(err.contains("between -50 and 50"), "{err}");
    let err = synth(&all("VAR", "8", "2030"));
    assert!(err.contains("from 2016 to 2024"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing written on a usage error"
    );
}

#[test]
fn a_bad_as_of_date_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), &[GOOD], "");
    let a = outcomes(dir.path())
        .args(["run", "p.toml", "--as-of", "31.12.2024"])
        .assert()
        .code(2);
    assert!(stderr_of(&a).contains("YYYY-MM-DD"));
}

#[test]
fn line_numbers_are_physical_lines_in_crlf_files_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path(), &[], "");
    let rows = [
        GOOD,
        "",
        "8032056031,Тестан Измислев,prevention,31.02.2023,,",
    ];
    let text = format!("{HEADER}\r\n{}\r\n", rows.join("\r\n"));
    fs::write(dir.path().join("data/office.csv"), text).unwrap();
    outcomes(dir.path())
        .arg("run")
        .arg(&p)
        .args(["--out", "out"])
        .assert()
        .code(0);
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(
        rejects.contains("office/office.csv,4,opened,impossible_date"),
        "{rejects}"
    );
    let m = manifest(&dir.path().join("out"));
    assert_eq!(
        assert_accounting_balances(&m).0,
        2,
        "the blank line is not a row"
    );
}

#[test]
fn unknown_regions_and_undecodable_bytes_are_rejected_with_their_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("data")).unwrap();
    let mut csv = b"ID,Region,Type,Opened\n".to_vec();
    csv.extend_from_slice(b"7523169263,VAR,prevention,01.02.2023\n");
    csv.extend_from_slice(b"8032056031,Atlantis,prevention,01.02.2023\n");
    csv.extend_from_slice(b"7552010005,\xff\xfeVAR,prevention,01.02.2023\n");
    fs::write(dir.path().join("data/x.csv"), csv).unwrap();
    outcomes(dir.path())
        .args(["keygen", "k.key"])
        .assert()
        .success();
    TestPipeline::new("r")
        .set("key_file", "k.key")
        .set("max_reject_rate", 1.0)
        .source(
            TestSource::new("s", "data/*.csv")
                .set("encoding", "utf-8")
                .columns(&[
                    ("child_id", "ID"),
                    ("region", "Region"),
                    ("case_type", "Type"),
                    ("opened", "Opened"),
                ]),
        )
        .write(dir.path());
    outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(0);
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(
        rejects.contains("s/x.csv,3,region,unknown_region"),
        "{rejects}"
    );
    assert!(
        !rejects.contains("Atlantis") && rejects.contains("[sources.values.region]"),
        "the unknown region is not quoted; the line says where to map it: {rejects}"
    );
    assert!(
        rejects.contains("s/x.csv,4,region,undecodable"),
        "{rejects}"
    );
    assert!(
        rejects.contains("windows-1251"),
        "the message suggests the likely encoding"
    );
}

#[test]
fn offices_come_from_the_column_its_value_map_or_the_source_name() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("data")).unwrap();
    let csv = "ID,Office,Type,Opened\n\
               7523169263,ОЗД Младост,prevention,01.02.2023\n\
               8032056031,mladost,prevention,01.02.2023\n\
               7552010005,,prevention,01.02.2023\n";
    fs::write(dir.path().join("data/x.csv"), csv).unwrap();
    outcomes(dir.path())
        .args(["keygen", "k.key"])
        .assert()
        .success();
    TestPipeline::new("o")
        .set("key_file", "k.key")
        .source(
            TestSource::new("sofia", "data/*.csv")
                .set("region", "SOF")
                .columns(&[
                    ("child_id", "ID"),
                    ("office", "Office"),
                    ("case_type", "Type"),
                    ("opened", "Opened"),
                ])
                .values("office", &[("Mladost", "ОЗД Младост")]),
        )
        .write(dir.path());
    outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(0);
    let cases = read_parquet(&dir.path().join("out/cases.parquet"));
    let mut names: Vec<String> = cases.strings("office").into_iter().flatten().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["sofia", "ОЗД Младост", "ОЗД Младост"],
        "mapped label, raw name, source name"
    );
}

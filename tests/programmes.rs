//! Programmes (SPEC §10) through the real binary: the pipeline's `[[programmes]]` checked before
//! any data moves, what `check` says each listed name matched, a programme matching nothing,
//! and `programmes.parquet` on synthetic exports with a simulated programme.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{manifest, outcomes, read_parquet, synth_with_programme};

/// The synthetic pipeline with its programme block replaced by `block`.
fn with_programme(pipeline: &Path, block: &str) -> PathBuf {
    let text = fs::read_to_string(pipeline).unwrap();
    let cut = text
        .find("[[programmes]]")
        .expect("synth wrote a programme");
    let path = pipeline.with_file_name("edited.toml");
    fs::write(&path, format!("{}{block}\n", &text[..cut])).unwrap();
    path
}

/// (numerator, denominator) as read from a file.
type Counts = (Option<i64>, Option<i64>);

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn programmes_parquet_splits_every_national_row_between_programme_and_rest() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 20_000, 9091);
    let out = dir.path().join("out");
    let result = outcomes(dir.path())
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--as-of", "2025-06-30", "--quiet"])
        .output()
        .unwrap();
    assert!(
        matches!(result.status.code(), Some(0 | 3)),
        "{}",
        stderr(&result)
    );

    let table = read_parquet(&out.join("programmes.parquet"));
    assert_eq!(
        table.get_column_names(),
        [
            "programme",
            "group",
            "measure",
            "year",
            "period",
            "numerator",
            "denominator",
            "rate",
            "ci_low",
            "ci_high",
            "status"
        ]
    );
    let names = table.strings("programme");
    assert!(
        names
            .iter()
            .all(|n| n.as_deref() == Some("synth-programme"))
    );
    let groups = table.strings("group");
    let measures = table.strings("measure");
    let periods = table.strings("period");
    let statuses = table.strings("status");
    let years = table.ints("year");
    let numerators = table.ints("numerator");
    let denominators = table.ints("denominator");
    for group in [
        "programme",
        "comparison",
        "difference",
        "difference_in_differences",
    ] {
        assert!(
            groups.iter().any(|g| g.as_deref() == Some(group)),
            "no {group} rows"
        );
    }
    // A row is a year row or a period row, never both; differences are period rows only.
    for i in 0..table.height() {
        assert!(years[i].is_some() != periods[i].is_some(), "row {i}");
        if groups[i]
            .as_deref()
            .is_some_and(|g| g.starts_with("difference"))
        {
            assert!(periods[i].is_some() && numerators[i].is_none() && denominators[i].is_none());
        }
        if statuses[i].as_deref() != Some("ok") && statuses[i].as_deref() != Some("no_data") {
            assert!(numerators[i].is_none(), "a withheld row has no numbers");
        }
    }

    // Where the programme, its comparison ("rest") and the national row are all published,
    // programme + comparison = national (SPEC §10: groups are disjoint by child).
    let rates = read_parquet(&out.join("rates.parquet"));
    let mut national = HashMap::new();
    let (r_measure, r_region, r_year) = (
        rates.strings("measure"),
        rates.strings("region"),
        rates.ints("year"),
    );
    let (r_num, r_den, r_status) = (
        rates.ints("numerator"),
        rates.ints("denominator"),
        rates.strings("status"),
    );
    for i in 0..rates.height() {
        if r_region[i].as_deref() == Some("BG") && r_status[i].as_deref() == Some("ok") {
            national.insert((r_measure[i].clone(), r_year[i]), (r_num[i], r_den[i]));
        }
    }
    let mut groups_by_key: HashMap<_, HashMap<String, Counts>> = HashMap::new();
    for i in 0..table.height() {
        if years[i].is_some() && statuses[i].as_deref() == Some("ok") {
            groups_by_key
                .entry((measures[i].clone(), years[i]))
                .or_default()
                .insert(groups[i].clone().unwrap(), (numerators[i], denominators[i]));
        }
    }
    let mut checked = 0;
    for (key, by_group) in &groups_by_key {
        if let (Some(p), Some(c), Some(n)) = (
            by_group.get("programme"),
            by_group.get("comparison"),
            national.get(key),
        ) {
            let add = |a: Option<i64>, b: Option<i64>| a.zip(b).map(|(a, b)| a + b);
            assert_eq!((add(p.0, c.0), add(p.1, c.1)), *n, "{key:?}");
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "only {checked} (measure, year) triples were all published"
    );

    // Described in the file's metadata and in the manifest, and listed with its checksum.
    let m = manifest(&out);
    let programme = &m["programmes"][0];
    assert_eq!(programme["name"], "synth-programme");
    assert_eq!(programme["regions"], serde_json::json!(["VAR", "DOB"]));
    assert_eq!(programme["start"], "2019-01-01");
    assert_eq!(programme["comparison"], "rest");
    let listed = m["outputs"].as_array().unwrap().iter().find(|o| {
        o["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("programmes.parquet"))
    });
    let sha = listed.expect("programmes.parquet is in the manifest")["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        sha,
        outcomes::output::sha256_file(&out.join("programmes.parquet")).unwrap()
    );
    let file = fs::File::open(out.join("programmes.parquet")).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    let kv = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    let described = kv
        .iter()
        .find(|kv| kv.key == outcomes::output::PROGRAMMES_METADATA_KEY)
        .and_then(|kv| kv.value.clone())
        .expect("the programmes are described in the key-value metadata");
    let described: serde_json::Value = serde_json::from_str(&described).unwrap();
    assert_eq!(described[0], m["programmes"][0]);

    // The same inputs, key and date give the same file.
    let again = dir.path().join("again");
    outcomes(dir.path())
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ])
        .args(["--as-of", "2025-06-30", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(
        fs::read(out.join("programmes.parquet")).unwrap(),
        fs::read(again.join("programmes.parquet")).unwrap()
    );
}

#[test]
fn check_says_what_each_listed_name_matched() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 3_000, 77);
    let edited = with_programme(
        &pipeline,
        "[[programmes]]\nname = \"p\"\nregions = [\"VAR\"]\noffices = [\"ОЗД Никъде\"]\nstart = \"2019-01-01\"\n",
    );
    let result = outcomes(dir.path())
        .args(["check", edited.to_str().unwrap()])
        .output()
        .unwrap();
    let console = stderr(&result);
    assert!(matches!(result.status.code(), Some(0 | 3)), "{console}");
    let matched = console
        .lines()
        .find(|l| l.contains("programme p:"))
        .expect("a line for the programme");
    assert!(matched.contains("cases matched"), "{matched}");
    assert!(console.contains("regions: \"VAR\":"), "{console}");
    assert!(
        console
            .lines()
            .any(|l| l.contains("WARN") && l.contains("\"ОЗД Никъде\" matched no case")),
        "{console}"
    );
}

#[test]
fn a_programme_that_matches_nothing_warns_in_check_and_stops_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 3_000, 78);
    let edited = with_programme(
        &pipeline,
        "[[programmes]]\nname = \"typo\"\noffices = [\"ОЗД Врана\"]\nstart = \"2019-01-01\"\n",
    );
    let check = outcomes(dir.path())
        .args(["check", edited.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(matches!(check.status.code(), Some(0 | 3)));
    assert!(
        stderr(&check).contains("programme typo: matched no case"),
        "{}",
        stderr(&check)
    );

    let out = dir.path().join("out");
    let run = outcomes(dir.path())
        .args([
            "run",
            edited.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("programme typo matched no case"),
        "{}",
        stderr(&run)
    );
    assert!(!out.join("programmes.parquet").exists() && !out.join("report.html").exists());
}

#[test]
fn programmes_are_checked_before_any_data_moves() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 500, 79);
    for (block, says) in [
        (
            "name = \"p\"\nregions = [\"XYZ\"]\nstart = \"2019-01-01\"",
            "\"XYZ\" is not an oblast code",
        ),
        (
            "name = \"p\"\nsources = [\"nowhere\"]\nstart = \"2019-01-01\"",
            "\"nowhere\" is not a source",
        ),
        (
            "name = \"p\"\nmunicipalities = [\"Бяла\"]\nstart = \"2019-01-01\"",
            "Бяла (VAR)",
        ),
        (
            "name = \"P Q\"\nregions = [\"VAR\"]\nstart = \"2019-01-01\"",
            "lowercase letters",
        ),
        (
            "name = \"p\"\nregions = [\"VAR\"]\nstart = \"2019-01-01\"\ncomparison = [\"SHU\", \"??\"]",
            "`comparison`",
        ),
    ] {
        let edited = with_programme(&pipeline, &format!("[[programmes]]\n{block}\n"));
        for command in ["check", "run"] {
            let result = outcomes(dir.path())
                .args([command, edited.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(
                result.status.code(),
                Some(2),
                "{command} {block}: {}",
                stderr(&result)
            );
            let console = stderr(&result);
            assert!(
                console.contains(says) && console.contains("[[programmes]] #1"),
                "{console}"
            );
            assert!(!console.contains("rows read"), "no data moved: {console}");
        }
    }
}

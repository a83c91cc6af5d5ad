//! `report.html` (SPEC §7) as the binary writes it: self-contained, in both languages, with
//! every section, and with text from configuration escaped.

mod common;

use std::fs;

use common::*;

fn run_sample(lang: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    outcomes(&repo())
        .args(["run", "pipelines/sample.toml", "--lang", lang, "--out"])
        .arg(&out)
        .assert()
        .success();
    fs::read_to_string(out.join("report.html")).unwrap()
}

#[test]
fn the_bulgarian_report_has_every_section() {
    let html = run_sample("bg");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"bg\">"));
    assert_self_contained(&html);
    for id in [
        "headlines",
        "trends",
        "map",
        "tables",
        "funnels",
        "reconciliation",
        "quality",
        "methodology",
        "metadata",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    assert!(html.contains("Основни показатели"));
    assert!(html.contains("Успешно приключени случаи на превенция"));
    // Bulgarian number and date conventions.
    assert!(html.contains("\u{a0}%"), "78,6 % style rates");
    assert!(html.contains("30.06.2025"), "the as-of date as 30.06.2025");
    // Charts are accessible: a title and a description each, one per measure (the
    // funnel plots and the programmes' charts come after the tables).
    let national = html.split("<section id=\"funnels\"").next().unwrap();
    assert_eq!(
        national.matches("role=\"img\"").count(),
        outcomes::measures::Measure::ALL.len() + 1,
        "a trend chart per measure and the map"
    );
    assert_eq!(
        national.matches("<desc id=").count(),
        outcomes::measures::Measure::ALL.len() + 1
    );
    // Suppressed cells are marked by a symbol, not colour alone, and footnoted.
    assert!(html.contains("class=\"suppressed\""));
    assert!(html.contains("◆ Непубликувано"));
    // The demo key is announced on the report itself.
    assert!(html.contains("публичния демонстрационен ключ"));
    // Input checksums from the manifest appear in the run metadata.
    assert!(html.contains("key_fingerprint") || html.contains("Отпечатък на ключа"));
}

#[test]
fn the_english_report_uses_english_conventions() {
    let html = run_sample("en");
    assert!(html.contains("<html lang=\"en\">"));
    assert_self_contained(&html);
    assert!(html.contains("Headline figures"));
    assert!(html.contains("30 Jun 2025"));
    assert!(
        !html.contains("Основни показатели"),
        "no Bulgarian headings in the English report"
    );
    assert!(html.contains("Prevention cases closed successfully"));
}

#[test]
fn text_from_configuration_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth(dir.path(), 400, 3);
    let text = fs::read_to_string(&pipeline)
        .unwrap()
        .replacen("name = \"synth\"", "name = \"<script>alert(1)\"", 1)
        .replacen("name = \"ngo\"", "name = \"ngo <b>&</b>\"", 1);
    fs::write(&pipeline, text).unwrap();
    let out = dir.path().join("out");
    let result = outcomes(dir.path())
        .arg("run")
        .arg(&pipeline)
        .arg("--out")
        .arg(&out)
        .assert();
    assert!(matches!(
        result.get_output().status.code(),
        Some(0) | Some(3)
    ));
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("<script>"),
        "markup from the pipeline file reached the report"
    );
    assert!(!html.contains("<b>&</b>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(
        html.contains("ngo &lt;b&gt;&amp;&lt;&#x2f;b&gt;")
            || html.contains("ngo &lt;b&gt;&amp;&lt;/b&gt;")
    );
}

#[test]
fn the_report_is_byte_identical_for_the_same_inputs() {
    assert_eq!(run_sample("bg"), run_sample("bg"));
}

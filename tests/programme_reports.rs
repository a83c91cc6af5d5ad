//! SPEC §10's reports as the binary writes them: report.html's Programmes section and each
//! programme's funder reports in both languages, self-contained, listed in the manifest, free
//! of personal data, and showing every withheld figure as withheld, never as a number.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use common::*;
use sha2::{Digest, Sha256};

const NAME: &str = "sofia";

/// Synthetic exports with a programme in Sofia (enough cases for some figures to be published
/// and others withheld), run with `--lang en`; the pipeline's path and the output folder.
fn run_with_programme(dir: &Path) -> (PathBuf, PathBuf) {
    let pipeline = synth(dir, 15_000, 77);
    let mut text = fs::read_to_string(&pipeline).unwrap();
    text.push_str(&format!(
        "\n[[programmes]]\nname = \"{NAME}\"\ntitle = \"Family counsellors <Sofia & co>\"\n\
         regions = [\"SOF\"]\nstart = \"2019-01-01\"\n"
    ));
    fs::write(&pipeline, text).unwrap();
    let out = dir.join("out");
    let result = outcomes(dir)
        .arg("run")
        .arg(&pipeline)
        .args(["--lang", "en", "--out"])
        .arg(&out)
        .assert();
    let code = result.get_output().status.code();
    assert!(matches!(code, Some(0) | Some(3)), "exit code {code:?}");
    (pipeline, out)
}

fn read(out: &Path, file: &str) -> String {
    fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The text of the cell with `id`, tags removed (`None` when there is no such cell).
fn cell_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</td>")?;
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[open_end..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text)
}

#[test]
fn programme_reports_are_written_in_both_languages_listed_and_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, out) = run_with_programme(dir.path());

    let report = read(&out, "report.html");
    assert!(report.contains("<section id=\"programmes\">"));
    assert!(report.contains(&format!("<article id=\"programme-{NAME}\">")));
    assert!(report.contains("<a href=\"#programmes\">Programmes</a>"));
    // The title comes from the pipeline file: escaped, never markup.
    assert!(report.contains("Family counsellors &lt;Sofia &amp; co&gt;"));
    assert!(!report.contains("<Sofia"));

    let manifest = manifest(&out);
    let outputs = manifest["outputs"].as_array().expect("outputs");
    let pseudonyms: Vec<String> = {
        let cases = read_parquet(&out.join("cases.parquet"));
        ["child", "family", "case"]
            .iter()
            .flat_map(|c| cases.strings(c))
            .flatten()
            .collect()
    };
    assert!(pseudonyms.len() > 1000);
    let sensitive: Vec<String> = sensitive_values(&pipeline).into_iter().collect();
    assert!(
        sensitive.len() > 100,
        "the exports have personal data to look for"
    );

    for (lang, heading) in [
        ("bg", "Какво показват числата"),
        ("en", "What the figures show"),
    ] {
        let file = format!("programme-{NAME}-{lang}.html");
        let html = read(&out, &file);
        assert!(html.starts_with("<!DOCTYPE html>"), "{file}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{file}");
        assert!(html.contains(heading), "{file} is in its own language");
        assert!(html.contains("@page { size: A4"), "{file} prints on A4");
        assert_self_contained(&html);
        assert!(!html.contains("https://"));
        assert!(html.contains("Family counsellors &lt;Sofia &amp; co&gt;"));
        assert!(!html.contains("<Sofia"));
        // The start is marked on the chart.
        assert!(html.contains("class=\"marker\""), "{file}");

        // Listed in the manifest with its checksum.
        let entry = outputs
            .iter()
            .find(|o| o["path"] == file.as_str())
            .unwrap_or_else(|| panic!("{file} is not in the manifest's outputs"));
        let sha = format!("{:x}", Sha256::digest(html.as_bytes()));
        assert_eq!(entry["sha256"], sha.as_str(), "{file}");

        assert_eq!(count_leaks(&pseudonyms, &html), 0, "pseudonyms in {file}");
        assert_eq!(
            count_leaks(&sensitive, &html),
            0,
            "values from the exports in {file}"
        );
    }
    assert_eq!(
        count_leaks(&pseudonyms, &report),
        0,
        "pseudonyms in report.html"
    );
    assert_eq!(
        count_leaks(&sensitive, &report),
        0,
        "values from the exports in report.html"
    );
}

#[test]
fn a_withheld_figure_shows_as_withheld_never_as_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = run_with_programme(dir.path());
    let report = read(&out, "report.html");
    let table = read_parquet(&out.join("programmes.parquet"));
    let strings = |name: &str| table.strings(name);
    let (group, measure, period, status) = (
        strings("group"),
        strings("measure"),
        strings("period"),
        strings("status"),
    );
    let rates: Vec<Option<f64>> = table
        .batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("rate")
                .expect("a rate column")
                .as_primitive::<Float64Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect();

    let (mut withheld, mut published) = (0, 0);
    for i in 0..table.height() {
        let (Some(group), Some(measure), Some(period), Some(status)) =
            (&group[i], &measure[i], &period[i], &status[i])
        else {
            continue; // a year row: not in the period table
        };
        let id = format!("{NAME}-{measure}-{period}-{group}");
        let Some(text) = cell_text(&report, &id) else {
            // A measure with no data at all has no table; every other one does.
            assert_eq!(status, "no_data", "{id} is missing from the period table");
            continue;
        };
        match status.as_str() {
            "suppressed_primary" | "suppressed_secondary" => {
                withheld += 1;
                assert_eq!(text, "◆", "{id} is withheld: {text}");
            }
            "ok" => {
                published += 1;
                let rate = rates[i].expect("an ok row has a rate");
                let shown = match group.as_str() {
                    "programme" | "comparison" => format!("{:.1}%", rate * 100.0),
                    _ => format!("{:.1}", (rate * 1000.0).round().abs() / 10.0),
                };
                assert!(text.contains(&shown), "{id}: {text} should show {shown}");
            }
            "no_data" => assert_eq!(text, "—", "{id} has no data: {text}"),
            other => panic!("{id}: a period row is never {other}"),
        }
    }
    assert!(
        withheld > 0 && published > 0,
        "{withheld} withheld, {published} published"
    );

    // The words say a withheld headline is withheld, and why, in both languages.
    let findings = |html: &str| -> Vec<String> {
        html.split("<li")
            .skip(1)
            .filter_map(|li| li.split("</li>").next())
            .map(str::to_string)
            .collect()
    };
    let said = findings(&read(&out, &format!("programme-{NAME}-en.html")));
    assert!(
        said.iter()
            .any(|s| s.contains("withheld so that subtracting one published figure")),
        "{said:#?}"
    );
    let said = findings(&read(&out, &format!("programme-{NAME}-bg.html")));
    assert!(
        said.iter().any(|s| s.contains("не се публикува")),
        "{said:#?}"
    );
}

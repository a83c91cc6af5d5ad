//! SPEC §2 (amended): a reject line never quotes a value; unmapped labels are listed once, at
//! the end of the run, and only when the column looks like labels; a wrongly mapped column of
//! names, addresses, birth dates or notes leaves no trace of its values anywhere.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// Write `csv` as `data/x.csv` with a fresh key beside it.
fn export(dir: &Path, csv: &str) {
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(dir.join("data/x.csv"), csv).unwrap();
    outcomes(dir)
        .args(["keygen", "test.key"])
        .assert()
        .success();
}

#[test]
fn no_reject_line_quotes_a_value_of_any_field() {
    let dir = tempfile::tempdir().unwrap();
    let header = "ID,Region,Municipality,Type,Opened,Closed,Outcome,Placement,PlRegion,Born,Sex";
    let good = "C01,VAR,,prevention,01.02.2023,,,,,,";
    // Each row holds one distinctive bad value; `values` are what must not be quoted.
    let rows = [
        "C02,Atlantisia,,prevention,01.02.2023,,,,,,",
        "C03,VAR,Xyzgrad,prevention,01.02.2023,,,,,,",
        "C04,VAR,,Qwertyprev,01.02.2023,,,,,,",
        "C05,VAR,,prevention,31.02.2023,,,,,,",
        "C06,VAR,,prevention,Zomeday,,,,,,",
        "C07,VAR,,prevention,17.03.2026,,,,,,",
        "C08,VAR,,prevention,19.08.2023,11.07.2023,stayed_with_family,,,,",
        "C09,VAR,,prevention,01.02.2023,01.03.2023,Неясноизход,,,,",
        "C10,VAR,,prevention,01.02.2023,,,Плейсмънтх,,,",
        "C11,VAR,,prevention,01.02.2023,,,,Atlantisplace,,",
        "C12,VAR,,prevention,01.02.2023,,,,,,Zexval",
        "C13,VAR,,prevention,01.02.2023,01.03.2023,Изход 1234567,,,,",
    ];
    let values = [
        "Atlantisia",
        "Xyzgrad",
        "Qwertyprev",
        "31.02.2023",
        "Zomeday",
        "17.03.2026",
        "2026-03-17",
        "19.08.2023",
        "2023-08-19",
        "11.07.2023",
        "2023-07-11",
        "Неясноизход",
        "Плейсмънтх",
        "Atlantisplace",
        "Zexval",
        "1234567",
        "Изход",
    ];
    export(
        dir.path(),
        &format!("{header}\n{good}\n{}\n", rows.join("\n")),
    );
    TestPipeline::new("p")
        .set("max_reject_rate", 1.0)
        .source(TestSource::new("s", "data/*.csv").columns(&[
            ("child_id", "ID"),
            ("region", "Region"),
            ("municipality", "Municipality"),
            ("case_type", "Type"),
            ("opened", "Opened"),
            ("closed", "Closed"),
            ("outcome", "Outcome"),
            ("placement_type", "Placement"),
            ("placement_region", "PlRegion"),
            ("birth_date", "Born"),
            ("sex", "Sex"),
        ]))
        .write(dir.path());
    outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .assert()
        .code(0);
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert_eq!(rejects.lines().count(), 1 + rows.len(), "{rejects}");
    for value in values {
        assert!(!rejects.contains(value), "{value} is quoted in:\n{rejects}");
    }
    // Each line names the file, the line, the column, the reason and the rule.
    for (line, column, reason, rule) in [
        (3, "Region", "unknown_region", "[sources.values.region]"),
        (
            4,
            "Municipality",
            "unknown_label",
            "[sources.values.municipality]",
        ),
        (5, "Type", "unknown_label", "[sources.values.case_type]"),
        (6, "Opened", "impossible_date", "%d.%m.%Y"),
        (7, "Opened", "unparseable_date", "%d.%m.%Y"),
        (8, "Opened", "date_after_as_of", "2024-12-31"),
        (9, "Closed", "closed_before_opened", "\"\"Opened\"\""),
        (10, "Outcome", "unknown_label", "[sources.values.outcome]"),
        (
            11,
            "Placement",
            "unknown_label",
            "[sources.values.placement_type]",
        ),
        (
            12,
            "PlRegion",
            "unknown_region",
            "[sources.values.placement_region]",
        ),
        (13, "Sex", "unknown_label", "[sources.values.sex]"),
    ] {
        let row = rejects
            .lines()
            .find(|l| l.starts_with(&format!("s/x.csv,{line},")))
            .unwrap_or_else(|| panic!("no reject for line {line}:\n{rejects}"));
        assert!(row.contains(reason), "{row}");
        assert!(row.contains(&format!("\"\"{column}\"\"")), "{row}");
        assert!(row.contains(rule), "{row}");
    }
}

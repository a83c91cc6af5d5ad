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
    if !dir.join("test.key").exists() {
        outcomes(dir)
            .args(["keygen", "test.key"])
            .assert()
            .success();
    }
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

/// Stderr of `outcomes ARGS` in `dir`, which must exit with `code`.
fn stderr_of(dir: &Path, args: &[&str], code: i32) -> String {
    let output = outcomes(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    stderr
}

/// The pipeline of `label_export`: outcome and case type mapped, region fixed.
fn label_pipeline(dir: &Path) {
    TestPipeline::new("p")
        .set("max_reject_rate", 1.0)
        .source(
            TestSource::new("office", "data/*.csv")
                .set("region", "VAR")
                .columns(&case_columns("ID", "Type", "Opened", "Closed", "Outcome")),
        )
        .write(dir);
}

/// An export whose outcome column holds `labels` (label, rows), one row each, closed.
fn label_export(dir: &Path, labels: &[(&str, usize)]) {
    let mut csv = String::from("ID,Type,Opened,Closed,Outcome\n");
    let mut i = 0;
    for (label, n) in labels {
        for _ in 0..*n {
            i += 1;
            csv.push_str(&format!("C{i},prevention,01.02.2023,01.03.2023,{label}\n"));
        }
    }
    export(dir, &csv);
    label_pipeline(dir);
}

#[test]
fn unmapped_labels_are_listed_once_at_the_end_of_check_and_run() {
    let dir = tempfile::tempdir().unwrap();
    label_export(
        dir.path(),
        &[
            ("stayed_with_family", 3),
            ("Неясно", 6),
            ("Друго нещо", 5),
            ("Рядко", 2),
            ("Решение 1234567", 7),
        ],
    );
    for args in [
        &["run", "p.toml", "--out", "out"][..],
        &["check", "p.toml"],
        &["run", "p.toml", "--out", "out", "--log-format", "json"],
        &["check", "p.toml", "--quiet"],
    ] {
        let err = stderr_of(dir.path(), args, 0);
        assert_eq!(err.matches("Неясно").count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("Друго нещо").count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("4 unmapped labels in 20 rows"),
            "{args:?}: {err}"
        );
        assert!(err.contains("[sources.values.outcome]"), "{args:?}: {err}");
        assert!(err.contains("1 rarer value"), "{args:?}: {err}");
        assert!(err.contains("six or more digits"), "{args:?}: {err}");
        for never in ["Рядко", "1234567", "Решение"] {
            assert!(!err.contains(never), "{args:?}: {never} in {err}");
        }
        // Listed last: after the accounting.
        let at = err.find("Неясно").unwrap();
        assert!(err.find("rows read").is_none_or(|a| a < at), "{err}");
    }
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(!rejects.contains("Неясно"), "{rejects}");
    // The publishable report gives their number only.
    stderr_of(
        dir.path(),
        &["run", "p.toml", "--out", "en", "--lang", "en"],
        0,
    );
    let report = fs::read_to_string(dir.path().join("en/report.html")).unwrap();
    assert!(
        report.contains("Field outcome: distinct unmapped values 4, rows 20"),
        "the count is in the report"
    );
    for never in ["Неясно", "Друго нещо", "Рядко", "1234567"] {
        assert!(!report.contains(never), "{never} in report.html");
    }
}

#[test]
fn a_column_that_does_not_look_like_labels_is_counted_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..60).map(|i| format!("Синтетичен{i}")).collect();
    let rows: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 6)).collect();
    label_export(dir.path(), &rows);
    let err = stderr_of(dir.path(), &["check", "p.toml"], 0);
    assert!(
        err.contains("more than 50 distinct unmapped values in 360 rows")
            && err.contains("does not look like labels; check the mapping"),
        "{err}"
    );
    assert!(!err.contains("Синтетичен"), "{err}");

    let long = format!("Бележка {}", "дълга ".repeat(20));
    label_export(dir.path(), &[("Неясно", 6), (long.trim(), 6)]);
    let err = stderr_of(dir.path(), &["check", "p.toml"], 0);
    assert!(
        err.contains("2 distinct unmapped values in 12 rows")
            && err.contains("over 100 characters")
            && err.contains("does not look like labels"),
        "{err}"
    );
    assert!(!err.contains("Неясно") && !err.contains("дълга"), "{err}");
}

/// Synthetic people for the mis-mapped columns: 600 distinct values of each kind (more than
/// the 500 office names a source may have), made of invented words that no output contains.
struct People {
    names: Vec<String>,
    addresses: Vec<String>,
    births: Vec<String>,
    notes: Vec<String>,
}

const PEOPLE: usize = 600;

fn people() -> People {
    let first = [
        "Иванка",
        "Мария",
        "Елена",
        "Гергана",
        "Полина",
        "Калина",
        "Георги",
        "Стоян",
        "Калоян",
        "Никола",
        "Пламен",
        "Тодор",
        "Ясен",
        "Цветан",
        "Симона",
        "Радост",
        "Виктор",
        "Деян",
        "Бисер",
        "Росица",
    ];
    let stems = [
        "Синтетич",
        "Фиктивн",
        "Измисленч",
        "Макетч",
        "Шаблонч",
        "Хипотетич",
        "Мнимч",
        "Небивалч",
        "Сънувач",
        "Химерч",
        "Миражн",
        "Илюзорн",
        "Призрачн",
        "Виртуалч",
        "Фантомч",
        "Ефирнич",
        "Мъглявч",
        "Въздушн",
        "Облачн",
        "Сенчест",
        "Ехотич",
        "Отразч",
        "Прозрачн",
        "Безплътн",
        "Невидимч",
        "Измамн",
        "Привидн",
        "Сънлив",
        "Бленув",
        "Копнежн",
    ];
    let streets = [
        "Несъществуваща",
        "Въображаема",
        "Фантазийна",
        "Нереалистична",
        "Мечтателна",
        "Небивалата",
        "Илюзорната",
        "Безименната",
        "Измислената",
        "Приказната",
    ];
    let markers = [
        "Кварцитово",
        "Лазуритово",
        "Малахитово",
        "Обсидианово",
        "Турмалиново",
        "Ахатово",
    ];
    let mut p = People {
        names: Vec::new(),
        addresses: Vec::new(),
        births: Vec::new(),
        notes: Vec::new(),
    };
    for i in 0..PEOPLE {
        p.names
            .push(format!("{} {}ева", first[i % 20], stems[i / 20]));
        p.addresses.push(format!(
            "ул. {} {}, ап. {}",
            streets[i % 10],
            i / 10 + 1,
            i % 7 + 1
        ));
        p.births.push(format!(
            "{:02}.{:02}.{}",
            i % 28 + 1,
            i / 28 % 12 + 1,
            2010 + i / 336
        ));
        p.notes
            .push(format!("{}: посещение {} в дома", markers[i % 6], i / 6));
    }
    p
}

/// Everything a run wrote or said, as text: every output file (and the strings of the
/// Parquet files and the text cells of the workbook), stdout and stderr.
fn everything(out: &Path, stdout: &[u8], stderr: &[u8]) -> String {
    let mut all = String::from_utf8_lossy(stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(stderr));
    if let Ok(entries) = fs::read_dir(out) {
        for entry in entries {
            let path = entry.unwrap().path();
            all.push_str(&String::from_utf8_lossy(&fs::read(&path).unwrap()));
            if path.extension().is_some_and(|e| e == "parquet") {
                all.push_str(&parquet_strings(&path).join("\n"));
            }
            if path.extension().is_some_and(|e| e == "xlsx") {
                all.push_str(&xlsx_strings(&path).join("\n"));
            }
        }
    }
    all
}

/// A column of names, addresses, birth dates or notes mapped by mistake as a label field or
/// as `office`, with values that repeat as real names do (600 distinct over 6,000 rows):
/// none of them reaches an output, a reject line, the console or a JSON log.
#[test]
fn a_mis_mapped_personal_column_leaves_no_trace_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = people();
    let mut csv = String::from(
        "ID,Name,Address,Born,Notes,Type,Opened,Closed,Outcome,Placement,Region,Municipality,Office\n",
    );
    for i in 0..6_000 {
        let k = i % PEOPLE;
        csv.push_str(&format!(
            "C{i},{},\"{}\",{},{},prevention,01.02.2023,01.06.2023,stayed_with_family,foster_care,VAR,Варна,ОЗД Варна\n",
            p.names[k], p.addresses[k], p.births[k], p.notes[k]
        ));
    }
    export(dir.path(), &csv);
    let words: Vec<&str> = p
        .names
        .iter()
        .chain(&p.addresses)
        .chain(&p.births)
        .chain(&p.notes)
        .map(String::as_str)
        .chain(p.names.iter().filter_map(|n| n.split(' ').nth(1)))
        .chain(p.addresses.iter().filter_map(|a| a.split(' ').nth(1)))
        .chain(p.notes.iter().filter_map(|n| n.split(':').next()))
        .collect();
    let leaks = aho_corasick::AhoCorasick::new(&words).unwrap();
    for field in [
        "outcome",
        "case_type",
        "placement_type",
        "region",
        "municipality",
        "office",
    ] {
        for column in ["Name", "Address", "Born", "Notes"] {
            let mut columns = vec![
                ("child_id", "ID"),
                ("case_type", "Type"),
                ("opened", "Opened"),
                ("closed", "Closed"),
                ("outcome", "Outcome"),
                ("placement_type", "Placement"),
                ("region", "Region"),
                ("municipality", "Municipality"),
                ("office", "Office"),
            ];
            columns.iter_mut().find(|(f, _)| *f == field).unwrap().1 = column;
            TestPipeline::new("p")
                .set("max_reject_rate", 1.0)
                .source(TestSource::new("office", "data/*.csv").columns(&columns))
                .write(dir.path());
            let out = dir.path().join("out");
            let _ = fs::remove_dir_all(&out);
            for args in [
                &["run", "p.toml", "--out", "out"][..],
                &["run", "p.toml", "--out", "out", "--log-format", "json"],
                &["check", "p.toml"],
            ] {
                let o = outcomes(dir.path()).args(args).output().unwrap();
                let all = everything(&out, &o.stdout, &o.stderr);
                let what = format!("{column} mapped as {field}, {args:?}");
                if let Some(m) = leaks.find(&all) {
                    panic!("{what}: {:?} leaked", &words[m.pattern().as_usize()]);
                }
                let stderr = String::from_utf8_lossy(&o.stderr);
                if field == "office" {
                    assert_eq!(o.status.code(), Some(1), "{what}: {stderr}");
                    // It names the file, the source and the column (quoted, or escaped in JSON).
                    assert!(
                        stderr.contains("does not look like office names")
                            && stderr.contains("x.csv")
                            && (stderr.contains("source \\\"office\\\"")
                                || stderr.contains("source \"office\""))
                            && stderr.contains(column),
                        "{what}: {stderr}"
                    );
                } else {
                    assert_eq!(o.status.code(), Some(0), "{what}: {stderr}");
                    assert!(
                        stderr.contains("does not look like labels"),
                        "{what}: {stderr}"
                    );
                }
            }
        }
    }
}

/// Office names go into `cases.parquet`: a source may have 500 of them (after its value map),
/// and one more is a whole-file error that names no value.
#[test]
fn an_office_column_with_more_than_500_names_is_a_whole_file_error() {
    for (offices, code) in [(500, 0), (501, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("ID,Type,Opened,Office\n");
        // `offices` names in all: one of them spelt 50 ways, which the value map folds.
        for i in 0..offices - 1 {
            csv.push_str(&format!("C{i},prevention,01.02.2023,Отдел{i}\n"));
        }
        for i in 0..50 {
            csv.push_str(&format!("D{i},prevention,01.02.2023,Младост {i}\n"));
        }
        export(dir.path(), &csv);
        let spellings: Vec<(String, &str)> = (0..50)
            .map(|i| (format!("Младост {i}"), "ОЗД Младост"))
            .collect();
        let spellings: Vec<(&str, &str)> =
            spellings.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        TestPipeline::new("p")
            .source(
                TestSource::new("sofia", "data/*.csv")
                    .set("region", "SOF")
                    .columns(&[
                        ("child_id", "ID"),
                        ("case_type", "Type"),
                        ("opened", "Opened"),
                        ("office", "Office"),
                    ])
                    .values("office", &spellings),
            )
            .write(dir.path());
        let err = stderr_of(dir.path(), &["run", "p.toml", "--out", "out"], code);
        if code == 1 {
            assert!(
                err.contains("column \"Office\" (mapped to `office`) of source \"sofia\" holds more than 500 distinct values: it does not look like office names"),
                "{err}"
            );
            assert!(
                !err.contains("Отдел") && !dir.path().join("out").exists(),
                "{err}"
            );
        } else {
            let cases = read_parquet(&dir.path().join("out/cases.parquet"));
            let names: std::collections::BTreeSet<_> =
                cases.strings("office").into_iter().flatten().collect();
            assert_eq!(names.len(), 500, "{err}");
        }
    }
}

/// An office name read from the column passes the test a listed label passes: a value with
/// six or more digits in a row (a phone number in a notes column) or over 100 characters is a
/// whole-file error too; names the pipeline file gives (a value map, the source's name) are
/// not tested.
#[test]
fn an_office_value_that_could_not_be_a_name_is_a_whole_file_error() {
    let long = "Отдел ".repeat(20);
    for (office, code, why) in [
        (
            "ОЗД Варна, тел. 0888123456",
            1,
            "six or more digits in a row",
        ),
        (long.trim(), 1, "over 100 characters"),
        ("ОЗД Варна 2", 0, ""),
        ("", 0, ""),
    ] {
        let dir = tempfile::tempdir().unwrap();
        export(
            dir.path(),
            &format!(
                "ID,Type,Opened,Office\nC1,prevention,01.02.2023,ОЗД Варна\nC2,prevention,01.02.2023,\"{office}\"\n"
            ),
        );
        TestPipeline::new("p")
            .source(
                TestSource::new("export_20240131", "data/*.csv")
                    .set("region", "VAR")
                    .columns(&[
                        ("child_id", "ID"),
                        ("case_type", "Type"),
                        ("opened", "Opened"),
                        ("office", "Office"),
                    ]),
            )
            .write(dir.path());
        let err = stderr_of(dir.path(), &["run", "p.toml", "--out", "out"], code);
        assert!(err.contains(why), "{err}");
        if code == 1 {
            assert!(err.contains("does not look like office names"), "{err}");
            assert!(!err.contains("0888") && !err.contains("Отдел"), "{err}");
        }
    }
}

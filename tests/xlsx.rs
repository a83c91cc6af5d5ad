//! `rates.xlsx` (SPEC §12) through the real binary, on synthetic exports with a simulated
//! programme: every row of `rates.parquet` in its measure sheet's cells and every row of
//! `programmes.parquet` on the programme's sheet, withheld rows as markers without a number;
//! listed in the manifest; the same bytes from a second run; sheets named in the language.

mod common;

use std::fs;
use std::path::Path;

use calamine::{Data, Range, Reader, Xlsx, open_workbook};
use common::{ParquetTable, manifest, outcomes, read_parquet, synth_with_programme};

/// The measures in the order of their sheets (SPEC §4's order).
const MEASURES: [&str; 7] = [
    "prevention_closed",
    "reintegration_closed",
    "prevention_12m",
    "reintegration_12m",
    "reintegration_sustained_12m",
    "out_of_region_placement",
    "children_served",
];

/// A measure sheet's layout (0-based): the years' row, the first region's row; columns A and
/// B are the region's code and name.
const YEAR_ROW: u32 = 3;
const FIRST_REGION_ROW: u32 = 5;
/// A programme sheet's layout: its first line, and each group's first column and width.
const FIRST_LINE_ROW: u32 = 12;
const PROGRAMME_GROUPS: [(&str, u32, u32); 4] = [
    ("programme", 2, 4),
    ("comparison", 6, 4),
    ("difference", 10, 3),
    ("difference_in_differences", 13, 3),
];

fn run(dir: &Path, pipeline: &Path, out: &str, lang: &str) {
    let result = outcomes(dir)
        .args(["run", pipeline.to_str().unwrap(), "--out", out])
        .args(["--as-of", "2025-06-30", "--lang", lang, "--quiet"])
        .output()
        .unwrap();
    assert!(
        matches!(result.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

fn cell(range: &Range<Data>, row: u32, col: u32) -> Data {
    range.get_value((row, col)).cloned().unwrap_or(Data::Empty)
}

fn number(data: &Data) -> Option<f64> {
    match data {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        _ => None,
    }
}

/// What a row of `status` must show from (`row`, `col`) on: an `ok` row its figures as
/// numbers (exactly, as written); any other row its marker and no number, except the
/// denominator (0) of a `no_data` row.
fn assert_cells(
    range: &Range<Data>,
    row: u32,
    col: u32,
    expected: &[Option<f64>],
    status: &str,
    place: &str,
) {
    let marker = match status {
        "ok" => None,
        "suppressed_primary" | "suppressed_secondary" => Some("◆"),
        "incomplete" => Some("…"),
        "no_data" => Some("—"),
        other => panic!("{place}: status {other}"),
    };
    for (offset, want) in expected.iter().enumerate() {
        let got = cell(range, row, col + offset as u32);
        match (offset, marker) {
            (0, Some(marker)) => assert_eq!(got, Data::String(marker.into()), "{place}"),
            (_, Some(_)) if status != "no_data" => {
                assert_eq!(got, Data::Empty, "{place}: cell {offset} of a withheld row")
            }
            _ => assert_eq!(number(&got), *want, "{place}: cell {offset} is {got:?}"),
        }
    }
}

/// A count column as floats, as the cells hold them.
fn counts(table: &ParquetTable, name: &str) -> Vec<Option<f64>> {
    table
        .ints(name)
        .into_iter()
        .map(|v| v.map(|v| v as f64))
        .collect()
}

/// Every row of `rates.parquet` against its cells.
fn assert_measure_sheets_agree(book: &mut Xlsx<std::io::BufReader<fs::File>>, out: &Path) {
    let rates = read_parquet(&out.join("rates.parquet"));
    let (measure, region, name_bg, year, status) = (
        rates.strings("measure"),
        rates.strings("region"),
        rates.strings("region_name_bg"),
        rates.ints("year"),
        rates.strings("status"),
    );
    let (numerator, denominator) = (counts(&rates, "numerator"), counts(&rates, "denominator"));
    let (rate, low, high) = (
        rates.floats("rate"),
        rates.floats("ci_low"),
        rates.floats("ci_high"),
    );
    let names = book.sheet_names();
    let mut seen = std::collections::HashMap::new();
    for (index, code) in MEASURES.iter().enumerate() {
        let range = book.worksheet_range(&names[index]).unwrap();
        let count = *code == "children_served";
        let width = if count { 1 } else { 4 };
        // The regions as the sheet lists them: Bulgaria, then by code.
        let mut lines = Vec::new();
        while let Data::String(c) = cell(&range, FIRST_REGION_ROW + lines.len() as u32, 0) {
            lines.push(c);
        }
        assert_eq!(lines.first().map(String::as_str), Some("BG"), "{code}");
        assert!(lines[1..].is_sorted(), "{code}: regions by code");
        for i in (0..rates.height()).filter(|i| measure[*i].as_deref() == Some(*code)) {
            let r = region[i].clone().unwrap();
            let line = lines.iter().position(|l| *l == r).expect("a line a region") as u32;
            let row = FIRST_REGION_ROW + line;
            assert_eq!(
                cell(&range, row, 1).to_string(),
                name_bg[i].clone().unwrap(),
                "{code} {r}"
            );
            let y = year[i].unwrap();
            let col = (0..)
                .map(|g| 2 + g * width)
                .take_while(|c| cell(&range, YEAR_ROW, *c) != Data::Empty)
                .find(|c| number(&cell(&range, YEAR_ROW, *c)) == Some(y as f64))
                .unwrap_or_else(|| panic!("{code}: no column for {y}"));
            let expected = if count {
                vec![numerator[i]]
            } else {
                vec![rate[i], low[i], high[i], denominator[i]]
            };
            let s = status[i].clone().unwrap();
            assert_cells(&range, row, col, &expected, &s, &format!("{code} {r} {y}"));
            *seen.entry(s).or_insert(0) += 1;
        }
        assert_eq!(
            cell(&range, FIRST_REGION_ROW + lines.len() as u32, 1),
            Data::Empty,
            "{code}: no line without a row"
        );
    }
    for s in [
        "ok",
        "suppressed_primary",
        "suppressed_secondary",
        "incomplete",
    ] {
        assert!(
            seen.get(s).copied().unwrap_or(0) > 0,
            "no {s} cell: {seen:?}"
        );
    }
}

/// Every row of `programmes.parquet` on the programme's sheet: one line per programme row
/// (years, then periods, measure by measure), its comparison, difference and difference in
/// differences on the same line.
fn assert_programme_sheet_agrees(book: &mut Xlsx<std::io::BufReader<fs::File>>, out: &Path) {
    let table = read_parquet(&out.join("programmes.parquet"));
    let (group, measure, year, period, status) = (
        table.strings("group"),
        table.strings("measure"),
        table.ints("year"),
        table.strings("period"),
        table.strings("status"),
    );
    let (numerator, denominator) = (counts(&table, "numerator"), counts(&table, "denominator"));
    let (rate, low, high) = (
        table.floats("rate"),
        table.floats("ci_low"),
        table.floats("ci_high"),
    );
    let range = book.worksheet_range("synth-programme").unwrap();
    assert_eq!(cell(&range, 1, 1).to_string(), "synth-programme");
    let regions = cell(&range, 4, 1).to_string();
    assert!(
        regions.contains("(VAR)") && regions.contains("(DOB)"),
        "{regions}"
    );
    assert!(
        matches!(cell(&range, 6, 1), Data::DateTime(_)),
        "the start is a date"
    );

    let key = |i: usize| (measure[i].clone(), year[i], period[i].clone());
    let lines: Vec<usize> = (0..table.height())
        .filter(|i| group[*i].as_deref() == Some("programme"))
        .collect();
    let mut checked = 0;
    for (n, i) in lines.iter().enumerate() {
        let row = FIRST_LINE_ROW + n as u32;
        match year[*i] {
            Some(y) => assert_eq!(number(&cell(&range, row, 1)), Some(y as f64), "line {n}"),
            None => assert!(matches!(cell(&range, row, 1), Data::String(_)), "line {n}"),
        }
        for (g, col, width) in PROGRAMME_GROUPS {
            let place = format!("{g} {:?}", key(*i));
            let Some(j) =
                (0..table.height()).find(|j| group[*j].as_deref() == Some(g) && key(*j) == key(*i))
            else {
                for c in col..col + width {
                    assert_eq!(cell(&range, row, c), Data::Empty, "{place}");
                }
                continue;
            };
            let value = if measure[j].as_deref() == Some("children_served") {
                numerator[j]
            } else {
                rate[j]
            };
            let mut expected = vec![value, low[j], high[j]];
            if width == 4 {
                expected.push(denominator[j]);
            }
            let s = status[j].clone().unwrap();
            assert_cells(&range, row, col, &expected, &s, &place);
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        table.height(),
        "every programme row is on the sheet"
    );
    assert_eq!(
        cell(&range, FIRST_LINE_ROW + lines.len() as u32, 0),
        Data::Empty
    );
}

#[test]
fn rates_xlsx_holds_the_published_rows_cell_by_cell_and_the_same_bytes_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 20_000, 1512);
    let out = dir.path().join("out");
    run(dir.path(), &pipeline, out.to_str().unwrap(), "bg");

    let mut book: Xlsx<_> = open_workbook(out.join("rates.xlsx")).expect("calamine opens it");
    let names = book.sheet_names();
    assert_eq!(names.len(), MEASURES.len() + 3, "{names:?}");
    assert_eq!(names[0], "Превенция приключени");
    assert_eq!(names[7], "synth-programme");
    assert_eq!(names[8], "Съпоставка");
    assert_eq!(names[9], "Бележки");
    // The Reconciliation sheet holds reconciliation.csv's rows, a line each from row 5.
    let csv = std::fs::read_to_string(out.join("reconciliation.csv")).unwrap();
    let range = book.worksheet_range("Съпоставка").unwrap();
    for (i, line) in csv.lines().skip(1).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let row = 4 + i as u32;
        assert_eq!(
            cell(&range, row, 0),
            Data::Float(fields[0].parse().unwrap())
        );
        assert_eq!(
            cell(&range, row, 2),
            Data::Float(fields[2].parse().unwrap())
        );
        match fields[5] {
            "ok" => assert_eq!(
                cell(&range, row, 3),
                Data::Float(fields[3].parse().unwrap())
            ),
            _ => assert_eq!(cell(&range, row, 3), Data::String("◆".into())),
        }
    }
    assert_measure_sheets_agree(&mut book, &out);
    assert_programme_sheet_agrees(&mut book, &out);

    let m = manifest(&out);
    let listed = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("rates.xlsx"))
        })
        .expect("rates.xlsx is in the manifest");
    assert_eq!(
        listed["sha256"].as_str().unwrap(),
        outcomes::output::sha256_file(&out.join("rates.xlsx")).unwrap()
    );

    let again = dir.path().join("again");
    run(dir.path(), &pipeline, again.to_str().unwrap(), "bg");
    assert!(
        fs::read(out.join("rates.xlsx")).unwrap() == fs::read(again.join("rates.xlsx")).unwrap(),
        "two runs wrote different workbooks"
    );
}

#[test]
fn rates_xlsx_speaks_the_report_language() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_with_programme(dir.path(), 3_000, 1513);
    run(dir.path(), &pipeline, "out", "en");
    let mut book: Xlsx<_> =
        open_workbook(dir.path().join("out/rates.xlsx")).expect("calamine opens it");
    let names = book.sheet_names();
    assert_eq!(names[0], "Prevention closed");
    assert_eq!(names[6], "Children served");
    assert_eq!(names.last().map(String::as_str), Some("Notes"));
    let range = book.worksheet_range("Prevention closed").unwrap();
    assert_eq!(cell(&range, FIRST_REGION_ROW, 1).to_string(), "Bulgaria");
    let notes = book.worksheet_range("Notes").unwrap();
    assert!(
        notes
            .used_cells()
            .any(|(_, _, d)| d.to_string().contains("Wilson score intervals")),
        "the method notes are there"
    );
}

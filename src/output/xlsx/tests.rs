//! `rates.xlsx` on hand-built protected rows: every row's figures in its cells as numbers, every
//! withheld row as its marker and no number (even a row that wrongly still carries counts), the
//! programme sheet's lines and description, the sheet names, and the same bytes twice.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Range, Reader, Xlsx};

use super::programmes::{self, lines};
use super::{XlsxInput, measures, workbook_bytes};
use crate::config::{self, Lang, Pipeline};
use crate::measures::{Group, Measure, Period, ProgrammeRow, RateRow, Status};
use crate::reference;

const PIPELINE: &str = r#"name = "t"
key_file = "unused.key"
min_count = 5

[[sources]]
name = "s"
path = "unused/*.csv"
region = "VAR"

[sources.columns]
child_id = "id"
case_type = "type"
opened = "opened"
closed = "closed"
outcome = "outcome"

[[programmes]]
name = "social-workers-in-varna-and-dobrich-from-2011"
title = "Социални работници във Варна и Добрич"
offices = ["ОЗД Варна"]
regions = ["DOB"]
start = "2021-03-01"
end = "2022-11-30"
"#;

fn pipeline() -> Pipeline {
    config::parse(PIPELINE, Path::new("t.toml")).expect("the test pipeline is valid")
}

fn region(code: &str) -> Option<u8> {
    Some(reference::region_by_code(code).expect("a test oblast code"))
}

/// A rates row with `status`: `ok` rows with their counts, rate and interval, `no_data`
/// with 0/0, the others withheld, except `leaky`, a suppressed row that still has its numbers.
fn rate_row(measure: Measure, region: Option<u8>, year: i32, status: Status) -> RateRow {
    let count = measure.is_count();
    let mut row = RateRow {
        measure,
        region,
        year,
        numerator: Some(30 + year as u64 % 7),
        denominator: (!count).then_some(40 + year as u64 % 5),
        rate: (!count).then_some(0.7 + f64::from(year % 10) / 100.0),
        ci_low: (!count).then_some(0.55 + f64::from(year % 10) / 100.0),
        ci_high: (!count).then_some(0.83 + f64::from(year % 10) / 1000.0),
        funnel: None,
        status,
    };
    match status {
        Status::Ok => {}
        Status::NoData => {
            row.numerator = Some(0);
            row.denominator = (!count).then_some(0);
            (row.rate, row.ci_low, row.ci_high) = (None, None, None);
        }
        _ => {
            row.numerator = None;
            row.denominator = None;
            (row.rate, row.ci_low, row.ci_high) = (None, None, None);
        }
    }
    row
}

/// Every measure for BG, VAR, DOB and SOF over 2020–2023, in the rates table's order, with
/// every status somewhere; DOB's 2021 row is suppressed but (wrongly) keeps its numbers.
fn rates() -> Vec<RateRow> {
    let mut rows = Vec::new();
    for measure in Measure::ALL {
        for (code, statuses) in [
            (None, [Status::Ok, Status::Ok, Status::Ok, Status::Ok]),
            (
                region("DOB"),
                [
                    Status::Ok,
                    Status::SuppressedPrimary,
                    Status::NoData,
                    Status::Ok,
                ],
            ),
            (
                region("SOF"),
                [
                    Status::SuppressedSecondary,
                    Status::Ok,
                    Status::Ok,
                    Status::NoData,
                ],
            ),
            (
                region("VAR"),
                [
                    Status::Ok,
                    Status::Ok,
                    Status::SuppressedSecondary,
                    Status::Ok,
                ],
            ),
        ] {
            for (year, status) in (2020..=2023).zip(statuses) {
                let status = if measure.is_cohort() && year == 2023 {
                    Status::Incomplete
                } else {
                    status
                };
                let mut row = rate_row(measure, code, year, status);
                if code == region("DOB") && year == 2021 {
                    let ok = rate_row(measure, code, year, Status::Ok);
                    row = RateRow {
                        status: Status::SuppressedPrimary,
                        ..ok
                    };
                }
                rows.push(row);
            }
        }
    }
    rows
}

fn programme_row(
    group: Group,
    measure: Measure,
    when: (Option<i32>, Option<Period>),
    status: Status,
    years: Vec<i32>,
) -> ProgrammeRow {
    let counted = matches!(group, Group::Programme | Group::Comparison);
    let ok = status == Status::Ok;
    ProgrammeRow {
        programme: 0,
        group,
        measure,
        year: when.0,
        period: when.1,
        years,
        numerator: (counted && ok).then_some(12),
        denominator: (counted && ok && !measure.is_count()).then_some(20),
        rate: (ok && !measure.is_count()).then_some(if counted { 0.6 } else { -0.125 }),
        ci_low: (ok && !measure.is_count()).then_some(if counted { 0.38 } else { -0.3 }),
        ci_high: (ok && !measure.is_count()).then_some(if counted { 0.78 } else { 0.05 }),
        status,
    }
}

/// One programme's rows for two measures: years 2020–2022, the periods, differences.
fn programme_rows() -> Vec<ProgrammeRow> {
    let mut rows = Vec::new();
    for measure in [Measure::PreventionClosed, Measure::ChildrenServed] {
        for group in [Group::Programme, Group::Comparison] {
            for year in 2020..=2022 {
                let status = if year == 2021 {
                    Status::SuppressedSecondary
                } else {
                    Status::Ok
                };
                rows.push(programme_row(
                    group,
                    measure,
                    (Some(year), None),
                    status,
                    vec![year],
                ));
            }
            if measure.is_count() {
                continue;
            }
            rows.push(programme_row(
                group,
                measure,
                (None, Some(Period::Before)),
                Status::Ok,
                vec![2020],
            ));
            rows.push(programme_row(
                group,
                measure,
                (None, Some(Period::During)),
                Status::Ok,
                vec![2021, 2022],
            ));
        }
        if measure.is_count() {
            continue;
        }
        for (group, period, status) in [
            (Group::Difference, Period::Before, Status::Ok),
            (Group::Difference, Period::During, Status::Ok),
            (
                Group::DifferenceInDifferences,
                Period::During,
                Status::SuppressedSecondary,
            ),
        ] {
            rows.push(programme_row(
                group,
                measure,
                (None, Some(period)),
                status,
                Vec::new(),
            ));
        }
    }
    rows
}

fn bytes(lang: Lang, pipeline: &Pipeline, rates: &[RateRow], rows: &[ProgrammeRow]) -> Vec<u8> {
    let input = XlsxInput {
        lang,
        pipeline,
        as_of: chrono::NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
        rates,
        programmes: rows,
        reconciliation: &[],
        version: "0.0.0-test",
    };
    workbook_bytes(&input).expect("the workbook is written")
}

fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes)).expect("calamine reads the workbook")
}

fn cell(range: &Range<Data>, row: u32, col: u16) -> Data {
    range
        .get_value((row, u32::from(col)))
        .cloned()
        .unwrap_or(Data::Empty)
}

fn number(data: &Data) -> Option<f64> {
    match data {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        _ => None,
    }
}

/// The cells of a group: what a row with these figures must show.
fn assert_group(
    range: &Range<Data>,
    row: u32,
    col: u16,
    cells: &[Option<f64>],
    status: Status,
    place: &str,
) {
    let marker = match status {
        Status::Ok => None,
        Status::SuppressedPrimary | Status::SuppressedSecondary => Some("◆"),
        Status::Incomplete => Some("…"),
        Status::NoData => Some("—"),
    };
    for (offset, expected) in cells.iter().enumerate() {
        let got = cell(range, row, col + offset as u16);
        match (offset, marker) {
            (0, Some(marker)) => {
                assert_eq!(got, Data::String(marker.into()), "{place}: marker");
            }
            // A withheld row shows no number at all; a no-data row only its denominator.
            (_, Some(_)) if status != Status::NoData => {
                assert_eq!(got, Data::Empty, "{place}: cell {offset} of a withheld row");
            }
            _ => assert_eq!(number(&got), *expected, "{place}: cell {offset} ({got:?})"),
        }
    }
}

#[test]
fn every_rate_row_is_in_its_cells_and_withheld_rows_hold_no_number() {
    let pipeline = pipeline();
    let rates = rates();
    let mut book = open(bytes(Lang::En, &pipeline, &rates, &programme_rows()));
    let names = book.sheet_names();
    assert_eq!(
        names,
        [
            "Prevention closed",
            "Reintegration closed",
            "Prevention 12 months",
            "Reintegration 12 months",
            "Sustained reintegration",
            "Out-of-region placement",
            "Children served",
            "social-workers-in-varna-and-dob",
            "Notes",
        ]
    );
    for (i, measure) in Measure::ALL.iter().enumerate() {
        let range = book.worksheet_range(&names[i]).unwrap();
        let cells = measures::cells_of(*measure);
        let width = cells.width();
        // Bulgaria first, then by code.
        let codes: Vec<Data> = (0..4)
            .map(|i| cell(&range, measures::FIRST_DATA_ROW + i, 0))
            .collect();
        assert_eq!(
            codes,
            ["BG", "DOB", "SOF", "VAR"].map(|c| Data::String(c.into()))
        );
        assert_eq!(
            cell(&range, measures::FIRST_DATA_ROW + 1, 1),
            Data::String("Dobrich".into())
        );
        for r in rates.iter().filter(|r| r.measure == *measure) {
            let line = codes
                .iter()
                .position(|c| *c == Data::String(r.region_code().into()))
                .unwrap() as u32;
            let col = measures::FIRST_GROUP_COL + (r.year - 2020) as u16 * width;
            assert_eq!(
                number(&cell(&range, measures::YEAR_ROW, col)),
                Some(f64::from(r.year))
            );
            let cells = if measure.is_count() {
                vec![r.numerator.map(|n| n as f64)]
            } else {
                vec![r.rate, r.ci_low, r.ci_high, r.denominator.map(|n| n as f64)]
            };
            let place = format!("{} {} {}", measure.code(), r.region_code(), r.year);
            assert_group(
                &range,
                measures::FIRST_DATA_ROW + line,
                col,
                &cells,
                r.status,
                &place,
            );
        }
        // The legend follows the table.
        let legend = cell(&range, measures::FIRST_DATA_ROW + 5, 0).to_string();
        assert!(legend.starts_with("◆ Withheld"), "{legend}");
    }
}

#[test]
fn the_programme_sheet_lays_out_every_row_of_its_programme() {
    let pipeline = pipeline();
    let rows = programme_rows();
    let mut book = open(bytes(Lang::Bg, &pipeline, &rates(), &rows));
    let range = book
        .worksheet_range("social-workers-in-varna-and-dob")
        .unwrap();
    let text = |row: u32, col: u16| cell(&range, row, col).to_string();
    assert_eq!(text(0, 0), "Социални работници във Варна и Добрич");
    assert_eq!(text(1, 1), "social-workers-in-varna-and-dobrich-from-2011");
    assert_eq!(text(2, 1), "ОЗД Варна");
    assert_eq!(text(4, 1), "Добрич (DOB)");
    assert!(matches!(cell(&range, 6, 1), Data::DateTime(_)), "start");
    assert!(matches!(cell(&range, 7, 1), Data::DateTime(_)), "end");
    assert_eq!(text(8, 1), "всички случаи извън програмата");

    let own: Vec<&ProgrammeRow> = rows.iter().collect();
    let cols = programmes::group_cols();
    let mut line = programmes::FIRST_DATA_ROW;
    let mut checked = 0;
    for measure in Measure::ALL {
        for (year, period) in lines(&own, measure) {
            assert_eq!(
                text(line, 0),
                crate::report::measure_name(crate::report::strings(Lang::Bg), measure)
            );
            match year {
                Some(y) => assert_eq!(number(&cell(&range, line, 1)), Some(f64::from(y))),
                None => assert!(text(line, 1).starts_with("п"), "{}", text(line, 1)),
            }
            for ((group, cells), col) in programmes::GROUPS.iter().zip(cols) {
                let found = rows.iter().find(|r| {
                    r.group == *group
                        && r.measure == measure
                        && r.year == year
                        && r.period == period
                });
                let Some(r) = found else {
                    for offset in 0..cells.width() {
                        assert_eq!(cell(&range, line, col + offset), Data::Empty);
                    }
                    continue;
                };
                let mut expected = vec![
                    if measure.is_count() {
                        r.numerator.map(|n| n as f64)
                    } else {
                        r.rate
                    },
                    r.ci_low,
                    r.ci_high,
                ];
                if cells.width() == 4 {
                    expected.push(r.denominator.map(|n| n as f64));
                }
                let place = format!("{:?} {:?} {year:?} {period:?}", group, measure);
                assert_group(&range, line, col, &expected, r.status, &place);
                checked += 1;
            }
            line += 1;
        }
    }
    assert_eq!(checked, rows.len(), "every row is on the sheet");
    assert_eq!(
        text(programmes::FIRST_DATA_ROW + 4, 1),
        "по време (2021–2022)"
    );
}

#[test]
fn the_same_rows_give_the_same_bytes() {
    let pipeline = pipeline();
    let (rates, rows) = (rates(), programme_rows());
    let first = bytes(Lang::Bg, &pipeline, &rates, &rows);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = bytes(Lang::Bg, &pipeline, &rates, &rows);
    assert!(first == second, "two writes of the same rows differ");
    assert!(bytes(Lang::En, &pipeline, &rates, &rows) != first);
}

#[test]
fn the_notes_sheet_has_the_definitions_and_the_suppression_rule() {
    let pipeline = pipeline();
    let mut book = open(bytes(Lang::Bg, &pipeline, &rates(), &programme_rows()));
    let range = book.worksheet_range("Бележки").unwrap();
    let all: Vec<String> = range.used_cells().map(|(_, _, d)| d.to_string()).collect();
    let t = crate::report::strings(Lang::Bg);
    for m in Measure::ALL {
        let definition = crate::report::text(t, &format!("define_{}", m.code()), &[]);
        assert!(all.contains(&definition), "{}", m.code());
    }
    assert!(
        all.iter().any(|s| s.contains("между 1 и 4")),
        "the rule with k − 1"
    );
    assert!(all.iter().any(|s| s.starts_with("◆ Непубликувано")));
    assert!(
        all.iter().any(|s| s.contains("Нюкомб")),
        "the programme notes"
    );
}

#[test]
fn the_reconciliation_sheet_holds_numbers_and_withholds_with_a_marker() {
    use crate::measures::ReconciliationRow;
    let pipeline = pipeline();
    let reconciliation = [
        ReconciliationRow {
            year: 2023,
            quantity: 0,
            published: 3570,
            computed: Some(3400),
            coverage: Some(3400.0 / 3570.0),
            status: Status::Ok,
        },
        ReconciliationRow {
            year: 2023,
            quantity: 1,
            published: 3442,
            computed: None,
            coverage: None,
            status: Status::SuppressedPrimary,
        },
    ];
    let input = XlsxInput {
        lang: Lang::En,
        pipeline: &pipeline,
        as_of: chrono::NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
        rates: &rates(),
        programmes: &[],
        reconciliation: &reconciliation,
        version: "0.0.0-test",
    };
    let mut book = open(workbook_bytes(&input).unwrap());
    let range = book.worksheet_range("Reconciliation").unwrap();
    assert_eq!(cell(&range, 4, 0), Data::Float(2023.0));
    assert_eq!(cell(&range, 4, 2), Data::Float(3570.0));
    assert_eq!(cell(&range, 4, 3), Data::Float(3400.0));
    assert_eq!(cell(&range, 4, 4), Data::Float(3400.0 / 3570.0));
    assert_eq!(cell(&range, 5, 2), Data::Float(3442.0));
    assert_eq!(cell(&range, 5, 3), Data::String("◆".into()));
    assert_eq!(cell(&range, 5, 4), Data::String("◆".into()));
}

#[test]
fn an_empty_table_still_gives_a_workbook() {
    let mut pipeline = pipeline();
    pipeline.programmes.clear();
    let mut book = open(bytes(Lang::En, &pipeline, &[], &[]));
    assert_eq!(book.sheet_names().len(), Measure::ALL.len() + 1);
    let range = book.worksheet_range("Children served").unwrap();
    assert_eq!(cell(&range, measures::FIRST_DATA_ROW, 0), Data::Empty);
}

#[test]
fn programmes_whose_names_share_31_characters_get_sheets_of_their_own() {
    let second = PIPELINE.replace(
        "[[programmes]]",
        "[[programmes]]\nname = \"social-workers-in-varna-and-dobrich-from-2019\"\nregions = [\"VAR\"]\nstart = \"2019-01-01\"\n\n[[programmes]]",
    );
    let pipeline = config::parse(&second, Path::new("t.toml")).expect("two programmes");
    let mut rows = programme_rows();
    rows.extend(
        programme_rows()
            .into_iter()
            .map(|r| ProgrammeRow { programme: 1, ..r }),
    );
    let mut book = open(bytes(Lang::En, &pipeline, &rates(), &rows));
    let names = book.sheet_names();
    assert_eq!(
        names[7..9],
        [
            "social-workers-in-varna-and-dob",
            "social-workers-in-varna-and (2)"
        ]
    );
    for (sheet, programme) in names[7..9].iter().zip(&pipeline.programmes) {
        let range = book.worksheet_range(sheet).unwrap();
        assert_eq!(cell(&range, 1, 1).to_string(), programme.name);
    }
}

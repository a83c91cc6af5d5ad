//! Unit tests of the store, the scratch file and dedupe in memory.

use super::*;
use crate::model::{PlacementType, Sex};
use std::collections::BTreeMap;

pub(super) fn case(child: u8, opened: i32, closed: Option<i32>, file: u32, line: u64) -> Case {
    Case {
        child: [child; 16],
        family: None,
        case: None,
        region: 0,
        municipality: None,
        office: 0,
        case_type: CaseType::Prevention,
        opened,
        closed,
        outcome: closed.map(|_| Outcome::StayedWithFamily),
        placement_type: None,
        placement_region: None,
        birth_year: None,
        sex: None,
        file,
        line,
    }
}

pub(super) fn files(rows: &[u64]) -> Vec<InputFile> {
    rows.iter()
        .enumerate()
        .map(|(i, rows)| InputFile {
            source: i,
            path: PathBuf::from(format!("f{i}.csv")),
            display: format!("s/f{i}.csv"),
            sha256: String::new(),
            encoding: "utf-8",
            delimiter: b',',
            sheet: None,
            rows_read: *rows,
            rows_rejected: 0,
            reject_counts: BTreeMap::new(),
        })
        .collect()
}

/// Store `cases` (in file order) and deduplicate them; the kept full cases in file order,
/// and each file's counts.
fn run(cases: Vec<Case>, files: &[InputFile]) -> (Linked, Vec<Case>, Vec<Counts>) {
    let mut store = CaseStore::in_memory();
    for c in cases {
        store.accept(c).unwrap();
    }
    let linked = dedupe(store, files).unwrap().into_linked().unwrap();
    let mut kept = Vec::new();
    linked
        .for_each_kept(2, |batch| -> io::Result<()> {
            kept.extend_from_slice(batch);
            Ok(())
        })
        .unwrap();
    let counts = linked.accounts().to_vec();
    (linked, kept, counts)
}

#[test]
fn keeps_the_closed_row_then_the_latest_closed() {
    let f = files(&[3]);
    let (linked, kept, counts) = run(
        vec![
            case(1, 100, None, 0, 2),
            case(1, 100, Some(150), 0, 3),
            case(1, 100, Some(120), 0, 4),
        ],
        &f,
    );
    assert_eq!(linked.cases.len(), 1);
    assert_eq!(linked.cases[0].closed(), Some(150));
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].line, 3);
    assert_eq!((counts[0].rows_accepted, counts[0].rows_duplicate), (1, 2));
}

#[test]
fn ties_go_to_the_later_source_then_the_later_line() {
    let f = files(&[3, 1]);
    let (linked, kept, counts) = run(
        vec![
            case(1, 100, Some(150), 0, 9),
            case(2, 5, None, 0, 3),
            case(2, 5, None, 0, 7),
            case(1, 100, Some(150), 1, 2),
        ],
        &f,
    );
    assert_eq!(linked.cases.len(), 2);
    let lines: Vec<(u32, u64)> = kept.iter().map(|c| (c.file, c.line)).collect();
    assert_eq!(lines, vec![(0, 7), (1, 2)]);
    assert_eq!(counts[0].rows_duplicate, 2);
    assert_eq!(counts[1].rows_duplicate, 0);
    for file in &counts {
        assert_eq!(
            file.rows_read,
            file.rows_accepted + file.rows_rejected + file.rows_duplicate
        );
    }
}

#[test]
fn different_case_types_or_dates_are_different_cases() {
    let f = files(&[3]);
    let mut r = case(1, 100, None, 0, 3);
    r.case_type = CaseType::Reintegration;
    let (linked, _, counts) = run(
        vec![case(1, 100, None, 0, 2), r, case(1, 101, None, 0, 4)],
        &f,
    );
    assert_eq!(linked.cases.len(), 3);
    assert_eq!(counts[0].rows_duplicate, 0);
    // Sorted by child, case type, opened.
    let order: Vec<(CaseType, Day)> = linked
        .cases
        .iter()
        .map(|c| (c.case_type, c.opened))
        .collect();
    assert_eq!(
        order,
        vec![
            (CaseType::Prevention, 100),
            (CaseType::Prevention, 101),
            (CaseType::Reintegration, 100)
        ]
    );
}

#[test]
fn the_scratch_file_gives_back_what_the_memory_store_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scratch");
    let mut full = case(3, -5, Some(40_000), 7, u64::from(u32::MAX) + 9);
    full.family = Some([9; 16]);
    full.case = Some([8; 16]);
    full.municipality = Some(264);
    full.office = 70_000;
    full.case_type = CaseType::Reintegration;
    full.outcome = Some(Outcome::Other);
    full.placement_type = Some(PlacementType::Institution);
    full.placement_region = Some(27);
    full.birth_year = Some(-3);
    full.sex = Some(Sex::U);
    let cases = vec![case(1, 1, None, 0, 2), full, case(1, 1, Some(2), 0, 4)];
    let mut store = CaseStore::with_scratch_file(&path).unwrap();
    for c in &cases {
        store.accept(*c).unwrap();
    }
    let linked = dedupe(store, &files(&[3])).unwrap().into_linked().unwrap();
    let mut kept = Vec::new();
    linked
        .for_each_kept(1, |b| -> io::Result<()> {
            kept.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
    assert_eq!(kept, vec![cases[1], cases[2]]);
    drop(linked);
    assert!(!path.exists(), "the scratch file is removed with the store");
}

#[test]
fn a_batch_that_fails_stops_the_scratch_reader_and_the_error_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scratch");
    let mut store = CaseStore::with_scratch_file(&path).unwrap();
    // Distinct children: every case is kept, so there are many blocks of one record.
    for child in 0..50u8 {
        store.accept(case(child, 1, None, 0, 2)).unwrap();
    }
    let linked = dedupe(store, &files(&[50])).unwrap().into_linked().unwrap();
    let mut batches = 0;
    let result = linked.for_each_kept(1, |_| -> io::Result<()> {
        batches += 1;
        if batches == 3 {
            return Err(io::Error::other("the writer failed"));
        }
        Ok(())
    });
    assert_eq!(result.unwrap_err().to_string(), "the writer failed");
    assert_eq!(batches, 3, "no batch is handed on after the failing one");
}

#[test]
fn a_case_is_32_bytes_in_memory() {
    assert_eq!(std::mem::size_of::<LinkCase>(), 32);
}

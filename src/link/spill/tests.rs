//! The merge against dedupe in memory: duplicates across runs, a child split across runs,
//! ties, more runs than one merge takes, batches of whole children, damaged and left-over run
//! files; and a property test that both keep the same cases and count the same duplicates.

use std::io;
use std::path::Path;

use proptest::prelude::*;

use crate::ingest::{CaseSink, InputFile};
use crate::link::tests::{case, files};
use crate::link::{CaseStore, Counts, Deduped, LinkCase, PlaceTag, dedupe};
use crate::model::{Case, CaseType};

/// What a deduplication kept and counted, to compare the two ways.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The kept link cases in the order the measures see them.
    sorted: Vec<LinkCase>,
    /// Their place tags (with places tracked).
    tags: Vec<PlaceTag>,
    /// The kept full cases, in file order.
    kept: Vec<Case>,
    accounts: Vec<Counts>,
    per_place: Vec<u64>,
}

/// Store `cases` and deduplicate them in memory (`budget` `None`) or with runs of
/// `budget` bytes in `dir`; `batch`: the merge's batch size.
fn dedupe_with(
    cases: &[Case],
    files: &[InputFile],
    budget: Option<u64>,
    dir: &Path,
    places: bool,
    batch: usize,
) -> (Outcome, Vec<Vec<LinkCase>>) {
    let mut store = CaseStore::in_memory();
    if places {
        store = store.track_places();
    }
    if let Some(budget) = budget {
        store = store.spill_over(budget, Some(dir));
    }
    for c in cases {
        store.accept(*c).unwrap();
    }
    let mut sorted = Vec::new();
    let mut tags = Vec::new();
    let mut batches = Vec::new();
    let linked = match dedupe(store, files).unwrap() {
        Deduped::InMemory(linked) => {
            assert!(budget.is_none(), "a store over its budget spills");
            sorted = linked.cases.clone();
            if let Some(p) = linked.places() {
                tags = sorted.iter().map(|c| p.tag_of(c.ordinal)).collect();
            }
            linked
        }
        Deduped::Spilled(spilled) => {
            assert!(spilled.runs() > 1, "{} runs", spilled.runs());
            spilled
                .merge(
                    batch,
                    |cases, batch_tags| -> Result<(), crate::link::LinkError> {
                        sorted.extend_from_slice(cases);
                        tags.extend_from_slice(batch_tags.unwrap_or_default());
                        batches.push(cases.to_vec());
                        Ok(())
                    },
                )
                .unwrap()
        }
    };
    let mut kept = Vec::new();
    linked
        .for_each_kept(3, |b| -> io::Result<()> {
            kept.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
    assert_eq!(linked.kept_count(), sorted.len() as u64);
    let outcome = Outcome {
        sorted,
        tags,
        kept,
        accounts: linked.accounts().to_vec(),
        per_place: linked.kept_per_place().to_vec(),
    };
    (outcome, batches)
}

/// Deduplicate `cases` in memory and with runs of `per_run` cases; both outcomes, which must be
/// the same, and the merge's batches.
fn both_ways(
    cases: &[Case],
    files: &[InputFile],
    per_run: u64,
    places: bool,
    batch: usize,
) -> (Outcome, Vec<Vec<LinkCase>>) {
    let dir = tempfile::tempdir().unwrap();
    let (in_memory, _) = dedupe_with(cases, files, None, dir.path(), places, batch);
    let bytes = if places { 44 } else { 32 };
    let (spilled, batches) = dedupe_with(
        cases,
        files,
        Some(per_run * bytes),
        dir.path(),
        places,
        batch,
    );
    assert_eq!(spilled, in_memory);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "run files left behind: {left:?}");
    (spilled, batches)
}

#[test]
fn duplicates_in_different_runs_keep_the_same_row() {
    // Child 1's case is read three times, each copy in another run of two cases.
    let cases = vec![
        case(1, 100, None, 0, 2),
        case(2, 50, Some(60), 0, 3),
        case(1, 100, Some(150), 0, 4),
        case(3, 70, None, 0, 5),
        case(1, 100, Some(120), 1, 2),
        case(2, 50, Some(60), 1, 3),
    ];
    let (outcome, _) = both_ways(&cases, &files(&[4, 2]), 2, false, 1 << 10);
    let kept: Vec<(u32, u64)> = outcome.kept.iter().map(|c| (c.file, c.line)).collect();
    // Child 1: the latest closed date; child 2: the tie goes to the later source.
    assert_eq!(kept, vec![(0, 4), (0, 5), (1, 3)]);
    let dups: Vec<u64> = outcome.accounts.iter().map(|a| a.rows_duplicate).collect();
    assert_eq!(dups, vec![2, 1]);
}

#[test]
fn a_child_split_across_runs_comes_out_whole_and_in_order() {
    let mut cases = Vec::new();
    for (i, opened) in [300, 100, 200, 50, 400, 250, 150].iter().enumerate() {
        let mut c = case(7, *opened, None, 0, i as u64 + 2);
        if i % 2 == 0 {
            c.case_type = CaseType::Reintegration;
        }
        cases.push(c);
        cases.push(case(i as u8, 10, None, 0, 100 + i as u64));
    }
    let (outcome, batches) = both_ways(&cases, &files(&[14]), 3, true, 1);
    // One child a batch with a batch size of 1, and child 7's cases all in one.
    assert_eq!(batches.len(), 8);
    for b in &batches {
        assert!(b.iter().all(|c| c.child == b[0].child));
    }
    let seven: Vec<(CaseType, i32)> = outcome
        .sorted
        .iter()
        .filter(|c| c.child == [7; 16])
        .map(|c| (c.case_type, c.opened))
        .collect();
    use CaseType::{Prevention as P, Reintegration as R};
    assert_eq!(
        seven,
        vec![
            (P, 50),
            (P, 100),
            (P, 250),
            (R, 150),
            (R, 200),
            (R, 300),
            (R, 400)
        ]
    );
}

#[test]
fn ties_on_every_date_go_to_the_later_line_across_runs() {
    // Five copies of one case, one a run: the last line is kept.
    let cases: Vec<Case> = (0..5).map(|l| case(4, 10, Some(20), 0, l + 2)).collect();
    let (outcome, _) = both_ways(&cases, &files(&[5]), 1, true, 4);
    assert_eq!(outcome.kept.len(), 1);
    assert_eq!(outcome.kept[0].line, 6);
    assert_eq!(outcome.accounts[0].rows_duplicate, 4);
    assert_eq!(outcome.per_place, vec![1]);
}

#[test]
fn more_runs_than_one_merge_takes_are_merged_in_steps() {
    let cases: Vec<Case> = (0..300u64)
        .map(|i| {
            case(
                (i % 13) as u8,
                (i % 5) as i32,
                Some(100 + (i % 7) as i32),
                0,
                i + 2,
            )
        })
        .collect();
    // 300 runs of one case: more than the 64 one merge opens at a time.
    let (outcome, _) = both_ways(&cases, &files(&[300]), 1, true, 16);
    assert_eq!(outcome.accounts[0].rows_read, 300);
    assert!(outcome.accounts[0].rows_duplicate > 0);
}

#[test]
fn a_damaged_run_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CaseStore::in_memory().spill_over(64, Some(dir.path()));
    for l in 0..10 {
        store.accept(case(l as u8, 10, None, 0, l + 2)).unwrap();
    }
    let Deduped::Spilled(spilled) = dedupe(store, &files(&[10])).unwrap() else {
        panic!("the store spilled");
    };
    let run = spilled.runs.runs[1].path.clone();
    // Truncated, then with an impossible case type.
    std::fs::write(&run, [0u8; 40]).unwrap();
    let error = spilled
        .merge(4, |_, _| -> Result<(), crate::link::LinkError> { Ok(()) })
        .err()
        .expect("a damaged run is an error");
    let message = format!("{error}");
    assert!(message.contains(&run.display().to_string()), "{message}");
    assert!(message.contains("cannot read back"), "{message}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let mut store = CaseStore::in_memory().spill_over(64, Some(dir.path()));
    for l in 0..10 {
        store.accept(case(l as u8, 10, None, 0, l + 2)).unwrap();
    }
    let Deduped::Spilled(spilled) = dedupe(store, &files(&[10])).unwrap() else {
        panic!("the store spilled");
    };
    let run = spilled.runs.runs[0].path.clone();
    let mut bytes = std::fs::read(&run).unwrap();
    bytes[29] = 9;
    std::fs::write(&run, bytes).unwrap();
    let error = spilled
        .merge(4, |_, _| -> Result<(), crate::link::LinkError> { Ok(()) })
        .err()
        .expect("a damaged run is an error");
    assert!(format!("{error:?}").contains("damaged"), "{error:?}");
}

#[test]
fn runs_are_removed_when_the_store_or_the_merge_stops_early() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CaseStore::in_memory().spill_over(64, Some(dir.path()));
    for l in 0..10 {
        store.accept(case(l as u8, 10, None, 0, l + 2)).unwrap();
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().count() > 0);
    drop(store);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let mut store = CaseStore::in_memory().spill_over(64, Some(dir.path()));
    for l in 0..10 {
        store.accept(case(l as u8, 10, None, 0, l + 2)).unwrap();
    }
    let Deduped::Spilled(spilled) = dedupe(store, &files(&[10])).unwrap() else {
        panic!("the store spilled");
    };
    let stopped = spilled.merge(1, |_, _| -> Result<(), crate::link::LinkError> {
        Err(crate::link::LinkError::TooManyRows)
    });
    assert!(stopped.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_store_without_a_folder_spills_to_a_temporary_one_and_removes_it() {
    let mut store = CaseStore::links_only().spill_over(64, None);
    for l in 0..10 {
        store.accept(case(l as u8, 10, None, 0, l + 2)).unwrap();
    }
    let folder = store
        .spill
        .folder
        .clone()
        .expect("a temporary folder was made");
    assert!(folder.exists());
    let linked = dedupe(store, &files(&[10]))
        .and_then(Deduped::into_linked)
        .unwrap();
    assert_eq!(linked.kept_count(), 10);
    assert!(!folder.exists());
}

fn arbitrary_case() -> impl Strategy<Value = (u8, i32, Option<i32>, bool, u32)> {
    (
        0u8..6,
        0i32..5,
        proptest::option::of(5i32..8),
        any::<bool>(),
        0u32..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the cases and however small the runs, the spilled dedupe keeps the same cases,
    /// in the same order, with the same places, and counts the same duplicates per file.
    #[test]
    fn spilled_and_in_memory_dedupe_agree(
        rows in proptest::collection::vec(arbitrary_case(), 1..120),
        per_run in 1u64..20,
        batch in 1usize..8,
        places in any::<bool>(),
    ) {
        // Files in order: their rows are consecutive.
        let mut rows = rows;
        rows.sort_by_key(|r| r.4);
        let mut per_file = [0u64; 3];
        let cases: Vec<Case> = rows
            .iter()
            .map(|&(child, opened, closed, reintegration, file)| {
                per_file[file as usize] += 1;
                let mut c = case(child, opened, closed, file, per_file[file as usize] + 1);
                if reintegration {
                    c.case_type = CaseType::Reintegration;
                    c.outcome = closed.map(|_| crate::model::Outcome::Reunified);
                }
                c.office = u32::from(child % 2);
                c
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let f = files(&per_file);
        let (in_memory, _) = dedupe_with(&cases, &f, None, dir.path(), places, batch);
        let bytes = if places { 44 } else { 32 };
        if (cases.len() as u64) > per_run {
            let (spilled, batches) =
                dedupe_with(&cases, &f, Some(per_run * bytes), dir.path(), places, batch);
            prop_assert_eq!(&spilled, &in_memory);
            // No child in two batches.
            let mut seen = std::collections::HashSet::new();
            for b in &batches {
                let children: std::collections::HashSet<_> = b.iter().map(|c| c.child).collect();
                for child in children {
                    prop_assert!(seen.insert(child));
                }
            }
            prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }
}

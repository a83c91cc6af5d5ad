//! Linkage and deduplication (SPEC §2 "Duplicates"): rows with the same (child pseudonym,
//! case type, opened) are one case. The kept row is the one with a `closed` date, the latest
//! `closed`, then the source listed last, then the later line; the others count as duplicates
//! of the file they came from. The result is sorted by child, so one child's cases across
//! offices and years sit together for the measures.

use std::cmp::Reverse;

use rayon::prelude::*;

use crate::ingest::InputFile;
use crate::model::Case;

/// How a row ranks among rows of the same case: the greatest is kept. File indices follow the
/// pipeline's source order, so a later source ranks higher.
fn preference(c: &Case) -> (bool, i32, u32, u64) {
    (
        c.closed.is_some(),
        c.closed.unwrap_or(i32::MIN),
        c.file,
        c.line,
    )
}

/// Deduplicate `cases`, update each file's accepted and duplicate counts, and return the
/// kept cases sorted by (child, case type, opened).
pub fn dedupe(mut cases: Vec<Case>, files: &mut [InputFile]) -> Vec<Case> {
    cases.par_sort_unstable_by_key(|c| (c.child, c.case_type, c.opened, Reverse(preference(c))));
    let mut duplicates = vec![0u64; files.len()];
    cases.dedup_by(|later, kept| {
        let same = later.child == kept.child
            && later.case_type == kept.case_type
            && later.opened == kept.opened;
        if same {
            duplicates[later.file as usize] += 1;
        }
        same
    });
    for (file, dups) in files.iter_mut().zip(duplicates) {
        file.rows_duplicate = dups;
        file.rows_accepted = file.rows_read - file.rows_rejected - dups;
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaseType, Outcome};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn case(child: u8, opened: i32, closed: Option<i32>, file: u32, line: u64) -> Case {
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

    fn files(n: usize, rows: u64) -> Vec<InputFile> {
        (0..n)
            .map(|i| InputFile {
                source: i,
                path: PathBuf::from(format!("f{i}.csv")),
                display: format!("s/f{i}.csv"),
                sha256: String::new(),
                encoding: "utf-8",
                delimiter: b',',
                rows_read: rows,
                rows_rejected: 0,
                rows_accepted: rows,
                rows_duplicate: 0,
                reject_counts: BTreeMap::new(),
            })
            .collect()
    }

    #[test]
    fn keeps_the_closed_row_then_the_latest_closed() {
        let mut f = files(1, 3);
        let kept = dedupe(
            vec![
                case(1, 100, None, 0, 2),
                case(1, 100, Some(150), 0, 3),
                case(1, 100, Some(120), 0, 4),
            ],
            &mut f,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].closed, Some(150));
        assert_eq!((f[0].rows_accepted, f[0].rows_duplicate), (1, 2));
    }

    #[test]
    fn ties_go_to_the_later_source_then_the_later_line() {
        let mut f = files(2, 2);
        let kept = dedupe(
            vec![
                case(1, 100, Some(150), 1, 2),
                case(1, 100, Some(150), 0, 9),
                case(2, 5, None, 0, 3),
                case(2, 5, None, 0, 7),
            ],
            &mut f,
        );
        assert_eq!(kept.len(), 2);
        let one = kept.iter().find(|c| c.child == [1; 16]).unwrap();
        assert_eq!((one.file, one.line), (1, 2));
        let two = kept.iter().find(|c| c.child == [2; 16]).unwrap();
        assert_eq!(two.line, 7);
        assert_eq!(f[0].rows_duplicate, 2);
        assert_eq!(f[1].rows_duplicate, 0);
        for file in &f {
            assert_eq!(
                file.rows_read,
                file.rows_accepted + file.rows_rejected + file.rows_duplicate
            );
        }
    }

    #[test]
    fn different_case_types_or_dates_are_different_cases() {
        let mut f = files(1, 3);
        let mut r = case(1, 100, None, 0, 3);
        r.case_type = CaseType::Reintegration;
        let kept = dedupe(
            vec![case(1, 100, None, 0, 2), r, case(1, 101, None, 0, 4)],
            &mut f,
        );
        assert_eq!(kept.len(), 3);
        assert_eq!(f[0].rows_duplicate, 0);
    }
}

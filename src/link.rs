//! Linkage and deduplication (SPEC §2 "Duplicates"). `CaseStore` gathers the accepted cases:
//! the few facts the measures need stay in memory as 32-byte `LinkCase`s, the rest go to a
//! scratch file, so memory grows by 32 bytes a case. `dedupe` keeps one row per (child
//! pseudonym, case type, opened): the one with a `closed` date, the latest `closed`, then the
//! source listed last, then the later line. The kept cases come out sorted by child, so one
//! child's cases across offices and years sit together for the measures.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use std::cmp::Reverse;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod places;

pub use places::{Place, PlaceTag, Places};

use crate::ingest::{CaseSink, InputFile, SinkError};
use crate::model::{
    Case, CaseType, Day, Outcome, PlacementType, Pseudonym, RegionIdx, Sex, Vocabulary,
};

/// A problem keeping or reading back the accepted cases. Exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "more than {max} accepted rows in one run; split the pipeline into several",
        max = u32::MAX
    )]
    TooManyRows,
    #[error("cannot keep the accepted cases in {path} (the run's scratch file)")]
    Scratch { path: PathBuf, source: io::Error },
}

/// One file's rows, each accounted for once (SPEC §2): `rows_read = rows_accepted +
/// rows_rejected + rows_duplicate`. Read and rejected are ingest's; duplicates are dedupe's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    pub rows_duplicate: u64,
}

impl Counts {
    /// Each source's counts, its files' added up: `files` and `accounts` in the same order,
    /// `sources` the number of `[[sources]]` entries.
    pub fn per_source(files: &[InputFile], accounts: &[Counts], sources: usize) -> Vec<Counts> {
        let mut totals = vec![Counts::default(); sources];
        for (file, counts) in files.iter().zip(accounts) {
            if let Some(t) = totals.get_mut(file.source) {
                *t = Counts::total([&*t, counts]);
            }
        }
        totals
    }

    /// The share of rows read that were rejected (0 when none were read).
    pub fn reject_rate(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rows_rejected as f64 / self.rows_read as f64
        }
    }

    /// The sum of several files' counts.
    pub fn total<'a>(counts: impl IntoIterator<Item = &'a Counts>) -> Counts {
        let mut t = Counts::default();
        for c in counts {
            t.rows_read += c.rows_read;
            t.rows_accepted += c.rows_accepted;
            t.rows_rejected += c.rows_rejected;
            t.rows_duplicate += c.rows_duplicate;
        }
        t
    }
}

const NOT_CLOSED: Day = Day::MIN;
const NO_REGION: u8 = u8::MAX;

/// What the measures and deduplication need of a case, in 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCase {
    pub child: Pseudonym,
    pub opened: Day,
    closed: Day,
    /// Position among the run's accepted rows: file order, so a later source or line is higher.
    pub ordinal: u32,
    pub region: RegionIdx,
    pub case_type: CaseType,
    pub outcome: Option<Outcome>,
    placement_region: u8,
}

impl LinkCase {
    pub fn new(case: &Case, ordinal: u32) -> LinkCase {
        LinkCase {
            child: case.child,
            opened: case.opened,
            closed: case.closed.unwrap_or(NOT_CLOSED),
            ordinal,
            region: case.region,
            case_type: case.case_type,
            outcome: case.outcome,
            placement_region: case.placement_region.unwrap_or(NO_REGION),
        }
    }

    pub fn closed(&self) -> Option<Day> {
        (self.closed != NOT_CLOSED).then_some(self.closed)
    }

    pub fn placement_region(&self) -> Option<RegionIdx> {
        (self.placement_region != NO_REGION).then_some(self.placement_region)
    }
}

/// Where the full cases wait while the run links and measures.
enum Details {
    /// `check`: nothing is written, so nothing is kept.
    Dropped,
    Memory(Vec<Case>),
    Scratch {
        path: PathBuf,
        writer: BufWriter<File>,
    },
}

/// The accepted cases of a run, in file order.
pub struct CaseStore {
    links: Vec<LinkCase>,
    details: Details,
    /// Each case's place, when programmes need it (`track_places`).
    places: Option<Places>,
}

impl CaseStore {
    /// Keep only what linkage and the measures need (`check`).
    pub fn links_only() -> CaseStore {
        CaseStore {
            links: Vec::new(),
            details: Details::Dropped,
            places: None,
        }
    }

    /// Keep everything in memory (tests and small runs).
    pub fn in_memory() -> CaseStore {
        CaseStore {
            links: Vec::new(),
            details: Details::Memory(Vec::new()),
            places: None,
        }
    }

    /// Write the full cases to the scratch file `path` (created; removed when the store's
    /// `Linked` is dropped).
    pub fn with_scratch_file(path: &Path) -> io::Result<CaseStore> {
        let writer = BufWriter::with_capacity(1 << 20, File::create(path)?);
        Ok(CaseStore {
            links: Vec::new(),
            details: Details::Scratch {
                path: path.to_path_buf(),
                writer,
            },
            places: None,
        })
    }

    /// Also keep each case's place and tie rank (`Places`, 12 bytes a case), which programmes
    /// (SPEC §10) need to tell their members.
    pub fn track_places(mut self) -> CaseStore {
        self.places = Some(Places::default());
        self
    }
}

impl CaseSink for CaseStore {
    fn accept(&mut self, case: Case) -> Result<(), SinkError> {
        let ordinal = u32::try_from(self.links.len()).map_err(|_| LinkError::TooManyRows)?;
        self.links.push(LinkCase::new(&case, ordinal));
        if let Some(places) = &mut self.places {
            places.record(&case);
        }
        match &mut self.details {
            Details::Dropped => {}
            Details::Memory(cases) => cases.push(case),
            Details::Scratch { path, writer } => {
                writer
                    .write_all(&encode(&case))
                    .map_err(|source| LinkError::Scratch {
                        path: path.clone(),
                        source,
                    })?
            }
        }
        Ok(())
    }
}

// The scratch file: one fixed-width record per accepted case, in file order.
const RECORD: usize = 83;

fn encode(c: &Case) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    let flags = u8::from(c.family.is_some())
        | u8::from(c.case.is_some()) << 1
        | u8::from(c.municipality.is_some()) << 2
        | u8::from(c.closed.is_some()) << 3
        | u8::from(c.birth_year.is_some()) << 4;
    r[0..16].copy_from_slice(&c.child);
    r[16..32].copy_from_slice(&c.family.unwrap_or_default());
    r[32..48].copy_from_slice(&c.case.unwrap_or_default());
    r[48] = flags;
    r[49] = c.region;
    r[50..52].copy_from_slice(&c.municipality.unwrap_or(0).to_le_bytes());
    r[52..56].copy_from_slice(&c.office.to_le_bytes());
    r[56] = c.case_type as u8;
    r[57..61].copy_from_slice(&c.opened.to_le_bytes());
    r[61..65].copy_from_slice(&c.closed.unwrap_or(0).to_le_bytes());
    r[65] = c.outcome.map_or(0, |o| o as u8 + 1);
    r[66] = c.placement_type.map_or(0, |p| p as u8 + 1);
    r[67] = c.placement_region.unwrap_or(NO_REGION);
    r[68..70].copy_from_slice(&c.birth_year.unwrap_or(0).to_le_bytes());
    r[70] = c.sex.map_or(0, |s| s as u8 + 1);
    r[71..75].copy_from_slice(&c.file.to_le_bytes());
    r[75..83].copy_from_slice(&c.line.to_le_bytes());
    r
}

fn decode(r: &[u8]) -> io::Result<Case> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "the scratch file is damaged");
    fn vocab<T: Vocabulary>(b: u8) -> Result<Option<T>, ()> {
        match b {
            0 => Ok(None),
            n => T::ALL.get(usize::from(n) - 1).copied().map(Some).ok_or(()),
        }
    }
    let arr16 = |range: std::ops::Range<usize>| -> [u8; 16] {
        let mut a = [0u8; 16];
        a.copy_from_slice(&r[range]);
        a
    };
    let le4 = |at: usize| [r[at], r[at + 1], r[at + 2], r[at + 3]];
    let flags = r[48];
    let flag = |bit: u8| flags & (1 << bit) != 0;
    Ok(Case {
        child: arr16(0..16),
        family: flag(0).then(|| arr16(16..32)),
        case: flag(1).then(|| arr16(32..48)),
        region: r[49],
        municipality: flag(2).then(|| u16::from_le_bytes([r[50], r[51]])),
        office: u32::from_le_bytes(le4(52)),
        case_type: *CaseType::ALL.get(usize::from(r[56])).ok_or_else(bad)?,
        opened: i32::from_le_bytes(le4(57)),
        closed: flag(3).then(|| i32::from_le_bytes(le4(61))),
        outcome: vocab::<Outcome>(r[65]).map_err(|_| bad())?,
        placement_type: vocab::<PlacementType>(r[66]).map_err(|_| bad())?,
        placement_region: (r[67] != NO_REGION).then_some(r[67]),
        birth_year: flag(4).then(|| i16::from_le_bytes([r[68], r[69]])),
        sex: vocab::<Sex>(r[70]).map_err(|_| bad())?,
        file: u32::from_le_bytes(le4(71)),
        line: u64::from_le_bytes([r[75], r[76], r[77], r[78], r[79], r[80], r[81], r[82]]),
    })
}

/// Read until `buf` is full or the file ends; the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The deduplicated cases.
pub struct Linked {
    /// The kept cases, sorted by (child, case type, opened).
    pub cases: Vec<LinkCase>,
    /// Bit `i` set when the accepted row with ordinal `i` was kept.
    kept: Vec<u64>,
    /// Every input file's rows accounted for, in the order of the files given to `dedupe`.
    accounts: Vec<Counts>,
    details: KeptDetails,
    places: Option<Places>,
    /// The kept cases of each place of `places`, by place index.
    kept_per_place: Vec<u64>,
}

/// Where the full cases of a `Linked` are read back from.
enum KeptDetails {
    Dropped,
    Memory(Vec<Case>),
    /// The scratch file, written and flushed.
    Scratch(PathBuf),
}

impl Linked {
    /// Every file's rows accounted for, in the order of the files given to `dedupe`: what
    /// ingest read and rejected, what dedupe found twice, and the rest accepted.
    pub fn accounts(&self) -> &[Counts] {
        &self.accounts
    }

    /// Each accepted case's place, when the store tracked them (`CaseStore::track_places`).
    pub fn places(&self) -> Option<&Places> {
        self.places.as_ref()
    }

    /// How many kept cases each place has, indexed like `Places::places` (empty when the store
    /// did not track places).
    pub fn kept_per_place(&self) -> &[u64] {
        &self.kept_per_place
    }

    fn is_kept(&self, ordinal: usize) -> bool {
        self.kept[ordinal / 64] & (1 << (ordinal % 64)) != 0
    }

    /// Hand the full kept cases to `each`, in file order, `rows` at a time.
    pub fn for_each_kept<E: From<io::Error>>(
        &self,
        rows: usize,
        mut each: impl FnMut(&[Case]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut batch = Vec::with_capacity(rows);
        match &self.details {
            KeptDetails::Dropped => {
                return Err(io::Error::other("the cases were not kept (links only)").into());
            }
            KeptDetails::Memory(cases) => {
                for (i, c) in cases.iter().enumerate() {
                    if self.is_kept(i) {
                        batch.push(*c);
                        if batch.len() == rows {
                            each(&batch)?;
                            batch.clear();
                        }
                    }
                }
            }
            KeptDetails::Scratch(path) => {
                // Read a batch's worth of records at a time and decode the kept ones in
                // parallel: decoding one record at a time would hold up the writer.
                let mut reader = File::open(path)?;
                let mut block = vec![0u8; rows * RECORD];
                let mut first = 0usize;
                loop {
                    let filled = read_full(&mut reader, &mut block)?;
                    let records = filled / RECORD;
                    if records == 0 {
                        break;
                    }
                    let decoded: Vec<io::Result<Case>> = block[..records * RECORD]
                        .par_chunks_exact(RECORD)
                        .enumerate()
                        .filter(|(i, _)| self.is_kept(first + i))
                        .map(|(_, r)| decode(r))
                        .collect();
                    for case in decoded {
                        batch.push(case?);
                        if batch.len() == rows {
                            each(&batch)?;
                            batch.clear();
                        }
                    }
                    first += records;
                    if filled < block.len() {
                        break;
                    }
                }
            }
        }
        if !batch.is_empty() {
            each(&batch)?;
        }
        Ok(())
    }
}

impl Drop for Linked {
    fn drop(&mut self) {
        if let KeptDetails::Scratch(path) = &self.details {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Deduplicate the store's cases and return the kept cases sorted by (child, case type,
/// opened), with each file's duplicates counted (`Linked::accounts`). `files` are the run's
/// files in the order their rows reached the store.
pub fn dedupe(store: CaseStore, files: &[InputFile]) -> Result<Linked, LinkError> {
    let CaseStore {
        mut links,
        details,
        places,
    } = store;
    let details = match details {
        Details::Dropped => KeptDetails::Dropped,
        Details::Memory(cases) => KeptDetails::Memory(cases),
        Details::Scratch { path, writer } => {
            // Flushed, not synced: the scratch file only lives as long as the run.
            if let Err(e) = writer.into_inner() {
                return Err(LinkError::Scratch {
                    path,
                    source: e.into_error(),
                });
            }
            KeptDetails::Scratch(path)
        }
    };
    // The greatest preference is kept: a closed date beats none (NOT_CLOSED is the least), a
    // later date an earlier one, then the higher ordinal (later source, then later line).
    links.par_sort_unstable_by_key(|c| {
        (
            u128::from_be_bytes(c.child),
            c.case_type,
            c.opened,
            Reverse((c.closed, c.ordinal)),
        )
    });
    let total = links.len();
    let mut kept = vec![0u64; total.div_ceil(64)];
    // Where each file's accepted rows end among the ordinals.
    let mut ends = Vec::with_capacity(files.len());
    let mut end = 0u64;
    for f in files.iter() {
        end += f.rows_read - f.rows_rejected;
        ends.push(end);
    }
    let mut duplicates = vec![0u64; files.len()];
    links.dedup_by(|later, first| {
        let same = later.child == first.child
            && later.case_type == first.case_type
            && later.opened == first.opened;
        if same {
            let file = ends.partition_point(|e| *e <= u64::from(later.ordinal));
            if let Some(d) = duplicates.get_mut(file) {
                *d += 1;
            }
        }
        same
    });
    for c in &links {
        kept[c.ordinal as usize / 64] |= 1 << (c.ordinal % 64);
    }
    links.shrink_to_fit();
    let mut kept_per_place = vec![0u64; places.as_ref().map_or(0, |p| p.places().len())];
    if let Some(places) = &places {
        for c in &links {
            kept_per_place[places.tag_of(c.ordinal).place as usize] += 1;
        }
    }
    let accounts = files
        .iter()
        .zip(duplicates)
        .map(|(f, dups)| Counts {
            rows_read: f.rows_read,
            rows_accepted: f.rows_read - f.rows_rejected - dups,
            rows_rejected: f.rows_rejected,
            rows_duplicate: dups,
        })
        .collect();
    Ok(Linked {
        cases: links,
        kept,
        accounts,
        details,
        places,
        kept_per_place,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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

    fn files(rows: &[u64]) -> Vec<InputFile> {
        rows.iter()
            .enumerate()
            .map(|(i, rows)| InputFile {
                source: i,
                path: PathBuf::from(format!("f{i}.csv")),
                display: format!("s/f{i}.csv"),
                sha256: String::new(),
                encoding: "utf-8",
                delimiter: b',',
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
        let linked = dedupe(store, files).unwrap();
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
        let linked = dedupe(store, &files(&[3])).unwrap();
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
    fn a_case_is_32_bytes_in_memory() {
        assert_eq!(std::mem::size_of::<LinkCase>(), 32);
    }
}

//! Linkage and deduplication (SPEC §2 "Duplicates"). `CaseStore` gathers the accepted cases:
//! the few facts the measures need stay in memory as 32-byte `LinkCase`s, the rest go to a
//! scratch file (`scratch`). `dedupe` keeps one row per (child pseudonym, case type, opened):
//! the one with a `closed` date, the latest `closed`, then the source listed last, then the
//! later line. The kept cases come out sorted by child, so one child's cases across offices
//! and years sit together for the measures. Past a memory budget the store spills its link
//! cases as sorted runs (`spill`), and `Spilled::merge` deduplicates while it merges them and
//! hands the kept cases on a batch of whole children at a time, so memory stays bounded.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod places;
mod scratch;
mod spill;

pub use places::{Place, PlaceTag, Places};
pub use spill::{DEFAULT_MEMORY_BUDGET, Spilled};

use crate::ingest::{CaseSink, InputFile, SinkError};
use crate::model::{Case, CaseType, Day, Outcome, Pseudonym, RegionIdx};

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
    #[error(
        "cannot write {path}, a sorted run of the accepted cases (they take more than the memory budget, so they are sorted on disk); free some space there, or give a larger --memory-budget so that less is written"
    )]
    RunWrite { path: PathBuf, source: io::Error },
    #[error("cannot read back {path}, a sorted run of the accepted cases that this run wrote")]
    RunRead { path: PathBuf, source: io::Error },
    #[error(
        "cannot make a folder for the sorted runs of the accepted cases in {path} (they take more than the memory budget, so they are sorted on disk); set TMPDIR to a folder with space, or give a larger --memory-budget"
    )]
    RunFolder { path: PathBuf, source: io::Error },
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
    /// The link cases held in memory: every case's, or those since the last spill.
    links: Vec<LinkCase>,
    details: Details,
    /// Each case's place, when programmes need it (`track_places`).
    places: Option<Places>,
    /// How many cases were accepted: the next one's ordinal.
    accepted: u64,
    /// The earliest opened and the latest closed-or-opened date of the accepted cases.
    span: Option<(Day, Day)>,
    /// When and where the link cases are spilled to sorted runs.
    spill: spill::Spill,
}

impl CaseStore {
    fn new(details: Details) -> CaseStore {
        CaseStore {
            links: Vec::new(),
            details,
            places: None,
            accepted: 0,
            span: None,
            spill: spill::Spill::never(),
        }
    }

    /// Keep only what linkage and the measures need (`check`).
    pub fn links_only() -> CaseStore {
        CaseStore::new(Details::Dropped)
    }

    /// Keep everything in memory (tests and small runs).
    pub fn in_memory() -> CaseStore {
        CaseStore::new(Details::Memory(Vec::new()))
    }

    /// Write the full cases to the scratch file `path` (created; removed when the store's
    /// `Linked` is dropped).
    pub fn with_scratch_file(path: &Path) -> io::Result<CaseStore> {
        let writer = BufWriter::with_capacity(1 << 20, File::create(path)?);
        Ok(CaseStore::new(Details::Scratch {
            path: path.to_path_buf(),
            writer,
        }))
    }

    /// Also keep each case's place and tie rank (`Places`, 12 bytes a case), which programmes
    /// (SPEC §10) need to tell their members.
    pub fn track_places(mut self) -> CaseStore {
        self.places = Some(Places::default());
        self.spill.size_for(self.bytes_per_case(), true);
        self
    }

    /// Hold at most `budget` bytes of link cases (and places) in memory: past it, sort them by
    /// dedupe's key and spill them as a run file into `folder` (`None`: a temporary folder of
    /// the system's, made at the first spill), to be merged by `Spilled::merge`.
    pub fn spill_over(mut self, budget: u64, folder: Option<&Path>) -> CaseStore {
        self.spill = spill::Spill::over(budget, folder);
        self.spill
            .size_for(self.bytes_per_case(), self.places.is_some());
        self
    }

    /// Bytes a case holds in memory until it is spilled.
    fn bytes_per_case(&self) -> u64 {
        let place = if self.places.is_some() { 12 } else { 0 };
        std::mem::size_of::<LinkCase>() as u64 + place
    }

    /// Sort the link cases held and write them as a run; the memory is kept for the next ones.
    fn spill_held(&mut self) -> Result<(), LinkError> {
        self.links.par_sort_unstable_by_key(spill::sort_key);
        self.spill.write(&self.links, self.places.as_ref())?;
        self.links.clear();
        if let Some(places) = &mut self.places {
            places.forget_cases(u32::try_from(self.accepted).unwrap_or(u32::MAX));
        }
        Ok(())
    }
}

impl CaseSink for CaseStore {
    fn accept(&mut self, case: Case) -> Result<(), SinkError> {
        let ordinal = u32::try_from(self.accepted).map_err(|_| LinkError::TooManyRows)?;
        if self.spill.is_full(self.links.len()) {
            self.spill_held()?;
        }
        let link = LinkCase::new(&case, ordinal);
        let last = link.closed().unwrap_or(link.opened);
        self.span = Some(match self.span {
            None => (link.opened, last),
            Some((first, latest)) => (first.min(link.opened), latest.max(last)),
        });
        self.links.push(link);
        self.accepted += 1;
        if let Some(places) = &mut self.places {
            places.record(&case);
        }
        match &mut self.details {
            Details::Dropped => {}
            Details::Memory(cases) => cases.push(case),
            Details::Scratch { path, writer } => writer
                .write_all(&scratch::encode(&case))
                .map_err(|source| LinkError::Scratch {
                    path: path.clone(),
                    source,
                })?,
        }
        Ok(())
    }
}

/// The deduplicated cases.
pub struct Linked {
    /// The kept cases, sorted by (child, case type, opened), when dedupe sorted them in memory;
    /// empty when `Spilled::merge` streamed them.
    pub cases: Vec<LinkCase>,
    /// How many cases were kept.
    kept_count: u64,
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
    /// The scratch file, written and flushed; removed on drop.
    Scratch(PathBuf),
}

impl Drop for KeptDetails {
    fn drop(&mut self) {
        if let KeptDetails::Scratch(path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl KeptDetails {
    /// The store's details, the scratch file flushed (not synced: it only lives as long as the
    /// run).
    fn of(details: Details) -> Result<KeptDetails, LinkError> {
        Ok(match details {
            Details::Dropped => KeptDetails::Dropped,
            Details::Memory(cases) => KeptDetails::Memory(cases),
            Details::Scratch { path, writer } => match writer.into_inner() {
                Ok(_) => KeptDetails::Scratch(path),
                Err(e) => {
                    // Of no use now: removed as a finished one would be.
                    let _ = std::fs::remove_file(&path);
                    let source = e.into_error();
                    return Err(LinkError::Scratch { path, source });
                }
            },
        })
    }
}

impl Linked {
    /// Every file's rows accounted for, in the order of the files given to `dedupe`: what
    /// ingest read and rejected, what dedupe found twice, and the rest accepted.
    pub fn accounts(&self) -> &[Counts] {
        &self.accounts
    }

    /// How many cases were kept.
    pub fn kept_count(&self) -> u64 {
        self.kept_count
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
                // A thread reads the next block of records while this one decodes the kept ones
                // (in parallel) and hands them on: reading in turn left a core idle each block.
                let mut reader = File::open(path)?;
                let block_bytes = rows.max(1) * scratch::RECORD;
                std::thread::scope(|scope| -> Result<(), E> {
                    let (full, filled_blocks) = sync_channel::<io::Result<Vec<u8>>>(1);
                    let (empty, emptied_blocks) = sync_channel::<Vec<u8>>(2);
                    scope.spawn(move || {
                        let mut spare = vec![Vec::new(), Vec::new()];
                        loop {
                            let mut block = spare
                                .pop()
                                .or_else(|| emptied_blocks.recv().ok())
                                .unwrap_or_default();
                            block.resize(block_bytes, 0);
                            let read = scratch::read_full(&mut reader, &mut block);
                            let last = !matches!(read, Ok(n) if n == block_bytes);
                            let sent = full.send(read.map(|n| {
                                block.truncate(n - n % scratch::RECORD);
                                block
                            }));
                            if last || sent.is_err() {
                                break;
                            }
                        }
                    });
                    let mut first = 0usize;
                    for block in filled_blocks {
                        let block = block?;
                        let records = block.len() / scratch::RECORD;
                        let decoded: Vec<io::Result<Case>> = block
                            .par_chunks_exact(scratch::RECORD)
                            .enumerate()
                            .filter(|(i, _)| self.is_kept(first + i))
                            .map(|(_, r)| scratch::decode(r))
                            .collect();
                        // The reader may have stopped (the last block): then the block goes.
                        let _ = empty.try_send(block);
                        for case in decoded {
                            batch.push(case?);
                            if batch.len() == rows {
                                each(&batch)?;
                                batch.clear();
                            }
                        }
                        first += records;
                    }
                    Ok(())
                })?;
            }
        }
        if !batch.is_empty() {
            each(&batch)?;
        }
        Ok(())
    }
}

/// What `dedupe` gives: the kept cases sorted in memory, or, when the store spilled them, the
/// sorted runs that `Spilled::merge` deduplicates as it merges them.
pub enum Deduped {
    InMemory(Linked),
    Spilled(Spilled),
}

impl Deduped {
    /// Each accepted case's place, when the store tracked them (known before a merge).
    pub fn places(&self) -> Option<&Places> {
        match self {
            Deduped::InMemory(linked) => linked.places(),
            Deduped::Spilled(spilled) => spilled.places(),
        }
    }

    /// The deduplicated cases, merging the runs (and passing the cases by) if there are any:
    /// for `check`, which counts and measures nothing.
    pub fn into_linked(self) -> Result<Linked, LinkError> {
        match self {
            Deduped::InMemory(linked) => Ok(linked),
            Deduped::Spilled(spilled) => spilled.merge(1 << 16, |_, _| Ok::<_, LinkError>(())),
        }
    }
}

/// dedupe's rule: two link cases are the same case when they have the same child, case type
/// and opened date.
fn same_case(a: &LinkCase, b: &LinkCase) -> bool {
    a.child == b.child && a.case_type == b.case_type && a.opened == b.opened
}

/// Where each file's accepted rows end among the ordinals.
fn file_ends(files: &[InputFile]) -> Vec<u64> {
    let mut end = 0u64;
    files
        .iter()
        .map(|f| {
            end += f.rows_read - f.rows_rejected;
            end
        })
        .collect()
}

/// Count a duplicate with `ordinal` against its file (`ends`: `file_ends`).
fn count_duplicate(duplicates: &mut [u64], ends: &[u64], ordinal: u32) {
    let file = ends.partition_point(|e| *e <= u64::from(ordinal));
    if let Some(d) = duplicates.get_mut(file) {
        *d += 1;
    }
}

/// Each file's counts before deduplication: every row not rejected accepted.
fn base_counts(files: &[InputFile]) -> Vec<Counts> {
    files
        .iter()
        .map(|f| Counts {
            rows_read: f.rows_read,
            rows_accepted: f.rows_read - f.rows_rejected,
            rows_rejected: f.rows_rejected,
            rows_duplicate: 0,
        })
        .collect()
}

/// Each file's counts (`base_counts`) once its duplicates are known.
fn accounts(base: Vec<Counts>, duplicates: Vec<u64>) -> Vec<Counts> {
    base.into_iter()
        .zip(duplicates)
        .map(|(c, dups)| Counts {
            rows_accepted: c.rows_accepted - dups,
            rows_duplicate: dups,
            ..c
        })
        .collect()
}

/// Deduplicate the store's cases. When they stayed in memory, the kept cases come back sorted
/// by (child, case type, opened), with each file's duplicates counted (`Linked::accounts`);
/// when the store spilled them, the runs come back to be merged (`Spilled::merge`), which
/// deduplicates the same way. `files` are the run's files in the order their rows reached the
/// store.
pub fn dedupe(mut store: CaseStore, files: &[InputFile]) -> Result<Deduped, LinkError> {
    if store.spill.has_runs() {
        if !store.links.is_empty() {
            store.spill_held()?;
        }
        if let Some(places) = &mut store.places {
            places.free_cases();
        }
        let CaseStore {
            links,
            details,
            places,
            accepted,
            span,
            spill,
        } = store;
        drop(links);
        return Ok(Deduped::Spilled(Spilled {
            runs: spill,
            accepted,
            span,
            ends: file_ends(files),
            base: base_counts(files),
            details: KeptDetails::of(details)?,
            places,
        }));
    }
    let CaseStore {
        mut links,
        details,
        places,
        ..
    } = store;
    let details = KeptDetails::of(details)?;
    // The greatest preference is kept: a closed date beats none (NOT_CLOSED is the least), a
    // later date an earlier one, then the higher ordinal (later source, then later line).
    links.par_sort_unstable_by_key(spill::sort_key);
    let total = links.len();
    let mut kept = vec![0u64; total.div_ceil(64)];
    let ends = file_ends(files);
    let mut duplicates = vec![0u64; files.len()];
    links.dedup_by(|later, first| {
        let same = same_case(later, first);
        if same {
            count_duplicate(&mut duplicates, &ends, later.ordinal);
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
    Ok(Deduped::InMemory(Linked {
        kept_count: links.len() as u64,
        cases: links,
        kept,
        accounts: accounts(base_counts(files), duplicates),
        details,
        places,
        kept_per_place,
    }))
}

#[cfg(test)]
mod tests;

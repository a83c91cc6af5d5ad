//! The external sort of the link cases, for runs whose cases take more than the memory budget:
//! `CaseStore` sorts the link cases it holds by dedupe's key and writes them as a run file
//! beside the scratch file (`Spill`); `Spilled::merge` reads the runs back as one sorted stream
//! (a k-way merge), deduplicates it as `dedupe` does in memory and hands on batches of whole
//! children. A run file is removed once merged, and on drop when the run stops early.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::{
    Counts, KeptDetails, LinkCase, LinkError, Linked, PlaceTag, Places, accounts, count_duplicate,
    same_case,
};
use crate::fault;
use crate::model::{CaseType, Day, Outcome, Vocabulary};

/// The memory budget of the link cases when none is given (`--memory-budget`,
/// `OUTCOMES_MEMORY_BUDGET`): 16 million cases without programmes, 12 million with.
pub const DEFAULT_MEMORY_BUDGET: u64 = 512 << 20;

/// At most this many runs are merged at once; more are first merged into longer runs.
const FAN_IN: usize = 64;
/// The fewest cases a run holds, however small the budget.
const MIN_RUN_CASES: usize = 1;
const WRITE_BUFFER: usize = 1 << 20;
const READ_BUFFER: usize = 256 << 10;
/// Bytes of a link case in a run file, and of the place tag after it when places are tracked.
const CASE_BYTES: usize = 32;
const TAG_BYTES: usize = 12;

/// dedupe's order: by child, case type and opened date, and within one case the one to keep
/// first: a closed date before none (`NOT_CLOSED` is the least), a later closed date before an
/// earlier one, then the higher ordinal (later source, then later line). Ordinals are unique,
/// so the order is total and a merge of sorted runs gives the one order a sort in memory does.
pub(super) type SortKey = (u128, CaseType, Day, Reverse<(Day, u32)>);

pub(super) fn sort_key(c: &LinkCase) -> SortKey {
    (
        u128::from_be_bytes(c.child),
        c.case_type,
        c.opened,
        Reverse((c.closed, c.ordinal)),
    )
}

/// When the store spills its link cases, where to, and the runs written so far.
pub(super) struct Spill {
    /// `None`: never spill.
    budget: Option<u64>,
    /// Cases held before a spill (from the budget and the bytes a case takes).
    capacity: usize,
    /// Where runs go; `None` (with a budget): a temporary folder, made at the first spill.
    folder: Option<PathBuf>,
    /// Whether the runs carry place tags.
    tagged: bool,
    runs: Vec<Run>,
    /// Run files named so far.
    named: usize,
    /// The temporary folder, when one was made; declared after `runs`, so it is removed after
    /// them.
    temp: Option<tempfile::TempDir>,
}

impl Spill {
    pub fn never() -> Spill {
        Spill {
            budget: None,
            capacity: usize::MAX,
            folder: None,
            tagged: false,
            runs: Vec::new(),
            named: 0,
            temp: None,
        }
    }

    pub fn over(budget: u64, folder: Option<&Path>) -> Spill {
        Spill {
            budget: Some(budget),
            folder: folder.map(Path::to_path_buf),
            ..Spill::never()
        }
    }

    /// Size the runs for cases of `bytes` each, `tagged` when they carry a place tag.
    pub fn size_for(&mut self, bytes: u64, tagged: bool) {
        self.tagged = tagged;
        if let Some(budget) = self.budget {
            let cases = usize::try_from(budget / bytes.max(1)).unwrap_or(usize::MAX);
            self.capacity = cases.max(MIN_RUN_CASES);
        }
    }

    /// Whether `held` cases fill the budget.
    pub fn is_full(&self, held: usize) -> bool {
        held >= self.capacity
    }

    pub fn has_runs(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Write `sorted` (sorted by `sort_key`) as the next run, with each case's place tag when
    /// the runs carry them.
    pub fn write(&mut self, sorted: &[LinkCase], places: Option<&Places>) -> Result<(), LinkError> {
        let mut out = RunWriter::create(self.next_path()?, self.tagged)?;
        for c in sorted {
            let tag = places.map_or(PlaceTag::default(), |p| p.tag_of(c.ordinal));
            out.push(c, tag)?;
        }
        self.runs.push(out.finish()?);
        Ok(())
    }

    fn next_path(&mut self) -> Result<PathBuf, LinkError> {
        let folder = match &self.folder {
            Some(folder) => folder.clone(),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("outcomes-runs-")
                    .tempdir()
                    .map_err(|source| LinkError::RunFolder {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                let folder = temp.path().to_path_buf();
                self.folder = Some(folder.clone());
                self.temp = Some(temp);
                folder
            }
        };
        self.named += 1;
        Ok(folder.join(format!(".links-{:05}.run", self.named)))
    }

    /// Merge runs into longer ones until at most `FAN_IN` are left.
    fn reduce(&mut self, limits: Limits) -> Result<(), LinkError> {
        while self.runs.len() > FAN_IN {
            let group: Vec<Run> = self.runs.drain(..FAN_IN).collect();
            let mut merge = Merge::open(group, self.tagged, limits)?;
            let mut out = RunWriter::create(self.next_path()?, self.tagged)?;
            while let Some((c, tag)) = merge.next()? {
                out.push(&c, tag)?;
            }
            self.runs.push(out.finish()?);
        }
        Ok(())
    }
}

/// A run file: link cases sorted by `sort_key`, fixed-width records. Removed on drop.
struct Run {
    path: PathBuf,
    records: u64,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> LinkError + '_ {
    move |source| LinkError::RunWrite {
        path: path.to_path_buf(),
        source,
    }
}

fn read_error(path: &Path) -> impl FnOnce(io::Error) -> LinkError + '_ {
    move |source| LinkError::RunRead {
        path: path.to_path_buf(),
        source,
    }
}

struct RunWriter {
    out: BufWriter<File>,
    tagged: bool,
    /// Declared last: on an error the file is closed before it is removed.
    run: Run,
}

impl RunWriter {
    fn create(path: PathBuf, tagged: bool) -> Result<RunWriter, LinkError> {
        let run = Run { path, records: 0 };
        let file = fault::point("link-run")
            .and_then(|()| File::create(&run.path))
            .map_err(write_error(&run.path))?;
        Ok(RunWriter {
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            tagged,
            run,
        })
    }

    fn push(&mut self, c: &LinkCase, tag: PlaceTag) -> Result<(), LinkError> {
        let bytes = encode(c, tag);
        let len = if self.tagged { bytes.len() } else { CASE_BYTES };
        self.out
            .write_all(&bytes[..len])
            .map_err(write_error(&self.run.path))?;
        self.run.records += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Run, LinkError> {
        // Flushed, not synced: a run only lives as long as the run of the program.
        self.out.flush().map_err(write_error(&self.run.path))?;
        let RunWriter { out, run, .. } = self;
        drop(out);
        Ok(run)
    }
}

fn encode(c: &LinkCase, tag: PlaceTag) -> [u8; CASE_BYTES + TAG_BYTES] {
    let mut b = [0u8; CASE_BYTES + TAG_BYTES];
    b[0..16].copy_from_slice(&c.child);
    b[16..20].copy_from_slice(&c.opened.to_le_bytes());
    b[20..24].copy_from_slice(&c.closed.to_le_bytes());
    b[24..28].copy_from_slice(&c.ordinal.to_le_bytes());
    b[28] = c.region;
    b[29] = c.case_type as u8;
    b[30] = c.outcome.map_or(0, |o| o as u8 + 1);
    b[31] = c.placement_region;
    b[32..36].copy_from_slice(&tag.place.to_le_bytes());
    b[36..44].copy_from_slice(&tag.rank.to_le_bytes());
    b
}

/// What a record read back may hold: an ordinal below `accepted`, a place below `places`.
#[derive(Clone, Copy)]
struct Limits {
    accepted: u64,
    places: usize,
}

/// A record written by `encode`, or `None` when it cannot be one (a damaged file).
fn decode(
    b: &[u8; CASE_BYTES + TAG_BYTES],
    tagged: bool,
    limits: Limits,
) -> Option<(LinkCase, PlaceTag)> {
    let le4 = |at: usize| [b[at], b[at + 1], b[at + 2], b[at + 3]];
    let mut child = [0u8; 16];
    child.copy_from_slice(&b[0..16]);
    let outcome = match b[30] {
        0 => None,
        n => Some(*Outcome::ALL.get(usize::from(n) - 1)?),
    };
    let case = LinkCase {
        child,
        opened: i32::from_le_bytes(le4(16)),
        closed: i32::from_le_bytes(le4(20)),
        ordinal: u32::from_le_bytes(le4(24)),
        region: b[28],
        case_type: *CaseType::ALL.get(usize::from(b[29]))?,
        outcome,
        placement_region: b[31],
    };
    let tag = if tagged {
        let mut rank = [0u8; 8];
        rank.copy_from_slice(&b[36..44]);
        PlaceTag {
            place: u32::from_le_bytes(le4(32)),
            rank: u64::from_le_bytes(rank),
        }
    } else {
        PlaceTag::default()
    };
    let fits = u64::from(case.ordinal) < limits.accepted
        && (!tagged || (tag.place as usize) < limits.places);
    fits.then_some((case, tag))
}

struct RunReader {
    input: BufReader<File>,
    /// Records not read yet.
    left: u64,
    tagged: bool,
    limits: Limits,
    /// Declared last: the file is closed before it is removed.
    run: Run,
}

impl RunReader {
    fn open(run: Run, tagged: bool, limits: Limits) -> Result<RunReader, LinkError> {
        let file = File::open(&run.path).map_err(read_error(&run.path))?;
        Ok(RunReader {
            input: BufReader::with_capacity(READ_BUFFER, file),
            left: run.records,
            tagged,
            limits,
            run,
        })
    }

    fn next(&mut self) -> Result<Option<(LinkCase, PlaceTag)>, LinkError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut bytes = [0u8; CASE_BYTES + TAG_BYTES];
        let len = if self.tagged { bytes.len() } else { CASE_BYTES };
        self.input
            .read_exact(&mut bytes[..len])
            .map_err(read_error(&self.run.path))?;
        self.left -= 1;
        decode(&bytes, self.tagged, self.limits)
            .map(Some)
            .ok_or_else(|| {
                read_error(&self.run.path)(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the file is damaged (was it changed during the run?); run again",
                ))
            })
    }
}

/// A k-way merge of runs: their records in `sort_key` order.
struct Merge {
    readers: Vec<RunReader>,
    /// The next record of each reader, while it has one.
    heads: Vec<(LinkCase, PlaceTag)>,
    /// The heads' keys, least first, with the index of their reader.
    heap: BinaryHeap<Reverse<(SortKey, usize)>>,
}

impl Merge {
    fn open(runs: Vec<Run>, tagged: bool, limits: Limits) -> Result<Merge, LinkError> {
        let mut merge = Merge {
            readers: Vec::with_capacity(runs.len()),
            heads: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
        };
        for run in runs {
            let mut reader = RunReader::open(run, tagged, limits)?;
            if let Some(head) = reader.next()? {
                merge
                    .heap
                    .push(Reverse((sort_key(&head.0), merge.readers.len())));
                merge.heads.push(head);
                merge.readers.push(reader);
            }
        }
        Ok(merge)
    }

    fn next(&mut self) -> Result<Option<(LinkCase, PlaceTag)>, LinkError> {
        let Some(mut top) = self.heap.peek_mut() else {
            return Ok(None);
        };
        let i = top.0.1;
        let record = self.heads[i];
        match self.readers[i].next()? {
            Some(next) => {
                self.heads[i] = next;
                // Sifted down when `top` goes out of scope.
                *top = Reverse((sort_key(&next.0), i));
            }
            None => {
                PeekMut::pop(top);
            }
        }
        Ok(Some(record))
    }
}

/// The sorted runs of a store that spilled, and what `dedupe` knew of its cases.
pub struct Spilled {
    pub(super) runs: Spill,
    pub(super) accepted: u64,
    pub(super) span: Option<(Day, Day)>,
    /// Where each file's accepted rows end among the ordinals.
    pub(super) ends: Vec<u64>,
    /// Each file's counts before deduplication.
    pub(super) base: Vec<Counts>,
    pub(super) details: KeptDetails,
    pub(super) places: Option<Places>,
}

/// A batch of kept cases, whole children, and their place tags (when the runs carry them).
struct Batch {
    cases: Vec<LinkCase>,
    tags: Vec<PlaceTag>,
}

/// What the merge learns of the kept cases.
struct Kept {
    bits: Vec<u64>,
    count: u64,
    duplicates: Vec<u64>,
    per_place: Vec<u64>,
}

impl Spilled {
    /// Each accepted case's place, when the store tracked them.
    pub fn places(&self) -> Option<&Places> {
        self.places.as_ref()
    }

    /// The earliest opened and the latest closed-or-opened date of the accepted cases, which
    /// are those of the kept cases too: the kept case of a (child, case type, opened) has the
    /// latest closed date of its duplicates. `None` when there are none.
    pub fn span(&self) -> Option<(Day, Day)> {
        self.span
    }

    /// How many run files the store wrote.
    pub fn runs(&self) -> usize {
        self.runs.named
    }

    /// Merge the runs and keep one case per (child, case type, opened), as `dedupe` does in
    /// memory, handing the kept cases to `each` sorted by (child, case type, opened), about
    /// `batch` at a time but never splitting a child, with their place tags when the store
    /// tracked places. The merge runs on a thread of its own, a batch ahead of `each`. The
    /// `Linked` it gives back has every file's counts, the kept cases' places and their full
    /// records, but no `cases`: those were handed on.
    pub fn merge<E: From<LinkError>>(
        self,
        batch: usize,
        mut each: impl FnMut(&[LinkCase], Option<&[PlaceTag]>) -> Result<(), E>,
    ) -> Result<Linked, E> {
        let Spilled {
            mut runs,
            accepted,
            ends,
            base,
            details,
            places,
            ..
        } = self;
        let limits = Limits {
            accepted,
            places: places.as_ref().map_or(0, |p| p.places().len()),
        };
        runs.reduce(limits)?;
        let tagged = runs.tagged;
        let merge = Merge::open(std::mem::take(&mut runs.runs), tagged, limits)?;
        let (full, full_rx) = mpsc::sync_channel::<Batch>(1);
        let (free, free_rx) = mpsc::channel::<Batch>();
        let ends = &ends;
        let (kept, failed) = std::thread::scope(|s| {
            let producer =
                s.spawn(move || deduplicate(merge, batch, tagged, limits, ends, full, free_rx));
            let mut failed = None;
            for b in full_rx.iter() {
                if let Err(e) = each(&b.cases, tagged.then_some(&b.tags)) {
                    failed = Some(e);
                    break;
                }
                let _ = free.send(b);
            }
            // The merge stops at its next batch when `each` failed.
            drop(full_rx);
            match producer.join() {
                Ok(kept) => (kept, failed),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let kept = kept?;
        drop(runs);
        Ok(Linked {
            cases: Vec::new(),
            kept_count: kept.count,
            kept: kept.bits,
            accounts: accounts(base, kept.duplicates),
            details,
            places,
            kept_per_place: kept.per_place,
        })
    }
}

/// Keep the first record of each (child, case type, opened) of the merged runs, count the rest
/// against their files, and send the kept ones to `full` a batch of whole children at a time
/// (reusing the batches that come back on `free`). Stops early when `full` is closed.
fn deduplicate(
    mut merge: Merge,
    batch: usize,
    tagged: bool,
    limits: Limits,
    ends: &[u64],
    full: mpsc::SyncSender<Batch>,
    free: mpsc::Receiver<Batch>,
) -> Result<Kept, LinkError> {
    let mut kept = Kept {
        bits: vec![0; limits.accepted.div_ceil(64) as usize],
        count: 0,
        duplicates: vec![0; ends.len()],
        per_place: vec![0; limits.places],
    };
    let empty = || Batch {
        cases: Vec::with_capacity(batch + 64),
        tags: Vec::with_capacity(if tagged { batch + 64 } else { 0 }),
    };
    let mut current = empty();
    let mut last: Option<LinkCase> = None;
    while let Some((c, tag)) = merge.next()? {
        if last.as_ref().is_some_and(|l| same_case(l, &c)) {
            count_duplicate(&mut kept.duplicates, ends, c.ordinal);
            continue;
        }
        if current.cases.len() >= batch && last.is_some_and(|l| l.child != c.child) {
            let mut next = free.try_recv().unwrap_or_else(|_| empty());
            next.cases.clear();
            next.tags.clear();
            if full.send(std::mem::replace(&mut current, next)).is_err() {
                return Ok(kept);
            }
        }
        last = Some(c);
        kept.bits[c.ordinal as usize / 64] |= 1 << (c.ordinal % 64);
        kept.count += 1;
        current.cases.push(c);
        if tagged {
            kept.per_place[tag.place as usize] += 1;
            current.tags.push(tag);
        }
    }
    if !current.cases.is_empty() {
        let _ = full.send(current);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests;

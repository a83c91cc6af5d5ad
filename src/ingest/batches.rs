//! The run's files in order, read as fast as they come: a big export streams chunk by chunk
//! (`stream::ingest_export`); runs of small ones (one office a month makes hundreds of files
//! of a few MB) are read and parsed several at once while the batch before is merged, so that
//! a file's end no longer leaves a core idle. Either way every row is merged in file order,
//! and the outputs are the same.

use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;

use rayon::prelude::*;

use super::source::{self, ChunkPool, Declared, Opened};
use super::stream::{self, Cuts, FileContext, OfficeTable, ParsedExport, SourceTally};
use super::{CaseSink, IngestError, InputFile, RejectSink};
use crate::config::Pipeline;
use crate::model::Day;
use crate::pseudonym::Pseudonymizer;

/// A text export of at most this many bytes is small: read and parsed whole beside others,
/// then merged in its turn (4 chunks).
const SMALL_EXPORT_BYTES: u64 = 8 << 20;

/// The most bytes of small exports parsed at once: 16 MB (two batches are in memory at a time,
/// each as its bytes and its parsed rows).
const BATCH_BYTES: u64 = 16 << 20;

/// The most files in a batch: each stays open until its merge, and two batches are in flight,
/// well inside the usual limit of 1,024 open files.
const MAX_BATCH_FILES: usize = 64;

/// Names that are workbooks: never batched, as calamine holds them whole (a workbook under
/// another name is told by its first bytes and opened in its turn: `Prepared::Later`).
const WORKBOOK_EXTENSIONS: [&str; 4] = ["xlsx", "xlsm", "xls", "ods"];

/// What a run's ingest shares between files.
pub(super) struct Run<'a> {
    pub(super) pipeline: &'a Pipeline,
    pub(super) files: &'a [(usize, PathBuf)],
    pub(super) pseudonymizer: &'a Pseudonymizer,
    pub(super) as_of: Day,
    pub(super) pool: &'a ChunkPool,
    pub(super) cuts: Cuts,
}

/// Where the merged rows of every file go.
pub(super) struct Merged<'a> {
    pub(super) cases: &'a mut dyn CaseSink,
    pub(super) offices: &'a mut OfficeTable,
    pub(super) tallies: &'a mut [SourceTally],
    pub(super) sink: &'a mut dyn RejectSink,
    pub(super) progress: &'a (dyn Fn(&InputFile, u64) + Sync),
    /// Each file's accounting, in order.
    pub(super) files: &'a mut Vec<InputFile>,
}

/// A small export, ready for its turn.
enum Prepared<'p> {
    Text(Box<ParsedExport<'p, File>>),
    /// A workbook, whatever its name (it starts like a ZIP archive or an Office 97 file):
    /// opened in its turn, one at a time, as calamine may hold it whole.
    Later,
}

/// Whether the file at `path` starts like a workbook (a ZIP archive, or an Office 97–2003
/// compound file); a file that cannot be read is left for its turn to say so.
fn starts_like_a_workbook(path: &std::path::Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == *b"PK\x03\x04" || head == [0xD0, 0xCF, 0x11, 0xE0])
}

/// The files of a batch and what reading each gave, in order.
type Batch<'p> = (Range<usize>, Vec<Result<Prepared<'p>, IngestError>>);

impl<'a> Run<'a> {
    fn context(&self, i: usize) -> FileContext<'a> {
        let (source_idx, path) = &self.files[i];
        FileContext {
            source: &self.pipeline.sources[*source_idx],
            source_idx: *source_idx,
            file_idx: i as u32,
            path,
            pseudonymizer: self.pseudonymizer,
            as_of: self.as_of,
            cuts: self.cuts,
        }
    }

    /// The small files from `start` on, as many as make `BATCH_BYTES` (at most
    /// `MAX_BATCH_FILES`); empty when the file at `start` is not small (or there is none).
    fn batch(&self, sizes: &[Option<u64>], start: usize) -> Range<usize> {
        let mut end = start;
        let mut bytes = 0u64;
        while end < self.files.len() && end - start < MAX_BATCH_FILES {
            let small = sizes[end].filter(|size| *size <= SMALL_EXPORT_BYTES);
            match small {
                Some(size) if end == start || bytes + size <= BATCH_BYTES => {
                    bytes += size;
                    end += 1;
                }
                _ => break,
            }
        }
        start..end
    }

    /// Open, read and parse the files of `range`, in parallel; nothing of the run is touched.
    fn prepare(&self, range: Range<usize>) -> Vec<Result<Prepared<'a>, IngestError>> {
        range
            .into_par_iter()
            .map(|i| {
                let ctx = self.context(i);
                if starts_like_a_workbook(ctx.path) {
                    return Ok(Prepared::Later);
                }
                let declared = Declared::of(ctx.source);
                match source::open_file(ctx.path, self.pool, self.cuts.reading(), declared)? {
                    Opened::Text(export) => stream::parse_whole(&ctx, export)
                        .map(|parsed| Prepared::Text(Box::new(parsed))),
                    // Told by content past the first bytes: dropped, and opened in its turn.
                    Opened::Workbook(_) => Ok(Prepared::Later),
                }
            })
            .collect()
    }

    /// Merge the prepared files of `range` in order; the first error stops the run.
    fn merge(
        &self,
        range: Range<usize>,
        prepared: Vec<Result<Prepared<'a>, IngestError>>,
        out: &mut Merged<'_>,
    ) -> Result<(), IngestError> {
        for (i, prepared) in range.zip(prepared) {
            if let Ok(Prepared::Later) = prepared {
                self.stream(i, out)?;
                continue;
            }
            let ctx = self.context(i);
            let tally = &mut out.tallies[ctx.source_idx];
            let file = match prepared? {
                Prepared::Text(parsed) => stream::merge_whole(
                    ctx,
                    *parsed,
                    out.cases,
                    out.offices,
                    tally,
                    out.sink,
                    out.progress,
                ),
                Prepared::Later => unreachable!("streamed above"),
            }?;
            out.files.push(file);
        }
        Ok(())
    }

    /// Stream the (big) file `i` on its own.
    fn stream(&self, i: usize, out: &mut Merged<'_>) -> Result<(), IngestError> {
        let ctx = self.context(i);
        let declared = Declared::of(ctx.source);
        let opened = source::open_file(ctx.path, self.pool, self.cuts.reading(), declared)?;
        let tally = &mut out.tallies[ctx.source_idx];
        let file = super::ingest_opened(
            ctx,
            opened,
            out.cases,
            out.offices,
            tally,
            out.sink,
            out.progress,
        )?;
        out.files.push(file);
        Ok(())
    }

    /// Ingest every file, in order.
    pub(super) fn ingest(&self, out: &mut Merged<'_>) -> Result<(), IngestError> {
        let sizes: Vec<Option<u64>> = self
            .files
            .iter()
            .map(|(_, path)| {
                let workbook = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    WORKBOOK_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                });
                if workbook {
                    return None;
                }
                // Only a regular file's size says what reading it takes (a pipe says 0).
                std::fs::metadata(path)
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len())
            })
            .collect();
        let mut start = 0;
        let mut ready: Option<Batch<'a>> = None;
        loop {
            let next = self.batch(&sizes, start);
            // The batch before is merged while this one is read and parsed.
            let (merged, prepared) = rayon::join(
                || match ready.take() {
                    Some((range, prepared)) => self.merge(range, prepared, out),
                    None => Ok(()),
                },
                || (!next.is_empty()).then(|| self.prepare(next.clone())),
            );
            merged?;
            match prepared {
                Some(prepared) => {
                    start = next.end;
                    ready = Some((next, prepared));
                }
                None if start < self.files.len() => {
                    self.stream(start, out)?;
                    start += 1;
                }
                None => return Ok(()),
            }
        }
    }
}

//! The chunk and piece stream of one file and its in-order merge: counts, rejects, office
//! names, unmapped values and cases come out in file order. It opens no file and looks inside
//! no field: that is `source`'s and `validate`'s.
//!
//! The body of an export comes from `source` in chunks (2 MB, ending at a line break unless a
//! line is longer than a chunk); each chunk is cut into pieces (~256 KB, also at line breaks)
//! that are split and validated in parallel, each as if it began a record, while the previous
//! chunk is merged and the next one is read. That guess is wrong only where a quoted line break
//! or a long line falls at a cut: the piece before it then ends inside a record
//! (`PieceEnd::unfinished_at`), and the merge re-reads from that record on, in order. The merge
//! also checks the source's office names (`MAX_OFFICES`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::header::{self, too_long, wrong_shape};
use super::memo::Memo;
use super::records::{MAX_RECORD_BYTES, OpenRecord, PieceEnd, Record, Splitter};
use super::reject::{RejectSink, RowReject};
use super::source::{self, Chunk, ChunkPool, Export, Reading};
use super::unmapped::{NotALabel, Unmapped, not_a_label};
use super::validate::RowContext;
use super::{CaseSink, IngestError, InputFile};
use crate::config::{Field, Source};
use crate::model::{Case, Day};
use crate::pseudonym::{Pseudonymizer, to_hex};

/// The size a chunk is cut into for parallel parsing.
pub(super) const PIECE_BYTES: usize = 256 << 10;

/// Where a file is cut: chunk and piece sizes, and the record bound (past which a record is
/// cut off). Tests cut small to put cuts everywhere.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cuts {
    pub(super) chunk_bytes: usize,
    pub(super) piece_bytes: usize,
    pub(super) max_record: usize,
}

impl Default for Cuts {
    fn default() -> Cuts {
        Cuts {
            chunk_bytes: source::CHUNK_BYTES,
            piece_bytes: PIECE_BYTES,
            max_record: MAX_RECORD_BYTES,
        }
    }
}

impl Cuts {
    /// How `source` reads the file for these cuts.
    pub(super) fn reading(self) -> Reading {
        Reading {
            chunk_bytes: self.chunk_bytes,
            max_record: self.max_record,
        }
    }
}

/// Cut `chunk` into pieces of about `piece_bytes` that end at line breaks.
fn pieces(chunk: &[u8], piece_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let piece_bytes = piece_bytes.max(1);
    let mut out = Vec::with_capacity(chunk.len() / piece_bytes + 1);
    let mut start = 0;
    while start < chunk.len() {
        let mut end = (start + piece_bytes).min(chunk.len());
        if end < chunk.len() {
            end = match memchr::memchr(b'\n', &chunk[end..]) {
                Some(i) => end + i + 1,
                None => chunk.len(),
            };
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// Office names of the whole run, each once, in order of first appearance.
#[derive(Default)]
pub(super) struct OfficeTable {
    pub(super) names: Vec<String>,
    index: HashMap<String, u32>,
}

impl OfficeTable {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
}

/// The most distinct office names one source may have: more, and the office column does not
/// hold office names (SPEC §2), which would go into `cases.parquet`. A name read from the
/// column must also pass the test a listed label passes (no six digits in a row, at most 100
/// characters).
pub(super) const MAX_OFFICES: usize = 500;

/// What ingest keeps of one source across its files: its unmapped values and which of the
/// run's office names its cases have.
#[derive(Default)]
pub(super) struct SourceTally {
    pub(super) unmapped: Unmapped,
    offices: HashSet<u32>,
}

/// One file to read: the source it belongs to, its place in the run, and the piece size.
pub(super) struct FileContext<'a> {
    pub(super) source: &'a Source,
    pub(super) source_idx: usize,
    pub(super) file_idx: u32,
    pub(super) path: &'a Path,
    pub(super) pseudonymizer: &'a Pseudonymizer,
    pub(super) as_of: Day,
    pub(super) cuts: Cuts,
}

impl FileContext<'_> {
    /// The accounting of the file, before any row: how outputs name it and how it is written.
    pub(super) fn input_file(&self, encoding: &'static str, delimiter: u8) -> InputFile {
        let display = format!(
            "{}/{}",
            self.source.name,
            self.path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        InputFile {
            source: self.source_idx,
            path: self.path.to_path_buf(),
            display,
            sha256: String::new(),
            encoding,
            delimiter,
            sheet: None,
            rows_read: 0,
            rows_rejected: 0,
            reject_counts: BTreeMap::new(),
        }
    }
}

/// What parsing a piece needs besides validation: the header's width, the delimiter, where
/// pieces are cut, the record bound and where chunk buffers go back when merged.
pub(super) struct PieceContext<'a> {
    pub(super) rows: &'a RowContext<'a>,
    pub(super) header_len: usize,
    pub(super) delimiter: u8,
    pub(super) piece_bytes: usize,
    pub(super) max_record: usize,
    pub(super) pool: &'a ChunkPool,
}

impl PieceContext<'_> {
    fn splitter(&self) -> Splitter {
        Splitter::new(self.delimiter, self.max_record)
    }
}

/// A row of a piece, in file order; lines count from the start of the piece.
enum ParsedRow {
    /// A case whose `office` indexes the piece's own office names.
    Accepted(Case),
    Rejected {
        line: u64,
        reject: RowReject,
    },
    /// A record without the header's width, or one the end of the file cut inside a quote;
    /// the message needs the line in the file.
    WrongShape {
        line: u64,
        columns: usize,
        inner_newlines: u64,
        unclosed: bool,
    },
    /// A record that did not end within the record bound, and the lines it took.
    TooLong {
        line: u64,
        inner_newlines: u64,
    },
}

/// What parsing one piece gives the (ordered) merge.
pub(super) struct PieceResult {
    rows: Vec<ParsedRow>,
    offices: Vec<String>,
    unmapped: Unmapped,
    end: PieceEnd,
}

/// The rows of a piece as they are parsed, with the piece's office names, unmapped values
/// and memo.
#[derive(Default)]
pub(super) struct PieceBuilder {
    rows: Vec<ParsedRow>,
    offices: Vec<String>,
    office_index: HashMap<String, u32>,
    last_office: Option<(String, u32)>,
    unmapped: Unmapped,
    memo: Memo,
}

impl PieceBuilder {
    pub(super) fn add(&mut self, ctx: &PieceContext<'_>, rec: &Record<'_>) {
        if rec.is_blank() {
            return;
        }
        let line = rec.newlines_before;
        if rec.too_long {
            self.rows.push(ParsedRow::TooLong {
                line,
                inner_newlines: rec.inner_newlines,
            });
            return;
        }
        if rec.len() != ctx.header_len || rec.unclosed_quote {
            self.rows.push(ParsedRow::WrongShape {
                line,
                columns: rec.len(),
                inner_newlines: rec.inner_newlines,
                unclosed: rec.unclosed_quote,
            });
            return;
        }
        match ctx.rows.process(rec, &mut self.memo, &mut self.unmapped) {
            Ok((mut case, office)) => {
                case.line = line;
                case.office = match &self.last_office {
                    Some((name, i)) if name.as_str() == office.as_ref() => *i,
                    _ => {
                        let i = match self.office_index.get(office.as_ref()) {
                            Some(i) => *i,
                            None => {
                                let i = self.offices.len() as u32;
                                self.offices.push(office.to_string());
                                self.office_index.insert(office.to_string(), i);
                                i
                            }
                        };
                        self.last_office = Some((office.into_owned(), i));
                        i
                    }
                };
                self.rows.push(ParsedRow::Accepted(case));
            }
            Err(reject) => self.rows.push(ParsedRow::Rejected { line, reject }),
        }
    }

    pub(super) fn finish(self, end: PieceEnd) -> PieceResult {
        PieceResult {
            rows: self.rows,
            offices: self.offices,
            unmapped: self.unmapped,
            end,
        }
    }
}

fn parse_piece(
    ctx: &PieceContext<'_>,
    splitter: &mut Splitter,
    bytes: &[u8],
    at_eof: bool,
) -> PieceResult {
    let mut builder = PieceBuilder {
        rows: Vec::with_capacity(bytes.len() / 128 + 1),
        ..PieceBuilder::default()
    };
    let end = splitter.parse_piece(bytes, at_eof, |rec| builder.add(ctx, rec));
    builder.finish(end)
}

/// Chunks read and parsed together: one parallel step takes the pieces of all of them, so the
/// step's last piece (when one core may wait for the other) is a smaller share of it.
const GROUP_CHUNKS: usize = 4;

/// The next chunks of `body`, up to `GROUP_CHUNKS` and the file's last.
fn read_group<R: Read>(body: &mut super::source::Body<'_, R>) -> std::io::Result<Vec<Chunk>> {
    let mut group = Vec::with_capacity(GROUP_CHUNKS);
    while group.len() < GROUP_CHUNKS {
        let Some(chunk) = body.next_chunk()? else {
            break;
        };
        let at_eof = chunk.at_eof;
        group.push(chunk);
        if at_eof {
            break;
        }
    }
    Ok(group)
}

/// Parse the pieces of several chunks in one parallel step; each chunk's pieces in order.
fn parse_chunks(ctx: &PieceContext<'_>, chunks: &[Chunk]) -> Vec<Vec<(usize, PieceResult)>> {
    let jobs: Vec<(usize, std::ops::Range<usize>, bool)> = chunks
        .iter()
        .enumerate()
        .flat_map(|(c, chunk)| {
            let ranges = pieces(&chunk.bytes, ctx.piece_bytes);
            let last = ranges.len().saturating_sub(1);
            ranges
                .into_iter()
                .enumerate()
                .map(move |(i, range)| (c, range, chunk.at_eof && i == last))
        })
        .collect();
    let parsed: Vec<(usize, usize, PieceResult)> = jobs
        .into_par_iter()
        .map(|(c, range, at_eof)| {
            let mut splitter = ctx.splitter();
            let start = range.start;
            (
                c,
                start,
                parse_piece(ctx, &mut splitter, &chunks[c].bytes[range], at_eof),
            )
        })
        .collect();
    let mut by_chunk: Vec<Vec<(usize, PieceResult)>> = chunks.iter().map(|_| Vec::new()).collect();
    for (c, start, result) in parsed {
        by_chunk[c].push((start, result));
    }
    by_chunk
}

/// Parse a chunk's pieces in parallel.
fn parse_chunk(ctx: &PieceContext<'_>, chunk: &Chunk) -> Vec<(usize, PieceResult)> {
    let ranges = pieces(&chunk.bytes, ctx.piece_bytes);
    let last = ranges.len().saturating_sub(1);
    ranges
        .into_par_iter()
        .enumerate()
        .map(|(i, range)| {
            let at_eof = chunk.at_eof && i == last;
            let mut splitter = ctx.splitter();
            (
                range.start,
                parse_piece(ctx, &mut splitter, &chunk.bytes[range], at_eof),
            )
        })
        .collect()
}

/// The ordered half of ingest: counts, rejects and accepted cases in file order.
pub(super) struct Merge<'s> {
    file: InputFile,
    header_len: usize,
    max_record: usize,
    /// The source: its office column and the office names its pipeline entry gives.
    source: &'s Source,
    cases: &'s mut dyn CaseSink,
    offices: &'s mut OfficeTable,
    tally: &'s mut SourceTally,
    sink: &'s mut dyn RejectSink,
    /// Line breaks before the first byte not yet merged (for a workbook: the number of the
    /// last sheet row merged).
    pub(super) lines_done: u64,
    /// A record that a chunk ended inside, to be continued with the next chunk.
    open: Option<OpenRecord>,
}

impl<'s> Merge<'s> {
    /// The merge of `file`'s rows, which begin after `lines_done` lines (the header's).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        file: InputFile,
        header_len: usize,
        max_record: usize,
        source: &'s Source,
        cases: &'s mut dyn CaseSink,
        offices: &'s mut OfficeTable,
        tally: &'s mut SourceTally,
        sink: &'s mut dyn RejectSink,
        lines_done: u64,
    ) -> Merge<'s> {
        Merge {
            file,
            header_len,
            max_record,
            source,
            cases,
            offices,
            tally,
            sink,
            lines_done,
            open: None,
        }
    }

    /// The file's accounting so far.
    pub(super) fn file(&self) -> &InputFile {
        &self.file
    }

    /// The file's accounting, once every row is merged.
    pub(super) fn into_file(self) -> InputFile {
        self.file
    }

    pub(super) fn piece(&mut self, result: PieceResult) -> Result<(), IngestError> {
        let global: Vec<u32> = result
            .offices
            .iter()
            .map(|name| self.offices.intern(name))
            .collect();
        for (name, i) in result.offices.iter().zip(&global) {
            if self.tally.offices.insert(*i) {
                self.check_office(name)?;
            }
        }
        self.tally.unmapped.merge(result.unmapped);
        for row in result.rows {
            self.file.rows_read += 1;
            match row {
                ParsedRow::Accepted(mut case) => {
                    case.line += self.lines_done + 1;
                    case.office = global[case.office as usize];
                    self.cases
                        .accept(case)
                        .map_err(|source| IngestError::Sink { source })?;
                }
                ParsedRow::Rejected { line, reject } => {
                    self.reject(self.lines_done + line + 1, reject)?;
                }
                ParsedRow::WrongShape {
                    line,
                    columns,
                    inner_newlines,
                    unclosed,
                } => {
                    let line = self.lines_done + line + 1;
                    let reject =
                        wrong_shape(line, columns, self.header_len, inner_newlines, unclosed);
                    self.reject(line, reject)?;
                }
                ParsedRow::TooLong {
                    line,
                    inner_newlines,
                } => {
                    let line = self.lines_done + line + 1;
                    self.reject(line, too_long(line, inner_newlines, self.max_record))?;
                }
            }
        }
        self.lines_done += result.end.newlines;
        Ok(())
    }

    /// A whole-file error when the source's office names, with `name` new among them, do not
    /// look like office names: more than `MAX_OFFICES` of them, or `name` (read from the
    /// column, not written in the pipeline file) could not be a label.
    fn check_office(&self, name: &str) -> Result<(), IngestError> {
        let source = self.source;
        let Some(column) = source.column(Field::Office) else {
            return Ok(());
        };
        let from_pipeline = source.labels.office_names.iter().any(|o| o == name)
            || source.fixed_office.as_deref() == Some(name)
            || source.name == name;
        let why = if self.tally.offices.len() > MAX_OFFICES {
            format!("holds more than {MAX_OFFICES} distinct values")
        } else if from_pipeline {
            return Ok(());
        } else {
            match not_a_label(name) {
                None => return Ok(()),
                Some(NotALabel::Digits) => {
                    "holds a value with six or more digits in a row (like an identifier or a phone number)".to_string()
                }
                Some(NotALabel::Long) => "holds a value over 100 characters".to_string(),
            }
        };
        Err(IngestError::NotOfficeNames {
            path: self.file.path.clone(),
            source_name: source.name.clone(),
            column: column.to_string(),
            why,
        })
    }

    fn reject(&mut self, line: u64, reject: RowReject) -> Result<(), IngestError> {
        self.file.rows_rejected += 1;
        *self
            .file
            .reject_counts
            .entry((reject.reason, reject.field))
            .or_default() += 1;
        self.sink
            .reject(&self.file, line, &reject)
            .map_err(|source| IngestError::Rejects { source })
    }

    /// Merge a chunk's parsed pieces in order. Where a piece ended inside a record (a quoted
    /// line break at a cut), the pieces after it began mid-record: re-read from that record on,
    /// in order.
    fn chunk(
        &mut self,
        ctx: &PieceContext<'_>,
        chunk: Chunk,
        parsed: Vec<(usize, PieceResult)>,
    ) -> Result<(), IngestError> {
        let result = self.chunk_rows(ctx, &chunk, parsed);
        ctx.pool.give(chunk.bytes);
        // A crash test aborts here, in the middle of ingest (a release build does nothing).
        let _ = crate::fault::point("ingest-chunk");
        result
    }

    fn chunk_rows(
        &mut self,
        ctx: &PieceContext<'_>,
        chunk: &Chunk,
        parsed: Vec<(usize, PieceResult)>,
    ) -> Result<(), IngestError> {
        if let Some(mut open) = self.open.take() {
            let mut builder = PieceBuilder::default();
            let used = open.feed(&chunk.bytes, chunk.at_eof, 0, &mut |rec| {
                builder.add(ctx, rec)
            });
            let Some(used) = used else {
                // Still inside the record: the whole chunk belongs to it.
                self.open = Some(open);
                return Ok(());
            };
            self.piece(builder.finish(PieceEnd {
                unfinished_at: None,
                newlines: open.newlines(),
            }))?;
            return self.sequential(ctx, &chunk.bytes[used..], chunk.at_eof);
        }
        for (start, result) in parsed {
            let end = result.end;
            self.piece(result)?;
            if let Some(at) = end.unfinished_at {
                return self.sequential(ctx, &chunk.bytes[start + at..], chunk.at_eof);
            }
        }
        Ok(())
    }

    fn sequential(
        &mut self,
        ctx: &PieceContext<'_>,
        bytes: &[u8],
        at_eof: bool,
    ) -> Result<(), IngestError> {
        let mut splitter = ctx.splitter();
        let result = parse_piece(ctx, &mut splitter, bytes, at_eof);
        let unfinished = result.end.unfinished_at.is_some();
        self.piece(result)?;
        if unfinished {
            self.open = Some(splitter.into_open());
        }
        Ok(())
    }
}

/// Ingest one opened export: map its header, then parse chunk by chunk in parallel and merge
/// in order into `cases`, `offices` and `sink`; the file's accounting.
/// Ingest one text export as it is read: each chunk parsed in parallel while the previous one
/// is merged and the next one read.
pub(super) fn ingest_export<R: Read + Send>(
    ctx: FileContext<'_>,
    export: Export<'_, R>,
    cases: &mut dyn CaseSink,
    offices: &mut OfficeTable,
    tally: &mut SourceTally,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    let io_err = |source| IngestError::Io {
        path: ctx.path.to_path_buf(),
        source,
    };
    let (mut body, file, layout) = read_header(&ctx, export)?;
    let columns = layout.columns(&ctx)?;
    let rows = layout.rows(&ctx, &columns);
    let piece_ctx = layout.piece_context(&ctx, &rows, body.pool());
    let mut merge = layout.merge(file, &ctx, cases, offices, tally, sink);
    // While one group of chunks is parsed in parallel, the group before is merged and the next
    // is read.
    let mut current = read_group(&mut body).map_err(io_err)?;
    let mut pending: Vec<(Chunk, Vec<(usize, PieceResult)>)> = Vec::new();
    while !current.is_empty() {
        let at_eof = current.last().is_some_and(|c| c.at_eof);
        let (parsed, (next, merged)) = rayon::join(
            || parse_chunks(&piece_ctx, &current),
            || {
                let next = if at_eof {
                    Ok(Vec::new())
                } else {
                    read_group(&mut body)
                };
                let merged = pending
                    .drain(..)
                    .try_for_each(|(done, parsed)| merge.chunk(&piece_ctx, done, parsed));
                (next, merged)
            },
        );
        merged?;
        progress(&merge.file, body.bytes_read());
        pending = current.into_iter().zip(parsed).collect();
        current = next.map_err(io_err)?;
    }
    for (done, parsed) in pending {
        merge.chunk(&piece_ctx, done, parsed)?;
    }
    finish(&ctx, merge, &piece_ctx, body, progress)
}

/// What a text export's header says about reading its body.
pub(super) struct Layout {
    decoding: super::source::Decoding,
    has_bom: bool,
    delimiter: u8,
    header: Vec<Vec<u8>>,
    header_lines: u64,
}

/// An export's body, its accounting so far and its layout; a header whose quote never closes
/// is refused here.
fn read_header<'p, R: Read>(
    ctx: &FileContext<'_>,
    export: Export<'p, R>,
) -> Result<(super::source::Body<'p, R>, InputFile, Layout), IngestError> {
    let Export {
        decoding,
        encoding_name,
        has_bom,
        delimiter,
        header,
        header_unclosed,
        header_lines,
        body,
    } = export;
    if header_unclosed {
        return Err(IngestError::HeaderQuoteNeverClosed {
            path: ctx.path.to_path_buf(),
        });
    }
    let file = ctx.input_file(encoding_name, delimiter);
    let layout = Layout {
        decoding,
        has_bom,
        delimiter,
        header,
        header_lines,
    };
    Ok((body, file, layout))
}

impl Layout {
    fn columns(&self, ctx: &FileContext<'_>) -> Result<super::header::ColumnIndex, IngestError> {
        header::map_columns(
            ctx.path,
            ctx.source,
            &self.header,
            self.decoding,
            self.has_bom,
        )
    }

    fn rows<'a>(
        &self,
        ctx: &FileContext<'a>,
        columns: &'a super::header::ColumnIndex,
    ) -> RowContext<'a> {
        RowContext::new(
            ctx.source,
            columns,
            self.decoding,
            ctx.pseudonymizer,
            ctx.as_of,
            ctx.file_idx,
        )
    }

    fn piece_context<'a>(
        &self,
        ctx: &FileContext<'_>,
        rows: &'a RowContext<'a>,
        pool: &'a ChunkPool,
    ) -> PieceContext<'a> {
        PieceContext {
            rows,
            header_len: self.header.len(),
            delimiter: self.delimiter,
            piece_bytes: ctx.cuts.piece_bytes,
            max_record: ctx.cuts.max_record,
            pool,
        }
    }

    fn merge<'s>(
        &self,
        file: InputFile,
        ctx: &FileContext<'s>,
        cases: &'s mut dyn CaseSink,
        offices: &'s mut OfficeTable,
        tally: &'s mut SourceTally,
        sink: &'s mut dyn RejectSink,
    ) -> Merge<'s> {
        Merge::new(
            file,
            self.header.len(),
            ctx.cuts.max_record,
            ctx.source,
            cases,
            offices,
            tally,
            sink,
            self.header_lines,
        )
    }
}

/// After the last chunk: a record left open at the end, the file's checksum.
fn finish<R: Read>(
    ctx: &FileContext<'_>,
    mut merge: Merge<'_>,
    piece_ctx: &PieceContext<'_>,
    body: super::source::Body<'_, R>,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    if merge.open.is_some() {
        // Only a chunk that is not the file's last can leave a record open, and the chunk
        // after it goes on with it; reaching here means the file ended without another.
        merge.chunk(
            piece_ctx,
            Chunk {
                bytes: Vec::new(),
                at_eof: true,
            },
            Vec::new(),
        )?;
    }
    let mut file = merge.file;
    progress(&file, body.bytes_read());
    file.sha256 = to_hex(&body.finish().map_err(|source| IngestError::Io {
        path: ctx.path.to_path_buf(),
        source,
    })?);
    Ok(file)
}

/// A small text export read and parsed whole (`parse_whole`), waiting for its turn to merge.
pub(super) struct ParsedExport<'p, R> {
    body: super::source::Body<'p, R>,
    file: InputFile,
    layout: Layout,
    /// The header's mapping, worked out once for the parse and kept for the merge.
    columns: super::header::ColumnIndex,
    chunks: Vec<(Chunk, Vec<(usize, PieceResult)>)>,
}

/// Read and parse every chunk of a (small) export, touching nothing of the run's: several
/// files are parsed so at once, and then merged in order (`merge_whole`).
pub(super) fn parse_whole<'p, R: Read + Send>(
    ctx: &FileContext<'_>,
    export: Export<'p, R>,
) -> Result<ParsedExport<'p, R>, IngestError> {
    let (mut body, file, layout) = read_header(ctx, export)?;
    let columns = layout.columns(ctx)?;
    let rows = layout.rows(ctx, &columns);
    let piece_ctx = layout.piece_context(ctx, &rows, body.pool());
    let mut chunks = Vec::new();
    while let Some(chunk) = body.next_chunk().map_err(|source| IngestError::Io {
        path: ctx.path.to_path_buf(),
        source,
    })? {
        let parsed = parse_chunk(&piece_ctx, &chunk);
        let at_eof = chunk.at_eof;
        chunks.push((chunk, parsed));
        if at_eof {
            break;
        }
    }
    Ok(ParsedExport {
        body,
        file,
        layout,
        columns,
        chunks,
    })
}

/// Merge an export `parse_whole` parsed, in order, as `ingest_export` would have.
pub(super) fn merge_whole<R: Read>(
    ctx: FileContext<'_>,
    parsed: ParsedExport<'_, R>,
    cases: &mut dyn CaseSink,
    offices: &mut OfficeTable,
    tally: &mut SourceTally,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    let ParsedExport {
        body,
        file,
        layout,
        columns,
        chunks,
    } = parsed;
    let rows = layout.rows(&ctx, &columns);
    let piece_ctx = layout.piece_context(&ctx, &rows, body.pool());
    let mut merge = layout.merge(file, &ctx, cases, offices, tally, sink);
    for (chunk, parsed) in chunks {
        merge.chunk(&piece_ctx, chunk, parsed)?;
    }
    finish(&ctx, merge, &piece_ctx, body, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_end_at_line_breaks_and_cover_the_chunk() {
        let line = b"0123456789,abcdefghij\n";
        let chunk: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 40_000)
            .collect();
        let ps = pieces(&chunk, PIECE_BYTES);
        assert!(ps.len() > 1);
        assert_eq!(ps[0].start, 0);
        assert_eq!(ps.last().unwrap().end, chunk.len());
        for w in ps.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_eq!(chunk[w[0].end - 1], b'\n');
        }
    }
}

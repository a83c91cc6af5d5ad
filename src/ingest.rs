//! Ingest (SPEC §2): find each source's files, decode them (UTF-8 or Windows-1251), map their
//! columns onto the canonical fields, validate every row and pseudonymize its identifiers.
//! This is the only module that reads export bytes or builds a CSV reader; raw values never
//! leave it except as pseudonyms, vocabulary values, or quoted non-personal labels in rejects.
//!
//! Files are streamed in batches: while rayon validates one batch, the next is being read,
//! so memory stays bounded by the batch size, not the file size.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

mod records;
use records::{Chunk, ChunkPool, ChunkReader, Cuts, OpenRecord, PieceEnd, Record, Splitter};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{EncodingChoice, Field, FieldClass, IdScheme, LabelMap, Pipeline, Source};
use crate::dates::{self, DateError};
use crate::model::{Case, Day, RegionIdx, Vocabulary};
use crate::pseudonym::{self, Domain, Pseudonymizer, to_hex};
use crate::reference::{self, lookup_key};

/// How much of a file's head is examined to guess encoding and delimiter.
const SNIFF_BYTES: usize = 1 << 20;

/// A problem with a whole file or source: the run cannot account for its rows.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "source \"{source_name}\": no file matches {pattern}\nhint: check `path` in the pipeline file; it is relative to the pipeline file's folder"
    )]
    NoFiles {
        source_name: String,
        pattern: String,
    },
    #[error("source \"{source_name}\": `path = {pattern}` is not a valid file pattern: {message}")]
    BadPattern {
        source_name: String,
        pattern: String,
        message: String,
    },
    #[error("cannot read {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write rejects.csv")]
    Rejects { source: io::Error },
    #[error("cannot keep the accepted cases in {path} (the run's scratch file)")]
    Store { path: PathBuf, source: io::Error },
    #[error(
        "more than {max} accepted rows in one run; split the pipeline into several",
        max = u32::MAX
    )]
    TooManyRows,
    #[error(
        "{path}: the header line does not end within its first megabyte: a quote (\") in it is probably never closed\nhint: fix the header's quotes and export again"
    )]
    HeaderUnterminated { path: PathBuf },
    #[error("{path}: the file is empty; an export needs at least a header line")]
    Empty { path: PathBuf },
    #[error("{path}: the header line cannot be decoded as {encoding}\nhint: {hint}")]
    UndecodableHeader {
        path: PathBuf,
        encoding: &'static str,
        hint: &'static str,
    },
    #[error(
        "{path}: column \"{column}\" (mapped to `{field}`) is not in the header, which has {header_columns} columns\nhint: compare [sources.columns] with the first line of the file, and check `encoding` and `delimiter` for this source"
    )]
    MissingColumn {
        path: PathBuf,
        field: &'static str,
        column: String,
        header_columns: usize,
    },
    #[error(
        "{path}: column \"{column}\" (mapped to `{field}`) appears {count} times in the header, so it is not clear which one to read\nhint: rename one of the columns in the export"
    )]
    DuplicateColumn {
        path: PathBuf,
        field: &'static str,
        column: String,
        count: usize,
    },
}

/// Why a row was rejected; the codes are stable and appear in `rejects.csv` and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    WrongColumnCount,
    Undecodable,
    MissingRequired,
    UnparseableDate,
    ImpossibleDate,
    DateAfterAsOf,
    ClosedBeforeOpened,
    UnknownRegion,
    UnknownLabel,
    OutcomeNotApplicable,
    MissingOutcome,
    InvalidChildId,
    UnterminatedQuote,
}

impl RejectReason {
    pub const ALL: [RejectReason; 13] = [
        RejectReason::WrongColumnCount,
        RejectReason::Undecodable,
        RejectReason::MissingRequired,
        RejectReason::UnparseableDate,
        RejectReason::ImpossibleDate,
        RejectReason::DateAfterAsOf,
        RejectReason::ClosedBeforeOpened,
        RejectReason::UnknownRegion,
        RejectReason::UnknownLabel,
        RejectReason::OutcomeNotApplicable,
        RejectReason::MissingOutcome,
        RejectReason::InvalidChildId,
        RejectReason::UnterminatedQuote,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RejectReason::WrongColumnCount => "wrong_column_count",
            RejectReason::Undecodable => "undecodable",
            RejectReason::MissingRequired => "missing_required",
            RejectReason::UnparseableDate => "unparseable_date",
            RejectReason::ImpossibleDate => "impossible_date",
            RejectReason::DateAfterAsOf => "date_after_as_of",
            RejectReason::ClosedBeforeOpened => "closed_before_opened",
            RejectReason::UnknownRegion => "unknown_region",
            RejectReason::UnknownLabel => "unknown_label",
            RejectReason::OutcomeNotApplicable => "outcome_not_applicable",
            RejectReason::MissingOutcome => "missing_outcome",
            RejectReason::InvalidChildId => "invalid_child_id",
            RejectReason::UnterminatedQuote => "unterminated_quote",
        }
    }
}

/// A row that was not accepted. The message never holds an identifier, quasi-identifier or
/// dropped column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReject {
    /// The canonical field at fault; `None` for whole-row problems.
    pub field: Option<Field>,
    pub reason: RejectReason,
    pub message: String,
}

/// Where rejected rows go as they are found (a CSV file for `run`, nowhere for `check`).
pub trait RejectSink: Send {
    fn reject(&mut self, file: &InputFile, line: u64, reject: &RowReject) -> io::Result<()>;
}

/// A sink that keeps nothing: the counts in `InputFile` are all `check` needs.
pub struct DiscardRejects;

impl RejectSink for DiscardRejects {
    fn reject(&mut self, _: &InputFile, _: u64, _: &RowReject) -> io::Result<()> {
        Ok(())
    }
}

/// One input file and its accounting.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Index of the pipeline source it belongs to.
    pub source: usize,
    pub path: PathBuf,
    /// `<source name>/<file name>`: how outputs name the file, independent of the working directory.
    pub display: String,
    pub sha256: String,
    pub encoding: &'static str,
    pub delimiter: u8,
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// Set by deduplication; `rows_read - rows_rejected` until then.
    pub rows_accepted: u64,
    pub rows_duplicate: u64,
    /// Rejected rows by reason and field.
    pub reject_counts: BTreeMap<(RejectReason, Option<Field>), u64>,
}

/// Rejected rows of `files` by reason and field name (`""` for whole-row problems), most
/// frequent first, ties in reason order: what `check`, `run` and the report show.
pub fn reject_summary<'a>(
    files: impl IntoIterator<Item = &'a InputFile>,
) -> Vec<(RejectReason, &'static str, u64)> {
    let mut totals: BTreeMap<(RejectReason, &'static str), u64> = BTreeMap::new();
    for file in files {
        for ((reason, field), n) in &file.reject_counts {
            *totals
                .entry((*reason, field.map_or("", |f| f.name())))
                .or_default() += n;
        }
    }
    let mut summary: Vec<_> = totals.into_iter().map(|((r, f), n)| (r, f, n)).collect();
    summary.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    summary
}

/// Where accepted cases go, in file order (pipeline source order, then path, then line).
pub trait CaseSink: Send {
    fn accept(&mut self, case: Case) -> Result<(), IngestError>;
}

impl CaseSink for Vec<Case> {
    fn accept(&mut self, case: Case) -> Result<(), IngestError> {
        self.push(case);
        Ok(())
    }
}

/// What ingest hands on besides the cases: the files they came from and the office names.
#[derive(Debug, Default)]
pub struct Ingested {
    pub files: Vec<InputFile>,
    /// Office names, indexed by `Case::office`.
    pub offices: Vec<String>,
}

/// Read every source of `pipeline`, in order, pseudonymizing with `pseudonymizer`, and hand
/// accepted cases to `cases` and rejected rows to `sink`, in file order; rows after `as_of`
/// are rejected. `progress` is told the bytes read so far of each file.
pub fn ingest(
    pipeline: &Pipeline,
    pseudonymizer: &Pseudonymizer,
    as_of: Day,
    cases: &mut dyn CaseSink,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<Ingested, IngestError> {
    let mut out = Ingested::default();
    let mut offices = OfficeTable::default();
    let pool = ChunkPool::default();
    let files = list_files(pipeline)?;
    for (source_idx, path) in files {
        let source = &pipeline.sources[source_idx];
        let file_idx = out.files.len() as u32;
        let file = ingest_file(
            FileContext {
                pool: &pool,
                cuts: Cuts::default(),
                source,
                source_idx,
                file_idx,
                path: &path,
                pseudonymizer,
                as_of,
            },
            cases,
            &mut offices,
            sink,
            progress,
        )?;
        out.files.push(file);
    }
    out.offices = offices.names;
    Ok(out)
}

/// Every file of every source, in pipeline order then path order.
pub fn list_files(pipeline: &Pipeline) -> Result<Vec<(usize, PathBuf)>, IngestError> {
    let mut all = Vec::new();
    for (i, source) in pipeline.sources.iter().enumerate() {
        let paths = glob::glob(&source.pattern).map_err(|e| IngestError::BadPattern {
            source_name: source.name.clone(),
            pattern: source.pattern.clone(),
            message: e.msg.to_string(),
        })?;
        let mut found: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            return Err(IngestError::NoFiles {
                source_name: source.name.clone(),
                pattern: source.pattern.clone(),
            });
        }
        found.sort();
        all.extend(found.into_iter().map(|p| (i, p)));
    }
    Ok(all)
}

#[derive(Default)]
struct OfficeTable {
    names: Vec<String>,
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

/// The decoding of a file, decided from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    Utf8,
    Windows1251,
}

impl Decoding {
    pub fn name(self) -> &'static str {
        match self {
            Decoding::Utf8 => "utf-8",
            Decoding::Windows1251 => "windows-1251",
        }
    }

    /// How this encoding writes `c`; `None` when it cannot.
    pub fn encode_char(self, c: char) -> Option<Vec<u8>> {
        match self {
            Decoding::Utf8 => Some(c.to_string().into_bytes()),
            Decoding::Windows1251 => {
                let text = c.to_string();
                let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
                (!unmappable).then(|| bytes.into_owned())
            }
        }
    }

    /// Decode one field; `None` when its bytes are not valid in this encoding.
    pub fn decode(self, bytes: &[u8]) -> Option<Cow<'_, str>> {
        match self {
            Decoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
            Decoding::Windows1251 => {
                encoding_rs::WINDOWS_1251.decode_without_bom_handling_and_without_replacement(bytes)
            }
        }
    }
}

/// Whether `head` is UTF-8, allowing a character cut off at its end.
fn looks_like_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Guess the encoding of a file from its first bytes (BOM excluded).
pub fn sniff_encoding(head: &[u8], choice: EncodingChoice) -> Decoding {
    match choice {
        EncodingChoice::Utf8 => Decoding::Utf8,
        EncodingChoice::Windows1251 => Decoding::Windows1251,
        EncodingChoice::Auto if looks_like_utf8(head) => Decoding::Utf8,
        EncodingChoice::Auto => Decoding::Windows1251,
    }
}

/// Guess the delimiter from the first line: the most frequent of `;` `,` tab outside quotes.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b';' if !quoted => counts[0] += 1,
            b',' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b';', b',', b'\t'];
    // Ties go to the comma, the CSV default.
    let mut best = 1;
    for i in [0, 2] {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

struct FileContext<'a> {
    pool: &'a ChunkPool,
    cuts: Cuts,
    source: &'a Source,
    source_idx: usize,
    file_idx: u32,
    path: &'a Path,
    pseudonymizer: &'a Pseudonymizer,
    as_of: Day,
}

fn ingest_file(
    ctx: FileContext<'_>,
    cases: &mut dyn CaseSink,
    offices: &mut OfficeTable,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    let raw = File::open(ctx.path).map_err(|source| IngestError::Io {
        path: ctx.path.to_path_buf(),
        source,
    })?;
    ingest_stream(ctx, raw, cases, offices, sink, progress)
}

/// Ingest the bytes of one export as if they were the file `path` of source `source_idx`
/// (fuzzing and tests): the accepted cases before deduplication, and the file's accounting.
pub fn ingest_bytes(
    pipeline: &Pipeline,
    source_idx: usize,
    path: &Path,
    bytes: &[u8],
    pseudonymizer: &Pseudonymizer,
    as_of: Day,
) -> Result<(Vec<Case>, InputFile), IngestError> {
    let mut cases = Vec::new();
    let file = ingest_stream(
        FileContext {
            pool: &ChunkPool::default(),
            cuts: Cuts::default(),
            source: &pipeline.sources[source_idx],
            source_idx,
            file_idx: 0,
            path,
            pseudonymizer,
            as_of,
        },
        bytes,
        &mut cases,
        &mut OfficeTable::default(),
        &mut DiscardRejects,
        &|_: &InputFile, _: u64| {},
    )?;
    Ok((cases, file))
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
}

/// What parsing one piece gives the (ordered) merge.
struct PieceResult {
    rows: Vec<ParsedRow>,
    offices: Vec<String>,
    end: PieceEnd,
}

/// The rows of a piece as they are parsed, with the piece's office names and memo.
#[derive(Default)]
struct PieceBuilder {
    rows: Vec<ParsedRow>,
    offices: Vec<String>,
    office_index: HashMap<String, u32>,
    last_office: Option<(String, u32)>,
    memo: Memo,
}

impl PieceBuilder {
    fn add(&mut self, row_ctx: &RowContext<'_>, rec: &Record<'_>) {
        if rec.is_blank() {
            return;
        }
        let line = rec.newlines_before;
        if rec.len() != row_ctx.header_len || rec.unclosed_quote {
            self.rows.push(ParsedRow::WrongShape {
                line,
                columns: rec.len(),
                inner_newlines: rec.inner_newlines,
                unclosed: rec.unclosed_quote,
            });
            return;
        }
        match row_ctx.process(rec, &mut self.memo) {
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

    fn finish(self, end: PieceEnd) -> PieceResult {
        PieceResult {
            rows: self.rows,
            offices: self.offices,
            end,
        }
    }
}

fn parse_piece(
    row_ctx: &RowContext<'_>,
    splitter: &mut Splitter,
    bytes: &[u8],
    at_eof: bool,
) -> PieceResult {
    let mut builder = PieceBuilder {
        rows: Vec::with_capacity(bytes.len() / 128 + 1),
        ..PieceBuilder::default()
    };
    let end = splitter.parse_piece(bytes, at_eof, |rec| builder.add(row_ctx, rec));
    builder.finish(end)
}

/// Parse a chunk's pieces in parallel.
fn parse_chunk(row_ctx: &RowContext<'_>, chunk: &Chunk) -> Vec<(usize, PieceResult)> {
    let ranges = records::pieces(&chunk.bytes, row_ctx.cuts.piece_bytes);
    let last = ranges.len().saturating_sub(1);
    ranges
        .into_par_iter()
        .enumerate()
        .map(|(i, range)| {
            let at_eof = chunk.at_eof && i == last;
            let mut splitter = Splitter::new(row_ctx.delimiter);
            (
                range.start,
                parse_piece(row_ctx, &mut splitter, &chunk.bytes[range], at_eof),
            )
        })
        .collect()
}

/// The ordered half of ingest: counts, rejects and accepted cases in file order.
struct Merge<'s> {
    file: InputFile,
    header_len: usize,
    cases: &'s mut dyn CaseSink,
    offices: &'s mut OfficeTable,
    sink: &'s mut dyn RejectSink,
    /// Line breaks before the first byte not yet merged.
    lines_done: u64,
    /// A record that a chunk ended inside, to be continued with the next chunk.
    open: Option<OpenRecord>,
}

impl Merge<'_> {
    fn piece(&mut self, result: PieceResult) -> Result<(), IngestError> {
        let global: Vec<u32> = result
            .offices
            .iter()
            .map(|name| self.offices.intern(name))
            .collect();
        for row in result.rows {
            self.file.rows_read += 1;
            match row {
                ParsedRow::Accepted(mut case) => {
                    case.line += self.lines_done + 1;
                    case.office = global[case.office as usize];
                    self.cases.accept(case)?;
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
            }
        }
        self.lines_done += result.end.newlines;
        Ok(())
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
        row_ctx: &RowContext<'_>,
        chunk: Chunk,
        parsed: Vec<(usize, PieceResult)>,
    ) -> Result<(), IngestError> {
        let result = self.chunk_rows(row_ctx, &chunk, parsed);
        row_ctx.pool.give(chunk.bytes);
        result
    }

    fn chunk_rows(
        &mut self,
        row_ctx: &RowContext<'_>,
        chunk: &Chunk,
        parsed: Vec<(usize, PieceResult)>,
    ) -> Result<(), IngestError> {
        if let Some(mut open) = self.open.take() {
            let mut builder = PieceBuilder::default();
            let used = open.feed(&chunk.bytes, chunk.at_eof, 0, &mut |rec| {
                builder.add(row_ctx, rec)
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
            return self.sequential(row_ctx, &chunk.bytes[used..], chunk.at_eof);
        }
        for (start, result) in parsed {
            let end = result.end;
            self.piece(result)?;
            if let Some(at) = end.unfinished_at {
                return self.sequential(row_ctx, &chunk.bytes[start + at..], chunk.at_eof);
            }
        }
        Ok(())
    }

    fn sequential(
        &mut self,
        row_ctx: &RowContext<'_>,
        bytes: &[u8],
        at_eof: bool,
    ) -> Result<(), IngestError> {
        let mut splitter = Splitter::new(row_ctx.delimiter);
        let result = parse_piece(row_ctx, &mut splitter, bytes, at_eof);
        let unfinished = result.end.unfinished_at.is_some();
        self.piece(result)?;
        if unfinished {
            self.open = Some(splitter.into_open());
        }
        Ok(())
    }
}

fn ingest_stream<R: Read + Send>(
    ctx: FileContext<'_>,
    raw: R,
    cases: &mut dyn CaseSink,
    offices: &mut OfficeTable,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    let io_err = |source| IngestError::Io {
        path: ctx.path.to_path_buf(),
        source,
    };
    let mut reader = ChunkReader::new(raw, ctx.pool, ctx.cuts.chunk_bytes);
    let Some(mut first) = reader.next_chunk().map_err(io_err)? else {
        return Err(IngestError::Empty {
            path: ctx.path.to_path_buf(),
        });
    };
    if first.bytes.is_empty() {
        return Err(IngestError::Empty {
            path: ctx.path.to_path_buf(),
        });
    }
    let has_bom = first.bytes.starts_with(UTF8_BOM);
    let body = if has_bom {
        &first.bytes[3..]
    } else {
        &first.bytes[..]
    };
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let decoding = if has_bom {
        Decoding::Utf8
    } else {
        sniff_encoding(head, ctx.source.encoding)
    };
    let delimiter = ctx
        .source
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(head));
    let display = format!(
        "{}/{}",
        ctx.source.name,
        ctx.path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let file = InputFile {
        source: ctx.source_idx,
        path: ctx.path.to_path_buf(),
        display,
        sha256: String::new(),
        encoding: decoding.name(),
        delimiter,
        rows_read: 0,
        rows_rejected: 0,
        rows_accepted: 0,
        rows_duplicate: 0,
        reject_counts: BTreeMap::new(),
    };

    let bom_len = if has_bom { 3 } else { 0 };
    // The header may hold quoted line breaks: read on until it is complete, but not past
    // a megabyte (a quote opened in the header and never closed would take the whole file).
    let (header, header_end) = loop {
        if let Some(found) =
            Splitter::new(delimiter).first_record(&first.bytes[bom_len..], first.at_eof)
        {
            break found;
        }
        if first.bytes.len() > SNIFF_BYTES {
            return Err(IngestError::HeaderUnterminated {
                path: ctx.path.to_path_buf(),
            });
        }
        match reader.next_chunk().map_err(io_err)? {
            Some(more) => {
                first.bytes.extend_from_slice(&more.bytes);
                first.at_eof = more.at_eof;
            }
            None => first.at_eof = true,
        }
    };
    if header.is_empty() {
        return Err(IngestError::Empty {
            path: ctx.path.to_path_buf(),
        });
    }
    let header_lines = first.bytes[..bom_len + header_end]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64;
    let columns = map_columns(&ctx, &header, decoding, has_bom)?;
    let row_ctx = RowContext {
        source: ctx.source,
        columns: &columns,
        header_len: header.len(),
        decoding,
        delimiter,
        pool: ctx.pool,
        cuts: ctx.cuts,
        byte_dates: ctx
            .source
            .date_formats
            .iter()
            .map(|f| f.for_bytes(|c| decoding.encode_char(c)))
            .collect(),
        pseudonymizer: ctx.pseudonymizer,
        as_of: ctx.as_of,
        file_idx: ctx.file_idx,
    };
    first.bytes.drain(..bom_len + header_end);

    let mut merge = Merge {
        file,
        header_len: header.len(),
        cases,
        offices,
        sink,
        lines_done: header_lines,
        open: None,
    };
    // While one chunk is parsed in parallel, the previous one is merged and the next is read.
    let mut current = Some(first);
    let mut pending: Option<(Chunk, Vec<(usize, PieceResult)>)> = None;
    while let Some(chunk) = current.take() {
        let (parsed, (next, merged)) = rayon::join(
            || parse_chunk(&row_ctx, &chunk),
            || {
                let next = if chunk.at_eof {
                    Ok(None)
                } else {
                    reader.next_chunk()
                };
                let merged = match pending.take() {
                    Some((done, parsed)) => merge.chunk(&row_ctx, done, parsed),
                    None => Ok(()),
                };
                (next, merged)
            },
        );
        merged?;
        progress(&merge.file, reader.bytes_read);
        pending = Some((chunk, parsed));
        current = next.map_err(io_err)?;
    }
    if let Some((done, parsed)) = pending.take() {
        merge.chunk(&row_ctx, done, parsed)?;
    }
    if merge.open.is_some() {
        // Only a chunk that is not the file's last can leave a record open, and the chunk
        // after it goes on with it; reaching here means the file ended without another.
        merge.chunk(
            &row_ctx,
            Chunk {
                bytes: Vec::new(),
                at_eof: true,
            },
            Vec::new(),
        )?;
    }
    let mut file = merge.file;
    progress(&file, reader.bytes_read);
    file.sha256 = to_hex(&reader.finish().map_err(io_err)?);
    file.rows_accepted = file.rows_read - file.rows_rejected;
    Ok(file)
}

/// The head of an export, decoded: what `outcomes inspect` looks at.
#[derive(Debug, Clone)]
pub struct Sample {
    pub decoding: Decoding,
    pub has_bom: bool,
    pub delimiter: u8,
    pub header: Vec<String>,
    /// Up to `max_rows` data rows, decoded (undecodable cells are empty).
    pub rows: Vec<Vec<String>>,
}

/// Read the first `max_rows` rows of a file with the same decoding and delimiter detection
/// as ingest.
pub fn sample_file(path: &Path, max_rows: usize) -> Result<Sample, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::with_capacity(SNIFF_BYTES, File::open(path).map_err(io_err)?);
    let head = reader.fill_buf().map_err(io_err)?;
    if head.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let has_bom = head.starts_with(UTF8_BOM);
    let body = if has_bom { &head[3..] } else { head };
    let decoding = if has_bom {
        Decoding::Utf8
    } else {
        sniff_encoding(body, EncodingChoice::Auto)
    };
    let delimiter = sniff_delimiter(body);
    if has_bom {
        reader.consume(3);
    }
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let decode_all = |rec: &csv::ByteRecord| -> Vec<String> {
        rec.iter()
            .map(|b| {
                decoding
                    .decode(b)
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    let mut rec = csv::ByteRecord::new();
    let read = |r: &mut csv::Reader<_>, rec: &mut csv::ByteRecord| -> Result<bool, IngestError> {
        r.read_byte_record(rec).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => io_err(source),
            other => io_err(io::Error::other(format!("{other:?}"))),
        })
    };
    if !read(&mut csv_reader, &mut rec)? {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let header = decode_all(&rec)
        .into_iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    while rows.len() < max_rows && read(&mut csv_reader, &mut rec)? {
        if !(rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace)) {
            rows.push(decode_all(&rec));
        }
    }
    Ok(Sample {
        decoding,
        has_bom,
        delimiter,
        header,
        rows,
    })
}

/// Mapped field → column index, in `Field` order.
struct ColumnIndex {
    index: [Option<usize>; Field::ALL.len()],
}

impl ColumnIndex {
    fn get(&self, field: Field) -> Option<usize> {
        self.index[field as usize]
    }
}

fn map_columns(
    ctx: &FileContext<'_>,
    header: &[Vec<u8>],
    decoding: Decoding,
    has_bom: bool,
) -> Result<ColumnIndex, IngestError> {
    let mut names = Vec::with_capacity(header.len());
    for raw in header.iter() {
        let name = decoding
            .decode(raw)
            .ok_or_else(|| IngestError::UndecodableHeader {
                path: ctx.path.to_path_buf(),
                encoding: decoding.name(),
                hint: "set `encoding = \"windows-1251\"` (or \"auto\") for this source",
            })?;
        names.push(lookup_key(name.trim_start_matches('\u{feff}')));
    }
    let mut index = [None; Field::ALL.len()];
    for (field, column) in &ctx.source.columns {
        let wanted = lookup_key(column);
        let hits: Vec<usize> = (0..names.len()).filter(|i| names[*i] == wanted).collect();
        match hits.as_slice() {
            [one] => index[*field as usize] = Some(*one),
            [] => {
                if decoding == Decoding::Windows1251 && has_bom {
                    return Err(IngestError::UndecodableHeader {
                        path: ctx.path.to_path_buf(),
                        encoding: decoding.name(),
                        hint: "the file starts with a UTF-8 byte-order mark: set `encoding = \"utf-8\"`",
                    });
                }
                return Err(IngestError::MissingColumn {
                    path: ctx.path.to_path_buf(),
                    field: field.name(),
                    column: column.clone(),
                    header_columns: names.len(),
                });
            }
            many => {
                return Err(IngestError::DuplicateColumn {
                    path: ctx.path.to_path_buf(),
                    field: field.name(),
                    column: column.clone(),
                    count: many.len(),
                });
            }
        }
    }
    Ok(ColumnIndex { index })
}

/// The reject of a record that does not have the header's width or that the end of the file
/// cut inside a quote. A record that runs over several lines and then has the wrong shape, or
/// never ends its quote, is a quote that was opened and never closed: say so, and which lines
/// it swallowed.
fn wrong_shape(
    line: u64,
    columns: usize,
    header_len: usize,
    inner_newlines: u64,
    unclosed: bool,
) -> RowReject {
    if unclosed && inner_newlines == 0 {
        return RowReject {
            field: None,
            reason: RejectReason::UnterminatedQuote,
            message: format!(
                "a quoted field (\"…\") on line {line}, the last line, is never closed; fix the quote and export again"
            ),
        };
    }
    if inner_newlines > 0 {
        return RowReject {
            field: None,
            reason: RejectReason::UnterminatedQuote,
            message: format!(
                "a quoted field (\"…\") on line {line} is not closed where it should be: lines {line} to {} were read as one row of {columns} columns (the header has {header_len}); fix the quote and export again",
                line + inner_newlines,
            ),
        };
    }
    RowReject {
        field: None,
        reason: RejectReason::WrongColumnCount,
        message: format!("the row has {columns} columns; the header has {header_len}"),
    }
}

/// What a piece has already resolved: offices write the same few labels, regions and dates on
/// row after row, so each distinct raw value of a field is decoded, folded and looked up once
/// per piece. Only successes are kept; a value that is rejected is looked at afresh each time,
/// so reject messages are built exactly as without the memo.
#[derive(Default)]
struct Memo {
    fields: [HashMap<Box<[u8]>, i32, foldhash::fast::FixedState>; Field::ALL.len()],
    /// Where identifiers are normalized, reused from row to row.
    normalized: String,
}

/// A resolved empty field.
const MEMO_NONE: i32 = i32::MIN;

impl Memo {
    fn raw<'r>(ctx: &RowContext<'_>, rec: &Record<'r>, field: Field) -> Option<&'r [u8]> {
        ctx.columns
            .get(field)
            .map(|i| rec.get(i).unwrap_or_default())
    }

    /// Resolve `field` of `rec`: from the memo, or by `slow` (which reads, decodes and looks
    /// the value up) and then remembered.
    fn resolve<T>(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'_>,
        field: Field,
        to_code: impl Fn(&T) -> i32,
        from_code: impl Fn(i32) -> Option<T>,
        slow: impl FnOnce() -> Result<Option<T>, RowReject>,
    ) -> Result<Option<T>, RowReject> {
        let Some(raw) = Self::raw(ctx, rec, field) else {
            return slow();
        };
        let map = &mut self.fields[field as usize];
        if let Some(&code) = map.get(raw) {
            if code == MEMO_NONE {
                return Ok(None);
            }
            if let Some(value) = from_code(code) {
                return Ok(Some(value));
            }
        }
        let value = slow()?;
        map.insert(raw.into(), value.as_ref().map_or(MEMO_NONE, to_code));
        Ok(value)
    }

    fn label<T: Vocabulary>(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'_>,
        field: Field,
        labels: &LabelMap<T>,
    ) -> Result<Option<T>, RowReject> {
        self.resolve(
            ctx,
            rec,
            field,
            |v| {
                T::ALL
                    .iter()
                    .position(|x| x == v)
                    .map_or(MEMO_NONE, |i| i as i32)
            },
            |code| T::ALL.get(code as usize).copied(),
            || match ctx.text(rec, field)? {
                Some(text) => labels
                    .get(&text)
                    .map(Some)
                    .ok_or_else(|| ctx.unknown_label(field, &text)),
                None => Ok(None),
            },
        )
    }

    fn region(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'_>,
        field: Field,
    ) -> Result<Option<RegionIdx>, RowReject> {
        self.resolve(
            ctx,
            rec,
            field,
            |r| i32::from(*r),
            |code| u8::try_from(code).ok(),
            || ctx.region(rec, field),
        )
    }

    /// A municipality depends on the row's region too: the memo keeps the region it was
    /// resolved for, and another region looks it up again.
    fn municipality(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'_>,
        region: RegionIdx,
    ) -> Result<Option<u16>, RowReject> {
        let key = i32::from(region) << 16;
        self.resolve(
            ctx,
            rec,
            Field::Municipality,
            |m| key | i32::from(*m),
            |code| (code & !0xffff == key).then_some((code & 0xffff) as u16),
            || match ctx.text(rec, Field::Municipality)? {
                None => Ok(None),
                Some(text) => ctx
                    .source
                    .labels
                    .municipality
                    .get(&text)
                    .or_else(|| reference::find_municipality(&text, region))
                    .map(Some)
                    .ok_or_else(|| ctx.unknown_label(Field::Municipality, &text)),
            },
        )
    }
}

struct RowContext<'a> {
    source: &'a Source,
    columns: &'a ColumnIndex,
    header_len: usize,
    decoding: Decoding,
    delimiter: u8,
    /// Where chunk buffers go back when merged.
    pool: &'a ChunkPool,
    cuts: Cuts,
    /// The source's date formats for this file's raw bytes; `None` when one has no fast path.
    byte_dates: Option<Vec<dates::ByteFormat>>,
    pseudonymizer: &'a Pseudonymizer,
    as_of: Day,
    file_idx: u32,
}

/// How a value may be quoted in a reject message: labels and case dates only, shortened,
/// and withheld when they look like an identifier (six or more digits in a row).
fn quote(value: &str) -> String {
    let mut run = 0;
    for c in value.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 6 {
            return "(value withheld: it looks like an identifier)".to_string();
        }
    }
    let mut shown: String = value
        .chars()
        .take(40)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if value.chars().count() > 40 {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

impl<'a> RowContext<'a> {
    fn reject(&self, field: Option<Field>, reason: RejectReason, message: String) -> RowReject {
        RowReject {
            field,
            reason,
            message,
        }
    }

    /// The column label used in messages: `"Header" (field)`.
    fn column_label(&self, field: Field) -> String {
        format!(
            "column \"{}\" ({})",
            self.source.column(field).unwrap_or_default(),
            field.name()
        )
    }

    /// The trimmed text of a mapped field; `Ok(None)` when unmapped or empty.
    fn text<'r>(&self, rec: &Record<'r>, field: Field) -> Result<Option<Cow<'r, str>>, RowReject> {
        let Some(i) = self.columns.get(field) else {
            return Ok(None);
        };
        let bytes = rec.get(i).unwrap_or_default();
        let decoded = self.decoding.decode(bytes).ok_or_else(|| {
            let hint = match self.decoding {
                Decoding::Utf8 => {
                    "; if the export is Windows-1251, set `encoding = \"windows-1251\"`"
                }
                Decoding::Windows1251 => "",
            };
            self.reject(
                Some(field),
                RejectReason::Undecodable,
                format!(
                    "{} holds bytes that are not valid {}{hint}",
                    self.column_label(field),
                    self.decoding.name()
                ),
            )
        })?;
        let trimmed = match decoded {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        };
        Ok((!trimmed.is_empty()).then_some(trimmed))
    }

    fn required<'r>(&self, rec: &Record<'r>, field: Field) -> Result<Cow<'r, str>, RowReject> {
        self.text(rec, field)?.ok_or_else(|| {
            self.reject(
                Some(field),
                RejectReason::MissingRequired,
                format!("{} is empty; every case needs it", self.column_label(field)),
            )
        })
    }

    fn date(&self, rec: &Record<'_>, field: Field) -> Result<Option<Day>, RowReject> {
        if let (Some(formats), Some(i)) = (&self.byte_dates, self.columns.get(field))
            && let Some(day) = dates::parse_date_bytes(rec.get(i).unwrap_or_default(), formats)
            && day <= self.as_of
        {
            return Ok(Some(day));
        }
        let Some(text) = self.text(rec, field)? else {
            return Ok(None);
        };
        let shown = || match field.class() {
            FieldClass::Attribute => format!(" {}", quote(&text)),
            _ => String::new(),
        };
        let day = dates::parse_date(&text, &self.source.date_formats).map_err(|e| {
            let formats: Vec<&str> = self.source.date_formats.iter().map(|f| f.text()).collect();
            match e {
                DateError::Impossible => self.reject(
                    Some(field),
                    RejectReason::ImpossibleDate,
                    format!(
                        "{}{} is not a calendar date between 1900 and 2100",
                        self.column_label(field),
                        shown()
                    ),
                ),
                DateError::Unparseable => self.reject(
                    Some(field),
                    RejectReason::UnparseableDate,
                    format!(
                        "{}{} matches none of the date formats {formats:?}",
                        self.column_label(field),
                        shown()
                    ),
                ),
            }
        })?;
        if day > self.as_of {
            let when = match field.class() {
                FieldClass::Attribute => format!(" {}", dates::from_day(day)),
                _ => String::new(),
            };
            return Err(self.reject(
                Some(field),
                RejectReason::DateAfterAsOf,
                format!(
                    "{}{when} is after the as-of date {}",
                    self.column_label(field),
                    dates::from_day(self.as_of)
                ),
            ));
        }
        Ok(Some(day))
    }

    fn unknown_label(&self, field: Field, text: &str) -> RowReject {
        let shown = match field.class() {
            FieldClass::Attribute => format!(" {}", quote(text)),
            _ => String::new(),
        };
        self.reject(
            Some(field),
            RejectReason::UnknownLabel,
            format!(
                "{}: label{shown} is not mapped; add it under [sources.values.{}] in the pipeline file",
                self.column_label(field),
                field.name()
            ),
        )
    }

    fn region(&self, rec: &Record<'_>, field: Field) -> Result<Option<RegionIdx>, RowReject> {
        let Some(text) = self.text(rec, field)? else {
            return Ok(None);
        };
        let labels = match field {
            Field::Region => &self.source.labels.region,
            _ => &self.source.labels.placement_region,
        };
        labels
            .get(&text)
            .or_else(|| reference::find_region(&text))
            .map(Some)
            .ok_or_else(|| {
                self.reject(
                    Some(field),
                    RejectReason::UnknownRegion,
                    format!(
                        "{}: {} is not an oblast code, NUTS-3 code or name; map it under [sources.values.{}]",
                        self.column_label(field),
                        quote(&text),
                        field.name()
                    ),
                )
            })
    }

    fn pseudonym(
        &self,
        domain: Domain,
        raw: &str,
        normalized: &mut String,
    ) -> Option<crate::model::Pseudonym> {
        pseudonym::normalize_into(raw, normalized);
        (!normalized.is_empty()).then(|| self.pseudonymizer.pseudonym(domain, normalized))
    }

    /// Validate and convert one record of the header's width: a case (line and office index
    /// filled in by the caller, which interns the returned office name) or the first problem
    /// found, fields checked in SPEC §2's order.
    fn process<'r>(
        &self,
        rec: &Record<'r>,
        memo: &mut Memo,
    ) -> Result<(Case, Cow<'r, str>), RowReject>
    where
        'a: 'r,
    {
        let child_raw = self.required(rec, Field::ChildId)?;
        let child_id = &mut memo.normalized;
        pseudonym::normalize_into(&child_raw, child_id);
        if child_id.is_empty() {
            return Err(self.reject(
                Some(Field::ChildId),
                RejectReason::MissingRequired,
                format!(
                    "{} holds no identifier characters",
                    self.column_label(Field::ChildId)
                ),
            ));
        }
        if self.source.child_id_scheme == IdScheme::Egn
            && !(pseudonym::is_valid_egn(child_id) || pseudonym::is_valid_lnch(child_id))
        {
            return Err(self.reject(
                Some(Field::ChildId),
                RejectReason::InvalidChildId,
                format!(
                    "{} is not a valid ЕГН or ЛНЧ (10 digits with a correct check digit), as child_id_scheme = \"egn\" requires",
                    self.column_label(Field::ChildId)
                ),
            ));
        }
        let child = self.pseudonymizer.pseudonym(Domain::Child, child_id);
        let family = match self.text(rec, Field::FamilyId)? {
            Some(raw) => self.pseudonym(Domain::Family, &raw, &mut memo.normalized),
            None => None,
        };
        let case = match self.text(rec, Field::CaseId)? {
            Some(raw) => self.pseudonym(Domain::Case, &raw, &mut memo.normalized),
            None => None,
        };

        let region = match memo.region(self, rec, Field::Region)? {
            Some(r) => r,
            None => self.source.fixed_region.ok_or_else(|| {
                self.reject(
                    Some(Field::Region),
                    RejectReason::MissingRequired,
                    format!(
                        "{} is empty and the source has no fixed region",
                        self.column_label(Field::Region)
                    ),
                )
            })?,
        };
        let office: Cow<'r, str> = match self.text(rec, Field::Office)? {
            Some(text) => match self.source.labels.office.get(&text) {
                Some(o) => Cow::Borrowed(self.source.labels.office_names[o as usize].as_str()),
                None => text,
            },
            None => Cow::Borrowed(
                self.source
                    .fixed_office
                    .as_deref()
                    .unwrap_or(self.source.name.as_str()),
            ),
        };
        let municipality = memo.municipality(self, rec, region)?;

        let case_type = memo
            .label(self, rec, Field::CaseType, &self.source.labels.case_type)?
            .ok_or_else(|| {
                self.reject(
                    Some(Field::CaseType),
                    RejectReason::MissingRequired,
                    format!(
                        "{} is empty; every case needs it",
                        self.column_label(Field::CaseType)
                    ),
                )
            })?;

        let opened = self.date(rec, Field::Opened)?.ok_or_else(|| {
            self.reject(
                Some(Field::Opened),
                RejectReason::MissingRequired,
                format!(
                    "{} is empty; every case needs it",
                    self.column_label(Field::Opened)
                ),
            )
        })?;
        let closed = self.date(rec, Field::Closed)?;
        if let Some(c) = closed
            && c < opened
        {
            return Err(self.reject(
                Some(Field::Closed),
                RejectReason::ClosedBeforeOpened,
                format!(
                    "the case closed on {} before it opened on {}",
                    dates::from_day(c),
                    dates::from_day(opened)
                ),
            ));
        }

        // An outcome only means something once the case is closed; the label an export keeps
        // on open cases ("в процес") is not read, so `outcome` is null exactly when `closed` is.
        let outcome = match closed {
            Some(_) => memo.label(self, rec, Field::Outcome, &self.source.labels.outcome)?,
            None => None,
        };
        match (closed, outcome) {
            (Some(_), None) => {
                return Err(self.reject(
                    Some(Field::Outcome),
                    RejectReason::MissingOutcome,
                    format!(
                        "the case is closed but {} is {}",
                        self.column_label(Field::Outcome),
                        if self.columns.get(Field::Outcome).is_some() {
                            "empty"
                        } else {
                            "not mapped"
                        }
                    ),
                ));
            }
            (_, Some(o)) if !o.applies_to(case_type) => {
                return Err(self.reject(
                    Some(Field::Outcome),
                    RejectReason::OutcomeNotApplicable,
                    format!("outcome {o} does not apply to a {case_type} case"),
                ));
            }
            _ => {}
        }

        let placement_type = memo.label(
            self,
            rec,
            Field::PlacementType,
            &self.source.labels.placement_type,
        )?;
        let placement_region = memo.region(self, rec, Field::PlacementRegion)?;
        // Birth dates hardly repeat, so they skip the memo.
        let birth_year = self
            .date(rec, Field::BirthDate)?
            .map(|d| dates::year_of(d) as i16);
        let sex = memo.label(self, rec, Field::Sex, &self.source.labels.sex)?;

        Ok((
            Case {
                child,
                family,
                case,
                region,
                municipality,
                office: 0,
                case_type,
                opened,
                closed,
                outcome,
                placement_type,
                placement_region,
                birth_year,
                sex,
                file: self.file_idx,
                line: 0,
            },
            office,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::pseudonym::Key;

    const PIPELINE: &str = r#"name = "t"
key_file = "unused.key"

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
"#;

    fn ingest_text(text: &str) -> (Vec<Case>, InputFile) {
        let pipeline = config::parse(PIPELINE, Path::new("t.toml")).unwrap();
        let key = Key::from_bytes([1; 32]);
        ingest_bytes(
            &pipeline,
            0,
            Path::new("t.csv"),
            text.as_bytes(),
            &key.pseudonymizer(),
            30_000,
        )
        .unwrap()
    }

    /// Rows whose notes hold quoted line breaks, enough of them to span many pieces and two
    /// chunks, so cuts fall inside quotes: every row and line must still come out right.
    #[test]
    fn quoted_line_breaks_across_piece_and_chunk_cuts() {
        let mut text = String::from("id,type,opened,closed,outcome,notes\n");
        let rows = 120_000;
        let note = "x".repeat(40);
        for i in 0..rows {
            text.push_str(&format!(
                "C{i},prevention,01.02.2020,,,\"{note}\n{note}\n\"\n"
            ));
        }
        assert!(text.len() > 2 * records::CHUNK_BYTES + records::PIECE_BYTES);
        let (cases, file) = ingest_text(&text);
        assert_eq!(file.rows_read, rows);
        assert_eq!(file.rows_rejected, 0, "{:?}", file.reject_counts);
        assert_eq!(cases.len() as u64, rows);
        for (i, c) in cases.iter().enumerate() {
            // The header is line 1; each row takes three lines.
            assert_eq!(c.line, 2 + 3 * i as u64);
        }
    }

    #[test]
    fn an_unclosed_quote_mid_file_swallows_the_rest_as_one_row() {
        let mut text = String::from("id,type,opened,closed,outcome,notes\n");
        for i in 0..50_000 {
            text.push_str(&format!("C{i},prevention,01.02.2020,,,fine\n"));
        }
        text.push_str("C-open,prevention,01.02.2020,,,\"never closed\n");
        for i in 0..50_000 {
            text.push_str(&format!("D{i},prevention,01.02.2020,,,fine\n"));
        }
        let (cases, file) = ingest_text(&text);
        assert_eq!(
            (cases.len(), file.rows_read),
            (50_000, 50_001),
            "{:?}",
            file.reject_counts
        );
        assert_eq!(file.rows_read, 50_001);
        assert_eq!(
            file.reject_counts
                .get(&(RejectReason::UnterminatedQuote, None))
                .copied(),
            Some(1)
        );
    }

    /// Collects rejects as (line, reason).
    struct Collect(Vec<(u64, RejectReason)>);

    impl RejectSink for Collect {
        fn reject(&mut self, _: &InputFile, line: u64, reject: &RowReject) -> io::Result<()> {
            self.0.push((line, reject.reason));
            Ok(())
        }
    }

    /// Ingest `text` with the given cuts: the cases and the rejects.
    fn ingest_cut(text: &[u8], cuts: Cuts) -> (Vec<Case>, Vec<(u64, RejectReason)>, u64) {
        let pipeline = config::parse(PIPELINE, Path::new("t.toml")).unwrap();
        let key = Key::from_bytes([1; 32]);
        let pseudonymizer = key.pseudonymizer();
        let mut cases = Vec::new();
        let mut rejects = Collect(Vec::new());
        let file = ingest_stream(
            FileContext {
                pool: &ChunkPool::default(),
                cuts,
                source: &pipeline.sources[0],
                source_idx: 0,
                file_idx: 0,
                path: Path::new("t.csv"),
                pseudonymizer: &pseudonymizer,
                as_of: 30_000,
            },
            text,
            &mut cases,
            &mut OfficeTable::default(),
            &mut rejects,
            &|_: &InputFile, _: u64| {},
        )
        .unwrap();
        (cases, rejects.0, file.rows_read)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Where the cuts fall changes nothing: quoted line breaks, unclosed quotes, blank
        /// lines, CRLF and a last line without a break read the same with chunks and pieces of
        /// a few bytes as in one piece.
        #[test]
        fn the_result_does_not_depend_on_where_the_file_is_cut(
            rows in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("A1,prevention,01.02.2020,,,plain".to_string()),
                    proptest::strategy::Just("B2,prevention,01.02.2020,03.04.2020,stayed_with_family,\"two\nlines\"".to_string()),
                    proptest::strategy::Just("C3,prevention,01.02.2020,,,\"a, \"\"quoted\"\" note\"\r".to_string()),
                    proptest::strategy::Just("D4,reintegration,05.06.2021,,,\"three\n\nlines\"".to_string()),
                    proptest::strategy::Just("E5,prevention,31.02.2020,,,bad date".to_string()),
                    proptest::strategy::Just("F6,prevention".to_string()),
                    proptest::strategy::Just("G7,prevention,01.02.2020,,,\"never closed".to_string()),
                    proptest::strategy::Just(String::new()),
                ],
                0..30,
            ),
            trailing_newline in proptest::bool::ANY,
            chunk_bytes in 2usize..80,
            piece_bytes in 1usize..40,
        ) {
            let mut text = String::from("id,type,opened,closed,outcome,notes\n");
            text.push_str(&rows.join("\n"));
            if trailing_newline {
                text.push('\n');
            }
            let whole = ingest_cut(text.as_bytes(), Cuts::default());
            let cut = ingest_cut(text.as_bytes(), Cuts { chunk_bytes, piece_bytes });
            let lines = |cases: &[Case]| -> Vec<(u64, crate::model::Pseudonym)> {
                cases.iter().map(|c| (c.line, c.child)).collect()
            };
            proptest::prop_assert_eq!(lines(&whole.0), lines(&cut.0));
            proptest::prop_assert_eq!(&whole.1, &cut.1);
            proptest::prop_assert_eq!(whole.2, cut.2);
            proptest::prop_assert_eq!(whole.2, (whole.0.len() + whole.1.len()) as u64);
        }
    }

    #[test]
    fn a_literal_quote_in_the_last_line_is_data_with_or_without_a_final_break() {
        for end in ["", "\n"] {
            let text = format!(
                "id,type,opened,closed,outcome,notes\nA1,prevention,01.02.2020,,,5\" tube{end}"
            );
            let (cases, file) = ingest_text(&text);
            assert_eq!((cases.len(), file.rows_rejected), (1, 0), "{end:?}");
        }
        // A quote opened at the start of the last field and never closed is not.
        let text = "id,type,opened,closed,outcome,notes\nA1,prevention,01.02.2020,,,\"5 tube";
        let (cases, file) = ingest_text(text);
        assert_eq!((cases.len(), file.rows_rejected), (0, 1));
    }

    /// A stray quote early in a long file without other quotes: one row swallows the rest,
    /// read once (the record goes on from chunk to chunk), with tiny chunks as with big ones.
    #[test]
    fn a_stray_quote_swallows_the_rest_once() {
        let mut text = String::from("id,type,opened,closed,outcome,notes\n");
        text.push_str("A1,prevention,01.02.2020,,,\"stray\n");
        for i in 0..2_000 {
            text.push_str(&format!("B{i},prevention,01.02.2020,,,fine\n"));
        }
        for cuts in [
            Cuts::default(),
            Cuts {
                chunk_bytes: 64,
                piece_bytes: 16,
            },
        ] {
            let (cases, rejects, rows) = ingest_cut(text.as_bytes(), cuts);
            assert_eq!(cases.len(), 0);
            assert_eq!(rows, 1);
            assert_eq!(rejects, vec![(2, RejectReason::UnterminatedQuote)]);
        }
    }

    #[test]
    fn a_header_whose_quote_never_closes_is_a_clear_error() {
        let mut text = String::from("id,\"type,opened,closed,outcome\n");
        for i in 0..100_000 {
            text.push_str(&format!("A{i},prevention,01.02.2020,,\n"));
        }
        let pipeline = config::parse(PIPELINE, Path::new("t.toml")).unwrap();
        let key = Key::from_bytes([1; 32]);
        let err = ingest_bytes(
            &pipeline,
            0,
            Path::new("t.csv"),
            text.as_bytes(),
            &key.pseudonymizer(),
            30_000,
        )
        .unwrap_err();
        assert!(
            matches!(err, IngestError::HeaderUnterminated { .. }),
            "{err}"
        );
    }

    #[test]
    fn crlf_blank_lines_and_a_last_line_without_a_break() {
        let text = "id,type,opened,closed,outcome\r\nA,prevention,01.02.2020,,\r\n\r\n\nB,prevention,02.02.2020,,";
        let (cases, file) = ingest_text(text);
        assert_eq!(file.rows_read, 2);
        assert_eq!(cases.iter().map(|c| c.line).collect::<Vec<_>>(), vec![2, 5]);
    }
}

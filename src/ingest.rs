//! Ingest (SPEC §2): find each source's files, read them (CSV in UTF-8, Windows-1251 or UTF-16;
//! workbooks), map their columns onto the canonical fields, validate every row and pseudonymize
//! its identifiers.
//! Raw values never leave ingest except as pseudonyms and vocabulary values; a reject message
//! quotes none. One job a file, in the order bytes flow:
//!
//! - `source`: lists a source's files and opens each export: text or workbook, byte-order mark,
//!   encoding, delimiter, header; the only place that opens a file or decides how one is written.
//! - `kind`: what a file is by its first bytes: text, a workbook, or what else (PDF, ZIP, HTML…).
//! - `text`: a text file's bytes hashed, UTF-16 decoded, bare CR line ends made LF.
//! - `chunks`: a text file read in chunks that end at line breaks.
//! - `workbook`: a workbook opened with calamine (size limit, sheet), its cells as text or dates.
//! - `records`: splits bytes into CSV records.
//! - `stream`: cuts a file into chunks and pieces, parses them in parallel, merges in order.
//! - `sheet`: a workbook's rows as records, through the same validation and merge.
//! - `header`: maps the header's columns onto fields; rows without the header's shape.
//! - `validate`: one record into a `Case` or a `RowReject`; `memo` remembers resolved values.
//! - `unmapped`: the values no value map resolves, tallied and summarized per source.
//! - `reject`: reject reasons, sinks and the summary.
//! - `error`: `IngestError`, a problem with a whole file or source.
//! - `sample`: the head of an export for `inspect`, read through `source` and `records`.
//!
//! This file holds the orchestration (`ingest`, `ingest_bytes`) and the per-file accounting
//! (`InputFile`); it reads no bytes itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod batches;
mod chunks;
mod error;
mod header;
mod kind;
mod memo;
mod records;
mod reject;
mod sample;
mod sheet;
mod source;
mod stream;
mod text;
mod unmapped;
mod validate;
mod workbook;

#[cfg(test)]
mod tests;

pub use error::IngestError;
pub use kind::WorkbookFormat;
pub use reject::{DiscardRejects, RejectReason, RejectSink, RowReject, reject_summary};
pub use sample::{Sample, SampledWorkbook, sample_file};
pub use source::{Decoding, list_files, sniff_delimiter, sniff_encoding};
pub use unmapped::{Distinct, Listing, NotLabels, UnmappedColumn};
pub use workbook::{MAX_WHOLE_WORKBOOK_BYTES, MAX_WORKBOOK_BYTES};

use crate::config::{Field, Pipeline};
use crate::model::{Case, Day};
use crate::pseudonym::Pseudonymizer;
use source::{ChunkPool, Declared, Opened};
use stream::{Cuts, FileContext, OfficeTable, SourceTally};

/// One input file and its accounting.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Index of the pipeline source it belongs to.
    pub source: usize,
    pub path: PathBuf,
    /// `<source name>/<file name>`: how outputs name the file, independent of the working directory.
    pub display: String,
    pub sha256: String,
    /// How a text export is written (`utf-8`, `windows-1251`, `utf-16le`…), or, for a
    /// workbook, its format (`xlsx`, `xls`, `ods`).
    pub encoding: &'static str,
    /// A text export's delimiter (a workbook has none: `,`).
    pub delimiter: u8,
    /// The sheet read, for a workbook.
    pub sheet: Option<String>,
    pub rows_read: u64,
    /// Accepted or duplicate are for deduplication to say (`link::Linked::accounts`).
    pub rows_rejected: u64,
    /// Rejected rows by reason and field.
    pub reject_counts: BTreeMap<(RejectReason, Option<Field>), u64>,
}

/// Why a case sink could not take a case: the sink's own error (ingest does not know what
/// the sink is).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where accepted cases go, in file order (pipeline source order, then path, then line).
pub trait CaseSink: Send {
    fn accept(&mut self, case: Case) -> Result<(), SinkError>;
}

impl CaseSink for Vec<Case> {
    fn accept(&mut self, case: Case) -> Result<(), SinkError> {
        self.push(case);
        Ok(())
    }
}

/// What ingest hands on besides the cases: the files they came from, the office names, and
/// the unmapped values of each source.
#[derive(Debug, Default)]
pub struct Ingested {
    pub files: Vec<InputFile>,
    /// Office names, indexed by `Case::office`.
    pub offices: Vec<String>,
    /// Per source and column, in pipeline order then field order: the values no value map
    /// resolved (listed only for the console and log; the report gives only their number).
    pub unmapped: Vec<UnmappedColumn>,
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
    let mut tallies: Vec<SourceTally> = pipeline
        .sources
        .iter()
        .map(|_| SourceTally::default())
        .collect();
    let pool = ChunkPool::default();
    let files = list_files(pipeline)?;
    let run = batches::Run {
        pipeline,
        files: &files,
        pseudonymizer,
        as_of,
        pool: &pool,
        cuts: Cuts::default(),
    };
    run.ingest(&mut batches::Merged {
        cases,
        offices: &mut offices,
        tallies: &mut tallies,
        sink,
        progress,
        files: &mut out.files,
    })?;
    out.offices = offices.names;
    out.unmapped = tallies
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.unmapped.summarize(i, pipeline.min_count))
        .collect();
    Ok(out)
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
    let source = &pipeline.sources[source_idx];
    let pool = ChunkPool::default();
    let cuts = Cuts::default();
    let opened = source::open(bytes, path, &pool, cuts.reading(), Declared::of(source))?;
    let mut cases = Vec::new();
    let file = ingest_opened(
        FileContext {
            source,
            source_idx,
            file_idx: 0,
            path,
            pseudonymizer,
            as_of,
            cuts,
        },
        opened,
        &mut cases,
        &mut OfficeTable::default(),
        &mut SourceTally::default(),
        &mut DiscardRejects,
        &|_: &InputFile, _: u64| {},
    )?;
    Ok((cases, file))
}

/// Ingest one opened export, text or workbook, through the same validation and merge.
fn ingest_opened<R: std::io::Read + Send>(
    ctx: FileContext<'_>,
    opened: Opened<'_, R>,
    cases: &mut dyn CaseSink,
    offices: &mut OfficeTable,
    tally: &mut SourceTally,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    match opened {
        Opened::Text(export) => {
            stream::ingest_export(ctx, export, cases, offices, tally, sink, progress)
        }
        Opened::Workbook(book) => {
            sheet::ingest_workbook(ctx, book, cases, offices, tally, sink, progress)
        }
    }
}

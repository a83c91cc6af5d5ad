//! The Parquet writer every Parquet output goes through (SPEC §6): Arrow arrays in, a plain,
//! widely readable file out. It owns the file-level choices (types, dictionary encoding,
//! compression, metadata) and the parallel encoding; which columns a table has, and what
//! goes in them, belongs to that table's module (`cases`, `rates`).
//!
//! Each row group's columns are built and encoded in parallel on the caller's side (the
//! dictionary columns by `dictionary_chunk`, the others by the `parquet` crate); a writer
//! thread appends the encoded chunks to the file and hashes the bytes as they go out, so the
//! manifest never reads a large output back.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
    compute_leaves,
};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescPtr, ColumnPath};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::dictionary_chunk::DictionaryChunk;
use crate::pseudonym::to_hex;

/// A problem writing one Parquet file.
#[derive(Debug, thiserror::Error)]
pub enum ParquetWriteError {
    #[error("writing {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("writing {path}")]
    Encode { path: PathBuf, source: ParquetError },
    #[error("writing {path}: the writer thread stopped unexpectedly")]
    WriterStopped { path: PathBuf },
}

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Dictionary-encoded in the file: a column with few distinct values (labels, dates,
    /// years), where the dictionary makes the column a fraction of its plain size. Encoded by
    /// `dictionary_chunk`, not the `parquet` crate: a label column may be handed as `u32`
    /// indices into a table of its labels (a dictionary array), which then cost no string
    /// hashing per row. `statistics: false` for a label whose values every row group holds
    /// (case type, outcome, placement type, sex): its minimum and maximum would prune nothing.
    /// (Nor null counts: no statistics at all, as the crate writes a column without them.)
    Dictionary { statistics: bool },
    /// Written plainly: pseudonyms, line numbers, rates: anything with many distinct values.
    Plain,
    /// Written plainly and without statistics: keyed pseudonyms, uniformly spread over their
    /// range, so a row group's minimum and maximum prune nothing (and comparing every value
    /// against them cost a tenth of writing `cases.parquet`).
    PlainUnordered,
}

/// The types the outputs use (SPEC §6: strings plain UTF-8, dates `DATE`, counts `INT64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Date,
    Int32,
    Int64,
    Float64,
}

impl ColumnType {
    fn arrow(self) -> DataType {
        match self {
            // `Utf8`, never `Utf8View`: older readers (pyarrow 12, 14) refuse string views.
            ColumnType::Text => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
        }
    }
}

/// One column of a table: its name, type, whether it may be null, and its storage.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub column_type: ColumnType,
    pub nullable: bool,
    pub storage: Storage,
}

impl ColumnSpec {
    /// A low-cardinality text column: plain UTF-8 to readers, dictionary-encoded in the file.
    pub const fn label(name: &'static str, nullable: bool) -> ColumnSpec {
        ColumnSpec {
            name,
            column_type: ColumnType::Text,
            nullable,
            storage: Storage::Dictionary { statistics: true },
        }
    }

    /// A low-cardinality text column whose values are spread over every row group:
    /// dictionary-encoded, without statistics.
    pub const fn category(name: &'static str, nullable: bool) -> ColumnSpec {
        ColumnSpec {
            name,
            column_type: ColumnType::Text,
            nullable,
            storage: Storage::Dictionary { statistics: false },
        }
    }

    /// A column of few distinct values that are not text (dates, years): dictionary-encoded.
    pub const fn few_values(
        name: &'static str,
        column_type: ColumnType,
        nullable: bool,
    ) -> ColumnSpec {
        ColumnSpec {
            name,
            column_type,
            nullable,
            storage: Storage::Dictionary { statistics: true },
        }
    }

    /// A column of keyed pseudonyms: text stored plainly, without statistics.
    pub const fn pseudonym(name: &'static str, nullable: bool) -> ColumnSpec {
        ColumnSpec {
            name,
            column_type: ColumnType::Text,
            nullable,
            storage: Storage::PlainUnordered,
        }
    }

    /// A column stored plainly.
    pub const fn plain(name: &'static str, column_type: ColumnType, nullable: bool) -> ColumnSpec {
        ColumnSpec {
            name,
            column_type,
            nullable,
            storage: Storage::Plain,
        }
    }
}

/// The Arrow schema of a table: what readers see.
pub fn arrow_schema(columns: &[ColumnSpec]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.column_type.arrow(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// A text column of `rows`, one value each.
pub fn text_column<'a, T>(rows: &'a [T], value: impl Fn(&'a T) -> &'a str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(value)))
}

/// A nullable text column of `rows`.
pub fn optional_text_column<'a, T>(
    rows: &'a [T],
    value: impl Fn(&'a T) -> Option<&'a str>,
) -> ArrayRef {
    Arc::new(rows.iter().map(value).collect::<StringArray>())
}

/// A nullable count column (`INT64`, SPEC §6) of `rows`.
pub fn count_column<T>(rows: &[T], value: impl Fn(&T) -> Option<u64>) -> ArrayRef {
    Arc::new(
        rows.iter()
            .map(|r| value(r).map(|v| v as i64))
            .collect::<Int64Array>(),
    )
}

/// A nullable floating-point column of `rows`.
pub fn real_column<T>(rows: &[T], value: impl Fn(&T) -> Option<f64>) -> ArrayRef {
    Arc::new(rows.iter().map(value).collect::<Float64Array>())
}

/// Writes one Parquet file a row group at a time. `finish` gives the file's SHA-256.
pub struct ParquetWriter {
    path: PathBuf,
    schema: SchemaRef,
    factory: ArrowRowGroupWriterFactory,
    /// For each column: its description in the file's schema and, for a `Storage::Dictionary`
    /// column, whether it has statistics.
    dictionaries: Vec<(ColumnDescPtr, Option<bool>)>,
    row_groups: usize,
    chunks: Option<SyncSender<Vec<EncodedColumn>>>,
    thread: Option<JoinHandle<Result<String, ParquetWriteError>>>,
}

/// What encodes one column of a row group.
enum ColumnEncoder {
    /// The `parquet` crate's writer (boxed: it is large, and there are a dozen a row group).
    Crate(Box<ArrowColumnWriter>),
    /// This program's, for a `Storage::Dictionary` column.
    Dictionary(DictionaryChunk),
}

/// One column of a row group, encoded, on its way to the file.
enum EncodedColumn {
    Crate(ArrowColumnChunk),
    Dictionary(Bytes, ColumnCloseResult),
}

/// A file sink that hashes what it passes on.
struct HashingFile {
    file: BufWriter<File>,
    hasher: Sha256,
    /// Start the kernel's writeback after this many bytes, so the final fsync of a large
    /// output has little left to do.
    unsynced: usize,
}

const WRITEBACK_EVERY: usize = 64 << 20;

/// Rows of a row group built and encoded together (`ParquetWriter::write_row_group`): about
/// 0.8 MB of `Case`s, which stay in the cache while all sixteen columns read them.
const SLICE_ROWS: usize = 8 << 10;

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        crate::fault::point("parquet-write")?;
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.unsynced += n;
        if self.unsynced >= WRITEBACK_EVERY {
            self.file.flush()?;
            start_writeback(self.file.get_ref());
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl ParquetWriter {
    /// Create `path` for a table of `columns`, with `metadata` in the file's key-value
    /// metadata. Nothing is written to disk but the header until the first row group.
    pub fn create(
        path: &Path,
        columns: &[ColumnSpec],
        compression: Compression,
        metadata: Vec<(String, String)>,
    ) -> Result<ParquetWriter, ParquetWriteError> {
        let io_error = |source| ParquetWriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        let encode_error = |source| ParquetWriteError::Encode {
            path: path.to_path_buf(),
            source,
        };
        // The descriptions go in the embedded Arrow schema too: pyarrow and Polars show a
        // schema's metadata, not the file's key-value list, when the Arrow schema is present.
        let schema = Arc::new(
            arrow_schema(columns).as_ref().clone().with_metadata(
                metadata
                    .iter()
                    .cloned()
                    .collect::<std::collections::HashMap<_, _>>(),
            ),
        );
        let mut props = WriterProperties::builder()
            // Version 1 data pages: what the oldest readers we promise (pyarrow 12, Spark
            // 3.5, fastparquet) read without question.
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(compression)
            .set_dictionary_enabled(false)
            // The row groups are the caller's: one per `write_row_group`.
            .set_max_row_group_row_count(None)
            .set_created_by(format!("outcomes {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata((!metadata.is_empty()).then(|| {
                metadata
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect()
            }));
        for column in columns {
            let path = || ColumnPath::from(column.name);
            props = match column.storage {
                // A dictionary column's writer from the crate is made and not used
                // (`dictionary_chunk` encodes it): the least it can cost.
                Storage::Dictionary { .. } | Storage::PlainUnordered => {
                    props.set_column_statistics_enabled(path(), EnabledStatistics::None)
                }
                Storage::Plain => props,
            };
        }
        let file = File::create(path).map_err(io_error)?;
        let sink = HashingFile {
            file: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            unsynced: 0,
        };
        // The high-level writer adds the Arrow schema to the file's metadata; its low-level
        // halves let the columns be encoded in parallel.
        let options = ArrowWriterOptions::new().with_properties(props.build());
        let (file_writer, factory) =
            ArrowWriter::try_new_with_options(sink, Arc::clone(&schema), options)
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(encode_error)?;
        let dictionaries = columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let statistics = match column.storage {
                    Storage::Dictionary { statistics } => Some(statistics),
                    _ => None,
                };
                (file_writer.schema_descr().column(i), statistics)
            })
            .collect();

        let (chunks, received) = sync_channel::<Vec<EncodedColumn>>(1);
        let thread_path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("parquet writer".into())
            .spawn(move || append_row_groups(file_writer, received, &thread_path))
            .map_err(io_error)?;
        Ok(ParquetWriter {
            path: path.to_path_buf(),
            schema,
            factory,
            dictionaries,
            row_groups: 0,
            chunks: Some(chunks),
            thread: Some(thread),
        })
    }

    /// Write one row group of `rows` rows. `build(i, range)` makes column `i` (in the order of
    /// the table's columns) for the rows in `range`; the columns are built and encoded in
    /// parallel, `SLICE_ROWS` rows at a time, so that the rows a slice's columns are built from
    /// stay in the cache while all of its columns read them (walking a whole row group once per
    /// column took a third of the time `cases.parquet` took). The rows and values are those of
    /// one slice a row group, but not the bytes: a column writer decides where a page ends
    /// after each `write`, so the page cuts follow the slices. The same rows always give the
    /// same slices, and so the same bytes.
    pub fn write_row_group(
        &mut self,
        rows: usize,
        build: impl Fn(usize, std::ops::Range<usize>) -> ArrayRef + Sync,
    ) -> Result<(), ParquetWriteError> {
        let encode_error = |source| ParquetWriteError::Encode {
            path: self.path.clone(),
            source,
        };
        let mut encoders: Vec<ColumnEncoder> = self
            .factory
            .create_column_writers(self.row_groups)
            .map_err(encode_error)?
            .into_iter()
            .zip(&self.dictionaries)
            .map(|(writer, (descr, dictionary))| match dictionary {
                Some(statistics) => {
                    ColumnEncoder::Dictionary(DictionaryChunk::new(Arc::clone(descr), *statistics))
                }
                None => ColumnEncoder::Crate(Box::new(writer)),
            })
            .collect();
        let fields = self.schema.fields();
        // At least one slice, so that an empty table is written as it always was.
        let mut start = 0;
        loop {
            let range = start..rows.min(start + SLICE_ROWS);
            encoders
                .par_iter_mut()
                .enumerate()
                .try_for_each(|(i, encoder)| {
                    let array = build(i, range.clone());
                    match encoder {
                        // Flat columns: one leaf each.
                        ColumnEncoder::Crate(writer) => {
                            for leaf in compute_leaves(&fields[i], &array)? {
                                writer.write(&leaf)?;
                            }
                        }
                        ColumnEncoder::Dictionary(chunk) => chunk.push(&array)?,
                    }
                    Ok::<_, ParquetError>(())
                })
                .map_err(encode_error)?;
            start = range.end;
            if start >= rows {
                break;
            }
        }
        let chunks = encoders
            .into_par_iter()
            .map(|encoder| match encoder {
                ColumnEncoder::Crate(writer) => writer.close().map(EncodedColumn::Crate),
                ColumnEncoder::Dictionary(chunk) => chunk
                    .close()
                    .map(|(bytes, close)| EncodedColumn::Dictionary(bytes, close)),
            })
            .collect::<Result<Vec<_>, ParquetError>>()
            .map_err(encode_error)?;
        self.row_groups += 1;
        let sent = self.chunks.as_ref().is_some_and(|s| s.send(chunks).is_ok());
        if !sent {
            // The writer thread stopped early: its error says why.
            return self.join().map(|_| ());
        }
        Ok(())
    }

    fn join(&mut self) -> Result<String, ParquetWriteError> {
        self.chunks = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(ParquetWriteError::WriterStopped {
                path: self.path.clone(),
            }),
        }
    }

    /// Write the footer, sync the file to disk, and give its SHA-256 (hex).
    pub fn finish(mut self) -> Result<String, ParquetWriteError> {
        self.join()
    }
}

impl Drop for ParquetWriter {
    /// A writer dropped on an error path: stop the thread before the staging folder goes.
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: append each row group's encoded chunks, then the footer; sync; hash.
fn append_row_groups(
    mut file_writer: SerializedFileWriter<HashingFile>,
    received: std::sync::mpsc::Receiver<Vec<EncodedColumn>>,
    path: &Path,
) -> Result<String, ParquetWriteError> {
    let encode_error = |source| ParquetWriteError::Encode {
        path: path.to_path_buf(),
        source,
    };
    for chunks in received {
        let mut row_group = file_writer.next_row_group().map_err(encode_error)?;
        for chunk in chunks {
            match chunk {
                EncodedColumn::Crate(chunk) => chunk.append_to_row_group(&mut row_group),
                EncodedColumn::Dictionary(bytes, close) => row_group.append_column(&bytes, close),
            }
            .map_err(encode_error)?;
        }
        row_group.close().map_err(encode_error)?;
    }
    // `finish` writes the footer and flushes through to the file, keeping an I/O error (a full
    // disk) as such; `into_inner` would turn a failed last flush into plain text.
    file_writer.finish().map_err(encode_error)?;
    let sink = file_writer.inner_mut();
    let io_error = |source| ParquetWriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    sink.file.flush().map_err(io_error)?;
    sink.file.get_ref().sync_all().map_err(io_error)?;
    Ok(to_hex(&std::mem::take(&mut sink.hasher).finalize()))
}

/// Ask the kernel to start writing `file`'s dirty pages to disk now, without waiting.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range only reads the descriptor, which `file` keeps open; it has no
    // memory arguments. Failure only means the final fsync does all the work.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File) {}

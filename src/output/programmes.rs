//! `programmes.parquet` (SPEC §10): the publishable programme rows, after disclosure control,
//! with each programme's title, members, dates and comparison in the file's key-value metadata
//! (`outcomes.programmes`, JSON). This module decides the columns and fills them; the file
//! format is `parquet_file`'s.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array};
use parquet::basic::Compression;

use super::OutputEntry;
use super::manifest::ProgrammeEntry;
use super::parquet_file::{
    ColumnSpec, ColumnType, ParquetWriteError, ParquetWriter, count_column, optional_text_column,
    real_column, text_column,
};
use crate::config::Pipeline;
use crate::measures::ProgrammeRow;

/// The columns of `programmes.parquet`, in order (SPEC §10).
const COLUMNS: [ColumnSpec; 11] = [
    ColumnSpec::label("programme", false),
    ColumnSpec::label("group", false),
    ColumnSpec::label("measure", false),
    ColumnSpec::plain("year", ColumnType::Int32, true),
    ColumnSpec::label("period", true),
    ColumnSpec::plain("numerator", ColumnType::Int64, true),
    ColumnSpec::plain("denominator", ColumnType::Int64, true),
    ColumnSpec::plain("rate", ColumnType::Float64, true),
    ColumnSpec::plain("ci_low", ColumnType::Float64, true),
    ColumnSpec::plain("ci_high", ColumnType::Float64, true),
    ColumnSpec::label("status", false),
];

/// The key of the programmes' descriptions in the file's key-value metadata.
pub const PROGRAMMES_METADATA_KEY: &str = "outcomes.programmes";

/// Write `programmes.parquet`, one row group; its manifest entry.
pub fn write_programmes(
    path: &Path,
    pipeline: &Pipeline,
    rows: &[ProgrammeRow],
) -> Result<OutputEntry, ParquetWriteError> {
    let described = serde_json::to_string(&ProgrammeEntry::all(pipeline))
        .expect("programme entries are strings and lists, which always serialize");
    let metadata = vec![(PROGRAMMES_METADATA_KEY.to_string(), described)];
    let mut parquet = ParquetWriter::create(path, &COLUMNS, Compression::SNAPPY, metadata)?;
    let names: Vec<&str> = pipeline
        .programmes
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    parquet.write_row_group(rows.len(), |column, range| {
        programme_column(column, &rows[range], &names)
    })?;
    Ok(OutputEntry::hashed(path, parquet.finish()?))
}

fn programme_column<'a>(column: usize, rows: &'a [ProgrammeRow], names: &'a [&'a str]) -> ArrayRef {
    let text = |value: fn(&ProgrammeRow) -> &str| text_column(rows, value);
    match COLUMNS[column].name {
        "programme" => text_column(rows, |r| names.get(r.programme).copied().unwrap_or("")),
        "group" => text(|r| r.group.code()),
        "measure" => text(|r| r.measure.code()),
        "year" => Arc::new(rows.iter().map(|r| r.year).collect::<Int32Array>()),
        "period" => optional_text_column(rows, |r| r.period.map(|p| p.code())),
        "numerator" => count_column(rows, |r| r.numerator),
        "denominator" => count_column(rows, |r| r.denominator),
        "rate" => real_column(rows, |r| r.rate),
        "ci_low" => real_column(rows, |r| r.ci_low),
        "ci_high" => real_column(rows, |r| r.ci_high),
        "status" => text(|r| r.status.code()),
        other => unreachable!("programmes.parquet has no column {other}"),
    }
}

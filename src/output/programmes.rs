//! `programmes.parquet` (SPEC §10): the publishable programme rows, after disclosure control,
//! with each programme's title, members, dates and comparison in the file's key-value metadata
//! (`outcomes.programmes`, JSON). This module decides the columns and fills them; the file
//! format is `parquet_file`'s.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use parquet::basic::Compression;

use super::OutputEntry;
use super::manifest::ProgrammeEntry;
use super::parquet_file::{ColumnSpec, ColumnType, ParquetWriteError, ParquetWriter};
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
    parquet.write_row_group(|column| programme_column(column, rows, &names))?;
    Ok(OutputEntry::hashed(path, parquet.finish()?))
}

fn programme_column<'a>(column: usize, rows: &'a [ProgrammeRow], names: &'a [&'a str]) -> ArrayRef {
    let text = |value: &dyn Fn(&'a ProgrammeRow) -> &'a str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(value)))
    };
    let count = |value: fn(&ProgrammeRow) -> Option<u64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| value(r).map(|v| v as i64))
                .collect::<Int64Array>(),
        )
    };
    let real = |value: fn(&ProgrammeRow) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(value).collect::<Float64Array>())
    };
    match COLUMNS[column].name {
        "programme" => text(&|r| names.get(r.programme).copied().unwrap_or("")),
        "group" => text(&|r| r.group.code()),
        "measure" => text(&|r| r.measure.code()),
        "year" => Arc::new(rows.iter().map(|r| r.year).collect::<Int32Array>()),
        "period" => Arc::new(
            rows.iter()
                .map(|r| r.period.map(|p| p.code()))
                .collect::<StringArray>(),
        ),
        "numerator" => count(|r| r.numerator),
        "denominator" => count(|r| r.denominator),
        "rate" => real(|r| r.rate),
        "ci_low" => real(|r| r.ci_low),
        "ci_high" => real(|r| r.ci_high),
        "status" => text(&|r| r.status.code()),
        other => unreachable!("programmes.parquet has no column {other}"),
    }
}

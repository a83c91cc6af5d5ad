//! `rates.parquet` (SPEC §6): the publishable rates table, after disclosure control. This
//! module decides the table's columns and fills them from `RateRow`s; the file format is
//! `parquet`'s.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array};
use parquet::basic::Compression;

use super::OutputEntry;
use super::parquet_file::{
    ColumnSpec, ColumnType, ParquetWriteError, ParquetWriter, count_column, optional_text_column,
    real_column, text_column,
};
use crate::measures::RateRow;
use crate::reference;

/// The columns of `rates.parquet`, in order (SPEC §6).
const COLUMNS: [ColumnSpec; 12] = [
    ColumnSpec::label("measure", false),
    ColumnSpec::label("region", false),
    ColumnSpec::label("region_name_bg", false),
    ColumnSpec::label("region_name_en", false),
    ColumnSpec::plain("year", ColumnType::Int32, false),
    ColumnSpec::plain("numerator", ColumnType::Int64, true),
    ColumnSpec::plain("denominator", ColumnType::Int64, true),
    ColumnSpec::plain("rate", ColumnType::Float64, true),
    ColumnSpec::plain("ci_low", ColumnType::Float64, true),
    ColumnSpec::plain("ci_high", ColumnType::Float64, true),
    ColumnSpec::label("status", false),
    ColumnSpec::label("funnel", true),
];

/// The column names of `rates.parquet`, in order.
pub const RATES_COLUMNS: [&str; 12] = {
    let mut names = [""; 12];
    let mut i = 0;
    while i < COLUMNS.len() {
        names[i] = COLUMNS[i].name;
        i += 1;
    }
    names
};

/// Write `rates.parquet`, one row group; its manifest entry.
pub fn write_rates(path: &Path, rows: &[RateRow]) -> Result<OutputEntry, ParquetWriteError> {
    // Snappy: the table is small and mostly numbers, which it does shrink.
    let mut parquet = ParquetWriter::create(path, &COLUMNS, Compression::SNAPPY, vec![])?;
    parquet.write_row_group(rows.len(), |column, range| {
        rate_column(column, &rows[range])
    })?;
    Ok(OutputEntry::hashed(path, parquet.finish()?))
}

fn rate_column(column: usize, rows: &[RateRow]) -> ArrayRef {
    let oblasts = reference::oblasts();
    let name = |r: &RateRow, bg: bool| match (r.region, bg) {
        (None, true) => "България",
        (None, false) => "Bulgaria",
        (Some(i), true) => oblasts[i as usize].name_bg.as_str(),
        (Some(i), false) => oblasts[i as usize].name_en.as_str(),
    };
    let text = |value: fn(&RateRow) -> &str| text_column(rows, value);
    match COLUMNS[column].name {
        "measure" => text(|r| r.measure.code()),
        "region" => text(|r| r.region_code()),
        "region_name_bg" => text_column(rows, |r| name(r, true)),
        "region_name_en" => text_column(rows, |r| name(r, false)),
        "year" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.year))),
        "numerator" => count_column(rows, |r| r.numerator),
        "denominator" => count_column(rows, |r| r.denominator),
        "rate" => real_column(rows, |r| r.rate),
        "ci_low" => real_column(rows, |r| r.ci_low),
        "ci_high" => real_column(rows, |r| r.ci_high),
        "status" => text(|r| r.status.code()),
        "funnel" => optional_text_column(rows, |r| r.funnel.map(|f| f.code())),
        other => unreachable!("rates.parquet has no column {other}"),
    }
}

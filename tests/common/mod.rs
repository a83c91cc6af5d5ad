//! Helpers for the integration tests: run the real binary, make synthetic exports, read outputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use assert_cmd::Command;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod leaks;
mod pipeline;
#[allow(unused_imports)] // each test crate uses a part of the helpers
pub use leaks::{count_leaks, long_enough_to_search, sensitive_values};
#[allow(unused_imports)]
pub use pipeline::{TestPipeline, TestSource, case_columns};

/// The `outcomes` binary, run from `dir`.
pub fn outcomes(dir: &Path) -> Command {
    let mut cmd =
        Command::cargo_bin("outcomes").expect("the binary is built for integration tests");
    cmd.current_dir(dir);
    cmd
}

/// The repository root (where `pipelines/` and `sample_data/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Assert that an HTML report loads nothing: no script, stylesheet, image, frame or URL other
/// than the SVG namespace (a name, not a request).
pub fn assert_self_contained(html: &str) {
    for forbidden in [
        "<script",
        "<link",
        "@import",
        "src=",
        "href=\"http",
        "url(http",
        "<iframe",
        "<img",
    ] {
        assert!(
            !html.contains(forbidden),
            "the report must not load anything: found {forbidden}"
        );
    }
    // The only URL is the SVG namespace, which is a name, not a request.
    let urls = html.matches("http").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces, "no URL other than the SVG namespace");
}

/// Write synthetic exports into `dir` and return the pipeline file's path.
pub fn synth(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    outcomes(dir)
        .args([
            "synth",
            "--out",
            "data",
            "--rows",
            &rows.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .assert()
        .success();
    dir.join("data/pipeline.toml")
}

/// Synthetic exports with a simulated programme (+8 points in Varna and Dobrich from 2019);
/// the pipeline file synth writes defines it (`synth-programme`).
pub fn synth_with_programme(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    outcomes(dir)
        .args([
            "synth",
            "--out",
            "data",
            "--rows",
            &rows.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args([
            "--programme-regions",
            "VAR,DOB",
            "--programme-effect",
            "8",
            "--programme-from",
            "2019",
        ])
        .assert()
        .success();
    dir.join("data/pipeline.toml")
}

/// A Parquet file read whole, through the same Arrow crates an analyst's tools use.
pub struct ParquetTable {
    pub batches: Vec<RecordBatch>,
    pub column_names: Vec<String>,
}

impl ParquetTable {
    /// Number of rows.
    pub fn height(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The column names, in order.
    pub fn get_column_names(&self) -> Vec<&str> {
        self.column_names.iter().map(String::as_str).collect()
    }

    /// The values of a string column, in row order (`None` for nulls).
    pub fn strings(&self, name: &str) -> Vec<Option<String>> {
        let mut out = Vec::with_capacity(self.height());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            let values = column.as_string::<i32>();
            out.extend(values.iter().map(|v| v.map(str::to_string)));
        }
        out
    }
}

impl ParquetTable {
    /// The values of an integer column (Int32 or Int64), in row order (`None` for nulls).
    pub fn ints(&self, name: &str) -> Vec<Option<i64>> {
        use arrow_array::types::{Int32Type, Int64Type};
        let mut out = Vec::with_capacity(self.height());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            match column.data_type() {
                DataType::Int32 => out.extend(
                    column
                        .as_primitive::<Int32Type>()
                        .iter()
                        .map(|v| v.map(i64::from)),
                ),
                DataType::Int64 => out.extend(column.as_primitive::<Int64Type>().iter()),
                other => panic!("column {name} is {other}, not an integer"),
            }
        }
        out
    }
}

impl ParquetTable {
    /// The values of a Float64 column, in row order (`None` for nulls).
    pub fn floats(&self, name: &str) -> Vec<Option<f64>> {
        use arrow_array::types::Float64Type;
        let mut out = Vec::with_capacity(self.height());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            out.extend(column.as_primitive::<Float64Type>().iter());
        }
        out
    }
}

/// Read a Parquet file whole.
pub fn read_parquet(path: &Path) -> ParquetTable {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("a readable Parquet file");
    let column_names = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = builder
        .build()
        .expect("a readable Parquet file")
        .collect::<Result<Vec<_>, _>>()
        .expect("readable row groups");
    ParquetTable {
        batches,
        column_names,
    }
}

/// Every string value in every string column of a Parquet file.
pub fn parquet_strings(path: &Path) -> Vec<String> {
    let table = read_parquet(path);
    let mut out = Vec::new();
    for batch in &table.batches {
        for column in batch.columns() {
            if column.data_type() == &DataType::Utf8 {
                let values = column.as_string::<i32>();
                out.extend(
                    (0..values.len())
                        .filter(|&i| values.is_valid(i))
                        .map(|i| values.value(i).to_string()),
                );
            }
        }
    }
    out
}

/// Every text cell of every sheet of a workbook, as calamine reads it.
pub fn xlsx_strings(path: &Path) -> Vec<String> {
    use calamine::{Data, Reader};
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).expect("a readable sheet");
        out.push(name);
        out.extend(range.used_cells().filter_map(|(_, _, d)| match d {
            Data::String(s) => Some(s.clone()),
            _ => None,
        }));
    }
    out
}

/// The parsed manifest of an output folder.
pub fn manifest(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// Check `rows_read = accepted + rejected + duplicate` for every input file; return totals.
pub fn assert_accounting_balances(manifest: &serde_json::Value) -> (u64, u64, u64, u64) {
    let mut totals = (0, 0, 0, 0);
    let inputs = manifest["inputs"].as_array().expect("inputs");
    assert!(!inputs.is_empty());
    for input in inputs {
        let n = |k: &str| {
            input[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{k} in {input}"))
        };
        assert_eq!(
            n("rows_read"),
            n("rows_accepted") + n("rows_rejected") + n("rows_duplicate"),
            "accounting of {}",
            input["name"]
        );
        totals.0 += n("rows_read");
        totals.1 += n("rows_accepted");
        totals.2 += n("rows_rejected");
        totals.3 += n("rows_duplicate");
    }
    totals
}

/// Every row of an export, header first, as text, read independently of the program: CSV in
/// UTF-8 (with or without a byte-order mark), Windows-1251 or UTF-16 with a byte-order mark,
/// split on `delimiter` (sniffed when `None`); or the first sheet of a workbook (calamine), its
/// whole numbers as digits (an ЕГН that lost its leading zero is still found inside the
/// restored one) and its dates as ISO dates.
pub fn read_export(path: &Path, delimiter: Option<u8>) -> Vec<Vec<String>> {
    use calamine::{Data, Reader};
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        let mut book = calamine::open_workbook_auto(path).expect("a readable workbook");
        let range = book
            .worksheet_range_at(0)
            .expect("a first sheet")
            .expect("a readable sheet");
        return range
            .rows()
            .map(|row| {
                row.iter()
                    .map(|cell| match cell {
                        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                            format!("{}", *f as i64)
                        }
                        Data::Float(f) => f.to_string(),
                        Data::Int(i) => i.to_string(),
                        Data::DateTime(dt) => {
                            let (y, m, d, ..) = dt.to_ymd_hms_milli();
                            format!("{y:04}-{m:02}-{d:02}")
                        }
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
    }
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        String::from_utf8_lossy(rest).into_owned()
    } else if bytes.starts_with(b"\xFF\xFE") {
        encoding_rs::UTF_16LE.decode(&bytes).0.into_owned()
    } else if let Ok(s) = std::str::from_utf8(&bytes) {
        s.to_string()
    } else {
        encoding_rs::WINDOWS_1251.decode(&bytes).0.into_owned()
    };
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let delimiter = delimiter.unwrap_or_else(|| outcomes::ingest::sniff_delimiter(text.as_bytes()));
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

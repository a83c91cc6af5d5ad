//! Outputs (SPEC §6, §9): everything a run writes, and its publication. Each output has a
//! file of its own here (`cases`, `rates`, `programmes`, `reconciliation`, `xlsx`, `rejects`,
//! `html`, `manifest`), and each writer
//! gives back the output's manifest entry; `parquet_file` is the one
//! Parquet writer; `publish` owns the output folder: its lock, the staging folder the outputs
//! are written into, and the atomic swap that puts them in place; `ownership` decides which
//! folders a run may replace. Nothing here computes a
//! figure or reads an export: what to write arrives from the earlier stages.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::pseudonym::to_hex;

mod cases;
mod dictionary_chunk;
mod html;
mod manifest;
mod ownership;
mod parquet_file;
mod programmes;
mod publish;
mod rates;
mod reconciliation;
mod rejects;
mod xlsx;

pub use cases::{CASES_BATCH_ROWS, CASES_COLUMNS, CasesWriter};
pub use html::write_report;
pub use manifest::{
    Counts, Freshness, InputEntry, Manifest, OutputEntry, PipelineEntry, ProgrammeEntry,
    RunIdentity, RunRecord, SuccessEntry, absolute_path, freshness, read_manifest, write_manifest,
};
pub use ownership::Refusal;
pub use parquet_file::ParquetWriteError;
pub use programmes::{PROGRAMMES_METADATA_KEY, write_programmes};
pub use publish::OutputDir;
pub use rates::{RATES_COLUMNS, write_rates};
pub use reconciliation::{RECONCILIATION_COLUMNS, write_reconciliation};
pub use rejects::RejectsWriter;
pub use xlsx::{XlsxInput, write_rates_xlsx};

/// A problem writing outputs. Exit code 1: the previous outputs are untouched.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("file system error at {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "another outcomes run is writing {target} ({holder})\nhint: wait for it to finish; if no run is active, the lock is released automatically"
    )]
    Locked { target: PathBuf, holder: String },
    /// The output folder is not one a run may replace: exit code 2.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Parquet(#[from] ParquetWriteError),
    #[error("writing rates.xlsx")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(to_hex(&hasher.finalize()))
}

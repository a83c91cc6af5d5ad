//! The pipeline file (SPEC §2): its TOML shape as typed serde structs, and its compilation into
//! a checked `Pipeline` (paths resolved, labels folded, every mapping validated) before any data
//! moves, so a typo fails in the first second with the key and line that hold it.
//!
//! One file per part of the file, each holding the part as written (serde), as checked (the
//! typed struct the stages read) and the check between them:
//! - `pipeline`: the top-level keys (`name`, `as_of`, `min_count`, ...), the list of sections
//!   and `parse`, which runs every check;
//! - `measures`: `[measures]`, the success sets;
//! - `sources`: `[[sources]]`, one export each, and `[sources.columns]`;
//! - `labels`: `[sources.values.*]`, the value maps;
//! - `programmes`: `[[programmes]]`, SPEC §10's programmes and their comparisons;
//! - `published`: `published`, the national figures to reconcile with (SPEC §11);
//! - `field`: the canonical fields of SPEC §2 and how much of each may be shown.
//!
//! A new top-level key goes in `pipeline.rs`. A new section is a new file like `measures.rs`
//! or `programmes.rs`, one field in `PipelineFile` and `Pipeline`, and one line in
//! `parse`. Config reads no export and no key; it may not depend on any later stage.

mod field;
mod labels;
mod measures;
mod pipeline;
mod programmes;
mod published;
mod sources;

use std::fs;
use std::path::{Path, PathBuf};

pub use field::{Field, FieldClass};
pub use labels::{LabelMap, Labels};
pub use measures::SuccessSets;
pub use pipeline::{Lang, Pipeline, parse, parse_iso_date};
pub use programmes::{Comparison, MAX_PROGRAMMES, Programme};
pub use published::{PublishedTable, PublishedYear, QUANTITIES};
pub use sources::{EncodingChoice, IdScheme, Source};

/// A pipeline file that cannot be used. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read pipeline file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pipeline file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("pipeline file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Read, parse and check a pipeline file.
pub fn load(path: &Path) -> Result<Pipeline, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

#[cfg(test)]
mod tests;

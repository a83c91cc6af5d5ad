//! `report.html` (SPEC §7) as a file: the rendered report, written into the staging folder.
//! What it says is `report`'s; this only writes it and hashes it for the manifest.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{OutputEntry, OutputError, io_error};
use crate::pseudonym::to_hex;

/// Write the rendered report to `path`; its manifest entry.
pub fn write_report(path: &Path, html: &str) -> Result<OutputEntry, OutputError> {
    fs::write(path, html).map_err(io_error(path))?;
    Ok(OutputEntry::hashed(
        path,
        to_hex(&Sha256::digest(html.as_bytes())),
    ))
}

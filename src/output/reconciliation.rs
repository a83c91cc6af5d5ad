//! `reconciliation.csv` (SPEC §11): the published national figures against the counts computed
//! from the accepted cases, after disclosure control. UTF-8 with a BOM (Excel reads the Cyrillic
//! right then), comma-separated, one row per (year, quantity).

use std::path::Path;

use sha2::{Digest, Sha256};

use super::{OutputEntry, OutputError, io_error};
use crate::measures::ReconciliationRow;
use crate::pseudonym::to_hex;

/// The columns of `reconciliation.csv`, in order.
pub const RECONCILIATION_COLUMNS: [&str; 6] = [
    "year",
    "quantity",
    "published",
    "computed",
    "coverage",
    "status",
];

/// Write `reconciliation.csv`; its manifest entry.
pub fn write_reconciliation(
    path: &Path,
    rows: &[ReconciliationRow],
) -> Result<OutputEntry, OutputError> {
    let mut text = String::from("\u{feff}");
    text.push_str(&RECONCILIATION_COLUMNS.join(","));
    text.push('\n');
    for r in rows {
        let computed = r.computed.map(|c| c.to_string()).unwrap_or_default();
        let coverage = r.coverage.map(|c| format!("{c:.4}")).unwrap_or_default();
        text.push_str(&format!(
            "{},{},{},{computed},{coverage},{}\n",
            r.year,
            r.quantity_name(),
            r.published,
            r.status.code()
        ));
    }
    // Synced with every other staged file when the folder is published.
    std::fs::write(path, text.as_bytes()).map_err(io_error(path))?;
    Ok(OutputEntry::hashed(
        path,
        to_hex(&Sha256::digest(text.as_bytes())),
    ))
}

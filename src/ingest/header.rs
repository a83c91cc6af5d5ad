//! The header of an export against the pipeline's mapping: which column holds each mapped
//! field (a missing or repeated column stops the file), and what a row that does not have the
//! header's shape is told. It reads header names only, never a row's values.

use std::path::Path;

use super::records::bound_text;
use super::reject::{RejectReason, RowReject};
use super::{Decoding, IngestError};
use crate::config::{Field, Source};
use crate::reference::lookup_key;

/// Mapped field → column index, in `Field` order.
pub(super) struct ColumnIndex {
    index: [Option<usize>; Field::ALL.len()],
}

impl ColumnIndex {
    pub(super) fn get(&self, field: Field) -> Option<usize> {
        self.index[field as usize]
    }
}

/// Find the column of every field `source` maps in the raw `header` of the export at `path`.
pub(super) fn map_columns(
    path: &Path,
    source: &Source,
    header: &[Vec<u8>],
    decoding: Decoding,
    has_bom: bool,
) -> Result<ColumnIndex, IngestError> {
    let mut names = Vec::with_capacity(header.len());
    for raw in header.iter() {
        let name = decoding
            .decode(raw)
            .ok_or_else(|| IngestError::UndecodableHeader {
                path: path.to_path_buf(),
                encoding: decoding.name(),
                hint: "set `encoding = \"windows-1251\"` (or \"auto\") for this source",
            })?;
        names.push(lookup_key(name.trim_start_matches('\u{feff}')));
    }
    let mut index = [None; Field::ALL.len()];
    for (field, column) in &source.columns {
        let wanted = lookup_key(column);
        let hits: Vec<usize> = (0..names.len()).filter(|i| names[*i] == wanted).collect();
        match hits.as_slice() {
            [one] => index[*field as usize] = Some(*one),
            [] => {
                if decoding == Decoding::Windows1251 && has_bom {
                    return Err(IngestError::UndecodableHeader {
                        path: path.to_path_buf(),
                        encoding: decoding.name(),
                        hint: "the file starts with a UTF-8 byte-order mark: set `encoding = \"utf-8\"`",
                    });
                }
                return Err(IngestError::MissingColumn {
                    path: path.to_path_buf(),
                    field: field.name(),
                    column: column.clone(),
                    header_columns: names.len(),
                });
            }
            many => {
                return Err(IngestError::DuplicateColumn {
                    path: path.to_path_buf(),
                    field: field.name(),
                    column: column.clone(),
                    count: many.len(),
                });
            }
        }
    }
    Ok(ColumnIndex { index })
}

/// The reject of a record that does not have the header's width or that the end of the file
/// cut inside a quote. A record that runs over several lines and then has the wrong shape, or
/// never ends its quote, is a quote that was opened and never closed: say so, and which lines
/// it swallowed.
pub(super) fn wrong_shape(
    line: u64,
    columns: usize,
    header_len: usize,
    inner_newlines: u64,
    unclosed: bool,
) -> RowReject {
    if unclosed && inner_newlines == 0 {
        return RowReject {
            field: None,
            reason: RejectReason::UnterminatedQuote,
            message: format!(
                "a quoted field (\"…\") on line {line}, the last line, is never closed; fix the quote and export again"
            ),
        };
    }
    if inner_newlines > 0 {
        return RowReject {
            field: None,
            reason: RejectReason::UnterminatedQuote,
            message: format!(
                "a quoted field (\"…\") on line {line} is not closed where it should be: lines {line} to {} were read as one row of {columns} columns (the header has {header_len}); fix the quote and export again",
                line + inner_newlines,
            ),
        };
    }
    RowReject {
        field: None,
        reason: RejectReason::WrongColumnCount,
        message: format!("the row has {columns} columns; the header has {header_len}"),
    }
}

/// The reject of a record that did not end within the record bound (`max_record` bytes): it
/// took every line up to the first line break after the bound, and reading went on there.
pub(super) fn too_long(line: u64, inner_newlines: u64, max_record: usize) -> RowReject {
    let bound = bound_text(max_record);
    let message = if inner_newlines == 0 {
        format!(
            "the row on line {line} is longer than {bound}, the most a row may take: it is not read; reading goes on at the next line"
        )
    } else {
        let end = line + inner_newlines;
        format!(
            "the row starting on line {line} runs past {bound}, the most a row may take, without ending: a quote (\") in it is probably never closed; lines {line} to {end} are skipped as this one row, and reading goes on after line {end}"
        )
    };
    RowReject {
        field: None,
        reason: RejectReason::RecordTooLong,
        message,
    }
}

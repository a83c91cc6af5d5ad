//! The head of an export for `outcomes inspect`: opened through `source` (the same byte-order
//! mark, encoding, delimiter and header as the pipeline) and split by `records`, then decoded
//! cell by cell. It validates and pseudonymizes nothing; what may be printed is `inspect`'s call.

use std::path::Path;

use super::IngestError;
use super::records::{MAX_RECORD_BYTES, OpenRecord, Record, Splitter};
use super::source::{self, ChunkPool, Declared, Decoding, Reading};

/// The head of an export, decoded: what `outcomes inspect` looks at.
#[derive(Debug, Clone)]
pub struct Sample {
    pub decoding: Decoding,
    pub has_bom: bool,
    pub delimiter: u8,
    pub header: Vec<String>,
    /// Up to `max_rows` data rows, decoded (undecodable cells are empty).
    pub rows: Vec<Vec<String>>,
}

/// Read the header and the first `max_rows` rows of a file, guessing encoding and delimiter as
/// ingest does for a source that declares neither. Blank lines are not rows.
pub fn sample_file(path: &Path, max_rows: usize) -> Result<Sample, IngestError> {
    let pool = ChunkPool::default();
    let mut export = source::open_file(path, &pool, Reading::default(), Declared::NOTHING)?;
    // A header whose quote never closes holds the rows after it: never print it as names.
    if export.header_unclosed {
        return Err(IngestError::HeaderQuoteNeverClosed {
            path: path.to_path_buf(),
        });
    }
    let decoding = export.decoding;
    let decode = |raw: &[u8]| -> String {
        decoding
            .decode(raw)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let header = export
        .header
        .iter()
        .map(|raw| decode(raw).trim_start_matches('\u{feff}').to_string())
        .collect();

    let mut rows = Vec::new();
    let take = |rows: &mut Vec<Vec<String>>, rec: &Record<'_>| {
        // A row past the record bound has no fields to show.
        if rows.len() < max_rows && !rec.is_blank() && !rec.too_long {
            rows.push(
                (0..rec.len())
                    .map(|i| decode(rec.get(i).unwrap_or_default()))
                    .collect(),
            );
        }
    };
    // Chunk by chunk, in order; a record that runs past a chunk's end goes on in the next.
    let mut open: Option<OpenRecord> = None;
    while rows.len() < max_rows {
        let Some(chunk) = export.body.next_chunk().map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?
        else {
            break;
        };
        let mut rest = &chunk.bytes[..];
        if let Some(mut record) = open.take() {
            match record.feed(rest, chunk.at_eof, 0, &mut |rec| take(&mut rows, rec)) {
                Some(used) => rest = &rest[used..],
                None => {
                    open = Some(record);
                    continue;
                }
            }
        }
        let mut splitter = Splitter::new(export.delimiter, MAX_RECORD_BYTES);
        let end = splitter.parse_piece(rest, chunk.at_eof, |rec| take(&mut rows, rec));
        if end.unfinished_at.is_some() {
            open = Some(splitter.into_open());
        }
    }
    Ok(Sample {
        decoding,
        has_bom: export.has_bom,
        delimiter: export.delimiter,
        header,
        rows,
    })
}

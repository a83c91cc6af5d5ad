//! The head of an export for `outcomes inspect`: opened through `source` (the same byte-order
//! mark, encoding, delimiter and header as the pipeline, or the same sheet and header row of a
//! workbook) and split by `records`, then decoded cell by cell. It validates and pseudonymizes
//! nothing; what may be printed is `inspect`'s call.

use std::path::Path;

use super::IngestError;
use super::kind::WorkbookFormat;
use super::records::{MAX_RECORD_BYTES, OpenRecord, Record, Splitter};
use super::sheet::read_header;
use super::source::{self, ChunkPool, Declared, Decoding, Opened, Reading};
use super::workbook::{Workbook, cell_text};

/// The head of an export, decoded: what `outcomes inspect` looks at.
#[derive(Debug, Clone)]
pub struct Sample {
    pub decoding: Decoding,
    /// The encoding the file is written in (`utf-16le` for UTF-16 decoded), or the workbook's
    /// format (`xlsx`).
    pub encoding: &'static str,
    /// A workbook: its format, the sheet read (the first visible worksheet) and every sheet.
    pub workbook: Option<SampledWorkbook>,
    pub has_bom: bool,
    pub delimiter: u8,
    pub header: Vec<String>,
    /// Up to `max_rows` data rows, decoded (undecodable cells are empty).
    pub rows: Vec<Vec<String>>,
}

/// What `inspect` says of a workbook.
#[derive(Debug, Clone)]
pub struct SampledWorkbook {
    pub format: WorkbookFormat,
    pub sheet: String,
    pub sheets: Vec<String>,
    /// The header's row in the sheet.
    pub header_row: u32,
}

/// Read the header and the first `max_rows` rows of a file, guessing encoding and delimiter as
/// ingest does for a source that declares neither, or reading the first sheet of a workbook.
/// Blank lines and empty rows are not rows.
pub fn sample_file(path: &Path, max_rows: usize) -> Result<Sample, IngestError> {
    let pool = ChunkPool::default();
    let mut export = match source::open_file(path, &pool, Reading::default(), Declared::NOTHING)? {
        Opened::Text(export) => export,
        Opened::Workbook(book) => return sample_workbook(book, path, max_rows),
    };
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
        encoding: export.encoding_name,
        workbook: None,
        has_bom: export.has_bom,
        delimiter: export.delimiter,
        header,
        rows,
    })
}

/// The head of a workbook's first sheet: its header row and the rows after it, every cell as
/// its text (numbers as their digits, date cells as ISO dates).
fn sample_workbook(
    mut book: Workbook,
    path: &Path,
    max_rows: usize,
) -> Result<Sample, IngestError> {
    let header =
        read_header(&mut book, path, MAX_RECORD_BYTES)?.ok_or_else(|| IngestError::EmptySheet {
            path: path.to_path_buf(),
            sheet: book.sheet.clone(),
        })?;
    let width = header.names.len();
    let mut rows = Vec::new();
    book.rows(path, |number, cells| {
        if number <= header.row {
            return Ok(true);
        }
        let mut row = vec![String::new(); width];
        let mut blank = true;
        for (col, cell) in cells.iter().filter(|(c, _)| (*c as usize) < width) {
            blank &= cell.is_blank();
            let text = &mut row[*col as usize];
            cell_text(cell, false, text);
            *text = text.trim().to_string();
        }
        if !blank {
            rows.push(row);
        }
        Ok(rows.len() < max_rows)
    })?;
    Ok(Sample {
        decoding: Decoding::Utf8,
        encoding: book.format.extension(),
        workbook: Some(SampledWorkbook {
            format: book.format,
            sheet: book.sheet.clone(),
            sheets: book.sheets.clone(),
            header_row: header.row,
        }),
        has_bom: false,
        delimiter: b',',
        header: header.names.iter().map(|n| n.trim().to_string()).collect(),
        rows,
    })
}

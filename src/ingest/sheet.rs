//! A workbook's sheet through the pipeline: its first non-empty row is the header, mapped as a
//! CSV header is; each later row becomes a `Record` (text cells, date cells) and goes through the
//! same validation, pseudonymization and in-order merge as a CSV record (`stream`). A row's line
//! is its row number in the sheet; an empty row is skipped like a blank line.

use std::path::Path;

use rayon::prelude::*;

use super::header::{self, ColumnIndex};
use super::records::{DateCell, PieceEnd, Record};
use super::reject::RejectSink;
use super::source::{ChunkPool, Decoding};
use super::stream::{FileContext, Merge, OfficeTable, PieceBuilder, PieceContext, SourceTally};
use super::validate::RowContext;
use super::workbook::{Cell, Workbook, cell_text};
use super::{CaseSink, IngestError, InputFile};
use crate::config::{Field, IdScheme, Source};
use crate::pseudonym::to_hex;

/// Rows gathered before they are validated, in parallel, a piece of `PIECE_ROWS` at a time.
const BATCH_ROWS: usize = 32_768;
const PIECE_ROWS: usize = 2_048;

/// The header of a sheet: its row number and its names (a cell's text; empty cells left of the
/// last name are columns without a name).
pub(super) struct SheetHeader {
    pub(super) row: u32,
    pub(super) names: Vec<String>,
}

/// The first non-empty row of the sheet, within the record bound; `None`: the sheet is empty.
pub(super) fn read_header(
    book: &mut Workbook,
    path: &Path,
    max_record: usize,
) -> Result<Option<SheetHeader>, IngestError> {
    let mut found = None;
    let sheet = book.sheet.clone();
    book.rows(path, |row, cells| {
        let Some(width) = cells.iter().rposition(|(_, c)| !c.is_blank()) else {
            return Ok(true);
        };
        let width = cells[width].0 as usize + 1;
        let mut names = vec![String::new(); width];
        let mut total = 0;
        for (col, cell) in cells.iter().filter(|(c, _)| (*c as usize) < width) {
            let name = &mut names[*col as usize];
            cell_text(cell, false, name);
            total += name.len();
            if total > max_record {
                return Err(IngestError::SheetHeaderTooLong {
                    path: path.to_path_buf(),
                    sheet: sheet.clone(),
                    row,
                    bound: super::records::bound_text(max_record),
                });
            }
        }
        found = Some(SheetHeader { row, names });
        Ok(false)
    })?;
    Ok(found)
}

/// How each column of the sheet is read: which are mapped, and which holds ЕГН given as
/// numbers (`child_id` of an `egn` source).
pub(super) struct Plan {
    /// Per column: `None` when no field is mapped to it, else whether numbers are ЕГН.
    columns: Vec<Option<bool>>,
}

impl Plan {
    pub(super) fn new(width: usize, index: &ColumnIndex, source: &Source) -> Plan {
        let mut columns = vec![None; width];
        for field in Field::ALL {
            if let Some(i) = index.get(field) {
                columns[i] =
                    Some(field == Field::ChildId && source.child_id_scheme == IdScheme::Egn);
            }
        }
        Plan { columns }
    }

    /// The row as a record's parts; `None` when it is empty (a blank line).
    pub(super) fn row(
        &self,
        number: u32,
        cells: &[(u32, Cell<'_>)],
        max_record: usize,
    ) -> Option<SheetRow> {
        let width = self.columns.len();
        let within = || cells.iter().filter(move |(c, _)| (*c as usize) < width);
        if within().all(|(_, cell)| cell.is_blank()) {
            return None;
        }
        let mut row = SheetRow {
            number,
            data: String::new(),
            ends: Vec::with_capacity(width),
            dates: Vec::new(),
            too_long: false,
        };
        let mut cells = within().peekable();
        for (col, mapped) in self.columns.iter().enumerate() {
            while cells.peek().is_some_and(|(c, _)| (*c as usize) < col) {
                cells.next();
            }
            if let (Some(egn), Some((_, cell))) =
                (mapped, cells.peek().filter(|(c, _)| *c as usize == col))
            {
                let date = cell_text(cell, *egn, &mut row.data);
                if date != DateCell::None {
                    row.dates.resize(width, DateCell::None);
                    row.dates[col] = date;
                }
            }
            row.ends.push(row.data.len());
        }
        if row.data.len() > max_record {
            row.data = String::new();
            row.ends.clear();
            row.dates.clear();
            row.too_long = true;
        }
        Some(row)
    }
}

/// A non-empty row of the sheet, its mapped cells as text (the others empty).
pub(super) struct SheetRow {
    pub(super) number: u32,
    pub(super) data: String,
    pub(super) ends: Vec<usize>,
    /// Empty when the row has no date cell in a mapped column.
    pub(super) dates: Vec<DateCell>,
    pub(super) too_long: bool,
}

impl SheetRow {
    /// The row as a record of a piece that begins after row `after`.
    pub(super) fn record(&self, after: u32) -> Record<'_> {
        Record::from_row(
            self.data.as_bytes(),
            &self.ends,
            u64::from(self.number - after - 1),
            self.too_long,
            &self.dates,
        )
    }
}

/// Ingest the chosen sheet of `book`: map its header, then validate its rows in parallel, a
/// batch at a time, and merge them in order; the file's accounting.
#[allow(clippy::too_many_arguments)]
pub(super) fn ingest_workbook(
    ctx: FileContext<'_>,
    mut book: Workbook,
    cases: &mut dyn CaseSink,
    offices: &mut OfficeTable,
    tally: &mut SourceTally,
    sink: &mut dyn RejectSink,
    progress: &(dyn Fn(&InputFile, u64) + Sync),
) -> Result<InputFile, IngestError> {
    let sheet = book.sheet.clone();
    let max_record = ctx.cuts.max_record;
    let header =
        read_header(&mut book, ctx.path, max_record)?.ok_or_else(|| IngestError::EmptySheet {
            path: ctx.path.to_path_buf(),
            sheet: sheet.clone(),
        })?;
    let raw: Vec<Vec<u8>> = header.names.iter().map(|n| n.as_bytes().to_vec()).collect();
    let columns = header::map_columns(ctx.path, ctx.source, &raw, Decoding::Utf8, false).map_err(
        |e| match e {
            IngestError::MissingColumn {
                path,
                field,
                column,
                header_columns,
            } => IngestError::MissingSheetColumn {
                path,
                sheet: sheet.clone(),
                row: header.row,
                field,
                column,
                header_columns,
            },
            other => other,
        },
    )?;
    let width = raw.len();
    let plan = Plan::new(width, &columns, ctx.source);
    let rows = RowContext::new(
        ctx.source,
        &columns,
        Decoding::Utf8,
        ctx.pseudonymizer,
        ctx.as_of,
        ctx.file_idx,
    );
    let pool = ChunkPool::default();
    let piece_ctx = PieceContext {
        rows: &rows,
        header_len: width,
        delimiter: b',',
        piece_bytes: ctx.cuts.piece_bytes,
        max_record,
        pool: &pool,
    };
    let mut file = ctx.input_file(book.format.extension(), b',');
    file.sheet = Some(book.sheet.clone());
    let mut merge = Merge::new(
        file,
        width,
        max_record,
        ctx.source,
        cases,
        offices,
        tally,
        sink,
        u64::from(header.row),
    );
    let mut batch: Vec<SheetRow> = Vec::with_capacity(BATCH_ROWS);
    let mut result = Ok(());
    book.rows(ctx.path, |number, cells| {
        if number <= header.row {
            return Ok(true);
        }
        batch.extend(plan.row(number, cells, max_record));
        if batch.len() >= BATCH_ROWS {
            result = merge_batch(&mut merge, &piece_ctx, &mut batch);
            progress(merge.file(), 0);
        }
        Ok(result.is_ok())
    })?;
    result?;
    merge_batch(&mut merge, &piece_ctx, &mut batch)?;
    let mut file = merge.into_file();
    progress(&file, book.bytes);
    file.sha256 = to_hex(&book.sha256);
    Ok(file)
}

/// Validate `batch` in parallel, a piece at a time, and merge it in order.
fn merge_batch(
    merge: &mut Merge<'_>,
    ctx: &PieceContext<'_>,
    batch: &mut Vec<SheetRow>,
) -> Result<(), IngestError> {
    let first_after = merge.lines_done as u32;
    let pieces: Vec<&[SheetRow]> = batch.chunks(PIECE_ROWS).collect();
    let afters: Vec<u32> = std::iter::once(first_after)
        .chain(pieces.iter().map(|p| p[p.len() - 1].number))
        .collect();
    let results: Vec<_> = pieces
        .par_iter()
        .zip(&afters)
        .map(|(rows, after)| {
            let mut builder = PieceBuilder::default();
            for row in *rows {
                builder.add(ctx, &row.record(*after));
            }
            let last = rows.last().map_or(*after, |r| r.number);
            builder.finish(PieceEnd {
                unfinished_at: None,
                newlines: u64::from(last - after),
            })
        })
        .collect();
    for result in results {
        merge.piece(result)?;
    }
    batch.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan of four columns: text, ЕГН as numbers, unmapped, text.
    fn plan() -> Plan {
        Plan {
            columns: vec![Some(false), Some(true), None, Some(false)],
        }
    }

    fn fields(row: &SheetRow) -> Vec<&str> {
        let mut start = 0;
        row.ends
            .iter()
            .map(|end| {
                let field = &row.data[start..*end];
                start = *end;
                field
            })
            .collect()
    }

    #[test]
    fn a_row_holds_the_mapped_cells_of_the_header_s_width() {
        let cells = [
            (0, Cell::Text("a")),
            (1, Cell::Float(541150002.0)),
            (2, Cell::Text("a name, never read")),
            (3, Cell::Int(7)),
            (9, Cell::Text("right of the header")),
        ];
        let row = plan().row(12, &cells, 1 << 20).unwrap();
        assert_eq!(row.number, 12);
        assert_eq!(fields(&row), ["a", "0541150002", "", "7"]);
        assert!(row.dates.is_empty() && !row.too_long);
        let record = row.record(10);
        assert_eq!(record.newlines_before, 1);
        assert_eq!(record.len(), 4);
    }

    #[test]
    fn an_empty_row_is_a_blank_line_and_a_long_one_too_long() {
        let blank = [
            (0, Cell::Text("  ")),
            (7, Cell::Text("right of the header")),
        ];
        assert!(plan().row(3, &blank, 1 << 20).is_none());
        // Only an unmapped cell: a row (rejected later, like a CSV line of empty fields).
        let unmapped = [(2, Cell::Text("note"))];
        assert_eq!(
            fields(&plan().row(3, &unmapped, 1 << 20).unwrap()),
            ["", "", "", ""]
        );
        let text = "x".repeat(100);
        let long = [(0, Cell::Text(&text))];
        let row = plan().row(4, &long, 64).unwrap();
        assert!(row.too_long && row.ends.is_empty());
    }
}

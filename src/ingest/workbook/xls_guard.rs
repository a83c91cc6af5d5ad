//! What an `.xls` gives calamine: a clean copy of its workbook stream, and only once the memory
//! calamine would take for its sheets is known to be within `WHOLE_READ_BUDGET`.
//!
//! calamine reads an `.xls` whole when it opens it, every sheet as a dense grid from its first
//! cell to its last, and trusts the file's own structure: a crafted file of a few KB (two cells
//! far apart, a `DIMENSIONS` record claiming 4 billion rows, a sector chain that loops) made it
//! ask for tens of GB, which aborts the process. So the compound file is read by the `cfb` crate
//! (which checks its chains), its `Workbook` stream copied into a fresh compound file that
//! calamine then reads, and the stream's records walked first as calamine walks them.

use std::io::{Cursor, Read, Write};

use super::WHOLE_READ_BUDGET;

/// Why an `.xls` is not handed to calamine.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::ingest) enum XlsRefusal {
    /// Not a compound file the `cfb` crate reads, or one without a workbook stream.
    Damaged,
    /// Its sheets would take about this many bytes in calamine.
    TooLarge(u64),
}

/// Bytes calamine holds a cell in, in a sheet's grid: a `Data` value and a formula `String`.
const GRID_CELL_BYTES: u64 = 32 + 24;
/// Bytes calamine reserves a cell in while it collects a sheet's cells: a position and a `Data`.
const LISTED_CELL_BYTES: u64 = 8 + 32;

/// The `.xls` in `bytes`, rebuilt as a compound file holding only its workbook stream, if
/// calamine can read its sheets within `WHOLE_READ_BUDGET`.
pub(in crate::ingest) fn clean_copy(bytes: &[u8]) -> Result<Vec<u8>, XlsRefusal> {
    let stream = workbook_stream(bytes).ok_or(XlsRefusal::Damaged)?;
    let (name, stream) = stream;
    let need = memory_needed(&stream);
    if need > WHOLE_READ_BUDGET {
        return Err(XlsRefusal::TooLarge(need));
    }
    rebuild(name, &stream).ok_or(XlsRefusal::Damaged)
}

/// The workbook stream (`Workbook`, or `Book` before Excel 97) and its name, read by `cfb`.
fn workbook_stream(bytes: &[u8]) -> Option<(&'static str, Vec<u8>)> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
    let streams: Vec<_> = file
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| (e.name().to_string(), e.path().to_path_buf()))
        .collect();
    // calamine looks for `Workbook`, then `Book`, matching case-insensitively.
    for wanted in ["Workbook", "Book"] {
        if let Some((_, path)) = streams.iter().find(|(n, _)| n.eq_ignore_ascii_case(wanted)) {
            let stream = file.open_stream(path).ok()?;
            let mut data = Vec::new();
            // The stream is inside the file, so it is no longer than the file; the bound only
            // guards against a length field that says otherwise.
            stream
                .take(bytes.len() as u64)
                .read_to_end(&mut data)
                .ok()?;
            return Some((wanted, data));
        }
    }
    None
}

/// A fresh compound file (version 3, as Excel writes) holding `stream` as `/name`.
fn rebuild(name: &str, stream: &[u8]) -> Option<Vec<u8>> {
    let mut file =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).ok()?;
    {
        let mut out = file.create_stream(format!("/{name}")).ok()?;
        out.write_all(stream).ok()?;
    }
    file.flush().ok()?;
    Some(file.into_inner().into_inner())
}

/// One BIFF record as calamine's record reader gives it: its type, its data and the data of
/// the `CONTINUE` records after it.
struct Records<'a> {
    stream: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = (u16, &'a [u8], Vec<&'a [u8]>);

    fn next(&mut self) -> Option<(u16, &'a [u8], Vec<&'a [u8]>)> {
        let typ = u16_at(self.stream, 0)?;
        let len = usize::from(u16_at(self.stream, 2)?);
        let data = self.stream.get(4..4 + len)?;
        self.stream = &self.stream[4 + len..];
        let mut continued = Vec::new();
        while u16_at(self.stream, 0) == Some(0x003C) && self.stream.len() > 4 {
            let len = usize::from(u16_at(self.stream, 2)?);
            continued.push(self.stream.get(4..4 + len)?);
            self.stream = &self.stream[4 + len..];
        }
        Some((typ, data, continued))
    }
}

/// Bytes a shared string's character may take once calamine decodes it: a UTF-16 unit read
/// through a one-byte code page gives two characters of up to 3 bytes each.
const BYTES_PER_CHARACTER: u64 = 6;

/// The most bytes each string of the shared string table (`SST`, with its `CONTINUE`
/// records) takes in calamine, in table order, read as calamine's `parse_sst` reads it (a
/// string's characters may go on in the next record, after a byte saying their width).
fn shared_string_bytes(data: &[u8], continued: Vec<&[u8]>) -> Vec<u64> {
    let mut fragments = continued.into_iter();
    let mut data = data.get(8..).unwrap_or(&[]);
    let mut out = Vec::new();
    loop {
        if data.is_empty() {
            match fragments.next() {
                Some(next) => data = next,
                None => return out,
            }
            continue;
        }
        let (Some(cch), Some(&flags)) = (u16_at(data, 0), data.get(2)) else {
            return out;
        };
        data = &data[3..];
        let mut header = 0usize;
        let runs = if flags & 0x8 != 0 {
            header += 2;
            usize::from(u16_at(data, 0).unwrap_or(0))
        } else {
            0
        };
        let ext = if flags & 0x4 != 0 {
            let at = header;
            header += 4;
            u32_at(data, at).unwrap_or(0) as usize
        } else {
            0
        };
        let Some(rest) = data.get(header..) else {
            return out;
        };
        data = rest;
        let mut wide = flags & 0x1 != 0;
        let mut left = usize::from(cch);
        loop {
            let taken = if wide {
                (data.len() / 2).min(left)
            } else {
                data.len().min(left)
            };
            data = &data[if wide { 2 * taken } else { taken }..];
            left -= taken;
            if left == 0 {
                break;
            }
            match fragments.next() {
                Some(next) if !next.is_empty() => {
                    wide = next[0] & 0x1 != 0;
                    data = &next[1..];
                }
                _ => return out,
            }
        }
        out.push(u64::from(cch) * BYTES_PER_CHARACTER);
        // The formatting runs and phonetic data after the characters, skipped.
        let mut skip = runs * 4 + ext;
        while skip > 0 {
            if data.is_empty() {
                match fragments.next() {
                    Some(next) => data = next,
                    None => return out,
                }
            }
            let step = skip.min(data.len());
            data = &data[step..];
            skip -= step;
        }
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The most memory calamine (0.38, `Xls::new`) takes for the sheets of the workbook stream
/// `stream`: for each sheet the globals list (`BOUNDSHEET` records before the first `EOF`), the
/// larger of the cells a `DIMENSIONS` record makes it reserve and the grid from the sheet's
/// first cell to its last. A record calamine would reject counts as it reads, which only errs
/// towards refusing.
pub(in crate::ingest) fn memory_needed(stream: &[u8]) -> u64 {
    let mut sheets = Vec::new();
    let mut strings = Vec::new();
    for (typ, data, continued) in (Records { stream }) {
        match typ {
            0x0085 => sheets.extend(u32_at(data, 0)),
            0x00FC => strings = shared_string_bytes(data, continued),
            0x000A => break,
            _ => {}
        }
    }
    let table = strings.iter().fold(0u64, |a, b| a.saturating_add(*b));
    sheets
        .into_iter()
        .filter_map(|pos| stream.get(pos as usize..))
        .map(|sheet| sheet_memory(sheet, &strings))
        .fold(table, u64::saturating_add)
}

/// The cells' bounding box so far: first and last row and column.
#[derive(Default)]
struct Bounds(Option<(u32, u32, u32, u32)>);

impl Bounds {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn cells(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

/// The memory one sheet's substream (starting at its `BOF`) takes in calamine: its grid, and
/// a copy of its shared string for every `LABELSST` cell (`strings`: their sizes).
fn sheet_memory(sheet: &[u8], strings: &[u64]) -> u64 {
    let mut bounds = Bounds::default();
    let mut reserved = 0u64;
    let mut copies = 0u64;
    let mut seen_bof = false;
    let mut depth = 0usize;
    for (typ, data, _) in (Records { stream: sheet }) {
        // Nested substreams (charts) are skipped, as calamine skips them.
        if depth > 0 {
            match typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let cell_at = |bounds: &mut Bounds| {
            if let (Some(row), Some(col)) = (u16_at(data, 0), u16_at(data, 2)) {
                bounds.add(u32::from(row), u32::from(col));
            }
        };
        match typ {
            // LABELSST: a copy of shared string `isst`.
            0x00FD => {
                cell_at(&mut bounds);
                let string = u32_at(data, 6).and_then(|i| strings.get(i as usize));
                copies = copies.saturating_add(string.copied().unwrap_or(0));
            }
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            0x0200 => reserved = reserved.max(dimensions_cells(data)),
            // NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, FORMULA.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x0006 => cell_at(&mut bounds),
            // MULRK: a row, its first column, six bytes a cell, its last column.
            0x00BD if data.len() >= 12 => {
                if let (Some(row), Some(first)) = (u16_at(data, 0), u16_at(data, 2)) {
                    let cells = ((data.len() - 6) / 6) as u32;
                    bounds.add(u32::from(row), u32::from(first));
                    bounds.add(u32::from(row), u32::from(first) + cells - 1);
                }
            }
            0x000A => break,
            _ => {}
        }
    }
    let listed = reserved.saturating_mul(LISTED_CELL_BYTES);
    listed
        .saturating_add(bounds.cells().saturating_mul(GRID_CELL_BYTES))
        .saturating_add(copies)
}

/// The cells a `DIMENSIONS` record makes calamine reserve room for, computed as calamine does
/// (rows and columns as `u32`, wrapping as its release build does).
fn dimensions_cells(data: &[u8]) -> u64 {
    let read = || -> Option<(u32, u32, u32, u32)> {
        Some(match data.len() {
            10 => (
                u32::from(u16_at(data, 0)?),
                u32::from(u16_at(data, 2)?),
                u32::from(u16_at(data, 4)?),
                u32::from(u16_at(data, 6)?),
            ),
            14 | 16 => (
                u32_at(data, 0)?,
                u32_at(data, 4)?,
                u32::from(u16_at(data, 8)?),
                u32::from(u16_at(data, 10)?),
            ),
            _ => return None,
        })
    };
    let Some((first_row, last_row, mut first_col, last_col)) = read() else {
        return 0;
    };
    if first_col > 0xFF || last_col < first_col {
        first_col = 0;
    }
    let (end_row, end_col) = if last_row >= 1 && last_col >= 1 {
        (last_row - 1, last_col - 1)
    } else {
        (first_row, first_col)
    };
    let rows = end_row.wrapping_sub(first_row).wrapping_add(1);
    let cols = end_col.wrapping_sub(first_col).wrapping_add(1);
    u64::from(rows).saturating_mul(u64::from(cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut out = typ.to_le_bytes().to_vec();
        out.extend((data.len() as u16).to_le_bytes());
        out.extend(data);
        out
    }

    fn cell(typ: u16, row: u16, col: u16) -> Vec<u8> {
        let mut data = row.to_le_bytes().to_vec();
        data.extend(col.to_le_bytes());
        data.extend([0u8; 10]);
        record(typ, &data)
    }

    /// A workbook stream: globals naming one sheet, then the sheet's records.
    fn stream(sheet: &[Vec<u8>]) -> Vec<u8> {
        let bof = record(0x0809, &[0u8; 16]);
        let eof = record(0x000A, &[]);
        let globals_len = bof.len() + 4 + 8 + eof.len();
        let mut boundsheet = (globals_len as u32).to_le_bytes().to_vec();
        boundsheet.extend([0, 0, 1, 0]);
        let mut out = [bof.clone(), record(0x0085, &boundsheet), eof.clone()].concat();
        out.extend(bof);
        out.extend(sheet.concat());
        out.extend(eof);
        out
    }

    #[test]
    fn a_sheet_takes_its_grid_from_first_cell_to_last() {
        let small = stream(&[cell(0x0203, 0, 0), cell(0x0203, 9, 4)]);
        assert_eq!(memory_needed(&small), 10 * 5 * GRID_CELL_BYTES);
        // Two cells far apart, as the fuzzer's 18 KB file had: Excel's whole grid.
        let far = stream(&[cell(0x0203, 0, 0), cell(0x00FD, 65_535, 16_383)]);
        assert_eq!(memory_needed(&far), 65_536 * 16_384 * GRID_CELL_BYTES);
        assert!(memory_needed(&far) > WHOLE_READ_BUDGET);
    }

    #[test]
    fn mulrk_spans_its_columns_and_nested_charts_are_skipped() {
        let mut mulrk = 3u16.to_le_bytes().to_vec();
        mulrk.extend(2u16.to_le_bytes());
        mulrk.extend([0u8; 18]); // three cells
        mulrk.extend(4u16.to_le_bytes());
        let chart = [
            record(0x0809, &[0u8; 16]),
            cell(0x0203, 60_000, 200),
            record(0x000A, &[]),
        ];
        let sheet = [vec![record(0x00BD, &mulrk)], chart.to_vec()].concat();
        assert_eq!(memory_needed(&stream(&sheet)), 3 * GRID_CELL_BYTES);
    }

    #[test]
    fn a_dimensions_record_counts_what_calamine_reserves_for_it() {
        let mut dims = 0u32.to_le_bytes().to_vec();
        dims.extend(4_000_000_000u32.to_le_bytes());
        dims.extend([0, 0, 200, 0, 0, 0]);
        let need = memory_needed(&stream(&[record(0x0200, &dims)]));
        assert_eq!(need, 4_000_000_000 * 200 * LISTED_CELL_BYTES);
        // Last row before the first wraps in calamine: about 4 billion rows.
        let mut wrapped = 10u32.to_le_bytes().to_vec();
        wrapped.extend(5u32.to_le_bytes());
        wrapped.extend([0, 0, 1, 0, 0, 0]);
        assert!(memory_needed(&stream(&[record(0x0200, &wrapped)])) > WHOLE_READ_BUDGET);
        // An honest one: 100 rows of 13 columns.
        let mut honest = 0u32.to_le_bytes().to_vec();
        honest.extend(100u32.to_le_bytes());
        honest.extend([0, 0, 13, 0, 0, 0]);
        assert_eq!(
            memory_needed(&stream(&[record(0x0200, &honest)])),
            100 * 13 * LISTED_CELL_BYTES
        );
    }

    /// A workbook stream whose globals hold `sst` (an SST record's data and its CONTINUEs).
    fn stream_with_sst(sst: &[Vec<u8>], sheet: &[Vec<u8>]) -> Vec<u8> {
        let bof = record(0x0809, &[0u8; 16]);
        let eof = record(0x000A, &[]);
        let mut sst_records = record(0x00FC, &sst[0]);
        for more in &sst[1..] {
            sst_records.extend(record(0x003C, more));
        }
        let globals_len = bof.len() + 4 + 8 + sst_records.len() + eof.len();
        let mut boundsheet = (globals_len as u32).to_le_bytes().to_vec();
        boundsheet.extend([0, 0, 1, 0]);
        let mut out = [
            bof.clone(),
            record(0x0085, &boundsheet),
            sst_records,
            eof.clone(),
        ]
        .concat();
        out.extend(bof);
        out.extend(sheet.concat());
        out.extend(eof);
        out
    }

    fn label_sst(row: u16, col: u16, isst: u32) -> Vec<u8> {
        let mut data = row.to_le_bytes().to_vec();
        data.extend(col.to_le_bytes());
        data.extend([0, 0]);
        data.extend(isst.to_le_bytes());
        record(0x00FD, &data)
    }

    #[test]
    fn every_labelsst_cell_copies_its_shared_string() {
        // Two strings: "ab" (one byte a character), then 3,000 wide characters split over a
        // CONTINUE record that starts with its width byte.
        let mut first = vec![0u8; 8];
        first.extend([2, 0, 0, b'a', b'b']);
        first.extend(3000u16.to_le_bytes());
        first.push(1);
        first.extend(vec![0x41u8; 2 * 1000]);
        let mut second = vec![1u8];
        second.extend(vec![0x41u8; 2 * 2000]);
        let strings = shared_string_bytes(&first, vec![&second]);
        assert_eq!(
            strings,
            [2 * BYTES_PER_CHARACTER, 3000 * BYTES_PER_CHARACTER]
        );
        // 10,000 cells at one place, each a copy of the long string: the guard's sum.
        let cells: Vec<Vec<u8>> = (0..10_000).map(|_| label_sst(0, 0, 1)).collect();
        let need = memory_needed(&stream_with_sst(&[first, second], &cells));
        let table = (2 + 3000) * BYTES_PER_CHARACTER;
        assert_eq!(
            need,
            table + GRID_CELL_BYTES + 10_000 * 3000 * BYTES_PER_CHARACTER
        );
    }

    #[test]
    fn copies_of_the_longest_shared_string_past_the_budget_are_refused() {
        let mut sst = vec![0u8; 8];
        sst.extend(u16::MAX.to_le_bytes());
        sst.push(1);
        sst.extend(vec![0x41u8; 8000]);
        let mut parts = vec![sst];
        let mut left = 2 * usize::from(u16::MAX) - 8000;
        while left > 0 {
            let n = left.min(8000);
            let mut more = vec![1u8];
            more.extend(vec![0x41u8; n]);
            parts.push(more);
            left -= n;
        }
        // About 140 KB of records asking for about 4 GB of copies.
        let cells: Vec<Vec<u8>> = (0..10_000).map(|_| label_sst(3, 3, 0)).collect();
        assert!(memory_needed(&stream_with_sst(&parts, &cells)) > WHOLE_READ_BUDGET);
    }

    #[test]
    fn what_is_not_a_compound_file_is_damaged() {
        assert_eq!(clean_copy(b"not a compound file"), Err(XlsRefusal::Damaged));
    }
}

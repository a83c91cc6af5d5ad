//! One row group's chunk of a dictionary-encoded column, encoded here rather than by the
//! `parquet` crate (SPEC §6). A label column can arrive as indices into a table of strings,
//! which become the chunk's dictionary indices with no string hashed or compared per row
//! (interning every row's label was the largest cost of writing `cases.parquet`); a column
//! without a value in the row group has no dictionary page (the crate writes an empty one,
//! which pandas with fastparquet cannot read). `parquet_file` sends its dictionary columns
//! here; this file owns their bytes.
//!
//! The chunk is what the crate writes for a dictionary column in a version 1 file: a PLAIN
//! dictionary page, then one data page of definition levels and `RLE_DICTIONARY` indices,
//! both in the RLE/bit-packed hybrid. Pages are uncompressed whatever the file's codec: the
//! indices are a few bits a row.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, UInt32Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

type FixedState = foldhash::fast::FixedState;

/// The values a chunk's indices point into.
enum Table {
    /// No rows yet.
    Unset,
    /// The caller's table of labels, the same for every slice: the caller hands indices.
    Labels(ArrayRef),
    /// The strings met so far (a string array handed in).
    Strings(Interned<Vec<u8>>),
    /// The 32-bit integers met so far (integers or dates handed in).
    Ints(Interned<i32>),
}

/// Values met in a chunk, each once, in the order met: a value's slot is its place here.
struct Interned<T> {
    slots: HashMap<T, u32, FixedState>,
    values: Vec<T>,
}

impl<T: Hash + Eq + Ord + Clone> Interned<T> {
    fn new() -> Interned<T> {
        Interned {
            slots: HashMap::default(),
            values: Vec::new(),
        }
    }

    /// The slot of `value`, given one the first time it is met.
    fn slot<Q>(&mut self, value: &Q) -> u32
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
    {
        if let Some(&slot) = self.slots.get(value) {
            return slot;
        }
        let slot = self.values.len() as u32;
        self.slots.insert(value.to_owned(), slot);
        self.values.push(value.to_owned());
        slot
    }

    /// The values in ascending order, and each slot's place in that order.
    fn sorted(&self) -> (Vec<&T>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order.sort_unstable_by_key(|&slot| &self.values[slot as usize]);
        let mut places = vec![0; order.len()];
        for (place, &slot) in order.iter().enumerate() {
            places[slot as usize] = place as u32;
        }
        let sorted = order
            .iter()
            .map(|&slot| &self.values[slot as usize])
            .collect();
        (sorted, places)
    }
}

/// The rows of one dictionary column in one row group, gathered slice by slice.
pub(super) struct DictionaryChunk {
    descr: ColumnDescPtr,
    statistics: bool,
    table: Table,
    /// Each row's slot in `table`, for the rows that have a value, in row order.
    keys: Vec<u32>,
    /// Definition levels, one per row (1 a value, 0 null): nullable columns only.
    levels: Vec<u8>,
    rows: usize,
    nulls: usize,
}

/// A chunk's dictionary: each table slot's place in it (`u32::MAX` for a slot no row uses),
/// its values PLAIN-encoded, how many, and the chunk's statistics if it has them.
struct Dictionary {
    places: Vec<u32>,
    plain: Vec<u8>,
    entries: u32,
    statistics: Option<Statistics>,
}

impl DictionaryChunk {
    /// An empty chunk of the column `descr`; `statistics` says whether its metadata carries
    /// the minimum, maximum and null count.
    pub(super) fn new(descr: ColumnDescPtr, statistics: bool) -> DictionaryChunk {
        DictionaryChunk {
            descr,
            statistics,
            table: Table::Unset,
            keys: Vec::new(),
            levels: Vec::new(),
            rows: 0,
            nulls: 0,
        }
    }

    fn nullable(&self) -> bool {
        self.descr.max_def_level() > 0
    }

    fn misuse(&self, what: &str) -> ParquetError {
        ParquetError::General(format!("dictionary column {}: {what}", self.descr.name()))
    }

    /// Add the next rows. A text column takes strings, or `u32` indices into a table of
    /// strings (a dictionary array) with the same table for every call; a 32-bit integer
    /// column (`INT32`, `DATE`) takes integers or dates.
    pub(super) fn push(&mut self, array: &ArrayRef) -> Result<(), ParquetError> {
        if array.logical_null_count() > 0 && !self.nullable() {
            return Err(self.misuse("a null in a required column"));
        }
        // A page counts its values in an i32, and the indices are u32.
        if self.rows + array.len() > i32::MAX as usize {
            return Err(self.misuse("more rows than one row group can hold"));
        }
        let start = self.keys.len();
        match (self.descr.physical_type(), array.data_type()) {
            (PhysicalType::BYTE_ARRAY, DataType::Dictionary(key, value))
                if **key == DataType::UInt32 && **value == DataType::Utf8 =>
            {
                let dictionary = array.as_dictionary::<UInt32Type>();
                // A missing label is a null index: a null in the table would be a row with a
                // key and no value.
                if dictionary.values().null_count() > 0 {
                    return Err(self.misuse("its table of labels must have no nulls"));
                }
                match &self.table {
                    Table::Unset => self.table = Table::Labels(Arc::clone(dictionary.values())),
                    Table::Labels(table) if Arc::ptr_eq(table, dictionary.values()) => {}
                    _ => return Err(self.misuse("every slice must index the same table")),
                }
                let keys = dictionary.keys();
                match keys.nulls() {
                    None => self.keys.extend_from_slice(keys.values()),
                    Some(nulls) => self.keys.extend(
                        keys.values()
                            .iter()
                            .zip(nulls.iter())
                            .filter_map(|(&key, present)| present.then_some(key)),
                    ),
                }
            }
            (PhysicalType::BYTE_ARRAY, DataType::Utf8) => {
                if matches!(self.table, Table::Unset) {
                    self.table = Table::Strings(Interned::new());
                }
                let Table::Strings(strings) = &mut self.table else {
                    return Err(self.misuse("every slice must be handed the same way"));
                };
                let values = array.as_string::<i32>().iter().flatten();
                self.keys
                    .extend(values.map(|value| strings.slot(value.as_bytes())));
            }
            (PhysicalType::INT32, DataType::Int32 | DataType::Date32) => {
                if matches!(self.table, Table::Unset) {
                    self.table = Table::Ints(Interned::new());
                }
                let Table::Ints(ints) = &mut self.table else {
                    return Err(self.misuse("every slice must be handed the same way"));
                };
                // Dates are days since the epoch in an i32: the same values either way.
                let values: Box<dyn Iterator<Item = Option<i32>>> = match array.data_type() {
                    DataType::Date32 => Box::new(array.as_primitive::<Date32Type>().iter()),
                    _ => Box::new(array.as_primitive::<Int32Type>().iter()),
                };
                self.keys
                    .extend(values.flatten().map(|value| ints.slot(&value)));
            }
            (_, other) => return Err(self.misuse(&format!("cannot take {other} values"))),
        }
        if self.nullable() {
            match array.logical_nulls() {
                None => self.levels.resize(self.levels.len() + array.len(), 1),
                Some(nulls) => self.levels.extend(nulls.iter().map(u8::from)),
            }
        }
        self.nulls += array.len() - (self.keys.len() - start);
        self.rows += array.len();
        Ok(())
    }

    /// The chunk's dictionary. Labels keep their table's order; strings and integers met in
    /// the chunk are sorted. So the same rows always give the same bytes.
    fn dictionary(&self) -> Dictionary {
        let nulls = Some(self.nulls as u64);
        let string_statistics = |min_max: Option<(&[u8], &[u8])>| {
            let bytes = |b: &[u8]| Some(ByteArray::from(b.to_vec()));
            let (min, max) = min_max.map_or((None, None), |(min, max)| (bytes(min), bytes(max)));
            self.statistics
                .then(|| Statistics::byte_array(min, max, None, nulls, false))
        };
        let mut plain = Vec::new();
        match &self.table {
            Table::Unset => Dictionary {
                places: Vec::new(),
                plain,
                entries: 0,
                statistics: match self.descr.physical_type() {
                    PhysicalType::INT32 => self
                        .statistics
                        .then(|| Statistics::int32(None, None, None, nulls, false)),
                    _ => string_statistics(None),
                },
            },
            Table::Labels(table) => {
                let table = table.as_string::<i32>();
                let mut places = vec![u32::MAX; table.len()];
                for &key in &self.keys {
                    // A dictionary array's keys are within its table (arrow checks when it is
                    // built); null rows' keys were dropped in `push`.
                    places[key as usize] = 0;
                }
                let mut entries = 0u32;
                let mut min_max: Option<(&[u8], &[u8])> = None;
                for (slot, place) in places.iter_mut().enumerate() {
                    if *place == u32::MAX {
                        continue;
                    }
                    *place = entries;
                    entries += 1;
                    let label = table.value(slot).as_bytes();
                    plain.extend_from_slice(&(label.len() as u32).to_le_bytes());
                    plain.extend_from_slice(label);
                    min_max = Some(min_max.map_or((label, label), |(min, max)| {
                        (min.min(label), max.max(label))
                    }));
                }
                Dictionary {
                    places,
                    plain,
                    entries,
                    statistics: string_statistics(min_max),
                }
            }
            Table::Strings(strings) => {
                let (sorted, places) = strings.sorted();
                for value in &sorted {
                    plain.extend_from_slice(&(value.len() as u32).to_le_bytes());
                    plain.extend_from_slice(value);
                }
                let min_max = sorted.first().zip(sorted.last());
                Dictionary {
                    places,
                    plain,
                    entries: sorted.len() as u32,
                    statistics: string_statistics(min_max.map(|(min, max)| (&min[..], &max[..]))),
                }
            }
            Table::Ints(ints) => {
                let (sorted, places) = ints.sorted();
                for value in &sorted {
                    plain.extend_from_slice(&value.to_le_bytes());
                }
                let (min, max) = (sorted.first().map(|v| **v), sorted.last().map(|v| **v));
                // Signed integers carry the deprecated minimum and maximum too, as the crate
                // writes them, for readers older than the `min_value` fields.
                let statistics = self.statistics.then(|| {
                    Statistics::from(
                        ValueStatistics::new(min, max, None, nulls, false)
                            .with_backwards_compatible_min_max(true),
                    )
                });
                Dictionary {
                    places,
                    plain,
                    entries: sorted.len() as u32,
                    statistics,
                }
            }
        }
    }

    /// Encode the chunk: its bytes, and what the row group writer needs to know of them
    /// (offsets relative to the start of the bytes; the writer moves them).
    pub(super) fn close(mut self) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
        let Dictionary {
            places,
            plain: dictionary,
            entries,
            statistics,
        } = self.dictionary();
        for key in &mut self.keys {
            *key = places[*key as usize];
        }

        // No page holds no bytes, which is what pandas with fastparquet cannot read (it takes
        // a page of no bytes for the rest of the chunk): a chunk without a single value (a
        // column an export does not have) has no dictionary page, where the crate writes an
        // empty one, and a PLAIN data page of definition levels alone; a chunk of no rows (an
        // empty table's one row group) has no pages at all, as the crate writes it.
        let dictionary_encoded = entries > 0;
        let value_encoding = if dictionary_encoded {
            Encoding::RLE_DICTIONARY
        } else {
            Encoding::PLAIN
        };
        let mut sink = TrackedWrite::new(Vec::new());
        let mut pages = SerializedPageWriter::new(&mut sink);
        let dictionary_page = if dictionary_encoded {
            let dictionary_len = dictionary.len();
            Some(pages.write_page(CompressedPage::new(
                Page::DictionaryPage {
                    buf: Bytes::from(dictionary),
                    num_values: entries,
                    encoding: Encoding::PLAIN,
                    is_sorted: false,
                },
                dictionary_len,
            ))?)
        } else {
            None
        };
        let data_page = if self.rows > 0 {
            let data = self.data_page(entries);
            let data_len = data.len();
            Some(pages.write_page(CompressedPage::new(
                Page::DataPage {
                    buf: Bytes::from(data),
                    num_values: self.rows as u32,
                    encoding: value_encoding,
                    def_level_encoding: Encoding::RLE,
                    rep_level_encoding: Encoding::RLE,
                    statistics: None,
                },
                data_len,
            ))?)
        } else {
            None
        };
        pages.close()?;
        let bytes = Bytes::from(sink.into_inner()?);

        // Levels are RLE in every chunk, as the crate lists them.
        let mut encodings = vec![Encoding::RLE];
        let mut page_encodings = Vec::new();
        for (page, page_type, encoding) in [
            (&dictionary_page, PageType::DICTIONARY_PAGE, Encoding::PLAIN),
            (&data_page, PageType::DATA_PAGE, value_encoding),
        ] {
            if page.is_some() {
                encodings.push(encoding);
                page_encodings.push(PageEncodingStats {
                    page_type,
                    encoding,
                    count: 1,
                });
            }
        }
        let written = || dictionary_page.iter().chain(&data_page);
        let compressed: usize = written().map(|page| page.compressed_size).sum();
        let uncompressed: usize = written().map(|page| page.uncompressed_size).sum();
        let mut metadata = ColumnChunkMetaData::builder(Arc::clone(&self.descr))
            .set_compression(Compression::UNCOMPRESSED)
            .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
            .set_page_encoding_stats(page_encodings)
            .set_total_compressed_size(compressed as i64)
            .set_total_uncompressed_size(uncompressed as i64)
            .set_num_values(self.rows as i64)
            .set_dictionary_page_offset(dictionary_page.as_ref().map(|page| page.offset as i64))
            .set_data_page_offset(data_page.as_ref().map_or(0, |page| page.offset as i64));
        if let Some(statistics) = statistics {
            metadata = metadata.set_statistics(statistics);
        }
        let page_locations = data_page
            .iter()
            .map(|page| PageLocation {
                offset: page.offset as i64,
                compressed_page_size: page.compressed_size as i32,
                first_row_index: 0,
            })
            .collect();
        let close = ColumnCloseResult {
            bytes_written: bytes.len() as u64,
            rows_written: self.rows as u64,
            metadata: metadata.build()?,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(OffsetIndexMetaData {
                page_locations,
                unencoded_byte_array_data_bytes: None,
            }),
        };
        Ok((bytes, close))
    }

    /// The data page's bytes, the keys already dictionary indices: definition levels
    /// (length-prefixed, bit width 1), then the indices' bit width and the indices. Width at
    /// least 1: some readers stumble on width 0.
    fn data_page(&self, entries: u32) -> Vec<u8> {
        let mut data = Vec::with_capacity(self.keys.len() / 2 + 64);
        if self.nullable() {
            data.extend_from_slice(&[0; 4]);
            encode_hybrid(&self.levels, 1, &mut data);
            let levels_len = (data.len() - 4) as u32;
            data[..4].copy_from_slice(&levels_len.to_le_bytes());
        }
        if entries > 0 {
            let bit_width = (u32::BITS - (entries - 1).leading_zeros()).max(1) as u8;
            data.push(bit_width);
            encode_hybrid(&self.keys, bit_width, &mut data);
        }
        data
    }
}

/// Values of `bit_width` bits in Parquet's RLE/bit-packed hybrid: a run of eight or more equal
/// values as one repeated value, the rest bit-packed eight at a time. (A label column is in
/// input order, where one office's rows come together: long runs.)
fn encode_hybrid<T: Copy + PartialEq + Into<u32>>(values: &[T], bit_width: u8, out: &mut Vec<u8>) {
    // Values not yet written, waiting to be bit-packed: `values[literal_start..i]`.
    let mut literal_start = 0;
    let mut i = 0;
    while i < values.len() {
        let run_end = values[i..]
            .iter()
            .position(|v| *v != values[i])
            .map_or(values.len(), |n| i + n);
        // A bit-packed run before a repeated run must hold a multiple of eight values: the
        // first few of the run may have to join it.
        let top_up = (8 - (i - literal_start) % 8) % 8;
        if run_end - i >= top_up + 8 {
            let repeated_start = i + top_up;
            bit_packed(&values[literal_start..repeated_start], bit_width, out);
            repeated(values[i].into(), run_end - repeated_start, bit_width, out);
            literal_start = run_end;
        }
        i = run_end;
    }
    // The last bit-packed run may end part-way through a group of eight: the page's value
    // count says where the values end.
    bit_packed(&values[literal_start..], bit_width, out);
}

/// Bit-packed runs of `values`, least significant bit first, padded with zeros to a whole
/// group of eight; at most 63 groups a run, so that every header is one byte (as parquet-mr
/// writes them).
fn bit_packed<T: Copy + Into<u32>>(values: &[T], bit_width: u8, out: &mut Vec<u8>) {
    for run in values.chunks(63 * 8) {
        let groups = run.len().div_ceil(8);
        varint(((groups as u64) << 1) | 1, out);
        let mut bits = 0u64;
        let mut held = 0u32;
        let padding = std::iter::repeat_n(0, groups * 8 - run.len());
        for value in run.iter().map(|&v| v.into()).chain(padding) {
            bits |= u64::from(value) << held;
            held += u32::from(bit_width);
            while held >= 8 {
                out.push(bits as u8);
                bits >>= 8;
                held -= 8;
            }
        }
        // Eight values of any width fill whole bytes: nothing is left over.
        debug_assert_eq!(held, 0);
    }
}

/// A repeated run: its length, then the value in the fewest whole bytes that hold the width.
fn repeated(value: u32, count: usize, bit_width: u8, out: &mut Vec<u8>) {
    varint((count as u64) << 1, out);
    let bytes = usize::from(bit_width).div_ceil(8);
    out.extend_from_slice(&value.to_le_bytes()[..bytes]);
}

/// An unsigned LEB128 number (Parquet's varint).
fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use arrow_array::{Date32Array, DictionaryArray, Int32Array, StringArray, UInt32Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Compression;
    use proptest::prelude::*;

    use super::super::parquet_file::{ColumnSpec, ColumnType, ParquetWriter, Storage};
    use super::*;

    /// How a test hands its column to the writer: label indices into a table, the labels
    /// themselves, or 32-bit integers or dates (`int(index)`).
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Handed {
        Indices,
        Strings,
        Ints,
        Dates,
    }

    impl Handed {
        const ALL: [Handed; 4] = [
            Handed::Indices,
            Handed::Strings,
            Handed::Ints,
            Handed::Dates,
        ];
    }

    /// The integer of index `k`: negative and positive, far apart.
    fn int(k: u32) -> i32 {
        (k as i32 - 150) * 9_973
    }

    /// Minimum, maximum (as bytes: UTF-8, or little-endian integers) and null count of a row
    /// group's column, as its metadata says.
    type Stats = Option<(Option<Vec<u8>>, Option<Vec<u8>>, Option<u64>)>;

    /// A column as read: every row's value as bytes; each row group's statistics, and whether
    /// it has a dictionary page.
    type Read = (Vec<Option<Vec<u8>>>, Vec<Stats>, Vec<bool>);

    fn spec(handed: Handed, statistics: bool, nullable: bool) -> ColumnSpec {
        let column_type = match handed {
            Handed::Indices | Handed::Strings => ColumnType::Text,
            Handed::Ints => ColumnType::Int32,
            Handed::Dates => ColumnType::Date,
        };
        ColumnSpec {
            name: "value",
            column_type,
            nullable,
            storage: Storage::Dictionary { statistics },
        }
    }

    /// Write `row_groups` (each a list of indices, or nulls) as one dictionary column, and read
    /// it back with the `parquet` crate's reader, which shares no code with the encoder above.
    fn round_trip(
        table: &[String],
        row_groups: &[Vec<Option<u32>>],
        handed: Handed,
        statistics: bool,
        nullable: bool,
    ) -> Read {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dictionary.parquet");
        let labels: ArrayRef = Arc::new(StringArray::from_iter_values(table));
        let spec = spec(handed, statistics, nullable);
        let mut writer =
            ParquetWriter::create(&path, &[spec], Compression::SNAPPY, vec![]).unwrap();
        for rows in row_groups {
            writer
                .write_row_group(rows.len(), |_, range| -> ArrayRef {
                    let rows = &rows[range];
                    match handed {
                        Handed::Indices => Arc::new(
                            DictionaryArray::<UInt32Type>::try_new(
                                UInt32Array::from(rows.to_vec()),
                                Arc::clone(&labels),
                            )
                            .unwrap(),
                        ),
                        Handed::Strings => Arc::new(StringArray::from_iter(
                            rows.iter().map(|k| k.map(|k| table[k as usize].as_str())),
                        )),
                        Handed::Ints => {
                            Arc::new(Int32Array::from_iter(rows.iter().map(|k| k.map(int))))
                        }
                        Handed::Dates => {
                            Arc::new(Date32Array::from_iter(rows.iter().map(|k| k.map(int))))
                        }
                    }
                })
                .unwrap();
        }
        writer.finish().unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let row_group_metadata = builder.metadata().row_groups();
        let stats = row_group_metadata
            .iter()
            .map(|rg| {
                rg.column(0).statistics().map(|s| {
                    (
                        s.min_bytes_opt().map(<[u8]>::to_vec),
                        s.max_bytes_opt().map(<[u8]>::to_vec),
                        s.null_count_opt(),
                    )
                })
            })
            .collect();
        let dictionaries = row_group_metadata
            .iter()
            .map(|rg| rg.column(0).dictionary_page_offset().is_some())
            .collect();
        // A row group of no rows has no pages (a page of no bytes stops fastparquet).
        for rg in row_group_metadata.iter().filter(|rg| rg.num_rows() == 0) {
            assert_eq!(rg.column(0).compressed_size(), 0);
        }
        let mut values = Vec::new();
        for batch in builder.build().unwrap() {
            let column = Arc::clone(batch.unwrap().column(0));
            let bytes = |i: i32| i.to_le_bytes().to_vec();
            match column.data_type() {
                DataType::Utf8 => values.extend(
                    column
                        .as_string::<i32>()
                        .iter()
                        .map(|v| v.map(|v| v.as_bytes().to_vec())),
                ),
                DataType::Int32 => values.extend(
                    column
                        .as_primitive::<Int32Type>()
                        .iter()
                        .map(|v| v.map(bytes)),
                ),
                DataType::Date32 => values.extend(
                    column
                        .as_primitive::<Date32Type>()
                        .iter()
                        .map(|v| v.map(bytes)),
                ),
                other => panic!("read back as {other}"),
            }
        }
        (values, stats, dictionaries)
    }

    /// What the file should say: the rows' values; each row group's statistics, and a
    /// dictionary page where it has a value.
    fn expected(
        table: &[String],
        row_groups: &[Vec<Option<u32>>],
        handed: Handed,
        statistics: bool,
    ) -> Read {
        let text = matches!(handed, Handed::Indices | Handed::Strings);
        let value = |k: u32| match text {
            true => table[k as usize].as_bytes().to_vec(),
            false => int(k).to_le_bytes().to_vec(),
        };
        // Strings compare as bytes, integers as numbers.
        let order = |k: &u32| match text {
            true => (table[*k as usize].as_bytes().to_vec(), 0),
            false => (Vec::new(), int(*k)),
        };
        let values = row_groups.iter().flatten().map(|k| k.map(value)).collect();
        let stats = row_groups
            .iter()
            .map(|rows| {
                statistics.then(|| {
                    let present = rows.iter().flatten();
                    (
                        present.clone().min_by_key(|k| order(k)).map(|&k| value(k)),
                        present.max_by_key(|k| order(k)).map(|&k| value(k)),
                        Some(rows.iter().filter(|k| k.is_none()).count() as u64),
                    )
                })
            })
            .collect();
        let dictionaries = row_groups
            .iter()
            .map(|rows| rows.iter().any(Option::is_some))
            .collect();
        (values, stats, dictionaries)
    }

    fn table(n: usize) -> Vec<String> {
        // Not in byte order, some not ASCII, one empty: the statistics must compare bytes.
        (0..n)
            .map(|i| match i % 4 {
                0 => format!("ОЗД {}", n - i),
                1 => format!("o{i:05}"),
                2 if i == 2 => String::new(),
                _ => format!("Z{}", i * 7 % 13),
            })
            .collect()
    }

    /// Rows as runs: `(index or null, how many times)`.
    fn rows(runs: &[(Option<u32>, usize)]) -> Vec<Option<u32>> {
        runs.iter()
            .flat_map(|&(k, n)| std::iter::repeat_n(k, n))
            .collect()
    }

    fn handed() -> impl Strategy<Value = Handed> {
        prop::sample::select(Handed::ALL.to_vec())
    }

    /// `row_groups` read back as written, with statistics, whichever way they are handed.
    fn assert_reads_back_every_way(
        table: &[String],
        row_groups: &[Vec<Option<u32>>],
        nullable: bool,
    ) {
        for handed in Handed::ALL {
            assert_eq!(
                round_trip(table, row_groups, handed, true, nullable),
                expected(table, row_groups, handed, true),
                "{handed:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Any values, nulls and runs (bit widths 1 to 9; runs shorter and longer than eight,
        /// across slices of 8,192 rows), handed any way, read back as written, with the
        /// minimum, maximum and null count of the values present.
        #[test]
        fn dictionary_columns_read_back_as_written(
            table_len in 1usize..300,
            groups in prop::collection::vec(
                prop::collection::vec((prop::option::weighted(0.8, 0u32..300), 1usize..40), 0..600),
                1..4,
            ),
            handed in handed(),
            statistics: bool,
        ) {
            let table = table(table_len);
            let row_groups: Vec<Vec<Option<u32>>> = groups
                .iter()
                .map(|runs| {
                    let runs: Vec<_> = runs
                        .iter()
                        .map(|&(k, n)| (k.map(|k| k % table_len as u32), n))
                        .collect();
                    rows(&runs)
                })
                .collect();
            prop_assert_eq!(
                round_trip(&table, &row_groups, handed, statistics, true),
                expected(&table, &row_groups, handed, statistics)
            );
        }
    }

    #[test]
    fn wide_indices_required_columns_and_all_null_row_groups_read_back() {
        // 70,000 values: 17-bit indices, repeated values three bytes wide.
        let wide = table(70_000);
        let groups = vec![
            rows(&[
                (Some(69_999), 20),
                (Some(3), 1),
                (Some(65_536), 9),
                (Some(0), 3),
            ]),
            rows(&[(Some(12_345), 100_000)]),
        ];
        assert_reads_back_every_way(&wide, &groups, false);

        // A row group without a single value: no statistics but nulls, and no dictionary page
        // (an empty one stops fastparquet); an empty row group, no pages at all.
        let small = table(5);
        let groups = vec![
            rows(&[(None, 10)]),
            rows(&[(Some(4), 3), (None, 2)]),
            rows(&[]),
        ];
        assert_reads_back_every_way(&small, &groups, true);
    }

    #[test]
    fn a_column_handed_two_ways_or_as_the_wrong_type_is_an_error_not_a_panic() {
        let descr = |nullable| {
            let schema = parquet::arrow::ArrowSchemaConverter::new()
                .convert(&arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                    "label",
                    arrow_schema::DataType::Utf8,
                    nullable,
                )]))
                .unwrap();
            schema.column(0)
        };
        let table: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let indices = |keys: Vec<Option<u32>>, table: &ArrayRef| -> ArrayRef {
            Arc::new(
                DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(keys), Arc::clone(table))
                    .unwrap(),
            )
        };

        let mut chunk = DictionaryChunk::new(descr(true), true);
        chunk.push(&indices(vec![Some(1)], &table)).unwrap();
        let plain: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert!(chunk.push(&plain).is_err(), "strings after indices");
        let other: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        assert!(
            chunk.push(&indices(vec![Some(0)], &other)).is_err(),
            "another table"
        );
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        assert!(chunk.push(&ints).is_err(), "integers in a text column");
        let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let mut fresh = DictionaryChunk::new(descr(true), true);
        assert!(
            fresh.push(&indices(vec![Some(0)], &with_null)).is_err(),
            "a null in the table of labels"
        );
        // What was accepted still makes a chunk.
        assert!(chunk.close().is_ok());

        let mut required = DictionaryChunk::new(descr(false), true);
        assert!(
            required
                .push(&indices(vec![Some(0), None], &table))
                .is_err()
        );
    }

    #[test]
    fn the_hybrid_encoding_of_known_values() {
        // Worked examples of the Parquet spec's RLE/bit-packed hybrid (Encodings.md): eight
        // equal values are one repeated run; values 0..8 at width 3 are one bit-packed group
        // with the bytes the spec gives (10001000 11000110 11111010).
        let mut out = Vec::new();
        encode_hybrid(&[5u32; 8], 3, &mut out);
        assert_eq!(out, [8 << 1, 5]);
        out.clear();
        encode_hybrid(&[0u32, 1, 2, 3, 4, 5, 6, 7], 3, &mut out);
        assert_eq!(out, [(1 << 1) | 1, 0b1000_1000, 0b1100_0110, 0b1111_1010]);
        // Two 0s, then ten 1s: six of the 1s complete the group of eight, and the four left
        // are too few for a repeated run, so all twelve are bit-packed, in two groups.
        out.clear();
        encode_hybrid(&[0u8, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1, &mut out);
        assert_eq!(out, [(2 << 1) | 1, 0b1111_1100, 0b0000_1111]);
        // Three literals, then thirteen 1s: five join the literals, eight are repeated.
        out.clear();
        encode_hybrid(
            &[0u8, 0, 0]
                .iter()
                .chain(&[1; 13])
                .copied()
                .collect::<Vec<_>>(),
            1,
            &mut out,
        );
        assert_eq!(out, [(1 << 1) | 1, 0b1111_1000, 8 << 1, 1]);
    }
}

//! `cases.parquet` (SPEC §6): the accepted, deduplicated cases, pseudonymized, in input order.
//! This module decides the table's columns and fills them from `Case` records; the file
//! format is `parquet`'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{
    ArrayRef, Date32Array, DictionaryArray, Int32Array, Int64Array, StringArray, UInt32Array,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer};
use parquet::basic::Compression;

use super::OutputEntry;
use super::parquet_file::{ColumnSpec, ColumnType, ParquetWriteError, ParquetWriter};
use crate::ingest::InputFile;
use crate::model::{Case, CaseType, Outcome, PlacementType, Pseudonym, Sex, Vocabulary};
use crate::pseudonym::hex_into;
use crate::reference;

/// Rows per Parquet row group of `cases.parquet`: hand `CasesWriter::write` batches this size.
pub const CASES_BATCH_ROWS: usize = 1 << 17;

/// The columns of `cases.parquet`, in order (SPEC §6). Region, municipality, office, source,
/// the placement region (mostly the office's own) and the dates keep their statistics: an
/// export is one office's, often one year's, so a row group's range of them lets a reader skip
/// it. Every row group has cases of every type, outcome, placement type and sex: those have
/// none.
const COLUMNS: [ColumnSpec; 16] = [
    ColumnSpec::pseudonym("child", false),
    ColumnSpec::pseudonym("family", true),
    ColumnSpec::pseudonym("case", true),
    ColumnSpec::label("region", false),
    ColumnSpec::label("municipality", true),
    ColumnSpec::label("office", false),
    ColumnSpec::category("case_type", false),
    ColumnSpec::few_values("opened", ColumnType::Date, false),
    ColumnSpec::few_values("closed", ColumnType::Date, true),
    ColumnSpec::category("outcome", true),
    ColumnSpec::category("placement_type", true),
    ColumnSpec::label("placement_region", true),
    ColumnSpec::few_values("birth_year", ColumnType::Int32, true),
    ColumnSpec::category("sex", true),
    ColumnSpec::label("source", false),
    ColumnSpec::plain("source_line", ColumnType::Int64, false),
];

/// The column names of `cases.parquet`, in order.
pub const CASES_COLUMNS: [&str; 16] = {
    let mut names = [""; 16];
    let mut i = 0;
    while i < COLUMNS.len() {
        names[i] = COLUMNS[i].name;
        i += 1;
    }
    names
};

/// Writes `cases.parquet` one batch of cases at a time, each batch a row group: bounded
/// memory, and the same bytes for the same cases.
pub struct CasesWriter {
    path: PathBuf,
    parquet: ParquetWriter,
    labels: LabelTables,
}

/// Every value each label column can take, as Arrow strings: a label column is handed to the
/// Parquet writer as indices into its table (a dictionary array), so no string is copied per
/// row. Readers still see plain UTF-8: the file's schema says `Utf8`, and the bytes are those
/// of the same strings written one by one.
struct LabelTables {
    regions: ArrayRef,
    municipalities: ArrayRef,
    offices: ArrayRef,
    sources: ArrayRef,
    case_types: ArrayRef,
    outcomes: ArrayRef,
    placement_types: ArrayRef,
    sexes: ArrayRef,
}

impl LabelTables {
    fn new(offices: &[String], files: &[InputFile]) -> LabelTables {
        fn table<'s>(values: impl Iterator<Item = &'s str>) -> ArrayRef {
            Arc::new(StringArray::from_iter_values(values))
        }
        fn vocabulary<T: Vocabulary>() -> ArrayRef {
            table(T::ALL.iter().map(|v| v.as_str()))
        }
        LabelTables {
            regions: table(reference::oblasts().iter().map(|o| o.code.as_str())),
            municipalities: table(reference::municipalities().iter().map(|m| m.code.as_str())),
            offices: table(offices.iter().map(String::as_str)),
            sources: table(files.iter().map(|f| f.display.as_str())),
            case_types: vocabulary::<CaseType>(),
            outcomes: vocabulary::<Outcome>(),
            placement_types: vocabulary::<PlacementType>(),
            sexes: vocabulary::<Sex>(),
        }
    }
}

impl CasesWriter {
    pub fn create(
        path: &Path,
        offices: &[String],
        files: &[InputFile],
    ) -> Result<CasesWriter, ParquetWriteError> {
        // Uncompressed: the pseudonyms, most of the bytes, are random hex that Snappy cannot
        // shrink, and the labels are dictionary-encoded already (NOTES.md, compression).
        let parquet = ParquetWriter::create(path, &COLUMNS, Compression::UNCOMPRESSED, vec![])?;
        Ok(CasesWriter {
            path: path.to_path_buf(),
            parquet,
            labels: LabelTables::new(offices, files),
        })
    }

    /// Write `cases` as one row group.
    pub fn write(&mut self, cases: &[Case]) -> Result<(), ParquetWriteError> {
        if cases.is_empty() {
            return Ok(());
        }
        let labels = &self.labels;
        self.parquet.write_row_group(cases.len(), |column, range| {
            case_column(column, &cases[range], labels)
        })
    }

    /// Write the footer; the file's manifest entry.
    pub fn finish(self) -> Result<OutputEntry, ParquetWriteError> {
        Ok(OutputEntry::hashed(&self.path, self.parquet.finish()?))
    }
}

/// Column `column` of `COLUMNS` for `cases`.
fn case_column(column: usize, cases: &[Case], labels: &LabelTables) -> ArrayRef {
    match COLUMNS[column].name {
        "child" => hex_column(cases, |c| Some(&c.child)),
        "family" => hex_column(cases, |c| c.family.as_ref()),
        "case" => hex_column(cases, |c| c.case.as_ref()),
        "region" => label_column(cases, &labels.regions, |c| Some(usize::from(c.region))),
        "municipality" => label_column(cases, &labels.municipalities, |c| {
            c.municipality.map(usize::from)
        }),
        "office" => label_column(cases, &labels.offices, |c| Some(c.office as usize)),
        "case_type" => label_column(cases, &labels.case_types, |c| Some(c.case_type.index())),
        "opened" => Arc::new(Date32Array::from_iter_values(
            cases.iter().map(|c| c.opened),
        )),
        "closed" => Arc::new(cases.iter().map(|c| c.closed).collect::<Date32Array>()),
        "outcome" => label_column(cases, &labels.outcomes, |c| {
            c.outcome.map(Vocabulary::index)
        }),
        "placement_type" => label_column(cases, &labels.placement_types, |c| {
            c.placement_type.map(Vocabulary::index)
        }),
        "placement_region" => label_column(cases, &labels.regions, |c| {
            c.placement_region.map(usize::from)
        }),
        "birth_year" => Arc::new(
            cases
                .iter()
                .map(|c| c.birth_year.map(i32::from))
                .collect::<Int32Array>(),
        ),
        "sex" => label_column(cases, &labels.sexes, |c| c.sex.map(Vocabulary::index)),
        "source" => label_column(cases, &labels.sources, |c| Some(c.file as usize)),
        "source_line" => Arc::new(Int64Array::from_iter_values(
            cases.iter().map(|c| c.line as i64),
        )),
        other => unreachable!("cases.parquet has no column {other}"),
    }
}

/// A label column: each case's index into `table`, or null.
fn label_column(
    cases: &[Case],
    table: &ArrayRef,
    index: impl Fn(&Case) -> Option<usize>,
) -> ArrayRef {
    // u32 holds every index: ingest numbers offices and files with u32.
    let keys = cases
        .iter()
        .map(|c| index(c).map(|i| i as u32))
        .collect::<UInt32Array>();
    Arc::new(
        DictionaryArray::<UInt32Type>::try_new(keys, Arc::clone(table))
            .expect("every index a case holds is within its label table (ingest made it so)"),
    )
}

/// A column of pseudonyms as 32 hex digits, written straight into one buffer.
fn hex_column(cases: &[Case], value: impl Fn(&Case) -> Option<&Pseudonym>) -> ArrayRef {
    let mut digits = Vec::with_capacity(cases.len() * 32);
    let mut present = Vec::with_capacity(cases.len());
    for case in cases {
        let pseudonym = value(case);
        if let Some(p) = pseudonym {
            hex_into(p, &mut digits);
        }
        present.push(pseudonym.is_some());
    }
    let offsets = OffsetBuffer::from_lengths(present.iter().map(|&p| if p { 32 } else { 0 }));
    let nulls = NullBuffer::from(present);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Arc::new(
        StringArray::try_new(offsets, Buffer::from_vec(digits), nulls)
            .expect("hex digits are ASCII and every present value is 32 of them"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs::File;
    use std::path::PathBuf;

    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::model::{CaseType, Outcome, Sex};

    fn case(i: u64) -> Case {
        let odd = i % 2 == 1;
        Case {
            child: [i as u8; 16],
            family: odd.then_some([7; 16]),
            case: None,
            region: (i % 28) as u8,
            municipality: odd.then_some(3),
            office: (i % 2) as u32,
            case_type: CaseType::Prevention,
            opened: 19_000 + i as i32,
            closed: odd.then_some(19_100),
            outcome: odd.then_some(Outcome::StayedWithFamily),
            placement_type: None,
            placement_region: None,
            birth_year: odd.then_some(2015),
            sex: odd.then_some(Sex::F),
            file: 0,
            line: i + 2,
        }
    }

    fn write(path: &Path, batches: &[Vec<Case>]) -> OutputEntry {
        let offices = ["ОЗД Варна".to_string(), "NGO".to_string()];
        let files = [InputFile {
            source: 0,
            path: PathBuf::from("x.csv"),
            display: "s/x.csv".into(),
            sha256: String::new(),
            encoding: "utf-8",
            delimiter: b',',
            sheet: None,
            rows_read: 0,
            rows_rejected: 0,
            reject_counts: BTreeMap::new(),
        }];
        let mut writer = CasesWriter::create(path, &offices, &files).unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn each_batch_is_a_row_group_of_plain_types_hashed_as_written_and_rewritten_identically() {
        let dir = tempfile::tempdir().unwrap();
        let batches: Vec<Vec<Case>> = [5u64, 3, 4]
            .iter()
            .scan(0u64, |start, &n| {
                let batch = (*start..*start + n).map(case).collect();
                *start += n;
                Some(batch)
            })
            .collect();
        let path = dir.path().join("cases.parquet");
        let entry = write(&path, &batches);
        assert_eq!(entry.path, "cases.parquet");
        assert_eq!(entry.sha256, crate::output::sha256_file(&path).unwrap());

        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 3);
        // Pseudonyms and labels spread over every row group carry no statistics (they would prune
        // nothing); the other labels and the dates do.
        let first = builder.metadata().row_group(0);
        let stats = |name: &str| {
            let column = CASES_COLUMNS.iter().position(|c| *c == name).unwrap();
            first.column(column).statistics().is_some()
        };
        assert!(!stats("child") && !stats("family") && !stats("case"));
        assert!(!stats("case_type") && !stats("outcome") && !stats("sex"));
        assert!(!stats("placement_type") && stats("placement_region"));
        // Without statistics, still dictionary-encoded.
        let encodings = |name: &str| {
            let column = CASES_COLUMNS.iter().position(|c| *c == name).unwrap();
            first.column(column).encodings().collect::<Vec<_>>()
        };
        for name in ["case_type", "outcome", "sex"] {
            assert!(
                encodings(name).contains(&parquet::basic::Encoding::RLE_DICTIONARY),
                "{name}"
            );
        }
        // A column without a value in the row group (no case has a placement type) has no
        // dictionary page: an empty one stops fastparquet.
        let placement_type = CASES_COLUMNS.iter().position(|c| *c == "placement_type");
        assert_eq!(
            first
                .column(placement_type.unwrap())
                .dictionary_page_offset(),
            None
        );
        assert!(stats("region") && stats("office") && stats("opened"));
        let schema = builder.schema().clone();
        for field in schema.fields() {
            let expected = match field.name().as_str() {
                "opened" | "closed" => DataType::Date32,
                "birth_year" => DataType::Int32,
                "source_line" => DataType::Int64,
                _ => DataType::Utf8,
            };
            assert_eq!(field.data_type(), &expected, "{}", field.name());
        }
        let rows: Vec<_> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 12);
        let families: usize = rows
            .iter()
            .map(|b| b.column_by_name("family").unwrap().null_count())
            .sum();
        assert_eq!(families, 6, "the even-numbered cases have no family");
        let child = rows[0].column_by_name("child").unwrap().as_string::<i32>();
        assert_eq!(child.value(1), "01010101010101010101010101010101");
        let office = rows[0].column_by_name("office").unwrap().as_string::<i32>();
        assert_eq!(office.value(0), "ОЗД Варна");

        let again = dir.path().join("again.parquet");
        write(&again, &batches);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&again).unwrap()
        );
    }
}

//! `IngestError`: a problem with a whole file or source, which stops the run (a problem with
//! one row is a `RowReject` instead). Messages name files, columns and settings, never a value
//! read from a row.

use std::io;
use std::path::PathBuf;

/// A problem with a whole file or source: the run cannot account for its rows.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "source \"{source_name}\": no file matches {pattern}\nhint: check `path` in the pipeline file; it is relative to the pipeline file's folder"
    )]
    NoFiles {
        source_name: String,
        pattern: String,
    },
    #[error("source \"{source_name}\": `path = {pattern}` is not a valid file pattern: {message}")]
    BadPattern {
        source_name: String,
        pattern: String,
        message: String,
    },
    #[error("cannot read {path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write rejects.csv")]
    Rejects { source: io::Error },
    /// The sink of accepted cases failed; its error says why.
    #[error("the accepted cases could not be kept")]
    Sink { source: super::SinkError },
    #[error(
        "{path}: the header line does not end within the first {bound} of the file, the most a header may take: a quote (\") in it is probably never closed, or the file has no line breaks\nhint: open the file in a text editor; fix the header's quotes, or export it again as CSV with one row per line"
    )]
    HeaderTooLong { path: PathBuf, bound: String },
    #[error(
        "{path}: a quote (\") in the header line is never closed, so the header runs to the end of the file\nhint: fix the header's quotes and export again"
    )]
    HeaderQuoteNeverClosed { path: PathBuf },
    #[error(
        "{path}: column \"{column}\" (mapped to `office`) of source \"{source_name}\" {why}: it does not look like office names, which are written to cases.parquet\nhint: check the `office` line under [sources.columns]; map the office's own names under [sources.values.office], or set `office = \"...\"` for the source instead of a column"
    )]
    NotOfficeNames {
        path: PathBuf,
        source_name: String,
        column: String,
        /// What the column holds, never a value: "holds more than 500 distinct values".
        why: String,
    },
    #[error(
        "{path}: this is {kind}, not an export (a CSV file or a workbook)\nhint: open it in the program it came from and save it as \"CSV UTF-8 (comma delimited)\" or as an Excel workbook (.xlsx), or ask the office for such an export"
    )]
    NotAnExport { path: PathBuf, kind: &'static str },
    #[error(
        "{path}: this is {kind} of more than {limit}, the most a workbook may take (workbooks are read into memory whole)\nhint: open it in Excel and save the sheet as \"CSV UTF-8 (comma delimited)\", then point the source at the CSV file: CSV exports are read in pieces and have no size limit"
    )]
    WorkbookTooLarge {
        path: PathBuf,
        kind: &'static str,
        limit: String,
    },
    #[error(
        "{path}: this is {kind} whose sheets span so many cells that reading them would take about {need} of memory, more than the {limit} a workbook may take\nhint: a stray cell far below or to the right of the data makes a sheet span that far: delete the empty rows and columns after the data and save again, or save the sheet as \"CSV UTF-8 (comma delimited)\", which has no size limit"
    )]
    SheetsTooLarge {
        path: PathBuf,
        kind: &'static str,
        need: String,
        limit: String,
    },
    #[error(
        "{path}: this looks like {kind}, but it cannot be read as one: {why}\nhint: open it in Excel or LibreOffice; if it opens, save it again as .xlsx (without a password), or as \"CSV UTF-8 (comma delimited)\""
    )]
    UnreadableWorkbook {
        path: PathBuf,
        kind: &'static str,
        why: &'static str,
    },
    #[error(
        "{path}: the workbook has no sheet \"{sheet}\"; its sheets are {sheets}\nhint: set `sheet` of this source to one of them, or leave it out to read the first sheet"
    )]
    NoSuchSheet {
        path: PathBuf,
        sheet: String,
        /// Every sheet's name, quoted (sheet names are not personal data).
        sheets: String,
    },
    #[error("{path}: the workbook has no worksheet (only charts or macros)")]
    NoWorksheet { path: PathBuf },
    #[error(
        "{path}: sheet \"{sheet}\" is empty; an export needs at least a header row\nhint: check `sheet` of this source; without it the first visible sheet is read"
    )]
    EmptySheet { path: PathBuf, sheet: String },
    #[error(
        "{path}, sheet \"{sheet}\": column \"{column}\" (mapped to `{field}`) is not in the header (row {row}, the first row that is not empty), which has {header_columns} columns\nhint: compare [sources.columns] with row {row} of the sheet, and check `sheet` of this source"
    )]
    MissingSheetColumn {
        path: PathBuf,
        sheet: String,
        row: u32,
        field: &'static str,
        column: String,
        header_columns: usize,
    },
    #[error(
        "{path}, sheet \"{sheet}\": the header (row {row}) takes more than {bound}, the most a header may take"
    )]
    SheetHeaderTooLong {
        path: PathBuf,
        sheet: String,
        row: u32,
        bound: String,
    },
    #[error(
        "{path}, sheet \"{sheet}\": row {row} comes after a later row in the file, which Excel never writes, so the rows cannot be read in order\nhint: open the workbook in Excel or LibreOffice and save it again"
    )]
    SheetRowsOutOfOrder {
        path: PathBuf,
        sheet: String,
        row: u32,
    },
    #[error("{path}: the file is empty; an export needs at least a header line")]
    Empty { path: PathBuf },
    #[error("{path}: the header line cannot be decoded as {encoding}\nhint: {hint}")]
    UndecodableHeader {
        path: PathBuf,
        encoding: &'static str,
        hint: &'static str,
    },
    #[error(
        "{path}: column \"{column}\" (mapped to `{field}`) is not in the header, which has {header_columns} columns\nhint: compare [sources.columns] with the first line of the file, and check `encoding` and `delimiter` for this source"
    )]
    MissingColumn {
        path: PathBuf,
        field: &'static str,
        column: String,
        header_columns: usize,
    },
    #[error(
        "{path}: column \"{column}\" (mapped to `{field}`) appears {count} times in the header, so it is not clear which one to read\nhint: rename one of the columns in the export"
    )]
    DuplicateColumn {
        path: PathBuf,
        field: &'static str,
        column: String,
        count: usize,
    },
}

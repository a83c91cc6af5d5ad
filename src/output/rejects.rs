//! `rejects.csv` (SPEC §2, §6): one line per rejected row, streamed as ingest finds them.
//! What a reject line may say is ingest's rule (`ingest::reject`); this only writes it.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use super::{OutputEntry, OutputError, io_error};
use crate::ingest::{InputFile, RejectSink, RowReject};

/// Streams rejected rows into `rejects.csv` as ingest finds them.
pub struct RejectsWriter {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl RejectsWriter {
    pub fn create(path: &Path) -> Result<RejectsWriter, OutputError> {
        let file = File::create(path).map_err(io_error(path))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record(["source", "line", "field", "reason", "message"])
            .map_err(|e| io_error(path)(e.into()))?;
        Ok(RejectsWriter {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// Flush and sync the file; its manifest entry.
    pub fn finish(self) -> Result<OutputEntry, OutputError> {
        let path = self.path;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| io_error(&path)(e.into_error()))?
            .into_inner()
            .map_err(|e| io_error(&path)(e.into_error()))?;
        file.sync_all().map_err(io_error(&path))?;
        OutputEntry::of_file(&path)
    }
}

impl RejectSink for RejectsWriter {
    fn reject(&mut self, file: &InputFile, line: u64, reject: &RowReject) -> io::Result<()> {
        self.writer.write_record([
            file.display.as_str(),
            &line.to_string(),
            reject.field.map_or("", |f| f.name()),
            reject.reason.code(),
            &reject.message,
        ])?;
        Ok(())
    }
}

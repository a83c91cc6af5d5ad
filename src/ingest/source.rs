//! Opening an export: the only place that lists a source's files, opens them and decides how
//! one is written (text or workbook, byte-order mark, encoding, delimiter, where the header
//! ends). It decides nothing about rows: that is `records`' and `validate`'s.
//!
//! A file is first told by its head (`kind`): a workbook goes to `workbook`, text on here. An
//! opened text `Export` is its raw header fields and its body as chunks of CSV bytes whose lines
//! end in `\n` (a CRLF's `\r` stays, and is trimmed with the field): UTF-16 and bare CR line
//! ends are turned into such bytes below the chunks (`text`). The pipeline (`stream`, `sheet`)
//! and `inspect` (`sample`) both read files through here.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::IngestError;
use super::chunks::ChunkReader;
pub use super::chunks::{Chunk, ChunkPool};
use super::kind::{self, Kind};
use super::records::{Splitter, bound_text};
use super::text::{Hashing, TextReader};
use super::workbook::{self, Workbook};
use crate::config::{EncodingChoice, Pipeline, Source};

/// How much of a file's head is examined to guess encoding and delimiter.
const SNIFF_BYTES: usize = 1 << 20;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes read from a file at a time (a chunk ends at its last line break; one without any ends
/// mid-line, and the record goes on in the next chunk).
pub const CHUNK_BYTES: usize = 2 << 20;

/// Every file of every source, in pipeline order then path order.
pub fn list_files(pipeline: &Pipeline) -> Result<Vec<(usize, PathBuf)>, IngestError> {
    let mut all = Vec::new();
    for (i, source) in pipeline.sources.iter().enumerate() {
        let paths = glob::glob(&source.pattern).map_err(|e| IngestError::BadPattern {
            source_name: source.name.clone(),
            pattern: source.pattern.clone(),
            message: e.msg.to_string(),
        })?;
        let mut found: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            return Err(IngestError::NoFiles {
                source_name: source.name.clone(),
                pattern: source.pattern.clone(),
            });
        }
        found.sort();
        all.extend(found.into_iter().map(|p| (i, p)));
    }
    Ok(all)
}

/// The decoding of a file, decided from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    Utf8,
    Windows1251,
}

impl Decoding {
    pub fn name(self) -> &'static str {
        match self {
            Decoding::Utf8 => "utf-8",
            Decoding::Windows1251 => "windows-1251",
        }
    }

    /// How this encoding writes `c`; `None` when it cannot.
    pub fn encode_char(self, c: char) -> Option<Vec<u8>> {
        match self {
            Decoding::Utf8 => Some(c.to_string().into_bytes()),
            Decoding::Windows1251 => {
                let text = c.to_string();
                let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
                (!unmappable).then(|| bytes.into_owned())
            }
        }
    }

    /// Decode one field; `None` when its bytes are not valid in this encoding.
    pub fn decode(self, bytes: &[u8]) -> Option<Cow<'_, str>> {
        match self {
            Decoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
            Decoding::Windows1251 => {
                encoding_rs::WINDOWS_1251.decode_without_bom_handling_and_without_replacement(bytes)
            }
        }
    }
}

/// Whether `head` is UTF-8, allowing a character cut off at its end.
fn looks_like_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Guess the encoding of a file from its first bytes (BOM excluded).
pub fn sniff_encoding(head: &[u8], choice: EncodingChoice) -> Decoding {
    match choice {
        // UTF-16 has been decoded to UTF-8 by then (`text`).
        EncodingChoice::Utf8 | EncodingChoice::Utf16 => Decoding::Utf8,
        EncodingChoice::Windows1251 => Decoding::Windows1251,
        EncodingChoice::Auto if looks_like_utf8(head) => Decoding::Utf8,
        EncodingChoice::Auto => Decoding::Windows1251,
    }
}

/// Guess the delimiter from the header line: the most frequent of `;` `,` tab outside quotes
/// in the first line that is not blank (blank lines before the header are skipped, as ingest
/// skips them).
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut start = 0;
    while let Some(len) = memchr::memchr(b'\n', &head[start..]) {
        if !head[start..start + len].iter().all(u8::is_ascii_whitespace) {
            break;
        }
        start += len + 1;
    }
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in &head[start..] {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b';' if !quoted => counts[0] += 1,
            b',' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b';', b',', b'\t'];
    // Ties go to the comma, the CSV default.
    let mut best = 1;
    for i in [0, 2] {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// What the pipeline file says about how a source's files are written; what it leaves open
/// is sniffed from each file's head.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'s> {
    pub encoding: EncodingChoice,
    pub delimiter: Option<u8>,
    /// The sheet of a workbook; `None`: the first visible worksheet.
    pub sheet: Option<&'s str>,
}

impl Declared<'_> {
    /// Nothing declared: encoding and delimiter are both guessed, the first sheet is read
    /// (`inspect`).
    pub const NOTHING: Declared<'static> = Declared {
        encoding: EncodingChoice::Auto,
        delimiter: None,
        sheet: None,
    };

    pub fn of(source: &Source) -> Declared<'_> {
        Declared {
            encoding: source.encoding,
            delimiter: source.delimiter,
            sheet: source.sheet.as_deref(),
        }
    }
}

/// An opened export: text, or a workbook's sheet.
// One a file, moved once: the size of a text export does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Opened<'p, R> {
    Text(Export<'p, R>),
    Workbook(Workbook),
}

/// An export opened for reading: how it is written, its header, and the bytes after it.
pub struct Export<'p, R> {
    /// How fields decode (UTF-16 has already become UTF-8).
    pub decoding: Decoding,
    /// The encoding the file is written in, as the manifest and `inspect` name it.
    pub encoding_name: &'static str,
    /// The file starts with a UTF-8 byte-order mark (which is not part of the header).
    pub has_bom: bool,
    pub delimiter: u8,
    /// The header's fields as raw bytes, in the file's encoding (blank lines before it skipped).
    pub header: Vec<Vec<u8>>,
    /// The file ended inside a quote the header opened, so the header holds every line after
    /// it (the rows, too). `inspect` and the pipeline both refuse such a file.
    pub header_unclosed: bool,
    /// Line breaks before the body's first byte: blank lines, and the header's own.
    pub header_lines: u64,
    pub body: Body<'p, R>,
}

/// The bytes after the header, in chunks that end at line breaks; every byte of the file is
/// hashed as it is read.
pub struct Body<'p, R> {
    /// What followed the header in the bytes read to find it.
    first: Option<Chunk>,
    reader: ChunkReader<'p, R>,
}

impl<'p, R: Read> Body<'p, R> {
    /// The next chunk; after a chunk with `at_eof`, `None`.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        match self.first.take() {
            Some(first) => Ok(Some(first)),
            None => self.reader.next_chunk(),
        }
    }

    /// Bytes read from the file so far.
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    /// Where chunk buffers go back when they have been read.
    pub fn pool(&self) -> &'p ChunkPool {
        self.reader.pool
    }

    /// The SHA-256 of the whole file; reads whatever is left unread first.
    pub fn finish(self) -> io::Result<[u8; 32]> {
        self.reader.finish()
    }
}

/// How an export is read: chunk size and the record bound (`MAX_RECORD_BYTES` but in tests).
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub chunk_bytes: usize,
    pub max_record: usize,
}

impl Default for Reading {
    fn default() -> Reading {
        Reading {
            chunk_bytes: CHUNK_BYTES,
            max_record: super::records::MAX_RECORD_BYTES,
        }
    }
}

/// Open the export at `path`.
pub fn open_file<'p>(
    path: &Path,
    pool: &'p ChunkPool,
    reading: Reading,
    declared: Declared<'_>,
) -> Result<Opened<'p, File>, IngestError> {
    let raw = File::open(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    open(raw, path, pool, reading, declared)
}

/// Open `raw` as the export at `path` (which only names it in errors): read its head and tell
/// what it is. A workbook is opened by `workbook`; text is opened here.
pub fn open<'p, R: Read>(
    raw: R,
    path: &Path,
    pool: &'p ChunkPool,
    reading: Reading,
    declared: Declared<'_>,
) -> Result<Opened<'p, R>, IngestError> {
    let mut raw = Hashing::new(raw);
    let mut head = Vec::new();
    // As much as the first chunk would hold, for a file that is not text is told from it.
    raw.read_up_to(&mut head, SNIFF_BYTES.min(reading.chunk_bytes.max(2)))
        .map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if head.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    match kind::sniff(&head) {
        Kind::Other(kind) => Err(IngestError::NotAnExport {
            path: path.to_path_buf(),
            kind,
        }),
        Kind::Workbook(format) => {
            workbook::open(raw, head, path, format, declared.sheet).map(Opened::Workbook)
        }
        Kind::Text => {
            let text = TextReader::new(raw, head, declared.encoding).map_err(|source| {
                IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            open_text(text, path, pool, reading, declared).map(Opened::Text)
        }
    }
}

/// Open a text export: decide its encoding and delimiter, and read its header, which must end
/// within the record bound.
fn open_text<'p, R: Read>(
    text: TextReader<R>,
    path: &Path,
    pool: &'p ChunkPool,
    reading: Reading,
    declared: Declared<'_>,
) -> Result<Export<'p, R>, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let empty = || IngestError::Empty {
        path: path.to_path_buf(),
    };
    let mut reader = ChunkReader::new(text, pool, reading.chunk_bytes);
    let utf16 = reader.utf16_name();
    let Some(mut first) = reader.next_chunk().map_err(io_err)? else {
        return Err(empty());
    };
    if first.bytes.is_empty() {
        return Err(empty());
    }
    // UTF-16 was told from its byte-order mark only: what it holds may still be a web page.
    if utf16.is_some()
        && let Kind::Other(kind) = kind::sniff(&first.bytes[..first.bytes.len().min(SNIFF_BYTES)])
    {
        return Err(IngestError::NotAnExport {
            path: path.to_path_buf(),
            kind,
        });
    }
    let has_bom = first.bytes.starts_with(UTF8_BOM);
    let bom_len = if has_bom { UTF8_BOM.len() } else { 0 };
    let body = &first.bytes[bom_len..];
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let decoding = if has_bom || utf16.is_some() {
        Decoding::Utf8
    } else {
        sniff_encoding(head, declared.encoding)
    };
    let delimiter = declared.delimiter.unwrap_or_else(|| sniff_delimiter(head));

    // The header may hold quoted line breaks: read on until it is complete, but not past the
    // record bound (a quote opened in the header and never closed, or a file without line
    // breaks, would take the whole file).
    let header = loop {
        if let Some(found) = Splitter::new(delimiter, reading.max_record)
            .first_record(&first.bytes[bom_len..], first.at_eof)
        {
            break found;
        }
        match reader.next_chunk().map_err(io_err)? {
            Some(more) => {
                first.bytes.extend_from_slice(&more.bytes);
                first.at_eof = more.at_eof;
            }
            None => first.at_eof = true,
        }
    };
    if header.too_long {
        return Err(IngestError::HeaderTooLong {
            path: path.to_path_buf(),
            bound: bound_text(reading.max_record),
        });
    }
    if header.fields.is_empty() {
        return Err(empty());
    }
    let header_lines = first.bytes[..bom_len + header.end]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64;
    first.bytes.drain(..bom_len + header.end);
    Ok(Export {
        decoding,
        encoding_name: utf16.unwrap_or(decoding.name()),
        has_bom,
        delimiter,
        header: header.fields,
        header_unclosed: header.unclosed_quote,
        header_lines,
        body: Body {
            first: Some(first),
            reader,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `open` of a text export.
    fn open<'p, R: Read>(
        raw: R,
        path: &Path,
        pool: &'p ChunkPool,
        reading: Reading,
        declared: Declared<'_>,
    ) -> Result<Export<'p, R>, IngestError> {
        match super::open(raw, path, pool, reading, declared)? {
            Opened::Text(export) => Ok(export),
            Opened::Workbook(_) => panic!("not a workbook"),
        }
    }

    /// What opening `bytes` with chunks of `chunk_bytes` finds: the decoding, BOM, delimiter,
    /// the header decoded, the header's line breaks and the whole body.
    fn open_bytes(
        bytes: &[u8],
        chunk_bytes: usize,
    ) -> (Decoding, bool, u8, Vec<String>, u64, Vec<u8>) {
        let pool = ChunkPool::default();
        let reading = Reading {
            chunk_bytes,
            ..Reading::default()
        };
        let mut export =
            open(bytes, Path::new("t.csv"), &pool, reading, Declared::NOTHING).unwrap();
        let header = export
            .header
            .iter()
            .map(|f| export.decoding.decode(f).unwrap().into_owned())
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = export.body.next_chunk().unwrap() {
            body.extend_from_slice(&chunk.bytes);
        }
        assert_eq!(export.body.bytes_read(), bytes.len() as u64);
        (
            export.decoding,
            export.has_bom,
            export.delimiter,
            header,
            export.header_lines,
            body,
        )
    }

    #[test]
    fn blank_lines_before_the_header_are_skipped_and_counted() {
        let (decoding, has_bom, delimiter, header, lines, body) =
            open_bytes(b" \r\n\nid,type\r\nA,prevention\r\n", CHUNK_BYTES);
        assert_eq!(
            (decoding, has_bom, delimiter),
            (Decoding::Utf8, false, b',')
        );
        assert_eq!(header, ["id", "type\r"]);
        assert_eq!(lines, 3);
        assert_eq!(body, b"A,prevention\r\n");
    }

    #[test]
    fn a_header_with_a_quoted_line_break_is_read_across_chunks() {
        for chunk_bytes in [2, 4, 7, CHUNK_BYTES] {
            let (_, _, _, header, lines, body) =
                open_bytes(b"id,\"ty\npe\"\nA,b\nC,d", chunk_bytes);
            assert_eq!(header, ["id", "ty\npe"], "chunks of {chunk_bytes}");
            assert_eq!((lines, body.as_slice()), (2, &b"A,b\nC,d"[..]));
        }
    }

    #[test]
    fn the_delimiter_is_sniffed_from_the_header_line_not_a_blank_line_before_it() {
        for text in [&b"\nid;type\nA;b\n"[..], b" \r\n\t\nid;type\nA;b\n"] {
            let (_, _, delimiter, header, _, _) = open_bytes(text, CHUNK_BYTES);
            assert_eq!(delimiter, b';');
            assert_eq!(header, ["id", "type"]);
        }
        assert_eq!(sniff_delimiter(b"\n\na\tb\tc\n"), b'\t');
    }

    #[test]
    fn a_bom_is_not_part_of_the_header_and_means_utf8() {
        let (decoding, has_bom, delimiter, header, lines, body) =
            open_bytes(b"\xEF\xBB\xBFid;\"a\nb\"\n1;2", CHUNK_BYTES);
        assert_eq!((decoding, has_bom, delimiter), (Decoding::Utf8, true, b';'));
        assert_eq!(header, ["id", "a\nb"]);
        assert_eq!((lines, body.as_slice()), (2, &b"1;2"[..]));
    }

    #[test]
    fn a_head_that_is_not_utf8_is_windows_1251() {
        let (decoding, _, delimiter, header, _, _) =
            open_bytes(b"\xc5\xc3\xcd\tx\n1\t2\n", CHUNK_BYTES);
        assert_eq!((decoding, delimiter), (Decoding::Windows1251, b'\t'));
        assert_eq!(header, ["ЕГН", "x"]);
    }

    #[test]
    fn a_header_quote_that_never_closes_is_told() {
        let pool = ChunkPool::default();
        let open_text = |text: &'static [u8]| {
            open(
                text,
                Path::new("t.csv"),
                &pool,
                Reading::default(),
                Declared::NOTHING,
            )
            .unwrap()
        };
        let export = open_text(b"id,\"type\nA,b\n");
        assert!(export.header_unclosed);
        assert_eq!(export.header, [b"id".to_vec(), b"type\nA,b\n".to_vec()]);
        assert!(!open_text(b"id,\"ty\"\"pe\"\nA,b\n").header_unclosed);
    }

    #[test]
    fn an_export_of_blank_lines_is_empty() {
        let pool = ChunkPool::default();
        for text in [&b""[..], b"\n \r\n"] {
            for chunk_bytes in [2, 3, CHUNK_BYTES] {
                let reading = Reading {
                    chunk_bytes,
                    ..Reading::default()
                };
                let err = open(text, Path::new("t.csv"), &pool, reading, Declared::NOTHING);
                assert!(matches!(err, Err(IngestError::Empty { .. })));
            }
        }
    }

    /// A header that does not end within the record bound (blank lines before it included) is
    /// an error, told after reading no more than the bound and a chunk.
    #[test]
    fn a_header_past_the_record_bound_is_an_error_read_no_further() {
        let pool = ChunkPool::default();
        let long_name = format!("id,{},type\nA,b,c\n", "n".repeat(100));
        let blank_lines = format!("{}id,type\nA,b\n", " \n".repeat(60));
        let no_line_break = "a;b;c;".repeat(100_000);
        let quote = format!("id,\"type\n{}", "A,b\n".repeat(100_000));
        for (text, max_record) in [
            (long_name.as_str(), 64),
            (&blank_lines, 64),
            (&no_line_break, 1_000),
            (&quote, 1_000),
        ] {
            for chunk_bytes in [7, 64, CHUNK_BYTES] {
                let mut read = 0;
                let counting = CountingReader(text.as_bytes(), &mut read);
                let reading = Reading {
                    chunk_bytes,
                    max_record,
                };
                let err = open(
                    counting,
                    Path::new("t.csv"),
                    &pool,
                    reading,
                    Declared::NOTHING,
                );
                assert!(
                    matches!(err, Err(IngestError::HeaderTooLong { .. })),
                    "{:?}",
                    err.err()
                );
                assert!(
                    read <= 2 * max_record + 2 * chunk_bytes,
                    "{read} bytes read"
                );
            }
        }
        // Within the bound, it is a header.
        let reading = Reading {
            chunk_bytes: 7,
            max_record: 64,
        };
        let text = format!("{}id,type\nA,b\n", " \n".repeat(20));
        assert!(
            open(
                text.as_bytes(),
                Path::new("t.csv"),
                &pool,
                reading,
                Declared::NOTHING
            )
            .is_ok()
        );
    }

    /// A reader that counts the bytes read from it.
    struct CountingReader<'a>(&'a [u8], &'a mut usize);

    impl Read for CountingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(buf)?;
            *self.1 += n;
            Ok(n)
        }
    }
}

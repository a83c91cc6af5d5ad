//! Splitting export bytes into CSV records, fast enough to keep both cores busy.
//! A file is read in chunks that end at a line break; each chunk is cut into pieces at line
//! breaks and the pieces are parsed in parallel, each as if it began a record. That guess is
//! wrong only when a quoted field holds a line break at a cut; the piece before then ends
//! inside a record, which `parse_piece` reports, and the caller re-reads from there in order.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Bytes read from a file at a time.
pub const CHUNK_BYTES: usize = 2 << 20;
/// The size a chunk is cut into for parallel parsing.
pub const PIECE_BYTES: usize = 256 << 10;

/// Where a file is cut: chunk and piece sizes. Tests cut small to put cuts everywhere.
#[derive(Debug, Clone, Copy)]
pub struct Cuts {
    pub chunk_bytes: usize,
    pub piece_bytes: usize,
}

impl Default for Cuts {
    fn default() -> Cuts {
        Cuts {
            chunk_bytes: CHUNK_BYTES,
            piece_bytes: PIECE_BYTES,
        }
    }
}

/// One record as csv_core split it.
pub struct Record<'a> {
    data: &'a [u8],
    ends: &'a [usize],
    /// Bytes between one field's end and the next one's start: 0 in csv_core's output, 1 (the
    /// delimiter) when fields are read straight from the line.
    gap: usize,
    /// Line breaks in the parsed bytes before the record's first byte.
    pub newlines_before: u64,
    /// Line breaks inside the record (in quoted fields), not counting its terminator.
    pub inner_newlines: u64,
    /// The file ended inside a quoted field of this record.
    pub unclosed_quote: bool,
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.gap
        };
        self.data.get(start..end)
    }

    /// A line with nothing on it but spaces (or the `\r` of a CRLF): not a row.
    pub fn is_blank(&self) -> bool {
        self.ends.len() == 1
            && self
                .get(0)
                .unwrap_or_default()
                .iter()
                .all(u8::is_ascii_whitespace)
    }
}

/// How the parse of a piece ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceEnd {
    /// Where an unfinished record starts, when the piece ended inside one (only possible when
    /// the piece is not the end of the file); `None` when it ended between records.
    pub unfinished_at: Option<usize>,
    /// Line breaks in the bytes that were parsed (up to `unfinished_at`, when set).
    pub newlines: u64,
}

/// Splits pieces into records: a reusable csv_core reader with its output buffers.
pub struct Splitter {
    delimiter: u8,
    open: OpenRecord,
}

/// A record being read by csv_core, perhaps over several inputs: the reader's state and what
/// it has output so far. A record that runs past the end of a chunk goes on in the next one
/// from here, so a stray quote costs one pass over the file, not one per chunk.
pub struct OpenRecord {
    reader: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    nout: usize,
    nend: usize,
    /// Line breaks consumed by this record so far.
    newlines: u64,
    /// Where the record's bytes so far leave a field, to tell at the end of the file whether
    /// it was cut inside a quote (csv_core does not say, and its `Reader::clone` does not
    /// carry its state).
    quote: QuoteState,
    delimiter: u8,
}

/// The quoting state of csv_core's reader (quotes on, doubled quotes as escapes, no escape
/// character), followed byte by byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl QuoteState {
    fn advance(mut self, bytes: &[u8], delimiter: u8) -> QuoteState {
        use QuoteState::*;
        for &b in bytes {
            self = match (self, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (FieldStart, b'"') => Quoted,
                (_, b'\n') => FieldStart,
                (_, d) if d == delimiter => FieldStart,
                _ => Unquoted,
            };
        }
        self
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

impl Splitter {
    pub fn new(delimiter: u8) -> Splitter {
        Splitter {
            delimiter,
            open: OpenRecord::new(delimiter),
        }
    }

    /// The record the last `parse_piece` left unfinished, to be continued.
    pub fn into_open(self) -> OpenRecord {
        self.open
    }
}

impl OpenRecord {
    fn new(delimiter: u8) -> OpenRecord {
        let mut reader = Self::build_reader(delimiter);
        // csv_core drops a byte-order mark before its first record; a blank line first makes
        // every later record keep its bytes as they are.
        let _ = reader.read_record(b"\n", &mut [0; 4], &mut [0; 4]);
        OpenRecord {
            reader,
            out: vec![0; 1 << 10],
            ends: vec![0; 32],
            nout: 0,
            nend: 0,
            newlines: 0,
            quote: QuoteState::FieldStart,
            delimiter,
        }
    }

    fn build_reader(delimiter: u8) -> csv_core::Reader {
        csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            // Split on `\n` only: the `\r` of a CRLF stays at the end of the last field, where
            // trimming removes it like any other space.
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build()
    }

    /// Begin a record (after one ended: the reader is at the start of a record).
    fn start(&mut self) {
        self.nout = 0;
        self.nend = 0;
        self.newlines = 0;
        self.quote = QuoteState::FieldStart;
    }

    /// Line breaks consumed by the record so far (all of them once it has ended).
    pub fn newlines(&self) -> u64 {
        self.newlines
    }

    /// Feed `bytes` to the record. When it ends within them, hand it to `on_record` and return
    /// the bytes it used; `None` when they ran out first (and `at_eof` is false), all consumed.
    /// `newlines_before` is passed on as the record's `newlines_before`.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        at_eof: bool,
        newlines_before: u64,
        on_record: &mut impl FnMut(&Record<'_>),
    ) -> Option<usize> {
        use csv_core::ReadRecordResult as R;
        let mut pos = 0;
        loop {
            let input = &bytes[pos..];
            let at_end = input.is_empty();
            if at_end && !at_eof {
                self.newlines += count_newlines(bytes);
                return None;
            }
            // The end of the file inside a quoted field: the record never closed its quote.
            let unclosed_quote = at_end && self.quote == QuoteState::Quoted;
            let (res, nin, o, e) = self.reader.read_record(
                input,
                &mut self.out[self.nout..],
                &mut self.ends[self.nend..],
            );
            self.quote = self.quote.advance(&input[..nin], self.delimiter);
            pos += nin;
            self.nout += o;
            self.nend += e;
            match res {
                R::InputEmpty => {}
                R::OutputFull => {
                    let len = self.out.len();
                    self.out.resize(len * 2, 0);
                }
                R::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                R::Record => {
                    let used = &bytes[..pos];
                    self.newlines += count_newlines(used);
                    let terminated = used.last() == Some(&b'\n');
                    on_record(&Record {
                        data: &self.out[..self.nout],
                        ends: &self.ends[..self.nend],
                        gap: 0,
                        newlines_before,
                        inner_newlines: self.newlines - u64::from(terminated),
                        unclosed_quote,
                    });
                    return Some(pos);
                }
                // Only blank lines were left, at the end of the file.
                R::End => {
                    self.newlines += count_newlines(bytes);
                    return Some(bytes.len());
                }
            }
        }
    }
}

impl Splitter {
    /// Parse `bytes`, which begin at the start of a record, calling `on_record` for each record.
    /// When `at_eof`, a final record without a line break (or with an unclosed quote) is a
    /// record; otherwise the piece's end is reported as unfinished and that record is left for
    /// the caller to re-read with what follows.
    ///
    /// A line without a quote is split at its delimiters directly (most lines of an export);
    /// a line with one goes through csv_core, which may read on over quoted line breaks.
    pub fn parse_piece(
        &mut self,
        bytes: &[u8],
        at_eof: bool,
        mut on_record: impl FnMut(&Record<'_>),
    ) -> PieceEnd {
        let mut pos = 0;
        let mut newlines = 0u64;
        let mut line_ends = Vec::new();
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            if let Some(len) = memchr::memchr(b'\n', rest)
                && memchr::memchr(b'"', &rest[..len]).is_none()
            {
                let line = &rest[..len];
                if !line.is_empty() {
                    line_ends.clear();
                    line_ends.extend(memchr::memchr_iter(self.delimiter, line));
                    line_ends.push(line.len());
                    on_record(&Record {
                        data: line,
                        ends: &line_ends,
                        gap: 1,
                        newlines_before: newlines,
                        inner_newlines: 0,
                        unclosed_quote: false,
                    });
                }
                newlines += 1;
                pos += len + 1;
                continue;
            }
            self.open.start();
            match self.open.feed(rest, at_eof, newlines, &mut on_record) {
                Some(used) => {
                    newlines += count_newlines(&rest[..used]);
                    pos += used;
                }
                None => {
                    return PieceEnd {
                        unfinished_at: Some(pos),
                        newlines,
                    };
                }
            }
        }
        PieceEnd {
            unfinished_at: None,
            newlines,
        }
    }

    /// The first record of `bytes` (the header) as owned fields, and where the next record
    /// starts; `None` when `bytes` hold no complete record and more may follow.
    pub fn first_record(&mut self, bytes: &[u8], at_eof: bool) -> Option<(Vec<Vec<u8>>, usize)> {
        let mut pos = 0;
        loop {
            let mut fields = None;
            self.open.start();
            pos += self.open.feed(&bytes[pos..], at_eof, 0, &mut |rec| {
                if !rec.is_blank() {
                    fields = Some(
                        (0..rec.len())
                            .map(|i| rec.get(i).unwrap_or_default().to_vec())
                            .collect(),
                    );
                }
            })?;
            match fields {
                Some(fields) => return Some((fields, pos)),
                // Nothing but blank lines.
                None if pos >= bytes.len() => return Some((Vec::new(), pos)),
                None => {}
            }
        }
    }
}

/// Cut `chunk` into pieces of about `piece_bytes` that end at line breaks.
pub fn pieces(chunk: &[u8], piece_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let piece_bytes = piece_bytes.max(1);
    let mut out = Vec::with_capacity(chunk.len() / piece_bytes + 1);
    let mut start = 0;
    while start < chunk.len() {
        let mut end = (start + piece_bytes).min(chunk.len());
        if end < chunk.len() {
            end = match memchr::memchr(b'\n', &chunk[end..]) {
                Some(i) => end + i + 1,
                None => chunk.len(),
            };
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// Chunk buffers handed back after use, so reading does not fault in fresh pages for every
/// chunk of every file.
#[derive(Default)]
pub struct ChunkPool {
    free: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl ChunkPool {
    fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default()
    }

    /// Keep `buf` for a later chunk (a few at most).
    pub fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < 4
        {
            free.push(buf);
        }
    }
}

/// Reads a file in chunks that end at a line break, hashing every byte on the way.
pub struct ChunkReader<'p, R> {
    pool: &'p ChunkPool,
    chunk_bytes: usize,
    inner: R,
    hasher: Sha256,
    /// Bytes read from the file so far.
    pub bytes_read: u64,
    carry: Vec<u8>,
    done: bool,
}

/// A chunk of a file: whole lines, except that the last chunk may end without a line break.
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub at_eof: bool,
}

impl<'p, R: Read> ChunkReader<'p, R> {
    pub fn new(inner: R, pool: &'p ChunkPool, chunk_bytes: usize) -> ChunkReader<'p, R> {
        ChunkReader {
            pool,
            chunk_bytes: chunk_bytes.max(2),
            inner,
            hasher: Sha256::new(),
            bytes_read: 0,
            carry: Vec::new(),
            done: false,
        }
    }

    /// Read into `buf` until it holds `want` bytes or the file ends; false at the end.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
        let start = buf.len();
        let wanted = want.saturating_sub(start);
        buf.reserve(wanted);
        // `read_to_end` reads into the spare capacity without zeroing it first.
        let n = (&mut self.inner).take(wanted as u64).read_to_end(buf)?;
        self.hasher.update(&buf[start..]);
        self.bytes_read += n as u64;
        Ok(n == wanted)
    }

    /// The next chunk; after a chunk with `at_eof`, `None`.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let mut buf = self.pool.take();
        buf.extend_from_slice(&self.carry);
        let mut want = self.chunk_bytes.max(buf.len() + self.chunk_bytes / 2);
        loop {
            let searched = buf.len();
            if !self.fill(&mut buf, want)? {
                self.done = true;
                return Ok(Some(Chunk {
                    bytes: buf,
                    at_eof: true,
                }));
            }
            // A line longer than a chunk: read on until it ends.
            if let Some(i) = memchr::memrchr(b'\n', &buf[searched..]) {
                let cut = searched + i + 1;
                self.carry.clear();
                self.carry.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                return Ok(Some(Chunk {
                    bytes: buf,
                    at_eof: false,
                }));
            }
            want = buf.len() * 2;
        }
    }

    /// The SHA-256 of the whole file; reads whatever is left unread first.
    pub fn finish(mut self) -> io::Result<[u8; 32]> {
        let mut rest = Vec::new();
        while self.fill(&mut rest, self.chunk_bytes)? {
            rest.clear();
        }
        Ok(self.hasher.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &[u8], at_eof: bool) -> (Vec<(u64, Vec<String>)>, PieceEnd) {
        let mut out = Vec::new();
        let end = Splitter::new(b',').parse_piece(bytes, at_eof, |r| {
            out.push((
                r.newlines_before,
                (0..r.len())
                    .map(|i| String::from_utf8_lossy(r.get(i).unwrap()).into_owned())
                    .collect(),
            ))
        });
        (out, end)
    }

    #[test]
    fn records_know_their_lines_across_blank_lines_and_quoted_breaks() {
        let (recs, end) = records(b"a,b\n\n\"x\ny\",z\nc,d\n", false);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].0, 0);
        assert_eq!(recs[1], (2, vec!["x\ny".to_string(), "z".to_string()]));
        assert_eq!(recs[2].0, 4);
        assert_eq!(
            end,
            PieceEnd {
                unfinished_at: None,
                newlines: 5
            }
        );
    }

    #[test]
    fn a_piece_that_ends_inside_a_quote_is_unfinished() {
        let bytes = b"a,b\nc,\"open\n";
        let (recs, end) = records(bytes, false);
        assert_eq!(recs.len(), 1);
        assert_eq!(end.unfinished_at, Some(4));
        assert_eq!(end.newlines, 1);
        // At the end of the file the same bytes are a record.
        let (recs, end) = records(bytes, true);
        assert_eq!(recs.len(), 2);
        assert_eq!(end.unfinished_at, None);
    }

    #[test]
    fn the_quote_state_follows_csv_core() {
        use QuoteState::*;
        let state = |bytes: &[u8]| FieldStart.advance(bytes, b',');
        assert_eq!(state(b"a,\"5 tube"), Quoted);
        assert_eq!(state(b"a,5\" tube"), Unquoted);
        assert_eq!(state(b"a,\"x\"\"y"), Quoted);
        assert_eq!(state(b"a,\"x\"\"y\""), QuoteInQuoted);
        assert_eq!(state(b"a,\"x\ny"), Quoted);
        assert_eq!(state(b"a,\"x\"y"), Unquoted);
    }

    #[test]
    fn pieces_end_at_line_breaks_and_cover_the_chunk() {
        let line = b"0123456789,abcdefghij\n";
        let chunk: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 40_000)
            .collect();
        let ps = pieces(&chunk, PIECE_BYTES);
        assert!(ps.len() > 1);
        assert_eq!(ps[0].start, 0);
        assert_eq!(ps.last().unwrap().end, chunk.len());
        for w in ps.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_eq!(chunk[w[0].end - 1], b'\n');
        }
    }

    #[test]
    fn chunks_end_at_line_breaks_and_hash_the_whole_file() {
        let text: Vec<u8> = b"x,y,z\n"
            .iter()
            .copied()
            .cycle()
            .take(6 * 3_000_000 + 2)
            .collect();
        let pool = ChunkPool::default();
        let mut reader = ChunkReader::new(&text[..], &pool, CHUNK_BYTES);
        let mut seen = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            if !chunk.at_eof {
                assert_eq!(chunk.bytes.last(), Some(&b'\n'));
            }
            seen.extend_from_slice(&chunk.bytes);
        }
        assert_eq!(seen, text);
        let digest: [u8; 32] = Sha256::digest(&text).into();
        assert_eq!(reader.finish().unwrap(), digest);
    }
}

//! Splitting export bytes into CSV records on `\n`: lines without a quote are cut at their
//! delimiters directly (memchr), the rest go through csv_core. It knows no files, encodings or
//! fields: `source` hands it bytes, `stream` decides where they are cut.

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

    /// The first record of `bytes` that is not a blank line (the header), and where the next
    /// record starts; `None` when `bytes` hold no complete record and more may follow.
    pub fn first_record(&mut self, bytes: &[u8], at_eof: bool) -> Option<FirstRecord> {
        let mut pos = 0;
        loop {
            let mut found = None;
            self.open.start();
            pos += self.open.feed(&bytes[pos..], at_eof, 0, &mut |rec| {
                if !rec.is_blank() {
                    found = Some((
                        (0..rec.len())
                            .map(|i| rec.get(i).unwrap_or_default().to_vec())
                            .collect(),
                        rec.unclosed_quote,
                    ));
                }
            })?;
            match found {
                Some((fields, unclosed_quote)) => {
                    return Some(FirstRecord {
                        fields,
                        end: pos,
                        unclosed_quote,
                    });
                }
                // Nothing but blank lines.
                None if pos >= bytes.len() => {
                    return Some(FirstRecord {
                        fields: Vec::new(),
                        end: pos,
                        unclosed_quote: false,
                    });
                }
                None => {}
            }
        }
    }
}

/// The first record of a file, owned: its header.
pub struct FirstRecord {
    /// Empty when the bytes held nothing but blank lines.
    pub fields: Vec<Vec<u8>>,
    /// Where the record after it starts.
    pub end: usize,
    /// The file ended inside a quoted field of this record: every line after the quote was
    /// read into it.
    pub unclosed_quote: bool,
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
}

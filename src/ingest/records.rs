//! Splitting export bytes into CSV records on `\n` (`text` has made every line end one): lines
//! without a quote are cut at their delimiters directly (memchr), the rest go through csv_core.
//! It knows no files, encodings or fields: `source` hands it bytes, `stream` decides where they
//! are cut. A workbook row (`sheet`) is handed on as a `Record` too, with its date cells.
//!
//! It also holds the one bound on a record (`MAX_RECORD_BYTES`): a line, the header, a quoted
//! field and a record open across chunks never take more than that much memory. A record that
//! has not ended within it is handed on as `too_long`, with no fields, and reading resumes
//! after the first line break past the bound: the lines skipped belong to that one record.

/// The most bytes a record may take (SPEC §9: memory stays bounded): 4 MB. A line, the header,
/// a quoted field and a record that runs across chunks are all bounded by it; `Cuts` carries
/// it so that tests can set it small.
pub const MAX_RECORD_BYTES: usize = 4 << 20;

/// A bound in bytes as messages give it: `4 MB`, or `30 bytes` for the small bounds of tests.
pub fn bound_text(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a workbook's cell says about a date, beside its text: a date cell is a date whatever
/// its display format, and is not read through `date_formats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateCell {
    /// Not a date cell (all of a CSV record's fields).
    #[default]
    None,
    Date(crate::model::Day),
    /// A date cell that holds no calendar date (Excel's 29 February 1900, a negative serial).
    NotADate,
}

/// One record as csv_core split it, or a workbook row.
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
    /// The record did not end within `MAX_RECORD_BYTES` (or the bound the splitter was given):
    /// it has no fields, and it took every line up to the first line break after the bound.
    pub too_long: bool,
    /// A workbook row's date cells, one a field; empty for CSV records and rows without dates.
    pub date_cells: &'a [DateCell],
}

impl<'a> Record<'a> {
    /// A workbook row as a record: its fields' text back to back in `data`, each ending at its
    /// `ends` entry; `newlines_before` as for a CSV record of the piece.
    pub fn from_row(
        data: &'a [u8],
        ends: &'a [usize],
        newlines_before: u64,
        too_long: bool,
        date_cells: &'a [DateCell],
    ) -> Record<'a> {
        Record {
            data,
            ends,
            gap: 0,
            newlines_before,
            inner_newlines: 0,
            unclosed_quote: false,
            too_long,
            date_cells,
        }
    }

    /// A record that is one whole line of the input, split without csv_core: `gap` 1 when
    /// its fields are read straight from the line, 0 when they were copied out unescaped.
    fn line(data: &'a [u8], ends: &'a [usize], gap: usize, newlines_before: u64) -> Record<'a> {
        Record {
            data,
            ends,
            gap,
            newlines_before,
            inner_newlines: 0,
            unclosed_quote: false,
            too_long: false,
            date_cells: &[],
        }
    }

    /// A record that did not end within the bound: no fields.
    fn too_long(newlines_before: u64, inner_newlines: u64) -> Record<'static> {
        Record {
            data: &[],
            ends: &[],
            gap: 0,
            newlines_before,
            inner_newlines,
            unclosed_quote: false,
            too_long: true,
            date_cells: &[],
        }
    }

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

    /// What field `i` says about a date, when it is a workbook's date cell.
    pub fn date_cell(&self, i: usize) -> DateCell {
        self.date_cells.get(i).copied().unwrap_or_default()
    }

    /// A line with nothing on it but spaces (or the `\r` of a CRLF): not a row.
    pub fn is_blank(&self) -> bool {
        !self.too_long
            && self.ends.len() == 1
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
    /// The longest record read (`MAX_RECORD_BYTES` but in tests).
    max_record: usize,
    /// csv_core's reader, made when a record first needs it: most pieces have no quoted line
    /// break, and building the reader for each piece was a hundredth of reading.
    open: Option<OpenRecord>,
    /// The fields of the last line `split_quoted_line` split, back to back.
    quoted_fields: Vec<u8>,
}

/// Split `line` (no line break in it) at its delimiters into `fields` and `ends` as csv_core
/// would (quotes on, a doubled quote inside quotes is one quote, no escape character), and say
/// whether it could: `false` when a quoted field is still open at the end of the line, for
/// csv_core to read on over the line break. A field is quoted only when its first byte is a
/// quote; what follows its closing quote up to the delimiter is kept as it is, and so is a
/// quote inside an unquoted field. This is csv_core's work done with memchr, because records
/// with quoted fields (addresses, notes) were a sixth of reading the four layouts through it.
fn split_quoted_line(
    line: &[u8],
    delimiter: u8,
    fields: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> bool {
    fields.clear();
    ends.clear();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            i += 1;
            loop {
                let Some(quote) = memchr::memchr(b'"', &line[i..]) else {
                    return false;
                };
                fields.extend_from_slice(&line[i..i + quote]);
                i += quote + 1;
                if line.get(i) == Some(&b'"') {
                    fields.push(b'"');
                    i += 1;
                } else {
                    break;
                }
            }
        }
        match memchr::memchr(delimiter, &line[i..]) {
            Some(at) => {
                fields.extend_from_slice(&line[i..i + at]);
                ends.push(fields.len());
                i += at + 1;
            }
            None => {
                fields.extend_from_slice(&line[i..]);
                ends.push(fields.len());
                return true;
            }
        }
    }
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
    /// Bytes consumed by this record so far, and the most it may take: past it, the record is
    /// too long and the rest of it is skipped (`skipping`) up to the next line break.
    consumed: usize,
    max_record: usize,
    skipping: bool,
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
    /// The state after `bytes`. Inside a quoted field only a quote can change it, and inside an
    /// unquoted one only a delimiter or a line break, so those stretches are skipped with
    /// memchr: following every byte of the records csv_core reads took a tenth of reading an
    /// export whose notes are quoted. `advance_bytewise` (in the tests) is the rule byte by byte.
    fn advance(mut self, bytes: &[u8], delimiter: u8) -> QuoteState {
        use QuoteState::*;
        let mut pos = 0;
        while pos < bytes.len() {
            match self {
                Quoted => match memchr::memchr(b'"', &bytes[pos..]) {
                    Some(i) => {
                        self = QuoteInQuoted;
                        pos += i + 1;
                    }
                    None => return Quoted,
                },
                Unquoted => match memchr::memchr2(delimiter, b'\n', &bytes[pos..]) {
                    Some(i) => {
                        self = FieldStart;
                        pos += i + 1;
                    }
                    None => return Unquoted,
                },
                FieldStart | QuoteInQuoted => {
                    self = match (self, bytes[pos]) {
                        (QuoteInQuoted, b'"') => Quoted,
                        (FieldStart, b'"') => Quoted,
                        (_, b'\n') => FieldStart,
                        (_, d) if d == delimiter => FieldStart,
                        _ => Unquoted,
                    };
                    pos += 1;
                }
            }
        }
        self
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

impl Splitter {
    /// A splitter on `delimiter` whose records take at most `max_record` bytes.
    pub fn new(delimiter: u8, max_record: usize) -> Splitter {
        let max_record = max_record.max(1);
        Splitter {
            delimiter,
            max_record,
            open: None,
            quoted_fields: Vec::new(),
        }
    }

    /// The record the last `parse_piece` left unfinished, to be continued.
    pub fn into_open(self) -> OpenRecord {
        let (delimiter, max_record) = (self.delimiter, self.max_record);
        self.open
            .unwrap_or_else(|| OpenRecord::new(delimiter, max_record))
    }

    /// csv_core's reader and buffers, made on first use.
    fn open_record(&mut self) -> &mut OpenRecord {
        let (delimiter, max_record) = (self.delimiter, self.max_record);
        self.open
            .get_or_insert_with(|| OpenRecord::new(delimiter, max_record))
    }
}

impl OpenRecord {
    fn new(delimiter: u8, max_record: usize) -> OpenRecord {
        OpenRecord {
            reader: Self::build_reader(delimiter),
            out: vec![0; 1 << 10],
            ends: vec![0; 32],
            nout: 0,
            nend: 0,
            newlines: 0,
            quote: QuoteState::FieldStart,
            consumed: 0,
            max_record,
            skipping: false,
            delimiter,
        }
    }

    /// A csv_core reader at the start of a record.
    fn build_reader(delimiter: u8) -> csv_core::Reader {
        let mut reader = csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            // Split on `\n` only: the `\r` of a CRLF stays at the end of the last field, where
            // trimming removes it like any other space.
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build();
        // csv_core drops a byte-order mark before its first record; a blank line first makes
        // every later record keep its bytes as they are.
        let _ = reader.read_record(b"\n", &mut [0; 4], &mut [0; 4]);
        reader
    }

    /// Begin a record (after one ended: the reader is at the start of a record).
    fn start(&mut self) {
        self.nout = 0;
        self.nend = 0;
        self.newlines = 0;
        self.quote = QuoteState::FieldStart;
        self.consumed = 0;
        self.skipping = false;
    }

    /// End a record that ran past the bound: hand it on without fields, and start afresh (the
    /// reader was left inside the record, and its buffers may have grown to the bound).
    fn end_too_long(
        &mut self,
        newlines_before: u64,
        terminated: bool,
        on_record: &mut impl FnMut(&Record<'_>),
    ) {
        on_record(&Record::too_long(
            newlines_before,
            self.newlines - u64::from(terminated),
        ));
        self.reader = Self::build_reader(self.delimiter);
        self.out = vec![0; 1 << 10];
        self.ends = vec![0; 32];
        self.skipping = false;
    }

    /// Line breaks consumed by the record so far (all of them once it has ended).
    pub fn newlines(&self) -> u64 {
        self.newlines
    }

    /// Feed `bytes` to the record. When it ends within them, hand it to `on_record` and return
    /// the bytes it used; `None` when they ran out first (and `at_eof` is false), all consumed.
    /// `newlines_before` is passed on as the record's `newlines_before`.
    ///
    /// A record that has not ended once it has taken `max_record + 1` bytes is too long: the
    /// rest of it up to the first line break is skipped without being kept, and it is handed
    /// on as `too_long`.
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
            if self.skipping {
                return match memchr::memchr(b'\n', &bytes[pos..]) {
                    Some(i) => {
                        self.newlines += 1;
                        self.end_too_long(newlines_before, true, on_record);
                        Some(pos + i + 1)
                    }
                    None if at_eof => {
                        self.end_too_long(newlines_before, false, on_record);
                        Some(bytes.len())
                    }
                    None => None,
                };
            }
            let rest = &bytes[pos..];
            let at_end = rest.is_empty();
            if at_end && !at_eof {
                return None;
            }
            // csv_core stops short of its input only to say an output buffer is full, so the
            // bound is reached with `InputEmpty` (below); this only keeps the slice in range.
            if self.consumed > self.max_record {
                self.skipping = true;
                continue;
            }
            // Never more than the bound allows: the record's bytes stay bounded.
            let input = &rest[..rest.len().min(self.max_record + 1 - self.consumed)];
            // The end of the file inside a quoted field: the record never closed its quote.
            let unclosed_quote = at_end && self.quote == QuoteState::Quoted;
            let (res, nin, o, e) = self.reader.read_record(
                input,
                &mut self.out[self.nout..],
                &mut self.ends[self.nend..],
            );
            self.quote = self.quote.advance(&input[..nin], self.delimiter);
            self.newlines += count_newlines(&input[..nin]);
            self.consumed += nin;
            pos += nin;
            self.nout += o;
            self.nend += e;
            match res {
                R::InputEmpty => {
                    if self.consumed > self.max_record {
                        self.skipping = true;
                    }
                }
                R::OutputFull => {
                    let len = self.out.len();
                    self.out.resize(len * 2, 0);
                }
                R::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                R::Record => {
                    let terminated = bytes[..pos].last() == Some(&b'\n');
                    on_record(&Record {
                        data: &self.out[..self.nout],
                        ends: &self.ends[..self.nend],
                        gap: 0,
                        newlines_before,
                        inner_newlines: self.newlines - u64::from(terminated),
                        unclosed_quote,
                        too_long: false,
                        date_cells: &[],
                    });
                    return Some(pos);
                }
                // Only blank lines were left, at the end of the file.
                R::End => return Some(bytes.len()),
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
    /// A line without a quote is split at its delimiters directly (most lines of an export),
    /// and so is a line whose quotes all close on it (`split_quoted_line`); a record with a
    /// quoted line break goes through csv_core, which reads on over it.
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
                && self.split_line(&rest[..len], newlines, &mut line_ends, &mut on_record)
            {
                newlines += 1;
                pos += len + 1;
                continue;
            }
            let open = self.open_record();
            open.start();
            match open.feed(rest, at_eof, newlines, &mut on_record) {
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

    /// Hand on `line` (no line break in it) as a record without csv_core, and say whether it
    /// could: a line without a quote is split at its delimiters (found in one pass that stops
    /// at the first quote), one whose quotes all close on it by `split_quoted_line`, and one
    /// past the bound without a quote is too long; an empty line is no record. `false` when a
    /// quote may carry the record over the line break: csv_core reads it.
    fn split_line(
        &mut self,
        line: &[u8],
        newlines_before: u64,
        line_ends: &mut Vec<usize>,
        on_record: &mut impl FnMut(&Record<'_>),
    ) -> bool {
        if line.len() > self.max_record {
            if memchr::memchr(b'"', line).is_some() {
                return false;
            }
            on_record(&Record::too_long(newlines_before, 0));
            return true;
        }
        line_ends.clear();
        for at in memchr::memchr2_iter(self.delimiter, b'"', line) {
            if line[at] == b'"' {
                if !split_quoted_line(line, self.delimiter, &mut self.quoted_fields, line_ends) {
                    return false;
                }
                on_record(&Record::line(
                    &self.quoted_fields,
                    line_ends,
                    0,
                    newlines_before,
                ));
                return true;
            }
            line_ends.push(at);
        }
        if !line.is_empty() {
            line_ends.push(line.len());
            on_record(&Record::line(line, line_ends, 1, newlines_before));
        }
        true
    }

    /// The first record of `bytes` that is not a blank line (the header), and where the next
    /// record starts; `None` when `bytes` hold no complete record and more may follow. The
    /// header must end within the record bound (blank lines before it included): past it, it
    /// is `too_long`, and nothing after the bound is needed to tell.
    pub fn first_record(&mut self, bytes: &[u8], at_eof: bool) -> Option<FirstRecord> {
        // The header's line break may be the byte after the bound.
        let limit = self.max_record + 1;
        let too_long = || FirstRecord {
            fields: Vec::new(),
            end: limit,
            unclosed_quote: false,
            too_long: true,
        };
        let mut pos = 0;
        loop {
            let mut found = None;
            let open = self.open_record();
            open.start();
            let used = open.feed(&bytes[pos..], at_eof, 0, &mut |rec| {
                if !rec.is_blank() {
                    found = Some((
                        (0..rec.len())
                            .map(|i| rec.get(i).unwrap_or_default().to_vec())
                            .collect(),
                        rec.unclosed_quote,
                        rec.too_long,
                    ));
                }
            });
            let Some(used) = used else {
                // The bytes ran out inside the header: more are needed only within the bound.
                return (bytes.len() > limit).then(too_long);
            };
            pos += used;
            if pos > limit {
                return Some(too_long());
            }
            match found {
                Some((_, _, true)) => return Some(too_long()),
                Some((fields, unclosed_quote, false)) => {
                    return Some(FirstRecord {
                        fields,
                        end: pos,
                        unclosed_quote,
                        too_long: false,
                    });
                }
                // Nothing but blank lines (so far, unless the file ends here).
                None if pos >= bytes.len() => {
                    return at_eof.then(|| FirstRecord {
                        fields: Vec::new(),
                        end: pos,
                        unclosed_quote: false,
                        too_long: false,
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
    /// The header (with the blank lines before it) did not end within the record bound.
    pub too_long: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &[u8], at_eof: bool) -> (Vec<(u64, Vec<String>)>, PieceEnd) {
        let mut out = Vec::new();
        let end = Splitter::new(b',', MAX_RECORD_BYTES).parse_piece(bytes, at_eof, |r| {
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

    /// A quote that never closes, fed chunk by chunk without a line break: the record keeps
    /// at most the bound's worth of bytes and is told too long once, at the first line break.
    #[test]
    fn an_open_record_holds_no_more_than_the_bound() {
        let mut splitter = Splitter::new(b',', 1_000);
        let mut seen = Vec::new();
        let mut on_record = |r: &Record<'_>| seen.push((r.too_long, r.inner_newlines, r.len()));
        let first = b"a,\"never closed\n";
        assert_eq!(
            splitter
                .parse_piece(first, false, &mut on_record)
                .unfinished_at,
            Some(0)
        );
        let mut open = splitter.into_open();
        let chunk = "x,".repeat(1 << 15);
        for _ in 0..100 {
            assert_eq!(open.feed(chunk.as_bytes(), false, 0, &mut on_record), None);
            assert!(open.out.len() <= 2_048 && open.ends.len() <= 1_024);
        }
        let used = open.feed(b"y\nb,c\n", false, 0, &mut on_record);
        assert_eq!(used, Some(2));
        assert_eq!(open.newlines(), 2);
        assert_eq!(seen, [(true, 1, 0)]);
    }

    /// `line` split by csv_core alone (the splitter's reader), fields as bytes.
    fn csv_core_fields(line: &[u8], delimiter: u8) -> Vec<Vec<u8>> {
        let mut open = OpenRecord::new(delimiter, MAX_RECORD_BYTES);
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        let mut fields = Vec::new();
        open.start();
        open.feed(&bytes, true, 0, &mut |r| {
            fields = (0..r.len()).map(|i| r.get(i).unwrap().to_vec()).collect();
        });
        fields
    }

    proptest::proptest! {
        #[test]
        fn lines_with_quotes_that_close_split_as_csv_core_splits_them(
            line in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b'"', b',', b';', b'a', b' ', b'\r', 0xd0]),
                0..48,
            ),
            semicolon in proptest::bool::ANY,
        ) {
            // The splitter hands it only lines with a quote.
            proptest::prop_assume!(line.contains(&b'"'));
            let delimiter = if semicolon { b';' } else { b',' };
            let (mut fields, mut ends) = (Vec::new(), Vec::new());
            if split_quoted_line(&line, delimiter, &mut fields, &mut ends) {
                let split: Vec<Vec<u8>> = ends
                    .iter()
                    .scan(0, |start, &end| {
                        let field = fields[*start..end].to_vec();
                        *start = end;
                        Some(field)
                    })
                    .collect();
                proptest::prop_assert_eq!(split, csv_core_fields(&line, delimiter));
            } else {
                // Only a quote still open at the line's end is left to csv_core.
                proptest::prop_assert_eq!(
                    QuoteState::FieldStart.advance(&line, delimiter),
                    QuoteState::Quoted
                );
            }
        }
    }

    /// The records of a whole file as csv_core alone reads them, each with the line it starts
    /// on (empty lines skipped, as `parse_piece` skips them).
    fn csv_core_records(bytes: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut open = OpenRecord::new(b',', MAX_RECORD_BYTES);
        let mut records = Vec::new();
        let mut pos = 0;
        loop {
            while bytes.get(pos) == Some(&b'\n') {
                pos += 1;
            }
            if pos >= bytes.len() {
                return records;
            }
            let line = count_newlines(&bytes[..pos]);
            open.start();
            let used = open.feed(&bytes[pos..], true, line, &mut |r| {
                let fields = (0..r.len()).map(|i| r.get(i).unwrap().to_vec()).collect();
                records.push((r.newlines_before, fields));
            });
            match used {
                Some(used) if used > 0 => pos += used,
                _ => return records,
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn a_piece_splits_into_the_records_csv_core_reads_on_the_same_lines(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b',', b'a', b' ', b'\r', b'\n', b'\n']),
                0..160,
            ),
        ) {
            let mut records = Vec::new();
            Splitter::new(b',', MAX_RECORD_BYTES).parse_piece(&bytes, true, |r| {
                let fields = (0..r.len()).map(|i| r.get(i).unwrap().to_vec()).collect();
                records.push((r.newlines_before, fields));
            });
            proptest::prop_assert_eq!(records, csv_core_records(&bytes));
        }
    }

    #[test]
    fn a_quoted_field_with_a_line_break_is_read_on_by_csv_core_and_the_rest_split_directly() {
        let (recs, end) = records(b"\"a \"\"x\"\"\",b\n\"p\nq\",\"r\"s\nt,\"\"\n", true);
        let fields = |r: &[&str]| r.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        assert_eq!(recs[0], (0, fields(&["a \"x\"", "b"])));
        assert_eq!(recs[1], (1, fields(&["p\nq", "rs"])));
        assert_eq!(recs[2], (3, fields(&["t", ""])));
        assert_eq!(end.newlines, 4);
    }

    /// The quoting rule one byte at a time: what `QuoteState::advance` must agree with.
    fn advance_bytewise(mut state: QuoteState, bytes: &[u8], delimiter: u8) -> QuoteState {
        use QuoteState::*;
        for &b in bytes {
            state = match (state, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (FieldStart, b'"') => Quoted,
                (_, b'\n') => FieldStart,
                (_, d) if d == delimiter => FieldStart,
                _ => Unquoted,
            };
        }
        state
    }

    proptest::proptest! {
        #[test]
        fn the_quote_state_skips_to_the_bytes_that_change_it_and_agrees_with_the_bytewise_rule(
            start in 0usize..4,
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b',', b';', b'\n', b'a', b' ', 0xd0]),
                0..64,
            ),
            semicolon in proptest::bool::ANY,
        ) {
            use QuoteState::*;
            let start = [FieldStart, Unquoted, Quoted, QuoteInQuoted][start];
            let delimiter = if semicolon { b';' } else { b',' };
            proptest::prop_assert_eq!(
                start.advance(&bytes, delimiter),
                advance_bytewise(start, &bytes, delimiter)
            );
        }
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

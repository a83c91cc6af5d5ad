//! A text export's bytes on their way to the chunk reader: every byte of the file hashed and
//! counted as read, UTF-16 (by its byte-order mark, or declared) decoded to UTF-8, and a bare CR
//! (Excel for Mac's "CSV (Macintosh)") turned into LF, so that all after it sees lines ending
//! in `\n`. It knows nothing of records, quotes or fields.
//!
//! A bare CR becomes LF wherever it is, also inside a quoted field: there it stays data (the
//! field holds a line break), and it counts as a line, as in an editor. CRLF is left as it is.
//! UTF-16 that does not decode (an unpaired surrogate, an odd byte at the end) is written as a
//! byte that is never UTF-8 (0xFF), so the field or header holding it is told undecodable as in
//! a UTF-8 file; nothing is replaced silently.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::config::EncodingChoice;

/// Reads a file, hashing and counting every byte on the way.
pub(super) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub(super) fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes read from the file so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Read into `buf` until it holds `limit` bytes or the file ends.
    pub(super) fn read_up_to(&mut self, buf: &mut Vec<u8>, limit: usize) -> io::Result<()> {
        let want = limit.saturating_sub(buf.len()) as u64;
        self.take(want).read_to_end(buf).map(|_| ())
    }

    /// The SHA-256 of the whole file; reads whatever is left unread first.
    pub(super) fn finish(mut self) -> io::Result<[u8; 32]> {
        let mut rest = vec![0; 64 << 10];
        while self.read(&mut rest)? > 0 {}
        Ok(self.hasher.finalize().into())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A byte that never occurs in UTF-8: what undecodable UTF-16 becomes.
const NOT_UTF8: u8 = 0xFF;

/// UTF-16 being decoded: the decoder and what it has written but not yet handed on.
struct Utf16 {
    decoder: encoding_rs::Decoder,
    out: Vec<u8>,
    out_pos: usize,
    raw: Vec<u8>,
    /// The end of the file has been decoded.
    finished: bool,
}

/// The text of an export as the chunk reader reads it: UTF-8 or the file's 8-bit encoding,
/// lines ending in `\n` (or CRLF).
pub(super) struct TextReader<R> {
    raw: Hashing<R>,
    /// The bytes read from the file to tell what it is, handed on (or decoded) first.
    head: Vec<u8>,
    head_pos: usize,
    utf16: Option<Utf16>,
    /// A byte read ahead of the caller (to tell a CR from a CRLF) and not yet handed on.
    lookahead: Option<u8>,
    /// The last byte handed on was held back: a CR, whose meaning depends on the next byte.
    pending_cr: bool,
    /// The encoding the file was written in, for the manifest and `inspect`; `None`: as
    /// decided later (UTF-8 or Windows-1251).
    pub(super) utf16_name: Option<&'static str>,
}

impl<R: Read> TextReader<R> {
    /// Read `raw`, whose first bytes `head` have already been read from it. UTF-16 is decoded
    /// when the head starts with its byte-order mark (whatever `declared` says) and, little-endian,
    /// when `declared` is UTF-16 and there is none.
    pub(super) fn new(
        mut raw: Hashing<R>,
        mut head: Vec<u8>,
        declared: EncodingChoice,
    ) -> io::Result<TextReader<R>> {
        // A byte-order mark takes two bytes.
        raw.read_up_to(&mut head, 2)?;
        let utf16 = if head.starts_with(b"\xFF\xFE") {
            Some(encoding_rs::UTF_16LE)
        } else if head.starts_with(b"\xFE\xFF") {
            Some(encoding_rs::UTF_16BE)
        } else if declared == EncodingChoice::Utf16 {
            Some(encoding_rs::UTF_16LE)
        } else {
            None
        };
        Ok(TextReader {
            raw,
            head,
            head_pos: 0,
            utf16_name: utf16.map(|e| {
                if e == encoding_rs::UTF_16LE {
                    "utf-16le"
                } else {
                    "utf-16be"
                }
            }),
            utf16: utf16.map(|encoding| Utf16 {
                decoder: encoding.new_decoder_with_bom_removal(),
                out: Vec::new(),
                out_pos: 0,
                raw: Vec::new(),
                finished: false,
            }),
            lookahead: None,
            pending_cr: false,
        })
    }

    /// Bytes read from the file so far (not the decoded ones).
    pub(super) fn bytes_read(&self) -> u64 {
        self.raw.bytes_read()
    }

    /// The SHA-256 of the whole file; reads whatever is left unread first.
    pub(super) fn finish(self) -> io::Result<[u8; 32]> {
        self.raw.finish()
    }

    /// The file's bytes (decoded, for UTF-16), before line ends are looked at.
    fn read_decoded(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(b) = self.lookahead.take() {
            buf[0] = b;
            return Ok(1);
        }
        if self.utf16.is_none() {
            if self.head_pos < self.head.len() {
                let n = buf.len().min(self.head.len() - self.head_pos);
                buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
                self.head_pos += n;
                return Ok(n);
            }
            return self.raw.read(buf);
        }
        loop {
            let Some(utf16) = self.utf16.as_mut() else {
                unreachable!("checked above");
            };
            if utf16.out_pos < utf16.out.len() {
                let n = buf.len().min(utf16.out.len() - utf16.out_pos);
                buf[..n].copy_from_slice(&utf16.out[utf16.out_pos..utf16.out_pos + n]);
                utf16.out_pos += n;
                return Ok(n);
            }
            if utf16.finished {
                return Ok(0);
            }
            utf16.out.clear();
            utf16.out_pos = 0;
            utf16.raw.clear();
            if self.head_pos < self.head.len() {
                utf16.raw.extend_from_slice(&self.head[self.head_pos..]);
                self.head_pos = self.head.len();
                self.head = Vec::new();
            } else {
                self.raw.read_up_to(&mut utf16.raw, 64 << 10)?;
            }
            let last = utf16.raw.is_empty();
            decode_utf16(&mut utf16.decoder, &utf16.raw, last, &mut utf16.out);
            utf16.finished = last;
        }
    }
}

/// Decode `src` into `out`, writing `NOT_UTF8` for what does not decode.
fn decode_utf16(decoder: &mut encoding_rs::Decoder, src: &[u8], last: bool, out: &mut Vec<u8>) {
    use encoding_rs::DecoderResult;
    let mut pos = 0;
    loop {
        let need = decoder
            .max_utf8_buffer_length_without_replacement(src.len() - pos)
            .unwrap_or(4 * (src.len() - pos) + 16)
            .max(16);
        let start = out.len();
        out.resize(start + need, 0);
        let (result, read, written) =
            decoder.decode_to_utf8_without_replacement(&src[pos..], &mut out[start..], last);
        out.truncate(start + written);
        pos += read;
        match result {
            DecoderResult::InputEmpty => return,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => out.push(NOT_UTF8),
        }
    }
}

impl<R: Read> Read for TextReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let mut len;
            if self.pending_cr {
                // The CR held back: a line end of its own unless an LF follows it.
                self.pending_cr = false;
                if buf.len() == 1 {
                    let mut one = [0u8];
                    let n = self.read_decoded(&mut one)?;
                    self.lookahead = (n > 0).then_some(one[0]);
                    buf[0] = if self.lookahead == Some(b'\n') {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    return Ok(1);
                }
                let n = self.read_decoded(&mut buf[1..])?;
                buf[0] = if n > 0 && buf[1] == b'\n' {
                    b'\r'
                } else {
                    b'\n'
                };
                if n == 0 {
                    return Ok(1);
                }
                len = n + 1;
            } else {
                len = self.read_decoded(buf)?;
                if len == 0 {
                    return Ok(0);
                }
            }
            // A CR at the end: whether an LF follows is known only with the next read.
            if buf[len - 1] == b'\r' {
                self.pending_cr = true;
                len -= 1;
            }
            let mut from = 0;
            while let Some(at) = memchr::memchr(b'\r', &buf[from..len]) {
                let i = from + at;
                // Past `len` is the CR held back, which is not an LF.
                if i + 1 == len || buf[i + 1] != b'\n' {
                    buf[i] = b'\n';
                }
                from = i + 1;
            }
            if len > 0 {
                return Ok(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` through a text reader, read `step` bytes at a time.
    fn through(bytes: &[u8], declared: EncodingChoice, head_len: usize, step: usize) -> Vec<u8> {
        let mut raw = Hashing::new(bytes);
        let mut head = Vec::new();
        raw.read_up_to(&mut head, head_len).unwrap();
        let mut reader = TextReader::new(raw, head, declared).unwrap();
        let mut out = Vec::new();
        let mut buf = vec![0; step];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(reader.bytes_read(), bytes.len() as u64);
        out
    }

    fn all_ways(bytes: &[u8], declared: EncodingChoice) -> Vec<u8> {
        let first = through(bytes, declared, 1 << 20, 1 << 16);
        for head_len in [0, 1, 2, 3, 7] {
            for step in [1, 2, 3, 5, 64] {
                assert_eq!(
                    through(bytes, declared, head_len, step),
                    first,
                    "head {head_len}, step {step}"
                );
            }
        }
        first
    }

    #[test]
    fn bare_crs_are_line_ends_and_crlf_stays() {
        let out = all_ways(b"a;b\rc;d\r\ne;\"f\rg\"\r\rh\r", EncodingChoice::Auto);
        assert_eq!(out, b"a;b\nc;d\r\ne;\"f\ng\"\n\nh\n");
        assert_eq!(all_ways(b"x\r", EncodingChoice::Auto), b"x\n");
        assert_eq!(all_ways(b"\r\r\n\r", EncodingChoice::Auto), b"\n\r\n\n");
        let plain = b"id,type\nA,b\r\nC,d";
        assert_eq!(all_ways(plain, EncodingChoice::Auto), plain);
    }

    #[test]
    fn utf16_is_decoded_by_its_byte_order_mark() {
        let text = "ЕГН\tВид\r\n1\tРеинтеграция\r2\tx";
        let le: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = b"\xFE\xFF"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let want = "ЕГН\tВид\r\n1\tРеинтеграция\n2\tx".as_bytes();
        for bytes in [&le, &be] {
            for declared in [
                EncodingChoice::Auto,
                EncodingChoice::Utf16,
                EncodingChoice::Utf8,
            ] {
                assert_eq!(all_ways(bytes, declared), want);
            }
        }
        // Declared, without a byte-order mark: little-endian.
        assert_eq!(all_ways(&le[2..], EncodingChoice::Utf16), want);
    }

    #[test]
    fn utf16_that_does_not_decode_is_marked_not_replaced() {
        // "a", an unpaired high surrogate, "b", then an odd byte at the end.
        let bytes = b"\xFF\xFEa\x00\x00\xD8b\x00\x0A";
        let out = all_ways(bytes, EncodingChoice::Auto);
        assert_eq!(out, b"a\xFFb\xFF");
        assert!(std::str::from_utf8(&out).is_err());
    }

    #[test]
    fn the_hash_is_of_the_file_bytes() {
        let bytes = b"\xFF\xFEa\x00\r\x00b\x00";
        let mut raw = Hashing::new(&bytes[..]);
        let mut head = Vec::new();
        raw.read_up_to(&mut head, 3).unwrap();
        let mut reader = TextReader::new(raw, head, EncodingChoice::Auto).unwrap();
        let mut first = [0u8; 1];
        reader.read_exact(&mut first).unwrap();
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        assert_eq!(reader.finish().unwrap(), digest);
    }
}

//! Reading a text export in chunks that end at a line break, with the buffers they take
//! kept for reuse (`ChunkPool`). It reads what `text` hands it (decoded, lines ending in `\n`)
//! and decides nothing about encodings, headers or records.

use std::io::{self, Read};

use super::text::TextReader;

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

/// A chunk of a file: whole lines, except that the last chunk may end without a line break
/// and a chunk that holds no line break at all ends mid-line.
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub at_eof: bool,
}

/// Reads a file's text in chunks that end at a line break (the file's bytes are hashed below,
/// by `text`).
pub(super) struct ChunkReader<'p, R> {
    pub(super) pool: &'p ChunkPool,
    chunk_bytes: usize,
    inner: TextReader<R>,
    carry: Vec<u8>,
    done: bool,
}

impl<'p, R: Read> ChunkReader<'p, R> {
    pub(super) fn new(
        inner: TextReader<R>,
        pool: &'p ChunkPool,
        chunk_bytes: usize,
    ) -> ChunkReader<'p, R> {
        ChunkReader {
            pool,
            chunk_bytes: chunk_bytes.max(2),
            inner,
            carry: Vec::new(),
            done: false,
        }
    }

    /// Bytes read from the file so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }

    /// The encoding the text was decoded from, when it was UTF-16.
    pub(super) fn utf16_name(&self) -> Option<&'static str> {
        self.inner.utf16_name
    }

    /// Read into `buf` until it holds `want` bytes or the file ends; false at the end.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
        let start = buf.len();
        let wanted = want.saturating_sub(start);
        buf.reserve(wanted);
        // `read_to_end` reads into the spare capacity without zeroing it first.
        let n = (&mut self.inner).take(wanted as u64).read_to_end(buf)?;
        Ok(n == wanted)
    }

    /// The next chunk; after a chunk with `at_eof`, `None`.
    pub(super) fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let mut buf = self.pool.take();
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        // The carry holds no line break: what is read after it is searched.
        let searched = buf.len();
        let want = self.chunk_bytes.max(buf.len() + self.chunk_bytes / 2);
        if !self.fill(&mut buf, want)? {
            self.done = true;
            return Ok(Some(Chunk {
                bytes: buf,
                at_eof: true,
            }));
        }
        // Cut after the last line break. A chunk without one (a line longer than a chunk)
        // ends mid-line, and the record goes on in the next chunk: a chunk never grows to
        // hold a whole line, so a file without line breaks is read in chunks all the same.
        if let Some(i) = memchr::memrchr(b'\n', &buf[searched..]) {
            let cut = searched + i + 1;
            self.carry.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
        }
        Ok(Some(Chunk {
            bytes: buf,
            at_eof: false,
        }))
    }

    /// The SHA-256 of the whole file; reads whatever is left unread first.
    pub(super) fn finish(self) -> io::Result<[u8; 32]> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EncodingChoice;
    use crate::ingest::text::Hashing;
    use sha2::{Digest, Sha256};

    fn text_reader(bytes: &[u8]) -> TextReader<&[u8]> {
        TextReader::new(Hashing::new(bytes), Vec::new(), EncodingChoice::Auto).unwrap()
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
        let mut reader = ChunkReader::new(text_reader(&text), &pool, 2 << 20);
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

    #[test]
    fn a_chunk_without_a_line_break_ends_mid_line_and_never_grows() {
        let text = vec![b'x'; 100_000];
        let pool = ChunkPool::default();
        let mut reader = ChunkReader::new(text_reader(&text), &pool, 1_000);
        let mut seen = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            assert!(chunk.bytes.len() <= 1_500, "{}", chunk.bytes.len());
            seen.extend_from_slice(&chunk.bytes);
        }
        assert_eq!(seen, text);
    }
}

//! Keyed pseudonyms (SPEC §3): identifier normalization, ЕГН/ЛНЧ check digits, the key file
//! and HMAC-SHA256. The key never leaves this module: it is not printed, logged or written,
//! and its bytes are zeroized when the `Key` is dropped.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

use crate::model::Pseudonym;

mod lanes;

type HmacSha256 = Hmac<Sha256>;

/// The line that marks a key file as the public demo key (SPEC §3). `keygen` never writes it.
pub const DEMO_KEY_MARKER: &str = "outcomes-public-demo-key";

/// The role an identifier plays; one value gets different pseudonyms in different roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Child,
    Family,
    Case,
}

impl Domain {
    fn tag(self) -> &'static [u8] {
        match self {
            Domain::Child => b"child",
            Domain::Family => b"family",
            Domain::Case => b"case",
        }
    }
}

/// Cyrillic capitals that look like Latin ones, folded so an id typed in either alphabet links.
fn fold_lookalike(c: char) -> char {
    match c {
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        other => other,
    }
}

fn is_removed(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '/' | '.')
}

/// `is_removed` for an ASCII byte: the ASCII white space (tab to carriage return, space).
fn is_removed_ascii(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ' | b'-' | b'/' | b'.')
}

/// Normalize an identifier before hashing: NFKC, trim, uppercase, drop spaces and `- / .`,
/// fold Cyrillic look-alikes to Latin. Appends to `out` (cleared first) to reuse its buffer.
pub fn normalize_into(raw: &str, out: &mut String) {
    // The ASCII path clears `out` itself; when it gives up, what it wrote goes.
    if normalize_ascii_into(raw.as_bytes(), out) {
        return;
    }
    out.clear();
    let trimmed = raw.trim();
    // Latin and the basic Cyrillic alphabet (А–я) are NFKC already, and uppercasing keeps
    // them there: one pass of plain character mapping, as for ASCII.
    if trimmed
        .chars()
        .all(|c| c.is_ascii() || ('\u{0410}'..='\u{044F}').contains(&c))
    {
        for c in trimmed.chars() {
            if is_removed(c) {
                continue;
            }
            let upper = match c {
                'а'..='я' => char::from_u32(c as u32 - 0x20).unwrap_or(c),
                c => c.to_ascii_uppercase(),
            };
            out.push(fold_lookalike(upper));
        }
        return;
    }
    normalize_unicode_once(trimmed, out);
    // Uppercasing can leave a decomposed sequence that NFKC would compose (`ΐ` → `Ϊ́`), so
    // the steps are not idempotent for a few exotic characters: repeat them to a fixed point.
    // For anything an office types (digits, Latin and Cyrillic letters) one pass is the fixpoint.
    for _ in 0..4 {
        let mut again = String::with_capacity(out.len());
        normalize_unicode_once(out, &mut again);
        if again == *out {
            return;
        }
        *out = again;
    }
}

/// `normalize_into` for ASCII, in one pass over the bytes: ASCII is already NFKC, its
/// uppercase is ASCII, and the white space a trim would take off is removed anyway. Gives
/// false at the first byte that is not ASCII (with `out` holding part of the result), so the
/// caller clears it and starts again on the general path. (Three passes, a byte at a time with a capacity
/// check on each push, were about 4% of a run's CPU: most identifiers are ASCII digits.)
fn normalize_ascii_into(raw: &[u8], out: &mut String) -> bool {
    // SAFETY: only ASCII bytes (and, between `resize` and `truncate`, NULs) are ever in the
    // bytes, so `out` is valid UTF-8 whichever way this returns, or if it panicked.
    let bytes = unsafe { out.as_mut_vec() };
    bytes.clear();
    bytes.resize(raw.len(), 0);
    let mut kept = 0;
    for &b in raw {
        if !b.is_ascii() {
            bytes.truncate(kept);
            return false;
        }
        // Written at `kept` always, kept only when the byte is not one removed: no branch
        // on the removed bytes.
        bytes[kept] = b.to_ascii_uppercase();
        kept += usize::from(!is_removed_ascii(b));
    }
    bytes.truncate(kept);
    true
}

fn normalize_unicode_once(raw: &str, out: &mut String) {
    out.clear();
    let nfkc: String = raw.trim().nfkc().collect();
    for c in nfkc.trim().chars().flat_map(char::to_uppercase) {
        if !is_removed(c) {
            out.push(fold_lookalike(c));
        }
    }
}

/// Normalize an identifier (see `normalize_into`).
pub fn normalize(raw: &str) -> String {
    let mut out = String::new();
    normalize_into(raw, &mut out);
    out
}

/// The first nine digits and the check digit of a 10-digit identifier.
fn ten_digits(id: &str) -> Option<([u8; 9], u8)> {
    let b = id.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut first_nine = [0u8; 9];
    for (slot, byte) in first_nine.iter_mut().zip(b) {
        *slot = byte - b'0';
    }
    Some((first_nine, b[9] - b'0'))
}

/// The ЕГН check digit of the first nine digits: weights 2 4 8 5 10 9 7 3 6, sum mod 11, 10 → 0.
pub fn egn_check_digit(first_nine: [u8; 9]) -> u8 {
    const W: [u32; 9] = [2, 4, 8, 5, 10, 9, 7, 3, 6];
    let sum: u32 = W
        .iter()
        .zip(first_nine)
        .map(|(w, x)| w * u32::from(x))
        .sum();
    (sum % 11 % 10) as u8
}

/// The ЛНЧ check digit of the first nine digits: weights 21 19 17 13 11 9 7 3 1, sum mod 10.
pub fn lnch_check_digit(first_nine: [u8; 9]) -> u8 {
    const W: [u32; 9] = [21, 19, 17, 13, 11, 9, 7, 3, 1];
    let sum: u32 = W
        .iter()
        .zip(first_nine)
        .map(|(w, x)| w * u32::from(x))
        .sum();
    (sum % 10) as u8
}

/// Whether `id` (normalized) is ten digits ending in its ЕГН check digit.
pub fn is_valid_egn(id: &str) -> bool {
    ten_digits(id).is_some_and(|(first_nine, check)| egn_check_digit(first_nine) == check)
}

/// Whether `id` (normalized) is ten digits ending in its ЛНЧ check digit.
pub fn is_valid_lnch(id: &str) -> bool {
    ten_digits(id).is_some_and(|(first_nine, check)| lnch_check_digit(first_nine) == check)
}

/// Why a key file was refused. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "key file {path} does not hold a key: expected one line of 64 hexadecimal characters (32 bytes), as written by `outcomes keygen`"
    )]
    Malformed { path: PathBuf },
    #[error("key file {path} already exists; keygen never overwrites a key")]
    Exists { path: PathBuf },
    #[error("cannot write key file {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no random numbers from the operating system: {0}")]
    Random(String),
}

/// The pseudonymization key: 32 bytes, zeroized on drop.
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    /// Whether the key file declared itself the public demo key.
    pub is_demo: bool,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    hex_into(bytes, &mut out);
    // Hex digits are ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// Append the lowercase hex of `bytes` to `out`.
pub fn hex_into(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    for (pair, b) in out[start..].chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

impl Key {
    /// Build a key from its bytes (tests and fuzzing).
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key {
            bytes: Zeroizing::new(bytes),
            is_demo: false,
        }
    }

    /// Parse a key file's text: `#` comment lines, then one line of 64 hex characters.
    pub fn parse(text: &str) -> Option<Key> {
        let mut is_demo = false;
        let mut hex_line = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                is_demo |= comment.contains(DEMO_KEY_MARKER);
                continue;
            }
            if hex_line.replace(line).is_some() {
                return None;
            }
        }
        let hex = hex_line?.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            bytes[i] = hex_value(pair[0])? << 4 | hex_value(pair[1])?;
        }
        Some(Key { bytes, is_demo })
    }

    /// Read and check a key file: it must hold a key and, unless it is the demo key, be
    /// readable by its owner only.
    pub fn load(path: &Path) -> Result<Key, KeyError> {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?);
        let key = Key::parse(&text).ok_or_else(|| KeyError::Malformed {
            path: path.to_path_buf(),
        })?;
        #[cfg(unix)]
        if !key.is_demo {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path)
                .map_err(|source| KeyError::Read {
                    path: path.to_path_buf(),
                    source,
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen {
                    path: path.to_path_buf(),
                    mode: mode & 0o777,
                });
            }
        }
        Ok(key)
    }

    /// Write a new random key to `path` with mode 0600; refuses to overwrite.
    pub fn generate(path: &Path) -> Result<(), KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        let mut text = Zeroizing::new(format!(
            "# outcomes pseudonym key: 32 random bytes in hex. Keep it secret and backed up;\n\
             # whoever holds it can re-identify a known ЕГН, and a new key breaks linkage.\n{}\n",
            to_hex(bytes.as_ref())
        ));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                KeyError::Write {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let result = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all());
        text.zeroize();
        result.map_err(|source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The key fingerprint recorded in the manifest: first 8 bytes of HMAC(key, "fingerprint").
    pub fn fingerprint(&self) -> String {
        let mut mac = HmacSha256::new_from_slice(self.bytes.as_ref())
            .expect("HMAC accepts a key of any length");
        mac.update(b"fingerprint");
        to_hex(&mac.finalize().into_bytes()[..8])
    }

    /// A pseudonymizer keyed with this key.
    pub fn pseudonymizer(&self) -> Pseudonymizer {
        // HMAC's key block (a key of at most 64 bytes, zero-padded) XOR ipad and XOR opad,
        // each compressed once here rather than once per identifier.
        let pad_state = |pad: u8| {
            let mut block = Zeroizing::new([pad; 64]);
            for (b, k) in block.iter_mut().zip(self.bytes.iter()) {
                *b ^= k;
            }
            let mut state = SHA256_INITIAL;
            sha2::compress256(&mut state, &[(*block).into()]);
            state
        };
        Pseudonymizer {
            keyed: HmacSha256::new_from_slice(self.bytes.as_ref())
                .expect("HMAC accepts a key of any length"),
            inner: pad_state(0x36),
            outer: pad_state(0x5c),
        }
    }
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The longest message that fits, with SHA-256's padding, in one block after the key block.
const ONE_BLOCK_MESSAGE: usize = 55;

/// Computes pseudonyms; cheap to clone (the keyed HMAC states, reused per identifier).
#[derive(Clone)]
pub struct Pseudonymizer {
    keyed: HmacSha256,
    /// The SHA-256 states after the key block XOR ipad and XOR opad (RFC 2104).
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Pseudonymizer {
    /// The pseudonym of an already-normalized identifier:
    /// first 16 bytes of HMAC-SHA256(key, domain ‖ 0x00 ‖ normalized_id).
    pub fn pseudonym(&self, domain: Domain, normalized: &str) -> Pseudonym {
        let [pseudonym] = self.pseudonyms([(domain, normalized)]);
        pseudonym
    }

    /// The pseudonyms of a row's child, family and case identifiers (normalized), computed
    /// side by side (`pseudonyms`).
    pub fn row_pseudonyms(
        &self,
        child: &str,
        family: Option<&str>,
        case: Option<&str>,
    ) -> (Pseudonym, Option<Pseudonym>, Option<Pseudonym>) {
        let child = (Domain::Child, child);
        match (family, case) {
            (Some(family), Some(case)) => {
                let [child, family, case] =
                    self.pseudonyms([child, (Domain::Family, family), (Domain::Case, case)]);
                (child, Some(family), Some(case))
            }
            (Some(family), None) => {
                let [child, family] = self.pseudonyms([child, (Domain::Family, family)]);
                (child, Some(family), None)
            }
            (None, Some(case)) => {
                let [child, case] = self.pseudonyms([child, (Domain::Case, case)]);
                (child, None, Some(case))
            }
            (None, None) => (self.pseudonym(child.0, child.1), None, None),
        }
    }

    /// The pseudonyms of several identifiers (a row's child, family and case), in order.
    ///
    /// Identifiers short enough for one block (all real ones) are hashed with two calls of the
    /// compression function on the precomputed key states, the identifiers side by side
    /// (`lanes`): the `hmac` crate's buffering around the same calls cost a fifth of their
    /// time, and one identifier's rounds left the SHA unit waiting. Longer ones go through
    /// `hmac`.
    pub fn pseudonyms<const N: usize>(&self, ids: [(Domain, &str); N]) -> [Pseudonym; N] {
        let mut blocks = [[0u8; 64]; N];
        for (block, (domain, normalized)) in blocks.iter_mut().zip(ids) {
            if !inner_block(domain, normalized, block) {
                return ids.map(|(domain, normalized)| self.pseudonym_by_hmac(domain, normalized));
            }
        }
        let mut inner = [self.inner; N];
        lanes::compress(&mut inner, &blocks);
        let mut outer = [self.outer; N];
        lanes::compress(&mut outer, &inner.map(|digest| outer_block(&digest)));
        outer.map(|digest| {
            let mut out = [0u8; 16];
            for (bytes, word) in out.chunks_exact_mut(4).zip(digest) {
                bytes.copy_from_slice(&word.to_be_bytes());
            }
            out
        })
    }

    /// The same pseudonym through the `hmac` crate: for identifiers past one block, and the
    /// oracle the one-block path is tested against.
    fn pseudonym_by_hmac(&self, domain: Domain, normalized: &str) -> Pseudonym {
        let mut mac = self.keyed.clone();
        mac.update(domain.tag());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

/// The block after the key block of HMAC's inner hash: `domain ‖ 0x00 ‖ normalized`, SHA-256's
/// padding and the length; `false` (and `block` unspecified) when the message needs more.
fn inner_block(domain: Domain, normalized: &str, block: &mut [u8; 64]) -> bool {
    let tag = domain.tag();
    let message_len = tag.len() + 1 + normalized.len();
    if message_len > ONE_BLOCK_MESSAGE {
        return false;
    }
    block[..tag.len()].copy_from_slice(tag);
    block[tag.len()] = 0;
    block[tag.len() + 1..message_len].copy_from_slice(normalized.as_bytes());
    block[message_len] = 0x80;
    block[message_len + 1..56].fill(0);
    // The length in bits of all the hashed bytes, the key block's included.
    block[56..].copy_from_slice(&(((64 + message_len) * 8) as u64).to_be_bytes());
    true
}

/// The block after the key block of HMAC's outer hash: the inner digest, padding and length.
fn outer_block(inner_digest: &[u32; 8]) -> [u8; 64] {
    let mut block = [0u8; 64];
    for (bytes, word) in block.chunks_exact_mut(4).zip(inner_digest) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    block[32] = 0x80;
    block[56..].copy_from_slice(&(((64 + 32) * 8) as u64).to_be_bytes());
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn test_key() -> Key {
        Key::parse(TEST_KEY_HEX).unwrap()
    }

    #[test]
    fn normalization_folds_spacing_punctuation_case_and_alphabet() {
        assert_eq!(normalize(" вн-0042 "), "BH0042");
        assert_eq!(normalize("BH 0042"), "BH0042");
        assert_eq!(normalize("ВН/00.42"), "BH0042");
        assert_eq!(normalize("7523 16-9263"), "7523169263");
        // Fullwidth digits become ASCII under NFKC.
        assert_eq!(normalize("７５２３"), "7523");
        // Letters with no Latin twin stay Cyrillic (uppercased).
        assert_eq!(normalize("жк-1"), "ЖK1");
        assert_eq!(normalize("АВЕКМНОРСТХУ"), "ABEKMHOPCTXY");
        assert_eq!(normalize("  \t "), "");
        // One pass of the spec's steps is not idempotent here; the fixed point is.
        assert_eq!(normalize(&normalize("ΐ")), normalize("ΐ"));
    }

    #[test]
    fn the_ascii_fast_path_removes_exactly_what_the_unicode_rule_removes() {
        for b in 0u8..=127 {
            assert_eq!(is_removed_ascii(b), is_removed(char::from(b)), "byte {b}");
        }
    }

    #[test]
    fn egn_check_digits() {
        assert!(is_valid_egn("7523169263"));
        assert!(is_valid_egn("8032056031"));
        assert!(is_valid_egn("7552010005"));
        assert!(!is_valid_egn("7523169264"));
        assert!(!is_valid_egn("752316926"));
        assert!(!is_valid_egn("75231692630"));
        assert!(!is_valid_egn("75231692a3"));
        // Sum mod 11 = 10 gives check digit 0: 0000000010 has weighted sum 0 → 0;
        // 1000000000 has sum 2 → check digit 2, so 1000000002 is valid.
        assert!(is_valid_egn("1000000002"));
    }

    #[test]
    fn egn_remainder_ten_becomes_zero() {
        // Digits chosen so the weighted sum is 21: 21 mod 11 = 10 → 0.
        // 2*0+4*0+8*0+5*0+10*0+9*0+7*3+3*0+6*0 = 21.
        assert!(is_valid_egn("0000003000"));
        assert!(!is_valid_egn("0000003001"));
    }

    #[test]
    fn lnch_check_digits() {
        // 21*1+19*0+17*0+13*0+11*0+9*0+7*0+3*0+1*0 = 21 → 1.
        assert!(is_valid_lnch("1000000001"));
        assert!(!is_valid_lnch("1000000002"));
        assert!(!is_valid_lnch("100000000"));
    }

    #[test]
    fn check_digits_match_known_identifiers() {
        // Moved from `synth`, which makes identifiers with these functions.
        for valid in ["7523169263", "8032056031", "7552010005"] {
            assert!(is_valid_egn(valid), "{valid}");
        }
        assert!(!is_valid_egn("7523169264"));
        assert!(!is_valid_egn("8032056030"));
        // A remainder of 10 becomes 0: 1 at weight 10, 3 at weight 7 (21 mod 11 = 10).
        assert_eq!(egn_check_digit([0, 0, 0, 0, 1, 0, 0, 0, 0]), 0);
        assert_eq!(egn_check_digit([0, 0, 0, 0, 0, 0, 3, 0, 0]), 0);
        assert_eq!(egn_check_digit([0, 0, 0, 0, 0, 1, 0, 0, 0]), 9);
        // ЛНЧ: 1·21 + 1·13 + 4·9 + 5·7 + 6·3 + 7·1 = 130 → 0.
        assert_eq!(lnch_check_digit([1, 0, 0, 1, 0, 4, 5, 6, 7]), 0);
        assert!(is_valid_lnch("1001045670"));
        assert!(is_valid_lnch("1000000001"));
        assert!(!is_valid_lnch("1001045671"));
    }

    #[test]
    fn hmac_test_vector() {
        // Independently computed with Python:
        // hmac.new(bytes(range(32)), b"child\x007523169263", sha256).hexdigest()[:32]
        let p = test_key().pseudonymizer();
        assert_eq!(
            to_hex(&p.pseudonym(Domain::Child, "7523169263")),
            "634ebf98a135726b7284976a9c058b24"
        );
        assert_eq!(
            to_hex(&p.pseudonym(Domain::Family, "7523169263")),
            "107a982ce0fba48cde1aab5142c3682b"
        );
        assert_eq!(test_key().fingerprint(), "5ab8c392c2c54035");
    }

    #[test]
    fn domains_separate_roles() {
        let p = test_key().pseudonymizer();
        let a = p.pseudonym(Domain::Child, "X1");
        assert_ne!(a, p.pseudonym(Domain::Family, "X1"));
        assert_ne!(a, p.pseudonym(Domain::Case, "X1"));
        assert_eq!(a, p.pseudonym(Domain::Child, "X1"));
    }

    #[test]
    fn key_files_are_parsed_strictly() {
        assert!(Key::parse(&format!("# comment\n{TEST_KEY_HEX}\n")).is_some());
        assert!(Key::parse(&TEST_KEY_HEX[..62]).is_none(), "short");
        assert!(
            Key::parse(&TEST_KEY_HEX.replace('0', "g")).is_none(),
            "non-hex"
        );
        assert!(
            Key::parse(&format!("{TEST_KEY_HEX}\n{TEST_KEY_HEX}")).is_none(),
            "two keys"
        );
        assert!(Key::parse("").is_none());
        assert!(!Key::parse(TEST_KEY_HEX).unwrap().is_demo);
        let demo = Key::parse(&format!("# {DEMO_KEY_MARKER}\n{TEST_KEY_HEX}")).unwrap();
        assert!(demo.is_demo);
        assert_eq!(format!("{demo:?}"), "Key(<redacted>)");
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        /// Identifiers as offices type them: digits, Latin and Cyrillic letters, separators.
        fn typed_id() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[ 0-9A-Za-zАВЕКМНОРСТХУавекмнорстхуЖж/.\\-]{0,14}")
                .unwrap()
        }

        proptest! {
            #[test]
            fn the_alphabet_fast_path_agrees_with_the_unicode_steps(
                raw in "[ 0-9A-Za-z./-]{0,3}[А-Яа-я0-9 ./-]{0,12}[A-Za-z0-9]{0,3}"
            ) {
                let mut slow = String::new();
                normalize_unicode_once(&raw, &mut slow);
                prop_assert_eq!(normalize(&raw), slow);
            }

            #[test]
            fn the_ascii_path_agrees_with_the_unicode_steps(raw in "[\\x00-\\x7f]{0,24}") {
                // Every ASCII byte, control characters and all the removed ones included.
                let mut slow = String::new();
                normalize_unicode_once(&raw, &mut slow);
                let mut fast = String::from("left over from an earlier identifier");
                prop_assert!(normalize_ascii_into(raw.as_bytes(), &mut fast));
                prop_assert_eq!(&fast, &slow);
                prop_assert_eq!(normalize(&raw), slow);
            }

            #[test]
            fn normalization_is_idempotent(raw in any::<String>()) {
                let once = normalize(&raw);
                prop_assert_eq!(normalize(&once), once);
            }

            #[test]
            fn typed_ids_normalize_in_one_pass(raw in typed_id()) {
                let mut once = String::new();
                normalize_unicode_once(raw.trim(), &mut once);
                if !raw.trim().is_ascii() {
                    prop_assert_eq!(normalize(&raw), once);
                }
            }

            #[test]
            fn the_one_block_hmac_agrees_with_the_hmac_crate_at_every_length(
                key in any::<[u8; 32]>(),
                id in "[0-9A-Z]{0,60}",
                domain in 0usize..3,
            ) {
                // Lengths 0 to 60 cross the one-block bound (55 bytes with the domain tag).
                let p = Key::from_bytes(key).pseudonymizer();
                let domain = [Domain::Child, Domain::Family, Domain::Case][domain];
                prop_assert_eq!(p.pseudonym(domain, &id), p.pseudonym_by_hmac(domain, &id));
                // Side by side with other identifiers, each gets its own.
                let [family, same, case] = p.pseudonyms([
                    (Domain::Family, "F7"),
                    (domain, &id),
                    (Domain::Case, "C-2015-0001"),
                ]);
                prop_assert_eq!(family, p.pseudonym_by_hmac(Domain::Family, "F7"));
                prop_assert_eq!(same, p.pseudonym_by_hmac(domain, &id));
                prop_assert_eq!(case, p.pseudonym_by_hmac(Domain::Case, "C-2015-0001"));
                // A row's identifiers, whichever of family and case it has.
                let child = p.pseudonym_by_hmac(Domain::Child, &id);
                let family = p.pseudonym_by_hmac(Domain::Family, "F7");
                let case = p.pseudonym_by_hmac(Domain::Case, &id);
                prop_assert_eq!(p.row_pseudonyms(&id, Some("F7"), Some(&id)), (child, Some(family), Some(case)));
                prop_assert_eq!(p.row_pseudonyms(&id, Some("F7"), None), (child, Some(family), None));
                prop_assert_eq!(p.row_pseudonyms(&id, None, Some(&id)), (child, None, Some(case)));
                prop_assert_eq!(p.row_pseudonyms(&id, None, None), (child, None, None));
            }

            #[test]
            fn a_pseudonym_depends_only_on_key_domain_and_normalized_id(
                raw in typed_id(),
                key in any::<[u8; 32]>(),
                other_key in any::<[u8; 32]>(),
            ) {
                let normalized = normalize(&raw);
                prop_assume!(!normalized.is_empty());
                let p = Key::from_bytes(key).pseudonymizer();
                // Spelling variants of one id (case, separators, look-alike alphabet) link.
                let variant = raw.to_lowercase().replace('-', " - ").replace('A', "А");
                prop_assert_eq!(normalize(&variant), normalized.clone());
                prop_assert_eq!(
                    p.pseudonym(Domain::Child, &normalize(&variant)),
                    p.pseudonym(Domain::Child, &normalized)
                );
                prop_assert_ne!(p.pseudonym(Domain::Child, &normalized), p.pseudonym(Domain::Case, &normalized));
                if key != other_key {
                    let q = Key::from_bytes(other_key).pseudonymizer();
                    prop_assert_ne!(p.pseudonym(Domain::Child, &normalized), q.pseudonym(Domain::Child, &normalized));
                }
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn keygen_writes_a_private_key_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        Key::generate(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let key = Key::load(&path).unwrap();
        assert!(!key.is_demo);
        assert!(matches!(Key::generate(&path), Err(KeyError::Exists { .. })));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Key::load(&path), Err(KeyError::TooOpen { .. })));
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(DEMO_KEY_MARKER));
    }
}

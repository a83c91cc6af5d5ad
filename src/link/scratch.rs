//! The scratch file of full cases: one fixed-width record per accepted case, in file order,
//! written while ingest runs and read back once to write `cases.parquet`. Only the encoding
//! lives here; `CaseStore` and `Linked` decide when it is written and read.

use std::io::{self, Read};

use crate::model::{Case, CaseType, Outcome, PlacementType, Sex, Vocabulary};

use super::NO_REGION;

/// Bytes a record.
pub(super) const RECORD: usize = 83;

pub(super) fn encode(c: &Case) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    let flags = u8::from(c.family.is_some())
        | u8::from(c.case.is_some()) << 1
        | u8::from(c.municipality.is_some()) << 2
        | u8::from(c.closed.is_some()) << 3
        | u8::from(c.birth_year.is_some()) << 4;
    r[0..16].copy_from_slice(&c.child);
    r[16..32].copy_from_slice(&c.family.unwrap_or_default());
    r[32..48].copy_from_slice(&c.case.unwrap_or_default());
    r[48] = flags;
    r[49] = c.region;
    r[50..52].copy_from_slice(&c.municipality.unwrap_or(0).to_le_bytes());
    r[52..56].copy_from_slice(&c.office.to_le_bytes());
    r[56] = c.case_type.index() as u8;
    r[57..61].copy_from_slice(&c.opened.to_le_bytes());
    r[61..65].copy_from_slice(&c.closed.unwrap_or(0).to_le_bytes());
    r[65] = c.outcome.map_or(0, |o| o.index() as u8 + 1);
    r[66] = c.placement_type.map_or(0, |p| p.index() as u8 + 1);
    r[67] = c.placement_region.unwrap_or(NO_REGION);
    r[68..70].copy_from_slice(&c.birth_year.unwrap_or(0).to_le_bytes());
    r[70] = c.sex.map_or(0, |s| s.index() as u8 + 1);
    r[71..75].copy_from_slice(&c.file.to_le_bytes());
    r[75..83].copy_from_slice(&c.line.to_le_bytes());
    r
}

pub(super) fn decode(r: &[u8]) -> io::Result<Case> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "the scratch file is damaged");
    fn vocab<T: Vocabulary>(b: u8) -> Result<Option<T>, ()> {
        match b {
            0 => Ok(None),
            n => T::ALL.get(usize::from(n) - 1).copied().map(Some).ok_or(()),
        }
    }
    let arr16 = |range: std::ops::Range<usize>| -> [u8; 16] {
        let mut a = [0u8; 16];
        a.copy_from_slice(&r[range]);
        a
    };
    let le4 = |at: usize| [r[at], r[at + 1], r[at + 2], r[at + 3]];
    let flags = r[48];
    let flag = |bit: u8| flags & (1 << bit) != 0;
    Ok(Case {
        child: arr16(0..16),
        family: flag(0).then(|| arr16(16..32)),
        case: flag(1).then(|| arr16(32..48)),
        region: r[49],
        municipality: flag(2).then(|| u16::from_le_bytes([r[50], r[51]])),
        office: u32::from_le_bytes(le4(52)),
        case_type: *CaseType::ALL.get(usize::from(r[56])).ok_or_else(bad)?,
        opened: i32::from_le_bytes(le4(57)),
        closed: flag(3).then(|| i32::from_le_bytes(le4(61))),
        outcome: vocab::<Outcome>(r[65]).map_err(|_| bad())?,
        placement_type: vocab::<PlacementType>(r[66]).map_err(|_| bad())?,
        placement_region: (r[67] != NO_REGION).then_some(r[67]),
        birth_year: flag(4).then(|| i16::from_le_bytes([r[68], r[69]])),
        sex: vocab::<Sex>(r[70]).map_err(|_| bad())?,
        file: u32::from_le_bytes(le4(71)),
        line: u64::from_le_bytes([r[75], r[76], r[77], r[78], r[79], r[80], r[81], r[82]]),
    })
}

/// Read until `buf` is full or the file ends; the bytes read.
pub(super) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

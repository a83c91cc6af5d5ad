//! The per-piece memo: offices write the same few labels, regions and municipalities on row
//! after row, so each distinct raw value of a field is resolved once per piece. It is a cache
//! and decides nothing: every lookup and reject is `validate`'s, asked on a miss.

use std::collections::HashMap;

use super::records::Record;
use super::validate::{Miss, RowContext};
use crate::config::{Field, LabelMap};
use crate::model::{RegionIdx, Vocabulary};

/// What a piece has already resolved: offices write the same few labels, regions and dates on
/// row after row, so each distinct raw value of a field is decoded, folded and looked up once
/// per piece. Only successes are kept; a value that does not resolve is looked at afresh each
/// time, so rejects and the tally of unmapped values are made exactly as without the memo.
#[derive(Default)]
pub(super) struct Memo {
    fields: [HashMap<Box<[u8]>, i32, foldhash::fast::FixedState>; Field::ALL.len()],
    /// Where identifiers are normalized, reused from row to row: the child's, the family's and
    /// the case's, so that the three are pseudonymized together.
    pub(super) normalized: String,
    pub(super) family_normalized: String,
    pub(super) case_normalized: String,
}

/// A resolved empty field.
const MEMO_NONE: i32 = i32::MIN;

impl Memo {
    fn raw<'r>(ctx: &RowContext<'_>, rec: &Record<'r>, field: Field) -> Option<&'r [u8]> {
        ctx.columns
            .get(field)
            .map(|i| rec.get(i).unwrap_or_default())
    }

    /// Resolve `field` of `rec`: from the memo, or by `slow` (which reads, decodes and looks
    /// the value up) and then remembered.
    fn resolve<'r, T>(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'r>,
        field: Field,
        to_code: impl Fn(&T) -> i32,
        from_code: impl Fn(i32) -> Option<T>,
        slow: impl FnOnce() -> Result<Option<T>, Miss<'r>>,
    ) -> Result<Option<T>, Miss<'r>> {
        let Some(raw) = Self::raw(ctx, rec, field) else {
            return slow();
        };
        let map = &mut self.fields[field as usize];
        if let Some(&code) = map.get(raw) {
            if code == MEMO_NONE {
                return Ok(None);
            }
            if let Some(value) = from_code(code) {
                return Ok(Some(value));
            }
        }
        let value = slow()?;
        map.insert(raw.into(), value.as_ref().map_or(MEMO_NONE, to_code));
        Ok(value)
    }

    pub(super) fn label<'r, T: Vocabulary>(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'r>,
        field: Field,
        labels: &LabelMap<T>,
    ) -> Result<Option<T>, Miss<'r>> {
        self.resolve(
            ctx,
            rec,
            field,
            |v: &T| v.index() as i32,
            |code| T::ALL.get(code as usize).copied(),
            || ctx.label(rec, field, labels),
        )
    }

    pub(super) fn region<'r>(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'r>,
        field: Field,
    ) -> Result<Option<RegionIdx>, Miss<'r>> {
        self.resolve(
            ctx,
            rec,
            field,
            |r| i32::from(*r),
            |code| u8::try_from(code).ok(),
            || ctx.region(rec, field),
        )
    }

    /// A municipality depends on the row's region too: the memo keeps the region it was
    /// resolved for, and another region looks it up again.
    pub(super) fn municipality<'r>(
        &mut self,
        ctx: &RowContext<'_>,
        rec: &Record<'r>,
        region: RegionIdx,
    ) -> Result<Option<u16>, Miss<'r>> {
        let key = i32::from(region) << 16;
        self.resolve(
            ctx,
            rec,
            Field::Municipality,
            |m| key | i32::from(*m),
            |code| (code & !0xffff == key).then_some((code & 0xffff) as u16),
            || ctx.municipality(rec, region),
        )
    }
}

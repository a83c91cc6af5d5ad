//! Validating one record of the header's width: SPEC §2's checks in field order, giving a
//! `Case` (identifiers pseudonymized, labels resolved) or the first problem as a `RowReject`.
//! It keeps no raw text, and no message it writes quotes a value (SPEC §2): each names the
//! column, the reason and the rule.

use std::borrow::Cow;

use super::Decoding;
use super::header::ColumnIndex;
use super::memo::Memo;
use super::records::{DateCell, Record};
use super::reject::{RejectReason, RowReject};
use super::unmapped::Unmapped;
use crate::config::{Field, IdScheme, LabelMap, Source};
use crate::dates::{self, DateError};
use crate::model::{Case, Day, RegionIdx, Vocabulary};
use crate::pseudonym::{self, Pseudonymizer};
use crate::reference;

/// Why a label, region or municipality did not resolve: a reject, or a value that no value map
/// (nor the reference, for places) knows, which `process` tallies before rejecting the row.
pub(super) enum Miss<'r> {
    Reject(RowReject),
    Unmapped(Cow<'r, str>),
}

impl From<RowReject> for Miss<'_> {
    fn from(reject: RowReject) -> Self {
        Miss::Reject(reject)
    }
}

/// What validating a record of one file needs: the source's mapping and labels, where the
/// header put each field, and how the file's bytes decode.
pub(super) struct RowContext<'a> {
    source: &'a Source,
    pub(super) columns: &'a ColumnIndex,
    decoding: Decoding,
    /// The source's date formats for this file's raw bytes; `None` when one has no fast path.
    byte_dates: Option<Vec<dates::ByteFormat>>,
    pseudonymizer: &'a Pseudonymizer,
    as_of: Day,
    file_idx: u32,
}

impl<'a> RowContext<'a> {
    pub(super) fn new(
        source: &'a Source,
        columns: &'a ColumnIndex,
        decoding: Decoding,
        pseudonymizer: &'a Pseudonymizer,
        as_of: Day,
        file_idx: u32,
    ) -> RowContext<'a> {
        RowContext {
            source,
            columns,
            decoding,
            byte_dates: source
                .date_formats
                .iter()
                .map(|f| f.for_bytes(|c| decoding.encode_char(c)))
                .collect(),
            pseudonymizer,
            as_of,
            file_idx,
        }
    }

    fn reject(&self, field: Option<Field>, reason: RejectReason, message: String) -> RowReject {
        RowReject {
            field,
            reason,
            message,
        }
    }

    /// The column label used in messages: `"Header" (field)`.
    fn column_label(&self, field: Field) -> String {
        format!(
            "column \"{}\" ({})",
            self.source.column(field).unwrap_or_default(),
            field.name()
        )
    }

    /// The trimmed text of a mapped field; `Ok(None)` when unmapped or empty.
    fn text<'r>(&self, rec: &Record<'r>, field: Field) -> Result<Option<Cow<'r, str>>, RowReject> {
        let Some(i) = self.columns.get(field) else {
            return Ok(None);
        };
        let bytes = rec.get(i).unwrap_or_default();
        let decoded = self.decoding.decode(bytes).ok_or_else(|| {
            let hint = match self.decoding {
                Decoding::Utf8 => {
                    "; if the export is Windows-1251, set `encoding = \"windows-1251\"`"
                }
                Decoding::Windows1251 => "",
            };
            self.reject(
                Some(field),
                RejectReason::Undecodable,
                format!(
                    "{} holds bytes that are not valid {}{hint}",
                    self.column_label(field),
                    self.decoding.name()
                ),
            )
        })?;
        let trimmed = match decoded {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        };
        Ok((!trimmed.is_empty()).then_some(trimmed))
    }

    fn required<'r>(&self, rec: &Record<'r>, field: Field) -> Result<Cow<'r, str>, RowReject> {
        self.text(rec, field)?.ok_or_else(|| {
            self.reject(
                Some(field),
                RejectReason::MissingRequired,
                format!("{} is empty; every case needs it", self.column_label(field)),
            )
        })
    }

    fn date(&self, rec: &Record<'_>, field: Field) -> Result<Option<Day>, RowReject> {
        // A workbook's date cell is a date as it stands, whatever its display format.
        let cell = self
            .columns
            .get(field)
            .map_or(DateCell::None, |i| rec.date_cell(i));
        let day = match cell {
            DateCell::None => return self.text_date(rec, field),
            DateCell::Date(day) if dates::PLAUSIBLE_YEARS.contains(&dates::year_of(day)) => day,
            DateCell::Date(_) | DateCell::NotADate => {
                return Err(self.reject(
                    Some(field),
                    RejectReason::ImpossibleDate,
                    format!(
                        "{} holds a date cell that is not a calendar date between 1900 and 2100",
                        self.column_label(field),
                    ),
                ));
            }
        };
        self.not_after_as_of(field, day)
    }

    /// A date typed as text, by the source's `date_formats`.
    fn text_date(&self, rec: &Record<'_>, field: Field) -> Result<Option<Day>, RowReject> {
        if let (Some(formats), Some(i)) = (&self.byte_dates, self.columns.get(field))
            && let Some(day) = dates::parse_date_bytes(rec.get(i).unwrap_or_default(), formats)
            && day <= self.as_of
        {
            return Ok(Some(day));
        }
        let Some(text) = self.text(rec, field)? else {
            return Ok(None);
        };
        let day = dates::parse_date(&text, &self.source.date_formats).map_err(|e| {
            let formats: Vec<&str> = self.source.date_formats.iter().map(|f| f.text()).collect();
            match e {
                DateError::Impossible => self.reject(
                    Some(field),
                    RejectReason::ImpossibleDate,
                    format!(
                        "{} holds a date that is not a calendar date between 1900 and 2100 (formats tried: {formats:?})",
                        self.column_label(field),
                    ),
                ),
                DateError::Unparseable => self.reject(
                    Some(field),
                    RejectReason::UnparseableDate,
                    format!(
                        "{} holds a value that matches none of the date formats tried: {formats:?}",
                        self.column_label(field),
                    ),
                ),
            }
        })?;
        self.not_after_as_of(field, day)
    }

    fn not_after_as_of(&self, field: Field, day: Day) -> Result<Option<Day>, RowReject> {
        if day > self.as_of {
            return Err(self.reject(
                Some(field),
                RejectReason::DateAfterAsOf,
                format!(
                    "{} holds a date after the as-of date {}",
                    self.column_label(field),
                    dates::from_day(self.as_of)
                ),
            ));
        }
        Ok(Some(day))
    }

    /// The reject of a label that is not mapped. It names the column and where to map it,
    /// never the label: the labels themselves are listed once at the end of the run.
    fn unknown_label(&self, field: Field) -> RowReject {
        self.reject(
            Some(field),
            RejectReason::UnknownLabel,
            format!(
                "{}: the label is not mapped; add it under [sources.values.{}] in the pipeline file (unmapped labels are listed at the end of the run)",
                self.column_label(field),
                field.name()
            ),
        )
    }

    /// The reject of a region that is not an oblast: the column and where to map it.
    fn unknown_region(&self, field: Field) -> RowReject {
        self.reject(
            Some(field),
            RejectReason::UnknownRegion,
            format!(
                "{}: the value is not an oblast code, NUTS-3 code or name; map it under [sources.values.{}] in the pipeline file (unmapped values are listed at the end of the run)",
                self.column_label(field),
                field.name()
            ),
        )
    }

    /// The label `field` holds, by `labels`; `Ok(None)` when empty.
    pub(super) fn label<'r, T: Vocabulary>(
        &self,
        rec: &Record<'r>,
        field: Field,
        labels: &LabelMap<T>,
    ) -> Result<Option<T>, Miss<'r>> {
        match self.text(rec, field)? {
            Some(text) => match labels.get(&text) {
                Some(value) => Ok(Some(value)),
                None => Err(Miss::Unmapped(text)),
            },
            None => Ok(None),
        }
    }

    /// The municipality of a row in `region`: by the source's labels, then by name.
    pub(super) fn municipality<'r>(
        &self,
        rec: &Record<'r>,
        region: RegionIdx,
    ) -> Result<Option<u16>, Miss<'r>> {
        let Some(text) = self.text(rec, Field::Municipality)? else {
            return Ok(None);
        };
        match self
            .source
            .labels
            .municipality
            .get(&text)
            .or_else(|| reference::find_municipality(&text, region))
        {
            Some(m) => Ok(Some(m)),
            None => Err(Miss::Unmapped(text)),
        }
    }

    pub(super) fn region<'r>(
        &self,
        rec: &Record<'r>,
        field: Field,
    ) -> Result<Option<RegionIdx>, Miss<'r>> {
        let Some(text) = self.text(rec, field)? else {
            return Ok(None);
        };
        let labels = match field {
            Field::Region => &self.source.labels.region,
            _ => &self.source.labels.placement_region,
        };
        match labels.get(&text).or_else(|| reference::find_region(&text)) {
            Some(r) => Ok(Some(r)),
            None => Err(Miss::Unmapped(text)),
        }
    }

    /// A miss as the row's reject; an unmapped value is tallied in `unmapped` first.
    fn resolved<T>(
        &self,
        field: Field,
        result: Result<T, Miss<'_>>,
        unmapped: &mut Unmapped,
    ) -> Result<T, RowReject> {
        result.map_err(|miss| match miss {
            Miss::Reject(reject) => reject,
            Miss::Unmapped(text) => {
                unmapped.add(field, &text);
                match field {
                    Field::Region | Field::PlacementRegion => self.unknown_region(field),
                    _ => self.unknown_label(field),
                }
            }
        })
    }

    /// Normalize `raw` (when there is one) into `normalized`: whether it holds an identifier.
    fn normalized(raw: Option<&str>, normalized: &mut String) -> bool {
        normalized.clear();
        if let Some(raw) = raw {
            pseudonym::normalize_into(raw, normalized);
        }
        !normalized.is_empty()
    }

    /// Validate and convert one record of the header's width: a case (line and office index
    /// filled in by the caller, which interns the returned office name) or the first problem
    /// found, fields checked in SPEC §2's order. A value no map knows is tallied in
    /// `unmapped`.
    pub(super) fn process<'r>(
        &self,
        rec: &Record<'r>,
        memo: &mut Memo,
        unmapped: &mut Unmapped,
    ) -> Result<(Case, Cow<'r, str>), RowReject>
    where
        'a: 'r,
    {
        let child_raw = self.required(rec, Field::ChildId)?;
        let child_id = &mut memo.normalized;
        pseudonym::normalize_into(&child_raw, child_id);
        if child_id.is_empty() {
            return Err(self.reject(
                Some(Field::ChildId),
                RejectReason::MissingRequired,
                format!(
                    "{} holds no identifier characters",
                    self.column_label(Field::ChildId)
                ),
            ));
        }
        if self.source.child_id_scheme == IdScheme::Egn
            && !(pseudonym::is_valid_egn(child_id) || pseudonym::is_valid_lnch(child_id))
        {
            return Err(self.reject(
                Some(Field::ChildId),
                RejectReason::InvalidChildId,
                format!(
                    "{} is not a valid ЕГН or ЛНЧ (10 digits with a correct check digit), as child_id_scheme = \"egn\" requires",
                    self.column_label(Field::ChildId)
                ),
            ));
        }
        let family = self.text(rec, Field::FamilyId)?;
        let has_family = Self::normalized(family.as_deref(), &mut memo.family_normalized);
        let case = self.text(rec, Field::CaseId)?;
        let has_case = Self::normalized(case.as_deref(), &mut memo.case_normalized);
        let (child, family, case) = self.pseudonymizer.row_pseudonyms(
            &memo.normalized,
            has_family.then_some(memo.family_normalized.as_str()),
            has_case.then_some(memo.case_normalized.as_str()),
        );

        let region = match self.resolved(
            Field::Region,
            memo.region(self, rec, Field::Region),
            unmapped,
        )? {
            Some(r) => r,
            None => self.source.fixed_region.ok_or_else(|| {
                self.reject(
                    Some(Field::Region),
                    RejectReason::MissingRequired,
                    format!(
                        "{} is empty and the source has no fixed region",
                        self.column_label(Field::Region)
                    ),
                )
            })?,
        };
        let office: Cow<'r, str> = match self.text(rec, Field::Office)? {
            Some(text) => match self.source.labels.office.get(&text) {
                Some(o) => Cow::Borrowed(self.source.labels.office_names[o as usize].as_str()),
                None => text,
            },
            None => Cow::Borrowed(
                self.source
                    .fixed_office
                    .as_deref()
                    .unwrap_or(self.source.name.as_str()),
            ),
        };
        let municipality = self.resolved(
            Field::Municipality,
            memo.municipality(self, rec, region),
            unmapped,
        )?;

        let case_type = self
            .resolved(
                Field::CaseType,
                memo.label(self, rec, Field::CaseType, &self.source.labels.case_type),
                unmapped,
            )?
            .ok_or_else(|| {
                self.reject(
                    Some(Field::CaseType),
                    RejectReason::MissingRequired,
                    format!(
                        "{} is empty; every case needs it",
                        self.column_label(Field::CaseType)
                    ),
                )
            })?;

        let opened = self.date(rec, Field::Opened)?.ok_or_else(|| {
            self.reject(
                Some(Field::Opened),
                RejectReason::MissingRequired,
                format!(
                    "{} is empty; every case needs it",
                    self.column_label(Field::Opened)
                ),
            )
        })?;
        let closed = self.date(rec, Field::Closed)?;
        if let Some(c) = closed
            && c < opened
        {
            return Err(self.reject(
                Some(Field::Closed),
                RejectReason::ClosedBeforeOpened,
                format!(
                    "{} holds a date before {}: a case cannot close before it opens",
                    self.column_label(Field::Closed),
                    self.column_label(Field::Opened)
                ),
            ));
        }

        // An outcome only means something once the case is closed; the label an export keeps
        // on open cases ("в процес") is not read, so `outcome` is null exactly when `closed` is.
        let outcome = match closed {
            Some(_) => self.resolved(
                Field::Outcome,
                memo.label(self, rec, Field::Outcome, &self.source.labels.outcome),
                unmapped,
            )?,
            None => None,
        };
        match (closed, outcome) {
            (Some(_), None) => {
                return Err(self.reject(
                    Some(Field::Outcome),
                    RejectReason::MissingOutcome,
                    format!(
                        "the case is closed but {} is {}",
                        self.column_label(Field::Outcome),
                        if self.columns.get(Field::Outcome).is_some() {
                            "empty"
                        } else {
                            "not mapped"
                        }
                    ),
                ));
            }
            (_, Some(o)) if !o.applies_to(case_type) => {
                return Err(self.reject(
                    Some(Field::Outcome),
                    RejectReason::OutcomeNotApplicable,
                    format!("outcome {o} does not apply to a {case_type} case"),
                ));
            }
            _ => {}
        }

        let placement_type = self.resolved(
            Field::PlacementType,
            memo.label(
                self,
                rec,
                Field::PlacementType,
                &self.source.labels.placement_type,
            ),
            unmapped,
        )?;
        let placement_region = self.resolved(
            Field::PlacementRegion,
            memo.region(self, rec, Field::PlacementRegion),
            unmapped,
        )?;
        // Birth dates hardly repeat, so they skip the memo.
        let birth_year = self
            .date(rec, Field::BirthDate)?
            .map(|d| dates::year_of(d) as i16);
        let sex = self.resolved(
            Field::Sex,
            memo.label(self, rec, Field::Sex, &self.source.labels.sex),
            unmapped,
        )?;

        Ok((
            Case {
                child,
                family,
                case,
                region,
                municipality,
                office: 0,
                case_type,
                opened,
                closed,
                outcome,
                placement_type,
                placement_region,
                birth_year,
                sex,
                file: self.file_idx,
                line: 0,
            },
            office,
        ))
    }
}

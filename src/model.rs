//! The canonical case record and its closed vocabularies (SPEC §2).
//! Every stage after `ingest` speaks only these types: compact, copyable, free of raw text.

use std::fmt;

/// A 16-byte keyed pseudonym (SPEC §3), kept binary inside the process and written as hex.
pub type Pseudonym = [u8; 16];

/// Days since 1970-01-01, the representation of a calendar date in Parquet and Arrow.
pub type Day = i32;

/// Index of an oblast in `reference::oblasts()` (0..28).
pub type RegionIdx = u8;

/// A closed vocabulary whose canonical spelling is also its wire format.
pub trait Vocabulary: Sized + Copy + PartialEq + 'static {
    /// Every value, in canonical order.
    const ALL: &'static [Self];
    /// The canonical spelling, as in SPEC §2 and in the outputs.
    fn as_str(self) -> &'static str;
    /// The value's position in `ALL`.
    fn index(self) -> usize;
    /// The value whose canonical spelling is `s` (exactly).
    fn from_canonical(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl Vocabulary for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            fn index(self) -> usize {
                // `ALL` lists the variants in declaration order.
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// The two kinds of case the measures are about.
    CaseType {
        Prevention => "prevention",
        Reintegration => "reintegration",
    }
}

vocabulary! {
    /// How a closed case ended.
    Outcome {
        StayedWithFamily => "stayed_with_family",
        Reunified => "reunified",
        KinshipCare => "kinship_care",
        FosterCare => "foster_care",
        ResidentialCare => "residential_care",
        Institution => "institution",
        Adopted => "adopted",
        RemainedInCare => "remained_in_care",
        Transferred => "transferred",
        Other => "other",
    }
}

vocabulary! {
    /// Where a child was placed.
    PlacementType {
        KinshipCare => "kinship_care",
        FosterCare => "foster_care",
        ResidentialCare => "residential_care",
        Institution => "institution",
    }
}

vocabulary! {
    /// Sex as recorded; a quasi-identifier.
    Sex {
        F => "F",
        M => "M",
        U => "U",
    }
}

impl Outcome {
    /// Whether this outcome may close a case of `case_type` (the — cells of SPEC §2's table).
    pub fn applies_to(self, case_type: CaseType) -> bool {
        !matches!(
            (self, case_type),
            (Outcome::StayedWithFamily, CaseType::Reintegration)
                | (
                    Outcome::Reunified | Outcome::RemainedInCare,
                    CaseType::Prevention
                )
        )
    }

    /// Neutral outcomes are left out of rates.
    pub fn is_neutral(self) -> bool {
        matches!(self, Outcome::Transferred | Outcome::Other)
    }

    /// A prevention case that ended with the child placed away from the family.
    pub fn is_placement(self) -> bool {
        matches!(
            self,
            Outcome::KinshipCare
                | Outcome::FosterCare
                | Outcome::ResidentialCare
                | Outcome::Institution
                | Outcome::Adopted
        )
    }
}

/// One accepted case, after mapping, validation and pseudonymization. No raw text remains:
/// identifiers are pseudonyms, attributes are vocabulary values or interned indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub child: Pseudonym,
    pub family: Option<Pseudonym>,
    pub case: Option<Pseudonym>,
    pub region: RegionIdx,
    /// Index into `reference::municipalities()`.
    pub municipality: Option<u16>,
    /// Index into the run's office table (interned office names).
    pub office: u32,
    pub case_type: CaseType,
    pub opened: Day,
    pub closed: Option<Day>,
    pub outcome: Option<Outcome>,
    pub placement_type: Option<PlacementType>,
    pub placement_region: Option<RegionIdx>,
    pub birth_year: Option<i16>,
    pub sex: Option<Sex>,
    /// Index of the input file in the run's file table (pipeline source order, then path).
    pub file: u32,
    /// 1-based line of the record's first line in its file.
    pub line: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_spellings_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_canonical(o.as_str()), Some(*o));
        }
        assert_eq!(
            CaseType::from_canonical("prevention"),
            Some(CaseType::Prevention)
        );
        assert_eq!(CaseType::from_canonical("Prevention"), None);
    }

    #[test]
    fn outcome_applicability_follows_the_spec_table() {
        use CaseType::*;
        assert!(!Outcome::StayedWithFamily.applies_to(Reintegration));
        assert!(!Outcome::Reunified.applies_to(Prevention));
        assert!(!Outcome::RemainedInCare.applies_to(Prevention));
        assert!(Outcome::Adopted.applies_to(Prevention));
        assert!(Outcome::Adopted.applies_to(Reintegration));
        assert!(Outcome::Transferred.applies_to(Prevention));
        assert!(Outcome::Other.is_neutral() && Outcome::Transferred.is_neutral());
        assert!(!Outcome::Reunified.is_neutral());
    }
}

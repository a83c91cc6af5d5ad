//! The canonical fields of SPEC §2's table and how much of each value may ever be shown.
//! Names and privacy classes only: which export column holds a field is `sources`' business.

/// A canonical field of SPEC §2's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ChildId,
    FamilyId,
    CaseId,
    Region,
    Office,
    Municipality,
    CaseType,
    Opened,
    Closed,
    Outcome,
    PlacementType,
    PlacementRegion,
    BirthDate,
    Sex,
}

/// How much a field's value may be shown (in reject messages, logs, errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    /// Never shown, never written raw.
    Identifier,
    /// Never shown; written only generalized.
    QuasiIdentifier,
    /// A label or date of the case: may be quoted in a reject message.
    Attribute,
}

impl Field {
    pub const ALL: [Field; 14] = [
        Field::ChildId,
        Field::FamilyId,
        Field::CaseId,
        Field::Region,
        Field::Office,
        Field::Municipality,
        Field::CaseType,
        Field::Opened,
        Field::Closed,
        Field::Outcome,
        Field::PlacementType,
        Field::PlacementRegion,
        Field::BirthDate,
        Field::Sex,
    ];

    /// The canonical name, as in the pipeline file and `rejects.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Field::ChildId => "child_id",
            Field::FamilyId => "family_id",
            Field::CaseId => "case_id",
            Field::Region => "region",
            Field::Office => "office",
            Field::Municipality => "municipality",
            Field::CaseType => "case_type",
            Field::Opened => "opened",
            Field::Closed => "closed",
            Field::Outcome => "outcome",
            Field::PlacementType => "placement_type",
            Field::PlacementRegion => "placement_region",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
        }
    }

    pub fn class(self) -> FieldClass {
        match self {
            Field::ChildId | Field::FamilyId | Field::CaseId => FieldClass::Identifier,
            Field::BirthDate | Field::Sex => FieldClass::QuasiIdentifier,
            _ => FieldClass::Attribute,
        }
    }
}

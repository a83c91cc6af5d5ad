//! The catalogue of SPEC §4's measures: their codes, their order (the order of the table and
//! of `rates.parquet`) and what kind each is. Names only: how each is counted is
//! `definitions.rs`'.

/// The measures, in the order of SPEC §4's table (and of `rates.parquet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    PreventionClosed,
    ReintegrationClosed,
    Prevention12m,
    Reintegration12m,
    ReintegrationSustained12m,
    OutOfRegionPlacement,
    ChildrenServed,
}

impl Measure {
    pub const ALL: [Measure; 7] = [
        Measure::PreventionClosed,
        Measure::ReintegrationClosed,
        Measure::Prevention12m,
        Measure::Reintegration12m,
        Measure::ReintegrationSustained12m,
        Measure::OutOfRegionPlacement,
        Measure::ChildrenServed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Measure::PreventionClosed => "prevention_closed",
            Measure::ReintegrationClosed => "reintegration_closed",
            Measure::Prevention12m => "prevention_12m",
            Measure::Reintegration12m => "reintegration_12m",
            Measure::ReintegrationSustained12m => "reintegration_sustained_12m",
            Measure::OutOfRegionPlacement => "out_of_region_placement",
            Measure::ChildrenServed => "children_served",
        }
    }

    /// Entry-cohort measures: a year is complete only a full year after it ends.
    pub fn is_cohort(self) -> bool {
        matches!(
            self,
            Measure::Prevention12m | Measure::Reintegration12m | Measure::ReintegrationSustained12m
        )
    }

    /// Whether the measure is a count rather than a rate.
    pub fn is_count(self) -> bool {
        self == Measure::ChildrenServed
    }
}

//! SPEC §5's statement about `cases.parquet`: the share of its records whose (region, birth
//! year, sex) class has fewer than k records. Counted batch by batch as the cases are written;
//! it only counts and never holds a case.

use std::collections::HashMap;

use crate::model::{Case, RegionIdx, Sex};

/// The (region, birth year, sex) classes of `cases.parquet`: how exposed the pseudonymized
/// records are to linkage by quasi-identifiers.
#[derive(Debug, Default)]
pub struct QuasiClasses {
    classes: HashMap<(RegionIdx, Option<i16>, Option<Sex>), u64, foldhash::fast::FixedState>,
    records: u64,
}

impl QuasiClasses {
    /// Count a batch of the cases written to `cases.parquet`: call it for every batch, so that
    /// every written case is counted once.
    pub fn count(&mut self, cases: &[Case]) {
        for c in cases {
            *self
                .classes
                .entry((c.region, c.birth_year, c.sex))
                .or_default() += 1;
        }
        self.records += cases.len() as u64;
    }

    /// The share of records whose class has fewer than `k` records.
    pub fn small_class_share(&self, k: u32) -> f64 {
        if self.records == 0 {
            return 0.0;
        }
        let small: u64 = self.classes.values().filter(|n| **n < u64::from(k)).sum();
        small as f64 / self.records as f64
    }
}

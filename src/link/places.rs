//! Where each accepted case was reported from, kept only when the pipeline defines programmes
//! (SPEC §10): its office, file, region and municipality, interned as a `Place` (a run has few
//! distinct ones), and the case pseudonym's rank for SPEC §4's tie rule. Facts only: which
//! places belong to a programme is `measures`' to decide.

use std::collections::HashMap;

use crate::model::{Case, Pseudonym, RegionIdx};

/// One distinct (office, file, region, municipality) of the accepted cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Place {
    /// Index into ingest's office names.
    pub office: u32,
    /// Index into ingest's input files.
    pub file: u32,
    pub region: RegionIdx,
    /// Index into `reference::municipalities()`.
    pub municipality: Option<u16>,
}

/// One case's place (an index into `Places::places`) and tie rank: what travels beside a link
/// case through the spilled runs and the merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaceTag {
    pub place: u32,
    pub rank: u64,
}

/// The distinct places, and the place and tie rank of the accepted cases held in memory, by
/// ordinal: every case's when nothing was spilled, else those since the last spill.
#[derive(Debug, Default)]
pub struct Places {
    places: Vec<Place>,
    index: HashMap<Place, u32>,
    /// The ordinal of the first case in `of_case` and `rank`.
    first: u32,
    /// The place of each case, by ordinal − `first`.
    of_case: Vec<u32>,
    /// Each case's rank among a child's cases that tie on a date (SPEC §4: "ties are broken by
    /// the case pseudonym"), by ordinal − `first`.
    rank: Vec<u64>,
}

impl Places {
    pub(super) fn record(&mut self, case: &Case) {
        let place = Place {
            office: case.office,
            file: case.file,
            region: case.region,
            municipality: case.municipality,
        };
        // Exports come office by office, so the last place is nearly always the next one.
        let id = match self.of_case.last() {
            Some(&last) if self.places[last as usize] == place => last,
            _ => *self.index.entry(place).or_insert_with(|| {
                self.places.push(place);
                (self.places.len() - 1) as u32
            }),
        };
        self.of_case.push(id);
        self.rank.push(case_rank(case.case.as_ref()));
    }

    /// Forget the cases held so far (they were spilled with their tags): the next case
    /// recorded has ordinal `next`.
    pub(super) fn forget_cases(&mut self, next: u32) {
        self.first = next;
        self.of_case.clear();
        self.rank.clear();
    }

    /// Forget the cases held, and free their memory: every case is spilled.
    pub(super) fn free_cases(&mut self) {
        self.of_case = Vec::new();
        self.rank = Vec::new();
    }

    /// The distinct places, indexed by `PlaceTag::place`.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The place and tie rank of the case with ordinal `ordinal`, which must be held (every
    /// case is when the store did not spill).
    pub fn tag_of(&self, ordinal: u32) -> PlaceTag {
        let i = (ordinal - self.first) as usize;
        PlaceTag {
            place: self.of_case[i],
            rank: self.rank[i],
        }
    }
}

/// The order of case pseudonyms as SPEC §4 breaks ties with them: by their first 8 bytes, a
/// case without a pseudonym last. (Two cases of one child that tie on a date and share the first
/// 8 bytes of their pseudonyms are left to file order, a chance of 2⁻⁶⁴.)
fn case_rank(case: Option<&Pseudonym>) -> u64 {
    match case {
        None => u64::MAX,
        Some(p) => {
            let mut first = [0u8; 8];
            first.copy_from_slice(&p[..8]);
            u64::from_be_bytes(first).min(u64::MAX - 1)
        }
    }
}

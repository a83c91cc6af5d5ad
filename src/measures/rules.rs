//! The parts SPEC §4's definitions share, each named once: a case as the definitions read it,
//! the 365-day follow-up window, re-entry, the first-case rule and the entry cohorts, and
//! counting a case in its region and the country. No measure is defined here.

use super::catalogue::Measure;
use super::tally::{Count, Decider, Scope};
use crate::dates;
use crate::link::LinkCase;
use crate::model::{CaseType, Day, Outcome, RegionIdx};

/// The follow-up window of the 12-month measures, in days.
pub const FOLLOW_UP_DAYS: i32 = 365;

/// One case as the definitions read it, its dates turned into years once.
pub(super) struct CaseFacts {
    pub case_type: CaseType,
    /// The region of the reporting office: the `R` of SPEC §4.
    pub region: RegionIdx,
    pub opened: Day,
    pub year_opened: i32,
    pub closed: Option<Day>,
    pub year_closed: Option<i32>,
    /// The outcome of a closed case; `None` while the case is open.
    pub outcome: Option<Outcome>,
    pub placement_region: Option<RegionIdx>,
    /// Its programme class (0 without programmes): which programmes it is a member of.
    pub class: u16,
    /// Its place among a child's cases that tie on a date: (case pseudonym rank, ordinal).
    pub tie_rank: (u64, u32),
}

impl CaseFacts {
    /// `c` with its programme class and tie rank (`CaseClasses::of`; (0, 0) without
    /// programmes).
    pub fn of(c: &LinkCase, (class, rank): (u16, u64)) -> CaseFacts {
        let closed = c.closed();
        CaseFacts {
            case_type: c.case_type,
            region: c.region,
            opened: c.opened,
            year_opened: dates::year_of(c.opened),
            closed,
            year_closed: closed.map(dates::year_of),
            // Outcome is present exactly when the case is closed (ingest guarantees it).
            outcome: c.outcome.filter(|_| closed.is_some()),
            placement_region: c.placement_region(),
            class,
            tie_rank: (rank, c.ordinal),
        }
    }

    /// This case as the decider of a national count.
    pub fn decider(&self) -> Decider {
        Decider {
            region: self.region,
            class: self.class,
        }
    }

    /// The year closed and the outcome, for a case closed with an outcome that is not neutral
    /// (neutral outcomes are left out of rates).
    pub fn closed_not_neutral(&self) -> Option<(i32, Outcome)> {
        match (self.year_closed, self.outcome) {
            (Some(year), Some(outcome)) if !outcome.is_neutral() => Some((year, outcome)),
            _ => None,
        }
    }

    pub fn has_neutral_outcome(&self) -> bool {
        self.outcome.is_some_and(Outcome::is_neutral)
    }

    /// Closed at most `FOLLOW_UP_DAYS` after it opened.
    pub fn closed_within_follow_up(&self) -> bool {
        self.closed
            .is_some_and(|day| day - self.opened <= FOLLOW_UP_DAYS)
    }

    /// A prevention case closed with a placement outcome (the child placed away from home).
    pub fn is_prevention_placement(&self) -> bool {
        self.case_type == CaseType::Prevention && self.outcome.is_some_and(Outcome::is_placement)
    }

    /// When this case would be a re-entry of the child into care: a reintegration case on the
    /// day it opened, a prevention case closed with a placement outcome on the day it closed.
    pub fn reentry_day(&self) -> Option<Day> {
        match self.case_type {
            CaseType::Reintegration => Some(self.opened),
            CaseType::Prevention => self.closed.filter(|_| self.is_prevention_placement()),
        }
    }

    /// The day a reintegration case closed `reunified`.
    pub fn reunified_on(&self) -> Option<Day> {
        match (self.case_type, self.outcome) {
            (CaseType::Reintegration, Some(Outcome::Reunified)) => self.closed,
            _ => None,
        }
    }

    /// Every year the case was open: to the year it closed, or to `last_year` while open.
    pub fn years_open(&self, last_year: i32) -> std::ops::RangeInclusive<i32> {
        self.year_opened..=self.year_closed.unwrap_or(last_year)
    }
}

/// Whether a visited case is a child's first of its (region, year) and of its (country, year).
#[derive(Debug, Clone, Copy)]
pub(super) struct First {
    pub in_region: bool,
    pub in_country: bool,
}

impl First {
    pub fn anywhere(self) -> bool {
        self.in_region || self.in_country
    }
}

/// The first-case rule, over one child's cases visited in date order: which regions (a bit
/// each) and whether the country have had their first case in the current year.
pub(super) struct Firsts {
    year: i32,
    regions: u32,
    national: bool,
}

impl Firsts {
    pub fn new() -> Firsts {
        Firsts {
            year: i32::MIN,
            regions: 0,
            national: false,
        }
    }

    /// Whether a case in `region` and `year` is the first of its (region, year) and of its
    /// (country, year); marks both as seen.
    pub fn visit(&mut self, region: RegionIdx, year: i32) -> First {
        if year != self.year {
            *self = Firsts {
                year,
                regions: 0,
                national: false,
            };
        }
        let bit = 1u32 << (region % 32);
        let first = First {
            in_region: self.regions & bit == 0,
            in_country: !self.national,
        };
        self.regions |= bit;
        self.national = true;
        first
    }
}

/// The entry cohort of a 12-month measure: a child enters the cohort of (R, year opened) with
/// its first case of the type there (one type's cases come in `opened` order), and leaves it
/// when that case's outcome is neutral. Where this case puts the child in a cohort, if
/// anywhere. Every case of the type must be offered, so that later ones are not first.
pub(super) fn cohort_entry(case: &CaseFacts, cohort: &mut Firsts) -> Option<First> {
    let first = cohort.visit(case.region, case.year_opened);
    (first.anywhere() && !case.has_neutral_outcome()).then_some(first)
}

/// Count a case in its region's row and in the country's (the case-based measures: each case
/// decides for itself).
pub(super) fn count_case(
    out: &mut impl Count,
    measure: Measure,
    case: &CaseFacts,
    year: i32,
    hit: bool,
) {
    out.count(measure, Scope::Region(case.region), year, hit);
    out.count(measure, Scope::Country(case.decider()), year, hit);
}

/// Count a child's deciding case where it was the first: in its region, the country, or both.
pub(super) fn count_first(
    out: &mut impl Count,
    measure: Measure,
    first: First,
    decider: Decider,
    year: i32,
    hit: bool,
) {
    if first.in_region {
        out.count(measure, Scope::Region(decider.region), year, hit);
    }
    if first.in_country {
        out.count(measure, Scope::Country(decider), year, hit);
    }
}

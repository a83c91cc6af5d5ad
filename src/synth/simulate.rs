//! The case simulation: 2015–2024 day by day, cases opened at the agency's national rates and
//! run to their end when they open, with follow-on cases, bad rows and duplicates. It draws
//! values only; how they are spelled and written is `layouts`', `people`' and `write`'s.
//!
//! Each day each oblast opens new cases (national volumes spread by population); a case's
//! closing date, outcome and placement are drawn at once and its row goes to its office's file
//! for the year. Later cases of the same child (re-entry after reunification, reintegration
//! after a placement, a new prevention case, a transfer to another oblast) wait in a small
//! queue until their opening day, so memory holds only the queue and one open file per office,
//! whatever the number of rows; files are in order of opening date. A simulated programme
//! (`effect`) shifts the outcomes of its oblasts' cases as they are drawn.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calendar::{Ymd, day_of, is_leap, ymd};
use super::effect::{self, Effect, Odds, Programme};
use super::geography::Geo;
use super::layouts::{Layout, Offices};
use super::people::{self, Child, IdMode, People};
use super::write::{Exports, OutcomeLabel, Row};
use crate::model::{CaseType, Outcome, PlacementType, RegionIdx, Vocabulary};

// ---------------------------------------------------------------------------------------------
// Calibration.

pub(super) const FIRST_YEAR: i32 = 2015;
pub(super) const LAST_YEAR: i32 = 2024;
const YEARS: usize = (LAST_YEAR - FIRST_YEAR + 1) as usize;
/// The day the exports were made (the pipeline's `as_of`): later closings are not known.
pub(super) const AS_OF: Ymd = (2025, 6, 30);

/// New prevention cases per year, 2015–2024 (agency reports; 2015 and 2024 interpolated).
const PREVENTION_PER_YEAR: [f64; YEARS] = [
    4300.0, 4268.0, 3186.0, 2703.0, 2854.0, 3781.0, 3864.0, 3708.0, 3570.0, 3600.0,
];
/// New reintegration cases per year, 2015–2024 (about 2,000 a year; 2020 lower).
const REINTEGRATION_PER_YEAR: [f64; YEARS] = [
    2000.0, 2050.0, 1950.0, 1900.0, 1900.0, 1700.0, 1850.0, 1900.0, 1950.0, 2000.0,
];
/// Rows written per new case drawn: follow-on cases of the same child and duplicate rows
/// (measured on runs of 30,000–1,000,000 rows).
const ROWS_PER_NEW_CASE: f64 = 1.094;
/// Children per family group opened together (siblings): 90 % one, 7.5 % two, 2.5 % three.
const MEAN_FAMILY: f64 = 1.125;

const BAD_RATE: f64 = 0.015;
const EXACT_DUP_RATE: f64 = 0.005;
/// Applied to closed cases only (~90 % of cases), so about 0.5 % of rows.
const CROSS_DUP_RATE: f64 = 0.0055;

// ---------------------------------------------------------------------------------------------
// The simulated world.

/// The placement an outcome puts the child in, if any.
fn placement_of(outcome: Outcome) -> Option<PlacementType> {
    match outcome {
        Outcome::KinshipCare => Some(PlacementType::KinshipCare),
        Outcome::FosterCare => Some(PlacementType::FosterCare),
        Outcome::ResidentialCare => Some(PlacementType::ResidentialCare),
        Outcome::Institution => Some(PlacementType::Institution),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
struct Case {
    child: Child,
    oblast: RegionIdx,
    case_type: CaseType,
    /// The case's number within its oblast and year.
    number: u32,
    opened: i32,
    closed: Option<i32>,
    outcome: Option<Outcome>,
    /// What the export shows as placement (type, oblast).
    placement: Option<(PlacementType, RegionIdx)>,
    /// For reintegration: the care the child is in when the case opens.
    care: Option<(PlacementType, RegionIdx)>,
}

impl Case {
    /// The row the case's office exports.
    fn row(&self) -> Row<'_> {
        Row {
            child: &self.child,
            oblast: self.oblast,
            case_type: self.case_type,
            number: self.number,
            id: IdMode::Normal,
            opened: ymd(self.opened),
            closed: self.closed.map(ymd),
            outcome: self
                .outcome
                .map_or(OutcomeLabel::Empty, OutcomeLabel::Outcome),
            placement: self.placement,
            drop_last: false,
        }
    }
}

/// A later case of a known child, waiting for its opening day.
struct Pending {
    day: i32,
    seq: u64,
    child: Child,
    oblast: RegionIdx,
    case_type: CaseType,
    care: Option<(PlacementType, RegionIdx)>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.day, self.seq) == (other.day, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.day, self.seq).cmp(&(other.day, other.seq))
    }
}

/// The kinds of bad row the exports contain (about 1.5 % of rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bad {
    InvalidId,
    ImpossibleDate,
    ClosedBeforeOpened,
    UnknownOutcome,
    EmptyId,
    TooFewColumns,
    OpenedAfterAsOf,
    InapplicableOutcome,
    ClosedWithoutOutcome,
}

pub(super) const BAD_KINDS: usize = 9;

/// Counts kept for the tests.
#[derive(Debug, Default, Clone)]
pub(super) struct Stats {
    /// Case rows (good and bad), without duplicates.
    pub cases: u64,
    pub bad: [u64; BAD_KINDS],
    pub exact_dups: u64,
    pub cross_dups: u64,
    /// The programme's cases whose success chance had to be kept within 0 and 1.
    pub capped: u64,
}

// ---------------------------------------------------------------------------------------------
// The simulation.

pub(super) struct Simulation<'g> {
    geo: &'g Geo,
    offices: &'g Offices,
    exports: Exports<'g>,
    rng: ChaCha8Rng,
    /// New cases per agency-reported case.
    scale: f64,
    export_day: i32,
    last_day: i32,
    year: i32,
    people: People,
    case_no: Vec<u32>,
    /// Per-oblast shift of success rates.
    offsets: Vec<f64>,
    /// The simulated programme, if any (its own random stream).
    effect: Option<Effect>,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    stats: Stats,
}

impl<'g> Simulation<'g> {
    pub(super) fn new(
        geo: &'g Geo,
        offices: &'g Offices,
        out: &'g Path,
        rows: u64,
        seed: u64,
        programme: Option<&Programme>,
    ) -> Simulation<'g> {
        let base: f64 =
            PREVENTION_PER_YEAR.iter().sum::<f64>() + REINTEGRATION_PER_YEAR.iter().sum::<f64>();
        let scale = rows as f64 / (base * ROWS_PER_NEW_CASE);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Regional differences in success rates, centred so the national rate stays calibrated.
        let mut offsets: Vec<f64> = (0..geo.areas.len())
            .map(|_| rng.random_range(-0.06..0.06))
            .collect();
        let mean: f64 = offsets
            .iter()
            .zip(&geo.areas)
            .map(|(x, a)| x * a.weight)
            .sum();
        offsets.iter_mut().for_each(|x| *x -= mean);
        let (y, m, d) = AS_OF;
        Simulation {
            geo,
            offices,
            exports: Exports::new(geo, out, &offices.sources),
            rng,
            scale,
            export_day: day_of(y, m, d),
            last_day: day_of(LAST_YEAR, 12, 31),
            year: FIRST_YEAR,
            people: People::new(),
            case_no: vec![0; geo.areas.len()],
            offsets,
            effect: programme.map(|p| Effect::new(p, geo.areas.len(), seed)),
            pending: BinaryHeap::new(),
            seq: 0,
            stats: Stats::default(),
        }
    }

    /// Simulate the decade; the files written (in the order they were finished) and the counts.
    pub(super) fn run(mut self) -> anyhow::Result<(Vec<(PathBuf, u64)>, Stats)> {
        for (yi, year) in (FIRST_YEAR..=LAST_YEAR).enumerate() {
            self.year = year;
            self.exports.begin_year(year);
            self.case_no.iter_mut().for_each(|n| *n = 0);
            let start = day_of(year, 1, 1);
            let end = day_of(year, 12, 31);
            let week_sum: f64 = (start..=end).map(weekday_weight).sum();
            let total = (PREVENTION_PER_YEAR[yi] + REINTEGRATION_PER_YEAR[yi]) * self.scale;
            let prevention_share =
                PREVENTION_PER_YEAR[yi] / (PREVENTION_PER_YEAR[yi] + REINTEGRATION_PER_YEAR[yi]);
            for day in start..=end {
                self.run_pending(day)?;
                let per_group = total * weekday_weight(day) / week_sum / MEAN_FAMILY;
                for o in 0..self.geo.areas.len() {
                    let lambda = per_group * self.geo.areas[o].weight;
                    let jitter = 0.6 + 0.8 * self.rng.random::<f64>();
                    let groups = (lambda * jitter + self.rng.random::<f64>()) as u64;
                    for _ in 0..groups {
                        self.new_family(o as RegionIdx, day, prevention_share)?;
                    }
                }
            }
            self.exports.close_year()?;
        }
        self.stats.capped = self.effect.as_ref().map_or(0, Effect::capped);
        Ok((self.exports.finish()?, self.stats))
    }

    fn run_pending(&mut self, day: i32) -> anyhow::Result<()> {
        while self.pending.peek().is_some_and(|p| p.0.day <= day) {
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            self.open_case(p.child, p.oblast, p.case_type, p.day, p.care)?;
        }
        Ok(())
    }

    /// Whether the NGO exports the oblast (it numbers some children its own way).
    fn ngo_serves(&self, oblast: RegionIdx) -> bool {
        self.offices.layout_of(oblast) == Layout::Ngo
    }

    fn new_family(
        &mut self,
        oblast: RegionIdx,
        day: i32,
        prevention_share: f64,
    ) -> anyhow::Result<()> {
        let case_type = if self.rng.random_bool(prevention_share) {
            CaseType::Prevention
        } else {
            CaseType::Reintegration
        };
        let u: f64 = self.rng.random();
        let size = if u < 0.9 {
            1
        } else if u < 0.975 {
            2
        } else {
            3
        };
        let ngo = self.ngo_serves(oblast);
        let first = self
            .people
            .new_child(&mut self.rng, self.geo, oblast, ngo, case_type, day);
        self.open_case(first, oblast, case_type, day, None)?;
        for _ in 1..size {
            let sibling = self
                .people
                .sibling(&mut self.rng, &first, ngo, case_type, day);
            self.open_case(sibling, oblast, case_type, day, None)?;
        }
        Ok(())
    }

    fn pick_oblast(&mut self, exclude: RegionIdx) -> RegionIdx {
        loop {
            let u: f64 = self.rng.random();
            let o = self
                .geo
                .cumulative
                .iter()
                .position(|&c| u < c)
                .unwrap_or(self.geo.cumulative.len() - 1) as RegionIdx;
            if o != exclude {
                return o;
            }
        }
    }

    /// The oblast of a placement: mostly the child's own, about 15 % another.
    fn placement_region(&mut self, oblast: RegionIdx) -> RegionIdx {
        if self.rng.random_bool(0.85) {
            oblast
        } else {
            self.pick_oblast(oblast)
        }
    }

    /// Institutions were closed down over the decade (deinstitutionalization).
    fn institution_weight(&self) -> f64 {
        (0.15 - 0.02 * f64::from(self.year - FIRST_YEAR)).max(0.02)
    }

    fn sample_care(&mut self, oblast: RegionIdx) -> (PlacementType, RegionIdx) {
        // In `PlacementType::ALL` order: kinship, foster, residential, institution.
        let weights = [0.08, 0.45, 0.35, self.institution_weight() * 1.5];
        let place = PlacementType::ALL[effect::weighted(&mut self.rng, &weights)];
        (place, self.placement_region(oblast))
    }

    /// The outcome of a case of `oblast` opened this year and closed on day `closed`.
    fn sample_outcome(&mut self, case_type: CaseType, oblast: RegionIdx, closed: i32) -> Outcome {
        let u: f64 = self.rng.random();
        if u < 0.025 {
            return Outcome::Transferred;
        }
        if u < 0.04 {
            return Outcome::Other;
        }
        let odds = self.odds(case_type, oblast);
        let drawn = odds.draw(&mut self.rng);
        match &mut self.effect {
            Some(effect) => effect.apply(&odds, drawn, oblast, closed),
            None => drawn,
        }
    }

    /// The odds of the outcomes that are not neutral, for a case of `oblast` opened this year.
    fn odds(&self, case_type: CaseType, oblast: RegionIdx) -> Odds {
        let trend = f64::from(self.year - 2019);
        let offset = self.offsets[oblast as usize];
        let inst = self.institution_weight();
        match case_type {
            CaseType::Prevention => {
                const PLACEMENTS: [Outcome; 5] = [
                    Outcome::KinshipCare,
                    Outcome::FosterCare,
                    Outcome::ResidentialCare,
                    Outcome::Institution,
                    Outcome::Adopted,
                ];
                let p = (0.785 + 0.004 * trend + offset).clamp(0.5, 0.95);
                let weights = [0.30, 0.35, 0.22, inst, 0.05];
                Odds::new(Outcome::StayedWithFamily, p, &PLACEMENTS, &weights)
            }
            CaseType::Reintegration => {
                const OTHERS: [Outcome; 6] = [
                    Outcome::RemainedInCare,
                    Outcome::FosterCare,
                    Outcome::KinshipCare,
                    Outcome::ResidentialCare,
                    Outcome::Adopted,
                    Outcome::Institution,
                ];
                let p = (0.61 + 0.005 * trend + offset).clamp(0.3, 0.9);
                let weights = [0.45, 0.18, 0.15, 0.15, 0.03, inst * 0.3];
                Odds::new(Outcome::Reunified, p, &OTHERS, &weights)
            }
        }
    }

    /// Days from opening to closing: mostly 3 to 18 months.
    fn sample_duration(&mut self) -> i32 {
        let u: f64 = self.rng.random();
        if u < 0.10 {
            self.rng.random_range(20..90)
        } else if u < 0.92 {
            90 + (450.0 * self.rng.random::<f64>().powf(1.4)) as i32
        } else {
            self.rng.random_range(540..1000)
        }
    }

    fn open_case(
        &mut self,
        child: Child,
        oblast: RegionIdx,
        case_type: CaseType,
        opened: i32,
        care: Option<(PlacementType, RegionIdx)>,
    ) -> anyhow::Result<()> {
        let o = oblast as usize;
        self.case_no[o] += 1;
        let number = self.case_no[o];
        let care = match case_type {
            CaseType::Reintegration => Some(care.unwrap_or_else(|| self.sample_care(oblast))),
            CaseType::Prevention => None,
        };
        let closing = opened + self.sample_duration();
        let (closed, outcome, mut placement) = if closing <= self.export_day {
            let outcome = self.sample_outcome(case_type, oblast, closing);
            let placement = match (placement_of(outcome), case_type) {
                (Some(p), _) => Some((p, self.placement_region(oblast))),
                (None, CaseType::Reintegration) if outcome != Outcome::Adopted => care,
                (None, _) => None,
            };
            (Some(closing), Some(outcome), placement)
        } else {
            (None, None, care)
        };
        if placement.is_some() && self.rng.random_bool(0.04) {
            placement = None;
        }
        let case = Case {
            child,
            oblast,
            case_type,
            number,
            opened,
            closed,
            outcome,
            placement,
            care,
        };
        self.emit_case(&case)?;
        self.follow_ons(&case);
        Ok(())
    }

    /// Schedule the child's later cases that this case's ending leads to.
    fn follow_ons(&mut self, case: &Case) {
        let (Some(closed), Some(outcome)) = (case.closed, case.outcome) else {
            return;
        };
        let mut child = case.child;
        let mut oblast = case.oblast;
        let (p, case_type, lo, hi, move_p, care) = match (case.case_type, outcome) {
            // Some families come back: a new prevention case, sometimes the same year.
            (CaseType::Prevention, Outcome::StayedWithFamily) => {
                (0.05, CaseType::Prevention, 30, 300, 0.0, None)
            }
            // A child placed may later come home: a reintegration case from that placement.
            (CaseType::Prevention, o) if placement_of(o).is_some() => (
                0.25,
                CaseType::Reintegration,
                30,
                400,
                0.0,
                case.placement
                    .or_else(|| placement_of(o).map(|p| (p, oblast))),
            ),
            // Re-entry after reunification, a third of them in another oblast.
            (CaseType::Reintegration, Outcome::Reunified) => {
                (0.08, CaseType::Reintegration, 30, 500, 1.0 / 3.0, None)
            }
            // Another attempt for a child who stayed in care.
            (CaseType::Reintegration, Outcome::RemainedInCare) => {
                (0.10, CaseType::Reintegration, 60, 400, 0.0, case.care)
            }
            // Transferred to the office of another oblast.
            (ct, Outcome::Transferred) => (0.5, ct, 1, 30, 1.0, case.care),
            _ => return,
        };
        if !self.rng.random_bool(p) {
            return;
        }
        let day = closed + self.rng.random_range(lo..=hi);
        if day > self.last_day || day - child.birth >= 6570 {
            return;
        }
        // A child known by the NGO's own number is only linkable within the NGO: keep it there.
        if move_p > 0.0 && child.ngo_no == 0 && self.rng.random_bool(move_p) {
            oblast = self.pick_oblast(oblast);
            let ngo = self.ngo_serves(oblast);
            self.people
                .settle(&mut self.rng, self.geo, &mut child, oblast, ngo);
        }
        self.seq += 1;
        self.pending.push(Reverse(Pending {
            day,
            seq: self.seq,
            child,
            oblast,
            case_type,
            care,
        }));
    }

    // -----------------------------------------------------------------------------------------
    // Rows: bad ones and duplicates.

    fn emit_case(&mut self, case: &Case) -> anyhow::Result<()> {
        self.stats.cases += 1;
        let source = self.offices.source_of[case.oblast as usize];
        let layout = self.offices.sources[source].layout;
        let bad = if self.rng.random_bool(BAD_RATE) {
            Some(self.pick_bad(layout, case.closed.is_some()))
        } else {
            None
        };
        let mut row = case.row();
        if let Some(bad) = bad {
            self.stats.bad[bad as usize] += 1;
            self.spoil(&mut row, bad, case);
        }
        let copy_share = bad.is_none().then_some(EXACT_DUP_RATE);
        if self
            .exports
            .write_row(&mut self.rng, source, &row, copy_share)?
        {
            self.stats.exact_dups += 1;
        }
        if bad.is_none()
            && case.closed.is_some()
            && case.child.ngo_no == 0
            && self.rng.random_bool(CROSS_DUP_RATE)
        {
            // The same case also exported, still open, by another office.
            let dup = Row {
                closed: None,
                outcome: OutcomeLabel::Empty,
                placement: case.care,
                ..case.row()
            };
            let other = self.offices.other_office(layout);
            self.exports.write_row(&mut self.rng, other, &dup, None)?;
            self.stats.cross_dups += 1;
        }
        Ok(())
    }

    fn pick_bad(&mut self, layout: Layout, closed: bool) -> Bad {
        let mut candidates = [Bad::EmptyId; BAD_KINDS];
        let mut n = 0;
        let mut add = |b: Bad| {
            candidates[n] = b;
            n += 1;
        };
        add(Bad::EmptyId);
        add(Bad::ImpossibleDate);
        add(Bad::TooFewColumns);
        add(Bad::OpenedAfterAsOf);
        if layout != Layout::Ngo {
            // Only the sources that declare child_id_scheme = "egn" check digits.
            add(Bad::InvalidId);
        }
        if closed {
            add(Bad::ClosedBeforeOpened);
            add(Bad::UnknownOutcome);
            add(Bad::InapplicableOutcome);
            add(Bad::ClosedWithoutOutcome);
        }
        candidates[self.rng.random_range(0..n)]
    }

    /// Make `row` of `case` bad in the way `bad` says.
    fn spoil(&mut self, row: &mut Row, bad: Bad, case: &Case) {
        match bad {
            Bad::InvalidId => {
                row.id = IdMode::Invalid(people::wrong_digit(&mut self.rng, case.child.id))
            }
            Bad::EmptyId => row.id = IdMode::Empty,
            Bad::ImpossibleDate => match row.closed {
                Some(closed) if self.rng.random_bool(0.5) => {
                    row.closed = Some(self.impossible_date(closed.0));
                }
                _ => row.opened = self.impossible_date(row.opened.0),
            },
            Bad::ClosedBeforeOpened => {
                row.closed = Some(ymd(case.opened - self.rng.random_range(1..90)));
            }
            Bad::UnknownOutcome => row.outcome = OutcomeLabel::Unknown,
            Bad::TooFewColumns => row.drop_last = true,
            Bad::OpenedAfterAsOf => {
                // A typo in the year: ten or twenty years on, past the as-of date.
                let (y, m, d) = row.opened;
                let d = if m == 2 { d.min(28) } else { d };
                let y = if (y + 10, m, d) > AS_OF {
                    y + 10
                } else {
                    y + 20
                };
                row.opened = (y, m, d);
                row.closed = None;
                row.outcome = OutcomeLabel::Empty;
                row.placement = case.care;
            }
            Bad::InapplicableOutcome => {
                row.outcome = OutcomeLabel::Outcome(match case.case_type {
                    CaseType::Prevention => Outcome::Reunified,
                    CaseType::Reintegration => Outcome::StayedWithFamily,
                });
                row.placement = case.care;
            }
            Bad::ClosedWithoutOutcome => {
                row.outcome = OutcomeLabel::Empty;
                row.placement = case.care;
            }
        }
    }

    /// 29, 30 or 31 February of `year` (only 30 or 31 in a leap year).
    fn impossible_date(&mut self, year: i32) -> Ymd {
        let days: &[u32] = if is_leap(year) {
            &[30, 31]
        } else {
            &[29, 30, 31]
        };
        (year, 2, days[self.rng.random_range(0..days.len())])
    }
}

/// Relative number of cases opened on a day: few at weekends and on public holidays.
fn weekday_weight(day: i32) -> f64 {
    let Some(date) = NaiveDate::from_num_days_from_ce_opt(day) else {
        return 1.0;
    };
    // Fixed-date public holidays of Bulgaria (Easter and moved days left out).
    const HOLIDAYS: [(u32, u32); 10] = [
        (1, 1),
        (3, 3),
        (5, 1),
        (5, 6),
        (5, 24),
        (9, 6),
        (9, 22),
        (12, 24),
        (12, 25),
        (12, 26),
    ];
    match date.weekday() {
        Weekday::Sat => 0.05,
        Weekday::Sun => 0.02,
        _ if HOLIDAYS.contains(&(date.month(), date.day())) => 0.03,
        _ => 1.0,
    }
}

//! A simulated programme (`outcomes synth --programme-*`, issue 14): the offices of some oblasts
//! whose closed cases succeed more often (or less) from a year on, so that SPEC §10's figures
//! have a known answer. The difference in differences of `prevention_closed` and
//! `reintegration_closed` (the programme's oblasts against the rest, during against before) is
//! the effect, in expectation.
//!
//! Exactness. Where `simulate` draws a closed case's outcome it first draws whether it is
//! neutral (`Outcome::is_neutral`), then, from `Odds`, the success outcome with chance `p` or
//! one of the others by their weights: `p` is the case's chance of success among the
//! non-neutral outcomes. For a case of the programme's oblasts closing on or after 1 January
//! of the start year, `Effect::apply` turns that draw into one from the shifted odds: success
//! with chance `p + δ` (kept within 0 and 1), each other non-neutral outcome scaled by one
//! factor, so their proportions stay, and the neutral outcomes left as drawn. Raising, a
//! non-success becomes the success with chance δ / (1 − p); lowering, a success becomes one of
//! the others, drawn by their weights, with chance −δ / p. Both case types, the closing year
//! deciding, as the `_closed` measures count cases by the year they close.
//!
//! Determinism. The effect draws from a ChaCha stream of its own (the seed's, stream
//! `STREAM`), never from the simulation's, and only for the programme's cases: without a
//! programme, or with an effect of 0, every export is byte for byte what it is without the
//! flags. An outcome that changes changes what follows from it in the simulation (the
//! placement drawn, the child's later cases), so from the first changed case on the exports
//! differ from the run without the effect everywhere, as another sample of the same world:
//! outside the programme's oblasts and years the odds are the same.

use std::fmt;
use std::ops::RangeInclusive;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calendar::day_of;
use super::simulate::{FIRST_YEAR, LAST_YEAR};
use crate::model::{Outcome, RegionIdx};
use crate::reference;

/// The effects a user may ask for, in percentage points.
pub const EFFECT_POINTS: RangeInclusive<i32> = -50..=50;

/// The start years a user may ask for: a year of closings before it, and a whole year in it
/// (cases open 2015–2024; 2025 has closings up to the as-of date only).
pub const START_YEARS: RangeInclusive<i32> = FIRST_YEAR + 1..=LAST_YEAR;

/// The effect's stream of the seed's ChaCha generator (the simulation draws from stream 0).
const STREAM: u64 = u64::from_be_bytes(*b"program\x01");

/// The programme a user asked `synth` to simulate, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    /// The oblasts, in the order given, each once.
    regions: Vec<RegionIdx>,
    /// Percentage points, within `EFFECT_POINTS`.
    effect: i32,
    /// The start year, within `START_YEARS`.
    start: i32,
}

/// Why the programme options were refused (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgrammeError {
    #[error(
        "--programme-regions names no oblast: give oblast codes separated by commas, e.g. VAR,DOB"
    )]
    NoRegion,
    #[error("--programme-regions: {code:?} is not an oblast code; the codes are {known}")]
    UnknownRegion { code: String, known: String },
    #[error(
        "--programme-regions names every oblast: leave some out, they are what the programme is compared with"
    )]
    EveryRegion,
    #[error(
        "--programme-effect must be between {lo} and {hi} percentage points, not {0}",
        lo = EFFECT_POINTS.start(),
        hi = EFFECT_POINTS.end()
    )]
    Effect(i32),
    #[error(
        "--programme-from must be a year from {lo} to {hi}, not {0}: synth's cases open {first}–{last}, and the programme needs a year of closings before it and a whole year in it",
        lo = START_YEARS.start(),
        hi = START_YEARS.end(),
        first = FIRST_YEAR,
        last = LAST_YEAR
    )]
    Start(i32),
}

impl Programme {
    /// The programme of `regions` (oblast codes, any case), `effect` percentage points and
    /// start year `start`, as the command line gives them.
    pub fn new(regions: &[String], effect: i32, start: i32) -> Result<Programme, ProgrammeError> {
        let mut idx = Vec::new();
        for code in regions {
            let code = code.trim();
            if code.is_empty() {
                continue;
            }
            let Some(region) = reference::region_by_code(&code.to_ascii_uppercase()) else {
                let known: Vec<&str> = reference::oblasts()
                    .iter()
                    .map(|o| o.code.as_str())
                    .collect();
                return Err(ProgrammeError::UnknownRegion {
                    code: code.to_string(),
                    known: known.join(", "),
                });
            };
            if !idx.contains(&region) {
                idx.push(region);
            }
        }
        if idx.is_empty() {
            return Err(ProgrammeError::NoRegion);
        }
        if idx.len() == reference::oblasts().len() {
            return Err(ProgrammeError::EveryRegion);
        }
        if !EFFECT_POINTS.contains(&effect) {
            return Err(ProgrammeError::Effect(effect));
        }
        if !START_YEARS.contains(&start) {
            return Err(ProgrammeError::Start(start));
        }
        Ok(Programme {
            regions: idx,
            effect,
            start,
        })
    }

    /// The oblast codes, in the order given.
    pub fn codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.regions
            .iter()
            .map(|r| reference::oblasts()[*r as usize].code.as_str())
    }

    /// The effect in percentage points.
    pub fn effect(&self) -> i32 {
        self.effect
    }

    /// The start year.
    pub fn start(&self) -> i32 {
        self.start
    }

    /// The command-line options that ask for this programme.
    pub(super) fn options(&self) -> String {
        let codes: Vec<&str> = self.codes().collect();
        format!(
            "--programme-regions {} --programme-effect {} --programme-from {}",
            codes.join(","),
            self.effect,
            self.start
        )
    }
}

/// "+8 points in VAR, DOB from 2016".
impl fmt::Display for Programme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.codes().collect();
        write!(
            f,
            "{:+} points in {} from {}",
            self.effect,
            codes.join(", "),
            self.start
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The odds of an outcome, and the effect on them.

/// The most outcomes other than the success that a case type draws from (reintegration's).
const MAX_OTHERS: usize = 6;

/// How a closed case's outcome is drawn once it is not neutral: `success` with chance `p`,
/// else one of `others` by `weights` (which need not sum to 1).
#[derive(Debug, Clone, Copy)]
pub(super) struct Odds {
    pub success: Outcome,
    pub p: f64,
    pub others: &'static [Outcome],
    weights: [f64; MAX_OTHERS],
}

impl Odds {
    /// `weights[i]` is the weight of `others[i]`; `others` has at most `MAX_OTHERS` outcomes.
    pub(super) fn new(
        success: Outcome,
        p: f64,
        others: &'static [Outcome],
        weights: &[f64],
    ) -> Odds {
        assert!(
            others.len() == weights.len() && others.len() <= MAX_OTHERS,
            "a weight for each of at most {MAX_OTHERS} other outcomes"
        );
        let mut w = [0.0; MAX_OTHERS];
        w[..weights.len()].copy_from_slice(weights);
        Odds {
            success,
            p,
            others,
            weights: w,
        }
    }

    /// The simulation's draw (the order of draws is part of synth's output contract).
    pub(super) fn draw(&self, rng: &mut ChaCha8Rng) -> Outcome {
        if rng.random_bool(self.p) {
            return self.success;
        }
        self.other(rng)
    }

    /// One of the outcomes other than the success, by their weights.
    fn other(&self, rng: &mut ChaCha8Rng) -> Outcome {
        self.others[weighted(rng, &self.weights[..self.others.len()])]
    }
}

/// An index into `weights`, drawn with chances proportional to them.
pub(super) fn weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

/// What the effect does to a drawn outcome: with chance `chance`, a drawn `from` becomes
/// `to`; `shift` computes it so that the success's chance becomes `p + δ`, kept in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Shift {
    /// A non-success becomes the success.
    Raise {
        chance: f64,
    },
    /// A success becomes one of the others.
    Lower {
        chance: f64,
    },
    None,
}

/// The shift that takes a success chance of `p` to `p + delta`, and whether `p + delta` had
/// to be kept within 0 and 1 (then the change is smaller than `delta`).
pub(super) fn shift(p: f64, delta: f64) -> (Shift, bool) {
    let target = (p + delta).clamp(0.0, 1.0);
    let capped = target != p + delta;
    let shift = if target > p {
        Shift::Raise {
            chance: ((target - p) / (1.0 - p)).clamp(0.0, 1.0),
        }
    } else if target < p {
        Shift::Lower {
            chance: ((p - target) / p).clamp(0.0, 1.0),
        }
    } else {
        Shift::None
    };
    (shift, capped)
}

/// The programme as the simulation applies it, with its own random stream.
pub(super) struct Effect {
    /// Per oblast (`RegionIdx`), whether its offices run the programme.
    member: Vec<bool>,
    /// The effect as a probability.
    delta: f64,
    /// The day number of 1 January of the start year: cases closed from then on are affected.
    start: i32,
    rng: ChaCha8Rng,
    /// The programme's cases whose success chance had to be kept within 0 and 1.
    capped: u64,
}

impl Effect {
    pub(super) fn new(programme: &Programme, oblasts: usize, seed: u64) -> Effect {
        let mut member = vec![false; oblasts];
        for r in &programme.regions {
            if let Some(m) = member.get_mut(*r as usize) {
                *m = true;
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(STREAM);
        Effect {
            member,
            delta: f64::from(programme.effect) / 100.0,
            start: day_of(programme.start, 1, 1),
            rng,
            capped: 0,
        }
    }

    /// The outcome of a case of `oblast` closed on day `closed`, drawn by `odds` as `drawn`
    /// (not neutral), with the programme's effect when it applies to the case.
    pub(super) fn apply(
        &mut self,
        odds: &Odds,
        drawn: Outcome,
        oblast: RegionIdx,
        closed: i32,
    ) -> Outcome {
        let member = self.member.get(oblast as usize).copied().unwrap_or(false);
        if !member || closed < self.start || self.delta == 0.0 {
            return drawn;
        }
        let (shift, capped) = shift(odds.p, self.delta);
        self.capped += u64::from(capped);
        match shift {
            Shift::Raise { chance } if drawn != odds.success && self.chance(chance) => odds.success,
            Shift::Lower { chance } if drawn == odds.success && self.chance(chance) => {
                odds.other(&mut self.rng)
            }
            _ => drawn,
        }
    }

    /// True with probability `p` (never panics: `p` outside 0..=1 acts as 0 or 1).
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    /// How many of the programme's cases had their success chance kept within 0 and 1.
    pub(super) fn capped(&self) -> u64 {
        self.capped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHERS: [Outcome; 3] = [Outcome::FosterCare, Outcome::KinshipCare, Outcome::Adopted];

    /// The chances of the success and of each other outcome after the shift, computed from
    /// the odds and the shift's chance (no drawing).
    fn shifted(p: f64, weights: &[f64], delta: f64) -> (f64, Vec<f64>) {
        let total: f64 = weights.iter().sum();
        let base: Vec<f64> = weights.iter().map(|w| (1.0 - p) * w / total).collect();
        match shift(p, delta).0 {
            Shift::Raise { chance } => (
                p + (1.0 - p) * chance,
                base.iter().map(|b| b * (1.0 - chance)).collect(),
            ),
            Shift::Lower { chance } => (
                p * (1.0 - chance),
                base.iter()
                    .zip(weights)
                    .map(|(b, w)| b + p * chance * w / total)
                    .collect(),
            ),
            Shift::None => (p, base),
        }
    }

    #[test]
    fn the_success_chance_moves_by_delta_and_the_others_keep_their_proportions() {
        let weights = [0.5, 0.3, 0.2];
        for p in [0.3, 0.5, 0.61, 0.785, 0.95] {
            for points in EFFECT_POINTS {
                let delta = f64::from(points) / 100.0;
                let (s, others) = shifted(p, &weights, delta);
                let target = (p + delta).clamp(0.0, 1.0);
                assert!((s - target).abs() < 1e-12, "p {p} delta {delta}: {s}");
                assert!((s + others.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                for (o, w) in others.iter().zip(weights) {
                    assert!(
                        (o - (1.0 - target) * w).abs() < 1e-12,
                        "p {p} delta {delta}"
                    );
                }
                assert_eq!(shift(p, delta).1, p + delta != target);
            }
        }
    }

    fn programme(effect: i32) -> Programme {
        Programme::new(&["var".into(), "DOB".into(), "VAR".into()], effect, 2018).unwrap()
    }

    /// The drawn share of the success among many cases, with and without the effect.
    fn success_share(effect: i32, oblast: &str, closed: i32) -> f64 {
        let odds = Odds::new(Outcome::Reunified, 0.6, &OTHERS, &[0.5, 0.3, 0.2]);
        let region = reference::region_by_code(oblast).unwrap();
        let mut effect = Effect::new(&programme(effect), 28, 5);
        let mut main = ChaCha8Rng::seed_from_u64(5);
        let n = 200_000;
        let mut successes = 0;
        for _ in 0..n {
            let drawn = odds.draw(&mut main);
            let outcome = effect.apply(&odds, drawn, region, closed);
            assert!(outcome == odds.success || OTHERS.contains(&outcome));
            successes += u32::from(outcome == odds.success);
        }
        f64::from(successes) / f64::from(n)
    }

    #[test]
    fn only_the_programme_s_cases_closed_from_its_start_are_shifted() {
        let from = day_of(2018, 1, 1);
        // 4 standard errors of a share of 200,000 draws.
        let tolerance = 4.0 * (0.25f64 / 200_000.0).sqrt();
        for (effect, oblast, closed, expected) in [
            (20, "VAR", from, 0.8),
            (-20, "DOB", from + 400, 0.4),
            (20, "VAR", from - 1, 0.6),
            (20, "SOF", from, 0.6),
            (0, "VAR", from, 0.6),
        ] {
            let share = success_share(effect, oblast, closed);
            assert!(
                (share - expected).abs() < tolerance,
                "{effect} {oblast} {closed}: {share}"
            );
        }
    }

    #[test]
    fn the_options_are_checked() {
        let p = programme(8);
        assert_eq!(p.codes().collect::<Vec<_>>(), ["VAR", "DOB"]);
        assert_eq!(p.to_string(), "+8 points in VAR, DOB from 2018");
        assert_eq!(programme(-5).to_string(), "-5 points in VAR, DOB from 2018");
        assert_eq!(
            p.options(),
            "--programme-regions VAR,DOB --programme-effect 8 --programme-from 2018"
        );
        let new = |codes: &[&str], effect, start| {
            let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            Programme::new(&codes, effect, start)
        };
        assert_eq!(new(&[""], 8, 2018), Err(ProgrammeError::NoRegion));
        assert!(matches!(
            new(&["VAR", "XYZ"], 8, 2018),
            Err(ProgrammeError::UnknownRegion { code, .. }) if code == "XYZ"
        ));
        let every: Vec<&str> = reference::oblasts()
            .iter()
            .map(|o| o.code.as_str())
            .collect();
        assert_eq!(new(&every, 8, 2018), Err(ProgrammeError::EveryRegion));
        assert_eq!(new(&["VAR"], 51, 2018), Err(ProgrammeError::Effect(51)));
        assert_eq!(new(&["VAR"], -51, 2018), Err(ProgrammeError::Effect(-51)));
        assert_eq!(new(&["VAR"], 8, 2015), Err(ProgrammeError::Start(2015)));
        assert_eq!(new(&["VAR"], 8, 2025), Err(ProgrammeError::Start(2025)));
        assert!(new(&["SOF"], -50, 2016).is_ok() && new(&["SFO"], 50, 2024).is_ok());
        let message = new(&["XYZ"], 8, 2018).unwrap_err().to_string();
        assert!(
            message.contains("\"XYZ\"") && message.contains("VAR, "),
            "{message}"
        );
    }
}

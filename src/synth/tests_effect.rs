//! Tests of the simulated programme (`effect`) through the files synth writes: the success
//! share of the programme's oblasts moves by the effect from its start year and nothing else
//! moves, an effect of 0 changes the pipeline file only, and the pipeline file defines the
//! programme in SPEC §10's syntax.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::effect::Programme;
use super::layouts::{Column, Labels, Layout, Offices, SOFIA_REGION_LABELS};
use super::pipeline::pipeline_toml;
use super::tests::{decode, layout_of_path, parse_date, read_all};
use super::{Forms, SynthSummary, generate};
use crate::model::{CaseType, Outcome, RegionIdx, Vocabulary};
use crate::reference;

/// The oblasts of the test programme: one each of layouts B (NGO), A (dsp) and C (Sofia).
const REGIONS: [&str; 3] = ["VAR", "DOB", "SOF"];
const START: i32 = 2018;

fn programme(effect: i32) -> Programme {
    let codes: Vec<String> = REGIONS.iter().map(|c| c.to_string()).collect();
    Programme::new(&codes, effect, START).expect("a valid test programme")
}

/// A label of `table` (or a canonical spelling) read back as its value.
fn value_of<V: Vocabulary>(table: Option<&'static [&'static str]>, label: &str) -> Option<V> {
    table
        .and_then(|t| t.iter().position(|l| *l == label))
        .and_then(|i| V::ALL.get(i).copied())
        .or_else(|| V::from_canonical(label))
}

/// The oblast a region label names, in any of the layouts' spellings.
fn oblast_of(label: &str) -> Option<RegionIdx> {
    if let Some((_, code)) = SOFIA_REGION_LABELS.iter().find(|(l, _)| *l == label) {
        return reference::region_by_code(code);
    }
    reference::oblasts()
        .iter()
        .position(|o| [&o.code, &o.nuts3, &o.name_en, &o.name_bg].contains(&&label.to_string()))
        .map(|i| i as RegionIdx)
}

/// One closed case as its export row says: the oblast, whether in the programme's years, the
/// case type and the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Cell {
    programme: bool,
    during: bool,
    case_type: CaseType,
}

/// Per cell, the count of each outcome of the closed rows the exports hold (bad rows whose
/// outcome or closing date cannot be read, or whose outcome does not apply, left out).
fn tally(summary: &SynthSummary) -> BTreeMap<Cell, BTreeMap<Outcome, u64>> {
    let members: Vec<RegionIdx> = REGIONS
        .iter()
        .map(|c| reference::region_by_code(c).expect("a code of the reference"))
        .collect();
    let mut cells: BTreeMap<Cell, BTreeMap<Outcome, u64>> = BTreeMap::new();
    for (path, _) in &summary.files {
        let layout = layout_of_path(path);
        let labels: &Labels = layout.labels();
        let column = |wanted: fn(&Column) -> bool| {
            layout
                .columns()
                .iter()
                .position(|(_, c)| wanted(c))
                .expect("a column every layout has")
        };
        let case_type_col = column(|c| *c == Column::CaseType);
        let closed_col = column(|c| *c == Column::Closed);
        let outcome_col = column(|c| *c == Column::Outcome);
        // Layout A has one folder per oblast (`dsp_dob`) and no region column.
        let folder_oblast = (layout == Layout::Dsp).then(|| {
            let folder = path
                .parent()
                .and_then(Path::file_name)
                .and_then(|f| f.to_str());
            let code = folder
                .and_then(|f| f.strip_prefix("dsp_"))
                .expect("a dsp_ folder");
            reference::region_by_code(&code.to_ascii_uppercase()).expect("a dsp_ oblast")
        });
        let region_col = layout
            .columns()
            .iter()
            .position(|(_, c)| matches!(c, Column::Region(_)));
        let text = decode(layout, &fs::read(path).unwrap());
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(layout.delimiter() as u8)
            .flexible(true)
            .from_reader(text.as_bytes());
        for rec in rdr.records() {
            let rec = rec.unwrap();
            if rec.len() != layout.columns().len() {
                continue;
            }
            let oblast = match (folder_oblast, region_col) {
                (Some(o), _) => o,
                (None, Some(col)) => oblast_of(&rec[col]).expect("a region label synth writes"),
                (None, None) => unreachable!("layouts B to D have a region column"),
            };
            let (Some(closed), Some(case_type), Some(outcome)) = (
                parse_date(&rec[closed_col]),
                value_of::<CaseType>(labels.case_type, &rec[case_type_col]),
                value_of::<Outcome>(labels.outcome, &rec[outcome_col]),
            ) else {
                continue;
            };
            let applies = match case_type {
                CaseType::Prevention => outcome != Outcome::Reunified,
                CaseType::Reintegration => outcome != Outcome::StayedWithFamily,
            };
            if !applies {
                continue;
            }
            use chrono::Datelike;
            let cell = Cell {
                programme: members.contains(&oblast),
                during: closed.year() >= START,
                case_type,
            };
            *cells.entry(cell).or_default().entry(outcome).or_default() += 1;
        }
    }
    cells
}

/// A share of a cell: `part` of `whole` outcomes.
struct Share {
    share: f64,
    n: f64,
}

impl Share {
    fn of(
        cell: &BTreeMap<Outcome, u64>,
        part: impl Fn(Outcome) -> bool,
        whole: impl Fn(Outcome) -> bool,
    ) -> Share {
        let count = |f: &dyn Fn(Outcome) -> bool| -> f64 {
            cell.iter()
                .filter(|(o, _)| f(**o))
                .map(|(_, n)| *n as f64)
                .sum()
        };
        let n = count(&whole);
        Share {
            share: count(&|o| whole(o) && part(o)) / n,
            n,
        }
    }

    /// Four standard errors of the difference of two independent shares.
    fn tolerance(&self, other: &Share) -> f64 {
        let var = |s: &Share| s.share * (1.0 - s.share) / s.n;
        4.0 * (var(self) + var(other)).sqrt()
    }
}

fn success(case_type: CaseType) -> Outcome {
    match case_type {
        CaseType::Prevention => Outcome::StayedWithFamily,
        CaseType::Reintegration => Outcome::Reunified,
    }
}

/// The outcome counts of a run of `rows` and `seed` with the test programme of `effect`
/// points (none: no programme), and how many of its cases had their chance capped.
fn run(rows: u64, seed: u64, effect: Option<i32>) -> (BTreeMap<Cell, BTreeMap<Outcome, u64>>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let programme = effect.map(programme);
    let (summary, _) = generate(
        dir.path(),
        rows,
        seed,
        programme.as_ref(),
        &Forms::csv(),
        false,
    )
    .unwrap();
    (tally(&summary), summary.capped)
}

#[test]
fn the_effect_moves_the_programme_s_success_share_from_its_start_and_nothing_else() {
    let (rows, seed) = (60_000, 14);
    let [base, up, down] = std::thread::scope(|scope| {
        [None, Some(10), Some(-10)]
            .map(|effect| scope.spawn(move || run(rows, seed, effect)))
            .map(|handle| handle.join().unwrap())
    });
    let (base, _) = base;
    assert_eq!(
        base.len(),
        8,
        "two case types in four cells: {:?}",
        base.keys()
    );
    for (effect, (cells, capped)) in [(10, up), (-10, down)] {
        // No chance is capped, so the expected move is the whole effect.
        assert_eq!(capped, 0, "effect {effect}");
        let delta = f64::from(effect) / 100.0;
        assert_eq!(
            cells.keys().collect::<Vec<_>>(),
            base.keys().collect::<Vec<_>>()
        );
        for (cell, outcomes) in &cells {
            let without = &base[cell];
            let won = success(cell.case_type);
            let counted = |o: Outcome| !o.is_neutral();
            let expected = if cell.programme && cell.during {
                delta
            } else {
                0.0
            };
            let (new, old) = (
                Share::of(outcomes, |o| o == won, counted),
                Share::of(without, |o| o == won, counted),
            );
            let tolerance = new.tolerance(&old);
            assert!(
                (new.share - old.share - expected).abs() <= tolerance,
                "{cell:?}, effect {effect}: success share {:.4} → {:.4}, expected {expected:+} ± {tolerance:.4}",
                old.share,
                new.share
            );
            if expected != 0.0 {
                assert!(
                    tolerance < delta.abs() / 2.0,
                    "too few cases: {cell:?} ± {tolerance}"
                );
            }
            // The neutral outcomes keep their chance among the closed cases.
            let (new, old) = (
                Share::of(outcomes, Outcome::is_neutral, |_| true),
                Share::of(without, Outcome::is_neutral, |_| true),
            );
            let tolerance = new.tolerance(&old);
            assert!(
                (new.share - old.share).abs() <= tolerance,
                "{cell:?}, effect {effect}: neutral share {:.4} → {:.4} ± {tolerance:.4}",
                old.share,
                new.share
            );
            // The other outcomes keep their proportions among themselves.
            let lost = |o: Outcome| o != won && !o.is_neutral();
            for &other in Outcome::ALL.iter().filter(|o| lost(**o)) {
                let (new, old) = (
                    Share::of(outcomes, |o| o == other, lost),
                    Share::of(without, |o| o == other, lost),
                );
                let tolerance = new.tolerance(&old);
                assert!(
                    (new.share - old.share).abs() <= tolerance,
                    "{cell:?}, effect {effect}: {other:?} among the others {:.4} → {:.4} ± {tolerance:.4}",
                    old.share,
                    new.share
                );
            }
        }
    }
}

/// The `[[programmes]]` entry synth writes for the test programme of 8 points.
const BLOCK: &str = "[[programmes]]
name = \"synth-programme\"
title = \"Simulated programme in Varna, Dobrich and Sofia City\"
regions = [\"VAR\", \"DOB\", \"SOF\"]
start = \"2018-01-01\"
comparison = \"rest\"
";

#[test]
fn the_pipeline_file_defines_the_programme_in_spec_10_s_syntax() {
    let offices = Offices::new(5_000);
    let without = pipeline_toml(&offices, 5_000, 3, None, &super::Forms::csv());
    let with = pipeline_toml(
        &offices,
        5_000,
        3,
        Some(&programme(8)),
        &super::Forms::csv(),
    );
    assert!(!without.contains("programmes"));
    assert!(with.ends_with(BLOCK), "{with}");
    let (first, rest) = with.split_once('\n').unwrap();
    assert_eq!(
        first,
        "# Synthetic exports written by `outcomes synth --rows 5000 --seed 3 \
         --programme-regions VAR,DOB,SOF --programme-effect 8 --programme-from 2018`."
    );
    // Beyond the first line, the file without the programme and then the programme.
    let (_, rest_without) = without.split_once('\n').unwrap();
    let added = rest
        .strip_prefix(rest_without)
        .expect("the pipeline without, then the programme");
    assert!(
        added.starts_with("\n# ") && added.ends_with(BLOCK),
        "{added}"
    );

    let parsed: toml::Table = toml::from_str(&with).unwrap();
    let programmes = parsed["programmes"].as_array().unwrap();
    assert_eq!(programmes.len(), 1);
    assert_eq!(programmes[0]["regions"].as_array().unwrap().len(), 3);
    assert_eq!(programmes[0]["start"].as_str(), Some("2018-01-01"));
    let negative = pipeline_toml(
        &offices,
        5_000,
        3,
        Some(&programme(-8)),
        &super::Forms::csv(),
    );
    assert!(negative.contains("title = \"Simulated programme in Varna, Dobrich and Sofia City\""));
}

#[test]
fn an_effect_of_0_changes_the_pipeline_file_only() {
    let (without, with) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(without.path(), 3_000, 5, None, &Forms::csv(), false).unwrap();
    let (summary, _) = generate(
        with.path(),
        3_000,
        5,
        Some(&programme(0)),
        &Forms::csv(),
        false,
    )
    .unwrap();
    assert_eq!(summary.capped, 0);
    let (a, b) = (read_all(without.path()), read_all(with.path()));
    assert_eq!(a.len(), b.len());
    for ((name_a, bytes_a), (name_b, bytes_b)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        if name_a == Path::new("pipeline.toml") {
            assert_ne!(bytes_a, bytes_b);
        } else {
            assert!(bytes_a == bytes_b, "{} differs", name_a.display());
        }
    }
}

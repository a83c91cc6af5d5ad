//! Hand-computed fixtures: each test builds a handful of cases whose expected counts can be
//! checked against SPEC §4 with pencil and paper.
use chrono::NaiveDate;

use super::*;
use crate::model::{Case, CaseType, Outcome, Outcome::*, Pseudonym};

fn day(s: &str) -> Day {
    dates::to_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

fn region(code: &str) -> RegionIdx {
    reference::region_by_code(code).unwrap()
}

fn child(n: u8) -> Pseudonym {
    [n; 16]
}

/// The compact cases the measures read, sorted as deduplication leaves them.
fn links(cases: &[Case]) -> Vec<LinkCase> {
    let mut links: Vec<LinkCase> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| LinkCase::new(c, i as u32))
        .collect();
    links.sort_by_key(|c| (c.child, c.case_type, c.opened));
    links
}

struct Fixture(Vec<Case>);

impl Fixture {
    fn new() -> Self {
        Fixture(Vec::new())
    }

    fn add(
        &mut self,
        who: u8,
        at: &str,
        case_type: CaseType,
        opened: &str,
        closed: Option<&str>,
        outcome: Option<Outcome>,
    ) -> &mut Case {
        self.0.push(Case {
            child: child(who),
            family: None,
            case: None,
            region: region(at),
            municipality: None,
            office: 0,
            case_type,
            opened: day(opened),
            closed: closed.map(day),
            outcome,
            placement_type: None,
            placement_region: None,
            birth_year: None,
            sex: None,
            file: 0,
            line: self.0.len() as u64 + 2,
        });
        self.0.last_mut().unwrap()
    }

    fn prevention(
        &mut self,
        who: u8,
        at: &str,
        opened: &str,
        closed: Option<&str>,
        outcome: Option<Outcome>,
    ) -> &mut Case {
        self.add(who, at, CaseType::Prevention, opened, closed, outcome)
    }

    fn reintegration(
        &mut self,
        who: u8,
        at: &str,
        opened: &str,
        closed: Option<&str>,
        outcome: Option<Outcome>,
    ) -> &mut Case {
        self.add(who, at, CaseType::Reintegration, opened, closed, outcome)
    }

    fn rates(&self, as_of: &str) -> Vec<RateRow> {
        self.rates_with(as_of, &SuccessSets::default())
    }

    fn rates_with(&self, as_of: &str, success: &SuccessSets) -> Vec<RateRow> {
        let mut cases = self.0.clone();
        cases.sort_by_key(|c| (c.child, c.case_type, c.opened));
        compute(&links(&cases), success, day(as_of))
    }
}

fn find<'a>(rows: &'a [RateRow], m: Measure, region_code: &str, year: i32) -> &'a RateRow {
    rows.iter()
        .find(|r| r.measure == m && r.region_code() == region_code && r.year == year)
        .unwrap_or_else(|| panic!("no row {m:?} {region_code} {year}"))
}

fn counts(row: &RateRow) -> (Option<u64>, Option<u64>, Status) {
    (row.numerator, row.denominator, row.status)
}

#[test]
fn wilson_matches_an_independent_computation() {
    let close = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6;
    assert!(close(wilson_interval(0, 10), (0.0, 0.277533)));
    assert!(close(wilson_interval(5, 10), (0.236593, 0.763407)));
    assert!(close(wilson_interval(10, 10), (0.722467, 1.0)));
    assert!(close(wilson_interval(2706, 3442), (0.772158, 0.799545)));
}

#[test]
fn closed_measures_count_non_neutral_closings_by_closing_year() {
    let mut f = Fixture::new();
    for who in 1..=3 {
        f.prevention(
            who,
            "VAR",
            "2022-05-01",
            Some("2023-02-01"),
            Some(StayedWithFamily),
        );
    }
    f.prevention(4, "VAR", "2023-01-01", Some("2023-03-01"), Some(FosterCare));
    f.prevention(
        5,
        "VAR",
        "2023-01-01",
        Some("2023-03-01"),
        Some(Transferred),
    );
    f.prevention(6, "VAR", "2023-01-01", None, None);
    f.reintegration(7, "VAR", "2021-01-01", Some("2023-06-30"), Some(Reunified));
    f.reintegration(
        8,
        "VAR",
        "2023-01-01",
        Some("2023-06-30"),
        Some(RemainedInCare),
    );
    let rows = f.rates("2025-06-30");
    assert_eq!(
        counts(find(&rows, Measure::PreventionClosed, "VAR", 2023)),
        (Some(3), Some(4), Status::Ok)
    );
    assert_eq!(
        counts(find(&rows, Measure::PreventionClosed, "VAR", 2022)),
        (Some(0), Some(0), Status::NoData)
    );
    assert_eq!(
        counts(find(&rows, Measure::ReintegrationClosed, "VAR", 2023)),
        (Some(1), Some(2), Status::Ok)
    );
    assert_eq!(
        counts(find(&rows, Measure::PreventionClosed, "BG", 2023)),
        (Some(3), Some(4), Status::Ok)
    );
    let row = find(&rows, Measure::PreventionClosed, "VAR", 2023);
    assert_eq!(row.rate, Some(0.75));
    assert!(row.ci_low.unwrap() < 0.75 && row.ci_high.unwrap() > 0.75);
}

#[test]
fn a_widened_success_set_counts_the_extra_outcome() {
    let mut f = Fixture::new();
    f.reintegration(1, "VAR", "2023-01-01", Some("2023-06-30"), Some(Reunified));
    f.reintegration(
        2,
        "VAR",
        "2023-01-01",
        Some("2023-06-30"),
        Some(KinshipCare),
    );
    f.reintegration(3, "VAR", "2023-01-01", Some("2023-06-30"), Some(FosterCare));
    let widened = SuccessSets {
        prevention: vec![StayedWithFamily],
        reintegration: vec![Reunified, KinshipCare],
    };
    let rows = f.rates_with("2025-06-30", &widened);
    assert_eq!(
        counts(find(&rows, Measure::ReintegrationClosed, "VAR", 2023)),
        (Some(2), Some(3), Status::Ok)
    );
    // reintegration_12m counts `reunified` only, as SPEC §4 words it.
    assert_eq!(
        counts(find(&rows, Measure::Reintegration12m, "VAR", 2023)),
        (Some(1), Some(3), Status::Ok)
    );
}

#[test]
fn entry_cohorts_use_a_365_day_window_and_drop_neutral_first_cases() {
    let mut f = Fixture::new();
    // 2022-03-01 + 365 days = 2023-03-01; + 366 = 2023-03-02.
    f.prevention(
        1,
        "VAR",
        "2022-03-01",
        Some("2023-03-01"),
        Some(StayedWithFamily),
    ); // day 365: success
    f.prevention(
        2,
        "VAR",
        "2022-03-01",
        Some("2023-03-02"),
        Some(StayedWithFamily),
    ); // day 366: not
    f.prevention(3, "VAR", "2022-03-01", Some("2022-04-01"), Some(Other)); // neutral: leaves the cohort
    f.prevention(4, "VAR", "2022-03-01", None, None); // still open: in, not a success
    // Two cases of one child in one year: only the first counts.
    f.prevention(5, "VAR", "2022-02-01", Some("2022-05-01"), Some(FosterCare));
    f.prevention(
        5,
        "VAR",
        "2022-06-01",
        Some("2022-07-01"),
        Some(StayedWithFamily),
    );
    let rows = f.rates("2023-12-31");
    assert_eq!(
        counts(find(&rows, Measure::Prevention12m, "VAR", 2022)),
        (Some(1), Some(4), Status::Ok)
    );
    assert_eq!(
        counts(find(&rows, Measure::Prevention12m, "BG", 2022)),
        (Some(1), Some(4), Status::Ok)
    );
}

#[test]
fn cohort_years_are_incomplete_until_the_end_of_the_next_year() {
    let mut f = Fixture::new();
    for who in 1..=10 {
        f.prevention(
            who,
            "VAR",
            "2022-03-01",
            Some("2022-06-01"),
            Some(StayedWithFamily),
        );
    }
    let early = f.rates("2023-12-30");
    let row = find(&early, Measure::Prevention12m, "VAR", 2022);
    assert_eq!(counts(row), (None, None, Status::Incomplete));
    assert_eq!(row.rate, None);
    // Closed-case measures have no completeness rule.
    assert_eq!(
        find(&early, Measure::PreventionClosed, "VAR", 2022).status,
        Status::Ok
    );
    let on_time = f.rates("2023-12-31");
    assert_eq!(
        counts(find(&on_time, Measure::Prevention12m, "VAR", 2022)),
        (Some(10), Some(10), Status::Ok)
    );
    assert!(cohort_complete(
        2022,
        NaiveDate::from_ymd_opt(2023, 12, 31).unwrap()
    ));
    assert!(!cohort_complete(
        2022,
        NaiveDate::from_ymd_opt(2023, 12, 30).unwrap()
    ));
}

#[test]
fn reunifications_are_sustained_without_reentry_in_days_1_to_365_anywhere() {
    let mut f = Fixture::new();
    let reunified_on = "2022-06-01";
    for who in 1..=4 {
        f.reintegration(
            who,
            "VAR",
            "2021-06-01",
            Some(reunified_on),
            Some(Reunified),
        );
    }
    // 1: re-enters on day 1, in another region (another office's export).
    f.reintegration(1, "SOF", "2022-06-02", None, None).file = 1;
    // 2: placed by a prevention case closed on day 365.
    f.prevention(2, "VAR", "2022-09-01", Some("2023-06-01"), Some(FosterCare));
    // 3: re-enters on day 366: sustained.
    f.reintegration(3, "VAR", "2023-06-02", None, None);
    // 4: a case opened on day 0 is not a re-entry (1 to 365 days after): sustained.
    f.prevention(
        4,
        "VAR",
        "2022-06-01",
        Some("2022-06-01"),
        Some(StayedWithFamily),
    );
    let rows = f.rates("2024-01-01");
    assert_eq!(
        counts(find(&rows, Measure::ReintegrationSustained12m, "VAR", 2022)),
        (Some(2), Some(4), Status::Ok)
    );
    assert_eq!(
        counts(find(&rows, Measure::ReintegrationSustained12m, "BG", 2022)),
        (Some(2), Some(4), Status::Ok)
    );
}

#[test]
fn out_of_region_placement_compares_with_the_cases_own_region() {
    let mut f = Fixture::new();
    f.prevention(1, "VAR", "2023-01-01", Some("2023-05-01"), Some(FosterCare))
        .placement_region = Some(region("SOF"));
    f.prevention(
        2,
        "VAR",
        "2023-01-01",
        Some("2023-05-01"),
        Some(Institution),
    )
    .placement_region = Some(region("VAR"));
    // Not a placement outcome: not in the denominator.
    f.prevention(
        3,
        "VAR",
        "2023-01-01",
        Some("2023-05-01"),
        Some(StayedWithFamily),
    )
    .placement_region = Some(region("SOF"));
    // Placement region unknown: not in the denominator.
    f.prevention(4, "VAR", "2023-01-01", Some("2023-05-01"), Some(FosterCare));
    // Reintegration cases count by the year they opened.
    f.reintegration(5, "SOF", "2023-02-01", None, None)
        .placement_region = Some(region("PDV"));
    let rows = f.rates("2025-01-01");
    assert_eq!(
        counts(find(&rows, Measure::OutOfRegionPlacement, "VAR", 2023)),
        (Some(1), Some(2), Status::Ok)
    );
    assert_eq!(
        counts(find(&rows, Measure::OutOfRegionPlacement, "SOF", 2023)),
        (Some(1), Some(1), Status::Ok)
    );
    assert_eq!(
        counts(find(&rows, Measure::OutOfRegionPlacement, "BG", 2023)),
        (Some(2), Some(3), Status::Ok),
        "national rows compare each case with its own region, not with BG"
    );
}

#[test]
fn children_served_counts_each_child_once_per_year_open() {
    let mut f = Fixture::new();
    f.prevention(
        1,
        "VAR",
        "2021-11-01",
        Some("2023-01-15"),
        Some(StayedWithFamily),
    );
    f.prevention(
        2,
        "VAR",
        "2022-01-01",
        Some("2022-02-01"),
        Some(StayedWithFamily),
    );
    f.reintegration(2, "VAR", "2022-03-01", None, None);
    f.prevention(3, "SOF", "2022-05-01", None, None);
    let rows = f.rates("2024-06-30");
    let served =
        |region: &str, year: i32| counts(find(&rows, Measure::ChildrenServed, region, year));
    assert_eq!(served("VAR", 2021), (Some(1), None, Status::Ok));
    assert_eq!(served("VAR", 2022), (Some(2), None, Status::Ok));
    assert_eq!(
        served("VAR", 2023),
        (Some(2), None, Status::Ok),
        "child 2's open case runs on"
    );
    assert_eq!(served("SOF", 2021), (Some(0), None, Status::NoData));
    assert_eq!(served("BG", 2022), (Some(3), None, Status::Ok));
    assert_eq!(find(&rows, Measure::ChildrenServed, "BG", 2022).rate, None);
}

#[test]
fn the_table_has_every_measure_region_and_year_in_a_fixed_order() {
    let mut f = Fixture::new();
    f.prevention(
        1,
        "VAR",
        "2020-11-01",
        Some("2022-01-15"),
        Some(StayedWithFamily),
    );
    f.prevention(2, "BGS", "2021-01-01", None, None);
    let rows = f.rates("2024-06-30");
    // Every measure × (BG, BGS, VAR) × 2020..=2022.
    assert_eq!(rows.len(), Measure::ALL.len() * 3 * 3);
    let keys: Vec<(Measure, &str, i32)> = rows
        .iter()
        .map(|r| (r.measure, r.region_code(), r.year))
        .collect();
    assert_eq!(keys[0], (Measure::PreventionClosed, "BG", 2020));
    assert_eq!(keys[3], (Measure::PreventionClosed, "BGS", 2020));
    assert_eq!(keys[6], (Measure::PreventionClosed, "VAR", 2020));
    let mut sorted = keys.clone();
    sorted.sort_by_key(|(m, r, y)| (*m, *r != "BG", *r, *y));
    assert_eq!(keys, sorted);
    assert!(compute(&[], &SuccessSets::default(), day("2024-01-01")).is_empty());
}

mod laws {
    use super::*;
    use proptest::prelude::*;

    fn arbitrary_cases() -> impl Strategy<Value = Vec<Case>> {
        // Each child lives in one region (child id mod 4 picks it).
        let outcomes = prop_oneof![
            Just(None),
            Just(Some(StayedWithFamily)),
            Just(Some(Reunified)),
            Just(Some(FosterCare)),
            Just(Some(RemainedInCare)),
            Just(Some(Transferred)),
        ];
        proptest::collection::vec(
            (0u8..40, any::<bool>(), 0i32..1500, 0i32..500, outcomes),
            1..120,
        )
        .prop_map(|raw| {
            let regions = ["VAR", "SOF", "PDV", "DOB"];
            let mut cases: Vec<Case> = raw
                .into_iter()
                .map(|(who, prevention, start, length, outcome)| {
                    let case_type = if prevention {
                        CaseType::Prevention
                    } else {
                        CaseType::Reintegration
                    };
                    let outcome = outcome.filter(|o| o.applies_to(case_type));
                    let opened = day("2019-01-01") + start;
                    Case {
                        child: child(who),
                        family: None,
                        case: None,
                        region: region(regions[usize::from(who % 4)]),
                        municipality: None,
                        office: 0,
                        case_type,
                        opened,
                        closed: outcome.map(|_| opened + length),
                        outcome,
                        placement_type: None,
                        placement_region: None,
                        birth_year: None,
                        sex: None,
                        file: 0,
                        line: 0,
                    }
                })
                .collect();
            cases.sort_by_key(|c| (c.child, c.case_type, c.opened));
            cases.dedup_by_key(|c| (c.child, c.case_type, c.opened));
            cases
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn national_counts_are_regional_sums_when_no_child_moves(cases in arbitrary_cases()) {
            let rows = compute(&links(&cases), &SuccessSets::default(), day("2026-01-01"));
            for m in [Measure::PreventionClosed, Measure::ReintegrationClosed, Measure::Prevention12m, Measure::Reintegration12m] {
                let years: std::collections::BTreeSet<i32> = rows.iter().map(|r| r.year).collect();
                for y in years {
                    let national = find(&rows, m, "BG", y);
                    let regional: Vec<&RateRow> = rows.iter().filter(|r| r.measure == m && r.year == y && r.region.is_some()).collect();
                    let sum = |f: fn(&RateRow) -> Option<u64>| regional.iter().map(|r| f(r).unwrap_or(0)).sum::<u64>();
                    prop_assert_eq!(national.numerator.unwrap_or(0), sum(|r| r.numerator));
                    prop_assert_eq!(national.denominator.unwrap_or(0), sum(|r| r.denominator));
                }
            }
        }
    }
}

#[test]
fn the_funnel_class_places_each_region_against_the_national_rate() {
    let mut f = Fixture::new();
    // Varna 48 of 50, Shumen 10 of 50, Targovishte 60 of 100: the country 118 of 200 (59%).
    for (at, n, successes) in [("VAR", 50, 48), ("SHU", 50, 10), ("TGV", 100, 60)] {
        for i in 0..n {
            let outcome = if i < successes {
                StayedWithFamily
            } else {
                FosterCare
            };
            let opened = format!("2021-03-{:02}", 1 + i % 28);
            let closed = format!("2021-06-{:02}", 1 + i % 28);
            f.prevention((i % 250) as u8, at, &opened, Some(&closed), Some(outcome));
        }
    }
    let rates = f.rates("2023-06-30");
    let class = |code: &str| find(&rates, Measure::PreventionClosed, code, 2021).funnel;
    assert_eq!(class("VAR"), Some(Funnel::Above998));
    assert_eq!(class("SHU"), Some(Funnel::Below998));
    assert_eq!(class("TGV"), Some(Funnel::Within));
    assert_eq!(class("BG"), None, "the country has no class");
    // A count has none either.
    assert_eq!(
        find(&rates, Measure::ChildrenServed, "VAR", 2021).funnel,
        None
    );
}

#[test]
fn reconciliation_counts_cases_as_the_agency_does() {
    let mut f = Fixture::new();
    // 2021: three prevention cases opened; two closed in 2021 (one success, one neutral
    // `transferred`: closed counts any outcome), one closed in 2022 (a success).
    f.prevention(
        1,
        "VAR",
        "2021-02-01",
        Some("2021-05-01"),
        Some(StayedWithFamily),
    );
    f.prevention(
        2,
        "VAR",
        "2021-03-01",
        Some("2021-06-01"),
        Some(Transferred),
    );
    f.prevention(
        3,
        "SHU",
        "2021-04-01",
        Some("2022-01-15"),
        Some(StayedWithFamily),
    );
    // Reintegration: opened 2020, reunified 2021; opened 2021, kinship care 2021 (not a
    // reunification even if a pipeline widened the success set).
    f.reintegration(4, "VAR", "2020-06-01", Some("2021-02-01"), Some(Reunified));
    f.reintegration(
        5,
        "VAR",
        "2021-06-01",
        Some("2021-09-01"),
        Some(KinshipCare),
    );
    let links = links(&f.0);
    let published = crate::config::PublishedTable {
        file: None,
        years: vec![
            (2021, [Some(6), Some(4), Some(1), Some(0), Some(2)]),
            (2022, [None, Some(1), None, None, None]),
            (2024, [Some(9), None, None, None, None]), // not a year of the table
        ],
    };
    let mut success = SuccessSets::default();
    success.reintegration.push(KinshipCare);
    let rows = compute_all(&links, &success, day("2023-06-30"), &published, None).reconciliation;
    #[allow(clippy::type_complexity)]
    let got: Vec<(i32, &str, u64, Option<u64>, Option<f64>)> = rows
        .iter()
        .map(|r| {
            (
                r.year,
                r.quantity_name(),
                r.published,
                r.computed,
                r.coverage,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (2021, "prevention_new_cases", 6, Some(3), Some(0.5)),
            (2021, "prevention_closed_cases", 4, Some(2), Some(0.5)),
            (
                2021,
                "prevention_closed_successfully",
                1,
                Some(1),
                Some(1.0)
            ),
            (2021, "reintegration_new_cases", 0, Some(1), None),
            (2021, "reintegration_successful", 2, Some(1), Some(0.5)),
            (2022, "prevention_closed_cases", 1, Some(1), Some(1.0)),
        ]
    );
}

//! Each of SPEC §10's disclosure rules on hand-built cases where, without the rule, subtracting
//! one published figure from another would reveal 1 to 4 children; and the same world with the
//! small group grown to 10, where the rule must let the row through.

use super::*;
use crate::config::{Comparison, Programme};
use crate::disclosure::protect;
use crate::measures::programmes::fixture::{World, programme, region};
use crate::model::{CaseType, Outcome};

const K: u32 = 5;
const M: Measure = Measure::PreventionClosed;

/// Measure and protect `w` as a run does: the rates table first, then the programmes.
fn protected(w: &World, programmes: &[Programme]) -> Vec<ProgrammeRow> {
    let (mut rates, mut table) = w.measure(programmes, "2023-06-30");
    protect(&mut rates, K);
    protect_programmes(&mut table.rows, &table.counts, &rates, K);
    table.rows
}

fn status(rows: &[ProgrammeRow], programme: usize, group: Group, year: i32) -> Status {
    rows.iter()
        .find(|r| {
            r.programme == programme && r.group == group && r.measure == M && r.year == Some(year)
        })
        .map(|r| r.status)
        .expect("a year row")
}

fn period_status(rows: &[ProgrammeRow], group: Group, period: Period) -> Status {
    rows.iter()
        .find(|r| {
            r.programme == 0 && r.group == group && r.measure == M && r.period == Some(period)
        })
        .map(|r| r.status)
        .expect("a period row")
}

/// A big non-programme office elsewhere, so the comparison is never small itself.
fn elsewhere(w: &mut World, year: i32) {
    w.closed_prevention("ОЗД Търговище", "TGV", &format!("{year}-04-01"), 40, 20);
}

#[test]
fn primary_then_the_pair_rule() {
    let mut w = World::new();
    w.closed_prevention("inside", "VAR", "2021-03-01", 3, 2);
    w.closed_prevention("ОЗД Варна", "VAR", "2021-03-01", 30, 15);
    elsewhere(&mut w, 2021);
    let rows = protected(&w, &[programme("p", &["inside"], &[], "2021-01-01")]);
    assert_eq!(
        status(&rows, 0, Group::Programme, 2021),
        Status::SuppressedPrimary
    );
    // BG − comparison would give the programme's 3 children.
    assert_eq!(
        status(&rows, 0, Group::Comparison, 2021),
        Status::SuppressedSecondary
    );
    let hidden = rows
        .iter()
        .find(|r| r.group == Group::Comparison && r.year == Some(2021) && r.measure == M)
        .unwrap();
    assert_eq!(
        (
            hidden.numerator,
            hidden.denominator,
            hidden.rate,
            hidden.ci_low
        ),
        (None, None, None, None)
    );
}

#[test]
fn differencing_a_small_group_inside_a_region() {
    for (dobrich, hidden) in [(3, true), (10, false)] {
        let mut w = World::new();
        // The programme: its whole Varna office (20) and a Dobrich office with `dobrich` cases.
        // Varna's rates row is the Varna office alone, so programme − Varna = the Dobrich
        // office's cases; Dobrich has another office, so its own row is not small.
        w.closed_prevention("inside VAR", "VAR", "2021-03-01", 20, 10);
        w.closed_prevention("inside DOB", "DOB", "2021-03-01", dobrich, dobrich / 2);
        w.closed_prevention("ОЗД Добрич", "DOB", "2021-03-01", 30, 15);
        elsewhere(&mut w, 2021);
        let p = programme("p", &["inside VAR", "inside DOB"], &[], "2021-01-01");
        let rows = protected(&w, &[p]);
        let expected = if hidden {
            Status::SuppressedSecondary
        } else {
            Status::Ok
        };
        assert_eq!(
            status(&rows, 0, Group::Programme, 2021),
            expected,
            "{dobrich} in Dobrich"
        );
        assert_eq!(
            status(&rows, 0, Group::Comparison, 2021),
            expected,
            "the pair follows"
        );
    }
}

#[test]
fn differencing_a_small_group_outside_the_programme() {
    for (others, hidden) in [(4, true), (10, false)] {
        let mut w = World::new();
        // Varna: the programme's office (20) and `others` cases of another office: the Varna
        // rates row minus the programme row would give those.
        w.closed_prevention("inside", "VAR", "2021-03-01", 20, 10);
        w.closed_prevention("ОЗД Варна", "VAR", "2021-03-01", others, others / 2);
        elsewhere(&mut w, 2021);
        let rows = protected(&w, &[programme("p", &["inside"], &[], "2021-01-01")]);
        let expected = if hidden {
            Status::SuppressedSecondary
        } else {
            Status::Ok
        };
        assert_eq!(
            status(&rows, 0, Group::Programme, 2021),
            expected,
            "{others} outside"
        );
    }
}

#[test]
fn differencing_a_suppressed_region_row() {
    let mut w = World::new();
    // Varna 20 and Dobrich 12, both programme; Shumen has 3 (primary), so §5's secondary rule
    // hides the smallest ok region row: Dobrich. The programme row (Varna + Dobrich) minus
    // Varna would give the hidden Dobrich row.
    w.closed_prevention("inside VAR", "VAR", "2021-03-01", 20, 10);
    w.closed_prevention("inside DOB", "DOB", "2021-03-01", 12, 6);
    w.closed_prevention("ОЗД Шумен", "SHU", "2021-03-01", 3, 1);
    w.closed_prevention("ОЗД Търговище", "TGV", "2021-03-01", 30, 15);
    let (mut rates, _) = w.measure(&[], "2023-06-30");
    protect(&mut rates, K);
    let dob = rates
        .iter()
        .find(|r| r.measure == M && r.year == 2021 && r.region == Some(region("DOB")))
        .unwrap();
    assert_eq!(
        dob.status,
        Status::SuppressedSecondary,
        "the fixture's premise"
    );
    let rows = protected(
        &w,
        &[programme(
            "p",
            &["inside VAR", "inside DOB"],
            &[],
            "2021-01-01",
        )],
    );
    assert_eq!(
        status(&rows, 0, Group::Programme, 2021),
        Status::SuppressedSecondary
    );
}

#[test]
fn differencing_applies_to_a_comparison_of_regions() {
    // Two children whose first 2021 prevention case is in Targovishte (neither programme nor
    // comparison) and a later one in Shumen: Shumen's prevention_12m row counts them, the
    // comparison (Shumen's cases outside the programme, by deciding case) does not, so Shumen's
    // row minus the comparison's would give those two. Held to the rule only when the
    // comparison is a list of regions.
    let mut w = World::new();
    w.closed_prevention("inside", "VAR", "2021-03-01", 20, 10);
    w.closed_prevention("ОЗД Шумен", "SHU", "2021-03-01", 30, 15);
    w.closed_prevention("ОЗД Търговище", "TGV", "2021-03-01", 30, 15);
    for _ in 0..2 {
        let child = w.child();
        let t = CaseType::Prevention;
        let (fail, ok) = (Some(Outcome::FosterCare), Some(Outcome::StayedWithFamily));
        w.case(
            child,
            "ОЗД Търговище",
            "TGV",
            t,
            "2021-01-10",
            Some("2021-02-01"),
            fail,
        );
        w.case(
            child,
            "ОЗД Шумен",
            "SHU",
            t,
            "2021-06-10",
            Some("2021-07-01"),
            ok,
        );
    }
    let cohort = Measure::Prevention12m;
    let comparison_status = |comparison: Comparison| {
        let mut p = programme("p", &["inside"], &[], "2021-01-01");
        p.comparison = comparison;
        let rows = protected(&w, &[p]);
        rows.iter()
            .find(|r| r.group == Group::Comparison && r.measure == cohort && r.year == Some(2021))
            .map(|r| r.status)
            .expect("a year row")
    };
    assert_eq!(comparison_status(Comparison::Rest), Status::Ok);
    assert_eq!(
        comparison_status(Comparison::Regions(vec![region("SHU")])),
        Status::SuppressedSecondary
    );
}

#[test]
fn overlapping_programmes_must_not_differ_by_a_small_group() {
    for (c, hidden) in [(3, true), (10, false)] {
        let mut w = World::new();
        // p = offices a, b; q = a, b, c. q − p = office c's cases.
        for (office, n) in [("a", 20), ("b", 20), ("c", c), ("d", 20)] {
            w.closed_prevention(office, "VAR", "2021-03-01", n, n / 2);
        }
        elsewhere(&mut w, 2021);
        let p = programme("p", &["a", "b"], &[], "2021-01-01");
        let q = programme("q", &["a", "b", "c"], &[], "2021-01-01");
        let rows = protected(&w, &[p, q]);
        let expected = if hidden {
            Status::SuppressedSecondary
        } else {
            Status::Ok
        };
        assert_eq!(
            status(&rows, 0, Group::Programme, 2021),
            expected,
            "p, c = {c}"
        );
        assert_eq!(
            status(&rows, 1, Group::Programme, 2021),
            expected,
            "q, c = {c}"
        );
    }
}

#[test]
fn programmes_without_shared_cases_are_not_compared() {
    let mut w = World::new();
    for (office, n) in [("a", 20), ("b", 23), ("d", 20)] {
        w.closed_prevention(office, "VAR", "2021-03-01", n, n / 2);
    }
    elsewhere(&mut w, 2021);
    // p and q differ by 3 cases but share none: neither is a subset of the other.
    let rows = protected(
        &w,
        &[
            programme("p", &["a"], &[], "2021-01-01"),
            programme("q", &["b"], &[], "2021-01-01"),
        ],
    );
    assert_eq!(status(&rows, 0, Group::Programme, 2021), Status::Ok);
    assert_eq!(status(&rows, 1, Group::Programme, 2021), Status::Ok);
}

#[test]
fn the_period_rule_protects_a_suppressed_year() {
    // `during` pools 2021 and 2022. With one hidden year of 4, the period minus the published
    // 2022 gives it; with three hidden years of 4 (12 together, 6 of them successes), the
    // period minus the published years gives only their sum, which is not small.
    for (hidden_years, hidden) in [(vec![2021], true), (vec![2020, 2021, 2022], false)] {
        let mut w = World::new();
        for year in 2020..=2023 {
            let n = if hidden_years.contains(&year) { 4 } else { 20 };
            w.closed_prevention("inside", "VAR", &format!("{year}-03-01"), n, n / 2);
            // Another Varna office keeps Varna's rates rows and the outside group large.
            w.closed_prevention("ОЗД Варна", "VAR", &format!("{year}-03-01"), 20, 10);
            elsewhere(&mut w, year);
        }
        let (mut rates, mut table) = w.measure(
            &[programme("p", &["inside"], &[], "2020-01-01")],
            "2024-06-30",
        );
        protect(&mut rates, K);
        protect_programmes(&mut table.rows, &table.counts, &rates, K);
        let rows = table.rows;
        for year in &hidden_years {
            assert_eq!(
                status(&rows, 0, Group::Programme, *year),
                Status::SuppressedPrimary
            );
        }
        let expected = if hidden {
            Status::SuppressedSecondary
        } else {
            Status::Ok
        };
        assert_eq!(
            period_status(&rows, Group::Programme, Period::During),
            expected,
            "{hidden_years:?}"
        );
        assert_eq!(
            period_status(&rows, Group::Comparison, Period::During),
            expected
        );
        // A difference needs every row it is made from.
        assert_eq!(
            period_status(&rows, Group::Difference, Period::During),
            expected
        );
    }
}

#[test]
fn a_difference_of_an_empty_period_has_no_data() {
    let mut w = World::new();
    // Nothing before the start in the programme's office: `before` has no data, so the
    // difference before and the difference in differences have none either.
    w.closed_prevention("ОЗД Варна", "VAR", "2019-03-01", 30, 15);
    w.closed_prevention("inside", "VAR", "2021-03-01", 20, 10);
    w.closed_prevention("ОЗД Варна", "VAR", "2021-03-01", 30, 15);
    let rows = protected(&w, &[programme("p", &["inside"], &[], "2020-06-01")]);
    assert_eq!(
        period_status(&rows, Group::Programme, Period::Before),
        Status::NoData
    );
    assert_eq!(
        period_status(&rows, Group::Difference, Period::Before),
        Status::NoData
    );
    assert_eq!(
        period_status(&rows, Group::DifferenceInDifferences, Period::During),
        Status::NoData
    );
    assert_eq!(
        period_status(&rows, Group::Difference, Period::During),
        Status::Ok
    );
}

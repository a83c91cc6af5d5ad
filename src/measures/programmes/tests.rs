//! Hand-computed fixtures for SPEC §10's counting: membership, the deciding case, periods and
//! pooling, the difference rows; and the law that programme + rest = the national row.

use proptest::prelude::*;

use super::fixture::{World, programme};
use super::*;
use crate::config::{Comparison, Programme};
use crate::measures::RateRow;
use crate::model::{CaseType, Outcome, Vocabulary};

fn row(
    rows: &[ProgrammeRow],
    group: Group,
    measure: Measure,
    year: Option<i32>,
    period: Option<Period>,
) -> &ProgrammeRow {
    rows.iter()
        .find(|r| r.key() == (group, measure, year, period) && r.programme == 0)
        .unwrap_or_else(|| panic!("no row {group:?} {measure:?} {year:?} {period:?}"))
}

fn national(rates: &[RateRow], measure: Measure, year: i32) -> (Option<u64>, Option<u64>) {
    let r = rates
        .iter()
        .find(|r| r.region.is_none() && r.measure == measure && r.year == year)
        .expect("a national row");
    (r.numerator, r.denominator)
}

#[test]
fn membership_is_a_union_of_offices_and_regions() {
    let mut w = World::new();
    w.closed_prevention("ОЗД Варна", "VAR", "2021-03-01", 10, 7);
    w.closed_prevention("ОЗД Добрич", "DOB", "2021-03-01", 10, 6);
    w.closed_prevention("ОЗД Шумен", "SHU", "2021-03-01", 10, 5);
    // Offices match like labels: case and spaces do not matter.
    let p = programme("p", &["  озд варна "], &["DOB"], "2021-01-01");
    let (_, table) = w.measure(&[p], "2023-06-30");
    let m = Measure::PreventionClosed;
    let prog = row(&table.rows, Group::Programme, m, Some(2021), None);
    let comp = row(&table.rows, Group::Comparison, m, Some(2021), None);
    assert_eq!((prog.numerator, prog.denominator), (Some(13), Some(20)));
    assert_eq!((comp.numerator, comp.denominator), (Some(5), Some(10)));
    assert_eq!(prog.status, Status::Ok);
    assert!((prog.rate.unwrap() - 0.65).abs() < 1e-12);
}

#[test]
fn the_case_that_decides_the_national_row_decides_the_group() {
    let mut w = World::new();
    let t = CaseType::Prevention;
    // Child 1: first 2021 prevention case outside the programme (failed), a later one inside
    // (succeeded). prevention_12m counts the child once nationally, by its first case: in the
    // comparison, as a failure. prevention_closed counts each case in its own group.
    let c1 = w.child();
    let fail = Some(Outcome::FosterCare);
    let ok = Some(Outcome::StayedWithFamily);
    w.case(
        c1,
        "outside",
        "SHU",
        t,
        "2021-02-01",
        Some("2021-03-01"),
        fail,
    );
    w.case(c1, "inside", "VAR", t, "2021-05-01", Some("2021-06-01"), ok);
    let p = programme("p", &["inside"], &[], "2021-01-01");
    let (rates, table) = w.measure(&[p], "2023-06-30");
    let cohort = Measure::Prevention12m;
    let prog = row(&table.rows, Group::Programme, cohort, Some(2021), None);
    let comp = row(&table.rows, Group::Comparison, cohort, Some(2021), None);
    assert_eq!(prog.status, Status::NoData);
    assert_eq!((comp.numerator, comp.denominator), (Some(0), Some(1)));
    assert_eq!(national(&rates, cohort, 2021), (Some(0), Some(1)));
    let closed = Measure::PreventionClosed;
    let prog = row(&table.rows, Group::Programme, closed, Some(2021), None);
    assert_eq!((prog.numerator, prog.denominator), (Some(1), Some(1)));
    // children_served: the earliest-opened case open in the year decides: the comparison's.
    let served = Measure::ChildrenServed;
    let prog = row(&table.rows, Group::Programme, served, Some(2021), None);
    let comp = row(&table.rows, Group::Comparison, served, Some(2021), None);
    assert_eq!((prog.numerator, comp.numerator), (Some(0), Some(1)));
}

#[test]
fn re_entry_is_found_in_any_case_of_the_child() {
    let mut w = World::new();
    let c = w.child();
    let r = CaseType::Reintegration;
    let reunified = Some(Outcome::Reunified);
    // Reunified by the programme's office; back in care through another office 100 days later.
    w.case(
        c,
        "inside",
        "VAR",
        r,
        "2020-01-10",
        Some("2021-02-01"),
        reunified,
    );
    w.case(c, "outside", "SHU", r, "2021-05-12", None, None);
    let p = programme("p", &["inside"], &[], "2021-01-01");
    let (_, table) = w.measure(&[p], "2023-06-30");
    let m = Measure::ReintegrationSustained12m;
    let prog = row(&table.rows, Group::Programme, m, Some(2021), None);
    assert_eq!((prog.numerator, prog.denominator), (Some(0), Some(1)));
}

#[test]
fn periods_pool_complete_years_only() {
    let mut w = World::new();
    for (year, n, s) in [
        (2018, 10, 5),
        (2019, 10, 6),
        (2020, 10, 7),
        (2021, 10, 8),
        (2022, 10, 9),
    ] {
        w.closed_prevention("inside", "VAR", &format!("{year}-03-01"), n, s);
        w.closed_prevention("outside", "SHU", &format!("{year}-03-01"), n, 5);
    }
    let mut p = programme("p", &["inside"], &[], "2019-06-01");
    p.end = Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap());
    // As of mid-2022: 2022 has not ended (no pooling for prevention_closed) and only cohort
    // years up to 2020 are complete.
    let (_, table) = w.measure(&[p], "2022-06-30");
    let m = Measure::PreventionClosed;
    let before = row(&table.rows, Group::Programme, m, None, Some(Period::Before));
    let during = row(&table.rows, Group::Programme, m, None, Some(Period::During));
    let after = row(&table.rows, Group::Programme, m, None, Some(Period::After));
    assert_eq!(
        (before.years.clone(), before.numerator, before.denominator),
        (vec![2018], Some(5), Some(10))
    );
    assert_eq!(
        (during.years.clone(), during.numerator),
        (vec![2019, 2020], Some(13))
    );
    assert_eq!(
        (after.years.clone(), after.numerator, after.denominator),
        (vec![2021], Some(8), Some(10))
    );
    // The 2022 year row exists (ok, like the rates table) but is not pooled.
    assert_eq!(
        row(&table.rows, Group::Programme, m, Some(2022), None).status,
        Status::Ok
    );
    // prevention_12m: cohort 2021 is not complete until 2022-12-31, so `after` has no row.
    let cohort = Measure::Prevention12m;
    assert!(
        !table
            .rows
            .iter()
            .any(|r| r.measure == cohort && r.period == Some(Period::After)),
        "a period with no complete year has no row"
    );
    assert_eq!(
        row(&table.rows, Group::Programme, cohort, Some(2021), None).status,
        Status::Incomplete
    );
    // children_served has year rows only.
    assert!(
        !table
            .rows
            .iter()
            .any(|r| r.measure == Measure::ChildrenServed && r.period.is_some())
    );
}

#[test]
fn differences_come_from_the_period_rows() {
    let mut w = World::new();
    w.closed_prevention("inside", "VAR", "2018-03-01", 100, 70);
    w.closed_prevention("outside", "SHU", "2018-03-01", 100, 68);
    w.closed_prevention("inside", "VAR", "2021-03-01", 100, 81);
    w.closed_prevention("outside", "SHU", "2021-03-01", 120, 74);
    let p = programme("p", &["inside"], &[], "2020-01-01");
    let (_, table) = w.measure(&[p], "2023-06-30");
    let m = Measure::PreventionClosed;
    let d = row(
        &table.rows,
        Group::Difference,
        m,
        None,
        Some(Period::During),
    );
    let (est, lo, hi) = crate::measures::newcombe_difference(81, 100, 74, 120);
    assert_eq!(
        (d.rate, d.ci_low, d.ci_high),
        (Some(est), Some(lo), Some(hi))
    );
    assert_eq!(
        (d.numerator, d.denominator, d.status),
        (None, None, Status::Ok)
    );
    let did = row(
        &table.rows,
        Group::DifferenceInDifferences,
        m,
        None,
        Some(Period::During),
    );
    let (est, lo, hi) =
        crate::measures::wald_difference_in_differences((81, 100), (74, 120), (70, 100), (68, 100));
    assert_eq!(
        (did.rate, did.ci_low, did.ci_high),
        (Some(est), Some(lo), Some(hi))
    );
    // No `after` period, so no difference-in-differences row for it.
    assert!(
        !table
            .rows
            .iter()
            .any(|r| r.group == Group::DifferenceInDifferences && r.period == Some(Period::After))
    );
}

#[test]
fn a_comparison_of_regions_leaves_other_regions_out() {
    let mut w = World::new();
    w.closed_prevention("inside", "VAR", "2021-03-01", 10, 7);
    w.closed_prevention("shumen", "SHU", "2021-03-01", 10, 5);
    w.closed_prevention("targovishte", "TGV", "2021-03-01", 10, 4);
    let mut p = programme("p", &["inside"], &[], "2021-01-01");
    p.comparison = Comparison::Regions(vec![super::fixture::region("SHU")]);
    let (_, table) = w.measure(&[p], "2023-06-30");
    let comp = row(
        &table.rows,
        Group::Comparison,
        Measure::PreventionClosed,
        Some(2021),
        None,
    );
    assert_eq!((comp.numerator, comp.denominator), (Some(5), Some(10)));
}

/// One random case: (child 0..12, office 0..4, region choice, type, opened day offset,
/// duration, outcome index).
fn arbitrary_case() -> impl Strategy<Value = (u8, u8, u8, bool, u16, Option<u16>, u8)> {
    (
        0u8..12,
        0u8..4,
        0u8..3,
        any::<bool>(),
        0u16..1500,
        proptest::option::of(0u16..600),
        0u8..10,
    )
}

proptest! {
    /// SPEC §10: groups are disjoint by child, so programme + rest = the national row, for
    /// every measure and year, whatever the cases.
    #[test]
    fn programme_plus_rest_is_the_national_row(cases in proptest::collection::vec(arbitrary_case(), 1..60)) {
        let mut w = World::new();
        let children: Vec<[u8; 16]> = (0..12).map(|_| w.child()).collect();
        let offices = ["a", "b", "c", "d"];
        let regions = ["VAR", "DOB", "SHU"];
        for (child, office, region, prevention, opened, duration, outcome) in cases {
            let opened_day = crate::dates::from_day(super::fixture::day("2019-01-01") + i32::from(opened));
            let closed = duration.map(|d| (opened_day + chrono::Days::new(u64::from(d))).format("%Y-%m-%d").to_string());
            let t = if prevention { CaseType::Prevention } else { CaseType::Reintegration };
            let candidates: Vec<Outcome> = Outcome::ALL.iter().copied().filter(|o| o.applies_to(t)).collect();
            let outcome = closed.as_ref().map(|_| candidates[usize::from(outcome) % candidates.len()]);
            w.case(
                children[usize::from(child)],
                offices[usize::from(office)],
                regions[usize::from(region)],
                t,
                &opened_day.format("%Y-%m-%d").to_string(),
                closed.as_deref(),
                outcome,
            );
        }
        let programmes: Vec<Programme> = vec![
            programme("p", &["a", "b"], &[], "2020-01-01"),
            programme("q", &["b"], &["SHU"], "2021-01-01"),
        ];
        let (rates, table) = w.measure(&programmes, "2024-06-30");
        for (index, _) in programmes.iter().enumerate() {
            for r in rates.iter().filter(|r| r.region.is_none()) {
                let find = |g: Group| table.rows.iter().find(|x| {
                    x.programme == index && x.group == g && x.measure == r.measure && x.year == Some(r.year)
                }).expect("a year row for every national row");
                let (p, c) = (find(Group::Programme), find(Group::Comparison));
                let sum = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a + b);
                prop_assert_eq!(sum(p.numerator, c.numerator), r.numerator);
                prop_assert_eq!(sum(p.denominator, c.denominator), r.denominator);
            }
        }
    }
}

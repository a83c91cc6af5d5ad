//! One programme as the reports show it (SPEC §10): who it covers, its findings in words, a
//! chart per rate measure of the programme against its comparison by year with the start
//! marked, and the period table. report.html's Programmes section and the funder reports
//! both build it here, from the protected programme rows only.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::ReportInput;
use super::chart::{Chart, ChartSpec, Marker, Series, SeriesPoint, draw, share_scale};
use super::format::{
    format_count, format_date, format_interval, format_point_ends, format_points, format_rate,
    region_name,
};
use super::i18n::{Strings, measure_name, text};
use super::rows::{programme_rows, year_over};
use super::tables::{Cell, status_cell};
use super::words::{Context, Sentence, findings, span, together};
use crate::config::{Comparison, Lang, Programme};
use crate::measures::{Group, Measure, Period, ProgrammeRow, Status};
use crate::reference;

/// Which parts of a programme a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// report.html: every rate measure with data, full-width charts.
    Section,
    /// A funder report: the main measures (the two `_closed` measures and the cohort
    /// measures with data), the two `_closed` charts side by side, and in the period table
    /// only the measures with a published period figure.
    Funder,
}

/// A programme, formatted in one language.
#[derive(Serialize)]
pub(super) struct ProgrammeView {
    pub id: String,
    pub name: String,
    pub title: String,
    /// Who it covers, when it ran, what it is compared with, what its periods are.
    pub about: Vec<String>,
    /// Per measure, its sentences.
    pub findings: Vec<Vec<Sentence>>,
    pub charts: Vec<Chart>,
    pub table: PeriodTable,
    /// The measures shown, for the funder report's method notes.
    #[serde(skip)]
    pub measures: Vec<Measure>,
}

/// The period table: per measure, a line per period with the two groups, their difference
/// and, for the periods after `before`, the difference in differences.
#[derive(Serialize)]
pub(super) struct PeriodTable {
    id: String,
    caption: String,
    blocks: Vec<PeriodBlock>,
}

#[derive(Serialize)]
struct PeriodBlock {
    measure: String,
    lines: Vec<PeriodLine>,
}

#[derive(Serialize)]
struct PeriodLine {
    period: String,
    years: String,
    programme: Cell,
    comparison: Cell,
    difference: Cell,
    change: Cell,
}

const SECTION_CHART: (u32, u32) = (640, 230);
const FUNDER_CHART: (u32, u32) = (380, 185);

/// Programme `index` of `input` in `lang`; `None` when the pipeline has no such programme.
pub(super) fn programme_view(
    input: &ReportInput<'_>,
    index: usize,
    lang: Lang,
    t: &Strings,
    scope: Scope,
) -> Option<ProgrammeView> {
    let programme = input.pipeline.programmes.get(index)?;
    let rows = programme_rows(input.programmes, index);
    let cx = Context::of(programme, t, lang, input.pipeline.min_count);
    let rates = Measure::ALL.into_iter().filter(|m| !m.is_count());
    let measures: Vec<Measure> = match scope {
        Scope::Section => rates
            .filter(|m| is_main(*m) || has_data(&rows, *m))
            .collect(),
        Scope::Funder => rates
            .filter(|m| is_main(*m) || (m.is_cohort() && has_data(&rows, *m)))
            .collect(),
    };
    let chart_measures: Vec<Measure> = match scope {
        Scope::Section => measures.clone(),
        Scope::Funder => measures.iter().copied().filter(|m| is_main(*m)).collect(),
    };
    // A funder's table leaves out measures whose every period figure is withheld: the
    // findings say so, and two pages have no room for rows of ◆.
    let table_measures: Vec<Measure> = match scope {
        Scope::Section => measures.clone(),
        Scope::Funder => measures
            .iter()
            .copied()
            .filter(|m| {
                rows.iter()
                    .any(|r| r.measure == *m && r.period.is_some() && r.status == Status::Ok)
            })
            .collect(),
    };
    // A funder reads the headline: the gap since the start and how it changed.
    let periods: &[Period] = match scope {
        Scope::Section => &[Period::During, Period::After],
        Scope::Funder => &[Period::During],
    };
    let size = match scope {
        Scope::Section => SECTION_CHART,
        Scope::Funder => FUNDER_CHART,
    };
    let charts = chart_measures
        .iter()
        .map(|m| programme_chart(input, programme, &rows, *m, lang, t, size))
        .collect();
    Some(ProgrammeView {
        id: format!("programme-{}", programme.name),
        name: programme.name.clone(),
        title: programme.title.clone(),
        about: about(input, programme, &rows, lang, t),
        findings: together(
            &cx,
            measures
                .iter()
                .map(|m| findings(&cx, *m, &rows, periods))
                .filter(|said| !said.is_empty())
                .collect(),
        ),
        charts,
        table: period_table(programme, &rows, &table_measures, lang, t),
        measures,
    })
}

/// The two `_closed` measures: always shown, the agency's own definitions.
fn is_main(m: Measure) -> bool {
    matches!(m, Measure::PreventionClosed | Measure::ReintegrationClosed)
}

/// Whether any programme or comparison row of `m` holds, or withholds, a figure.
fn has_data(rows: &[&ProgrammeRow], m: Measure) -> bool {
    rows.iter().any(|r| {
        r.measure == m
            && matches!(r.group, Group::Programme | Group::Comparison)
            && !matches!(r.status, Status::NoData | Status::Incomplete)
    })
}

/// Who the programme covers, when, against whom, and what its periods are.
fn about(
    input: &ReportInput<'_>,
    programme: &Programme,
    rows: &[&ProgrammeRow],
    lang: Lang,
    t: &Strings,
) -> Vec<String> {
    let say = |key: &str, fill: &[(&str, &str)]| text(t, key, fill);
    let regions = |list: &[crate::model::RegionIdx]| {
        list.iter()
            .map(|r| region_name(Some(*r), lang))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut members = Vec::new();
    if !programme.offices.is_empty() {
        members.push(say(
            "members_offices",
            &[("names", &programme.offices.join(", "))],
        ));
    }
    if !programme.sources.is_empty() {
        let names: Vec<&str> = programme
            .sources
            .iter()
            .filter_map(|s| input.pipeline.sources.get(*s))
            .map(|s| s.name.as_str())
            .collect();
        members.push(say("members_sources", &[("names", &names.join(", "))]));
    }
    if !programme.regions.is_empty() {
        members.push(say(
            "members_regions",
            &[("names", &regions(&programme.regions))],
        ));
    }
    if !programme.municipalities.is_empty() {
        let names: Vec<String> = programme
            .municipalities
            .iter()
            .filter_map(|m| reference::municipalities().get(usize::from(*m)))
            .map(|m| m.name_bg.clone())
            .collect();
        members.push(say(
            "members_municipalities",
            &[("names", &names.join(", "))],
        ));
    }
    let start = format_date(programme.start, lang);
    let dates = match programme.end {
        Some(end) => say(
            "programme_ran",
            &[("start", &start), ("end", &format_date(end, lang))],
        ),
        None => say("programme_running", &[("start", &start)]),
    };
    let comparison = match &programme.comparison {
        Comparison::Rest => say("comparison_rest", &[]),
        Comparison::Regions(list) => say("comparison_regions", &[("regions", &regions(list))]),
    };
    let last_year = rows
        .iter()
        .filter_map(|r| r.year)
        .max()
        .unwrap_or(programme.start.year());
    let start_year = programme.start.year();
    // The years the `during` figures pool (complete years only), so the text and the
    // table say the same span; the table's last year when nothing is pooled yet.
    let pooled_end = rows
        .iter()
        .filter(|r| r.period == Some(Period::During) && r.group == Group::Programme)
        .flat_map(|r| r.years.iter().copied())
        .max();
    let during_end = pooled_end.unwrap_or_else(|| programme.end.map_or(last_year, |d| d.year()));
    let after = match programme.end {
        Some(end) if end.year() < last_year => {
            say("periods_after", &[("end", &end.year().to_string())])
        }
        _ => String::new(),
    };
    let periods = say(
        "programme_periods",
        &[
            ("start", &start_year.to_string()),
            ("during", &span(&[start_year, during_end.max(start_year)])),
            ("after", &after),
        ],
    );
    vec![
        say("programme_members", &[("list", &members.join("; "))]),
        dates,
        comparison,
        periods,
    ]
}

/// A point in time as a fractional year on a chart whose years are drawn at their middle:
/// 1 January 2019 is 2018.5, the line between the points of 2018 and 2019.
fn on_axis(date: NaiveDate, inclusive: bool) -> f64 {
    let days = if date.leap_year() { 366.0 } else { 365.0 };
    let day = date.ordinal0() as f64 + if inclusive { 1.0 } else { 0.0 };
    date.year() as f64 - 0.5 + day / days
}

/// The programme against its comparison by year: publishable finished years, each with its
/// Wilson interval as a band; a vertical line at the start (and at the end).
fn programme_chart(
    input: &ReportInput<'_>,
    programme: &Programme,
    rows: &[&ProgrammeRow],
    m: Measure,
    lang: Lang,
    t: &Strings,
    (width, height): (u32, u32),
) -> Chart {
    let year_rows: Vec<&ProgrammeRow> = rows
        .iter()
        .copied()
        .filter(|r| r.measure == m && r.year.is_some())
        .collect();
    let all_years: Vec<i32> = year_rows.iter().filter_map(|r| r.year).collect();
    let years = (
        all_years
            .iter()
            .copied()
            .min()
            .unwrap_or(programme.start.year()),
        all_years
            .iter()
            .copied()
            .max()
            .unwrap_or(programme.start.year()),
    );
    let series_of = |group: Group, label_key: &str, class: &'static str| Series {
        label: text(t, label_key, &[]),
        class,
        points: year_rows
            .iter()
            .filter(|r| r.group == group && r.status == Status::Ok)
            .filter_map(|r| {
                let year = r.year?;
                if !year_over(year, input.as_of) {
                    return None;
                }
                let rate = r.rate?;
                Some(SeriesPoint {
                    year,
                    value: rate,
                    band: r.ci_low.zip(r.ci_high),
                    label: format!("{}: {}", year, format_rate(rate, lang)),
                })
            })
            .collect(),
    };
    let series = vec![
        series_of(Group::Programme, "group_programme", "programme"),
        series_of(Group::Comparison, "group_comparison", "comparison"),
    ];
    let mut markers = vec![Marker {
        at: on_axis(programme.start, false),
        label: text(
            t,
            "chart_start",
            &[("date", &format_date(programme.start, lang))],
        ),
    }];
    if let Some(end) = programme.end {
        markers.push(Marker {
            at: on_axis(end, true),
            label: text(t, "chart_end", &[("date", &format_date(end, lang))]),
        });
    }
    let described = |s: &Series| {
        let points: Vec<&str> = s.points.iter().map(|p| p.label.as_str()).collect();
        format!("{}: {}", s.label, points.join("; "))
    };
    let name = measure_name(t, m);
    let desc = text(
        t,
        "programme_chart_desc",
        &[
            ("measure", &name),
            ("first", &years.0.to_string()),
            ("last", &years.1.to_string()),
            ("start", &format_date(programme.start, lang)),
            (
                "points",
                &series.iter().map(described).collect::<Vec<_>>().join(". "),
            ),
        ],
    );
    draw(ChartSpec {
        id: format!("chart-{}-{}", programme.name, m.code()),
        title: name,
        desc,
        width,
        height,
        years,
        scale: share_scale(&series),
        series,
        markers,
        lang,
    })
}

/// The period table of `measures`.
fn period_table(
    programme: &Programme,
    rows: &[&ProgrammeRow],
    measures: &[Measure],
    lang: Lang,
    t: &Strings,
) -> PeriodTable {
    let find = |m: Measure, group: Group, period: Period| {
        rows.iter()
            .copied()
            .find(|r| r.measure == m && r.group == group && r.period == Some(period))
    };
    let id = |m: Measure, period: Period, group: Group| {
        format!(
            "{}-{}-{}-{}",
            programme.name,
            m.code(),
            period.code(),
            group.code()
        )
    };
    let share = |row: &ProgrammeRow| {
        let mut cell = Cell::ok(
            row.rate.map(|r| format_rate(r, lang)).unwrap_or_default(),
            match (row.numerator, row.denominator) {
                (Some(x), Some(n)) => {
                    format!("{} / {}", format_count(x, lang), format_count(n, lang))
                }
                _ => String::new(),
            },
        );
        if let (Some(lo), Some(hi)) = (row.ci_low, row.ci_high) {
            cell.detail = format_interval(lo, hi, lang);
        }
        // The counts in print too (a hover title is lost on paper): 81 of 147 says how
        // much the share rests on.
        if let (Some(x), Some(n)) = (row.numerator, row.denominator) {
            cell.detail = format!(
                "{} · {} / {}",
                cell.detail,
                format_count(x, lang),
                format_count(n, lang)
            );
        }
        cell
    };
    let points = |row: &ProgrammeRow| {
        let mut cell = Cell::ok(
            row.rate
                .map(|d| format_points(d, lang, true))
                .unwrap_or_default(),
            String::new(),
        );
        if let (Some(lo), Some(hi)) = (row.ci_low, row.ci_high) {
            let (low, high) = format_point_ends(lo, hi, lang);
            cell.detail = text(t, "ci_range", &[("low", &low), ("high", &high)]);
        }
        cell
    };
    let cell = |row: Option<&ProgrammeRow>, format: &dyn Fn(&ProgrammeRow) -> Cell, key: String| {
        let mut cell = match row {
            Some(row) => status_cell(row.status, || format(row), t),
            None => Cell::ok(String::new(), String::new()),
        };
        if row.is_none() {
            cell.class = "na";
        }
        cell.id = key;
        cell
    };
    let blocks = measures
        .iter()
        .map(|m| PeriodBlock {
            measure: measure_name(t, *m),
            lines: Period::ALL
                .into_iter()
                .filter_map(|period| {
                    let p = find(*m, Group::Programme, period)?;
                    Some(PeriodLine {
                        period: text(t, &format!("period_{}", period.code()), &[]),
                        years: span(&p.years),
                        programme: cell(Some(p), &share, id(*m, period, Group::Programme)),
                        comparison: cell(
                            find(*m, Group::Comparison, period),
                            &share,
                            id(*m, period, Group::Comparison),
                        ),
                        difference: cell(
                            find(*m, Group::Difference, period),
                            &points,
                            id(*m, period, Group::Difference),
                        ),
                        change: cell(
                            find(*m, Group::DifferenceInDifferences, period),
                            &points,
                            id(*m, period, Group::DifferenceInDifferences),
                        ),
                    })
                })
                .collect(),
        })
        .filter(|b| !b.lines.is_empty())
        .collect();
    PeriodTable {
        id: format!("periods-{}", programme.name),
        caption: text(t, "period_table_caption", &[("title", &programme.title)]),
        blocks,
    }
}

/// How many of a programme's figures are withheld, by rule, and how many wait for their
/// follow-up (the funder report's suppression notes).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Withheld {
    /// Rows that hold or withhold a figure (every status but `incomplete` and `no_data`).
    pub figures: usize,
    pub primary: usize,
    pub secondary: usize,
    pub incomplete: usize,
}

pub(super) fn withheld(rows: &[&ProgrammeRow]) -> Withheld {
    let mut out = Withheld::default();
    for r in rows {
        match r.status {
            Status::Ok => out.figures += 1,
            Status::SuppressedPrimary => {
                out.figures += 1;
                out.primary += 1;
            }
            Status::SuppressedSecondary => {
                out.figures += 1;
                out.secondary += 1;
            }
            Status::Incomplete => out.incomplete += 1,
            Status::NoData => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_falls_between_the_points_of_its_year_and_the_year_before() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(on_axis(d(2019, 1, 1), false), 2018.5);
        // The last day of a programme, inclusive, ends its year.
        assert_eq!(on_axis(d(2017, 12, 31), true), 2017.5);
        let september = on_axis(d(2011, 9, 1), false);
        assert!(september > 2011.1 && september < 2011.2, "{september}");
    }
}

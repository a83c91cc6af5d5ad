//! The trend charts: one SVG line chart per measure of the national rows, as geometry the
//! template draws (points, polylines, interval bands, ticks). It reads rows, never the cases.

use serde::Serialize;

use super::ReportInput;
use super::format::{format_count, format_rate, format_value};
use super::i18n::{Strings, measure_name, text};
use super::rows::{is_headline_row, rows_of};
use crate::measures::{Measure, RateRow};

#[derive(Serialize)]
pub(super) struct Chart {
    id: String,
    title: String,
    desc: String,
    width: u32,
    height: u32,
    bands: Vec<String>,
    lines: Vec<String>,
    points: Vec<(f64, f64, String)>,
    y_ticks: Vec<(f64, String)>,
    x_ticks: Vec<(f64, String)>,
    plot_left: f64,
    plot_right: f64,
    plot_top: f64,
    plot_bottom: f64,
    empty: bool,
}

const CHART_WIDTH: u32 = 640;
const CHART_HEIGHT: u32 = 220;

pub(super) fn chart(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Chart {
    let lang = input.lang;
    let rows = rows_of(input.rates, m, None);
    let years: Vec<i32> = rows.iter().map(|r| r.year).collect();
    let (first, last) = (
        years.first().copied().unwrap_or(0),
        years.last().copied().unwrap_or(0),
    );
    let (left, right, top, bottom) = (
        56.0,
        CHART_WIDTH as f64 - 16.0,
        12.0,
        CHART_HEIGHT as f64 - 28.0,
    );
    let span = (last - first).max(1) as f64;
    let x = |year: i32| left + (right - left) * (year - first) as f64 / span;
    let max_count = rows
        .iter()
        .filter_map(|r| r.numerator.filter(|_| is_headline_row(r, input.as_of)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let scale = if m.is_count() {
        nice_ceiling(max_count)
    } else {
        1.0
    };
    let y = |v: f64| bottom - (bottom - top) * (v / scale).clamp(0.0, 1.0);
    let value = |r: &RateRow| -> Option<f64> {
        if !is_headline_row(r, input.as_of) {
            return None;
        }
        if m.is_count() {
            r.numerator.map(|n| n as f64)
        } else {
            r.rate
        }
    };

    // Contiguous runs of publishable years: a gap in the data is a gap in the line.
    let mut runs: Vec<Vec<&RateRow>> = Vec::new();
    let mut previous_year = None;
    for r in rows.iter().copied().filter(|r| value(r).is_some()) {
        if previous_year != Some(r.year - 1) || runs.is_empty() {
            runs.push(Vec::new());
        }
        runs.last_mut().expect("a run was just pushed").push(r);
        previous_year = Some(r.year);
    }
    let mut bands = Vec::new();
    let mut lines = Vec::new();
    let mut points = Vec::new();
    for run in &runs {
        if !m.is_count() {
            let upper: Vec<String> = run
                .iter()
                .map(|r| format!("{:.1},{:.1}", x(r.year), y(r.ci_high.unwrap_or(0.0))))
                .collect();
            let lower: Vec<String> = run
                .iter()
                .rev()
                .map(|r| format!("{:.1},{:.1}", x(r.year), y(r.ci_low.unwrap_or(0.0))))
                .collect();
            bands.push(format!("{} {}", upper.join(" "), lower.join(" ")));
        }
        lines.push(
            run.iter()
                .map(|r| format!("{:.1},{:.1}", x(r.year), y(value(r).unwrap_or(0.0))))
                .collect::<Vec<_>>()
                .join(" "),
        );
        for r in run {
            let label = format!("{}: {}", r.year, format_value(r, lang).unwrap_or_default());
            points.push((x(r.year), y(value(r).unwrap_or(0.0)), label));
        }
    }
    let y_ticks = (0..=4)
        .map(|i| {
            let v = scale * i as f64 / 4.0;
            let label = if m.is_count() {
                format_count(v.round() as u64, lang)
            } else {
                format_rate(v, lang).replace(",0", "").replace(".0", "")
            };
            (y(v), label)
        })
        .collect();
    let step = ((last - first) / 8 + 1).max(1);
    let x_ticks = years
        .iter()
        .filter(|year| (*year - first) % step == 0)
        .map(|year| (x(*year), year.to_string()))
        .collect();
    let described: Vec<String> = points.iter().map(|(_, _, label)| label.clone()).collect();
    let name = measure_name(t, m);
    Chart {
        id: format!("chart-{}", m.code()),
        desc: text(
            t,
            "chart_desc",
            &[
                ("measure", &name),
                ("first", &first.to_string()),
                ("last", &last.to_string()),
                ("points", &described.join("; ")),
            ],
        ),
        title: name,
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        bands,
        lines,
        empty: points.is_empty(),
        points,
        y_ticks,
        x_ticks,
        plot_left: left,
        plot_right: right,
        plot_top: top,
        plot_bottom: bottom,
    }
}

/// 1, 2 or 5 times a power of ten, at least `v`: a round top for a count axis.
fn nice_ceiling(v: f64) -> f64 {
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings_are_round() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4100.0), 5000.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
    }
}

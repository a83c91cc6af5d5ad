//! The trend charts: SVG line charts by year as geometry the template draws (points,
//! polylines, interval bands, ticks, vertical markers). `draw` lays out any set of series;
//! `chart` is the national trend of one measure. It reads rows, never the cases.

use serde::Serialize;

use super::ReportInput;
use super::format::{format_count, format_rate, format_value};
use super::i18n::{Strings, measure_name, text};
use super::rows::{is_headline_row, rows_of};
use crate::config::Lang;
use crate::measures::{Measure, RateRow};

/// A chart as the template draws it (`templates/chart.html`).
#[derive(Serialize)]
pub(super) struct Chart {
    id: String,
    title: String,
    desc: String,
    width: u32,
    height: u32,
    series: Vec<DrawnSeries>,
    markers: Vec<DrawnMarker>,
    y_ticks: Vec<(f64, String)>,
    x_ticks: Vec<(f64, String)>,
    plot_left: f64,
    plot_right: f64,
    plot_top: f64,
    plot_bottom: f64,
    empty: bool,
}

#[derive(Serialize)]
struct DrawnSeries {
    class: &'static str,
    label: String,
    /// Where the legend shows the series: its sample line's left end.
    legend_x: f64,
    bands: Vec<String>,
    lines: Vec<String>,
    points: Vec<(f64, f64, String)>,
}

#[derive(Serialize)]
struct DrawnMarker {
    x: f64,
    label: String,
    label_x: f64,
    anchor: &'static str,
}

/// One line of a chart: its points by year, each with its interval when it has one.
pub(super) struct Series {
    pub label: String,
    /// The CSS class that styles it: `trend`, `programme`, `comparison`.
    pub class: &'static str,
    pub points: Vec<SeriesPoint>,
}

pub(super) struct SeriesPoint {
    pub year: i32,
    pub value: f64,
    /// The 95% interval, drawn as a band.
    pub band: Option<(f64, f64)>,
    /// What the point says when pointed at, and in the chart's description.
    pub label: String,
}

/// A vertical line at a point in time, in fractional years (a programme's start).
pub(super) struct Marker {
    pub at: f64,
    pub label: String,
}

/// The value axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scale {
    /// Shares from `low` to `high` (within 0 to 1), ticks every `step`.
    Share { low: f64, high: f64, step: f64 },
    /// Counts from 0 to `top`, in four steps.
    Count { top: f64 },
}

/// What `draw` lays out.
pub(super) struct ChartSpec {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    /// The first and last year of the axis.
    pub years: (i32, i32),
    pub scale: Scale,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    pub lang: Lang,
}

const CHART_WIDTH: u32 = 640;
const CHART_HEIGHT: u32 = 220;

/// The national trend of `m`: Bulgaria's publishable finished years, the interval as a band.
pub(super) fn chart(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Chart {
    let lang = input.lang;
    let rows = rows_of(input.rates, m, None);
    let years = (
        rows.first().map_or(0, |r| r.year),
        rows.last().map_or(0, |r| r.year),
    );
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
    let points: Vec<SeriesPoint> = rows
        .iter()
        .filter_map(|r| {
            Some(SeriesPoint {
                year: r.year,
                value: value(r)?,
                band: if m.is_count() {
                    None
                } else {
                    r.ci_low.zip(r.ci_high)
                },
                label: format!("{}: {}", r.year, format_value(r, lang).unwrap_or_default()),
            })
        })
        .collect();
    let scale = if m.is_count() {
        let max = points.iter().map(|p| p.value).fold(1.0, f64::max);
        Scale::Count {
            top: nice_ceiling(max),
        }
    } else {
        Scale::Share {
            low: 0.0,
            high: 1.0,
            step: 0.25,
        }
    };
    let described: Vec<&str> = points.iter().map(|p| p.label.as_str()).collect();
    let name = measure_name(t, m);
    draw(ChartSpec {
        id: format!("chart-{}", m.code()),
        desc: text(
            t,
            "chart_desc",
            &[
                ("measure", &name),
                ("first", &years.0.to_string()),
                ("last", &years.1.to_string()),
                ("points", &described.join("; ")),
            ],
        ),
        title: name,
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        years,
        scale,
        series: vec![Series {
            label: String::new(),
            class: "trend",
            points,
        }],
        markers: Vec::new(),
        lang,
    })
}

/// Lay out `spec`: a gap in a series' years is a gap in its line and band; a legend above the
/// plot when there is more than one series; markers outside the axis' years are left out.
pub(super) fn draw(spec: ChartSpec) -> Chart {
    let legend = spec.series.len() > 1;
    let (first, last) = spec.years;
    let (left, right, top, bottom) = (
        56.0,
        spec.width as f64 - 16.0,
        if legend { 30.0 } else { 12.0 },
        spec.height as f64 - 28.0,
    );
    let span = (last - first).max(1) as f64;
    let x = |year: f64| left + (right - left) * (year - first as f64) / span;
    let (low, high) = match spec.scale {
        Scale::Share { low, high, .. } => (low, high),
        Scale::Count { top } => (0.0, top),
    };
    let y = |v: f64| {
        let share = if high > low {
            (v - low) / (high - low)
        } else {
            0.0
        };
        bottom - (bottom - top) * share.clamp(0.0, 1.0)
    };
    let xy = |year: i32, v: f64| format!("{:.1},{:.1}", x(year as f64), y(v));

    let mut legend_x = left;
    let mut empty = true;
    let series = spec
        .series
        .iter()
        .map(|s| {
            // Contiguous runs of years.
            let mut runs: Vec<&[SeriesPoint]> = Vec::new();
            let mut start = 0;
            for i in 1..=s.points.len() {
                if i == s.points.len() || s.points[i].year != s.points[i - 1].year + 1 {
                    runs.push(&s.points[start..i]);
                    start = i;
                }
            }
            let bands = runs
                .iter()
                .filter(|run| run.iter().all(|p| p.band.is_some()))
                .map(|run| {
                    let upper = run
                        .iter()
                        .map(|p| xy(p.year, p.band.map_or(p.value, |b| b.1)));
                    let lower = run
                        .iter()
                        .rev()
                        .map(|p| xy(p.year, p.band.map_or(p.value, |b| b.0)));
                    upper.chain(lower).collect::<Vec<_>>().join(" ")
                })
                .collect();
            let lines = runs
                .iter()
                .map(|run| {
                    run.iter()
                        .map(|p| xy(p.year, p.value))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            let points = s
                .points
                .iter()
                .map(|p| (x(p.year as f64), y(p.value), p.label.clone()))
                .collect::<Vec<_>>();
            empty &= points.is_empty();
            let drawn = DrawnSeries {
                class: s.class,
                label: s.label.clone(),
                legend_x,
                bands,
                lines,
                points,
            };
            // A sample line of 24 and the label at about 6.5 units a character.
            legend_x += 40.0 + 6.5 * s.label.chars().count() as f64;
            drawn
        })
        .collect();

    let markers = spec
        .markers
        .iter()
        .filter(|m| m.at >= first as f64 - 0.5 && m.at <= last as f64 + 0.5)
        .map(|m| {
            let at = x(m.at).clamp(left, right);
            let room_right = right - at > 6.5 * m.label.chars().count() as f64 + 8.0;
            DrawnMarker {
                x: at,
                label: m.label.clone(),
                label_x: if room_right { at + 4.0 } else { at - 4.0 },
                anchor: if room_right { "start" } else { "end" },
            }
        })
        .collect();

    let y_ticks = match spec.scale {
        Scale::Share { low, high, step } => {
            let n = ((high - low) / step).round().max(1.0) as u32;
            (0..=n)
                .map(|i| {
                    let v = low + step * i as f64;
                    (y(v), tick_label(v, spec.lang))
                })
                .collect()
        }
        Scale::Count { top } => (0..=4)
            .map(|i| {
                let v = top * i as f64 / 4.0;
                (y(v), format_count(v.round() as u64, spec.lang))
            })
            .collect(),
    };
    let step = ((last - first) / 8 + 1).max(1);
    let x_ticks = (first..=last)
        .filter(|year| (year - first) % step == 0)
        .map(|year| (x(year as f64), year.to_string()))
        .collect();
    Chart {
        id: spec.id,
        title: spec.title,
        desc: spec.desc,
        width: spec.width,
        height: spec.height,
        series,
        markers,
        empty,
        y_ticks,
        x_ticks,
        plot_left: left,
        plot_right: right,
        plot_top: top,
        plot_bottom: bottom,
    }
}

/// A share axis' label: `75 %`, `62,5 %`.
fn tick_label(v: f64, lang: Lang) -> String {
    format_rate(v, lang).replace(",0", "").replace(".0", "")
}

/// A share axis that holds every value and band of `series`, in whole tenths, at least 0.2
/// wide, with ticks every 5 points (every 10 when it spans more than 0.4).
pub(super) fn share_scale(series: &[Series]) -> Scale {
    let values = series.iter().flat_map(|s| {
        s.points.iter().flat_map(|p| {
            let (lo, hi) = p.band.unwrap_or((p.value, p.value));
            [lo, hi, p.value]
        })
    });
    let (min, max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !min.is_finite() || !max.is_finite() {
        return Scale::Share {
            low: 0.0,
            high: 1.0,
            step: 0.25,
        };
    }
    // Tenths, computed in whole numbers so that 0.7 stays 0.7.
    let mut low = ((min * 10.0 + 1e-9).floor() as i64).clamp(0, 10);
    let mut high = ((max * 10.0 - 1e-9).ceil() as i64).clamp(0, 10);
    while high - low < 2 {
        if high < 10 {
            high += 1;
        } else {
            low -= 1;
        }
    }
    let step = if high - low > 4 { 0.1 } else { 0.05 };
    Scale::Share {
        low: low as f64 / 10.0,
        high: high as f64 / 10.0,
        step,
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

    fn point(year: i32, value: f64) -> SeriesPoint {
        SeriesPoint {
            year,
            value,
            band: Some((value - 0.05, value + 0.05)),
            label: year.to_string(),
        }
    }

    fn spec(series: Vec<Series>, markers: Vec<Marker>) -> ChartSpec {
        ChartSpec {
            id: "c".into(),
            title: "t".into(),
            desc: "d".into(),
            width: 456,
            height: 200,
            years: (2010, 2020),
            scale: Scale::Share {
                low: 0.5,
                high: 1.0,
                step: 0.1,
            },
            series,
            markers,
            lang: Lang::En,
        }
    }

    #[test]
    fn years_and_values_map_onto_the_plot_and_gaps_break_the_line() {
        let series = Series {
            label: "Programme".into(),
            class: "programme",
            points: vec![point(2010, 0.5), point(2011, 0.75), point(2020, 1.0)],
        };
        let chart = draw(spec(vec![series], Vec::new()));
        let (left, right) = (chart.plot_left, chart.plot_right);
        assert_eq!((left, right), (56.0, 440.0));
        let s = &chart.series[0];
        // 2010 at the left edge and the bottom (0.5 is the axis' low end), 2020 at the right
        // edge and the top.
        assert_eq!((s.points[0].0, s.points[0].1), (left, chart.plot_bottom));
        assert_eq!((s.points[2].0, s.points[2].1), (right, chart.plot_top));
        // 0.75 is half way up.
        let middle = (chart.plot_top + chart.plot_bottom) / 2.0;
        assert!((s.points[1].1 - middle).abs() < 1e-9);
        // 2011 to 2020 is a gap: two runs, two lines, two bands.
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.bands.len(), 2);
        // A band goes along the upper ends and back along the lower ends.
        assert_eq!(s.bands[0].split(' ').count(), 4);
        // Ticks every 10 points from 50% to 100%.
        let labels: Vec<&str> = chart.y_ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["50%", "60%", "70%", "80%", "90%", "100%"]);
        assert!(!chart.empty);
    }

    #[test]
    fn a_start_marker_sits_between_the_years_and_outside_ones_are_left_out() {
        let markers = vec![
            Marker {
                at: 2014.5,
                label: "Start".into(),
            },
            Marker {
                at: 2030.0,
                label: "Never drawn".into(),
            },
        ];
        let chart = draw(spec(Vec::new(), markers));
        assert_eq!(chart.markers.len(), 1);
        let m = &chart.markers[0];
        let per_year = (chart.plot_right - chart.plot_left) / 10.0;
        assert!((m.x - (chart.plot_left + 4.5 * per_year)).abs() < 1e-9);
        assert_eq!((m.anchor, m.label_x), ("start", m.x + 4.0));
        assert!(chart.empty, "no series: the chart says it has no data");
    }

    #[test]
    fn two_series_get_a_legend_and_room_for_it() {
        let a = Series {
            label: "Programme".into(),
            class: "programme",
            points: vec![point(2012, 0.7)],
        };
        let b = Series {
            label: "Comparison".into(),
            class: "comparison",
            points: vec![point(2012, 0.8)],
        };
        let chart = draw(spec(vec![a, b], Vec::new()));
        assert_eq!(chart.plot_top, 30.0);
        assert!(chart.series[1].legend_x > chart.series[0].legend_x + 24.0);
    }

    #[test]
    fn share_scales_hold_every_band_in_whole_tenths() {
        let s = Series {
            label: String::new(),
            class: "trend",
            points: vec![point(2010, 0.62), point(2011, 0.81)],
        };
        // 0.57 to 0.86: 0.5 to 0.9, ticks every 5 points.
        assert_eq!(
            share_scale(&[s]),
            Scale::Share {
                low: 0.5,
                high: 0.9,
                step: 0.05
            }
        );
        let wide = Series {
            label: String::new(),
            class: "trend",
            points: vec![point(2010, 0.2), point(2011, 0.81)],
        };
        // Over 0.4 wide: every 10 points.
        assert_eq!(
            share_scale(&[wide]),
            Scale::Share {
                low: 0.1,
                high: 0.9,
                step: 0.1
            }
        );
        let narrow = Series {
            label: String::new(),
            class: "trend",
            points: vec![point(2010, 0.96)],
        };
        // At least 0.2 wide, within 0 to 1.
        assert_eq!(
            share_scale(&[narrow]),
            Scale::Share {
                low: 0.8,
                high: 1.0,
                step: 0.05
            }
        );
    }
}

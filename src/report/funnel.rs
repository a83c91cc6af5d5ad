//! The funnel plots (SPEC §7): for each rate measure, the latest finished year's published
//! regions, rate against denominator, around the national rate with its exact 95% and 99.8%
//! control limits, and a sentence naming the regions outside the 99.8% limits. It reads the
//! protected rates table only: every point is a published cell, the limits depend only on the
//! denominator and the published national rate, so nothing here can reveal a suppressed cell.

use serde::Serialize;

use super::ReportInput;
use super::format::{format_count, format_rate, region_name};
use super::i18n::{Strings, measure_name, text};
use super::rows::{latest_ok_year, rows_of};
use crate::measures::{Funnel, Measure, Status, control_limits, tail_chance};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 620.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 282.0;

/// One funnel plot as the template draws it.
#[derive(Serialize)]
pub(super) struct FunnelPlot {
    id: String,
    title: String,
    desc: String,
    width: f64,
    height: f64,
    plot_left: f64,
    plot_right: f64,
    plot_top: f64,
    plot_bottom: f64,
    /// The national rate's line: its y.
    centre: f64,
    centre_label: String,
    /// The limits as polylines: 99.8% low, 95% low, 95% high, 99.8% high.
    limits: Vec<(String, &'static str)>,
    points: Vec<FunnelPoint>,
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
    x_label: String,
    /// The regions outside the 99.8% limits, in words.
    sentence: String,
}

#[derive(Serialize)]
struct FunnelPoint {
    x: f64,
    y: f64,
    /// `within`, `above_95`, ... (CSS class and meaning).
    class: &'static str,
    label: String,
    /// The region's name, printed beside a point outside the 99.8% limits.
    tag: Option<String>,
}

/// The funnel plot of `m`, or `None` when no finished year has a published national rate or
/// no region is published in it.
pub(super) fn funnel_plot(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Option<FunnelPlot> {
    if m.is_count() {
        return None;
    }
    let lang = input.lang;
    let year = latest_ok_year(input, m)?;
    let national = rows_of(input.rates, m, None)
        .into_iter()
        .find(|r| r.year == year)?;
    let theta = national.rate?;
    let regions: Vec<_> = input
        .rates
        .iter()
        .filter(|r| r.measure == m && r.year == year && r.region.is_some())
        .filter(|r| r.status == Status::Ok)
        .filter_map(|r| Some((r, r.numerator?, r.denominator?, r.rate?)))
        .collect();
    if regions.is_empty() {
        return None;
    }
    let max_n = regions
        .iter()
        .map(|(_, _, n, _)| *n)
        .max()
        .unwrap_or(1)
        .max(10);
    let x_max = (max_n as f64 * 1.08).ceil();
    // The limits from n = 5 up: below that nothing is published anyway (primary suppression).
    let samples: Vec<u64> = (0..=80)
        .map(|i| (5.0 * (x_max / 5.0).powf(f64::from(i) / 80.0)).round() as u64)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let limits: Vec<(u64, [f64; 4])> = samples
        .iter()
        .filter_map(|n| control_limits(*n, theta).map(|l| (*n, l)))
        .collect();
    let smallest_n = regions.iter().map(|(_, _, n, _)| *n).min().unwrap_or(5);
    let widest = control_limits(smallest_n, theta);
    let lowest = regions
        .iter()
        .map(|(_, _, _, rate)| *rate)
        .chain(widest.map(|l| l[0]))
        .fold(theta, f64::min);
    let highest = regions
        .iter()
        .map(|(_, _, _, rate)| *rate)
        .chain(widest.map(|l| l[3]))
        .fold(theta, f64::max);
    let y_low = ((lowest - 0.02).max(0.0) * 10.0).floor() / 10.0;
    let y_high = ((highest + 0.02).min(1.0) * 10.0).ceil() / 10.0;
    let x = |n: f64| LEFT + (RIGHT - LEFT) * n / x_max;
    let y = |rate: f64| {
        let clamped = rate.clamp(y_low, y_high);
        BOTTOM - (BOTTOM - TOP) * (clamped - y_low) / (y_high - y_low).max(1e-9)
    };
    let polyline = |which: usize| {
        limits
            .iter()
            .map(|(n, l)| format!("{:.1},{:.1}", x(*n as f64), y(l[which])))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let points: Vec<FunnelPoint> = regions
        .iter()
        .map(|(row, x_count, n, rate)| {
            let class = row.funnel.map_or("within", Funnel::code);
            let outer = matches!(row.funnel, Some(Funnel::Above998 | Funnel::Below998));
            FunnelPoint {
                x: x(*n as f64),
                y: y(*rate),
                class,
                tag: outer.then(|| region_name(row.region, lang)),
                label: format!(
                    "{}: {} ({} / {})",
                    region_name(row.region, lang),
                    format_rate(*rate, lang),
                    format_count(*x_count, lang),
                    format_count(*n, lang)
                ),
            }
        })
        .collect();
    let named = |class: Funnel| -> Vec<String> {
        let above = class == Funnel::Above998;
        let mut names: Vec<String> = regions
            .iter()
            .filter(|(row, ..)| row.funnel == Some(class))
            .map(|(row, x_count, n, rate)| {
                let mut named = format!(
                    "{} ({}, {} / {}",
                    region_name(row.region, lang),
                    format_rate(*rate, lang),
                    format_count(*x_count, lang),
                    format_count(*n, lang)
                );
                // A flag that rests on the limits' interpolation at 0% or 100%, not on an
                // unusual score: say how common the score is.
                if let Some(chance) = tail_chance(*x_count, *n, theta, above)
                    && chance > 0.001
                {
                    named.push_str(&text(
                        t,
                        if above {
                            "funnel_common_above"
                        } else {
                            "funnel_common_below"
                        },
                        &[("chance", &format_rate(chance, lang))],
                    ));
                }
                named.push(')');
                named
            })
            .collect();
        names.sort();
        names
    };
    let above = named(Funnel::Above998);
    let below = named(Funnel::Below998);
    let measure = measure_name(t, m);
    let year_text = year.to_string();
    let regions_with_cases = input
        .rates
        .iter()
        .filter(|r| r.measure == m && r.year == year && r.region.is_some())
        .filter(|r| r.status != Status::NoData)
        .count();
    let shown = text(
        t,
        "funnel_shown",
        &[
            ("shown", &regions.len().to_string()),
            ("all", &regions_with_cases.to_string()),
        ],
    );
    let sentence = match (above.is_empty(), below.is_empty()) {
        (true, true) => text(t, "funnel_none_outside", &[("year", &year_text)]),
        _ => {
            let mut parts = Vec::new();
            if !above.is_empty() {
                parts.push(text(t, "funnel_above", &[("regions", &above.join("; "))]));
            }
            if !below.is_empty() {
                parts.push(text(t, "funnel_below", &[("regions", &below.join("; "))]));
            }
            text(
                t,
                "funnel_outside",
                &[("year", &year_text), ("list", &parts.join(" "))],
            )
        }
    };
    let tick_step = nice_step(x_max);
    let x_ticks = (0..)
        .map(|i| i as f64 * tick_step)
        .take_while(|v| *v <= x_max)
        .map(|v| (x(v), format_count(v as u64, lang)))
        .collect();
    let y_ticks = (0..=10)
        .map(|i| y_low + (y_high - y_low) * f64::from(i) / 10.0)
        .filter(|v| (*v * 100.0).round() % 5.0 == 0.0 || y_high - y_low <= 0.3)
        .map(|v| (y(v), format_rate(v, lang)))
        .collect();
    let desc = text(
        t,
        "funnel_desc",
        &[
            ("measure", &measure),
            ("year", &year_text),
            ("national", &format_rate(theta, lang)),
            (
                "points",
                &points
                    .iter()
                    .map(|p| p.label.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ],
    );
    let sentence = format!("{sentence} {shown}");
    Some(FunnelPlot {
        id: format!("funnel-{}", m.code()),
        title: format!("{measure}, {year}"),
        desc,
        width: WIDTH,
        height: HEIGHT,
        plot_left: LEFT,
        plot_right: RIGHT,
        plot_top: TOP,
        plot_bottom: BOTTOM,
        centre: y(theta),
        centre_label: text(t, "funnel_national", &[("rate", &format_rate(theta, lang))]),
        limits: vec![
            (polyline(0), "limit-998"),
            (polyline(1), "limit-95"),
            (polyline(2), "limit-95"),
            (polyline(3), "limit-998"),
        ],
        points,
        x_ticks,
        y_ticks,
        x_label: text(t, "funnel_x", &[]),
        sentence,
    })
}

/// A round step for about five ticks up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(1080.0), 500.0);
        assert_eq!(nice_step(54.0), 20.0);
        assert_eq!(nice_step(3.0), 1.0);
    }
}

//! The tile map of the oblasts: one tile per region for the latest finished year of
//! `MAP_MEASURE`, binned into a colour-blind-safe palette, suppressed tiles hatched.

use std::collections::HashMap;

use serde::Serialize;

use super::ReportInput;
use super::format::{format_rate, format_value, region_name};
use super::i18n::{Strings, measure_name, text};
use super::rows::latest_ok_year;
use crate::measures::{Measure, RateRow, Status};
use crate::reference;

/// The measure the map shows: the agency's own definition, the figure readers know.
const MAP_MEASURE: Measure = Measure::PreventionClosed;

/// A colour-blind-safe sequential palette (viridis), light to dark, and the text colour that
/// reads on each.
const PALETTE: [(&str, &str); 5] = [
    ("#fde725", "#1a1a1a"),
    ("#5ec962", "#1a1a1a"),
    ("#21918c", "#ffffff"),
    ("#3b528b", "#ffffff"),
    ("#440154", "#ffffff"),
];

#[derive(Serialize)]
pub(super) struct MapView {
    title: String,
    intro: String,
    width: u32,
    height: u32,
    tiles: Vec<Tile>,
    legend: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Tile {
    x: u32,
    y: u32,
    code: String,
    name: String,
    value: String,
    fill: String,
    ink: String,
    suppressed: bool,
}

const TILE_W: u32 = 88;
const TILE_H: u32 = 56;

pub(super) fn map(input: &ReportInput<'_>, t: &Strings) -> Option<MapView> {
    let lang = input.lang;
    let year = latest_ok_year(input, MAP_MEASURE)?;
    let rows: HashMap<u8, &RateRow> = input
        .rates
        .iter()
        .filter(|r| r.measure == MAP_MEASURE && r.year == year)
        .filter_map(|r| r.region.map(|reg| (reg, r)))
        .collect();
    let shown: Vec<f64> = rows.values().filter_map(|r| r.rate).collect();
    let lo = shown.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = shown.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bin = |rate: f64| -> usize {
        if hi <= lo {
            return 2;
        }
        (((rate - lo) / (hi - lo) * 5.0).floor() as usize).min(4)
    };
    let tiles = reference::oblasts()
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let row = rows.get(&(i as u8));
            let (value, fill, ink, suppressed) = match row {
                Some(r) if r.status == Status::Ok => {
                    let (fill, ink) = PALETTE[bin(r.rate.unwrap_or(0.0))];
                    (format_value(r, lang).unwrap_or_default(), fill, ink, false)
                }
                Some(r)
                    if matches!(
                        r.status,
                        Status::SuppressedPrimary | Status::SuppressedSecondary
                    ) =>
                {
                    ("◆".to_string(), "url(#hatch)", "#1a1a1a", true)
                }
                _ => ("—".to_string(), "#eeeeee", "#555555", false),
            };
            Tile {
                x: u32::from(o.grid_col) * TILE_W,
                y: u32::from(o.grid_row) * TILE_H,
                code: o.code.clone(),
                name: region_name(Some(i as u8), lang),
                value,
                fill: fill.to_string(),
                ink: ink.to_string(),
                suppressed,
            }
        })
        .collect();
    let legend = if hi > lo {
        (0..5)
            .map(|i| {
                let from = lo + (hi - lo) * i as f64 / 5.0;
                let to = lo + (hi - lo) * (i + 1) as f64 / 5.0;
                (
                    PALETTE[i].0.to_string(),
                    format!("{}–{}", format_rate(from, lang), format_rate(to, lang)),
                )
            })
            .collect()
    } else {
        shown
            .first()
            .map(|r| vec![(PALETTE[2].0.to_string(), format_rate(*r, lang))])
            .unwrap_or_default()
    };
    let name = measure_name(t, MAP_MEASURE);
    Some(MapView {
        intro: text(
            t,
            "map_intro",
            &[("measure", &name), ("year", &year.to_string())],
        ),
        title: name,
        width: 7 * TILE_W,
        height: 5 * TILE_H,
        tiles,
        legend,
    })
}

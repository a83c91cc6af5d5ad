//! The HTML summary report (SPEC §7): one self-contained file, inline CSS and SVG, no script,
//! printable on A4, in Bulgarian or English. This module turns the protected rates table and
//! the run's accounting into a view model of formatted strings and chart geometry; the
//! template (`templates/report.html`) only lays it out, and minijinja escapes every value.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::{Lang, Pipeline};
use crate::ingest::{self, InputFile};
use crate::measures::{Measure, RateRow, Status};
use crate::model::Vocabulary;
use crate::reference;

const TEMPLATE: &str = include_str!("../templates/report.html");
const I18N: &str = include_str!("../templates/i18n.toml");

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

/// The report could not be rendered: a defect in the template, never in the data.
#[derive(Debug, thiserror::Error)]
#[error("rendering report.html: {0}")]
pub struct ReportError(String);

/// Everything the report shows, gathered by the caller.
pub struct ReportInput<'a> {
    pub lang: Lang,
    pub pipeline: &'a Pipeline,
    pub pipeline_sha256: &'a str,
    pub as_of: NaiveDate,
    /// The rates table after disclosure control.
    pub rates: &'a [RateRow],
    pub files: &'a [InputFile],
    pub key_fingerprint: &'a str,
    pub demo_key: bool,
    /// The previous run's fingerprint, when it differs from this run's.
    pub changed_from_fingerprint: Option<&'a str>,
    pub small_class_share: f64,
    pub sources_over_limit: &'a [String],
    pub version: &'a str,
}

type Strings = HashMap<String, String>;

fn translations() -> &'static HashMap<String, Strings> {
    static ALL: OnceLock<HashMap<String, Strings>> = OnceLock::new();
    ALL.get_or_init(|| toml::from_str(I18N).expect("templates/i18n.toml is valid TOML (tested)"))
}

fn strings(lang: Lang) -> &'static Strings {
    let key = match lang {
        Lang::Bg => "bg",
        Lang::En => "en",
    };
    &translations()[key]
}

/// Text for `key` in `lang`, with `{name}` placeholders filled.
fn text(t: &Strings, key: &str, fill: &[(&str, &str)]) -> String {
    let mut s = t.get(key).cloned().unwrap_or_else(|| key.to_string());
    for (name, value) in fill {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Numbers and dates in the language's conventions.

/// `78,6 %` in Bulgarian, `78.6%` in English.
pub fn format_rate(rate: f64, lang: Lang) -> String {
    let value = format!("{:.1}", rate * 100.0);
    match lang {
        Lang::Bg => format!("{}\u{a0}%", value.replace('.', ",")),
        Lang::En => format!("{value}%"),
    }
}

/// `3 442` in Bulgarian (non-breaking space), `3,442` in English.
pub fn format_count(n: u64, lang: Lang) -> String {
    let digits = n.to_string();
    // Bulgarian leaves four-digit numbers ungrouped (3442, 13 442); English groups them (3,442).
    let (separator, min_grouped) = match lang {
        Lang::Bg => ('\u{a0}', 5),
        Lang::En => (',', 4),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) && digits.len() >= min_grouped {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// `31.12.2023` in Bulgarian, `31 Dec 2023` in English.
pub fn format_date(date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Bg => date.format("%d.%m.%Y").to_string(),
        Lang::En => date.format("%-d %b %Y").to_string(),
    }
}

/// A change in percentage points: `+1,2 п.п.` / `−0.4 pp`.
fn format_change(delta: f64, lang: Lang, t: &Strings) -> String {
    let points = delta * 100.0;
    let sign = if points > 0.05 {
        "+"
    } else if points < -0.05 {
        "−"
    } else {
        "±"
    };
    let mut value = format!("{:.1}", points.abs());
    if lang == Lang::Bg {
        value = value.replace('.', ",");
    }
    format!("{sign}{value}\u{a0}{}", text(t, "percentage_points", &[]))
}

fn format_interval(lo: f64, hi: f64, lang: Lang) -> String {
    format!("{}–{}", format_rate(lo, lang), format_rate(hi, lang))
}

/// A row's value as shown: the rate, or the count for a count measure.
fn format_value(row: &RateRow, lang: Lang) -> Option<String> {
    if row.measure.is_count() {
        row.numerator.map(|n| format_count(n, lang))
    } else {
        row.rate.map(|r| format_rate(r, lang))
    }
}

fn region_name(region: Option<u8>, lang: Lang) -> String {
    match (region, lang) {
        (None, Lang::Bg) => "България".into(),
        (None, Lang::En) => "Bulgaria".into(),
        (Some(r), Lang::Bg) => reference::oblasts()[r as usize].name_bg.clone(),
        (Some(r), Lang::En) => reference::oblasts()[r as usize].name_en.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// The view model.

#[derive(Serialize)]
struct View {
    lang: &'static str,
    t: &'static Strings,
    title: String,
    pipeline_name: String,
    as_of: String,
    warnings: Vec<String>,
    headlines: Vec<Headline>,
    charts: Vec<Chart>,
    map: Option<MapView>,
    tables: Vec<Table>,
    footnotes: Vec<String>,
    quality: Vec<SourceQuality>,
    methodology: Vec<Definition>,
    method_notes: Vec<String>,
    metadata: Vec<(String, String)>,
    inputs: Vec<InputRow>,
}

#[derive(Serialize)]
struct Headline {
    name: String,
    year: String,
    value: String,
    interval: Option<String>,
    change: Option<String>,
}

#[derive(Serialize)]
struct Chart {
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

#[derive(Serialize)]
struct MapView {
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

#[derive(Serialize)]
struct Table {
    id: String,
    title: String,
    years: Vec<i32>,
    rows: Vec<TableRow>,
}

#[derive(Serialize)]
struct TableRow {
    region: String,
    national: bool,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    class: &'static str,
    title: String,
}

#[derive(Serialize)]
struct SourceQuality {
    name: String,
    files: u64,
    read: String,
    accepted: String,
    rejected: String,
    duplicate: String,
    over_limit: bool,
    reasons: Vec<(String, String, String)>,
}

#[derive(Serialize)]
struct Definition {
    name: String,
    text: String,
}

#[derive(Serialize)]
struct InputRow {
    name: String,
    sha256: String,
    rows: String,
}

/// Render the report.
pub fn render(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let view = build_view(input);
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError(e.to_string()))?;
    let template = env
        .get_template("report.html")
        .map_err(|e| ReportError(e.to_string()))?;
    template
        .render(minijinja::value::Value::from(minijinja::value::Serde(
            &view,
        )))
        .map_err(|e| ReportError(e.to_string()))
}

fn measure_name(t: &Strings, m: Measure) -> String {
    text(t, &format!("measure_{}", m.code()), &[])
}

fn rows_of(rates: &[RateRow], m: Measure, region: Option<u8>) -> Vec<&RateRow> {
    rates
        .iter()
        .filter(|r| r.measure == m && r.region == region)
        .collect()
}

fn build_view(input: &ReportInput<'_>) -> View {
    let lang = input.lang;
    let t = strings(lang);
    let k = input.pipeline.min_count;

    let mut warnings = Vec::new();
    if input.demo_key {
        warnings.push(text(t, "demo_key_warning", &[]));
    }
    if let Some(old) = input.changed_from_fingerprint {
        warnings.push(text(
            t,
            "key_changed_warning",
            &[("old", old), ("new", input.key_fingerprint)],
        ));
    }
    if !input.sources_over_limit.is_empty() {
        warnings.push(text(
            t,
            "reject_limit_warning",
            &[
                ("limit", &format_rate(input.pipeline.max_reject_rate, lang)),
                ("sources", &input.sources_over_limit.join(", ")),
            ],
        ));
    }

    let headlines = Measure::ALL
        .iter()
        .map(|m| headline(input, *m, t))
        .collect();
    let charts = Measure::ALL.iter().map(|m| chart(input, *m, t)).collect();
    let tables = Measure::ALL.iter().map(|m| table(input, *m, t)).collect();

    let footnotes = vec![
        text(t, "footnote_suppressed", &[("k", &k.to_string())]),
        text(t, "footnote_incomplete", &[]),
        text(t, "footnote_no_data", &[]),
    ];

    let methodology = Measure::ALL
        .iter()
        .map(|m| Definition {
            name: measure_name(t, *m),
            text: text(t, &format!("define_{}", m.code()), &[]),
        })
        .collect();
    let mut method_notes = vec![
        text(t, "method_national", &[]),
        text(t, "method_interval", &[]),
        text(
            t,
            "method_suppression",
            &[("k1", &(k.saturating_sub(1)).to_string())],
        ),
        text(t, "method_pseudonyms", &[]),
        text(t, "method_dedup", &[]),
    ];
    let success = &input.pipeline.success;
    if success.is_widened() {
        let list = |outcomes: &[crate::model::Outcome]| {
            outcomes
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sets = format!(
            "prevention: {}; reintegration: {}",
            list(&success.prevention),
            list(&success.reintegration)
        );
        method_notes.push(text(t, "method_widened", &[("sets", &sets)]));
    } else {
        method_notes.push(text(t, "method_default_success", &[]));
    }
    method_notes.push(text(
        t,
        "small_class_share",
        &[
            ("k", &k.to_string()),
            ("share", &format_rate(input.small_class_share, lang)),
        ],
    ));

    let metadata = vec![
        (text(t, "as_of", &[]), format_date(input.as_of, lang)),
        (text(t, "pipeline", &[]), input.pipeline.name.clone()),
        (
            text(t, "pipeline_sha", &[]),
            input.pipeline_sha256.to_string(),
        ),
        (text(t, "tool_version", &[]), input.version.to_string()),
        (
            text(t, "key_fingerprint", &[]),
            input.key_fingerprint.to_string(),
        ),
    ];
    let inputs = input
        .files
        .iter()
        .map(|f| InputRow {
            name: f.display.clone(),
            sha256: f.sha256.clone(),
            rows: format_count(f.rows_read, lang),
        })
        .collect();

    View {
        lang: match lang {
            Lang::Bg => "bg",
            Lang::En => "en",
        },
        t,
        title: text(t, "title", &[]),
        pipeline_name: input.pipeline.name.clone(),
        as_of: format_date(input.as_of, lang),
        warnings,
        headlines,
        charts,
        map: map(input, t),
        tables,
        footnotes,
        quality: quality(input, t),
        methodology,
        method_notes,
        metadata,
        inputs,
    }
}

/// Whether calendar year `year` had ended by `as_of`: a half year must not pass for a year
/// in a headline or a trend.
fn year_over(year: i32, as_of: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|end| as_of >= end)
}

/// Whether a row belongs in the headlines, trends and map: publishable and of a finished year.
fn is_headline_row(row: &RateRow, as_of: NaiveDate) -> bool {
    row.status == Status::Ok && year_over(row.year, as_of)
}

/// The latest finished year in which the national row of `m` is publishable.
fn latest_ok_year(input: &ReportInput<'_>, m: Measure) -> Option<i32> {
    rows_of(input.rates, m, None)
        .into_iter()
        .filter(|r| is_headline_row(r, input.as_of))
        .map(|r| r.year)
        .max()
}

fn headline(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Headline {
    let lang = input.lang;
    let national = rows_of(input.rates, m, None);
    let latest =
        latest_ok_year(input, m).and_then(|y| national.iter().find(|r| r.year == y).copied());
    let Some(row) = latest else {
        return Headline {
            name: measure_name(t, m),
            year: String::new(),
            value: text(t, "no_complete_year", &[]),
            interval: None,
            change: None,
        };
    };
    let previous = national
        .iter()
        .find(|r| r.year == row.year - 1 && r.status == Status::Ok);
    let change = match (m.is_count(), previous) {
        (false, Some(p)) => row
            .rate
            .zip(p.rate)
            .map(|(now, before)| format_change(now - before, lang, t)),
        (true, Some(p)) => row.numerator.zip(p.numerator).map(|(now, before)| {
            let delta = now as i64 - before as i64;
            let sign = if delta > 0 {
                "+"
            } else if delta < 0 {
                "−"
            } else {
                "±"
            };
            format!("{sign}{}", format_count(delta.unsigned_abs(), lang))
        }),
        _ => None,
    };
    Headline {
        name: measure_name(t, m),
        year: row.year.to_string(),
        value: format_value(row, lang).unwrap_or_default(),
        interval: row
            .ci_low
            .zip(row.ci_high)
            .map(|(lo, hi)| format_interval(lo, hi, lang)),
        change,
    }
}

const CHART_WIDTH: u32 = 640;
const CHART_HEIGHT: u32 = 220;

fn chart(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Chart {
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

fn cell(row: &RateRow, lang: Lang, t: &Strings) -> Cell {
    match row.status {
        Status::Ok => Cell {
            text: format_value(row, lang).unwrap_or_default(),
            class: "ok",
            title: match (row.numerator, row.denominator) {
                (Some(x), Some(n)) => {
                    format!("{} / {}", format_count(x, lang), format_count(n, lang))
                }
                _ => String::new(),
            },
        },
        Status::SuppressedPrimary => Cell {
            text: "◆".into(),
            class: "suppressed",
            title: text(t, "status_suppressed_primary", &[]),
        },
        Status::SuppressedSecondary => Cell {
            text: "◆".into(),
            class: "suppressed",
            title: text(t, "status_suppressed_secondary", &[]),
        },
        Status::Incomplete => Cell {
            text: "…".into(),
            class: "incomplete",
            title: text(t, "status_incomplete", &[]),
        },
        Status::NoData => Cell {
            text: "—".into(),
            class: "nodata",
            title: text(t, "status_no_data", &[]),
        },
    }
}

fn table(input: &ReportInput<'_>, m: Measure, t: &Strings) -> Table {
    let lang = input.lang;
    // The rates table is ordered by measure, region (BG first), year: one run per region.
    let measure_rows: Vec<&RateRow> = input.rates.iter().filter(|r| r.measure == m).collect();
    let mut by_region: Vec<&[&RateRow]> =
        measure_rows.chunk_by(|a, b| a.region == b.region).collect();
    // Readers look regions up by name: Bulgaria first, then alphabetically in the language.
    by_region.sort_by_key(|rows| (rows[0].region.is_some(), region_name(rows[0].region, lang)));
    let years = by_region
        .first()
        .map(|rows| rows.iter().map(|r| r.year).collect())
        .unwrap_or_default();
    Table {
        id: format!("table-{}", m.code()),
        title: measure_name(t, m),
        years,
        rows: by_region
            .into_iter()
            .map(|rows| TableRow {
                region: region_name(rows[0].region, lang),
                national: rows[0].region.is_none(),
                cells: rows.iter().map(|r| cell(r, lang, t)).collect(),
            })
            .collect(),
    }
}

const TILE_W: u32 = 88;
const TILE_H: u32 = 56;

fn map(input: &ReportInput<'_>, t: &Strings) -> Option<MapView> {
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

fn quality(input: &ReportInput<'_>, t: &Strings) -> Vec<SourceQuality> {
    let lang = input.lang;
    input
        .pipeline
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let files: Vec<&InputFile> = input.files.iter().filter(|f| f.source == i).collect();
            let sum = |f: fn(&InputFile) -> u64| files.iter().map(|x| f(x)).sum::<u64>();
            let reasons = ingest::reject_summary(files.iter().copied());
            SourceQuality {
                name: source.name.clone(),
                files: files.len() as u64,
                read: format_count(sum(|f| f.rows_read), lang),
                accepted: format_count(sum(|f| f.rows_accepted), lang),
                rejected: format_count(sum(|f| f.rows_rejected), lang),
                duplicate: format_count(sum(|f| f.rows_duplicate), lang),
                over_limit: input.sources_over_limit.contains(&source.name),
                reasons: reasons
                    .into_iter()
                    .take(5)
                    .map(|(reason, field, n)| {
                        (
                            text(t, &format!("reason_{}", reason.code()), &[]),
                            field.to_string(),
                            format_count(n, lang),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RejectReason;

    #[test]
    fn both_languages_have_every_key() {
        let bg = strings(Lang::Bg);
        let en = strings(Lang::En);
        let missing_en: Vec<&String> = bg.keys().filter(|k| !en.contains_key(*k)).collect();
        let missing_bg: Vec<&String> = en.keys().filter(|k| !bg.contains_key(*k)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_bg.is_empty(), "missing in bg: {missing_bg:?}");
        for m in Measure::ALL {
            assert!(bg.contains_key(&format!("measure_{}", m.code())));
            assert!(bg.contains_key(&format!("define_{}", m.code())));
        }
        for r in RejectReason::ALL {
            assert!(
                bg.contains_key(&format!("reason_{}", r.code())),
                "{}",
                r.code()
            );
        }
    }

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(format_rate(0.786, Lang::Bg), "78,6\u{a0}%");
        assert_eq!(format_rate(0.786, Lang::En), "78.6%");
        assert_eq!(format_count(3442, Lang::Bg), "3442");
        assert_eq!(format_count(13442, Lang::Bg), "13\u{a0}442");
        assert_eq!(format_count(1234567, Lang::En), "1,234,567");
        assert_eq!(format_count(3442, Lang::En), "3,442");
        assert_eq!(format_count(999, Lang::En), "999");
        let d = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        assert_eq!(format_date(d, Lang::Bg), "31.12.2023");
        assert_eq!(format_date(d, Lang::En), "31 Dec 2023");
        let t = strings(Lang::Bg);
        assert_eq!(format_change(0.012, Lang::Bg, t), "+1,2\u{a0}п.п.");
        assert_eq!(
            format_change(-0.004, Lang::En, strings(Lang::En)),
            "−0.4\u{a0}pp"
        );
    }

    #[test]
    fn nice_ceilings_are_round() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4100.0), 5000.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
    }
}

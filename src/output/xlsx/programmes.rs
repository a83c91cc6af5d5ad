//! A programme's sheet (SPEC §10): headed by its title, members, start, end and comparison
//! (from `pipeline.programmes`), then one line per measure and year, and per measure and
//! period, with the programme's and the comparison's protected rows side by side and, on the
//! period lines, the difference and the difference in differences.

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::Context;
use super::cells::{
    Cells, Figures, Kind, group_heading, group_headings, set_group_widths, write_date,
    write_figures, write_legend,
};
use crate::config::{Comparison, Lang, Programme};
use crate::measures::{self, Measure, Period, ProgrammeRow};
use crate::reference;
use crate::report::{Strings, footnotes, measure_name, region_name, text};

/// The heading rows: the title, then one row each for the name, offices, sources, regions,
/// municipalities, start, end and comparison (always all, so the table starts on a fixed row).
pub(super) const TITLE_ROW: u32 = 0;
pub(super) const GROUP_ROW: u32 = 10;
pub(super) const HEADING_ROW: u32 = 11;
pub(super) const FIRST_DATA_ROW: u32 = 12;
/// Column A the measure, B the year or period, then the groups.
pub(super) const FIRST_GROUP_COL: u16 = 2;

/// The table's groups, left to right: which rows they show and their cells.
pub(super) const GROUPS: [(measures::Group, Cells); 4] = [
    (measures::Group::Programme, Cells::WithDenominator),
    (measures::Group::Comparison, Cells::WithDenominator),
    (measures::Group::Difference, Cells::Interval),
    (measures::Group::DifferenceInDifferences, Cells::Interval),
];

/// The first column of each of `GROUPS`.
pub(super) fn group_cols() -> [u16; 4] {
    let mut cols = [FIRST_GROUP_COL; 4];
    for i in 1..GROUPS.len() {
        cols[i] = cols[i - 1] + GROUPS[i - 1].1.width();
    }
    cols
}

pub(super) fn write(
    sheet: &mut Worksheet,
    cx: &Context<'_>,
    index: usize,
) -> Result<(), XlsxError> {
    let (t, styles) = (cx.t, &cx.styles);
    let pipeline = cx.input.pipeline;
    let Some(programme) = pipeline.programmes.get(index) else {
        return Ok(());
    };
    write_description(sheet, cx, programme)?;

    // The table's headings.
    let cols = group_cols();
    sheet.merge_range(
        GROUP_ROW,
        0,
        HEADING_ROW,
        0,
        &text(t, "xlsx_measure", &[]),
        &styles.header,
    )?;
    sheet.merge_range(
        GROUP_ROW,
        1,
        HEADING_ROW,
        1,
        &text(t, "xlsx_year_or_period", &[]),
        &styles.header,
    )?;
    for ((group, cells), col) in GROUPS.iter().zip(cols) {
        let heading = text(t, &format!("xlsx_group_{}", group.code()), &[]);
        group_heading(sheet, GROUP_ROW, col, cells.width(), &heading, styles)?;
        let kind = if *cells == Cells::Interval {
            Kind::Difference
        } else {
            Kind::Rate
        };
        for (offset, heading) in group_headings(*cells, kind, t).iter().enumerate() {
            sheet.write_string_with_format(
                HEADING_ROW,
                col + offset as u16,
                heading,
                &styles.header,
            )?;
        }
        set_group_widths(sheet, col, *cells)?;
    }

    // The lines: per measure, its years, then its periods.
    let own: Vec<&ProgrammeRow> = cx
        .input
        .programmes
        .iter()
        .filter(|r| r.programme == index)
        .collect();
    let mut row = FIRST_DATA_ROW;
    for measure in Measure::ALL {
        for (year, period) in lines(&own, measure) {
            let find = |group: measures::Group| {
                own.iter().copied().find(|r| {
                    r.group == group && r.measure == measure && r.year == year && r.period == period
                })
            };
            sheet.write_string(row, 0, measure_name(t, measure))?;
            match (year, period) {
                (Some(year), _) => {
                    sheet.write_number_with_format(row, 1, year, &styles.year)?;
                }
                (None, Some(period)) => {
                    let years = find(measures::Group::Programme)
                        .or_else(|| find(measures::Group::Comparison))
                        .map(|r| r.years.as_slice())
                        .unwrap_or_default();
                    sheet.write_string(row, 1, period_label(t, period, years))?;
                }
                (None, None) => {}
            }
            for ((group, cells), col) in GROUPS.iter().zip(cols) {
                if let Some(r) = find(*group) {
                    let difference = *cells == Cells::Interval;
                    let figures = Figures::of_programme(r, difference);
                    write_figures(sheet, row, col, *cells, &figures, styles, t)?;
                }
            }
            row += 1;
        }
    }
    write_legend(sheet, row + 1, &footnotes(t, pipeline.min_count))?;

    sheet.set_column_width(0, 44)?;
    sheet.set_column_width(1, 22)?;
    sheet.set_row_height(HEADING_ROW, 30)?;
    sheet.set_row_height(GROUP_ROW, 30)?;
    sheet.set_freeze_panes(FIRST_DATA_ROW, FIRST_GROUP_COL)?;
    // Printed: landscape, one page wide (the sixteen columns), headings on every page.
    sheet
        .set_landscape()
        .set_paper_size(9)
        .set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(GROUP_ROW, HEADING_ROW)?;
    Ok(())
}

/// The lines of one measure: (year, none) for each year row, by year, then (none, period)
/// for each period row, in period order. Taken from the programme's and the comparison's rows
/// (the differences exist only where both do).
pub(super) fn lines(own: &[&ProgrammeRow], measure: Measure) -> Vec<(Option<i32>, Option<Period>)> {
    let mut keys: Vec<(bool, Option<i32>, Option<Period>)> = own
        .iter()
        .filter(|r| r.measure == measure)
        .filter(|r| {
            matches!(
                r.group,
                measures::Group::Programme | measures::Group::Comparison
            )
        })
        .map(|r| (r.period.is_some(), r.year, r.period))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().map(|(_, y, p)| (y, p)).collect()
}

/// `during (2019–2024)`: the period and the complete years its row pools.
fn period_label(t: &Strings, period: Period, years: &[i32]) -> String {
    let name = text(t, &format!("xlsx_period_{}", period.code()), &[]);
    let contiguous = years.windows(2).all(|w| w[1] == w[0] + 1);
    let years = match (years.first(), years.last()) {
        (Some(first), Some(last)) if first == last => first.to_string(),
        (Some(first), Some(last)) if contiguous => format!("{first}–{last}"),
        _ => years
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    if years.is_empty() {
        return name;
    }
    text(
        t,
        "xlsx_period_years",
        &[("period", &name), ("years", &years)],
    )
}

/// The title and the rows that say what the programme is.
fn write_description(
    sheet: &mut Worksheet,
    cx: &Context<'_>,
    programme: &Programme,
) -> Result<(), XlsxError> {
    let (t, styles, lang) = (cx.t, &cx.styles, cx.input.lang);
    let sources = &cx.input.pipeline.sources;
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "—".to_string()
        } else {
            items.join(", ")
        }
    };
    let regions = |list: &[u8]| -> Vec<String> { list.iter().map(|r| oblast(*r, lang)).collect() };
    let municipalities = programme
        .municipalities
        .iter()
        .filter_map(|m| reference::municipalities().get(usize::from(*m)))
        .map(|m| format!("{} ({})", m.name_bg, m.code))
        .collect();
    let comparison = match &programme.comparison {
        Comparison::Rest => text(t, "xlsx_comparison_rest", &[]),
        Comparison::Regions(list) => text(
            t,
            "xlsx_comparison_regions",
            &[("regions", &regions(list).join(", "))],
        ),
    };
    sheet.write_string_with_format(TITLE_ROW, 0, &programme.title, &styles.title)?;
    let described = [
        ("xlsx_name", programme.name.clone()),
        ("xlsx_offices", list(programme.offices.clone())),
        (
            "xlsx_sources",
            list(
                programme
                    .sources
                    .iter()
                    .filter_map(|s| sources.get(*s))
                    .map(|s| s.name.clone())
                    .collect(),
            ),
        ),
        ("xlsx_regions", list(regions(&programme.regions))),
        ("xlsx_municipalities", list(municipalities)),
    ];
    let mut row = TITLE_ROW + 1;
    for (key, value) in described {
        sheet.write_string_with_format(row, 0, text(t, key, &[]), &styles.bold)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, text(t, "xlsx_start", &[]), &styles.bold)?;
    write_date(sheet, row, 1, programme.start, styles)?;
    row += 1;
    sheet.write_string_with_format(row, 0, text(t, "xlsx_end", &[]), &styles.bold)?;
    match programme.end {
        Some(end) => write_date(sheet, row, 1, end, styles)?,
        None => {
            sheet.write_string(row, 1, text(t, "xlsx_still_running", &[]))?;
        }
    }
    row += 1;
    sheet.write_string_with_format(row, 0, text(t, "xlsx_comparison", &[]), &styles.bold)?;
    sheet.write_string(row, 1, comparison)?;
    Ok(())
}

/// `Варна (VAR)`: an oblast's name in the language, and its code.
fn oblast(region: u8, lang: Lang) -> String {
    let code = reference::oblasts()
        .get(usize::from(region))
        .map_or("", |o| o.code.as_str());
    format!("{} ({code})", region_name(Some(region), lang))
}

//! A measure's sheet: the region × year table of the protected rates table, Bulgaria first,
//! then the regions by code with their names in the workbook's language; a group of cells per
//! year (rate, 95% interval, denominator; for `children_served` the count alone), and the
//! legend of the markers below.

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::Context;
use super::cells::{
    Cells, Figures, Kind, group_headings, set_group_widths, wrapped_height, write_figures,
    write_legend, year_heading,
};
use crate::measures::{Measure, RateRow};
use crate::model::RegionIdx;
use crate::report::{footnotes, measure_name, region_name, text};

/// The rows of the table's layout (0-based): title, definition, the two heading rows, data.
pub(super) const TITLE_ROW: u32 = 0;
pub(super) const DEFINITION_ROW: u32 = 1;
pub(super) const YEAR_ROW: u32 = 3;
pub(super) const HEADING_ROW: u32 = 4;
pub(super) const FIRST_DATA_ROW: u32 = 5;
/// Columns A and B hold the region's code and name; the years' groups start at C.
pub(super) const FIRST_GROUP_COL: u16 = 2;

const CODE_WIDTH: f64 = 7.0;
const NAME_WIDTH: f64 = 24.0;

/// The group of cells of `measure`'s years.
pub(super) fn cells_of(measure: Measure) -> Cells {
    if measure.is_count() {
        Cells::Value
    } else {
        Cells::WithDenominator
    }
}

pub(super) fn write(
    sheet: &mut Worksheet,
    cx: &Context<'_>,
    measure: Measure,
) -> Result<(), XlsxError> {
    let (t, styles, lang) = (cx.t, &cx.styles, cx.input.lang);
    let rows: Vec<&RateRow> = cx
        .input
        .rates
        .iter()
        .filter(|r| r.measure == measure)
        .collect();
    let mut years: Vec<i32> = rows.iter().map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    // Bulgaria first, then by code (the rates table's order, made sure of here).
    let mut regions: Vec<(Option<RegionIdx>, &str)> =
        rows.iter().map(|r| (r.region, r.region_code())).collect();
    regions.sort_by_key(|(region, code)| (region.is_some(), *code));
    regions.dedup();

    let cells = cells_of(measure);
    let kind = if measure.is_count() {
        Kind::Count
    } else {
        Kind::Rate
    };
    let width = cells.width();
    let col_of = |year: i32| {
        years
            .binary_search(&year)
            .ok()
            .map(|i| FIRST_GROUP_COL + i as u16 * width)
    };

    sheet.write_string_with_format(TITLE_ROW, 0, measure_name(t, measure), &styles.title)?;
    write_definition(sheet, cx, measure, years.len() as u16 * width)?;
    sheet.merge_range(
        YEAR_ROW,
        0,
        HEADING_ROW,
        0,
        &text(t, "xlsx_code", &[]),
        &styles.header,
    )?;
    sheet.merge_range(
        YEAR_ROW,
        1,
        HEADING_ROW,
        1,
        &text(t, "region", &[]),
        &styles.header,
    )?;
    let headings = group_headings(cells, kind, t);
    for year in &years {
        let Some(col) = col_of(*year) else { continue };
        year_heading(sheet, YEAR_ROW, col, width, *year, styles)?;
        for (offset, heading) in headings.iter().enumerate() {
            sheet.write_string_with_format(
                HEADING_ROW,
                col + offset as u16,
                heading,
                &styles.header,
            )?;
        }
        set_group_widths(sheet, col, cells)?;
    }

    let mut row = FIRST_DATA_ROW;
    for (region, code) in &regions {
        let name_format = if region.is_none() {
            &styles.bold
        } else {
            &styles.plain
        };
        sheet.write_string_with_format(row, 0, *code, name_format)?;
        sheet.write_string_with_format(row, 1, region_name(*region, lang), name_format)?;
        for r in rows.iter().filter(|r| r.region == *region) {
            if let Some(col) = col_of(r.year) {
                write_figures(sheet, row, col, cells, &Figures::of_rate(r), styles, t)?;
            }
        }
        row += 1;
    }
    write_legend(sheet, row + 1, &footnotes(t, cx.input.pipeline.min_count))?;

    sheet.set_column_width(0, CODE_WIDTH)?;
    sheet.set_column_width(1, NAME_WIDTH)?;
    sheet.set_row_height(HEADING_ROW, 30)?;
    sheet.set_freeze_panes(FIRST_DATA_ROW, FIRST_GROUP_COL)?;
    sheet.set_landscape().set_paper_size(9);
    sheet.set_repeat_rows(YEAR_ROW, HEADING_ROW)?;
    sheet.set_repeat_columns(0, 1)?;
    Ok(())
}

/// The definition under the title, wrapped in a cell merged over the code, the name and
/// a printed page's width of the `year_cols` year columns.
fn write_definition(
    sheet: &mut Worksheet,
    cx: &Context<'_>,
    measure: Measure,
    year_cols: u16,
) -> Result<(), XlsxError> {
    let definition = text(cx.t, &format!("define_{}", measure.code()), &[]);
    // Two years' groups of a rate measure: the width of a printed page.
    let span = year_cols.min(8);
    let width = CODE_WIDTH + NAME_WIDTH + f64::from(span) * 9.5;
    if span == 0 {
        sheet.write_string(DEFINITION_ROW, 0, &definition)?;
        return Ok(());
    }
    sheet.merge_range(
        DEFINITION_ROW,
        0,
        DEFINITION_ROW,
        FIRST_GROUP_COL + span - 1,
        &definition,
        &cx.styles.wrap,
    )?;
    sheet.set_row_height(DEFINITION_ROW, wrapped_height(&definition, width))?;
    Ok(())
}

//! The Notes sheet: what the workbook is (as-of date, pipeline, version, threshold), the
//! legend of the markers, every measure's definition and the method notes with the
//! suppression rule, in the workbook's language, in the report's words (`templates/i18n.toml`).

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::Context;
use super::cells::{wrapped_height, write_date};
use crate::measures::Measure;
use crate::report::{footnotes, measure_name, method_notes, text};

/// The widths of columns A (labels) and B (text), in characters: together one A4 page.
const LABEL_WIDTH: f64 = 26.0;
const TEXT_WIDTH: f64 = 72.0;

pub(super) fn write(sheet: &mut Worksheet, cx: &Context<'_>) -> Result<(), XlsxError> {
    let (t, styles) = (cx.t, &cx.styles);
    let pipeline = cx.input.pipeline;
    sheet.write_string_with_format(0, 0, text(t, "title", &[]), &styles.title)?;
    sheet.write_string(1, 0, text(t, "subtitle", &[]))?;

    let mut row = 3;
    sheet.write_string_with_format(row, 0, text(t, "as_of", &[]), &styles.bold)?;
    write_date(sheet, row, 1, cx.input.as_of, styles)?;
    row += 1;
    for (key, value) in [
        ("pipeline", pipeline.name.as_str()),
        ("tool_version", cx.input.version),
    ] {
        sheet.write_string_with_format(row, 0, text(t, key, &[]), &styles.bold)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, text(t, "xlsx_threshold", &[]), &styles.bold)?;
    sheet.write_number_with_format(row, 1, pipeline.min_count, &styles.year)?;
    row += 2;

    let mut section = |row: &mut u32, heading: &str, lines: &[(String, String)]| {
        sheet.write_string_with_format(*row, 0, heading, &styles.title)?;
        *row += 1;
        for (label, line) in lines {
            sheet.write_string_with_format(*row, 0, label, &styles.wrap_bold)?;
            sheet.write_string_with_format(*row, 1, line, &styles.wrap)?;
            let height = wrapped_height(label, LABEL_WIDTH).max(wrapped_height(line, TEXT_WIDTH));
            sheet.set_row_height(*row, height)?;
            *row += 1;
        }
        *row += 1;
        Ok::<(), XlsxError>(())
    };
    let unlabelled = |lines: Vec<String>| -> Vec<(String, String)> {
        lines.into_iter().map(|l| (String::new(), l)).collect()
    };
    let mut legend = footnotes(t, pipeline.min_count);
    legend.push(text(t, "xlsx_cells", &[]));
    section(&mut row, &text(t, "map_legend", &[]), &unlabelled(legend))?;
    let definitions: Vec<(String, String)> = Measure::ALL
        .iter()
        .map(|m| {
            (
                measure_name(t, *m),
                text(t, &format!("define_{}", m.code()), &[]),
            )
        })
        .collect();
    section(&mut row, &text(t, "xlsx_definitions", &[]), &definitions)?;
    section(
        &mut row,
        &text(t, "methodology", &[]),
        &unlabelled(method_notes(pipeline, t)),
    )?;
    if !pipeline.programmes.is_empty() {
        let notes = [
            "xlsx_note_periods",
            "xlsx_note_difference",
            "xlsx_note_programme_suppression",
        ]
        .iter()
        .map(|key| text(t, key, &[]))
        .collect();
        section(
            &mut row,
            &text(t, "xlsx_programmes", &[]),
            &unlabelled(notes),
        )?;
    }

    sheet.set_column_width(0, LABEL_WIDTH)?;
    sheet.set_column_width(1, TEXT_WIDTH)?;
    sheet.set_paper_size(9).set_print_fit_to_pages(1, 0);
    Ok(())
}

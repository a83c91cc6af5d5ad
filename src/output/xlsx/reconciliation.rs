//! The Reconciliation sheet (SPEC §11): the agency's published national figures beside the
//! counts computed from the exports and the coverage, a line per (year, figure), as in
//! `reconciliation.csv`; a withheld count shows the marker and no number.

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::Context;
use crate::measures::Status;
use crate::report::text;

pub(super) fn write(sheet: &mut Worksheet, cx: &Context<'_>) -> Result<(), XlsxError> {
    let (t, styles) = (cx.t, &cx.styles);
    sheet.write_string_with_format(0, 0, text(t, "reconciliation", &[]), &styles.title)?;
    sheet.write_string_with_format(1, 0, text(t, "reconciliation_intro", &[]), &styles.plain)?;
    let headings = ["year", "quantity", "published", "computed", "coverage"];
    for (col, key) in headings.iter().enumerate() {
        sheet.write_string_with_format(3, col as u16, text(t, key, &[]), &styles.header)?;
    }
    for (i, r) in cx.input.reconciliation.iter().enumerate() {
        let row = 4 + i as u32;
        sheet.write_number_with_format(row, 0, r.year, &styles.year)?;
        let quantity = text(t, &format!("quantity_{}", r.quantity_name()), &[]);
        sheet.write_string(row, 1, quantity)?;
        sheet.write_number_with_format(row, 2, r.published as f64, &styles.count)?;
        match (r.status, r.computed) {
            (Status::Ok, Some(computed)) => {
                sheet.write_number_with_format(row, 3, computed as f64, &styles.count)?;
                match r.coverage {
                    Some(c) => sheet.write_number_with_format(row, 4, c, &styles.rate)?,
                    None => sheet.write_string_with_format(row, 4, "—", &styles.no_data)?,
                };
            }
            // Withheld: the marker, never a number.
            _ => {
                sheet.write_string_with_format(row, 3, "◆", &styles.suppressed)?;
                sheet.write_string_with_format(row, 4, "◆", &styles.suppressed)?;
            }
        }
    }
    let note_row = 5 + cx.input.reconciliation.len() as u32;
    sheet.write_string(note_row, 0, text(t, "reconciliation_note", &[]))?;
    sheet.set_column_width(0, 8)?;
    sheet.set_column_width(1, 44)?;
    for col in 2..=4 {
        sheet.set_column_width(col, 14)?;
    }
    sheet.set_freeze_panes(4, 0)?;
    Ok(())
}

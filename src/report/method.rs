//! The methodology's words that the report and `rates.xlsx` share: the legend of the cell
//! markers (◆ suppressed, … incomplete, — no data) and the method notes, in one language, from
//! the pipeline's settings. Words only: no figure is read here.

use super::i18n::{Strings, text};
use crate::config::Pipeline;
use crate::model::Vocabulary;

/// The legend of the cell markers, one line each: suppressed (with the threshold `k`),
/// incomplete, no data.
pub(crate) fn footnotes(t: &Strings, k: u32) -> Vec<String> {
    vec![
        text(t, "footnote_suppressed", &[("k", &k.to_string())]),
        text(t, "footnote_incomplete", &[]),
        text(t, "footnote_no_data", &[]),
    ]
}

/// The method notes: national rows, intervals, the suppression rule, pseudonyms,
/// deduplication and the success sets (widened or not).
pub(crate) fn method_notes(pipeline: &Pipeline, t: &Strings) -> Vec<String> {
    let k = pipeline.min_count;
    let mut notes = vec![
        text(t, "method_national", &[]),
        text(t, "method_interval", &[]),
        text(
            t,
            "method_suppression",
            &[("k1", &(k.saturating_sub(1)).to_string())],
        ),
        text(t, "method_funnel", &[]),
        text(
            t,
            "method_reconciliation",
            &[("k1", &(k.saturating_sub(1)).to_string())],
        ),
        text(t, "method_pseudonyms", &[]),
        text(t, "method_dedup", &[]),
    ];
    let success = &pipeline.success;
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
        notes.push(text(t, "method_widened", &[("sets", &sets)]));
    } else {
        notes.push(text(t, "method_default_success", &[]));
    }
    notes
}

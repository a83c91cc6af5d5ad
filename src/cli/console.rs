//! What a person at the console sees of a run besides the log's stage lines: the progress
//! bar, the accounting per source with the most common reject reasons, and the unmapped
//! labels at the end. It reads results; it computes nothing a later stage needs.

use std::collections::HashMap;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tracing::{info, warn};

use super::{CommonArgs, LogFormat};
use crate::config::Pipeline;
use crate::ingest::{self, InputFile, Listing, NotLabels, UnmappedColumn};
use crate::link::Counts;
use crate::measures::programmes::ProgrammeMatches;

/// A progress bar over the bytes of every input file, drawn only for a person at a terminal:
/// not with `--quiet`, not for JSON logs, not when standard error is a file or a pipe.
pub(super) fn progress_bar(
    pipeline: &Pipeline,
    common: &CommonArgs,
) -> Option<(ProgressBar, HashMap<PathBuf, u64>)> {
    use std::io::IsTerminal;
    if common.quiet || common.log_format != LogFormat::Text || !std::io::stderr().is_terminal() {
        return None;
    }
    // Files are read in this order, so each starts where the previous ones' bytes end.
    let files = ingest::list_files(pipeline).ok()?;
    let mut start = HashMap::new();
    let mut total = 0;
    for (_, path) in files {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        start.insert(path, total);
        total += size;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {elapsed} {wide_msg}")
            .expect("the progress template is valid"),
    );
    Some((bar, start))
}

/// Each source's accounting and most common reject reasons; a warning for a source whose
/// reject rate is over the limit (`over`, decided by the caller).
pub(super) fn log_accounting(
    pipeline: &Pipeline,
    files: &[InputFile],
    per_source: &[Counts],
    over: &[String],
) {
    for file in files.iter().filter(|f| f.rows_read == 0) {
        warn!(
            "{}: the export has a header but no rows; was it exported completely?",
            file.display
        );
    }
    for (i, (source, c)) in pipeline.sources.iter().zip(per_source).enumerate() {
        let name = &source.name;
        let line = format!(
            "source {name}: {} rows read, {} accepted, {} rejected, {} duplicate",
            c.rows_read, c.rows_accepted, c.rows_rejected, c.rows_duplicate
        );
        if over.contains(name) {
            warn!(
                "{line}: the reject rate {:.1}% is over max_reject_rate {:.1}%",
                100.0 * c.reject_rate(),
                100.0 * pipeline.max_reject_rate
            );
        } else {
            info!("{line}");
        }
        let top = ingest::reject_summary(files.iter().filter(|f| f.source == i));
        for (reason, field, n) in top.iter().take(3) {
            let field = if field.is_empty() {
                String::new()
            } else {
                format!(" ({field})")
            };
            info!("  rejected: {n} × {}{field}", reason.code());
        }
        if top.len() > 3 {
            info!("  rejected: … and {} more reasons", top.len() - 3);
        }
    }
}

/// The unmapped values of each source and column, once, at the end of `check` and `run` (SPEC
/// §2): listed when the column looks like labels, otherwise only counted. Warnings, so that
/// `--quiet` keeps them.
pub(super) fn log_unmapped(pipeline: &Pipeline, unmapped: &[UnmappedColumn]) {
    for column in unmapped {
        let source = &pipeline.sources[column.source];
        let field = column.field.name();
        let place = format!(
            "source {}, column \"{}\" ({field})",
            source.name,
            source.column(column.field).unwrap_or_default()
        );
        let rows = plural(column.rows, "row", "rows");
        match &column.listing {
            Listing::NotLabels(why) => {
                let why = match why {
                    NotLabels::TooMany => String::new(),
                    NotLabels::TooLong => ", one of them over 100 characters".to_string(),
                };
                warn!(
                    "{place}: {} distinct unmapped values in {rows}{why}: the column does not look like labels; check the mapping under [sources.columns]",
                    column.distinct
                );
            }
            Listing::Labels {
                listed,
                rarer,
                withheld,
            } => {
                let (labels, them) = if column.distinct == ingest::Distinct::Exactly(1) {
                    ("label", "it")
                } else {
                    ("labels", "them")
                };
                warn!(
                    "{place}: {} unmapped {labels} in {rows}; add {them} under [sources.values.{field}] in the pipeline file",
                    column.distinct,
                );
                for (label, n) in listed {
                    warn!("  unmapped {label:?} in {}", plural(*n, "row", "rows"));
                }
                if *rarer > 0 {
                    warn!(
                        "  and {}, each in fewer than {} rows: not listed",
                        plural(*rarer as u64, "rarer value", "rarer values"),
                        pipeline.min_count
                    );
                }
                if *withheld > 0 {
                    warn!(
                        "  and {} with six or more digits in a row, like an identifier: not listed",
                        plural(*withheld as u64, "value", "values")
                    );
                }
            }
        }
    }
}

/// `n` and the noun that goes with it.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Per programme, how many kept cases it matched and what each listed name matched; a warning
/// for a name that matched nothing, and for a programme that matched nothing (which `run`
/// then refuses).
pub(super) fn log_programmes(pipeline: &Pipeline, matched: &[ProgrammeMatches]) {
    for (programme, m) in pipeline.programmes.iter().zip(matched) {
        let name = &programme.name;
        if m.cases == 0 {
            warn!(
                "programme {name}: matched no case; check the spelling of its offices against the exports"
            );
        } else {
            info!(
                "programme {name}: {} matched",
                plural(m.cases, "case", "cases")
            );
        }
        for listed in &m.listed {
            let list = listed.list;
            if listed.cases == 0 {
                warn!(
                    "  {list}: {:?} matched no case{}",
                    listed.name,
                    if list == "offices" {
                        "; is it spelled as the exports (or the office value map) spell it?"
                    } else {
                        ""
                    }
                );
            } else {
                info!(
                    "  {list}: {:?}: {}",
                    listed.name,
                    plural(listed.cases, "case", "cases")
                );
            }
        }
    }
}

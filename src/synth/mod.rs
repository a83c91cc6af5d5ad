//! Synthetic office exports (`outcomes synth`): realistic, deterministic per seed, only fake
//! people. A tool beside the pipeline: no stage imports it (only `cli` calls `write_exports`);
//! it uses the project's vocabularies (`model`), check digits (`pseudonym`) and reference data.
//!
//! Four layouts (A `dsp`, B `ngo`, C `sofia`, D `regional`) mimic the ways offices export; the
//! `pipeline.toml` written beside them maps every layout onto the canonical fields of SPEC §2.
//! One job a file: `layouts` (what each export looks like, which office serves which oblast),
//! `geography` (oblasts, municipalities, populations), `people` (children, families, their
//! identifiers and how they are typed), `simulate` (the decade of cases, bad rows,
//! duplicates), `write` (rows into files), `pipeline` (the pipeline file and demo key),
//! `calendar` (day numbers and date styles), `effect` (a simulated programme, issue 14),
//! `forms` (an office's files as a workbook, UTF-16 or with CR line ends, issue 15).
//!
//! The output is part of the contract: for a given seed and row count every byte is fixed
//! (`sample_data/` is seed 2024, 6,000 rows). A change that draws the random numbers in
//! another order, or spells a value differently, changes every file after it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

mod calendar;
mod effect;
mod forms;
mod geography;
mod layouts;
mod people;
mod pipeline;
mod simulate;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_effect;

pub use effect::{Programme, ProgrammeError};
pub use forms::Forms;

/// What `write_exports` wrote.
#[derive(Debug, Clone)]
pub struct SynthSummary {
    /// Every CSV file written, with its data-row count (header excluded).
    pub files: Vec<(PathBuf, u64)>,
    /// The pipeline file written beside the exports.
    pub pipeline: PathBuf,
    /// The programme's closed cases whose success chance had to be kept within 0 and 100 %
    /// (the effect on them is smaller than asked); 0 without a programme.
    pub capped: u64,
}

/// Write synthetic exports of about `rows` data rows into `out`, deterministic for `seed`.
///
/// Writes `dsp_<code>/dsp_<code>_<year>.csv` (layout A, one folder per oblast), `ngo/ngo_<year>.csv`
/// (B), `sofia/sofia_<year>.csv` (C), `regional/regional_<year>.csv` (D), `pipeline.toml` and the
/// public `demo.key`. Export files of these names left in `out` by an earlier run are removed
/// first, so the pipeline's globs see only this run; nothing else in `out` is touched.
///
/// With a `programme`, its oblasts' closed cases succeed more often (or less) from its start
/// year (`effect`), and the pipeline file defines it as a `[[programmes]]` entry (SPEC §10).
pub fn write_exports(
    out: &Path,
    rows: u64,
    seed: u64,
    programme: Option<&Programme>,
) -> anyhow::Result<SynthSummary> {
    write_exports_as(out, rows, seed, programme, &Forms::csv(), false)
}

/// `write_exports`, with some offices' files in another form (`forms`): the same rows as a
/// workbook, UTF-16 text or with CR line ends, and the pipeline file reading them so. With
/// `one_file`, one office (layout E) exports every oblast into `plain/plain.csv` instead.
pub fn write_exports_as(
    out: &Path,
    rows: u64,
    seed: u64,
    programme: Option<&Programme>,
    forms: &Forms,
    one_file: bool,
) -> anyhow::Result<SynthSummary> {
    generate(out, rows, seed, programme, forms, one_file).map(|(summary, _)| summary)
}

/// `write_exports`, with the counts the tests check.
fn generate(
    out: &Path,
    rows: u64,
    seed: u64,
    programme: Option<&Programme>,
    forms: &Forms,
    one_file: bool,
) -> anyhow::Result<(SynthSummary, simulate::Stats)> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write::remove_stale(out)?;
    let geo = geography::Geo::load()?;
    let offices = if one_file {
        layouts::Offices::one_file()
    } else {
        layouts::Offices::new(rows)
    };
    let simulation = simulate::Simulation::new(&geo, &offices, out, rows, seed, programme);
    let (mut files, stats) = simulation.run()?;
    for (path, _) in &mut files {
        let folder = path.parent().and_then(Path::file_name);
        let source = offices
            .sources
            .iter()
            .find(|s| folder.is_some_and(|f| f.to_string_lossy() == s.name()));
        if let Some(source) = source {
            *path = forms::rewrite(path, source.layout, forms.of(*source))?;
        }
    }
    files.sort();
    let pipeline = out.join("pipeline.toml");
    fs::write(
        &pipeline,
        pipeline::pipeline_toml(&offices, rows, seed, programme, forms),
    )
    .with_context(|| format!("cannot write {}", pipeline.display()))?;
    let key = out.join("demo.key");
    fs::write(&key, pipeline::DEMO_KEY)
        .with_context(|| format!("cannot write {}", key.display()))?;
    let capped = stats.capped;
    Ok((
        SynthSummary {
            files,
            pipeline,
            capped,
        },
        stats,
    ))
}

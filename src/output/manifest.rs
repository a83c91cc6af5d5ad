//! `manifest.json` (SPEC §6): the trace of a run, what went in and came out, under which key,
//! date and program version. Read back by the next run (`--if-changed`, the key-change
//! warning) and by the output folder's ownership check.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{OutputError, io_error};
use crate::config::{Comparison, Lang, Pipeline};
use crate::ingest::InputFile;
pub use crate::link::Counts;
use crate::model::Vocabulary;
use crate::reference;

/// The trace of a run (SPEC §6): what went in, what came out, under which key and date.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub tool_version: String,
    pub pipeline: PipelineEntry,
    pub as_of: String,
    /// Language of report.html.
    #[serde(default)]
    pub lang: String,
    pub key_fingerprint: String,
    pub demo_key: bool,
    pub min_count: u32,
    pub max_reject_rate: f64,
    pub success_outcomes: SuccessEntry,
    /// Share of `cases.parquet` records whose (region, birth year, sex) class has fewer than
    /// `min_count` records.
    pub small_class_share: f64,
    pub inputs: Vec<InputEntry>,
    pub totals: Counts,
    pub outputs: Vec<OutputEntry>,
    pub started_at: String,
    pub finished_at: String,
    pub exit_status: i32,
    /// `ok`, or `reject_rate_exceeded` (exit status 3).
    pub status: String,
    /// Sources whose reject rate exceeded `max_reject_rate`.
    pub sources_over_reject_limit: Vec<String>,
    /// The pipeline's programmes (SPEC §10), as `programmes.parquet`'s metadata gives them.
    #[serde(default)]
    pub programmes: Vec<ProgrammeEntry>,
    /// The published national figures reconciled with (SPEC §11), when the pipeline names a
    /// file; `None`: the shipped `reference/asp_national.csv`.
    #[serde(default)]
    pub published: Option<PublishedEntry>,
}

/// The published table a run reconciled with: its path and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedEntry {
    pub path: String,
    pub sha256: String,
}

/// A programme as the manifest and `programmes.parquet`'s key-value metadata describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeEntry {
    pub name: String,
    pub title: String,
    pub offices: Vec<String>,
    pub sources: Vec<String>,
    /// Oblast codes.
    pub regions: Vec<String>,
    /// Municipality codes.
    pub municipalities: Vec<String>,
    pub start: String,
    /// `None`: still running.
    pub end: Option<String>,
    /// `"rest"`, or the comparison's oblast codes.
    pub comparison: serde_json::Value,
}

impl ProgrammeEntry {
    /// The entry of each of the pipeline's programmes.
    pub fn all(pipeline: &Pipeline) -> Vec<ProgrammeEntry> {
        let code = |r: &crate::model::RegionIdx| reference::oblasts()[usize::from(*r)].code.clone();
        pipeline
            .programmes
            .iter()
            .map(|p| ProgrammeEntry {
                name: p.name.clone(),
                title: p.title.clone(),
                offices: p.offices.clone(),
                sources: p
                    .sources
                    .iter()
                    .map(|s| pipeline.sources[*s].name.clone())
                    .collect(),
                regions: p.regions.iter().map(code).collect(),
                municipalities: p
                    .municipalities
                    .iter()
                    .map(|m| reference::municipalities()[usize::from(*m)].code.clone())
                    .collect(),
                start: p.start.to_string(),
                end: p.end.map(|d| d.to_string()),
                comparison: match &p.comparison {
                    Comparison::Rest => serde_json::Value::from("rest"),
                    Comparison::Regions(list) => {
                        serde_json::Value::from(list.iter().map(code).collect::<Vec<_>>())
                    }
                },
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineEntry {
    pub name: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuccessEntry {
    pub prevention: Vec<String>,
    pub reintegration: Vec<String>,
    pub widened: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputEntry {
    pub source: String,
    pub path: String,
    pub name: String,
    pub sha256: String,
    /// A text export's encoding and delimiter; a workbook has neither, but a format and the
    /// sheet read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// One output in the manifest: its file name in the output folder and its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputEntry {
    pub path: String,
    pub sha256: String,
}

impl OutputEntry {
    /// The entry of a written file in the staging folder, hashed by reading it back.
    pub fn of_file(path: &Path) -> Result<OutputEntry, OutputError> {
        Ok(OutputEntry::hashed(
            path,
            super::sha256_file(path).map_err(io_error(path))?,
        ))
    }

    /// The entry of a file whose bytes were hashed as they were written.
    pub fn hashed(path: &Path, sha256: String) -> OutputEntry {
        OutputEntry {
            path: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256,
        }
    }
}

impl InputEntry {
    pub fn new(file: &InputFile, counts: &Counts, source_name: &str) -> InputEntry {
        InputEntry {
            source: source_name.to_string(),
            path: absolute_path(&file.path),
            name: file.display.clone(),
            sha256: file.sha256.clone(),
            encoding: file.sheet.is_none().then(|| file.encoding.to_string()),
            delimiter: file
                .sheet
                .is_none()
                .then(|| (file.delimiter as char).to_string()),
            format: file.sheet.is_some().then(|| file.encoding.to_string()),
            sheet: file.sheet.clone(),
            counts: counts.clone(),
        }
    }
}

/// The absolute, resolved form of `path`, so the manifest reads the same from any working
/// directory (`path` as given when it cannot be resolved).
pub fn absolute_path(path: &Path) -> String {
    fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Read the manifest of a previous run in `dir`, if there is a readable one.
pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(dir.join("manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Write `manifest.json`.
pub fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), OutputError> {
    let mut text = serde_json::to_string_pretty(manifest).map_err(|e| io_error(path)(e.into()))?;
    text.push('\n');
    let mut file = File::create(path).map_err(io_error(path))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))
}

/// The facts of one run that the manifest records, gathered by the run as it goes.
pub struct RunRecord<'a> {
    pub pipeline: &'a Pipeline,
    pub as_of: NaiveDate,
    pub lang: Lang,
    pub key_fingerprint: String,
    pub demo_key: bool,
    pub small_class_share: f64,
    pub files: &'a [InputFile],
    /// Each file's rows accounted for, in the order of `files`.
    pub accounts: &'a [Counts],
    pub outputs: Vec<OutputEntry>,
    pub started_at: DateTime<Utc>,
    pub exit_status: u8,
    /// Sources whose reject rate exceeded `max_reject_rate` (exit status 3).
    pub sources_over_limit: Vec<String>,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Manifest {
    /// The manifest of a run that has written its outputs; `finished_at` is now.
    pub fn of_run(run: RunRecord<'_>) -> Manifest {
        let pipeline = run.pipeline;
        let names = |set: &[crate::model::Outcome]| {
            set.iter()
                .map(|o| o.as_str().to_string())
                .collect::<Vec<_>>()
        };
        Manifest {
            tool: "outcomes".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            pipeline: PipelineEntry {
                name: pipeline.name.clone(),
                path: absolute_path(&pipeline.file),
                sha256: pipeline.sha256.clone(),
            },
            as_of: run.as_of.to_string(),
            lang: run.lang.code().to_string(),
            key_fingerprint: run.key_fingerprint,
            demo_key: run.demo_key,
            min_count: pipeline.min_count,
            max_reject_rate: pipeline.max_reject_rate,
            success_outcomes: SuccessEntry {
                prevention: names(&pipeline.success.prevention),
                reintegration: names(&pipeline.success.reintegration),
                widened: pipeline.success.is_widened(),
            },
            small_class_share: run.small_class_share,
            inputs: run
                .files
                .iter()
                .zip(run.accounts)
                .map(|(f, counts)| InputEntry::new(f, counts, &pipeline.sources[f.source].name))
                .collect(),
            totals: Counts::total(run.accounts),
            outputs: run.outputs,
            started_at: timestamp(run.started_at),
            finished_at: timestamp(Utc::now()),
            exit_status: i32::from(run.exit_status),
            status: if run.sources_over_limit.is_empty() {
                "ok"
            } else {
                "reject_rate_exceeded"
            }
            .into(),
            sources_over_reject_limit: run.sources_over_limit,
            programmes: ProgrammeEntry::all(pipeline),
            published: pipeline
                .published
                .file
                .as_ref()
                .map(|(path, sha256)| PublishedEntry {
                    path: absolute_path(path),
                    sha256: sha256.clone(),
                }),
        }
    }
}

/// What a run would be made from, to hold against the previous run's manifest.
pub struct RunIdentity<'a> {
    pub pipeline: &'a Pipeline,
    pub key_fingerprint: &'a str,
    pub as_of: NaiveDate,
    pub lang: Lang,
    /// Every input file, in the order the run reads them.
    pub inputs: &'a [PathBuf],
}

/// Whether the previous run's outputs are what a run now would write.
#[derive(Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The last run succeeded with the same inputs, pipeline file, key, as-of date,
    /// language and program version; it finished at this time.
    Unchanged { finished_at: String },
    /// Something differs: what, in words for the log.
    Changed(String),
}

/// Hold `current` against the previous manifest (`None`: there was none). Reads and hashes
/// the input files only when everything else is the same.
pub fn freshness(previous: Option<&Manifest>, current: &RunIdentity<'_>) -> io::Result<Freshness> {
    let Some(previous) = previous else {
        return Ok(Freshness::Changed("no previous manifest".into()));
    };
    let same_run = previous.exit_status == 0
        && previous.tool_version == env!("CARGO_PKG_VERSION")
        && previous.pipeline.sha256 == current.pipeline.sha256
        && previous.key_fingerprint == current.key_fingerprint
        && previous.as_of == current.as_of.to_string()
        && previous.lang == current.lang.code();
    if !same_run {
        return Ok(Freshness::Changed(
            "the pipeline, key, as-of date, language or program changed".into(),
        ));
    }
    let published = current
        .pipeline
        .published
        .file
        .as_ref()
        .map(|(path, sha256)| PublishedEntry {
            path: absolute_path(path),
            sha256: sha256.clone(),
        });
    if published != previous.published {
        return Ok(Freshness::Changed(
            "the published national figures changed".into(),
        ));
    }
    if current.inputs.len() != previous.inputs.len() {
        return Ok(Freshness::Changed("the set of input files changed".into()));
    }
    for (path, before) in current.inputs.iter().zip(&previous.inputs) {
        let sha256 = super::sha256_file(path)
            .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
        if absolute_path(path) != before.path || sha256 != before.sha256 {
            return Ok(Freshness::Changed(format!("{} changed", path.display())));
        }
    }
    Ok(Freshness::Unchanged {
        finished_at: previous.finished_at.clone(),
    })
}

//! The whole pipeline file: its top-level keys, the list of its sections, and `parse`, which
//! checks the keys here and hands each section to its own file. Nothing here reads an export
//! or a key file; it only resolves their paths.

use std::path::{Component, Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use super::ConfigError;
use super::measures::{self, MeasuresFile, SuccessSets};
use super::programmes::{self, Programme, ProgrammeFile};
use super::published::PublishedTable;
use super::sources::{Source, SourceFile};

// ---------------------------------------------------------------------------------------------
// As written.

/// The file as written: the top-level keys, then one field per section (each section's shape
/// and check live in the `config` file named after it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: String,
    key_file: PathBuf,
    as_of: Option<toml::Value>,
    min_count: Option<u32>,
    max_reject_rate: Option<f64>,
    lang: Option<Lang>,
    /// Output folder, relative to the pipeline file (default: `reports/<name>` in the working directory).
    out_dir: Option<PathBuf>,
    /// The published national figures to reconcile with (SPEC §11), relative to the pipeline
    /// file (default: the shipped `reference/asp_national.csv`).
    published: Option<PathBuf>,
    /// `[measures]`: `measures.rs`.
    measures: Option<MeasuresFile>,
    /// `[[sources]]`: `sources.rs`.
    #[serde(default)]
    sources: Vec<SourceFile>,
    /// `[[programmes]]`: `programmes.rs`.
    #[serde(default)]
    programmes: Vec<ProgrammeFile>,
}

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Bg,
    En,
}

impl Lang {
    /// The language's code in outputs and the manifest: `bg`, `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Bg => "bg",
            Lang::En => "en",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checked.

/// A checked pipeline, ready to run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    /// The pipeline file as given.
    pub file: PathBuf,
    /// SHA-256 of the pipeline file's text, hex (for the manifest).
    pub sha256: String,
    pub key_file: PathBuf,
    pub as_of: Option<NaiveDate>,
    pub min_count: u32,
    pub max_reject_rate: f64,
    pub lang: Lang,
    pub out_dir: Option<PathBuf>,
    pub success: SuccessSets,
    pub sources: Vec<Source>,
    /// `[[programmes]]` (SPEC §10), in the file's order.
    pub programmes: Vec<Programme>,
    /// The published national figures (SPEC §11): the shipped table or `published`'s.
    pub published: PublishedTable,
}

// ---------------------------------------------------------------------------------------------
// The check.

/// Join `rel` to `base` and drop `.` components, keeping `..` (globs must not be canonicalized).
pub(super) fn resolve(base: &Path, rel: &Path) -> PathBuf {
    let joined = if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        base.join(rel)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Parse an ISO date (`2024-12-31`).
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Parse and check a pipeline file's text; `path` locates relative paths and names errors.
pub fn parse(text: &str, path: &Path) -> Result<Pipeline, ConfigError> {
    let file: PipelineFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let base = path.parent().unwrap_or(Path::new(""));

    if file.name.trim().is_empty()
        || file
            .name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        || file.name == ".."
    {
        return Err(invalid(
            "`name` must be a non-empty name without slashes (it names the output folder)".into(),
        ));
    }
    let as_of = match &file.as_of {
        None => None,
        Some(toml::Value::String(s)) => Some(parse_iso_date(s).ok_or_else(|| {
            invalid(format!(
                "`as_of = \"{s}\"` is not a date; write it as YYYY-MM-DD"
            ))
        })?),
        Some(toml::Value::Datetime(dt)) => Some(
            dt.date
                .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()))
                .ok_or_else(|| invalid("`as_of` must be a date, YYYY-MM-DD".into()))?,
        ),
        Some(_) => return Err(invalid("`as_of` must be a date, YYYY-MM-DD".into())),
    };
    let min_count = file.min_count.unwrap_or(5);
    if min_count < 2 {
        // SPEC §5: with 1 nothing would ever be hidden.
        return Err(invalid(format!(
            "`min_count = {min_count}` must be at least 2 (SPEC §5; the default is 5)"
        )));
    }
    let max_reject_rate = file.max_reject_rate.unwrap_or(0.05);
    if !(0.0..=1.0).contains(&max_reject_rate) {
        return Err(invalid(format!(
            "`max_reject_rate = {max_reject_rate}` must be between 0 and 1"
        )));
    }
    if file.sources.is_empty() {
        return Err(invalid(
            "no [[sources]]: a pipeline needs at least one source of exports".into(),
        ));
    }

    // The sections, each checked by its own file.
    let success = measures::compile(file.measures.as_ref()).map_err(&invalid)?;
    let mut sources = Vec::with_capacity(file.sources.len());
    for (i, s) in file.sources.into_iter().enumerate() {
        if sources.iter().any(|o: &Source| o.name == s.name) {
            return Err(invalid(format!(
                "two sources are named \"{}\"; source names must differ",
                s.name
            )));
        }
        let label = format!("[[sources]] #{} (\"{}\")", i + 1, s.name);
        sources
            .push(super::sources::compile(s, base).map_err(|m| invalid(format!("{label}: {m}")))?);
    }
    let programmes = programmes::compile(file.programmes, &sources).map_err(&invalid)?;
    let published = match &file.published {
        None => PublishedTable::shipped(),
        Some(p) => PublishedTable::read(&resolve(base, p)).map_err(&invalid)?,
    };

    Ok(Pipeline {
        name: file.name,
        file: path.to_path_buf(),
        sha256: {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
        },
        key_file: resolve(base, &file.key_file),
        as_of,
        min_count,
        max_reject_rate,
        lang: file.lang.unwrap_or_default(),
        out_dir: file.out_dir.map(|p| resolve(base, &p)),
        success,
        sources,
        programmes,
        published,
    })
}

//! The command line (SPEC §8): argument parsing, logging, exit codes, and the order in which a
//! run calls the stages. Errors arrive here as typed errors and leave as a message that says
//! what went wrong, where, and what to do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{NaiveDate, SecondsFormat, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::{info, warn};

use crate::config::{self, ConfigError, Lang, Pipeline};
use crate::dates;
use crate::disclosure::{self, QuasiClasses};
use crate::ingest::{self, DiscardRejects, InputFile};
use crate::inspect;
use crate::link::{self, CaseStore, Linked};
use crate::measures;
use crate::model::Vocabulary;
use crate::output::{self, Counts, InputEntry, Manifest, OutputDir, OutputEntry};
use crate::pseudonym::{Key, KeyError};
use crate::report;
use crate::synth;

/// Anonymized outcome statistics from child-protection case exports.
///
/// `outcomes` reads the CSV exports of child-protection offices, checks every row, replaces
/// personal identifiers with keyed pseudonyms, and writes Parquet files, a list of rejected
/// rows and a manifest. No name, ЕГН or other personal data from the exports is ever written.
#[derive(Debug, Parser)]
#[command(name = "outcomes", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline: read, check, pseudonymize, deduplicate, write outputs.
    Run(RunArgs),
    /// Read and check the exports only: print per-source counts and the most common reasons
    /// for rejected rows. Writes nothing.
    Check(CheckArgs),
    /// Make a new pseudonymization key file (readable by you only). Never overwrites a file.
    Keygen {
        /// Where to write the key, e.g. keys/pseudonym.key.
        file: PathBuf,
    },
    /// Look at one export of a new office and print a `[[sources]]` block to start its
    /// pipeline from: encoding, delimiter, which column is which, date formats, label maps.
    /// Prints column names and labels only, never personal data.
    Inspect {
        /// The CSV export to look at.
        csv: PathBuf,
    },
    /// Write synthetic exports (fake people only) in several office layouts, with a pipeline
    /// file to run them: for trying the program, tests and benchmarks.
    Synth {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// About how many case rows to write.
        #[arg(long, default_value_t = 5000)]
        rows: u64,
        /// Random seed: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// The pipeline file (TOML) that lists the sources and how to read them.
    pipeline: PathBuf,
    /// Count cases up to this date, YYYY-MM-DD (default: the pipeline's `as_of`, else today).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Use this key file instead of the pipeline's `key_file`.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Print only warnings and errors.
    #[arg(long)]
    quiet: bool,
    /// Log format: readable text, or one JSON object per line for schedulers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Output folder (default: the pipeline's `out_dir`, else reports/<pipeline name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Report language (default: the pipeline's `lang`, else Bulgarian).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Do nothing (exit 0) when the inputs, pipeline file, key, as-of date and language are
    /// the same as in the last successful run's manifest: for nightly schedules.
    #[arg(long)]
    if_changed: bool,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// A usage or configuration problem: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// The exit codes of SPEC §8.
mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REJECT_RATE: u8 = 3;
}

/// Parse the command line, run it, and turn the result into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let (quiet, format) = match &cli.command {
        Command::Run(a) => (a.common.quiet, a.common.log_format),
        Command::Check(a) => (a.common.quiet, a.common.log_format),
        _ => (false, LogFormat::Text),
    };
    init_logging(quiet, format);
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(error)) => {
            let code = exit_code_of(&error);
            if format == LogFormat::Json {
                tracing::error!(exit_code = code, "{error:#}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(code)
        }
        Err(_) => {
            eprintln!(
                "error: internal error (a bug in outcomes); no outputs were changed. Please report it with the command you ran."
            );
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn exit_code_of(error: &anyhow::Error) -> u8 {
    let usage = error
        .chain()
        .any(|e| e.is::<ConfigError>() || e.is::<KeyError>() || e.is::<UsageError>());
    if usage { exit::USAGE } else { exit::FAILURE }
}

fn init_logging(quiet: bool, format: LogFormat) {
    use std::io::IsTerminal;
    let level = if quiet {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text if std::io::stderr().is_terminal() => {
            builder.without_time().with_level(false).try_init()
        }
        LogFormat::Text => builder.try_init(),
    };
}

fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Check(args) => check(args),
        Command::Keygen { file } => {
            Key::generate(&file)?;
            info!("wrote a new key to {}", file.display());
            info!(
                "keep it secret and backed up: whoever holds it can re-identify a known ЕГН, and a new key breaks linkage with earlier runs"
            );
            Ok(exit::OK)
        }
        Command::Inspect { csv } => {
            let block = inspect::inspect(&csv)?;
            print!("{block}");
            Ok(exit::OK)
        }
        Command::Synth { out, rows, seed } => {
            let summary = synth::write_exports(&out, rows, seed)
                .with_context(|| format!("writing synthetic exports to {}", out.display()))?;
            let total: u64 = summary.files.iter().map(|(_, n)| n).sum();
            info!(
                "wrote {} files with {total} synthetic rows and {} to {}",
                summary.files.len(),
                summary.pipeline.display(),
                out.display()
            );
            info!("try: outcomes run {}", summary.pipeline.display());
            Ok(exit::OK)
        }
    }
}

/// What `run` and `check` share: the pipeline, its date and its key.
struct Prepared {
    pipeline: Pipeline,
    as_of: NaiveDate,
    key: Key,
}

fn prepare(common: &CommonArgs) -> Result<Prepared> {
    let pipeline = config::load(&common.pipeline)?;
    let as_of = match &common.as_of {
        Some(text) => config::parse_iso_date(text).ok_or_else(|| {
            UsageError(format!(
                "--as-of {text}: not a date; write it as YYYY-MM-DD"
            ))
        })?,
        None => pipeline.as_of.unwrap_or_else(|| Utc::now().date_naive()),
    };
    let key_file = common
        .key_file
        .clone()
        .unwrap_or_else(|| pipeline.key_file.clone());
    let key = Key::load(&key_file).map_err(|e| {
        let hint = match &e {
            KeyError::Read { .. } => format!(
                "\nhint: make a key with `outcomes keygen {}` (and keep a backup: a new key breaks linkage with earlier runs)",
                key_file.display()
            ),
            _ => String::new(),
        };
        anyhow::Error::new(e).context(format!("the pseudonymization key could not be used{hint}"))
    })?;
    if key.is_demo {
        warn!(
            "the key {} is the PUBLIC DEMO KEY: pseudonyms made with it protect nothing. Use it for sample data only; make a real key with `outcomes keygen`",
            key_file.display()
        );
    }
    Ok(Prepared {
        pipeline,
        as_of,
        key,
    })
}

/// A progress bar over the bytes of every input file, drawn only for a person at a terminal:
/// not with `--quiet`, not for JSON logs, not when standard error is a file or a pipe.
fn progress_bar(
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

/// Read, validate and pseudonymize every input into `store`, then deduplicate.
fn read_all(
    prepared: &Prepared,
    common: &CommonArgs,
    mut store: CaseStore,
    sink: &mut dyn ingest::RejectSink,
) -> Result<(Linked, ingest::Ingested)> {
    let pseudonymizer = prepared.key.pseudonymizer();
    let progress = progress_bar(&prepared.pipeline, common);
    let report = |file: &InputFile, bytes: u64| {
        if let Some((bar, start)) = &progress {
            bar.set_position(start.get(&file.path).copied().unwrap_or(0) + bytes);
            bar.set_message(file.display.clone());
        }
    };
    let result = ingest::ingest(
        &prepared.pipeline,
        &pseudonymizer,
        dates::to_day(prepared.as_of),
        &mut store,
        sink,
        &report,
    );
    if let Some((bar, _)) = &progress {
        bar.finish_and_clear();
    }
    let mut ingested = result?;
    let linked = link::dedupe(store, &mut ingested.files).context("linking the cases")?;
    Ok((linked, ingested))
}

fn counts_of<'a>(files: impl IntoIterator<Item = &'a InputFile>) -> Counts {
    let mut c = Counts::default();
    for f in files {
        c.rows_read += f.rows_read;
        c.rows_accepted += f.rows_accepted;
        c.rows_rejected += f.rows_rejected;
        c.rows_duplicate += f.rows_duplicate;
    }
    c
}

/// Per source: its name, counts, and whether its reject rate is over the limit.
fn source_summaries(pipeline: &Pipeline, files: &[InputFile]) -> Vec<(String, Counts, bool)> {
    pipeline
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let counts = counts_of(files.iter().filter(|f| f.source == i));
            let rate = if counts.rows_read == 0 {
                0.0
            } else {
                counts.rows_rejected as f64 / counts.rows_read as f64
            };
            (s.name.clone(), counts, rate > pipeline.max_reject_rate)
        })
        .collect()
}

fn log_accounting(pipeline: &Pipeline, files: &[InputFile]) -> Vec<String> {
    for file in files.iter().filter(|f| f.rows_read == 0) {
        warn!(
            "{}: the export has a header but no rows; was it exported completely?",
            file.display
        );
    }
    let mut over = Vec::new();
    for (i, (name, c, is_over)) in source_summaries(pipeline, files).into_iter().enumerate() {
        let line = format!(
            "source {name}: {} rows read, {} accepted, {} rejected, {} duplicate",
            c.rows_read, c.rows_accepted, c.rows_rejected, c.rows_duplicate
        );
        if is_over {
            warn!(
                "{line}: the reject rate {:.1}% is over max_reject_rate {:.1}%",
                100.0 * c.rows_rejected as f64 / c.rows_read.max(1) as f64,
                100.0 * pipeline.max_reject_rate
            );
            over.push(name);
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
    over
}

fn check(args: CheckArgs) -> Result<u8> {
    let prepared = prepare(&args.common)?;
    let (linked, ingested) = read_all(
        &prepared,
        &args.common,
        CaseStore::links_only(),
        &mut DiscardRejects,
    )?;
    let over = log_accounting(&prepared.pipeline, &ingested.files);
    info!(
        "{} files checked, {} cases after deduplication; nothing was written",
        ingested.files.len(),
        linked.cases.len()
    );
    Ok(if over.is_empty() {
        exit::OK
    } else {
        exit::REJECT_RATE
    })
}

/// Whether the last successful run in `target` had the same inputs, pipeline file, key, as-of
/// date, language and program version, so its outputs are what a run now would write.
fn unchanged_since_last_run(prepared: &Prepared, target: &Path, lang: &str) -> Result<bool> {
    let Some(previous) = output::read_manifest(target) else {
        info!(
            "--if-changed: no previous manifest in {}; running",
            target.display()
        );
        return Ok(false);
    };
    let pipeline = &prepared.pipeline;
    let same_run = previous.exit_status == i32::from(exit::OK)
        && previous.tool_version == env!("CARGO_PKG_VERSION")
        && previous.pipeline.sha256 == pipeline.sha256
        && previous.key_fingerprint == prepared.key.fingerprint()
        && previous.as_of == prepared.as_of.to_string()
        && previous.lang == lang;
    if !same_run {
        info!("--if-changed: the pipeline, key, as-of date, language or program changed; running");
        return Ok(false);
    }
    let files = ingest::list_files(pipeline)?;
    if files.len() != previous.inputs.len() {
        info!("--if-changed: the set of input files changed; running");
        return Ok(false);
    }
    for ((_, path), before) in files.iter().zip(&previous.inputs) {
        let sha256 =
            output::sha256_file(path).with_context(|| format!("reading {}", path.display()))?;
        if output::absolute_path(path) != before.path || sha256 != before.sha256 {
            info!("--if-changed: {} changed; running", path.display());
            return Ok(false);
        }
    }
    info!(
        "--if-changed: nothing changed since the run that finished {}; {} is up to date",
        previous.finished_at,
        target.display()
    );
    Ok(true)
}

fn run(args: RunArgs) -> Result<u8> {
    let started = Utc::now();
    let clock = Instant::now();
    let prepared = prepare(&args.common)?;
    let pipeline = &prepared.pipeline;
    let lang = args.lang.unwrap_or(pipeline.lang);
    let target = args
        .out
        .clone()
        .or_else(|| pipeline.out_dir.clone())
        .unwrap_or_else(|| Path::new("reports").join(&pipeline.name));
    let lang_code = match lang {
        Lang::Bg => "bg",
        Lang::En => "en",
    };
    if args.if_changed && unchanged_since_last_run(&prepared, &target, lang_code)? {
        return Ok(exit::OK);
    }
    let out = OutputDir::acquire(&target)?;
    let fingerprint = prepared.key.fingerprint();
    let previous_fingerprint = output::read_manifest(out.target())
        .map(|m| m.key_fingerprint)
        .filter(|previous| *previous != fingerprint);
    if let Some(previous) = &previous_fingerprint {
        warn!(
            "THE KEY HAS CHANGED since the previous run in {} (fingerprint {} → {}): pseudonyms no longer link to earlier outputs",
            out.target().display(),
            previous,
            fingerprint
        );
    }

    let rejects_path = out.staging().join("rejects.csv");
    let mut rejects = output::RejectsWriter::create(&rejects_path)?;
    let stage = Instant::now();
    // The full cases wait in a scratch file in the staging folder (removed before publishing);
    // only 32 bytes a case stay in memory.
    let scratch = out.staging().join(".cases.scratch");
    let store = CaseStore::with_scratch_file(&scratch)
        .with_context(|| format!("creating {}", scratch.display()))?;
    let (mut linked, ingested) = read_all(&prepared, &args.common, store, &mut rejects)?;
    rejects.finish()?;
    let read_time = stage.elapsed();
    let over = log_accounting(pipeline, &ingested.files);

    // The measures and cases.parquet need nothing from each other: compute them side by side.
    let stage = Instant::now();
    let as_of = dates::to_day(prepared.as_of);
    // The measures own the link cases and free them (a third of the memory) when done.
    let links = std::mem::take(&mut linked.cases);
    let cases_kept = links.len();
    let ((mut rates, rates_time), written) = rayon::join(
        move || {
            let started = Instant::now();
            let rates = measures::compute(&links, &pipeline.success, as_of);
            drop(links);
            (rates, started.elapsed())
        },
        || -> Result<(QuasiClasses, String, Duration)> {
            let started = Instant::now();
            let mut classes = QuasiClasses::default();
            let mut writer = output::CasesWriter::create(
                &out.staging().join("cases.parquet"),
                &ingested.offices,
                &ingested.files,
            )?;
            linked.for_each_kept(output::CASES_BATCH_ROWS, |batch| -> Result<()> {
                classes.count(batch);
                Ok(writer.write(batch)?)
            })?;
            let sha256 = writer.finish()?;
            Ok((classes, sha256, started.elapsed()))
        },
    );
    let (classes, cases_sha256, cases_time) = written?;
    let write_time = stage.elapsed();
    // Removes the scratch file before anything is published.
    drop(linked);
    disclosure::protect(&mut rates, pipeline.min_count);
    let rates_sha256 = output::write_rates(&out.staging().join("rates.parquet"), &rates)?;
    let small_class_share = classes.small_class_share(pipeline.min_count);

    let html = report::render(&report::ReportInput {
        lang,
        pipeline,
        pipeline_sha256: &pipeline.sha256,
        as_of: prepared.as_of,
        rates: &rates,
        files: &ingested.files,
        key_fingerprint: &fingerprint,
        demo_key: prepared.key.is_demo,
        changed_from_fingerprint: previous_fingerprint.as_deref(),
        small_class_share,
        sources_over_limit: &over,
        version: env!("CARGO_PKG_VERSION"),
    })?;
    let report_path = out.staging().join("report.html");
    std::fs::write(&report_path, html)
        .with_context(|| format!("writing {}", report_path.display()))?;

    let exit_status = if over.is_empty() {
        exit::OK
    } else {
        exit::REJECT_RATE
    };
    let mut outputs = Vec::new();
    for name in [
        "report.html",
        "rates.parquet",
        "cases.parquet",
        "rejects.csv",
    ] {
        let path = out.staging().join(name);
        // The Parquet files were hashed as they were written.
        let sha256 = match name {
            "cases.parquet" => cases_sha256.clone(),
            "rates.parquet" => rates_sha256.clone(),
            _ => output::sha256_file(&path).with_context(|| format!("reading back {name}"))?,
        };
        outputs.push(OutputEntry {
            path: name.to_string(),
            sha256,
        });
    }
    let manifest = Manifest {
        tool: "outcomes".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        pipeline: output::PipelineEntry {
            name: pipeline.name.clone(),
            path: output::absolute_path(&pipeline.file),
            sha256: pipeline.sha256.clone(),
        },
        as_of: prepared.as_of.to_string(),
        lang: lang_code.to_string(),
        key_fingerprint: fingerprint,
        demo_key: prepared.key.is_demo,
        min_count: pipeline.min_count,
        max_reject_rate: pipeline.max_reject_rate,
        success_outcomes: output::SuccessEntry {
            prevention: pipeline
                .success
                .prevention
                .iter()
                .map(|o| o.as_str().to_string())
                .collect(),
            reintegration: pipeline
                .success
                .reintegration
                .iter()
                .map(|o| o.as_str().to_string())
                .collect(),
            widened: pipeline.success.is_widened(),
        },
        small_class_share,
        inputs: ingested
            .files
            .iter()
            .map(|f| InputEntry::new(f, &pipeline.sources[f.source].name))
            .collect(),
        totals: counts_of(&ingested.files),
        outputs,
        started_at: started.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        exit_status: i32::from(exit_status),
        status: if over.is_empty() {
            "ok"
        } else {
            "reject_rate_exceeded"
        }
        .into(),
        sources_over_reject_limit: over,
    };
    output::write_manifest(&out.staging().join("manifest.json"), &manifest)?;
    let target = out.target().to_path_buf();
    out.publish()?;
    info!(
        "{} cases from {} files written to {} in {:.1}s (reading {:.1}s; then side by side {:.1}s: cases.parquet {:.1}s, measures {:.1}s)",
        cases_kept,
        ingested.files.len(),
        target.display(),
        clock.elapsed().as_secs_f64(),
        read_time.as_secs_f64(),
        write_time.as_secs_f64(),
        cases_time.as_secs_f64(),
        rates_time.as_secs_f64()
    );
    Ok(exit_status)
}

//! The command line (SPEC §8): argument parsing, logging and exit codes; `stages` calls the
//! pipeline's stages in order for `run` and `check`, `console` draws what a person at a
//! terminal sees. Errors arrive here as typed errors and leave as a message that says what
//! went wrong, where, and what to do.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tracing::info;

use crate::config::{ConfigError, Lang};
use crate::inspect;
use crate::output::OutputError;
use crate::pseudonym::{Key, KeyError};
use crate::synth;

mod console;
mod stages;

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
    /// for rejected rows. Writes no output (past the memory budget, the cases are sorted in a
    /// temporary folder, removed when it ends).
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
        /// The export to look at: a CSV file (UTF-8, Windows-1251 or UTF-16) or a workbook
        /// (.xlsx, .xls, .ods).
        export: PathBuf,
    },
    /// Write synthetic exports (fake people only) in several office layouts, with a pipeline
    /// file to run them: for trying the program, tests and benchmarks.
    ///
    /// With the three --programme options, the offices of some oblasts run a simulated
    /// programme: from a year on, their closed cases succeed more often (or less), and the
    /// pipeline file defines the programme (SPEC §10), so its report has a known answer.
    Synth(SynthArgs),
}

#[derive(Debug, clap::Args)]
struct SynthArgs {
    /// Folder to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// About how many case rows to write.
    #[arg(long, default_value_t = 5000)]
    rows: u64,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulate a programme in the offices of these oblasts: codes separated by commas, e.g.
    /// VAR,DOB (every case of those oblasts, whichever office layout exports it). Needs
    /// --programme-effect and --programme-from; every other oblast is the comparison.
    #[arg(
        long,
        value_name = "CODES",
        value_delimiter = ',',
        requires = "programme_effect",
        requires = "programme_from"
    )]
    programme_regions: Option<Vec<String>>,
    /// The programme's effect, in whole percentage points from -50 to 50 (8, or -8 for a
    /// programme that does harm): added to the chance that a closed case of its oblasts is a
    /// success (prevention: the child stayed with the family; reintegration: reunified) among
    /// the cases whose outcome is not neutral. The other such outcomes share the rest in their
    /// usual proportions; transfers and "other" keep their chance. The chance stays within 0
    /// and 100 % (a warning says when that made the effect smaller). 0 simulates a programme
    /// that changes nothing: the exports are then those without the programme.
    #[arg(
        long,
        value_name = "POINTS",
        allow_negative_numbers = true,
        requires = "programme_regions",
        requires = "programme_from"
    )]
    programme_effect: Option<i32>,
    /// The year the programme starts, 2016 to 2024: it changes the cases closed from 1 January
    /// of that year on, so that prevention_closed and reintegration_closed of its oblasts move
    /// by the effect from that year, against the same offices without it (in expectation).
    #[arg(
        long,
        value_name = "YEAR",
        requires = "programme_regions",
        requires = "programme_effect"
    )]
    programme_from: Option<i32>,
    /// Write an office's exports in another form than CSV: SOURCE=FORM, where SOURCE is a
    /// source (dsp_sml), a layout (dsp, ngo, sofia, regional) or all, and FORM is xlsx (an Excel
    /// workbook), utf-16 (Excel's "Unicode Text", .txt) or cr (bare CR line ends, Excel for
    /// Mac). The same rows; the pipeline file reads them. May be given more than once.
    #[arg(long, value_name = "SOURCE=FORM")]
    form: Vec<String>,
    /// Write every case into one file, plain/plain.csv (UTF-8, ';'-separated, ISO dates,
    /// canonical labels), as one office exporting the whole country: the input of the
    /// benchmark's minimal peer (scripts/bench). --form plain=... writes it in another form.
    #[arg(long)]
    one_file: bool,
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
    /// Memory for the accepted cases, e.g. 256M or 2G (K, M, G: KiB, MiB, GiB). Past it they
    /// are sorted on disk, in the output's staging folder (`run`) or the system's temporary
    /// folder (`check`), and merged: a little slower, but memory stays the same however large
    /// the exports. Peak memory is about this plus 25 MiB (and 100 to 150 MiB at least). Default: the environment
    /// variable OUTCOMES_MEMORY_BUDGET, else 512M.
    #[arg(long, value_name = "SIZE")]
    memory_budget: Option<String>,
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

/// The memory budget of the accepted cases: `--memory-budget`, else the environment variable
/// `OUTCOMES_MEMORY_BUDGET`, else `link::DEFAULT_MEMORY_BUDGET`.
fn memory_budget(option: Option<&str>) -> Result<u64, UsageError> {
    const VARIABLE: &str = "OUTCOMES_MEMORY_BUDGET";
    let (text, from) = match (option, std::env::var(VARIABLE)) {
        (Some(text), _) => (text.to_string(), "--memory-budget"),
        (None, Ok(text)) if !text.trim().is_empty() => (text, VARIABLE),
        (None, Err(std::env::VarError::NotUnicode(_))) => {
            return Err(UsageError(format!(
                "{VARIABLE} is not a size; write a whole number and a unit, e.g. 512M or 2G"
            )));
        }
        (None, _) => return Ok(crate::link::DEFAULT_MEMORY_BUDGET),
    };
    parse_size(&text).ok_or_else(|| {
        UsageError(format!(
            "{from} {text}: not a size; write a whole number and a unit, e.g. 512M or 2G (K, M and G are KiB, MiB and GiB)"
        ))
    })
}

/// A size as `--memory-budget` takes it: a whole number and a unit, K, M, G or T (powers of
/// 1024, also written KB or KiB), more than 0. `None` otherwise (a bare number included: 512
/// bytes is never what was meant).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return None,
    };
    let bytes = number.checked_mul(1u64 << shift)?;
    (bytes > 0).then_some(bytes)
}

/// A size in MiB (or KiB, below 1 MiB), for messages.
fn format_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
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
    #[cfg(feature = "failpoints")]
    let _faults = crate::fault::setup();
    // A panic is a bug: the user sees one line (below) and where in the code it happened,
    // never the default hook's message and backtrace, which could quote data.
    std::panic::set_hook(Box::new(|info| {
        if let Some(at) = info.location()
            && let Ok(mut place) = PANIC_LOCATION.lock()
        {
            *place = format!("{}:{}", at.file(), at.line());
        }
    }));
    let outcome = std::panic::catch_unwind(|| dispatch(cli));
    let (code, message) = match outcome {
        Ok(Ok(code)) => return ExitCode::from(code),
        Ok(Err(error)) => {
            let hint = disk_full_hint(&error).unwrap_or_default();
            (exit_code_of(&error), format!("{error:#}{hint}"))
        }
        Err(_) => {
            let place = PANIC_LOCATION.lock().map(|p| p.clone()).unwrap_or_default();
            (
                exit::FAILURE,
                format!(
                    "internal error (a bug in outcomes, at {place}); no outputs were changed. Please report it with the command you ran."
                ),
            )
        }
    };
    if format == LogFormat::Json {
        tracing::error!(exit_code = code, "{message}");
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(code)
}

/// Where the last panic happened (file and line of the code), for the one-line report.
static PANIC_LOCATION: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn exit_code_of(error: &anyhow::Error) -> u8 {
    let usage = error.chain().any(|e| {
        e.is::<ConfigError>()
            || e.is::<KeyError>()
            || e.is::<UsageError>()
            || e.downcast_ref::<OutputError>()
                .is_some_and(|e| matches!(e, OutputError::Refused(_)))
    });
    if usage { exit::USAGE } else { exit::FAILURE }
}

/// A hint for an error caused by a full disk, which the system words as "No space left on
/// device".
fn disk_full_hint(error: &anyhow::Error) -> Option<String> {
    let full = error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(libc::ENOSPC)
        })
    });
    full.then(|| {
        "\nhint: the disk is full where the message says; free some space there (or choose another --out) and run again. The previous outputs are untouched.".to_string()
    })
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
        Command::Run(args) => stages::run(args),
        Command::Check(args) => stages::check(args),
        Command::Keygen { file } => {
            Key::generate(&file)?;
            info!("wrote a new key to {}", file.display());
            info!(
                "keep it secret and backed up: whoever holds it can re-identify a known ЕГН, and a new key breaks linkage with earlier runs"
            );
            Ok(exit::OK)
        }
        Command::Inspect { export } => {
            let block = inspect::inspect(&export)?;
            // `print!` panics when standard output is closed (`outcomes inspect x | head`).
            use std::io::Write;
            match std::io::stdout().write_all(block.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow::Error::new(e).context("writing to standard output"))
                }
                _ => Ok(exit::OK),
            }
        }
        Command::Synth(args) => synth_exports(args),
    }
}

fn synth_exports(args: SynthArgs) -> Result<u8> {
    let programme = match (
        args.programme_regions,
        args.programme_effect,
        args.programme_from,
    ) {
        (Some(regions), Some(effect), Some(from)) => Some(
            synth::Programme::new(&regions, effect, from).map_err(|e| UsageError(e.to_string()))?,
        ),
        (None, None, None) => None,
        // clap's `requires` makes this unreachable; a usage error all the same.
        _ => {
            return Err(UsageError(
                "--programme-regions, --programme-effect and --programme-from go together: give all three or none".to_string(),
            )
            .into());
        }
    };
    let forms = synth::Forms::parse(&args.form).map_err(|e| UsageError(e.to_string()))?;
    let out = &args.out;
    let summary = synth::write_exports_as(
        out,
        args.rows,
        args.seed,
        programme.as_ref(),
        &forms,
        args.one_file,
    )
    .with_context(|| format!("writing synthetic exports to {}", out.display()))?;
    let total: u64 = summary.files.iter().map(|(_, n)| n).sum();
    info!(
        "wrote {} files with {total} synthetic rows and {} to {}",
        summary.files.len(),
        summary.pipeline.display(),
        out.display()
    );
    if let Some(programme) = &programme {
        info!("simulated programme: {programme} (in the pipeline file's [[programmes]])");
        if summary.capped > 0 {
            tracing::warn!(
                "the effect would take the success chance of {} of the programme's closed cases past 0 or 100 %: it was kept within, so the programme's measures move by less than {:+} points",
                summary.capped,
                programme.effect()
            );
        }
    }
    info!("try: outcomes run {}", summary.pipeline.display());
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_need_a_unit_and_are_powers_of_1024() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size(" 2g "), Some(2 << 30));
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size("1 GB"), Some(1 << 30));
        for bad in ["512", "", "M", "0M", "1.5G", "-1G", "12X", "99999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}

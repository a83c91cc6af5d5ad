//! `outcomes run` and `outcomes check`: the stages of SPEC §1 called in order, each handing
//! its result to the next. The stages own the work, and each output writer gives back its
//! manifest entry; this only wires them together, times them, collects the entries for the
//! manifest and decides the exit status.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use tracing::{info, warn};

use super::console::{log_accounting, log_programmes, log_unmapped, progress_bar};
use super::{CheckArgs, CommonArgs, RunArgs, UsageError, exit, format_size, memory_budget};
use crate::config::{self, Lang, Pipeline};
use crate::dates;
use crate::disclosure::{self, QuasiClasses};
use crate::fault;
use crate::ingest::{self, DiscardRejects, InputFile};
use crate::link::{self, CaseStore, Counts, Deduped, LinkError, Linked, Places, Spilled};
use crate::measures::programmes::{self, ProgrammeMatches};
use crate::measures::{self, Membership, ProgrammeTable};
use crate::output::{self, Freshness, Manifest, OutputDir, OutputEntry, RunIdentity, RunRecord};
use crate::pseudonym::{Key, KeyError};
use crate::report;

/// What `run` and `check` share: the pipeline, its date, its key and the memory budget.
struct Prepared {
    pipeline: Pipeline,
    as_of: NaiveDate,
    key: Key,
    /// Bytes the accepted cases may take in memory before they are sorted on disk.
    budget: u64,
}

fn prepare(common: &CommonArgs) -> Result<Prepared> {
    let budget = memory_budget(common.memory_budget.as_deref())?;
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
        budget,
    })
}

/// A programme that matches no case cannot be reported: the run stops (exit 1, SPEC §10)
/// before anything is written, so a typo in `offices` never publishes an empty programme.
fn refuse_empty_programmes(pipeline: &Pipeline, matched: &[ProgrammeMatches]) -> Result<()> {
    let empty: Vec<&str> = pipeline
        .programmes
        .iter()
        .zip(matched)
        .filter(|(_, m)| m.cases == 0)
        .map(|(p, _)| p.name.as_str())
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "programme {} matched no case: none of its offices, sources, regions or municipalities occurs in the exports\nhint: `outcomes check {}` lists what each name matched; office names must be spelled as the exports (or the office value map) spell them",
        empty.join(", "),
        pipeline.file.display()
    )
}

/// The sources whose reject rate is over `max_reject_rate`: exit status 3 (SPEC §8).
fn over_reject_limit(pipeline: &Pipeline, per_source: &[Counts]) -> Vec<String> {
    pipeline
        .sources
        .iter()
        .zip(per_source)
        .filter(|(_, c)| c.reject_rate() > pipeline.max_reject_rate)
        .map(|(s, _)| s.name.clone())
        .collect()
}

/// What ingest and linkage hand on: the deduplicated cases (or the sorted runs to merge) and
/// the files and office names.
struct Read {
    deduped: Deduped,
    ingested: ingest::Ingested,
}

/// Read, validate and pseudonymize every input into `store`, then deduplicate (in memory, or,
/// when the store spilled its cases, ready to merge the runs).
fn read_all(
    prepared: &Prepared,
    common: &CommonArgs,
    mut store: CaseStore,
    sink: &mut dyn ingest::RejectSink,
) -> Result<Read> {
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
    let ingested = result?;
    let deduped = link::dedupe(store, &ingested.files).context("linking the cases")?;
    if let Deduped::Spilled(spilled) = &deduped {
        info!(
            "the accepted cases take more than the memory budget ({}): sorted on disk in {} runs, merged by child",
            format_size(prepared.budget),
            spilled.runs()
        );
    }
    Ok(Read { deduped, ingested })
}

pub(super) fn check(args: CheckArgs) -> Result<u8> {
    let prepared = prepare(&args.common)?;
    // Runs spilled past the budget go to a temporary folder: `check` has no staging folder.
    let store = CaseStore::links_only().spill_over(prepared.budget, None);
    let Read { deduped, ingested } = read_all(
        &prepared,
        &args.common,
        store_for(&prepared.pipeline, store),
        &mut DiscardRejects,
    )?;
    let linked = deduped.into_linked().context("linking the cases")?;
    let accounts = linked.accounts();
    let per_source = Counts::per_source(&ingested.files, accounts, prepared.pipeline.sources.len());
    let over = over_reject_limit(&prepared.pipeline, &per_source);
    log_accounting(&prepared.pipeline, &ingested.files, &per_source, &over);
    info!(
        "{} files checked, {} cases after deduplication; nothing was written",
        ingested.files.len(),
        linked.kept_count()
    );
    log_unmapped(&prepared.pipeline, &ingested.unmapped);
    let membership = programme_classes(&prepared.pipeline, linked.places(), &ingested);
    if let Some(matched) =
        programme_matches(&prepared.pipeline, membership.as_ref(), &linked, &ingested)
    {
        log_programmes(&prepared.pipeline, &matched);
    }
    Ok(if over.is_empty() {
        exit::OK
    } else {
        exit::REJECT_RATE
    })
}

/// The store, told to keep each case's place when the pipeline has programmes (SPEC §10).
fn store_for(pipeline: &Pipeline, store: CaseStore) -> CaseStore {
    if pipeline.programmes.is_empty() {
        store
    } else {
        store.track_places()
    }
}

/// The programmes' classes of members (from the places of the accepted cases); `None`
/// without programmes.
fn programme_classes(
    pipeline: &Pipeline,
    places: Option<&Places>,
    ingested: &ingest::Ingested,
) -> Option<Membership> {
    let places = places.filter(|_| !pipeline.programmes.is_empty())?;
    let source_of_file: Vec<usize> = ingested.files.iter().map(|f| f.source).collect();
    Some(Membership::new(
        &pipeline.programmes,
        places.places(),
        &ingested.offices,
        &source_of_file,
    ))
}

/// How many kept cases each programme and each name it lists matched; `None` without
/// programmes.
fn programme_matches(
    pipeline: &Pipeline,
    membership: Option<&Membership>,
    linked: &Linked,
    ingested: &ingest::Ingested,
) -> Option<Vec<ProgrammeMatches>> {
    let membership = membership?;
    let places = linked
        .places()
        .filter(|_| !pipeline.programmes.is_empty())?;
    let source_of_file: Vec<usize> = ingested.files.iter().map(|f| f.source).collect();
    let source_names: Vec<&str> = pipeline.sources.iter().map(|s| s.name.as_str()).collect();
    Some(programmes::matches(
        &pipeline.programmes,
        membership,
        &source_names,
        places.places(),
        linked.kept_per_place(),
        &ingested.offices,
        &source_of_file,
    ))
}

/// Whether the last successful run in `out` made its outputs from what this run would read
/// (`--if-changed`). Called holding the lock, so no other run is rewriting the manifest.
fn up_to_date(prepared: &Prepared, out: &OutputDir, lang: Lang) -> Result<bool> {
    let inputs: Vec<PathBuf> = ingest::list_files(&prepared.pipeline)?
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    let current = RunIdentity {
        pipeline: &prepared.pipeline,
        key_fingerprint: &prepared.key.fingerprint(),
        as_of: prepared.as_of,
        lang,
        inputs: &inputs,
    };
    let previous = output::read_manifest(out.target());
    match output::freshness(previous.as_ref(), &current)? {
        Freshness::Unchanged { finished_at } => {
            info!(
                "--if-changed: nothing changed since the run that finished {finished_at}; {} is up to date",
                out.target().display()
            );
            Ok(true)
        }
        Freshness::Changed(what) => {
            info!("--if-changed: {what}; running");
            Ok(false)
        }
    }
}

/// Warn when the key differs from the previous run's: its pseudonyms no longer link. Gives the
/// previous fingerprint when it differs.
fn warn_if_key_changed(out: &OutputDir, fingerprint: &str) -> Option<String> {
    let previous = output::read_manifest(out.target())
        .map(|m| m.key_fingerprint)
        .filter(|previous| previous != fingerprint)?;
    warn!(
        "THE KEY HAS CHANGED since the previous run in {} (fingerprint {previous} → {fingerprint}): pseudonyms no longer link to earlier outputs",
        out.target().display(),
    );
    Some(previous)
}

/// What the measures and `cases.parquet` hand on.
struct MeasuredAndWritten {
    rates: Vec<measures::RateRow>,
    /// The reconciliation with the published national figures (SPEC §11).
    reconciliation: Vec<measures::ReconciliationRow>,
    /// The programmes' rows and counts, when the pipeline has programmes.
    programmes: Option<ProgrammeTable>,
    classes: QuasiClasses,
    cases_entry: OutputEntry,
    cases_time: Duration,
}

/// The kept cases in link cases per batch the merge hands to the measures: whole children, 16
/// MiB (24 with place tags) a batch, two or three batches alive at a time.
const MERGE_BATCH_CASES: usize = 1 << 19;

/// Merge the spilled runs, deduplicating, and measure the kept cases as they come: the measures
/// see the same cases in the same order as without a spill.
fn merge_and_measure(
    spilled: Spilled,
    pipeline: &Pipeline,
    membership: Option<&Membership>,
    as_of: NaiveDate,
) -> Result<(Linked, measures::Measured)> {
    let programmes = membership.map(|m| (pipeline.programmes.as_slice(), m));
    let mut stream = measures::MeasureStream::new(spilled.span(), &pipeline.success, programmes);
    let linked = spilled
        .merge(MERGE_BATCH_CASES, |cases, tags| {
            stream.add(cases, tags);
            Ok::<_, LinkError>(())
        })
        .context("linking the cases")?;
    let measured = stream.finish(dates::to_day(as_of), &pipeline.published);
    Ok((linked, measured))
}

/// Write `cases.parquet` from the kept cases' full records, counting the quasi-identifier
/// classes on the way.
fn write_cases(
    linked: &Linked,
    ingested: &ingest::Ingested,
    staging: &Path,
) -> Result<(QuasiClasses, OutputEntry, Duration)> {
    let started = Instant::now();
    let mut classes = QuasiClasses::default();
    let mut writer = output::CasesWriter::create(
        &staging.join("cases.parquet"),
        &ingested.offices,
        &ingested.files,
    )?;
    linked.for_each_kept(output::CASES_BATCH_ROWS, |batch| -> Result<()> {
        classes.count(batch);
        Ok(writer.write(batch)?)
    })?;
    let entry = writer.finish()?;
    fault::point("after-cases-parquet").context("writing cases.parquet")?;
    Ok((classes, entry, started.elapsed()))
}

/// The measures and `cases.parquet`. Kept cases in memory: they need nothing from each other,
/// so they are computed side by side, and the measures free the link cases (a third of the
/// memory) when done. After a spill the measures were counted during the merge (`measured`):
/// only `cases.parquet` is left, as it needs the whole kept set.
fn measure_and_write_cases(
    mut linked: Linked,
    measured: Option<(measures::Measured, Duration)>,
    ingested: &ingest::Ingested,
    pipeline: &Pipeline,
    membership: Option<&Membership>,
    as_of: NaiveDate,
    staging: &Path,
) -> Result<(MeasuredAndWritten, Duration)> {
    let ((measured, rates_time), written) = match measured {
        Some(measured) => (measured, write_cases(&linked, ingested, staging)),
        None => {
            let as_of = dates::to_day(as_of);
            let links = std::mem::take(&mut linked.cases);
            let linked = &linked;
            rayon::join(
                move || {
                    let started = Instant::now();
                    let programmes_input = match (membership, linked.places()) {
                        (Some(membership), Some(places)) => Some(measures::ProgrammesInput {
                            programmes: &pipeline.programmes,
                            membership,
                            places,
                        }),
                        _ => None,
                    };
                    let measured = measures::compute_all(
                        &links,
                        &pipeline.success,
                        as_of,
                        &pipeline.published,
                        programmes_input,
                    );
                    drop(links);
                    (measured, started.elapsed())
                },
                || write_cases(linked, ingested, staging),
            )
        }
    };
    let (classes, cases_entry, cases_time) = written?;
    let out = MeasuredAndWritten {
        rates: measured.rates,
        reconciliation: measured.reconciliation,
        programmes: measured.programmes,
        classes,
        cases_entry,
        cases_time,
    };
    Ok((out, rates_time))
}

/// `outcomes run`: the stages in order, each writing into the staging folder, which is
/// published in one step at the end.
pub(super) fn run(args: RunArgs) -> Result<u8> {
    let started_at = Utc::now();
    let clock = Instant::now();
    let prepared = prepare(&args.common)?;
    let pipeline = &prepared.pipeline;
    let lang = args.lang.unwrap_or(pipeline.lang);
    let target = args
        .out
        .clone()
        .or_else(|| pipeline.out_dir.clone())
        .unwrap_or_else(|| Path::new("reports").join(&pipeline.name));
    let out = OutputDir::acquire(&target)?;
    if args.if_changed && up_to_date(&prepared, &out, lang)? {
        return Ok(exit::OK);
    }
    let fingerprint = prepared.key.fingerprint();
    let previous_fingerprint = warn_if_key_changed(&out, &fingerprint);

    // Ingest and link. The full cases wait in a scratch file in the staging folder (removed
    // before publishing); only 32 bytes a case stay in memory, up to the budget, past which
    // they are sorted into run files beside it (removed once merged).
    let stage = Instant::now();
    let mut rejects = output::RejectsWriter::create(&out.staging().join("rejects.csv"))?;
    let scratch = out.staging().join(".cases.scratch");
    let store = CaseStore::with_scratch_file(&scratch)
        .with_context(|| format!("creating {}", scratch.display()))?;
    let store = store_for(pipeline, store).spill_over(prepared.budget, Some(out.staging()));
    let Read { deduped, ingested } = read_all(&prepared, &args.common, store, &mut rejects)?;
    let rejects_entry = rejects.finish()?;
    fault::point("after-rejects").context("writing rejects.csv")?;
    let read_time = stage.elapsed();
    let membership = programme_classes(pipeline, deduped.places(), &ingested);

    // After a spill, the runs are merged and measured now: only then are the duplicates, and
    // so the accounting, known.
    let stage = Instant::now();
    let (linked, measured) = match deduped {
        Deduped::InMemory(linked) => (linked, None),
        Deduped::Spilled(spilled) => {
            let (linked, measured) =
                merge_and_measure(spilled, pipeline, membership.as_ref(), prepared.as_of)?;
            (linked, Some((measured, stage.elapsed())))
        }
    };
    let merge_time = stage.elapsed();
    let accounts = linked.accounts().to_vec();
    let cases_kept = linked.kept_count();
    let per_source = Counts::per_source(&ingested.files, &accounts, pipeline.sources.len());
    let over = over_reject_limit(pipeline, &per_source);
    log_accounting(pipeline, &ingested.files, &per_source, &over);
    if let Some(matched) = programme_matches(pipeline, membership.as_ref(), &linked, &ingested) {
        log_programmes(pipeline, &matched);
        refuse_empty_programmes(pipeline, &matched)?;
    }

    // Measures beside cases.parquet (or, after a merge, cases.parquet alone).
    let merged = measured.is_some();
    let stage = Instant::now();
    let (
        MeasuredAndWritten {
            mut rates,
            mut reconciliation,
            programmes,
            classes,
            cases_entry,
            cases_time,
        },
        rates_time,
    ) = measure_and_write_cases(
        linked,
        measured,
        &ingested,
        pipeline,
        membership.as_ref(),
        prepared.as_of,
        out.staging(),
    )?;
    let write_time = stage.elapsed();

    // Disclosure control, then the publishable outputs.
    disclosure::protect(&mut rates, pipeline.min_count);
    let small_class_share = classes.small_class_share(pipeline.min_count);
    let rates_entry = output::write_rates(&out.staging().join("rates.parquet"), &rates)?;
    fault::point("after-rates-parquet").context("writing rates.parquet")?;
    disclosure::protect_reconciliation(&mut reconciliation, &rates, pipeline.min_count);
    let reconciliation_entry =
        output::write_reconciliation(&out.staging().join("reconciliation.csv"), &reconciliation)?;
    let mut programme_entries = Vec::new();
    let programme_rows = match programmes {
        Some(mut table) => {
            disclosure::protect_programmes(
                &mut table.rows,
                &table.counts,
                &rates,
                pipeline.min_count,
            );
            let path = out.staging().join("programmes.parquet");
            programme_entries.push(output::write_programmes(&path, pipeline, &table.rows)?);
            table.rows
        }
        None => Vec::new(),
    };
    let xlsx_entry = output::write_rates_xlsx(
        &out.staging().join("rates.xlsx"),
        &output::XlsxInput {
            lang,
            pipeline,
            as_of: prepared.as_of,
            rates: &rates,
            programmes: &programme_rows,
            reconciliation: &reconciliation,
            version: env!("CARGO_PKG_VERSION"),
        },
    )?;
    fault::point("after-rates-xlsx").context("writing rates.xlsx")?;
    let report_input = report::ReportInput {
        lang,
        pipeline,
        pipeline_sha256: &pipeline.sha256,
        as_of: prepared.as_of,
        rates: &rates,
        programmes: &programme_rows,
        reconciliation: &reconciliation,
        files: &ingested.files,
        per_source: &per_source,
        unmapped: &ingested.unmapped,
        key_fingerprint: &fingerprint,
        demo_key: prepared.key.is_demo,
        changed_from_fingerprint: previous_fingerprint.as_deref(),
        small_class_share,
        sources_over_limit: &over,
        version: env!("CARGO_PKG_VERSION"),
    };
    let html = report::render(&report_input)?;
    let report_path = out.staging().join("report.html");
    let mut report_entries = vec![output::write_report(&report_path, &html)?];
    // Each programme's funder reports, in both languages whatever `--lang` says (SPEC §10).
    for (index, programme) in pipeline.programmes.iter().enumerate() {
        for lang in [Lang::Bg, Lang::En] {
            let html = report::render_programme(&report_input, index, lang)?;
            let path = out
                .staging()
                .join(report::programme_file_name(programme, lang));
            report_entries.push(output::write_report(&path, &html)?);
        }
    }
    fault::point("after-report").with_context(|| format!("writing {}", report_path.display()))?;

    // The manifest last: it lists and hashes every other output.
    let exit_status = if over.is_empty() {
        exit::OK
    } else {
        exit::REJECT_RATE
    };
    let mut outputs = report_entries;
    outputs.extend([rates_entry, xlsx_entry, reconciliation_entry]);
    outputs.extend(programme_entries);
    outputs.extend([cases_entry, rejects_entry]);
    let manifest = Manifest::of_run(RunRecord {
        pipeline,
        as_of: prepared.as_of,
        lang,
        key_fingerprint: fingerprint,
        demo_key: prepared.key.is_demo,
        small_class_share,
        files: &ingested.files,
        accounts: &accounts,
        outputs,
        started_at,
        exit_status,
        sources_over_limit: over,
    });
    output::write_manifest(&out.staging().join("manifest.json"), &manifest)?;
    fault::point("after-manifest").context("writing manifest.json")?;
    let target = out.target().to_path_buf();
    out.publish()?;
    let timing = if merged {
        format!(
            "reading {:.1}s; merging the sorted runs and measuring {:.1}s; cases.parquet {:.1}s",
            read_time.as_secs_f64(),
            merge_time.as_secs_f64(),
            cases_time.as_secs_f64()
        )
    } else {
        format!(
            "reading {:.1}s; then side by side {:.1}s: cases.parquet {:.1}s, measures {:.1}s",
            read_time.as_secs_f64(),
            write_time.as_secs_f64(),
            cases_time.as_secs_f64(),
            rates_time.as_secs_f64()
        )
    };
    info!(
        "{} cases from {} files written to {} in {:.1}s ({timing})",
        cases_kept,
        ingested.files.len(),
        target.display(),
        clock.elapsed().as_secs_f64(),
    );
    log_unmapped(pipeline, &ingested.unmapped);
    Ok(exit_status)
}

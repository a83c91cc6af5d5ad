//! Tests of synth as a whole: determinism, the files and pipeline it writes, and the bad rows
//! and duplicates it promises.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use super::layouts::{LARGE_ROWS, Layout, Offices};
use super::pipeline::{DEMO_KEY, pipeline_toml};
use super::simulate::{Bad, FIRST_YEAR, LAST_YEAR};
use super::{Forms, generate, write_exports};
use crate::pseudonym::{DEMO_KEY_MARKER, is_valid_egn, is_valid_lnch};

fn digits_of(s: &str) -> Option<[u8; 10]> {
    let b = s.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut d = [0u8; 10];
    for (slot, c) in d.iter_mut().zip(b) {
        *slot = c - b'0';
    }
    Some(d)
}

/// The birth date and sex an ЕГН encodes, when its date part is a date.
pub(super) fn egn_birth(s: &str) -> Option<(NaiveDate, bool)> {
    let d = digits_of(s)?;
    let yy = i32::from(d[0] * 10 + d[1]);
    let mm = u32::from(d[2] * 10 + d[3]);
    let dd = u32::from(d[4] * 10 + d[5]);
    let (year, month) = match mm {
        41..=52 => (2000 + yy, mm - 40),
        21..=32 => (1800 + yy, mm - 20),
        _ => (1900 + yy, mm),
    };
    let date = NaiveDate::from_ymd_opt(year, month, dd)?;
    Some((date, d[8] % 2 == 1))
}

pub(super) fn read_all(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    write_exports(a.path(), 5_000, 7, None).unwrap();
    write_exports(b.path(), 5_000, 7, None).unwrap();
    write_exports(c.path(), 5_000, 8, None).unwrap();
    let (fa, fb, fc) = (read_all(a.path()), read_all(b.path()), read_all(c.path()));
    assert!(fa.len() > 20);
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
}

#[test]
fn rerun_removes_stale_exports_only() {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("ngo/ngo_2011.csv");
    let keep = dir.path().join("ngo/readme.txt");
    fs::create_dir_all(stale.parent().unwrap()).unwrap();
    fs::write(&stale, "x").unwrap();
    fs::write(&keep, "x").unwrap();
    write_exports(dir.path(), 500, 1, None).unwrap();
    assert!(!stale.exists());
    assert!(keep.exists());
}

/// Decode one export file as its layout says.
pub(super) fn decode(layout: Layout, bytes: &[u8]) -> String {
    match layout {
        Layout::Dsp | Layout::Regional => {
            let (text, malformed) = encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes);
            assert!(!malformed);
            assert!(
                std::str::from_utf8(bytes).is_err(),
                "1251 file reads as UTF-8"
            );
            text.into_owned()
        }
        Layout::Ngo => {
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
            String::from_utf8(bytes[3..].to_vec()).unwrap()
        }
        Layout::Sofia | Layout::Plain => {
            assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    }
}

pub(super) fn layout_of_path(p: &Path) -> Layout {
    let name = p.file_name().unwrap().to_str().unwrap();
    if name.starts_with("dsp_") {
        Layout::Dsp
    } else if name.starts_with("ngo_") {
        Layout::Ngo
    } else if name.starts_with("sofia_") {
        Layout::Sofia
    } else if name == "plain.csv" {
        Layout::Plain
    } else {
        assert!(name.starts_with("regional_"), "{name}");
        Layout::Regional
    }
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim_end_matches(" г.");
    ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

#[test]
fn small_run_writes_four_layouts_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 30_000;
    let (summary, stats) = generate(dir.path(), rows, 42, None, &Forms::csv(), false).unwrap();
    assert_eq!(summary.pipeline, dir.path().join("pipeline.toml"));
    assert_eq!(
        fs::read_to_string(dir.path().join("demo.key")).unwrap(),
        DEMO_KEY
    );
    assert!(DEMO_KEY.contains(DEMO_KEY_MARKER));

    let mut total = 0u64;
    let mut seen_layouts = std::collections::BTreeSet::new();
    let mut dsp_dirs = std::collections::BTreeSet::new();
    let (mut invalid_ids, mut empty_ids, mut short_rows) = (0u64, 0u64, 0u64);
    let (mut egn_checked, mut ngo_numbers, mut bad_dates) = (0u64, 0u64, 0u64);
    let mut years = std::collections::BTreeSet::new();
    for (path, n) in &summary.files {
        assert!(path.starts_with(dir.path()));
        let layout = layout_of_path(path);
        seen_layouts.insert(format!("{layout:?}"));
        if layout == Layout::Dsp {
            dsp_dirs.insert(path.parent().unwrap().to_path_buf());
        }
        let text = decode(layout, &fs::read(path).unwrap());
        let header = layout
            .header()
            .collect::<Vec<_>>()
            .join(&layout.delimiter().to_string());
        let line_end = if layout.crlf() { "\r\n" } else { "\n" };
        assert!(
            text.starts_with(&format!("{header}{line_end}")),
            "{}",
            path.display()
        );
        if !layout.crlf() {
            assert!(!text.contains('\r'));
        }
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(layout.delimiter() as u8)
            .flexible(true)
            .from_reader(text.as_bytes());
        let ncols = layout.columns().len();
        let (id_col, birth_col, sex_col, opened_col) = match layout {
            Layout::Dsp => (1, 3, 4, 8),
            Layout::Ngo => (0, 2, 3, 10),
            Layout::Sofia => (0, 3, 4, 11),
            Layout::Regional => (1, 3, 4, 7),
            Layout::Plain => (0, 2, 3, 8),
        };
        let mut count = 0u64;
        for rec in rdr.records() {
            let rec = rec.unwrap();
            count += 1;
            if rec.len() != ncols {
                assert_eq!(rec.len(), ncols - 1);
                short_rows += 1;
            }
            match parse_date(&rec[opened_col]) {
                Some(d) if d.year() <= LAST_YEAR => {
                    years.insert(d.year());
                }
                _ => bad_dates += 1,
            }
            let id: String = rec[id_col]
                .chars()
                .filter(|c| *c != ' ' && *c != '-')
                .collect();
            if id.is_empty() {
                empty_ids += 1;
                continue;
            }
            if layout == Layout::Ngo && !id.starts_with(|c: char| c.is_ascii_digit()) {
                assert!(["ВН", "BH", "ВH"].iter().any(|p| id.starts_with(p)), "{id}");
                ngo_numbers += 1;
                continue;
            }
            if !is_valid_egn(&id) && !is_valid_lnch(&id) {
                assert_ne!(layout, Layout::Ngo, "invalid id in the NGO layout");
                invalid_ids += 1;
                continue;
            }
            if let Some((birth, female)) = egn_birth(&id) {
                egn_checked += 1;
                assert_eq!(parse_date(&rec[birth_col]), Some(birth), "{id}");
                let sex = &rec[sex_col];
                if sex != "U" {
                    let f = matches!(sex, "Ж" | "ж" | "F");
                    assert_eq!(f, female, "{id} {sex}");
                }
            }
        }
        assert_eq!(count, *n, "{}", path.display());
        total += n;
    }
    let expected: Vec<String> = ["Dsp", "Ngo", "Sofia", "Regional"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        seen_layouts.into_iter().collect::<Vec<_>>().len(),
        expected.len()
    );
    assert_eq!(dsp_dirs.len(), 3);
    assert_eq!(years, (FIRST_YEAR..=LAST_YEAR).collect());
    assert_eq!(total, stats.cases + stats.exact_dups + stats.cross_dups);
    assert!(
        total.abs_diff(rows) * 10 <= rows,
        "{total} rows written for {rows} asked"
    );
    // Every invalid or empty identifier is one of the bad rows made on purpose.
    assert_eq!(invalid_ids, stats.bad[Bad::InvalidId as usize]);
    assert_eq!(empty_ids, stats.bad[Bad::EmptyId as usize]);
    assert_eq!(short_rows, stats.bad[Bad::TooFewColumns as usize]);
    assert!(bad_dates >= stats.bad[Bad::OpenedAfterAsOf as usize]);
    assert!(egn_checked as f64 > total as f64 * 0.9);
    assert!(ngo_numbers > 0);
    let bad: u64 = stats.bad.iter().sum();
    assert!(
        bad > 0 && (bad as f64) < total as f64 * 0.025,
        "{bad} bad rows"
    );
    assert!(stats.exact_dups > 0 && stats.cross_dups > 0);

    let toml = fs::read_to_string(&summary.pipeline).unwrap();
    assert_eq!(toml.matches("[[sources]]").count(), 3 + 3);
    assert!(toml.contains("path = \"dsp_dob/*.csv\""));
    assert!(toml.contains("delimiter = \"\\t\""));
    assert!(toml.contains("region = \"DOB\""));
}

#[test]
fn large_runs_use_twelve_dsp_oblasts() {
    let offices = Offices::new(LARGE_ROWS);
    let dsp = offices
        .sources
        .iter()
        .filter(|s| s.layout == Layout::Dsp)
        .count();
    assert_eq!(dsp, 12);
    let sofia = (0..28)
        .filter(|o| offices.layout_of(*o) == Layout::Sofia)
        .count();
    assert_eq!(sofia, 4);
    let toml = pipeline_toml(&offices, LARGE_ROWS, 1, None, &super::Forms::csv());
    assert_eq!(toml.matches("[[sources]]").count(), 12 + 3);
}

/// Throughput in a debug build: `cargo test --lib synth -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_200k_rows() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let summary = write_exports(dir.path(), 200_000, 1, None).unwrap();
    let elapsed = start.elapsed();
    let rows: u64 = summary.files.iter().map(|(_, n)| n).sum();
    let bytes: u64 = summary
        .files
        .iter()
        .map(|(p, _)| fs::metadata(p).unwrap().len())
        .sum();
    println!(
        "{rows} rows, {:.1} MB in {:.2} s: {:.0} rows/s",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
}

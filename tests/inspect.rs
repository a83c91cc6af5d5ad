//! `outcomes inspect`: the block it prints for an export works after at most small edits.

mod common;

use std::fs;

use common::*;

/// `outcomes inspect` of the first export (by name) in a sample_data folder.
fn inspect_first_export(folder: &str) -> (std::path::PathBuf, std::process::Output) {
    let first = fs::read_dir(repo().join("sample_data").join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let output = outcomes(&repo())
        .arg("inspect")
        .arg(&first)
        .output()
        .unwrap();
    (first, output)
}

/// Inspect one file of a sample layout, fill only the TODOs a user must fill, and check the
/// whole layout folder with it. Returns (rows read, rows accepted).
fn inspect_then_check(folder: &str, region_if_missing: &str) -> (u64, u64) {
    let (first, output) = inspect_first_export(folder);
    let extension = first.extension().unwrap().to_string_lossy().into_owned();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let block = String::from_utf8(output.stdout).unwrap();
    assert!(block.contains("[[sources]]"));

    // The edits a user makes: the path pattern, and the region where the export has none.
    let mut edited = String::new();
    for line in block.lines() {
        if line.starts_with("path = ") {
            edited.push_str(&format!(
                "path = \"{}/sample_data/{folder}/*.{extension}\"\n",
                repo().display()
            ));
        } else if line.starts_with("\"София\" = \"TODO\"") {
            // Ambiguous, and inspect says so: in this layout it means Sofia Province.
            edited.push_str("\"София\" = \"SFO\"\n");
        } else if line.contains(" = \"TODO\"  # one of:") {
            // An unknown label (synth's deliberately bad `Unclear`): the user leaves it out,
            // and its rows are rejected.
            continue;
        } else if line.starts_with("region = \"TODO\"") {
            edited.push_str(&format!("region = \"{region_if_missing}\"\n"));
        } else {
            edited.push_str(line);
            edited.push('\n');
        }
    }
    // Labels that did not occur in the inspected file would still be TODO-free: a value map
    // only lists what it saw, and the rest shows up as rejects in `check`.
    assert!(
        !edited.contains("TODO\""),
        "only the region and path need editing:\n{edited}"
    );

    let dir = tempfile::tempdir().unwrap();
    let pipeline = format!(
        "name = \"onboarding\"\nkey_file = \"{}/keys/demo.key\"\nas_of = \"2025-06-30\"\nmax_reject_rate = 0.2\n\n{edited}",
        repo().display()
    );
    fs::write(dir.path().join("p.toml"), &pipeline).unwrap();
    let out = dir.path().join("out");
    let run = outcomes(dir.path())
        .args(["run", "p.toml", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        matches!(run.status.code(), Some(0) | Some(3)),
        "{}\n{pipeline}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (read, accepted, _, _) = assert_accounting_balances(&manifest(&out));
    (read, accepted)
}

#[test]
fn inspect_onboards_every_sample_layout() {
    // dsp_sml's exports are workbooks, sofia's UTF-16 text ("Unicode Text").
    for (folder, region) in [
        ("dsp_dob", "DOB"),
        ("dsp_sml", "SML"),
        ("ngo", ""),
        ("sofia", ""),
        ("regional", ""),
    ] {
        let (read, accepted) = inspect_then_check(folder, region);
        assert!(read > 50, "{folder}: {read} rows");
        assert!(
            accepted as f64 >= 0.9 * read as f64,
            "{folder}: only {accepted} of {read} rows accepted with the inspected mapping"
        );
    }
}

#[test]
fn inspect_never_prints_values_of_identifier_or_name_columns() {
    let (first, output) = inspect_first_export("ngo");
    let block = String::from_utf8(output.stdout).unwrap();
    let text = fs::read_to_string(&first).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    for record in reader.records() {
        let record = record.unwrap();
        for (h, v) in headers.iter().zip(record.iter()) {
            if [
                "Child ID",
                "Child name",
                "Date of birth",
                "Family ID",
                "Case number",
                "Address",
                "Phone",
                "Notes",
            ]
            .contains(&h)
                && v.chars().count() >= 5
            {
                assert!(!block.contains(v), "inspect printed a value of {h}");
            }
        }
    }
}

/// `outcomes inspect` of `text` written to `name` in a fresh folder.
fn inspect_written(name: &str, text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    outcomes(dir.path())
        .arg("inspect")
        .arg(&path)
        .output()
        .unwrap()
}

/// The block `outcomes inspect` prints for `text` written to `name`.
fn inspect_text(name: &str, text: &str) -> String {
    let output = inspect_written(name, text);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Ingest skips a whitespace-only line before the header, and inspect reads exports the same
/// way: the blank line changes nothing in the block, and the header is still the header.
#[test]
fn inspect_skips_a_blank_line_before_the_header_as_ingest_does() {
    let export = "Child ID,Case type,Opened,Closed,Outcome,Region\r\n\
                  ВН-0042,Превенция,01.02.2023,,,Варна\r\n\
                  ВН-0043,Реинтеграция,03.04.2023,05.06.2024,Върнато в семейството,Варна\r\n\
                  \r\n\
                  ВН-0044,Превенция,07.08.2023,09.10.2024,Остава в семейството,Добрич\r\n";
    let plain = inspect_text("office.csv", export);
    for blank in [" \r\n", "\r\n", "  \n"] {
        let block = inspect_text("office.csv", &format!("{blank}{export}"));
        assert_eq!(block, plain, "first line {blank:?}");
    }
    assert!(plain.contains("6 columns, 3 rows sampled"), "{plain}");
    assert!(plain.contains("child_id = \"Child ID\""), "{plain}");
    assert!(plain.contains("\"Превенция\" = \"prevention\""), "{plain}");
    assert!(
        !plain.contains("ВН-00"),
        "inspect printed an identifier:\n{plain}"
    );
}

/// A quote opened in the header and never closed swallows every row into the last header
/// name: inspect says so instead of printing that "name", identifiers and all.
#[test]
fn inspect_refuses_a_header_whose_quote_never_closes() {
    let output = inspect_written(
        "office.csv",
        "ID,Case type,\"Notes,Opened\n9001011234,prevention,n,01.02.2023\n",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("never closed"), "{stderr}");
    assert!(!stdout.contains("9001011234") && !stderr.contains("9001011234"));
}

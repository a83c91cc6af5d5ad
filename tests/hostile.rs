//! Broken and hostile exports: every one ends in a clear error or clean rejects with the right
//! exit code, balanced accounting, and never a panic.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// One office's exports, every row rejected or not without the run failing.
fn pipeline() -> TestPipeline {
    TestPipeline::new("hostile")
        .set("max_reject_rate", 1.0)
        .source(
            TestSource::new("office", "data/*.csv")
                .set("region", "VAR")
                .set("encoding", "utf-8")
                .set("delimiter", ",")
                .columns(&case_columns("id", "type", "opened", "closed", "outcome")),
        )
}

const HEADER: &[u8] = b"id,name,type,opened,closed,outcome\n";
const GOOD: &[u8] = b"X1,Test Testov,prevention,01.02.2023,01.06.2023,stayed_with_family\n";

/// Run the pipeline on one export with these exact bytes; return (exit code, stderr).
fn run_on(bytes: &[u8]) -> (i32, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("data")).unwrap();
    fs::write(dir.path().join("data/export.csv"), bytes).unwrap();
    pipeline().write(dir.path());
    outcomes(dir.path())
        .args(["keygen", "test.key"])
        .assert()
        .success();
    let output = outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    assert!(
        !stderr.contains("internal error"),
        "an internal error: {stderr}"
    );
    (output.status.code().unwrap_or(-1), stderr, dir)
}

/// The run succeeded: return the accounting totals (read, accepted, rejected, duplicate).
fn balanced(dir: &Path) -> (u64, u64, u64, u64) {
    assert_accounting_balances(&manifest(&dir.join("out")))
}

fn with_header(rows: &[&[u8]]) -> Vec<u8> {
    let mut bytes = HEADER.to_vec();
    for row in rows {
        bytes.extend_from_slice(row);
    }
    bytes
}

#[test]
fn a_file_that_is_not_csv_says_what_it_looks_like() {
    for (bytes, words) in [
        (&b"%PDF-1.7\n1 0 obj\n"[..], "this is a PDF document"),
        (
            b"PK\x03\x04\x14\x00\x06\x00xl/workbook.xml",
            "this looks like an Excel workbook (.xlsx), but it cannot be read as one",
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00cases.csv",
            "this is a ZIP archive",
        ),
        (
            b"<html><body><table><tr><td>1</td></tr></table>",
            "this is an HTML page",
        ),
    ] {
        let (code, stderr, dir) = run_on(bytes);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(words), "{words}: {stderr}");
        assert!(stderr.contains("export.csv"), "names the file: {stderr}");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn an_empty_file_is_a_clear_error() {
    let (code, err, dir) = run_on(b"");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("export.csv") && err.contains("empty"), "{err}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_header_alone_is_zero_rows() {
    let (code, err, dir) = run_on(HEADER);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("a header but no rows"),
        "an empty export is pointed out: {err}"
    );
    assert_eq!(balanced(dir.path()), (0, 0, 0, 0));
}

#[test]
fn binary_garbage_is_a_clear_error() {
    // Deterministic pseudo-random bytes, NULs and invalid UTF-8 included.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let garbage: Vec<u8> = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let (code, err, _dir) = run_on(&garbage);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("export.csv"), "{err}");
}

#[test]
fn nul_bytes_and_invalid_utf8_in_rows_are_rejected_not_fatal() {
    let (code, err, dir) = run_on(&with_header(&[
        GOOD,
        b"X2,Test,preven\0tion,01.02.2023,,\n",
        b"X3,Test,prevention,01.02.2023,,\n",
        b"X4,Test,\xff\xfeprevention,01.02.2023,,\n",
        b"\0\0\0\0\n",
    ]));
    assert_eq!(code, 0, "{err}");
    let (read, accepted, rejected, _) = balanced(dir.path());
    assert_eq!((read, accepted, rejected), (5, 2, 3));
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(rejects.contains("undecodable"), "{rejects}");
    assert!(
        !rejects.contains('\0'),
        "NUL bytes are not copied into rejects.csv"
    );
}

#[test]
fn an_unterminated_quote_swallows_the_rest_into_one_rejected_row() {
    let (code, err, dir) = run_on(&with_header(&[
        GOOD,
        b"X2,\"Test Testov,prevention,01.02.2023,,\n",
        GOOD,
        GOOD,
    ]));
    assert_eq!(code, 0, "{err}");
    let (read, accepted, rejected, duplicate) = balanced(dir.path());
    assert_eq!((read, accepted, rejected, duplicate), (2, 1, 1, 0));
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(rejects.contains(",3,,unterminated_quote,"), "{rejects}");
    assert!(
        rejects.contains("lines 3 to 5 were read as one row"),
        "{rejects}"
    );
}

/// A field of 3 MB is read like any other; a row past the 4 MB record bound (SPEC §9) is one
/// rejected row, `record_too_long`; neither is copied into rejects.csv.
#[test]
fn a_field_of_megabytes_is_read_and_a_row_past_the_bound_is_rejected() {
    let field = |mb: usize| vec![b'A'; mb << 20];
    let mut type_row = b"X2,Test,".to_vec();
    type_row.extend_from_slice(&field(3));
    type_row.extend_from_slice(b",01.02.2023,,\n");
    let mut id_row = b"X3".to_vec();
    id_row.extend_from_slice(&field(3));
    id_row.extend_from_slice(b",Test,prevention,01.02.2023,,\n");
    let mut name_row = b"X4,".to_vec();
    name_row.extend_from_slice(&field(10));
    name_row.extend_from_slice(b",prevention,01.02.2023,,\n");
    let (code, err, dir) = run_on(&with_header(&[GOOD, &type_row, &id_row, &name_row, GOOD]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(balanced(dir.path()), (5, 2, 2, 1));
    assert!(err.contains("over 100 characters"), "{err}");
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(
        rejects.len() < 10_000,
        "short messages only: {} bytes",
        rejects.len()
    );
    assert!(
        rejects.contains("office/export.csv,3,case_type,unknown_label"),
        "{rejects}"
    );
    assert!(
        rejects.contains(
            "office/export.csv,5,,record_too_long,\"the row on line 5 is longer than 4 MB"
        ),
        "{rejects}"
    );
}

#[test]
fn a_row_of_100000_columns_is_a_wrong_column_count() {
    let mut row = b"X2,Test,prevention,01.02.2023,,".to_vec();
    row.extend(std::iter::repeat_n(b',', 100_000));
    row.push(b'\n');
    let (code, err, dir) = run_on(&with_header(&[GOOD, &row]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(balanced(dir.path()), (2, 1, 1, 0));
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert!(rejects.contains("wrong_column_count"));
}

#[test]
fn a_mapped_column_that_appears_twice_is_a_clear_error() {
    let (code, err, _dir) = run_on(
        b"id,name,type,opened,closed,outcome,type\nX1,T,prevention,01.02.2023,,,prevention\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("\"type\"") && err.contains("2 times"), "{err}");
}

#[test]
fn crlf_bom_and_blank_lines_are_tolerated() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        &with_header(&[GOOD, b"\n", b"   \n", GOOD])
            .iter()
            .flat_map(|b| {
                if *b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![*b]
                }
            })
            .collect::<Vec<u8>>(),
    );
    let (code, err, dir) = run_on(&bytes);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        balanced(dir.path()),
        (2, 1, 0, 1),
        "two rows, one a duplicate of the other"
    );
}

//! The forms an office's export may take (SPEC §2, issue 15): CSV, an Excel workbook, UTF-16
//! text ("Unicode Text") and bare CR line ends ("CSV (Macintosh)"). The same cases give the same
//! accounting, the same rates.parquet and the same cases.parquet (but for where each row came
//! from) in every form; `inspect` reads each; files that are none of them say what they are.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use arrow_array::Array;
use common::*;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// Synthetic exports of `seed`, every office's files in `form` (`csv` for synth's own).
fn synth_in(dir: &Path, form: &str, rows: u64, seed: u64) -> std::path::PathBuf {
    let out = dir.join(form);
    let mut cmd = outcomes(dir);
    cmd.args(["synth", "--out"]).arg(&out).args([
        "--rows",
        &rows.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    if form != "csv" {
        cmd.args(["--form", &format!("all={form}")]);
    }
    cmd.assert().success();
    out.join("pipeline.toml")
}

/// Run `pipeline` into `out`; the exit code is 0 or 3 (too many rejects in some source).
fn run(dir: &Path, pipeline: &Path, out: &Path) {
    let output = outcomes(dir)
        .arg("run")
        .arg(pipeline)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0) | Some(3)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Per input file (by source and file name without its extension): read, accepted, rejected,
/// duplicate.
fn accounts(out: &Path) -> BTreeMap<String, [u64; 4]> {
    let m = manifest(out);
    m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let name = i["name"].as_str().unwrap();
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s).to_string();
            let n = |k: &str| i[k].as_u64().unwrap();
            (
                stem,
                [
                    n("rows_read"),
                    n("rows_accepted"),
                    n("rows_rejected"),
                    n("rows_duplicate"),
                ],
            )
        })
        .collect()
}

/// Every column of cases.parquet but `source` and `source_line`, as Arrow data.
fn cases_content(out: &Path) -> Vec<(String, Vec<arrow_array::ArrayRef>)> {
    let table = read_parquet(&out.join("cases.parquet"));
    table
        .column_names
        .iter()
        .filter(|n| *n != "source" && *n != "source_line")
        .map(|n| {
            (
                n.clone(),
                table
                    .batches
                    .iter()
                    .map(|b| b.column_by_name(n).unwrap().clone())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_same_cases_give_the_same_results_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let seed = 515;
    let csv_out = dir.path().join("out-csv");
    run(
        dir.path(),
        &synth_in(dir.path(), "csv", 2500, seed),
        &csv_out,
    );
    let accounted = accounts(&csv_out);
    assert!(accounted.values().map(|a| a[0]).sum::<u64>() > 2000);
    let rates = fs::read(csv_out.join("rates.parquet")).unwrap();
    let cases = cases_content(&csv_out);
    for form in ["xlsx", "utf-16", "cr"] {
        let out = dir.path().join(format!("out-{form}"));
        run(dir.path(), &synth_in(dir.path(), form, 2500, seed), &out);
        assert_eq!(accounts(&out), accounted, "{form}: the accounting per file");
        assert!(
            fs::read(out.join("rates.parquet")).unwrap() == rates,
            "{form}: rates.parquet differs"
        );
        let content = cases_content(&out);
        assert_eq!(content.len(), cases.len());
        for ((name, a), (_, b)) in content.iter().zip(&cases) {
            let a: Vec<_> = a.iter().map(|c| c.to_data()).collect();
            let b: Vec<_> = b.iter().map(|c| c.to_data()).collect();
            assert!(a == b, "{form}: column {name} of cases.parquet differs");
        }
    }
}

/// `outcomes inspect` of the first export of `source` in `data`.
fn inspect_first(dir: &Path, data: &Path, source: &str) -> String {
    let mut files: Vec<_> = fs::read_dir(data.join(source))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let output = outcomes(dir)
        .arg("inspect")
        .arg(&files[0])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn inspect_reads_workbooks_utf16_and_cr_files() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = synth_in(dir.path(), "xlsx", 600, 3);
    let block = inspect_first(dir.path(), xlsx.parent().unwrap(), "dsp_dob");
    assert!(
        block.contains("an Excel workbook (.xlsx), sheet \"Случаи\""),
        "{block}"
    );
    assert!(block.contains("sheet = \"Случаи\"\n"), "{block}");
    assert!(block.contains("path = \"dsp_dob_2015*.xlsx\""), "{block}");
    assert!(!block.contains("encoding ="), "{block}");
    assert!(
        block.contains("child_id_scheme = \"egn\""),
        "ЕГН as numbers: {block}"
    );
    assert!(block.contains("opened = \"Дата на откриване\""), "{block}");

    let utf16 = synth_in(dir.path(), "utf-16", 600, 3);
    let block = inspect_first(dir.path(), utf16.parent().unwrap(), "sofia");
    assert!(block.contains("utf-16le"), "{block}");
    assert!(block.contains("encoding = \"utf-16\"\n"), "{block}");
    assert!(block.contains("delimiter = \"\\t\""), "{block}");
    assert!(block.contains("child_id = \"ЕГН\""), "{block}");

    // Bare CR line ends read as the CSV does: the same block.
    let cr = synth_in(dir.path(), "cr", 3000, 3);
    let csv = synth_in(dir.path(), "csv", 3000, 3);
    for source in ["dsp_dob", "regional"] {
        let block = inspect_first(dir.path(), cr.parent().unwrap(), source);
        assert_eq!(
            block,
            inspect_first(dir.path(), csv.parent().unwrap(), source),
            "{source}"
        );
        assert!(!block.contains(" 1 rows sampled"), "{block}");
    }
}

/// A small workbook of `rows` under `header` on the sheet `sheet`, starting at `first_row`
/// (0-based): dates as date cells shown as `dd.mm.yyyy`, numbers as number cells, empty
/// strings as empty cells; a second sheet after it.
fn workbook(sheet: &str, first_row: u32, header: &[&str], rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).unwrap();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    for (c, h) in header.iter().enumerate() {
        ws.write_string(first_row, c as u16, *h).unwrap();
    }
    let mut r = first_row + 1;
    for row in rows {
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            if v.is_empty() {
                continue;
            }
            if let Some((d, rest)) = v.split_once('.')
                && let Some((m, y)) = rest.split_once('.')
                && v.len() == 10
            {
                let dt = ExcelDateTime::from_ymd(
                    y.parse().unwrap(),
                    m.parse().unwrap(),
                    d.parse().unwrap(),
                )
                .unwrap();
                ws.write_datetime_with_format(r, c, &dt, &date).unwrap();
            } else if let Ok(n) = v.parse::<f64>() {
                ws.write_number(r, c, n).unwrap();
            } else {
                ws.write_string(r, c, *v).unwrap();
            }
        }
        r += 1;
    }
    book.add_worksheet().set_name("Бележки").unwrap();
    book.save_to_buffer().unwrap()
}

fn egn_pipeline(path: &str, sheet: Option<&str>) -> TestPipeline {
    let mut source = TestSource::new("office", path)
        .set("region", "VAR")
        .set("child_id_scheme", "egn")
        .columns(&case_columns("ЕГН", "Вид", "Открит", "Закрит", "Резултат"));
    if let Some(sheet) = sheet {
        source = source.set("sheet", sheet);
    }
    TestPipeline::new("forms")
        .set("max_reject_rate", 1.0)
        .source(source)
}

fn keyed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("data")).unwrap();
    outcomes(dir.path())
        .args(["keygen", "test.key"])
        .assert()
        .success();
    dir
}

const HEADER: &[&str] = &["№", "ЕГН", "Име", "Вид", "Открит", "Закрит", "Резултат"];

#[test]
fn a_workbook_row_is_its_sheet_row_and_an_egn_keeps_its_leading_zero() {
    let dir = keyed_dir();
    // ЕГН 0541150002 (born 2005) as a number loses its zero; the header is on row 3; row 6 is
    // empty; row 8 has an impossible date typed as text.
    let rows = vec![
        vec![
            "1",
            "0541150002",
            "Име Фамилия",
            "prevention",
            "01.02.2023",
            "",
            "",
        ],
        vec![
            "2",
            "0541150002",
            "Име Фамилия",
            "prevention",
            "03.02.2023",
            "01.06.2023",
            "stayed_with_family",
        ],
        vec!["", "", "", "", "", "", ""],
        vec![
            "3",
            "0541150002",
            "Име Фамилия",
            "reintegration",
            "31.02.2023x",
            "",
            "",
        ],
        vec!["4", "0541150002", "Име Фамилия", "prevention", "", "", ""],
    ];
    fs::write(
        dir.path().join("data/export.xlsx"),
        workbook("Случаи", 2, HEADER, &rows),
    )
    .unwrap();
    egn_pipeline("data/*.xlsx", Some("случаи")).write(dir.path());
    let output = outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (read, accepted, rejected, _) =
        assert_accounting_balances(&manifest(&dir.path().join("out")));
    assert_eq!((read, accepted, rejected), (4, 2, 2));
    let cases = read_parquet(&dir.path().join("out/cases.parquet"));
    assert_eq!(cases.ints("source_line"), [Some(4), Some(5)]);
    let rejects = fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().skip(1).collect();
    assert!(
        lines[0].starts_with("office/export.xlsx,7,opened,unparseable_date"),
        "{rejects}"
    );
    assert!(
        lines[1].starts_with("office/export.xlsx,8,opened,missing_required"),
        "{rejects}"
    );
    assert!(!rejects.contains("0541150002") && !rejects.contains("Име"));
}

#[test]
fn an_unknown_sheet_lists_the_sheets() {
    let dir = keyed_dir();
    let rows = vec![vec![
        "1",
        "0541150002",
        "x",
        "prevention",
        "01.02.2023",
        "",
        "",
    ]];
    fs::write(
        dir.path().join("data/export.xlsx"),
        workbook("Случаи", 0, HEADER, &rows),
    )
    .unwrap();
    egn_pipeline("data/*.xlsx", Some("Лист1")).write(dir.path());
    let output = outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("export.xlsx: the workbook has no sheet \"Лист1\"; its sheets are \"Случаи\", \"Бележки\""),
        "{stderr}"
    );
    // A mapped column missing from the sheet's header names the sheet and the row.
    let mut header = HEADER.to_vec();
    header[4] = "Открит на";
    fs::write(
        dir.path().join("data/export.xlsx"),
        workbook("Случаи", 1, &header, &rows),
    )
    .unwrap();
    egn_pipeline("data/*.xlsx", None).write(dir.path());
    let output = outcomes(dir.path())
        .args(["check", "p.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "sheet \"Случаи\": column \"Открит\" (mapped to `opened`) is not in the header (row 2"
        ),
        "{stderr}"
    );
}

/// Run a pipeline on one file of these bytes named `name`: (exit code, stderr).
fn run_on(name: &str, bytes: &[u8]) -> (i32, String) {
    let dir = keyed_dir();
    fs::write(dir.path().join("data").join(name), bytes).unwrap();
    egn_pipeline("data/*", None).write(dir.path());
    let output = outcomes(dir.path())
        .args(["run", "p.toml", "--out", "out"])
        .output()
        .unwrap();
    assert!(!dir.path().join("out").exists());
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn files_that_are_not_exports_say_what_they_are() {
    for (name, bytes, words) in [
        (
            "export.xlsx",
            &b"%PDF-1.7\n1 0 obj\n"[..],
            "this is a PDF document",
        ),
        (
            "export.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00word/document.xml",
            "a Word document (.docx): a ZIP archive, but not a workbook",
        ),
        (
            "export.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00xl/workbook.bin",
            "an Excel binary workbook (.xlsb)",
        ),
        (
            "export.xls",
            b"<html><body><table><tr><td>1</td></tr></table>",
            "an HTML page (web systems often save these with an .xls name)",
        ),
        (
            "export.xls",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00",
            "this looks like an Excel 97\u{2013}2003 workbook (.xls), but it cannot be read as one",
        ),
        (
            "export.png",
            b"\x89PNG\r\n\x1a\n\x00\x00",
            "this is an image",
        ),
    ] {
        let (code, stderr) = run_on(name, bytes);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(words), "{words}: {stderr}");
        assert!(stderr.contains(name), "names the file: {stderr}");
    }
}

/// A damaged `.xls` (found by the `workbook_ingest` fuzz target) on which calamine panics: a
/// clear error naming the file, not an internal error.
#[test]
fn a_workbook_calamine_cannot_read_is_a_clear_error() {
    let bytes = fs::read(repo().join("tests/fixtures/workbooks/damaged.xls")).unwrap();
    let (code, stderr) = run_on("damaged.xls", &bytes);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("damaged.xls: this looks like an Excel 97\u{2013}2003 workbook (.xls), but it cannot be read as one"),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
}

/// Small files that stand for huge sheets: an 18 KB `.xls` (from the `workbook_ingest` fuzz
/// target) with two cells at opposite corners of the grid, and a 43 KB `.ods` whose 20,000 rows
/// each repeat a number across all 16,384 columns. calamine would ask for tens of GB reading
/// either and abort the process; they are refused, by name, before it reads them.
#[test]
fn a_small_workbook_standing_for_a_huge_sheet_is_refused_before_it_is_read() {
    for (name, kind) in [
        (
            "far_apart_cells.xls",
            "an Excel 97\u{2013}2003 workbook (.xls)",
        ),
        ("repeated_cells.ods", "an OpenDocument spreadsheet (.ods)"),
    ] {
        let bytes = fs::read(repo().join("tests/fixtures/workbooks").join(name)).unwrap();
        assert!(bytes.len() < 50_000, "{name} is small");
        let (code, stderr) = run_on(name, &bytes);
        assert_eq!(code, 1, "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}: this is {kind} whose sheets span so many cells that reading them would take about"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("more than the 768 MB a workbook may take"),
            "{stderr}"
        );
        assert!(!stderr.contains("internal error"), "{stderr}");
    }
}

#[test]
fn a_workbook_over_the_limit_is_refused_before_it_is_parsed() {
    let mut bytes = b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml xl/workbook.xml".to_vec();
    bytes.resize(outcomes::ingest::MAX_WORKBOOK_BYTES + 1, 0);
    let (code, stderr) = run_on("big.xlsx", &bytes);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("big.xlsx: this is an Excel workbook (.xlsx) of more than 100 MB"),
        "{stderr}"
    );
    assert!(stderr.contains("CSV UTF-8"), "{stderr}");
    // An .xls or .ods is held whole by calamine: a lower limit.
    let mut bytes = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    bytes.resize(outcomes::ingest::MAX_WHOLE_WORKBOOK_BYTES + 1, 0);
    let (code, stderr) = run_on("big.xls", &bytes);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "big.xls: this is an Excel 97\u{2013}2003 workbook (.xls) of more than 30 MB"
        ),
        "{stderr}"
    );
}

/// The fixture exports of `tests/fixtures/workbooks`: one synthetic office file as CSV
/// (Windows-1251), `.xlsx` (synth), `.xls` and `.ods` (LibreOffice): the same results from each.
#[test]
fn xls_and_ods_workbooks_read_as_their_csv() {
    let fixtures = repo().join("tests/fixtures/workbooks");
    let template = fs::read_to_string(fixtures.join("regional.toml")).unwrap();
    let mut results = Vec::new();
    // One key for all, so that the pseudonyms compare.
    let dir = keyed_dir();
    // The last two are workbooks named `.csv` (they are told by their first bytes, and never
    // read in a batch of small text files).
    for (extension, named) in [
        ("csv", "csv"),
        ("xlsx", "xlsx"),
        ("xls", "xls"),
        ("ods", "ods"),
        ("xls", "as-csv"),
        ("ods", "as-csv"),
    ] {
        let folder = dir.path().join("data").join(format!("{extension}-{named}"));
        fs::create_dir_all(&folder).unwrap();
        let name = format!("regional_2019.{extension}");
        let file_name = match named {
            "as-csv" => "regional_2019.csv".to_string(),
            _ => name.clone(),
        };
        fs::copy(fixtures.join(&name), folder.join(file_name)).unwrap();
        let pipeline = dir.path().join(format!("p-{extension}-{named}.toml"));
        fs::write(
            &pipeline,
            template.replace("PATH", &format!("data/{extension}-{named}/*")),
        )
        .unwrap();
        let out = dir.path().join(format!("out-{extension}-{named}"));
        run(dir.path(), &pipeline, &out);
        let (read, accepted, ..) = assert_accounting_balances(&manifest(&out));
        assert!(read > 40 && accepted > 40, "{extension}: {read} read");
        let content: Vec<_> = cases_content(&out)
            .into_iter()
            .map(|(n, cols)| (n, cols.iter().map(|c| c.to_data()).collect::<Vec<_>>()))
            .collect();
        results.push((
            extension,
            accounts(&out),
            fs::read(out.join("rates.parquet")).unwrap(),
            content,
        ));
    }
    let (_, accounted, rates, content) = &results[0];
    for (extension, a, r, c) in &results[1..] {
        assert_eq!(a, accounted, "{extension}");
        assert!(r == rates, "{extension}: rates.parquet differs");
        assert!(c == content, "{extension}: cases.parquet differs");
    }
}

/// `synth --one-file` (the benchmark's minimal input): every case in one UTF-8 `;` file, which
/// the pipeline file it writes reads whole, every row accounted for, every oblast present.
#[test]
fn one_file_synth_is_one_export_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("one");
    let output = outcomes(dir.path())
        .args([
            "synth",
            "--rows",
            "4000",
            "--seed",
            "8080",
            "--one-file",
            "--out",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(output.status.success());
    let exports: Vec<_> = fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        {
            let mut e = exports.clone();
            e.sort();
            e
        },
        ["demo.key", "pipeline.toml", "plain"]
    );
    let text = fs::read_to_string(data.join("plain/plain.csv")).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header.split(';').count(), 13, "{header}");
    let written = text.lines().count() as u64 - 1;
    let out = dir.path().join("out");
    run(dir.path(), &data.join("pipeline.toml"), &out);
    let accounted = accounts(&out);
    let [read, accepted, rejected, duplicate] = accounted["plain/plain"];
    assert_eq!(accounted.len(), 1, "{accounted:?}");
    assert_eq!(read, written);
    assert_eq!(accepted + rejected + duplicate, read);
    assert!(rejected * 20 < read, "{rejected} of {read} rejected");
    let rates = read_parquet(&out.join("rates.parquet"));
    let regions: std::collections::BTreeSet<String> = rates
        .batches
        .iter()
        .flat_map(|b| {
            let col = b
                .column_by_name("region")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap()
                .clone();
            (0..col.len()).map(move |i| col.value(i).to_string())
        })
        .collect();
    assert_eq!(regions.len(), 29, "28 oblasts and BG: {regions:?}");
}

/// The manifest says how each input was read: a text export's encoding and delimiter, a
/// workbook's format and the sheet read (and no encoding or delimiter, which it has not).
#[test]
fn the_manifest_names_a_workbooks_format_and_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = synth_in(dir.path(), "xlsx", 800, 4242);
    let out = dir.path().join("out");
    run(dir.path(), &pipeline, &out);
    let m = manifest(&out);
    let inputs = m["inputs"].as_array().unwrap();
    assert!(!inputs.is_empty());
    for input in inputs {
        assert_eq!(input["format"], "xlsx", "{input}");
        let sheet = input["sheet"].as_str().unwrap();
        assert!(["Случаи", "Cases"].contains(&sheet), "{input}");
        assert!(input.get("encoding").is_none(), "{input}");
        assert!(input.get("delimiter").is_none(), "{input}");
    }
    let csv = synth_in(dir.path(), "csv", 800, 4242);
    let out = dir.path().join("out-csv");
    run(dir.path(), &csv, &out);
    for input in manifest(&out)["inputs"].as_array().unwrap() {
        assert!(input.get("sheet").is_none(), "{input}");
        assert!(
            ["utf-8", "windows-1251"].contains(&input["encoding"].as_str().unwrap()),
            "{input}"
        );
        assert_eq!(input["delimiter"].as_str().unwrap().len(), 1, "{input}");
    }
}

/// Hundreds of tiny exports (an office a day) under a low limit of open files: small files are
/// read several at once, but never so many that the run runs out of file handles, and the
/// rows are those of the one file they were cut from.
#[test]
fn many_tiny_files_read_within_the_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    outcomes(dir.path())
        .args([
            "synth",
            "--rows",
            "3000",
            "--seed",
            "6161",
            "--one-file",
            "--out",
        ])
        .arg(&one)
        .assert()
        .success();
    let text = fs::read_to_string(one.join("plain/plain.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let many = dir.path().join("many");
    fs::create_dir_all(many.join("plain")).unwrap();
    for name in ["pipeline.toml", "demo.key"] {
        fs::copy(one.join(name), many.join(name)).unwrap();
    }
    let chunks: Vec<&[&str]> = rows.chunks(rows.len().div_ceil(600)).collect();
    assert!(chunks.len() > 500);
    for (i, chunk) in chunks.iter().enumerate() {
        fs::write(
            many.join(format!("plain/plain_{i:04}.csv")),
            format!("{header}\n{}\n", chunk.join("\n")),
        )
        .unwrap();
    }
    let binary = assert_cmd::cargo::cargo_bin("outcomes");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" run many/pipeline.toml --out out-many --quiet")
        .arg(&binary)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0) | Some(3)), "{status}");
    run(
        dir.path(),
        &one.join("pipeline.toml"),
        &dir.path().join("out-one"),
    );
    let read: u64 = accounts(&dir.path().join("out-many"))
        .values()
        .map(|a| a[0])
        .sum();
    let accounted = accounts(&dir.path().join("out-many")).len();
    assert_eq!(accounted, chunks.len(), "every file is accounted for");
    assert_eq!(read, rows.len() as u64);
    assert_eq!(
        fs::read(dir.path().join("out-many/rates.parquet")).unwrap(),
        fs::read(dir.path().join("out-one/rates.parquet")).unwrap()
    );
}

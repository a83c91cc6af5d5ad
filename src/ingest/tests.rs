//! Ingest as a whole, on small exports built in the tests: every row and line comes out right
//! wherever the file is cut into chunks and pieces, and quotes that never close are told.
//! Every test reads through `ingest_with`, under the one pipeline `PIPELINE`.

use std::io;
use std::path::Path;

use super::*;
use crate::config;
use crate::pseudonym::Key;
use stream::PIECE_BYTES;

/// The pipeline every test here reads under: one source, `region` fixed, five columns mapped
/// (an export may have more, such as `notes`).
const PIPELINE: &str = r#"name = "t"
key_file = "unused.key"

[[sources]]
name = "s"
path = "unused/*.csv"
region = "VAR"

[sources.columns]
child_id = "id"
case_type = "type"
opened = "opened"
closed = "closed"
outcome = "outcome"
"#;

/// The header of `PIPELINE`'s exports, with the unmapped `notes` column.
const HEADER: &str = "id,type,opened,closed,outcome,notes\n";

/// Ingest `text` as the file `t.csv` of `PIPELINE`, cut by `cuts`, rejects to `sink`, as of
/// day 30,000 (2052).
fn ingest_with(
    text: &[u8],
    cuts: Cuts,
    sink: &mut dyn RejectSink,
) -> Result<(Vec<Case>, InputFile), IngestError> {
    ingest_tallied(text, cuts, sink).map(|(cases, file, _)| (cases, file))
}

/// `ingest_with`, and the summary of unmapped values (`min_count` 2).
fn ingest_tallied(
    text: &[u8],
    cuts: Cuts,
    sink: &mut dyn RejectSink,
) -> Result<(Vec<Case>, InputFile, Vec<UnmappedColumn>), IngestError> {
    ingest_by(text, cuts, sink, false)
}

/// `ingest_tallied`, streamed as it is read or (`whole`) read and parsed whole first and then
/// merged, as a small file of a batch is (`batches`).
fn ingest_by(
    text: &[u8],
    cuts: Cuts,
    sink: &mut dyn RejectSink,
    whole: bool,
) -> Result<(Vec<Case>, InputFile, Vec<UnmappedColumn>), IngestError> {
    let pipeline = config::parse(PIPELINE, Path::new("t.toml")).unwrap();
    let key = Key::from_bytes([1; 32]);
    let pseudonymizer = key.pseudonymizer();
    let source = &pipeline.sources[0];
    let path = Path::new("t.csv");
    let pool = ChunkPool::default();
    let opened = source::open(text, path, &pool, cuts.reading(), Declared::of(source))?;
    let mut cases = Vec::new();
    let mut tally = SourceTally::default();
    let ctx = FileContext {
        source,
        source_idx: 0,
        file_idx: 0,
        path,
        pseudonymizer: &pseudonymizer,
        as_of: 30_000,
        cuts,
    };
    let file = match opened {
        Opened::Text(export) if whole => {
            let parsed = stream::parse_whole(&ctx, export)?;
            stream::merge_whole(
                ctx,
                parsed,
                &mut cases,
                &mut OfficeTable::default(),
                &mut tally,
                sink,
                &|_: &InputFile, _: u64| {},
            )?
        }
        opened => ingest_opened(
            ctx,
            opened,
            &mut cases,
            &mut OfficeTable::default(),
            &mut tally,
            sink,
            &|_: &InputFile, _: u64| {},
        )?,
    };
    Ok((cases, file, tally.unmapped.summarize(0, 2)))
}

/// Ingest `text` uncut, rejects discarded.
fn ingest_text(text: &str) -> (Vec<Case>, InputFile) {
    ingest_with(text.as_bytes(), Cuts::default(), &mut DiscardRejects).unwrap()
}

/// Rows whose notes hold quoted line breaks, enough of them to span many pieces and two
/// chunks, so cuts fall inside quotes: every row and line must still come out right.
#[test]
fn quoted_line_breaks_across_piece_and_chunk_cuts() {
    let mut text = String::from(HEADER);
    let rows = 120_000;
    let note = "x".repeat(40);
    for i in 0..rows {
        text.push_str(&format!(
            "C{i},prevention,01.02.2020,,,\"{note}\n{note}\n\"\n"
        ));
    }
    assert!(text.len() > 2 * source::CHUNK_BYTES + PIECE_BYTES);
    let (cases, file) = ingest_text(&text);
    assert_eq!(file.rows_read, rows);
    assert_eq!(file.rows_rejected, 0, "{:?}", file.reject_counts);
    assert_eq!(cases.len() as u64, rows);
    for (i, c) in cases.iter().enumerate() {
        // The header is line 1; each row takes three lines.
        assert_eq!(c.line, 2 + 3 * i as u64);
    }
}

#[test]
fn an_unclosed_quote_mid_file_swallows_the_rest_as_one_row() {
    let mut text = String::from(HEADER);
    for i in 0..50_000 {
        text.push_str(&format!("C{i},prevention,01.02.2020,,,fine\n"));
    }
    text.push_str("C-open,prevention,01.02.2020,,,\"never closed\n");
    for i in 0..50_000 {
        text.push_str(&format!("D{i},prevention,01.02.2020,,,fine\n"));
    }
    let (cases, file) = ingest_text(&text);
    assert_eq!(
        (cases.len(), file.rows_read),
        (50_000, 50_001),
        "{:?}",
        file.reject_counts
    );
    assert_eq!(file.rows_read, 50_001);
    assert_eq!(
        file.reject_counts
            .get(&(RejectReason::UnterminatedQuote, None))
            .copied(),
        Some(1)
    );
}

/// Collects rejects as (line, reason).
struct Collect(Vec<(u64, RejectReason)>);

impl RejectSink for Collect {
    fn reject(&mut self, _: &InputFile, line: u64, reject: &RowReject) -> io::Result<()> {
        self.0.push((line, reject.reason));
        Ok(())
    }
}

/// What ingesting a file gives: the cases, the rejects, the rows read and the unmapped values.
type Ingest = (
    Vec<Case>,
    Vec<(u64, RejectReason)>,
    u64,
    Vec<UnmappedColumn>,
);

/// Ingest `text` with the given cuts.
fn ingest_cut(text: &[u8], cuts: Cuts) -> Ingest {
    ingest_cut_by(text, cuts, false)
}

/// Ingest `text` with the given cuts, streamed or (`whole`) parsed whole and then merged.
fn ingest_cut_by(text: &[u8], cuts: Cuts, whole: bool) -> Ingest {
    let mut rejects = Collect(Vec::new());
    let (cases, file, unmapped) = ingest_by(text, cuts, &mut rejects, whole).unwrap();
    (cases, rejects.0, file.rows_read, unmapped)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Where the cuts fall changes nothing: quoted line breaks, unclosed quotes, blank
    /// lines, CRLF, a last line without a break, unmapped labels and rows past the record
    /// bound read the same with chunks and pieces of a few bytes as in one piece.
    #[test]
    fn the_result_does_not_depend_on_where_the_file_is_cut(
        rows in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("A1,prevention,01.02.2020,,,plain".to_string()),
                proptest::strategy::Just("B2,prevention,01.02.2020,03.04.2020,stayed_with_family,\"two\nlines\"".to_string()),
                proptest::strategy::Just("C3,prevention,01.02.2020,,,\"a, \"\"quoted\"\" note\"\r".to_string()),
                proptest::strategy::Just("D4,reintegration,05.06.2021,,,\"three\n\nlines\"".to_string()),
                proptest::strategy::Just("E5,prevention,31.02.2020,,,bad date".to_string()),
                proptest::strategy::Just("F6,prevention".to_string()),
                proptest::strategy::Just("G7,prevention,01.02.2020,,,\"never closed".to_string()),
                proptest::strategy::Just(String::new()),
                proptest::strategy::Just("H8,преглед,01.02.2020,,,unmapped case type".to_string()),
                proptest::strategy::Just("I9,prevention,01.02.2020,03.04.2020,Неясно,unmapped".to_string()),
                proptest::strategy::Just("J10,prevention,01.02.2020,03.04.2020,\"Не\nясно\",x".to_string()),
                proptest::strategy::Just(format!("K11,prevention,01.02.2020,,,{}", "long ".repeat(30))),
                proptest::strategy::Just(format!("L12,prevention,01.02.2020,,,\"{}\"", "a long\nquoted note ".repeat(8))),
            ],
            0..30,
        ),
        trailing_newline in proptest::bool::ANY,
        chunk_bytes in 2usize..80,
        piece_bytes in 1usize..40,
        max_record in 40usize..160,
    ) {
        let mut text = String::from(HEADER);
        text.push_str(&rows.join("\n"));
        if trailing_newline {
            text.push('\n');
        }
        let whole = ingest_cut(text.as_bytes(), Cuts { max_record, ..Cuts::default() });
        let cut = ingest_cut(text.as_bytes(), Cuts { chunk_bytes, piece_bytes, max_record });
        let lines = |cases: &[Case]| -> Vec<(u64, crate::model::Pseudonym)> {
            cases.iter().map(|c| (c.line, c.child)).collect()
        };
        proptest::prop_assert_eq!(lines(&whole.0), lines(&cut.0));
        proptest::prop_assert_eq!(&whole.1, &cut.1);
        proptest::prop_assert_eq!(whole.2, cut.2);
        proptest::prop_assert_eq!(whole.2, (whole.0.len() + whole.1.len()) as u64);
        proptest::prop_assert_eq!(&whole.3, &cut.3);
        // A small file of a batch is parsed whole before it is merged: the same rows.
        let batched = ingest_cut_by(text.as_bytes(), Cuts { chunk_bytes, piece_bytes, max_record }, true);
        proptest::prop_assert_eq!(&cut.0, &batched.0);
        proptest::prop_assert_eq!(&cut.1, &batched.1);
        proptest::prop_assert_eq!(cut.2, batched.2);
        proptest::prop_assert_eq!(&cut.3, &batched.3);
    }
}

#[test]
fn a_literal_quote_in_the_last_line_is_data_with_or_without_a_final_break() {
    for end in ["", "\n"] {
        let text = format!("{HEADER}A1,prevention,01.02.2020,,,5\" tube{end}");
        let (cases, file) = ingest_text(&text);
        assert_eq!((cases.len(), file.rows_rejected), (1, 0), "{end:?}");
    }
    // A quote opened at the start of the last field and never closed is not.
    let text = format!("{HEADER}A1,prevention,01.02.2020,,,\"5 tube");
    let (cases, file) = ingest_text(&text);
    assert_eq!((cases.len(), file.rows_rejected), (0, 1));
}

/// A stray quote early in a long file without other quotes: one row swallows the rest,
/// read once (the record goes on from chunk to chunk), with tiny chunks as with big ones.
#[test]
fn a_stray_quote_swallows_the_rest_once() {
    let mut text = String::from(HEADER);
    text.push_str("A1,prevention,01.02.2020,,,\"stray\n");
    for i in 0..2_000 {
        text.push_str(&format!("B{i},prevention,01.02.2020,,,fine\n"));
    }
    for cuts in [
        Cuts::default(),
        Cuts {
            chunk_bytes: 64,
            piece_bytes: 16,
            ..Cuts::default()
        },
    ] {
        let (cases, rejects, rows, _) = ingest_cut(text.as_bytes(), cuts);
        assert_eq!(cases.len(), 0);
        assert_eq!(rows, 1);
        assert_eq!(rejects, vec![(2, RejectReason::UnterminatedQuote)]);
    }
}

#[test]
fn a_header_whose_quote_never_closes_is_a_clear_error() {
    let mut text = String::from("id,\"type,opened,closed,outcome\n");
    for i in 0..100_000 {
        text.push_str(&format!("A{i},prevention,01.02.2020,,\n"));
    }
    let cuts = Cuts {
        max_record: 1 << 20,
        ..Cuts::default()
    };
    let err = ingest_with(text.as_bytes(), cuts, &mut DiscardRejects).unwrap_err();
    assert!(matches!(err, IngestError::HeaderTooLong { .. }), "{err}");
    assert!(err.to_string().contains("within the first 1 MB"), "{err}");
}

#[test]
fn crlf_blank_lines_and_a_last_line_without_a_break() {
    let text = "id,type,opened,closed,outcome\r\nA,prevention,01.02.2020,,\r\n\r\n\nB,prevention,02.02.2020,,";
    let (cases, file) = ingest_text(text);
    assert_eq!(file.rows_read, 2);
    assert_eq!(cases.iter().map(|c| c.line).collect::<Vec<_>>(), vec![2, 5]);
}

/// A quote opened in the header's last column and never closed makes the header hold every
/// row: the mapped columns are all there, so without this check the file read as 0 rows.
#[test]
fn a_header_quote_that_never_closes_before_the_end_of_the_file_is_an_error() {
    let text = "id,type,opened,closed,outcome,\"notes\nA1,prevention,01.02.2020,,,x\n";
    let err = ingest_with(text.as_bytes(), Cuts::default(), &mut DiscardRejects).unwrap_err();
    assert!(
        matches!(err, IngestError::HeaderQuoteNeverClosed { .. }),
        "{err}"
    );
}

/// Collects rejects as (line, reason, message).
struct Messages(Vec<(u64, RejectReason, String)>);

impl RejectSink for Messages {
    fn reject(&mut self, _: &InputFile, line: u64, reject: &RowReject) -> io::Result<()> {
        self.0.push((line, reject.reason, reject.message.clone()));
        Ok(())
    }
}

/// A line, a quoted field and a record open across chunks past the record bound: each is one
/// rejected row that takes every line up to the first line break after the bound, and the
/// lines after it are read as rows again, with the right numbers.
#[test]
fn a_row_past_the_record_bound_is_rejected_and_reading_resumes_after_it() {
    let max_record = 64;
    let mut text = String::from(HEADER);
    text.push_str("A1,prevention,01.02.2020,,,fine\n"); // line 2
    text.push_str(&format!("A2,prevention,01.02.2020,,,{}\n", "x".repeat(60))); // 3
    text.push_str("A3,prevention,01.02.2020,,,fine\n"); // 4
    // A quote opened on line 5 and never closed: the record runs past the bound within line 6,
    // so lines 5 and 6 are one rejected row; line 7 is a row again.
    text.push_str("A4,prevention,01.02.2020,,,\"opened\n"); // 5
    text.push_str("B1,prevention,01.02.2020,,,swallowed\n"); // 6
    text.push_str("B2,prevention,01.02.2020,,,read again\n"); // 7
    text.push_str("A5,prevention,01.02.2020,,,fine\n"); // 8
    // No line break after the bound: the row runs to the end of the file.
    text.push_str(&format!("A6,prevention,01.02.2020,,,{}", "y".repeat(200))); // 9
    for (chunk_bytes, piece_bytes) in [(source::CHUNK_BYTES, PIECE_BYTES), (16, 8), (3, 1)] {
        let cuts = Cuts {
            chunk_bytes,
            piece_bytes,
            max_record,
        };
        let mut rejects = Messages(Vec::new());
        let (cases, file) = ingest_with(text.as_bytes(), cuts, &mut rejects).unwrap();
        let lines: Vec<u64> = cases.iter().map(|c| c.line).collect();
        assert_eq!(lines, [2, 4, 7, 8], "chunks of {chunk_bytes}");
        let rejected: Vec<(u64, RejectReason)> = rejects.0.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(
            rejected,
            [
                (3, RejectReason::RecordTooLong),
                (5, RejectReason::RecordTooLong),
                (9, RejectReason::RecordTooLong),
            ]
        );
        assert_eq!((file.rows_read, file.rows_rejected), (7, 3));
        assert!(
            rejects.0[0].2.contains("longer than 64 bytes"),
            "{:?}",
            rejects.0
        );
        assert!(rejects.0[1].2.contains("lines 5 to 6"), "{:?}", rejects.0);
        assert!(
            rejects
                .0
                .iter()
                .all(|r| !r.2.contains("xxx") && !r.2.contains("opened"))
        );
    }
}

/// A file whose only row never ends (no line break for megabytes) is one rejected row, read
/// through in bounded chunks.
#[test]
fn a_row_without_a_line_break_for_megabytes_is_one_rejected_row() {
    let mut text = String::from(HEADER).into_bytes();
    text.extend_from_slice(b"A1,prevention,01.02.2020,,,");
    text.extend(std::iter::repeat_n(b'z', 12 << 20));
    let mut rejects = Messages(Vec::new());
    let (cases, file) = ingest_with(&text, Cuts::default(), &mut rejects).unwrap();
    assert_eq!((cases.len(), file.rows_read, file.rows_rejected), (0, 1, 1));
    assert_eq!(rejects.0[0].1, RejectReason::RecordTooLong);
    assert!(
        rejects.0[0].2.contains("longer than 4 MB"),
        "{:?}",
        rejects.0
    );
}

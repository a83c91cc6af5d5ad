//! Laws that hold for every input: every row read is accepted, rejected or a duplicate.

mod common;

use std::fs;

use common::{TestPipeline, TestSource, case_columns};
use outcomes::config;
use outcomes::ingest::{self, DiscardRejects, InputFile};
use outcomes::link;
use outcomes::pseudonym::Key;
use proptest::prelude::*;

/// Two sources: one with a fixed region and ЕГН checks, one with a region column.
fn pipeline() -> String {
    let columns = case_columns("id", "type", "opened", "closed", "outcome");
    TestPipeline::new("laws")
        .set("key_file", "unused.key")
        .source(
            TestSource::new("a", "a/*.csv")
                .set("region", "VAR")
                .set("child_id_scheme", "egn")
                .columns(&columns),
        )
        .source(
            TestSource::new("b", "b/*.csv")
                .columns(&[&columns[..], &[("region", "region")]].concat()),
        )
        .toml()
}

/// A field value: mostly plausible, sometimes broken.
fn field(choices: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(choices).prop_map(str::to_string),
        1 => "[ -~]{0,12}",
        1 => any::<String>().prop_map(|s| s.replace(['\n', '\r', '"'], "")),
    ]
}

fn row() -> impl Strategy<Value = String> {
    (
        field(&[
            "7523169263",
            "8032056031",
            "7552010005",
            "7523169264",
            "",
            "BH-0042",
        ]),
        field(&["VAR", "Sofia City", "BG331", "Atlantis", ""]),
        field(&["prevention", "reintegration", "other"]),
        field(&["01.02.2023", "2023-02-01", "31.02.2023", "01.02.2026", ""]),
        field(&["01.06.2023", "", "01.01.2023", "2024-11-30"]),
        field(&[
            "stayed_with_family",
            "reunified",
            "foster_care",
            "transferred",
            "",
            "Неясно",
        ]),
        0usize..3,
    )
        .prop_map(|(id, region, ty, opened, closed, outcome, extra)| {
            let mut cells = vec![id, region, ty, opened, closed, outcome];
            cells.truncate(6 - extra.min(1)); // sometimes a column short
            cells
                .iter()
                .map(|c| format!("\"{}\"", c.replace('"', "")))
                .collect::<Vec<_>>()
                .join(",")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn accounting_always_balances(
        a_rows in proptest::collection::vec(row(), 0..40),
        b_rows in proptest::collection::vec(row(), 0..40),
        repeat in 0usize..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (name, rows) in [("a", &a_rows), ("b", &b_rows)] {
            fs::create_dir(dir.path().join(name)).unwrap();
            let mut text = String::from("id,region,type,opened,closed,outcome\n");
            for r in rows.iter().chain(rows.iter().take(repeat)) {
                text.push_str(r);
                text.push('\n');
            }
            fs::write(dir.path().join(name).join("x.csv"), text).unwrap();
        }
        let pipeline = config::parse(&pipeline(), &dir.path().join("p.toml")).unwrap();
        let key = Key::from_bytes([7; 32]);
        let mut store = link::CaseStore::in_memory();
        let ingested = ingest::ingest(
            &pipeline,
            &key.pseudonymizer(),
            outcomes::dates::to_day(chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()),
            &mut store,
            &mut DiscardRejects,
            &|_: &InputFile, _: u64| {},
        )
        .unwrap();
        let linked = link::dedupe(store, &ingested.files).unwrap().into_linked().unwrap();
        let accounts = linked.accounts();
        let cases = &linked.cases;
        let mut accepted = 0;
        for ((file, counts), rows) in ingested.files.iter().zip(accounts).zip([&a_rows, &b_rows]) {
            prop_assert_eq!(file.rows_read, (rows.len() + repeat.min(rows.len())) as u64);
            prop_assert_eq!(counts.rows_read, file.rows_read);
            prop_assert_eq!(counts.rows_rejected, file.rows_rejected);
            prop_assert_eq!(counts.rows_read, counts.rows_accepted + counts.rows_rejected + counts.rows_duplicate);
            prop_assert_eq!(file.rows_rejected, file.reject_counts.values().sum::<u64>());
            accepted += counts.rows_accepted;
        }
        prop_assert_eq!(accepted, cases.len() as u64);
    }
}

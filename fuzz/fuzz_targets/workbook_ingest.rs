//! Arbitrary bytes as a workbook export (calamine reads the ZIP and OLE2 containers, the sheet
//! XML and BIFF records) under an egn source with every column mapped: never a panic past the
//! program's own catch (ingest catches calamine's panics and calls the file damaged), and the
//! accounting always balances. The corpus starts from the three workbook fixtures (.xlsx,
//! .xls, .ods) of tests/fixtures/workbooks.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use outcomes::config::{self, Pipeline};
use outcomes::ingest;
use outcomes::pseudonym::Key;

const PIPELINE: &str = r#"name = "fuzz"
key_file = "unused.key"

[[sources]]
name = "regional"
path = "unused/*.xlsx"
child_id_scheme = "egn"
date_formats = ["%d.%m.%Y"]

[sources.columns]
child_id = "ЕГН/ЛНЧ"
case_id = "Дело"
region = "Код област"
case_type = "Тип"
opened = "Начало"
closed = "Край"
outcome = "Резултат"
placement_type = "Настаняване"
placement_region = "Област настаняване"
birth_date = "Рождена дата"
sex = "Пол"

[sources.values.case_type]
"Превенция" = "prevention"
"Реинтеграция" = "reintegration"
"#;

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        config::parse(PIPELINE, Path::new("fuzz.toml")).expect("the fuzz pipeline is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    // libFuzzer's hook aborts at any panic, also one that ingest catches (a calamine panic on a
    // damaged workbook, which is a clear error for the user): keep quiet instead, so that only a
    // panic that reaches this function (which libfuzzer-sys still aborts on) is a crash.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let key = Key::from_bytes([42; 32]);
    let pseudonymizer = key.pseudonymizer();
    if let Ok((cases, file)) = ingest::ingest_bytes(
        pipeline(),
        0,
        Path::new("fuzz.xlsx"),
        data,
        &pseudonymizer,
        20_000,
    ) {
        assert_eq!(file.rows_read, cases.len() as u64 + file.rows_rejected);
        assert_eq!(file.rows_rejected, file.reject_counts.values().sum::<u64>());
    }
});

//! Arbitrary bytes as an export, under both an egn source with a fixed region and an `any`
//! source with every column mapped: never a panic, and the accounting always balances.
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
name = "egn"
path = "unused/*.csv"
region = "VAR"
child_id_scheme = "egn"
date_formats = ["%d.%m.%Y", "%d.%m.%Y г.", "%Y-%m-%d", "%d %b %Y"]

[sources.columns]
child_id = "id"
case_type = "type"
opened = "opened"
closed = "closed"
outcome = "outcome"

[[sources]]
name = "any"
path = "unused/*.csv"
encoding = "auto"

[sources.columns]
child_id = "id"
family_id = "family"
case_id = "case"
region = "region"
office = "office"
municipality = "municipality"
case_type = "type"
opened = "opened"
closed = "closed"
outcome = "outcome"
placement_type = "placement"
placement_region = "placement_region"
birth_date = "born"
sex = "sex"

[sources.values.outcome]
"остава" = "stayed_with_family"
"#;

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        config::parse(PIPELINE, Path::new("fuzz.toml")).expect("the fuzz pipeline is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let key = Key::from_bytes([42; 32]);
    let pseudonymizer = key.pseudonymizer();
    for source in 0..2 {
        if let Ok((cases, file)) = ingest::ingest_bytes(
            pipeline(),
            source,
            Path::new("fuzz.csv"),
            data,
            &pseudonymizer,
            20_000,
        ) {
            assert_eq!(file.rows_read, cases.len() as u64 + file.rows_rejected);
            assert_eq!(file.rows_rejected, file.reject_counts.values().sum::<u64>());
        }
    }
});

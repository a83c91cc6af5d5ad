//! The pipeline file's checks, one behaviour a test: defaults, resolved paths, and an error
//! that names the key and line for each way a file can be wrong.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::*;
use crate::model::Outcome;

const MINIMAL: &str = r#"
name = "t"
key_file = "k.key"

[[sources]]
name = "a"
path = "data/*.csv"
region = "VAR"

[sources.columns]
child_id = "ЕГН"
case_type = "Вид"
opened = "Открит"
"#;

fn parse_str(text: &str) -> Result<Pipeline, ConfigError> {
    parse(text, Path::new("pipelines/p.toml"))
}

#[test]
fn the_documented_example_is_a_valid_pipeline() {
    let doc = include_str!("../../docs/pipeline.md");
    let toml = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/pipeline.md has a toml block");
    let p = parse_str(toml).unwrap();
    assert_eq!(p.name, "national");
    assert_eq!(p.lang, Lang::Bg);
    assert!(p.success.is_widened());
    assert_eq!(p.sources[0].child_id_scheme, IdScheme::Egn);
    assert_eq!(p.sources[0].columns.len(), 14);
}

#[test]
fn minimal_pipeline_gets_defaults_and_resolved_paths() {
    let p = parse_str(MINIMAL).unwrap();
    assert_eq!(p.min_count, 5);
    assert_eq!(p.max_reject_rate, 0.05);
    assert_eq!(p.lang, Lang::Bg);
    assert_eq!(p.key_file, PathBuf::from("pipelines/k.key"));
    assert_eq!(p.sources[0].pattern, "pipelines/data/*.csv");
    assert_eq!(p.sources[0].encoding, EncodingChoice::Auto);
    assert_eq!(p.sources[0].column(Field::ChildId), Some("ЕГН"));
    assert!(!p.success.is_widened());
    // sha256 of MINIMAL's text, computed independently (Python hashlib).
    assert_eq!(
        p.sha256,
        "b291c611cf380f35dc7082c135ca55c6be2cb68d9bab4b7a6a3db3dd165d30d7"
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let text = MINIMAL.replace("region = \"VAR\"", "regoin = \"VAR\"");
    let err = parse_str(&text).unwrap_err().to_string();
    assert!(err.contains("regoin"), "{err}");
    assert!(err.contains("line 8"), "{err}");
    let text = MINIMAL.replace("opened = ", "openned = ");
    let err = parse_str(&text).unwrap_err().to_string();
    assert!(err.contains("openned"), "{err}");
}

#[test]
fn syntax_errors_name_the_line() {
    let err = parse_str("name = \"t\"\nkey_file = \n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn label_maps_are_validated_and_fold_case_and_spaces() {
    let text = format!(
        "{MINIMAL}\n[sources.values.outcome]\n\"Детето остава в семейството\" = \"stayed_with_family\"\n"
    );
    let p = parse_str(&text).unwrap();
    let o = &p.sources[0].labels.outcome;
    assert_eq!(
        o.get("  детето остава  в семейството "),
        Some(Outcome::StayedWithFamily)
    );
    assert_eq!(
        o.get("reunified"),
        Some(Outcome::Reunified),
        "canonical values need no map"
    );
    assert_eq!(o.get("REUNIFIED"), Some(Outcome::Reunified));
    assert_eq!(o.get("nonsense"), None);

    let bad = text.replace("= \"stayed_with_family\"", "= \"stayed\"");
    let err = parse_str(&bad).unwrap_err().to_string();
    assert!(err.contains("not one of"), "{err}");
    assert!(err.contains("(\"a\")"), "names the source: {err}");
}

#[test]
fn a_source_needs_the_required_columns_and_a_region() {
    let err = parse_str(&MINIMAL.replace("opened = \"Открит\"", ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`opened`"), "{err}");
    let err = parse_str(&MINIMAL.replace("region = \"VAR\"", ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no region"), "{err}");
    let err = parse_str(&MINIMAL.replace("\"VAR\"", "\"Atlantis\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Atlantis"), "{err}");
}

#[test]
fn delimiters_and_dates_are_checked() {
    let p =
        parse_str(&MINIMAL.replace("region = \"VAR\"", "region = \"VAR\"\ndelimiter = \"\\t\""))
            .unwrap();
    assert_eq!(p.sources[0].delimiter, Some(b'\t'));
    let err =
        parse_str(&MINIMAL.replace("region = \"VAR\"", "region = \"VAR\"\ndelimiter = \";;\""))
            .unwrap_err()
            .to_string();
    assert!(err.contains("delimiter"), "{err}");
    let err = parse_str(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nas_of = \"31.12.2024\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let p =
        parse_str(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nas_of = 2024-12-31")).unwrap();
    assert_eq!(p.as_of, NaiveDate::from_ymd_opt(2024, 12, 31));
}

#[test]
fn success_sets_may_only_widen() {
    let widened = format!(
        "{MINIMAL}\n[measures]\nreintegration_success = [\"reunified\", \"kinship_care\"]\n"
    );
    // [measures] after [sources.columns] would belong to the source table; put it first.
    let widened = widened.replace(
        "[[sources]]",
        "[measures]\nreintegration_success = [\"reunified\", \"kinship_care\"]\n\n[[sources]]",
    );
    let widened = widened.rsplit_once("\n[measures]").unwrap().0.to_string();
    let p = parse_str(&widened).unwrap();
    assert!(p.success.is_widened());
    assert_eq!(
        p.success.reintegration,
        vec![Outcome::Reunified, Outcome::KinshipCare]
    );
    let narrowed = widened.replace("[\"reunified\", \"kinship_care\"]", "[\"kinship_care\"]");
    assert!(
        parse_str(&narrowed)
            .unwrap_err()
            .to_string()
            .contains("only widen")
    );
    let wrong = widened.replace("\"kinship_care\"]", "\"stayed_with_family\"]");
    assert!(parse_str(&wrong).is_err());
}

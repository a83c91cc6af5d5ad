//! The pipeline file (SPEC §2): its TOML shape as typed serde structs, and its compilation into
//! a checked `Pipeline` (paths resolved, labels folded, every mapping validated) before any data
//! moves, so a typo fails in the first second with the key and line that hold it.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::dates::{DateFormat, compile_formats};
use crate::model::{CaseType, Outcome, PlacementType, RegionIdx, Sex, Vocabulary};
use crate::reference::{self, lookup_key};

/// A pipeline file that cannot be used. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read pipeline file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pipeline file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("pipeline file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: String,
    key_file: PathBuf,
    as_of: Option<toml::Value>,
    min_count: Option<u32>,
    max_reject_rate: Option<f64>,
    lang: Option<Lang>,
    /// Output folder, relative to the pipeline file (default: `reports/<name>` in the working directory).
    out_dir: Option<PathBuf>,
    measures: Option<MeasuresFile>,
    #[serde(default)]
    sources: Vec<SourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasuresFile {
    prevention_success: Option<Vec<String>>,
    reintegration_success: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    name: String,
    path: String,
    #[serde(default)]
    encoding: EncodingChoice,
    delimiter: Option<String>,
    date_formats: Option<Vec<String>>,
    region: Option<String>,
    office: Option<String>,
    #[serde(default)]
    child_id_scheme: IdScheme,
    columns: ColumnsFile,
    #[serde(default)]
    values: ValuesFile,
}

/// Canonical field = header in this export.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnsFile {
    child_id: Option<String>,
    family_id: Option<String>,
    case_id: Option<String>,
    region: Option<String>,
    office: Option<String>,
    municipality: Option<String>,
    case_type: Option<String>,
    opened: Option<String>,
    closed: Option<String>,
    outcome: Option<String>,
    placement_type: Option<String>,
    placement_region: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
}

type LabelTable = BTreeMap<String, String>;

/// Label in this export = canonical value, for each attribute field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValuesFile {
    case_type: Option<LabelTable>,
    outcome: Option<LabelTable>,
    placement_type: Option<LabelTable>,
    sex: Option<LabelTable>,
    region: Option<LabelTable>,
    placement_region: Option<LabelTable>,
    municipality: Option<LabelTable>,
    office: Option<LabelTable>,
}

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Bg,
    En,
}

impl Lang {
    /// The language's code in outputs and the manifest: `bg`, `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Bg => "bg",
            Lang::En => "en",
        }
    }
}

/// How a source's bytes are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum EncodingChoice {
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(
        rename = "windows-1251",
        alias = "cp1251",
        alias = "Windows-1251",
        alias = "WINDOWS-1251"
    )]
    Windows1251,
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

/// Which child identifiers a source may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdScheme {
    /// ЕГН or ЛНЧ with a valid check digit.
    Egn,
    /// Anything non-empty.
    #[default]
    Any,
}

// ---------------------------------------------------------------------------------------------
// The compiled pipeline.

/// A canonical field of SPEC §2's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ChildId,
    FamilyId,
    CaseId,
    Region,
    Office,
    Municipality,
    CaseType,
    Opened,
    Closed,
    Outcome,
    PlacementType,
    PlacementRegion,
    BirthDate,
    Sex,
}

/// How much a field's value may be shown (in reject messages, logs, errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    /// Never shown, never written raw.
    Identifier,
    /// Never shown; written only generalized.
    QuasiIdentifier,
    /// A label or date of the case: may be quoted in a reject message.
    Attribute,
}

impl Field {
    pub const ALL: [Field; 14] = [
        Field::ChildId,
        Field::FamilyId,
        Field::CaseId,
        Field::Region,
        Field::Office,
        Field::Municipality,
        Field::CaseType,
        Field::Opened,
        Field::Closed,
        Field::Outcome,
        Field::PlacementType,
        Field::PlacementRegion,
        Field::BirthDate,
        Field::Sex,
    ];

    /// The canonical name, as in the pipeline file and `rejects.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Field::ChildId => "child_id",
            Field::FamilyId => "family_id",
            Field::CaseId => "case_id",
            Field::Region => "region",
            Field::Office => "office",
            Field::Municipality => "municipality",
            Field::CaseType => "case_type",
            Field::Opened => "opened",
            Field::Closed => "closed",
            Field::Outcome => "outcome",
            Field::PlacementType => "placement_type",
            Field::PlacementRegion => "placement_region",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
        }
    }

    pub fn class(self) -> FieldClass {
        match self {
            Field::ChildId | Field::FamilyId | Field::CaseId => FieldClass::Identifier,
            Field::BirthDate | Field::Sex => FieldClass::QuasiIdentifier,
            _ => FieldClass::Attribute,
        }
    }
}

/// Labels of one field, folded for matching: exact spelling first (no allocation on the hot
/// path), then case- and space-insensitive.
#[derive(Debug, Clone)]
pub struct LabelMap<T> {
    exact: HashMap<String, T>,
    folded: HashMap<String, T>,
}

impl<T: Copy> LabelMap<T> {
    fn new() -> Self {
        LabelMap {
            exact: HashMap::new(),
            folded: HashMap::new(),
        }
    }

    fn insert(&mut self, label: &str, value: T) {
        self.exact.insert(label.trim().to_string(), value);
        self.folded.insert(lookup_key(label), value);
    }

    /// The value of a raw label, ignoring case and surrounding spaces.
    pub fn get(&self, raw: &str) -> Option<T> {
        if self.exact.is_empty() {
            return None;
        }
        let trimmed = raw.trim();
        self.exact
            .get(trimmed)
            .or_else(|| self.folded.get(&lookup_key(trimmed)))
            .copied()
    }

    fn with_vocabulary() -> Self
    where
        T: Vocabulary,
    {
        let mut map = Self::new();
        for v in T::ALL {
            map.insert(v.as_str(), *v);
        }
        map
    }
}

/// All label maps of one source.
#[derive(Debug, Clone)]
pub struct Labels {
    pub case_type: LabelMap<CaseType>,
    pub outcome: LabelMap<Outcome>,
    pub placement_type: LabelMap<PlacementType>,
    pub sex: LabelMap<Sex>,
    /// Only the source's own region labels; reference spellings are tried after these.
    pub region: LabelMap<RegionIdx>,
    pub placement_region: LabelMap<RegionIdx>,
    pub municipality: LabelMap<u16>,
    /// Office label → index into `office_names`.
    pub office: LabelMap<u32>,
    pub office_names: Vec<String>,
}

/// One `[[sources]]` entry, checked.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// Glob pattern, resolved against the pipeline file's folder.
    pub pattern: String,
    pub encoding: EncodingChoice,
    pub delimiter: Option<u8>,
    pub date_formats: Vec<DateFormat>,
    pub fixed_region: Option<RegionIdx>,
    pub fixed_office: Option<String>,
    pub child_id_scheme: IdScheme,
    /// Mapped fields and the export header that holds each, in `Field` order.
    pub columns: Vec<(Field, String)>,
    pub labels: Labels,
}

impl Source {
    /// The header mapped to `field`, if any.
    pub fn column(&self, field: Field) -> Option<&str> {
        self.columns
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, h)| h.as_str())
    }
}

/// The outcomes that count as success, default or widened by `[measures]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessSets {
    pub prevention: Vec<Outcome>,
    pub reintegration: Vec<Outcome>,
}

impl Default for SuccessSets {
    fn default() -> Self {
        SuccessSets {
            prevention: vec![Outcome::StayedWithFamily],
            reintegration: vec![Outcome::Reunified],
        }
    }
}

impl SuccessSets {
    /// Whether either set is wider than SPEC §2's default.
    pub fn is_widened(&self) -> bool {
        *self != SuccessSets::default()
    }
}

/// A checked pipeline, ready to run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    /// The pipeline file as given.
    pub file: PathBuf,
    /// SHA-256 of the pipeline file's text, hex (for the manifest).
    pub sha256: String,
    pub key_file: PathBuf,
    pub as_of: Option<NaiveDate>,
    pub min_count: u32,
    pub max_reject_rate: f64,
    pub lang: Lang,
    pub out_dir: Option<PathBuf>,
    pub success: SuccessSets,
    pub sources: Vec<Source>,
}

/// Join `rel` to `base` and drop `.` components, keeping `..` (globs must not be canonicalized).
fn resolve(base: &Path, rel: &Path) -> PathBuf {
    let joined = if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        base.join(rel)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Parse an ISO date (`2024-12-31`).
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Read, parse and check a pipeline file.
pub fn load(path: &Path) -> Result<Pipeline, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parse and check a pipeline file's text; `path` locates relative paths and names errors.
pub fn parse(text: &str, path: &Path) -> Result<Pipeline, ConfigError> {
    let file: PipelineFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let base = path.parent().unwrap_or(Path::new(""));

    if file.name.trim().is_empty()
        || file
            .name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        || file.name == ".."
    {
        return Err(invalid(
            "`name` must be a non-empty name without slashes (it names the output folder)".into(),
        ));
    }
    let as_of = match &file.as_of {
        None => None,
        Some(toml::Value::String(s)) => Some(parse_iso_date(s).ok_or_else(|| {
            invalid(format!(
                "`as_of = \"{s}\"` is not a date; write it as YYYY-MM-DD"
            ))
        })?),
        Some(toml::Value::Datetime(dt)) => Some(
            dt.date
                .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()))
                .ok_or_else(|| invalid("`as_of` must be a date, YYYY-MM-DD".into()))?,
        ),
        Some(_) => return Err(invalid("`as_of` must be a date, YYYY-MM-DD".into())),
    };
    let min_count = file.min_count.unwrap_or(5);
    if min_count == 0 {
        return Err(invalid("`min_count` must be at least 1".into()));
    }
    let max_reject_rate = file.max_reject_rate.unwrap_or(0.05);
    if !(0.0..=1.0).contains(&max_reject_rate) {
        return Err(invalid(format!(
            "`max_reject_rate = {max_reject_rate}` must be between 0 and 1"
        )));
    }
    if file.sources.is_empty() {
        return Err(invalid(
            "no [[sources]]: a pipeline needs at least one source of exports".into(),
        ));
    }
    let success = compile_success(file.measures.as_ref()).map_err(&invalid)?;
    let mut sources = Vec::with_capacity(file.sources.len());
    for (i, s) in file.sources.into_iter().enumerate() {
        if sources.iter().any(|o: &Source| o.name == s.name) {
            return Err(invalid(format!(
                "two sources are named \"{}\"; source names must differ",
                s.name
            )));
        }
        let label = format!("[[sources]] #{} (\"{}\")", i + 1, s.name);
        sources.push(compile_source(s, base).map_err(|m| invalid(format!("{label}: {m}")))?);
    }
    Ok(Pipeline {
        name: file.name,
        file: path.to_path_buf(),
        sha256: {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
        },
        key_file: resolve(base, &file.key_file),
        as_of,
        min_count,
        max_reject_rate,
        lang: file.lang.unwrap_or_default(),
        out_dir: file.out_dir.map(|p| resolve(base, &p)),
        success,
        sources,
    })
}

fn compile_success(measures: Option<&MeasuresFile>) -> Result<SuccessSets, String> {
    let mut sets = SuccessSets::default();
    let Some(m) = measures else { return Ok(sets) };
    for (key, list, case_type, default, target) in [
        (
            "prevention_success",
            &m.prevention_success,
            CaseType::Prevention,
            Outcome::StayedWithFamily,
            &mut sets.prevention,
        ),
        (
            "reintegration_success",
            &m.reintegration_success,
            CaseType::Reintegration,
            Outcome::Reunified,
            &mut sets.reintegration,
        ),
    ] {
        let Some(list) = list else { continue };
        let mut outcomes = Vec::new();
        for label in list {
            let o = Outcome::from_canonical(label.trim()).ok_or_else(|| {
                format!("[measures] {key}: \"{label}\" is not a canonical outcome")
            })?;
            if !o.applies_to(case_type) || o.is_neutral() {
                return Err(format!(
                    "[measures] {key}: \"{label}\" cannot count as a {case_type} success"
                ));
            }
            if !outcomes.contains(&o) {
                outcomes.push(o);
            }
        }
        if !outcomes.contains(&default) {
            return Err(format!(
                "[measures] {key} may only widen the success set: it must include \"{default}\""
            ));
        }
        outcomes.sort();
        *target = outcomes;
    }
    Ok(sets)
}

fn compile_vocabulary<T: Vocabulary>(
    field: &str,
    table: Option<&LabelTable>,
) -> Result<LabelMap<T>, String> {
    let mut map = LabelMap::<T>::with_vocabulary();
    for (label, canonical) in table.into_iter().flatten() {
        let value = T::from_canonical(canonical.trim()).ok_or_else(|| {
            let allowed: Vec<&str> = T::ALL.iter().map(|v| v.as_str()).collect();
            format!(
                "values.{field}: \"{label}\" maps to \"{canonical}\", which is not one of {}",
                allowed.join(", ")
            )
        })?;
        check_no_conflict(field, &map, label, value)?;
        map.insert(label, value);
    }
    Ok(map)
}

fn check_no_conflict<T: Copy + PartialEq>(
    field: &str,
    map: &LabelMap<T>,
    label: &str,
    value: T,
) -> Result<(), String> {
    match map.folded.get(&lookup_key(label)) {
        Some(existing) if *existing != value => Err(format!(
            "values.{field}: \"{label}\" is mapped twice (labels ignore case and spaces)"
        )),
        _ => Ok(()),
    }
}

fn compile_regions(field: &str, table: Option<&LabelTable>) -> Result<LabelMap<RegionIdx>, String> {
    let mut map = LabelMap::new();
    for (label, target) in table.into_iter().flatten() {
        let idx = reference::find_region(target).ok_or_else(|| {
            format!(
                "values.{field}: \"{label}\" maps to \"{target}\", which is not an oblast code, NUTS-3 code or name"
            )
        })?;
        check_no_conflict(field, &map, label, idx)?;
        map.insert(label, idx);
    }
    Ok(map)
}

fn compile_source(s: SourceFile, base: &Path) -> Result<Source, String> {
    if s.name.trim().is_empty() {
        return Err("`name` must not be empty".into());
    }
    let delimiter = match s.delimiter.as_deref() {
        None => None,
        Some("\t") | Some("\\t") | Some("tab") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" && d != "\r" => {
            Some(d.as_bytes()[0])
        }
        Some(d) => {
            return Err(format!(
                "delimiter \"{}\" must be one character such as \",\", \";\" or \"\\t\"",
                d.escape_debug()
            ));
        }
    };
    let date_formats = compile_formats(s.date_formats.as_deref())?;
    let fixed_region = match &s.region {
        None => None,
        Some(r) => Some(reference::find_region(r).ok_or_else(|| {
            format!("region = \"{r}\" is not an oblast code (e.g. \"VAR\"), NUTS-3 code or name")
        })?),
    };
    let c = s.columns;
    let mapped = [
        (Field::ChildId, c.child_id),
        (Field::FamilyId, c.family_id),
        (Field::CaseId, c.case_id),
        (Field::Region, c.region),
        (Field::Office, c.office),
        (Field::Municipality, c.municipality),
        (Field::CaseType, c.case_type),
        (Field::Opened, c.opened),
        (Field::Closed, c.closed),
        (Field::Outcome, c.outcome),
        (Field::PlacementType, c.placement_type),
        (Field::PlacementRegion, c.placement_region),
        (Field::BirthDate, c.birth_date),
        (Field::Sex, c.sex),
    ];
    let columns: Vec<(Field, String)> = mapped
        .into_iter()
        .filter_map(|(f, h)| h.map(|h| (f, h.trim().to_string())))
        .collect();
    for required in [Field::ChildId, Field::CaseType, Field::Opened] {
        if !columns.iter().any(|(f, _)| *f == required) {
            return Err(format!(
                "[sources.columns] must map `{}` (a required field) to a column of the export",
                required.name()
            ));
        }
    }
    if fixed_region.is_none() && !columns.iter().any(|(f, _)| *f == Field::Region) {
        return Err(
            "no region: map `region` in [sources.columns] or give a fixed `region = \"VAR\"`"
                .into(),
        );
    }
    let v = s.values;
    let mut municipality = LabelMap::new();
    for (label, target) in v.municipality.iter().flatten() {
        let m = reference::municipalities()
            .iter()
            .position(|m| m.code.eq_ignore_ascii_case(target.trim()))
            .ok_or_else(|| {
                format!(
                    "values.municipality: \"{label}\" maps to \"{target}\", which is not a municipality code such as \"VAR01\""
                )
            })? as u16;
        municipality.insert(label, m);
    }
    let mut office = LabelMap::new();
    let mut office_names: Vec<String> = Vec::new();
    for (label, name) in v.office.iter().flatten() {
        let idx = match office_names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                office_names.push(name.clone());
                office_names.len() - 1
            }
        } as u32;
        office.insert(label, idx);
    }
    let labels = Labels {
        case_type: compile_vocabulary("case_type", v.case_type.as_ref())?,
        outcome: compile_vocabulary("outcome", v.outcome.as_ref())?,
        placement_type: compile_vocabulary("placement_type", v.placement_type.as_ref())?,
        sex: compile_vocabulary("sex", v.sex.as_ref())?,
        region: compile_regions("region", v.region.as_ref())?,
        placement_region: compile_regions("placement_region", v.placement_region.as_ref())?,
        municipality,
        office,
        office_names,
    };
    let pattern = resolve(base, Path::new(&s.path));
    Ok(Source {
        name: s.name,
        pattern: pattern.to_string_lossy().into_owned(),
        encoding: s.encoding,
        delimiter,
        date_formats,
        fixed_region,
        fixed_office: s.office,
        child_id_scheme: s.child_id_scheme,
        columns,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let doc = include_str!("../docs/pipeline.md");
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
        let p = parse_str(
            &MINIMAL.replace("region = \"VAR\"", "region = \"VAR\"\ndelimiter = \"\\t\""),
        )
        .unwrap();
        assert_eq!(p.sources[0].delimiter, Some(b'\t'));
        let err =
            parse_str(&MINIMAL.replace("region = \"VAR\"", "region = \"VAR\"\ndelimiter = \";;\""))
                .unwrap_err()
                .to_string();
        assert!(err.contains("delimiter"), "{err}");
        let err =
            parse_str(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nas_of = \"31.12.2024\""))
                .unwrap_err()
                .to_string();
        assert!(err.contains("YYYY-MM-DD"), "{err}");
        let p = parse_str(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nas_of = 2024-12-31"))
            .unwrap();
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
}

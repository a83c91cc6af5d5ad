//! `[[programmes]]` (SPEC §10): an NGO programme as written (`ProgrammeFile`) and as checked
//! (`Programme`): who its members are (offices, sources, regions, municipalities), when it ran
//! and what it is compared with. Settings only: which case is a member is `measures`' to decide.

use chrono::NaiveDate;
use serde::Deserialize;

use super::pipeline::parse_iso_date;
use super::sources::Source;
use crate::model::RegionIdx;
use crate::reference::{self, lookup_key};

/// At most this many programmes in one pipeline: a case's memberships are one bit each.
pub const MAX_PROGRAMMES: usize = 32;

// ---------------------------------------------------------------------------------------------
// As written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgrammeFile {
    name: String,
    title: Option<String>,
    #[serde(default)]
    offices: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    municipalities: Vec<String>,
    start: toml::Value,
    end: Option<toml::Value>,
    comparison: Option<toml::Value>,
}

// ---------------------------------------------------------------------------------------------
// Checked.

/// What a programme is compared with (SPEC §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Every case not in the programme.
    Rest,
    /// The cases of these regions that are not in the programme.
    Regions(Vec<RegionIdx>),
}

/// One checked programme. Membership is a union: a case is in when its office, source, region
/// or municipality is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    /// `[a-z0-9-]+`: its id in the outputs and in file names.
    pub name: String,
    /// The title the reports show (the name when none is given).
    pub title: String,
    /// Office names as written; matched like labels (`lookup_key`).
    pub offices: Vec<String>,
    /// Indices into the pipeline's sources.
    pub sources: Vec<usize>,
    pub regions: Vec<RegionIdx>,
    /// Indices into `reference::municipalities()`.
    pub municipalities: Vec<u16>,
    pub start: NaiveDate,
    /// `None`: still running.
    pub end: Option<NaiveDate>,
    pub comparison: Comparison,
}

// ---------------------------------------------------------------------------------------------
// The check.

/// Check every programme against the pipeline's sources and the reference data.
pub(super) fn compile(
    programmes: Vec<ProgrammeFile>,
    sources: &[Source],
) -> Result<Vec<Programme>, String> {
    if programmes.len() > MAX_PROGRAMMES {
        return Err(format!(
            "{} [[programmes]]: at most {MAX_PROGRAMMES} can be run in one pipeline; split it",
            programmes.len()
        ));
    }
    let mut checked: Vec<Programme> = Vec::with_capacity(programmes.len());
    for (i, p) in programmes.into_iter().enumerate() {
        let label = format!("[[programmes]] #{} (\"{}\")", i + 1, p.name);
        let programme = compile_one(p, sources).map_err(|m| format!("{label}: {m}"))?;
        if checked.iter().any(|o| o.name == programme.name) {
            return Err(format!(
                "{label}: two programmes are named \"{}\"; programme names must differ",
                programme.name
            ));
        }
        checked.push(programme);
    }
    Ok(checked)
}

fn compile_one(p: ProgrammeFile, sources: &[Source]) -> Result<Programme, String> {
    if p.name.is_empty()
        || !p
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(
            "`name` must be lowercase letters a-z, digits and hyphens (it names the programme's report files)"
                .into(),
        );
    }
    if p.offices.is_empty()
        && p.sources.is_empty()
        && p.regions.is_empty()
        && p.municipalities.is_empty()
    {
        return Err(
            "lists no members: give at least one of `offices`, `sources`, `regions`, `municipalities`"
                .into(),
        );
    }
    for office in &p.offices {
        if office.trim().is_empty() {
            return Err("`offices` holds an empty name".into());
        }
    }
    let mut source_indices = Vec::new();
    for s in &p.sources {
        let i = sources.iter().position(|o| o.name == *s).ok_or_else(|| {
            let names: Vec<&str> = sources.iter().map(|o| o.name.as_str()).collect();
            format!(
                "`sources`: \"{s}\" is not a source of this pipeline (its sources: {})",
                names.join(", ")
            )
        })?;
        source_indices.push(i);
    }
    let regions = region_codes(&p.regions, "regions")?;
    let mut municipalities = Vec::new();
    for m in &p.municipalities {
        municipalities.push(municipality(m)?);
    }
    let start = date(&p.start, "start")?;
    let end = p.end.as_ref().map(|v| date(v, "end")).transpose()?;
    if let Some(end) = end
        && end < start
    {
        return Err(format!("`end = {end}` is before `start = {start}`"));
    }
    let comparison = match &p.comparison {
        None => Comparison::Rest,
        Some(toml::Value::String(s)) if s == "rest" => Comparison::Rest,
        Some(toml::Value::Array(list)) if !list.is_empty() => {
            let mut codes = Vec::new();
            for v in list {
                match v {
                    toml::Value::String(s) => codes.push(s.clone()),
                    _ => return Err("`comparison` must list region codes as strings".into()),
                }
            }
            Comparison::Regions(region_codes(&codes, "comparison")?)
        }
        Some(_) => {
            return Err(
                "`comparison` must be \"rest\" or a list of region codes, e.g. [\"SHU\", \"TGV\"]"
                    .into(),
            );
        }
    };
    Ok(Programme {
        title: p
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| p.name.clone()),
        name: p.name,
        offices: p.offices.iter().map(|o| o.trim().to_string()).collect(),
        sources: source_indices,
        regions,
        municipalities,
        start,
        end,
        comparison,
    })
}

/// Oblast codes (`VAR`; case ignored), each once.
fn region_codes(codes: &[String], key: &str) -> Result<Vec<RegionIdx>, String> {
    let mut out = Vec::new();
    for code in codes {
        let region = reference::region_by_code(&code.trim().to_uppercase()).ok_or_else(|| {
            format!(
                "`{key}`: \"{code}\" is not an oblast code (the 28 codes are in reference/oblasts.csv, e.g. VAR, DOB, SOF)"
            )
        })?;
        if !out.contains(&region) {
            out.push(region);
        }
    }
    Ok(out)
}

/// A municipality by code (`VAR01`) or Bulgarian name; a name that two oblasts share is
/// qualified by the oblast's code: `Бяла (RSE)`.
fn municipality(written: &str) -> Result<u16, String> {
    let all = reference::municipalities();
    let key = lookup_key(written);
    if let Some(i) = all.iter().position(|m| lookup_key(&m.code) == key) {
        return Ok(i as u16);
    }
    let (name, oblast) = match written
        .trim()
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once('('))
    {
        Some((name, code)) => (
            lookup_key(name),
            Some(
                reference::region_by_code(&code.trim().to_uppercase()).ok_or_else(|| {
                    format!("`municipalities`: \"{written}\": \"{code}\" is not an oblast code")
                })?,
            ),
        ),
        None => (key, None),
    };
    let matches: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, m)| lookup_key(&m.name_bg) == name && oblast.is_none_or(|o| m.oblast == o))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one as u16),
        [] => Err(format!(
            "`municipalities`: \"{written}\" is not a municipality code or name (see reference/municipalities.csv)"
        )),
        many => {
            let spelled: Vec<String> = many
                .iter()
                .map(|i| {
                    let m = &all[*i];
                    let code = &reference::oblasts()[usize::from(m.oblast)].code;
                    format!("\"{} ({code})\"", m.name_bg)
                })
                .collect();
            Err(format!(
                "`municipalities`: \"{written}\" names {} municipalities; write one of {} or its code",
                many.len(),
                spelled.join(", ")
            ))
        }
    }
}

/// A date written as `"2011-09-01"` or as a TOML date.
fn date(value: &toml::Value, key: &str) -> Result<NaiveDate, String> {
    let parsed = match value {
        toml::Value::String(s) => parse_iso_date(s),
        toml::Value::Datetime(dt) if dt.time.is_none() => dt
            .date
            .and_then(|d| NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())),
        _ => None,
    };
    parsed.ok_or_else(|| format!("`{key}` must be a date, written YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(toml_text: &str) -> Result<Programme, String> {
        let p: ProgrammeFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        compile_one(p, &[])
    }

    #[test]
    fn a_whole_programme_is_checked_into_indices() {
        let p = one(r#"name = "varna-dobrich"
               title = "Социални работници"
               regions = ["var", "DOB"]
               municipalities = ["VAR01", "Бяла (VAR)"]
               offices = [" ОЗД Варна "]
               start = "2011-09-01"
               end = 2017-11-30
               comparison = ["SHU"]"#)
        .unwrap();
        let code = |r: RegionIdx| reference::oblasts()[usize::from(r)].code.as_str();
        assert_eq!(
            p.regions.iter().map(|r| code(*r)).collect::<Vec<_>>(),
            ["VAR", "DOB"]
        );
        let m = &reference::municipalities()[usize::from(p.municipalities[1])];
        assert_eq!((m.name_bg.as_str(), code(m.oblast)), ("Бяла", "VAR"));
        assert_eq!(p.offices, ["ОЗД Варна"]);
        assert_eq!(p.end, NaiveDate::from_ymd_opt(2017, 11, 30));
        assert_eq!(
            p.comparison,
            Comparison::Regions(vec![reference::region_by_code("SHU").unwrap()])
        );
    }

    #[test]
    fn a_shared_municipality_name_must_be_qualified() {
        let e = one(r#"name = "a"
                       municipalities = ["Бяла"]
                       start = "2011-01-01""#)
        .unwrap_err();
        assert!(e.contains("Бяла (RSE)") && e.contains("Бяла (VAR)"), "{e}");
    }

    #[test]
    fn bad_names_members_dates_and_comparisons_are_refused() {
        for (text, says) in [
            (
                r#"name = "Varna"
                regions = ["VAR"]
                start = "2011-01-01""#,
                "lowercase",
            ),
            (
                r#"name = "a"
                start = "2011-01-01""#,
                "lists no members",
            ),
            (
                r#"name = "a"
                regions = ["XXX"]
                start = "2011-01-01""#,
                "not an oblast code",
            ),
            (
                r#"name = "a"
                regions = ["VAR"]
                start = "1.9.2011""#,
                "`start` must be a date",
            ),
            (
                r#"name = "a"
                regions = ["VAR"]
                start = "2011-01-01"
                end = "2010-12-31""#,
                "is before `start",
            ),
            (
                r#"name = "a"
                regions = ["VAR"]
                start = "2011-01-01"
                comparison = "others""#,
                "\"rest\" or a list",
            ),
            (
                r#"name = "a"
                sources = ["nowhere"]
                start = "2011-01-01""#,
                "not a source",
            ),
        ] {
            let e = one(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}

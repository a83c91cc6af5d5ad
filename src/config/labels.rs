//! `[sources.values.*]`: the value maps of one source, as written and as checked `Labels`
//! (every target a canonical value, oblast or municipality; no label mapped twice). It only
//! builds maps; ingest does the lookups on the hot path.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::model::{CaseType, Outcome, PlacementType, RegionIdx, Sex, Vocabulary};
use crate::reference::{self, lookup_key};

// ---------------------------------------------------------------------------------------------
// As written.

pub(super) type LabelTable = BTreeMap<String, String>;

/// Label in this export = canonical value, for each attribute field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValuesFile {
    case_type: Option<LabelTable>,
    outcome: Option<LabelTable>,
    placement_type: Option<LabelTable>,
    sex: Option<LabelTable>,
    region: Option<LabelTable>,
    placement_region: Option<LabelTable>,
    municipality: Option<LabelTable>,
    office: Option<LabelTable>,
}

// ---------------------------------------------------------------------------------------------
// Checked.

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

// ---------------------------------------------------------------------------------------------
// The check.

/// Check a source's value maps; the message names the map and the label.
pub(super) fn compile(v: ValuesFile) -> Result<Labels, String> {
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
    Ok(Labels {
        case_type: compile_vocabulary("case_type", v.case_type.as_ref())?,
        outcome: compile_vocabulary("outcome", v.outcome.as_ref())?,
        placement_type: compile_vocabulary("placement_type", v.placement_type.as_ref())?,
        sex: compile_vocabulary("sex", v.sex.as_ref())?,
        region: compile_regions("region", v.region.as_ref())?,
        placement_region: compile_regions("placement_region", v.placement_region.as_ref())?,
        municipality,
        office,
        office_names,
    })
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

//! `[measures]`: the success sets of SPEC §2, as written and as checked `SuccessSets` (they
//! may only widen the defaults). Settings only: the measures themselves are `crate::measures`.

use serde::Deserialize;

use crate::model::{CaseType, Outcome, Vocabulary};

// ---------------------------------------------------------------------------------------------
// As written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MeasuresFile {
    prevention_success: Option<Vec<String>>,
    reintegration_success: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Checked.

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

// ---------------------------------------------------------------------------------------------
// The check.

/// The success sets: SPEC §2's defaults, widened by `[measures]` when present.
pub(super) fn compile(measures: Option<&MeasuresFile>) -> Result<SuccessSets, String> {
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

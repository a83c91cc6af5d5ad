//! The reference data the program ships (oblasts and municipalities, EKATTE 2018), compiled in
//! so the binary runs where no reference folder exists, and the lookups that resolve the many
//! ways an export spells a region or municipality.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::model::RegionIdx;

const OBLASTS_CSV: &str = include_str!("../reference/oblasts.csv");
const MUNICIPALITIES_CSV: &str = include_str!("../reference/municipalities.csv");

/// One of the 28 oblasts.
#[derive(Debug, Clone)]
pub struct Oblast {
    /// EKATTE oblast code, e.g. `VAR`.
    pub code: String,
    /// NUTS-3 code, e.g. `BG331`.
    pub nuts3: String,
    /// EKATTE number of the oblast centre, e.g. `10135`.
    pub ekatte: String,
    pub name_bg: String,
    pub name_en: String,
    /// Tile-grid position for the report's map (5 rows × 7 columns).
    pub grid_row: u8,
    pub grid_col: u8,
}

/// One of the 265 municipalities.
#[derive(Debug, Clone)]
pub struct Municipality {
    /// e.g. `VAR01`.
    pub code: String,
    pub name_bg: String,
    pub oblast: RegionIdx,
}

struct Reference {
    oblasts: Vec<Oblast>,
    municipalities: Vec<Municipality>,
    region_by_key: HashMap<String, RegionIdx>,
    municipality_by_code: HashMap<String, u16>,
    /// Municipality names are not unique across oblasts (`Бяла`), so a name maps to all of them.
    municipalities_by_name: HashMap<String, Vec<u16>>,
}

/// Spellings of the two Sofias that exports use and the reference names do not cover.
/// Plain "София"/"Sofia" is deliberately absent: it is ambiguous and needs a value map.
const REGION_ALIASES: &[(&str, &str)] = &[
    ("София-град", "SOF"),
    ("София град", "SOF"),
    ("гр. София", "SOF"),
    ("Столична", "SOF"),
    ("Sofia-grad", "SOF"),
    ("Sofia grad", "SOF"),
    ("Sofia (capital)", "SOF"),
    ("Sofia capital", "SOF"),
    ("Софийска област", "SFO"),
    ("Софийска", "SFO"),
    ("София-област", "SFO"),
    ("София област", "SFO"),
    ("Sofia oblast", "SFO"),
    ("Sofia region", "SFO"),
    ("Sofia-oblast", "SFO"),
];

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(load)
}

/// The lookup key for names and codes: case-folded, trimmed, inner whitespace collapsed.
pub fn lookup_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

fn load() -> Reference {
    // The embedded files are part of the source tree and covered by tests, so a parse
    // failure here is a build defect, not an input problem.
    let mut oblasts = Vec::new();
    let mut rdr = csv::Reader::from_reader(OBLASTS_CSV.as_bytes());
    for rec in rdr.records() {
        let rec = rec.expect("embedded oblasts.csv is valid CSV");
        oblasts.push(Oblast {
            code: rec[0].to_string(),
            nuts3: rec[1].to_string(),
            ekatte: rec[2].to_string(),
            name_bg: rec[3].to_string(),
            name_en: rec[4].to_string(),
            grid_row: rec[5].parse().expect("embedded grid_row is a number"),
            grid_col: rec[6].parse().expect("embedded grid_col is a number"),
        });
    }
    let mut region_by_key = HashMap::new();
    for (i, o) in oblasts.iter().enumerate() {
        let idx = i as RegionIdx;
        for name in [&o.code, &o.nuts3, &o.name_bg, &o.name_en] {
            region_by_key.insert(lookup_key(name), idx);
        }
    }
    // The EKATTE number of the oblast centre names the oblast too, except Sofia's 68134,
    // which is the centre of both Sofia City and Sofia Province.
    for (i, o) in oblasts.iter().enumerate() {
        if oblasts
            .iter()
            .filter(|other| other.ekatte == o.ekatte)
            .count()
            == 1
        {
            region_by_key.insert(lookup_key(&o.ekatte), i as RegionIdx);
        }
    }
    for (alias, code) in REGION_ALIASES {
        let idx = oblasts
            .iter()
            .position(|o| o.code == *code)
            .expect("alias targets an embedded oblast code") as RegionIdx;
        region_by_key.insert(lookup_key(alias), idx);
    }

    let mut municipalities = Vec::new();
    let mut rdr = csv::Reader::from_reader(MUNICIPALITIES_CSV.as_bytes());
    for rec in rdr.records() {
        let rec = rec.expect("embedded municipalities.csv is valid CSV");
        let oblast = oblasts
            .iter()
            .position(|o| o.code == rec[3])
            .expect("embedded municipality names an embedded oblast")
            as RegionIdx;
        municipalities.push(Municipality {
            code: rec[0].to_string(),
            name_bg: rec[2].to_string(),
            oblast,
        });
    }
    let mut municipality_by_code = HashMap::new();
    let mut municipalities_by_name: HashMap<String, Vec<u16>> = HashMap::new();
    for (i, m) in municipalities.iter().enumerate() {
        municipality_by_code.insert(lookup_key(&m.code), i as u16);
        municipalities_by_name
            .entry(lookup_key(&m.name_bg))
            .or_default()
            .push(i as u16);
    }
    Reference {
        oblasts,
        municipalities,
        region_by_key,
        municipality_by_code,
        municipalities_by_name,
    }
}

/// The 28 oblasts in reference order.
pub fn oblasts() -> &'static [Oblast] {
    &reference().oblasts
}

/// The 265 municipalities in reference order.
pub fn municipalities() -> &'static [Municipality] {
    &reference().municipalities
}

/// Resolve a region spelled as EKATTE code, NUTS-3 code, Bulgarian or English name
/// (case and spacing ignored; `област`/`обл.`/`oblast`/`province` around a name tolerated).
pub fn find_region(s: &str) -> Option<RegionIdx> {
    let r = reference();
    let key = lookup_key(s);
    if let Some(idx) = r.region_by_key.get(&key) {
        return Some(*idx);
    }
    let stripped = key
        .trim_start_matches("област ")
        .trim_start_matches("обл. ")
        .trim_start_matches("обл.")
        .trim_end_matches(" област")
        .trim_end_matches(" oblast")
        .trim_end_matches(" province")
        .trim_end_matches(" region")
        .trim();
    r.region_by_key.get(stripped).copied()
}

/// Resolve a municipality by code (`VAR01`) or Bulgarian name; a name shared by several
/// municipalities is resolved by the case's region.
pub fn find_municipality(s: &str, region: RegionIdx) -> Option<u16> {
    let r = reference();
    let key = lookup_key(s);
    if let Some(idx) = r.municipality_by_code.get(&key) {
        return Some(*idx);
    }
    let key = key
        .trim_start_matches("община ")
        .trim_start_matches("общ. ")
        .trim();
    let candidates = r.municipalities_by_name.get(key)?;
    match candidates.as_slice() {
        [one] => Some(*one),
        many => many
            .iter()
            .copied()
            .find(|m| r.municipalities[*m as usize].oblast == region),
    }
}

/// The oblast with EKATTE code `code`.
pub fn region_by_code(code: &str) -> Option<RegionIdx> {
    oblasts()
        .iter()
        .position(|o| o.code == code)
        .map(|i| i as RegionIdx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(idx: Option<RegionIdx>) -> Option<&'static str> {
        idx.map(|i| oblasts()[i as usize].code.as_str())
    }

    #[test]
    fn ships_the_full_classification() {
        assert_eq!(oblasts().len(), 28);
        assert_eq!(municipalities().len(), 265);
    }

    #[test]
    fn regions_resolve_from_every_spelling() {
        assert_eq!(code(find_region("VAR")), Some("VAR"));
        assert_eq!(code(find_region(" var ")), Some("VAR"));
        assert_eq!(code(find_region("BG331")), Some("VAR"));
        assert_eq!(code(find_region("Варна")), Some("VAR"));
        assert_eq!(code(find_region("varna")), Some("VAR"));
        assert_eq!(code(find_region("Велико  Търново")), Some("VTR"));
        assert_eq!(code(find_region("Област Добрич")), Some("DOB"));
        assert_eq!(code(find_region("Plovdiv Province")), Some("PDV"));
        assert_eq!(
            code(find_region("63427")),
            Some("RSE"),
            "EKATTE number of Ruse"
        );
        assert_eq!(
            find_region("68134"),
            None,
            "Sofia's EKATTE number is ambiguous"
        );
    }

    #[test]
    fn the_two_sofias_stay_apart() {
        assert_eq!(code(find_region("София-град")), Some("SOF"));
        assert_eq!(code(find_region("Sofia City")), Some("SOF"));
        assert_eq!(code(find_region("София (столица)")), Some("SOF"));
        assert_eq!(code(find_region("Софийска област")), Some("SFO"));
        assert_eq!(code(find_region("Sofia Province")), Some("SFO"));
        assert_eq!(find_region("София"), None, "plain Sofia is ambiguous");
        assert_eq!(find_region("Atlantis"), None);
    }

    #[test]
    fn municipality_names_shared_by_two_oblasts_resolve_by_region() {
        let ruse = region_by_code("RSE").unwrap();
        let varna = region_by_code("VAR").unwrap();
        let a = find_municipality("Бяла", ruse).unwrap();
        let b = find_municipality("Бяла", varna).unwrap();
        assert_ne!(a, b);
        assert_eq!(municipalities()[a as usize].oblast, ruse);
        assert_eq!(
            find_municipality("VAR01", ruse).map(|m| municipalities()[m as usize].code.as_str()),
            Some("VAR01")
        );
        assert_eq!(
            find_municipality("Аврен", ruse).map(|m| municipalities()[m as usize].code.as_str()),
            Some("VAR01")
        );
    }
}

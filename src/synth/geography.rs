//! Where synth's cases happen: the project's oblasts and municipalities (`reference`), weighted
//! by population, and the districts of Sofia City. Reads the reference data, never changes it;
//! how a layout spells a place is `layouts`' and `write`'s.

use anyhow::bail;

use crate::model::RegionIdx;
use crate::reference::{self, Municipality, Oblast};

/// Oblast populations, thousands (2021 census, rounded).
const POPULATION: &[(&str, f64)] = &[
    ("BLG", 292.0),
    ("BGS", 378.0),
    ("VAR", 470.0),
    ("VTR", 224.0),
    ("VID", 78.0),
    ("VRC", 160.0),
    ("GAB", 107.0),
    ("DOB", 172.0),
    ("KRZ", 158.0),
    ("KNL", 117.0),
    ("LOV", 123.0),
    ("MON", 126.0),
    ("PAZ", 232.0),
    ("PER", 121.0),
    ("PVN", 236.0),
    ("PDV", 634.0),
    ("RAZ", 108.0),
    ("RSE", 197.0),
    ("SLS", 104.0),
    ("SLV", 177.0),
    ("SML", 98.0),
    ("SFO", 237.0),
    ("SOF", 1275.0),
    ("SZR", 298.0),
    ("TGV", 102.0),
    ("HKV", 212.0),
    ("SHU", 156.0),
    ("JAM", 117.0),
];

/// Child protection departments of Sofia City, one per district.
pub(super) const SOFIA_DISTRICTS: &[&str] = &[
    "ОЗД Младост",
    "ОЗД Люлин",
    "ОЗД Красно село",
    "ОЗД Лозенец",
    "ОЗД Надежда",
    "ОЗД Слатина",
    "ОЗД Искър",
    "ОЗД Подуяне",
    "ОЗД Оборище",
    "ОЗД Сердика",
    "ОЗД Възраждане",
    "ОЗД Триадица",
    "ОЗД Красна поляна",
    "ОЗД Илинден",
    "ОЗД Овча купел",
    "ОЗД Витоша",
    "ОЗД Изгрев",
    "ОЗД Студентски",
    "ОЗД Кремиковци",
    "ОЗД Нови Искър",
    "ОЗД Банкя",
    "ОЗД Панчарево",
    "ОЗД Връбница",
    "ОЗД Средец",
];

/// One oblast as the simulation uses it.
pub(super) struct Area {
    /// Share of the national population.
    pub weight: f64,
    /// Its municipalities, as indices into `reference::municipalities()`.
    pub municipalities: Vec<u16>,
    /// The municipality of the oblast centre (same name as the oblast), if any.
    pub center: Option<u16>,
}

/// The oblasts in reference order (an oblast's index is its `RegionIdx`).
pub(super) struct Geo {
    pub areas: Vec<Area>,
    /// Cumulative population weights, for drawing an oblast.
    pub cumulative: Vec<f64>,
}

impl Geo {
    pub(super) fn load() -> anyhow::Result<Geo> {
        let oblasts = reference::oblasts();
        if oblasts.len() != 28 {
            bail!("the reference has {} oblasts, not 28", oblasts.len());
        }
        let mut areas: Vec<Area> = oblasts
            .iter()
            .map(|o| Area {
                weight: POPULATION
                    .iter()
                    .find(|(c, _)| *c == o.code)
                    .map_or(100.0, |(_, p)| *p),
                municipalities: Vec::new(),
                center: None,
            })
            .collect();
        let total: f64 = areas.iter().map(|a| a.weight).sum();
        let mut cumulative = Vec::with_capacity(areas.len());
        let mut acc = 0.0;
        for a in &mut areas {
            a.weight /= total;
            acc += a.weight;
            cumulative.push(acc);
        }
        for (idx, m) in reference::municipalities().iter().enumerate() {
            let oblast = &oblasts[m.oblast as usize];
            let area = &mut areas[m.oblast as usize];
            let idx = idx as u16;
            area.municipalities.push(idx);
            // Sofia City is one municipality (Столична), named unlike the oblast.
            if m.name_bg == oblast.name_bg || area.municipalities.len() == 1 && oblast.code == "SOF"
            {
                area.center = Some(idx);
            }
        }
        if let Some(i) = areas.iter().position(|a| a.municipalities.is_empty()) {
            bail!("the reference has no municipality in {}", oblasts[i].code);
        }
        Ok(Geo { areas, cumulative })
    }

    pub(super) fn oblast(&self, idx: RegionIdx) -> &'static Oblast {
        &reference::oblasts()[idx as usize]
    }

    pub(super) fn municipality(&self, idx: u16) -> &'static Municipality {
        &reference::municipalities()[idx as usize]
    }
}

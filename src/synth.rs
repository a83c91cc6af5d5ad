//! Synthetic office exports (`outcomes synth`): realistic, deterministic per seed, only fake people.
//! Owned by the synth work; see the module contract in `write_exports`.
//!
//! The simulation walks the calendar day by day from 2015-01-01 to 2024-12-31. Each day, each
//! oblast opens a number of new cases (national volumes of the Agency for Social Assistance,
//! spread over the oblasts by population); a case is simulated to its end when it opens (closing
//! date, outcome, placement) and written at once to the export file of the office that serves the
//! oblast, for the year it was opened. Later cases of the same child (re-entry after
//! reunification, reintegration after a placement, a new prevention case, a transfer to another
//! oblast) wait in a small queue until their opening day. Memory therefore holds only the queue
//! and one open file per office, whatever the number of rows; files are in order of opening date.
//!
//! Four layouts (A `dsp`, B `ngo`, C `sofia`, D `regional`) mimic the ways offices export; the
//! `pipeline.toml` written beside them maps every layout onto the canonical fields of SPEC §2.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{CaseType, Outcome, PlacementType, Vocabulary};
use crate::pseudonym::{egn_check_digit, lnch_check_digit};
use crate::reference::{self, Municipality, Oblast};

/// What `write_exports` wrote.
#[derive(Debug, Clone)]
pub struct SynthSummary {
    /// Every CSV file written, with its data-row count (header excluded).
    pub files: Vec<(PathBuf, u64)>,
    /// The pipeline file written beside the exports.
    pub pipeline: PathBuf,
}

/// Write synthetic exports of about `rows` data rows into `out`, deterministic for `seed`.
///
/// Writes `dsp_<code>/dsp_<code>_<year>.csv` (layout A, one folder per oblast), `ngo/ngo_<year>.csv`
/// (B), `sofia/sofia_<year>.csv` (C), `regional/regional_<year>.csv` (D), `pipeline.toml` and the
/// public `demo.key`. Export files of these names left in `out` by an earlier run are removed
/// first, so the pipeline's globs see only this run; nothing else in `out` is touched.
pub fn write_exports(out: &Path, rows: u64, seed: u64) -> anyhow::Result<SynthSummary> {
    generate(out, rows, seed).map(|(summary, _)| summary)
}

// ---------------------------------------------------------------------------------------------
// Calibration.

const FIRST_YEAR: i32 = 2015;
const LAST_YEAR: i32 = 2024;
const YEARS: usize = (LAST_YEAR - FIRST_YEAR + 1) as usize;

/// New prevention cases per year, 2015–2024 (agency reports; 2015 and 2024 interpolated).
const PREVENTION_PER_YEAR: [f64; YEARS] = [
    4300.0, 4268.0, 3186.0, 2703.0, 2854.0, 3781.0, 3864.0, 3708.0, 3570.0, 3600.0,
];
/// New reintegration cases per year, 2015–2024 (about 2,000 a year; 2020 lower).
const REINTEGRATION_PER_YEAR: [f64; YEARS] = [
    2000.0, 2050.0, 1950.0, 1900.0, 1900.0, 1700.0, 1850.0, 1900.0, 1950.0, 2000.0,
];
/// Rows written per new case drawn: follow-on cases of the same child and duplicate rows
/// (measured on runs of 30,000–1,000,000 rows).
const ROWS_PER_NEW_CASE: f64 = 1.094;
/// Children per family group opened together (siblings): 90 % one, 7.5 % two, 2.5 % three.
const MEAN_FAMILY: f64 = 1.125;

const BAD_RATE: f64 = 0.015;
const EXACT_DUP_RATE: f64 = 0.005;
/// Applied to closed cases only (~90 % of cases), so about 0.5 % of rows.
const CROSS_DUP_RATE: f64 = 0.0055;
/// From this many rows on, layout A serves 12 oblasts and layout C four.
const LARGE_ROWS: u64 = 100_000;

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

const SOFIA_OBLASTS: &[&str] = &["SOF", "SFO"];
const SOFIA_OBLASTS_LARGE: &[&str] = &["PER", "KNL"];
const NGO_OBLASTS: &[&str] = &["VAR", "BGS", "RSE", "SLV", "JAM"];
const DSP_OBLASTS: &[&str] = &["DOB", "VTR", "SML"];
const DSP_OBLASTS_LARGE: &[&str] = &[
    "BLG", "VID", "VRC", "GAB", "KRZ", "LOV", "MON", "PAZ", "PVN",
];

// ---------------------------------------------------------------------------------------------
// Vocabulary: the project's own (`model`), spelled per layout.

/// The placement an outcome puts the child in, if any.
fn placement_of(outcome: Outcome) -> Option<PlacementType> {
    match outcome {
        Outcome::KinshipCare => Some(PlacementType::KinshipCare),
        Outcome::FosterCare => Some(PlacementType::FosterCare),
        Outcome::ResidentialCare => Some(PlacementType::ResidentialCare),
        Outcome::Institution => Some(PlacementType::Institution),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// A: Social Assistance Directorate, old software; one folder per oblast.
    Dsp,
    /// B: NGO partner, English.
    Ngo,
    /// C: Sofia offices.
    Sofia,
    /// D: the other regional directorates.
    Regional,
}

impl Layout {
    fn is_1251(self) -> bool {
        matches!(self, Layout::Dsp | Layout::Regional)
    }

    fn crlf(self) -> bool {
        self.is_1251()
    }

    fn delimiter(self) -> char {
        match self {
            Layout::Dsp => ';',
            Layout::Ngo | Layout::Regional => ',',
            Layout::Sofia => '\t',
        }
    }

    fn header(self) -> &'static [&'static str] {
        match self {
            Layout::Dsp => HEADER_A,
            Layout::Ngo => HEADER_B,
            Layout::Sofia => HEADER_C,
            Layout::Regional => HEADER_D,
        }
    }

    fn case_type_label(self, ct: CaseType) -> &'static str {
        let labels = match self {
            Layout::Dsp => CASE_TYPE_A,
            Layout::Ngo => CASE_TYPE_B,
            Layout::Sofia => CASE_TYPE_C,
            // Canonical values throughout.
            Layout::Regional => return ct.as_str(),
        };
        labels[ct as usize]
    }

    fn outcome_label(self, o: Outcome) -> &'static str {
        let labels = match self {
            Layout::Dsp => OUTCOME_A,
            Layout::Ngo => OUTCOME_B,
            Layout::Sofia => OUTCOME_C,
            // Canonical values throughout.
            Layout::Regional => return o.as_str(),
        };
        labels[o as usize]
    }

    fn place_label(self, p: PlacementType) -> &'static str {
        let labels = match self {
            Layout::Dsp => PLACE_A,
            Layout::Ngo => PLACE_B,
            Layout::Sofia => PLACE_C,
            // Canonical values throughout.
            Layout::Regional => return p.as_str(),
        };
        labels[p as usize]
    }

    fn unknown_outcome_label(self) -> &'static str {
        match self {
            Layout::Ngo => "Unclear",
            _ => "Неясно",
        }
    }
}

const HEADER_A: &[&str] = &[
    "№",
    "ЕГН на детето",
    "Име на детето",
    "Дата на раждане",
    "Пол",
    "Семейство №",
    "Преписка №",
    "Вид на случая",
    "Дата на откриване",
    "Дата на приключване",
    "Резултат",
    "Настаняване",
    "Област на настаняване",
    "Адрес",
    "Телефон",
    "Бележки",
];
const HEADER_B: &[&str] = &[
    "Child ID",
    "Child name",
    "Date of birth",
    "Sex",
    "Family ID",
    "Case number",
    "Region",
    "Municipality",
    "Office",
    "Case type",
    "Opened",
    "Closed",
    "Outcome",
    "Placement type",
    "Placement region",
    "Address",
    "Phone",
    "Notes",
];
const HEADER_C: &[&str] = &[
    "ЕГН",
    "Име",
    "Фамилия",
    "Дата на раждане",
    "Пол",
    "Номер на семейството",
    "Номер на случая",
    "Област",
    "Община",
    "Отдел",
    "Вид",
    "Открит на",
    "Приключен на",
    "Изход",
    "Вид настаняване",
    "Област на настаняване",
    "Адрес",
    "Телефон",
];
const HEADER_D: &[&str] = &[
    "Код област",
    "ЕГН/ЛНЧ",
    "Три имена",
    "Рождена дата",
    "Пол",
    "Дело",
    "Тип",
    "Начало",
    "Край",
    "Резултат",
    "Настаняване",
    "Област настаняване",
    "Бележка",
];

const CASE_TYPE_A: &[&str] = &["Превенция на изоставянето", "Реинтеграция"];
const CASE_TYPE_B: &[&str] = &["Prevention of abandonment", "Reintegration"];
const CASE_TYPE_C: &[&str] = &["превенция", "реинтеграция"];

const OUTCOME_A: &[&str] = &[
    "Детето остава в семейството",
    "Върнато в семейството",
    "Настаняване при близки и роднини",
    "Настаняване в приемно семейство",
    "Настаняване в ЦНСТ",
    "Настаняване в институция",
    "Осиновяване",
    "Остава в услугата",
    "Преместен по компетентност",
    "Друго",
];
const OUTCOME_B: &[&str] = &[
    "Stayed with family",
    "Reunified with parents",
    "Kinship care",
    "Foster care",
    "Residential care (family-type centre)",
    "Institution",
    "Adopted",
    "Remained in care",
    "Transferred",
    "Other",
];
const OUTCOME_C: &[&str] = &[
    "остава в семейството",
    "реинтегрирано",
    "близки и роднини",
    "приемна грижа",
    "ЦНСТ",
    "специализирана институция",
    "осиновено",
    "остава в грижа",
    "прехвърлен",
    "друго",
];

const PLACE_A: &[&str] = &[
    "Близки и роднини",
    "Приемно семейство",
    "ЦНСТ",
    "Институция",
];
const PLACE_B: &[&str] = &["kinship", "foster", "residential", "institution"];
const PLACE_C: &[&str] = &[
    "близки и роднини",
    "приемна грижа",
    "ЦНСТ",
    "специализирана институция",
];

// Obviously fake people: every first name starts with "Тест"/"Test".
const FEMALE_BG: &[&str] = &[
    "Тестина",
    "Тестислава",
    "Тестелина",
    "Тестияна",
    "Тестинка",
    "Тестемира",
    "Тестоанна",
    "Тестефка",
];
const MALE_BG: &[&str] = &[
    "Тестан",
    "Тестимир",
    "Тестослав",
    "Тестко",
    "Тестиян",
    "Тестьо",
    "Тестомир",
    "Тестен",
];
const FEMALE_EN: &[&str] = &[
    "Testina",
    "Testislava",
    "Testelina",
    "Testiyana",
    "Testinka",
    "Testemira",
    "Testoanna",
    "Testefka",
];
const MALE_EN: &[&str] = &[
    "Test",
    "Testimir",
    "Testoslav",
    "Testko",
    "Testiyan",
    "Testyo",
    "Testomir",
    "Testen",
];
/// Male forms; the female form adds "а".
const SURNAME_BG: &[&str] = &[
    "Примеров",
    "Измислев",
    "Фиктивов",
    "Тестов",
    "Образцов",
    "Макетов",
    "Пробов",
    "Несъществуващев",
];
/// (male, female).
const SURNAME_EN: &[(&str, &str)] = &[
    ("Primerov", "Primerova"),
    ("Izmislev", "Izmisleva"),
    ("Fakeson", "Fakeson"),
    ("Testov", "Testova"),
    ("Obraztsov", "Obraztsova"),
    ("Maketov", "Maketova"),
    ("Probov", "Probova"),
    ("Madeupson", "Madeupson"),
];
/// Father's names (male form; the female form adds "а").
const FATHER_BG: &[&str] = &[
    "Тестанов",
    "Тестимиров",
    "Тестославов",
    "Тестков",
    "Тестиянов",
    "Тестьов",
    "Тестомиров",
    "Тестенов",
];
const STREET_BG: &[&str] = &[
    "Измислена",
    "Несъществуваща",
    "Примерна",
    "Тестова",
    "Фиктивна",
    "Въображаема",
];
const PLACE_NAME_BG: &[&str] = &["гр. Никъде", "с. Никъдево", "гр. Измислиград", "с. Тестово"];
const STREET_EN: &[&str] = &[
    "Fake Street",
    "Nowhere Lane",
    "Example Road",
    "Test Avenue",
    "Madeup Street",
    "Imaginary Road",
];
const PLACE_NAME_EN: &[&str] = &["Nowhere", "Nikadevo", "Izmisligrad", "Testovo"];
const NOTES_BG: &[&str] = &[
    "Синтетичен запис; без реални лица",
    "Синтетичен запис, без реални лица, само за тестове",
    "Посещение в дома, майката \"Тестина\" е съгласна",
    "Изготвен план за действие, срок 6 месеца",
    "Насочване към \"Център за обществена подкрепа\", консултации",
    "Без забележки",
    "Тестови данни; измислени лица, измислени адреси",
];
const NOTES_EN: &[&str] = &[
    "Synthetic record; no real persons",
    "Home visit done, mother \"Testina\" agrees",
    "Referred to Community Support Centre, weekly sessions",
    "Test data only, fake people",
    "No remarks",
];
/// Child protection departments of Sofia City, one per district.
const SOFIA_DISTRICTS: &[&str] = &[
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

const DEMO_KEY: &str = "# outcomes pseudonym key\n\
# outcomes-public-demo-key: this key is published with the program; pseudonyms made with it protect nothing.\n\
5e6f1d2a7c3b4e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5\n";

// ---------------------------------------------------------------------------------------------
// Identifiers.

/// The nine decimal digits of `n` (< 10⁹), most significant first.
fn digits9(mut n: u64) -> [u8; 9] {
    let mut d = [0u8; 9];
    for slot in d.iter_mut().rev() {
        *slot = (n % 10) as u8;
        n /= 10;
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Geography, from the reference data compiled in.

struct OblastInfo {
    code: &'static str,
    code_lower: String,
    nuts3: &'static str,
    name_bg: &'static str,
    name_en: &'static str,
    /// Share of the national population.
    weight: f64,
    munis: Vec<u16>,
    /// The municipality of the oblast centre (same name as the oblast), if any.
    center: Option<u16>,
}

struct MuniInfo {
    code: &'static str,
    name_bg: &'static str,
}

struct Geo {
    oblasts: Vec<OblastInfo>,
    munis: Vec<MuniInfo>,
    /// Cumulative population weights, for drawing an oblast.
    cumulative: Vec<f64>,
}

impl Geo {
    fn load() -> anyhow::Result<Geo> {
        let mut oblasts = Vec::new();
        for o in reference::oblasts() {
            let o: &'static Oblast = o;
            let pop = POPULATION
                .iter()
                .find(|(c, _)| *c == o.code)
                .map_or(100.0, |(_, p)| *p);
            oblasts.push(OblastInfo {
                code: &o.code,
                code_lower: o.code.to_lowercase(),
                nuts3: &o.nuts3,
                name_bg: &o.name_bg,
                name_en: &o.name_en,
                weight: pop,
                munis: Vec::new(),
                center: None,
            });
        }
        if oblasts.len() != 28 {
            bail!("the reference has {} oblasts, not 28", oblasts.len());
        }
        let total: f64 = oblasts.iter().map(|o| o.weight).sum();
        let mut cumulative = Vec::with_capacity(oblasts.len());
        let mut acc = 0.0;
        for o in &mut oblasts {
            o.weight /= total;
            acc += o.weight;
            cumulative.push(acc);
        }
        let mut munis = Vec::new();
        for m in reference::municipalities() {
            let m: &'static Municipality = m;
            let o = &mut oblasts[m.oblast as usize];
            let idx = munis.len() as u16;
            o.munis.push(idx);
            if m.name_bg == o.name_bg || o.munis.len() == 1 && o.code == "SOF" {
                o.center = Some(idx);
            }
            munis.push(MuniInfo {
                code: &m.code,
                name_bg: &m.name_bg,
            });
        }
        if let Some(o) = oblasts.iter().find(|o| o.munis.is_empty()) {
            bail!("the reference has no municipality in {}", o.code);
        }
        Ok(Geo {
            oblasts,
            munis,
            cumulative,
        })
    }

    fn index(&self, code: &str) -> usize {
        self.oblasts
            .iter()
            .position(|o| o.code == code)
            .unwrap_or_else(|| panic!("{code} is an oblast code of the reference"))
    }

    /// The region as the Sofia layout spells it.
    fn name_sofia(&self, oblast: u8) -> &'static str {
        match self.oblasts[oblast as usize].code {
            "SOF" => "София-град",
            "SFO" => "София",
            _ => self.oblasts[oblast as usize].name_bg,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dates as day numbers (days from the common era, chrono's `num_days_from_ce`).

type Ymd = (i32, u32, u32);

fn day_of(y: i32, m: u32, d: u32) -> i32 {
    NaiveDate::from_ymd_opt(y, m, d)
        .expect("a valid calendar date")
        .num_days_from_ce()
}

fn ymd(day: i32) -> Ymd {
    let d = NaiveDate::from_num_days_from_ce_opt(day).expect("a day in chrono's range");
    (d.year(), d.month(), d.day())
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

#[derive(Debug, Clone, Copy)]
enum DateStyle {
    /// `31.12.2023`
    Dot,
    /// `31.12.2023 г.`
    DotG,
    /// `2023-12-31`
    Iso,
    /// `31/12/2023`
    Slash,
}

fn push2(s: &mut String, v: u32) {
    s.push(char::from(b'0' + (v / 10 % 10) as u8));
    s.push(char::from(b'0' + (v % 10) as u8));
}

fn push_date(s: &mut String, (y, m, d): Ymd, style: DateStyle) {
    let y = y.max(0) as u32;
    match style {
        DateStyle::Iso => {
            push2(s, y / 100);
            push2(s, y % 100);
            s.push('-');
            push2(s, m);
            s.push('-');
            push2(s, d);
        }
        DateStyle::Dot | DateStyle::DotG | DateStyle::Slash => {
            let sep = if matches!(style, DateStyle::Slash) {
                '/'
            } else {
                '.'
            };
            push2(s, d);
            s.push(sep);
            push2(s, m);
            s.push(sep);
            push2(s, y / 100);
            push2(s, y % 100);
            if matches!(style, DateStyle::DotG) {
                s.push_str(" г.");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated world.

#[derive(Debug, Clone, Copy)]
struct Child {
    /// The 10-digit ЕГН or ЛНЧ.
    id: u64,
    /// Days from CE.
    birth: i32,
    female: bool,
    /// The NGO's own child number (`ВН-0042`), 0 when the NGO uses the ЕГН.
    ngo_no: u32,
    first: u8,
    father: u8,
    surname: u8,
    street: u8,
    place: u8,
    house: u16,
    /// Six digits after `0000`; 0 = no phone.
    phone: u32,
    muni: u16,
    district: u8,
    family: u32,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    child: Child,
    oblast: u8,
    case_type: CaseType,
    number: u32,
    opened: i32,
    closed: Option<i32>,
    outcome: Option<Outcome>,
    /// What the export shows as placement (type, oblast).
    placement: Option<(PlacementType, u8)>,
    /// For reintegration: the care the child is in when the case opens.
    care: Option<(PlacementType, u8)>,
}

/// A later case of a known child, waiting for its opening day.
struct Pending {
    day: i32,
    seq: u64,
    child: Child,
    oblast: u8,
    case_type: CaseType,
    care: Option<(PlacementType, u8)>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.day, self.seq) == (other.day, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.day, self.seq).cmp(&(other.day, other.seq))
    }
}

/// The kinds of bad row the exports contain (about 1.5 % of rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    InvalidId,
    ImpossibleDate,
    ClosedBeforeOpened,
    UnknownOutcome,
    EmptyId,
    TooFewColumns,
    OpenedAfterAsOf,
    InapplicableOutcome,
    ClosedWithoutOutcome,
}

const BAD_KINDS: usize = 9;

/// Counts kept for the tests.
#[derive(Debug, Default, Clone)]
struct Stats {
    /// Case rows (good and bad), without duplicates.
    cases: u64,
    bad: [u64; BAD_KINDS],
    exact_dups: u64,
    cross_dups: u64,
}

#[derive(Debug, Clone, Copy)]
enum IdMode {
    Normal,
    /// The last digit replaced by this one, which makes neither a valid ЕГН nor a valid ЛНЧ.
    Invalid(u8),
    Empty,
}

#[derive(Debug, Clone, Copy)]
enum Label {
    Empty,
    Outcome(Outcome),
    Unknown,
}

/// One row as it is to be written.
struct Row<'c> {
    case: &'c Case,
    id: IdMode,
    opened: Ymd,
    closed: Option<Ymd>,
    outcome: Label,
    placement: Option<(PlacementType, u8)>,
    drop_last: bool,
}

/// One office's export file for one year.
#[derive(Clone, Copy)]
struct Kind {
    layout: Layout,
    /// The oblast of a layout-A folder.
    oblast: Option<u8>,
}

struct FileOut {
    path: PathBuf,
    w: BufWriter<File>,
    rows: u64,
    /// The `№` column of layout A.
    no: u64,
    /// Exact copies waiting to be written a few rows later.
    delayed: Vec<Vec<u8>>,
}

/// Row formatting buffers, reused for every row.
struct Fmt {
    line: String,
    tmp: String,
    enc: Vec<u8>,
    delim: char,
    n: usize,
    max: usize,
}

impl Fmt {
    fn new() -> Fmt {
        Fmt {
            line: String::with_capacity(512),
            tmp: String::with_capacity(128),
            enc: Vec::with_capacity(512),
            delim: ',',
            n: 0,
            max: 0,
        }
    }

    fn start(&mut self, delim: char, max: usize) {
        self.line.clear();
        self.delim = delim;
        self.n = 0;
        self.max = max;
    }

    /// Append a field, quoted when it holds the delimiter, a quote or a line break.
    fn push(&mut self, s: &str) {
        if self.n >= self.max {
            return;
        }
        if self.n > 0 {
            self.line.push(self.delim);
        }
        self.n += 1;
        let d = self.delim as u8;
        if s.bytes()
            .any(|b| b == d || b == b'"' || b == b'\n' || b == b'\r')
        {
            self.line.push('"');
            for c in s.chars() {
                if c == '"' {
                    self.line.push('"');
                }
                self.line.push(c);
            }
            self.line.push('"');
        } else {
            self.line.push_str(s);
        }
    }

    /// Append `tmp` as a field.
    fn push_tmp(&mut self) {
        let tmp = std::mem::take(&mut self.tmp);
        self.push(&tmp);
        self.tmp = tmp;
    }

    fn push_date(&mut self, date: Option<Ymd>, style: DateStyle) {
        self.tmp.clear();
        if let Some(date) = date {
            push_date(&mut self.tmp, date, style);
        }
        self.push_tmp();
    }

    fn end(&mut self, crlf: bool) {
        self.line.push_str(if crlf { "\r\n" } else { "\n" });
    }
}

/// Encode `src` to Windows-1251 into `dst` (cleared first).
fn encode_1251(src: &str, dst: &mut Vec<u8>) {
    dst.clear();
    let mut encoder = encoding_rs::WINDOWS_1251.new_encoder();
    let need = encoder
        .max_buffer_length_from_utf8_if_no_unmappables(src.len())
        .unwrap_or(src.len() * 4)
        + 16;
    dst.reserve(need);
    let (_, _, replaced) = encoder.encode_from_utf8_to_vec(src, dst, true);
    debug_assert!(
        !replaced,
        "a character without Windows-1251 code in {src:?}"
    );
}

fn write_id(tmp: &mut String, row: &Row, layout: Layout, rng: &mut ChaCha8Rng) {
    tmp.clear();
    let child = &row.case.child;
    let id = match row.id {
        IdMode::Empty => return,
        IdMode::Normal => child.id,
        IdMode::Invalid(d) => child.id / 10 * 10 + u64::from(d),
    };
    if layout != Layout::Ngo {
        let _ = write!(tmp, "{id:010}");
        return;
    }
    if child.ngo_no != 0 {
        // The same number typed in Cyrillic, Latin look-alikes or a mix of both.
        let u: f64 = rng.random();
        let prefix = if u < 0.45 {
            "ВН"
        } else if u < 0.9 {
            "BH"
        } else {
            "ВH"
        };
        let _ = write!(tmp, "{prefix}-{:04}", child.ngo_no);
        return;
    }
    let u: f64 = rng.random();
    if u < 0.8 {
        let _ = write!(tmp, "{id:010}");
    } else if u < 0.9 {
        let _ = write!(tmp, "{:06} {:04}", id / 10_000, id % 10_000);
    } else {
        let _ = write!(tmp, "{:04}-{:06}", id / 1_000_000, id % 1_000_000);
    }
}

fn write_name_bg(tmp: &mut String, child: &Child, with_father: bool) {
    tmp.clear();
    let first = if child.female { FEMALE_BG } else { MALE_BG };
    tmp.push_str(first[child.first as usize % first.len()]);
    tmp.push(' ');
    if with_father {
        tmp.push_str(FATHER_BG[child.father as usize % FATHER_BG.len()]);
        if child.female {
            tmp.push('а');
        }
        tmp.push(' ');
    }
    tmp.push_str(SURNAME_BG[child.surname as usize % SURNAME_BG.len()]);
    if child.female {
        tmp.push('а');
    }
}

fn write_address(tmp: &mut String, child: &Child, english: bool) {
    tmp.clear();
    let house = child.house;
    if english {
        let street = STREET_EN[child.street as usize % STREET_EN.len()];
        let place = PLACE_NAME_EN[child.place as usize % PLACE_NAME_EN.len()];
        let _ = write!(tmp, "{house} {street}, {place}");
        return;
    }
    let street = STREET_BG[child.street as usize % STREET_BG.len()];
    let place = PLACE_NAME_BG[child.place as usize % PLACE_NAME_BG.len()];
    if house % 10 < 7 {
        let _ = write!(tmp, "ул. {street} {house}, {place}");
    } else {
        let _ = write!(
            tmp,
            "ж.к. {street}, бл. {house}, вх. Б, ап. {}, {place}",
            house % 40 + 1
        );
    }
}

fn write_phone(tmp: &mut String, child: &Child) {
    tmp.clear();
    if child.phone != 0 {
        let _ = write!(
            tmp,
            "0000 {:03} {:03}",
            child.phone / 1000,
            child.phone % 1000
        );
    }
}

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// Format `row` in `layout` into `fmt.line`, line end included.
fn build_row(fmt: &mut Fmt, rng: &mut ChaCha8Rng, geo: &Geo, layout: Layout, no: u64, row: &Row) {
    let case = row.case;
    let child = &case.child;
    let ncols = layout.header().len();
    let max = if row.drop_last { ncols - 1 } else { ncols };
    fmt.start(layout.delimiter(), max);
    let oblast = &geo.oblasts[case.oblast as usize];
    let year = row.opened.0;
    let birth = Some(ymd(child.birth));
    let case_type = layout.case_type_label(case.case_type);
    let outcome = match row.outcome {
        Label::Empty => "",
        Label::Outcome(o) => layout.outcome_label(o),
        Label::Unknown => layout.unknown_outcome_label(),
    };
    let place = row.placement.map_or("", |(p, _)| layout.place_label(p));
    let place_region = row.placement.map(|(_, r)| &geo.oblasts[r as usize]);
    match layout {
        Layout::Dsp => {
            let style = if rng.random_bool(0.8) {
                DateStyle::DotG
            } else {
                DateStyle::Dot
            };
            fmt.tmp.clear();
            let _ = write!(fmt.tmp, "{no}");
            fmt.push_tmp();
            write_id(&mut fmt.tmp, row, layout, rng);
            fmt.push_tmp();
            write_name_bg(&mut fmt.tmp, child, false);
            fmt.push_tmp();
            fmt.push_date(birth, style);
            fmt.push(if child.female { "Ж" } else { "М" });
            fmt.tmp.clear();
            if rng.random_bool(0.85) {
                let _ = write!(fmt.tmp, "{}", child.family);
            }
            fmt.push_tmp();
            fmt.tmp.clear();
            let _ = write!(fmt.tmp, "{}/{year}", case.number);
            fmt.push_tmp();
            fmt.push(case_type);
            fmt.push_date(Some(row.opened), style);
            fmt.push_date(row.closed, style);
            fmt.push(outcome);
            fmt.push(place);
            fmt.push(place_region.map_or("", |o| o.name_bg));
            write_address(&mut fmt.tmp, child, false);
            fmt.push_tmp();
            write_phone(&mut fmt.tmp, child);
            fmt.push_tmp();
            let note = if rng.random_bool(0.5) {
                pick(rng, NOTES_BG)
            } else {
                ""
            };
            fmt.push(note);
        }
        Layout::Ngo => {
            let style = DateStyle::Iso;
            write_id(&mut fmt.tmp, row, layout, rng);
            fmt.push_tmp();
            fmt.tmp.clear();
            let first = if child.female { FEMALE_EN } else { MALE_EN };
            let (sm, sf) = SURNAME_EN[child.surname as usize % SURNAME_EN.len()];
            let _ = write!(
                fmt.tmp,
                "{} {}",
                first[child.first as usize % first.len()],
                if child.female { sf } else { sm }
            );
            fmt.push_tmp();
            fmt.push_date(birth, style);
            let sex = if rng.random_bool(0.01) {
                "U"
            } else if child.female {
                "F"
            } else {
                "M"
            };
            fmt.push(sex);
            fmt.tmp.clear();
            if rng.random_bool(0.85) {
                let _ = write!(fmt.tmp, "F{:06}", child.family);
            }
            fmt.push_tmp();
            fmt.tmp.clear();
            let _ = write!(fmt.tmp, "{}-{year}-{:04}", oblast.code, case.number);
            fmt.push_tmp();
            fmt.push(if rng.random_bool(0.6) {
                oblast.name_en
            } else {
                oblast.nuts3
            });
            fmt.push(geo.munis[child.muni as usize].code);
            fmt.tmp.clear();
            let _ = write!(fmt.tmp, "NGO {}", oblast.name_en);
            fmt.push_tmp();
            fmt.push(case_type);
            fmt.push_date(Some(row.opened), style);
            fmt.push_date(row.closed, style);
            fmt.push(outcome);
            fmt.push(place);
            fmt.push(place_region.map_or("", |o| o.name_en));
            write_address(&mut fmt.tmp, child, true);
            fmt.push_tmp();
            write_phone(&mut fmt.tmp, child);
            fmt.push_tmp();
            let note = if rng.random_bool(0.5) {
                pick(rng, NOTES_EN)
            } else {
                ""
            };
            fmt.push(note);
        }
        Layout::Sofia => {
            let style = DateStyle::Slash;
            write_id(&mut fmt.tmp, row, layout, rng);
            fmt.push_tmp();
            let first = if child.female { FEMALE_BG } else { MALE_BG };
            fmt.push(first[child.first as usize % first.len()]);
            fmt.tmp.clear();
            fmt.tmp
                .push_str(SURNAME_BG[child.surname as usize % SURNAME_BG.len()]);
            if child.female {
                fmt.tmp.push('а');
            }
            fmt.push_tmp();
            fmt.push_date(birth, style);
            fmt.push(if child.female { "ж" } else { "м" });
            fmt.tmp.clear();
            if rng.random_bool(0.85) {
                let _ = write!(fmt.tmp, "{}", child.family);
            }
            fmt.push_tmp();
            fmt.tmp.clear();
            let _ = write!(fmt.tmp, "СЛ-{}-{year}-{:05}", oblast.code, case.number);
            fmt.push_tmp();
            fmt.push(geo.name_sofia(case.oblast));
            let muni = &geo.munis[child.muni as usize];
            fmt.push(muni.name_bg);
            if oblast.code == "SOF" {
                fmt.push(SOFIA_DISTRICTS[child.district as usize % SOFIA_DISTRICTS.len()]);
            } else {
                fmt.tmp.clear();
                let _ = write!(fmt.tmp, "ОЗД {}", muni.name_bg);
                fmt.push_tmp();
            }
            fmt.push(case_type);
            fmt.push_date(Some(row.opened), style);
            fmt.push_date(row.closed, style);
            fmt.push(outcome);
            fmt.push(place);
            fmt.push(row.placement.map_or("", |(_, r)| geo.name_sofia(r)));
            write_address(&mut fmt.tmp, child, false);
            fmt.push_tmp();
            write_phone(&mut fmt.tmp, child);
            fmt.push_tmp();
        }
        Layout::Regional => {
            let style = DateStyle::Dot;
            fmt.push(oblast.code);
            write_id(&mut fmt.tmp, row, layout, rng);
            fmt.push_tmp();
            write_name_bg(&mut fmt.tmp, child, true);
            fmt.push_tmp();
            fmt.push_date(birth, style);
            fmt.push(if child.female { "F" } else { "M" });
            fmt.tmp.clear();
            let _ = write!(fmt.tmp, "{}-{}/{year}", oblast.code, case.number);
            fmt.push_tmp();
            fmt.push(case_type);
            fmt.push_date(Some(row.opened), style);
            fmt.push_date(row.closed, style);
            fmt.push(outcome);
            fmt.push(place);
            fmt.push(place_region.map_or("", |o| o.code));
            let note = if rng.random_bool(0.5) {
                pick(rng, NOTES_BG)
            } else {
                ""
            };
            fmt.push(note);
        }
    }
    fmt.end(layout.crlf());
}

// ---------------------------------------------------------------------------------------------
// The generator.

struct Gen<'g> {
    geo: &'g Geo,
    out: &'g Path,
    rng: ChaCha8Rng,
    /// New cases per agency-reported case.
    scale: f64,
    /// The day the exports were made (the pipeline's as-of date): later closings are not known.
    export_day: i32,
    last_day: i32,
    kind_of: Vec<usize>,
    kinds: Vec<Kind>,
    kind_b: usize,
    kind_d: usize,
    files: Vec<Option<FileOut>>,
    done: Vec<(PathBuf, u64)>,
    year: i32,
    /// ЕГН serials handed out per (birth day, sex): each ЕГН is given to one child only.
    egn_base: i32,
    egn_counters: Vec<u16>,
    lnch_counter: u32,
    ngo_counter: u32,
    family_counter: u32,
    case_no: Vec<u32>,
    /// Per-oblast shift of success rates.
    offsets: Vec<f64>,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    fmt: Fmt,
    stats: Stats,
}

impl<'g> Gen<'g> {
    fn new(geo: &'g Geo, out: &'g Path, rows: u64, seed: u64) -> Gen<'g> {
        let large = rows >= LARGE_ROWS;
        let mut layout_of = vec![Layout::Regional; geo.oblasts.len()];
        let set = |codes: &[&str], layout: Layout, layout_of: &mut Vec<Layout>| {
            for c in codes {
                layout_of[geo.index(c)] = layout;
            }
        };
        set(SOFIA_OBLASTS, Layout::Sofia, &mut layout_of);
        set(NGO_OBLASTS, Layout::Ngo, &mut layout_of);
        set(DSP_OBLASTS, Layout::Dsp, &mut layout_of);
        if large {
            set(SOFIA_OBLASTS_LARGE, Layout::Sofia, &mut layout_of);
            set(DSP_OBLASTS_LARGE, Layout::Dsp, &mut layout_of);
        }
        let mut kinds = Vec::new();
        let mut kind_of = vec![0; geo.oblasts.len()];
        for (o, layout) in layout_of.iter().enumerate() {
            if *layout == Layout::Dsp {
                kind_of[o] = kinds.len();
                kinds.push(Kind {
                    layout: Layout::Dsp,
                    oblast: Some(o as u8),
                });
            }
        }
        let kind_b = kinds.len();
        let kind_c = kind_b + 1;
        let kind_d = kind_b + 2;
        for layout in [Layout::Ngo, Layout::Sofia, Layout::Regional] {
            kinds.push(Kind {
                layout,
                oblast: None,
            });
        }
        for (o, layout) in layout_of.iter().enumerate() {
            match layout {
                Layout::Dsp => {}
                Layout::Ngo => kind_of[o] = kind_b,
                Layout::Sofia => kind_of[o] = kind_c,
                Layout::Regional => kind_of[o] = kind_d,
            }
        }
        let base: f64 =
            PREVENTION_PER_YEAR.iter().sum::<f64>() + REINTEGRATION_PER_YEAR.iter().sum::<f64>();
        let scale = rows as f64 / (base * ROWS_PER_NEW_CASE);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Regional differences in success rates, centred so the national rate stays calibrated.
        let mut offsets: Vec<f64> = (0..geo.oblasts.len())
            .map(|_| rng.random_range(-0.06..0.06))
            .collect();
        let mean: f64 = offsets
            .iter()
            .zip(&geo.oblasts)
            .map(|(x, o)| x * o.weight)
            .sum();
        offsets.iter_mut().for_each(|x| *x -= mean);
        let egn_base = day_of(1996, 1, 1);
        let egn_days = (day_of(2026, 1, 1) - egn_base) as usize;
        let nfiles = kinds.len();
        Gen {
            geo,
            out,
            rng,
            scale,
            export_day: day_of(2025, 6, 30),
            last_day: day_of(LAST_YEAR, 12, 31),
            kind_of,
            kinds,
            kind_b,
            kind_d,
            files: (0..nfiles).map(|_| None).collect(),
            done: Vec::new(),
            year: FIRST_YEAR,
            egn_base,
            egn_counters: vec![0; egn_days * 2],
            lnch_counter: 0,
            ngo_counter: 0,
            family_counter: 0,
            case_no: vec![0; geo.oblasts.len()],
            offsets,
            pending: BinaryHeap::new(),
            seq: 0,
            fmt: Fmt::new(),
            stats: Stats::default(),
        }
    }

    fn run(&mut self) -> anyhow::Result<()> {
        for (yi, year) in (FIRST_YEAR..=LAST_YEAR).enumerate() {
            self.year = year;
            self.case_no.iter_mut().for_each(|n| *n = 0);
            let start = day_of(year, 1, 1);
            let end = day_of(year, 12, 31);
            let week_sum: f64 = (start..=end).map(weekday_weight).sum();
            let total = (PREVENTION_PER_YEAR[yi] + REINTEGRATION_PER_YEAR[yi]) * self.scale;
            let prevention_share =
                PREVENTION_PER_YEAR[yi] / (PREVENTION_PER_YEAR[yi] + REINTEGRATION_PER_YEAR[yi]);
            for day in start..=end {
                self.run_pending(day)?;
                let per_group = total * weekday_weight(day) / week_sum / MEAN_FAMILY;
                for o in 0..self.geo.oblasts.len() {
                    let lambda = per_group * self.geo.oblasts[o].weight;
                    let jitter = 0.6 + 0.8 * self.rng.random::<f64>();
                    let groups = (lambda * jitter + self.rng.random::<f64>()) as u64;
                    for _ in 0..groups {
                        self.new_family(o as u8, day, prevention_share)?;
                    }
                }
            }
            self.close_year()?;
        }
        Ok(())
    }

    fn run_pending(&mut self, day: i32) -> anyhow::Result<()> {
        while self.pending.peek().is_some_and(|p| p.0.day <= day) {
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            self.open_case(p.child, p.oblast, p.case_type, p.day, p.care)?;
        }
        Ok(())
    }

    fn new_family(&mut self, oblast: u8, day: i32, prevention_share: f64) -> anyhow::Result<()> {
        let case_type = if self.rng.random_bool(prevention_share) {
            CaseType::Prevention
        } else {
            CaseType::Reintegration
        };
        let u: f64 = self.rng.random();
        let size = if u < 0.9 {
            1
        } else if u < 0.975 {
            2
        } else {
            3
        };
        let first = self.new_child(oblast, case_type, day);
        self.open_case(first, oblast, case_type, day, None)?;
        for _ in 1..size {
            let sibling = self.sibling(&first, oblast, case_type, day);
            self.open_case(sibling, oblast, case_type, day, None)?;
        }
        Ok(())
    }

    /// Age at opening in days, 0 to 17 years.
    fn sample_age(&mut self, case_type: CaseType) -> i32 {
        let u: f64 = self.rng.random();
        let (lo, hi) = match case_type {
            // Prevention of abandonment: mostly newborns and infants.
            CaseType::Prevention if u < 0.35 => (0, 60),
            CaseType::Prevention if u < 0.5 => (60, 365),
            CaseType::Prevention if u < 0.7 => (365, 1461),
            CaseType::Prevention => (1461, 6570),
            CaseType::Reintegration if u < 0.3 => (60, 1096),
            CaseType::Reintegration if u < 0.7 => (1096, 4018),
            CaseType::Reintegration => (4018, 6570),
        };
        self.rng.random_range(lo..hi)
    }

    fn egn_slot(&self, birth: i32, female: bool) -> Option<usize> {
        let day = usize::try_from(birth - self.egn_base).ok()?;
        let slot = day * 2 + usize::from(female);
        (slot < self.egn_counters.len()).then_some(slot)
    }

    /// The child's identifier: about 2 % get a ЛНЧ, the others an ЕГН. An ЕГН is never given
    /// twice: when the 500 serials of a birth day and sex are used up (only in runs of millions
    /// of rows), the birth date moves to the nearest day with a free serial, not after `opened`.
    fn assign_id(&mut self, birth: &mut i32, female: bool, opened: i32) -> u64 {
        if self.rng.random_bool(0.02) {
            return self.next_lnch();
        }
        for shift in 0..=120 {
            for day in [*birth - shift, *birth + shift] {
                if day > opened || opened - day >= 6570 {
                    continue;
                }
                if self
                    .egn_slot(day, female)
                    .is_some_and(|slot| self.egn_counters[slot] < 500)
                {
                    *birth = day;
                    return self.next_egn(day, female);
                }
            }
        }
        self.next_lnch()
    }

    fn next_egn(&mut self, birth: i32, female: bool) -> u64 {
        let (y, m, d) = ymd(birth);
        let month = if y >= 2000 {
            m + 40
        } else if y < 1900 {
            m + 20
        } else {
            m
        };
        let slot = self
            .egn_slot(birth, female)
            .unwrap_or(self.egn_counters.len() - 1);
        let k = u32::from(self.egn_counters[slot]);
        self.egn_counters[slot] = self.egn_counters[slot].saturating_add(1);
        // A permutation of the 500 serials of one sex: unique while k < 500 (see `assign_id`).
        let m_ = (k % 500 * 263 + (birth.unsigned_abs() * 37) % 500) % 500;
        let serial = m_ * 2 + u32::from(female);
        let first9 = u64::from(y.rem_euclid(100) as u32) * 10_000_000
            + u64::from(month) * 100_000
            + u64::from(d) * 1_000
            + u64::from(serial);
        first9 * 10 + u64::from(egn_check_digit(digits9(first9)))
    }

    /// A unique ЛНЧ; its month digits (53–99) can never be read as an ЕГН birth date.
    fn next_lnch(&mut self) -> u64 {
        let c = u64::from(self.lnch_counter);
        self.lnch_counter += 1;
        let first9 = 100_000_000
            + (c % 10) * 10_000_000
            + (53 + c / 10 % 47) * 100_000
            + (c / 470 * 7919) % 100_000;
        first9 * 10 + u64::from(lnch_check_digit(digits9(first9)))
    }

    fn new_child(&mut self, oblast: u8, case_type: CaseType, opened: i32) -> Child {
        let mut birth = opened - self.sample_age(case_type);
        let female = self.rng.random_bool(0.486);
        let id = self.assign_id(&mut birth, female, opened);
        let mut child = Child {
            id,
            birth,
            female,
            ngo_no: 0,
            first: self.rng.random_range(0..64),
            father: self.rng.random_range(0..64),
            surname: self.rng.random_range(0..64),
            street: self.rng.random_range(0..64),
            place: self.rng.random_range(0..64),
            house: self.rng.random_range(1..200),
            phone: if self.rng.random_bool(0.9) {
                self.rng.random_range(1..1_000_000)
            } else {
                0
            },
            muni: 0,
            district: 0,
            family: 0,
        };
        self.settle(&mut child, oblast);
        child
    }

    /// Give `child` a home in `oblast`: municipality, district, family number, NGO number.
    fn settle(&mut self, child: &mut Child, oblast: u8) {
        let ob = &self.geo.oblasts[oblast as usize];
        child.muni = match ob.center {
            Some(c) if self.rng.random_bool(0.45) => c,
            _ => ob.munis[self.rng.random_range(0..ob.munis.len())],
        };
        child.district = self.rng.random_range(0..SOFIA_DISTRICTS.len()) as u8;
        self.family_counter += 1;
        child.family = self.family_counter;
        child.ngo_no = 0;
        if self.kinds[self.kind_of[oblast as usize]].layout == Layout::Ngo
            && self.rng.random_bool(0.05)
        {
            self.ngo_counter += 1;
            child.ngo_no = self.ngo_counter;
        }
    }

    fn sibling(&mut self, first: &Child, oblast: u8, case_type: CaseType, opened: i32) -> Child {
        let mut birth = opened - self.sample_age(case_type);
        let female = self.rng.random_bool(0.486);
        let id = self.assign_id(&mut birth, female, opened);
        let mut child = Child {
            id,
            birth,
            female,
            first: self.rng.random_range(0..64),
            ..*first
        };
        if first.ngo_no != 0 {
            self.ngo_counter += 1;
            child.ngo_no = self.ngo_counter;
        }
        if self.kinds[self.kind_of[oblast as usize]].layout == Layout::Ngo
            && first.ngo_no == 0
            && self.rng.random_bool(0.05)
        {
            self.ngo_counter += 1;
            child.ngo_no = self.ngo_counter;
        }
        child
    }

    fn pick_oblast(&mut self, exclude: u8) -> u8 {
        loop {
            let u: f64 = self.rng.random();
            let o = self
                .geo
                .cumulative
                .iter()
                .position(|&c| u < c)
                .unwrap_or(self.geo.cumulative.len() - 1) as u8;
            if o != exclude {
                return o;
            }
        }
    }

    /// The oblast of a placement: mostly the child's own, about 15 % another.
    fn placement_region(&mut self, oblast: u8) -> u8 {
        if self.rng.random_bool(0.85) {
            oblast
        } else {
            self.pick_oblast(oblast)
        }
    }

    /// Institutions were closed down over the decade (deinstitutionalization).
    fn institution_weight(&self) -> f64 {
        (0.15 - 0.02 * f64::from(self.year - FIRST_YEAR)).max(0.02)
    }

    fn sample_care(&mut self, oblast: u8) -> (PlacementType, u8) {
        let weights = [0.08, 0.45, 0.35, self.institution_weight() * 1.5];
        let place = PlacementType::ALL[self.weighted(&weights)];
        (place, self.placement_region(oblast))
    }

    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.rng.random::<f64>() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }

    fn sample_outcome(&mut self, case_type: CaseType, oblast: u8) -> Outcome {
        let u: f64 = self.rng.random();
        if u < 0.025 {
            return Outcome::Transferred;
        }
        if u < 0.04 {
            return Outcome::Other;
        }
        let trend = f64::from(self.year - 2019);
        let offset = self.offsets[oblast as usize];
        let inst = self.institution_weight();
        match case_type {
            CaseType::Prevention => {
                let p = (0.785 + 0.004 * trend + offset).clamp(0.5, 0.95);
                if self.rng.random_bool(p) {
                    return Outcome::StayedWithFamily;
                }
                const PLACEMENTS: [Outcome; 5] = [
                    Outcome::KinshipCare,
                    Outcome::FosterCare,
                    Outcome::ResidentialCare,
                    Outcome::Institution,
                    Outcome::Adopted,
                ];
                PLACEMENTS[self.weighted(&[0.30, 0.35, 0.22, inst, 0.05])]
            }
            CaseType::Reintegration => {
                let p = (0.61 + 0.005 * trend + offset).clamp(0.3, 0.9);
                if self.rng.random_bool(p) {
                    return Outcome::Reunified;
                }
                const OTHERS: [Outcome; 6] = [
                    Outcome::RemainedInCare,
                    Outcome::FosterCare,
                    Outcome::KinshipCare,
                    Outcome::ResidentialCare,
                    Outcome::Adopted,
                    Outcome::Institution,
                ];
                OTHERS[self.weighted(&[0.45, 0.18, 0.15, 0.15, 0.03, inst * 0.3])]
            }
        }
    }

    /// Days from opening to closing: mostly 3 to 18 months.
    fn sample_duration(&mut self) -> i32 {
        let u: f64 = self.rng.random();
        if u < 0.10 {
            self.rng.random_range(20..90)
        } else if u < 0.92 {
            90 + (450.0 * self.rng.random::<f64>().powf(1.4)) as i32
        } else {
            self.rng.random_range(540..1000)
        }
    }

    fn open_case(
        &mut self,
        child: Child,
        oblast: u8,
        case_type: CaseType,
        opened: i32,
        care: Option<(PlacementType, u8)>,
    ) -> anyhow::Result<()> {
        let o = oblast as usize;
        self.case_no[o] += 1;
        let number = self.case_no[o];
        let care = match case_type {
            CaseType::Reintegration => Some(care.unwrap_or_else(|| self.sample_care(oblast))),
            CaseType::Prevention => None,
        };
        let closing = opened + self.sample_duration();
        let (closed, outcome, mut placement) = if closing <= self.export_day {
            let outcome = self.sample_outcome(case_type, oblast);
            let placement = match (placement_of(outcome), case_type) {
                (Some(p), _) => Some((p, self.placement_region(oblast))),
                (None, CaseType::Reintegration) if outcome != Outcome::Adopted => care,
                (None, _) => None,
            };
            (Some(closing), Some(outcome), placement)
        } else {
            (None, None, care)
        };
        if placement.is_some() && self.rng.random_bool(0.04) {
            placement = None;
        }
        let case = Case {
            child,
            oblast,
            case_type,
            number,
            opened,
            closed,
            outcome,
            placement,
            care,
        };
        self.emit_case(&case)?;
        self.follow_ons(&case);
        Ok(())
    }

    /// Schedule the child's later cases that this case's ending leads to.
    fn follow_ons(&mut self, case: &Case) {
        let (Some(closed), Some(outcome)) = (case.closed, case.outcome) else {
            return;
        };
        let mut child = case.child;
        let mut oblast = case.oblast;
        let (p, case_type, lo, hi, move_p, care) = match (case.case_type, outcome) {
            // Some families come back: a new prevention case, sometimes the same year.
            (CaseType::Prevention, Outcome::StayedWithFamily) => {
                (0.05, CaseType::Prevention, 30, 300, 0.0, None)
            }
            // A child placed may later come home: a reintegration case from that placement.
            (CaseType::Prevention, o) if placement_of(o).is_some() => (
                0.25,
                CaseType::Reintegration,
                30,
                400,
                0.0,
                case.placement
                    .or_else(|| placement_of(o).map(|p| (p, oblast))),
            ),
            // Re-entry after reunification, a third of them in another oblast.
            (CaseType::Reintegration, Outcome::Reunified) => {
                (0.08, CaseType::Reintegration, 30, 500, 1.0 / 3.0, None)
            }
            // Another attempt for a child who stayed in care.
            (CaseType::Reintegration, Outcome::RemainedInCare) => {
                (0.10, CaseType::Reintegration, 60, 400, 0.0, case.care)
            }
            // Transferred to the office of another oblast.
            (ct, Outcome::Transferred) => (0.5, ct, 1, 30, 1.0, case.care),
            _ => return,
        };
        if !self.rng.random_bool(p) {
            return;
        }
        let day = closed + self.rng.random_range(lo..=hi);
        if day > self.last_day || day - child.birth >= 6570 {
            return;
        }
        // A child known by the NGO's own number is only linkable within the NGO: keep it there.
        if move_p > 0.0 && child.ngo_no == 0 && self.rng.random_bool(move_p) {
            oblast = self.pick_oblast(oblast);
            self.settle(&mut child, oblast);
        }
        self.seq += 1;
        self.pending.push(Reverse(Pending {
            day,
            seq: self.seq,
            child,
            oblast,
            case_type,
            care,
        }));
    }

    fn pick_bad(&mut self, layout: Layout, closed: bool) -> Bad {
        let mut candidates = [Bad::EmptyId; BAD_KINDS];
        let mut n = 0;
        let mut add = |b: Bad| {
            candidates[n] = b;
            n += 1;
        };
        add(Bad::EmptyId);
        add(Bad::ImpossibleDate);
        add(Bad::TooFewColumns);
        add(Bad::OpenedAfterAsOf);
        if layout != Layout::Ngo {
            // Only the sources that declare child_id_scheme = "egn" check digits.
            add(Bad::InvalidId);
        }
        if closed {
            add(Bad::ClosedBeforeOpened);
            add(Bad::UnknownOutcome);
            add(Bad::InapplicableOutcome);
            add(Bad::ClosedWithoutOutcome);
        }
        candidates[self.rng.random_range(0..n)]
    }

    /// A last digit that makes `id` neither a valid ЕГН nor a valid ЛНЧ.
    fn wrong_digit(&mut self, id: u64) -> u8 {
        let digits = digits9(id / 10);
        let (egn, lnch) = (egn_check_digit(digits), lnch_check_digit(digits));
        let mut d = self.rng.random_range(0..10u8);
        while d == egn || d == lnch {
            d = (d + 1) % 10;
        }
        d
    }

    fn impossible_date(&mut self, year: i32) -> Ymd {
        let days: &[u32] = if is_leap(year) {
            &[30, 31]
        } else {
            &[29, 30, 31]
        };
        (year, 2, days[self.rng.random_range(0..days.len())])
    }

    fn emit_case(&mut self, case: &Case) -> anyhow::Result<()> {
        self.stats.cases += 1;
        let kind = self.kind_of[case.oblast as usize];
        let layout = self.kinds[kind].layout;
        let bad = if self.rng.random_bool(BAD_RATE) {
            Some(self.pick_bad(layout, case.closed.is_some()))
        } else {
            None
        };
        let mut row = Row {
            case,
            id: IdMode::Normal,
            opened: ymd(case.opened),
            closed: case.closed.map(ymd),
            outcome: case.outcome.map_or(Label::Empty, Label::Outcome),
            placement: case.placement,
            drop_last: false,
        };
        if let Some(bad) = bad {
            self.stats.bad[bad as usize] += 1;
            match bad {
                Bad::InvalidId => row.id = IdMode::Invalid(self.wrong_digit(case.child.id)),
                Bad::EmptyId => row.id = IdMode::Empty,
                Bad::ImpossibleDate => match row.closed {
                    Some(closed) if self.rng.random_bool(0.5) => {
                        row.closed = Some(self.impossible_date(closed.0));
                    }
                    _ => row.opened = self.impossible_date(row.opened.0),
                },
                Bad::ClosedBeforeOpened => {
                    row.closed = Some(ymd(case.opened - self.rng.random_range(1..90)));
                }
                Bad::UnknownOutcome => row.outcome = Label::Unknown,
                Bad::TooFewColumns => row.drop_last = true,
                Bad::OpenedAfterAsOf => {
                    // A typo in the year: ten or twenty years on, past the as-of date.
                    let (y, m, d) = row.opened;
                    let d = if m == 2 { d.min(28) } else { d };
                    let y = if (y + 10, m, d) > (2025, 6, 30) {
                        y + 10
                    } else {
                        y + 20
                    };
                    row.opened = (y, m, d);
                    row.closed = None;
                    row.outcome = Label::Empty;
                    row.placement = case.care;
                }
                Bad::InapplicableOutcome => {
                    row.outcome = Label::Outcome(match case.case_type {
                        CaseType::Prevention => Outcome::Reunified,
                        CaseType::Reintegration => Outcome::StayedWithFamily,
                    });
                    row.placement = case.care;
                }
                Bad::ClosedWithoutOutcome => {
                    row.outcome = Label::Empty;
                    row.placement = case.care;
                }
            }
        }
        self.write_row(kind, &row, bad.is_none())?;
        if bad.is_none()
            && case.closed.is_some()
            && case.child.ngo_no == 0
            && self.rng.random_bool(CROSS_DUP_RATE)
        {
            // The same case also exported, still open, by another office.
            let other = if layout == Layout::Regional {
                self.kind_b
            } else {
                self.kind_d
            };
            let dup = Row {
                case,
                id: IdMode::Normal,
                opened: ymd(case.opened),
                closed: None,
                outcome: Label::Empty,
                placement: case.care,
                drop_last: false,
            };
            self.write_row(other, &dup, false)?;
            self.stats.cross_dups += 1;
        }
        Ok(())
    }

    fn open_file(&self, kind: usize) -> anyhow::Result<FileOut> {
        let k = self.kinds[kind];
        let year = self.year;
        let (dir, name) = match k.layout {
            Layout::Dsp => {
                let code = &self.geo.oblasts[k.oblast.unwrap_or(0) as usize].code_lower;
                (format!("dsp_{code}"), format!("dsp_{code}_{year}.csv"))
            }
            Layout::Ngo => ("ngo".to_string(), format!("ngo_{year}.csv")),
            Layout::Sofia => ("sofia".to_string(), format!("sofia_{year}.csv")),
            Layout::Regional => ("regional".to_string(), format!("regional_{year}.csv")),
        };
        let dir = self.out.join(dir);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(name);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 17, file);
        let mut fmt = Fmt::new();
        let header = k.layout.header();
        fmt.start(k.layout.delimiter(), header.len());
        for h in header {
            fmt.push(h);
        }
        fmt.end(k.layout.crlf());
        if k.layout == Layout::Ngo {
            w.write_all(b"\xEF\xBB\xBF")?;
        }
        if k.layout.is_1251() {
            encode_1251(&fmt.line, &mut fmt.enc);
            w.write_all(&fmt.enc)?;
        } else {
            w.write_all(fmt.line.as_bytes())?;
        }
        Ok(FileOut {
            path,
            w,
            rows: 0,
            no: 0,
            delayed: Vec::new(),
        })
    }

    fn write_row(&mut self, kind: usize, row: &Row, may_copy: bool) -> anyhow::Result<()> {
        if self.files[kind].is_none() {
            self.files[kind] = Some(self.open_file(kind)?);
        }
        let layout = self.kinds[kind].layout;
        let Some(file) = self.files[kind].as_mut() else {
            unreachable!("opened above");
        };
        file.no += 1;
        build_row(&mut self.fmt, &mut self.rng, self.geo, layout, file.no, row);
        let bytes: &[u8] = if layout.is_1251() {
            encode_1251(&self.fmt.line, &mut self.fmt.enc);
            &self.fmt.enc
        } else {
            self.fmt.line.as_bytes()
        };
        let io = |e| anyhow::Error::new(e).context(format!("cannot write {}", file.path.display()));
        file.w.write_all(bytes).map_err(io)?;
        file.rows += 1;
        if may_copy && self.rng.random_bool(EXACT_DUP_RATE) {
            // Exported twice: the same bytes again a few rows later.
            file.delayed.push(bytes.to_vec());
            self.stats.exact_dups += 1;
        } else if !file.delayed.is_empty() && self.rng.random_bool(0.15) {
            let copy = file.delayed.remove(0);
            file.w.write_all(&copy).map_err(io)?;
            file.rows += 1;
        }
        Ok(())
    }

    fn close_year(&mut self) -> anyhow::Result<()> {
        for slot in &mut self.files {
            if let Some(mut file) = slot.take() {
                for copy in file.delayed.drain(..) {
                    file.w.write_all(&copy)?;
                    file.rows += 1;
                }
                file.w
                    .flush()
                    .with_context(|| format!("cannot write {}", file.path.display()))?;
                self.done.push((file.path, file.rows));
            }
        }
        Ok(())
    }
}

/// Relative number of cases opened on a day: few at weekends and on public holidays.
fn weekday_weight(day: i32) -> f64 {
    let Some(date) = NaiveDate::from_num_days_from_ce_opt(day) else {
        return 1.0;
    };
    // Fixed-date public holidays of Bulgaria (Easter and moved days left out).
    const HOLIDAYS: [(u32, u32); 10] = [
        (1, 1),
        (3, 3),
        (5, 1),
        (5, 6),
        (5, 24),
        (9, 6),
        (9, 22),
        (12, 24),
        (12, 25),
        (12, 26),
    ];
    match date.weekday() {
        Weekday::Sat => 0.05,
        Weekday::Sun => 0.02,
        _ if HOLIDAYS.contains(&(date.month(), date.day())) => 0.03,
        _ => 1.0,
    }
}

// ---------------------------------------------------------------------------------------------
// Output folder, pipeline file.

/// Remove export files an earlier run left under the names this module writes.
fn remove_stale(out: &Path) -> anyhow::Result<()> {
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(dir_name.as_str(), "ngo" | "sofia" | "regional")
            || dir_name
                .strip_prefix("dsp_")
                .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()));
        if !ours || !entry.file_type()?.is_dir() {
            continue;
        }
        for file in fs::read_dir(entry.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            let year = name
                .strip_prefix(dir_name.as_str())
                .and_then(|r| r.strip_prefix('_'))
                .and_then(|r| r.strip_suffix(".csv"));
            if year.is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
                && file.file_type()?.is_file()
            {
                fs::remove_file(file.path())
                    .with_context(|| format!("cannot remove {}", file.path().display()))?;
            }
        }
    }
    Ok(())
}

/// A TOML string, as the `toml` crate writes one.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The canonical spellings of a vocabulary, in the order of the layouts' label tables.
fn canonical<V: Vocabulary>() -> Vec<&'static str> {
    V::ALL.iter().map(|v| v.as_str()).collect()
}

fn toml_values(t: &mut String, field: &str, labels: &[&str], canonical: &[&str]) {
    let _ = writeln!(t, "\n[sources.values.{field}]");
    for (label, canon) in labels.iter().zip(canonical) {
        if label != canon {
            let _ = writeln!(t, "{} = {}", toml_str(label), toml_str(canon));
        }
    }
}

fn pipeline_toml(geo: &Geo, kinds: &[Kind], rows: u64, seed: u64) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Synthetic exports written by `outcomes synth --rows {rows} --seed {seed}`.\n\
         # Only fake people; the key is the public demo key.\n\
         name = \"synth\"\n\
         key_file = \"demo.key\"\n\
         as_of = \"2025-06-30\"\n\
         min_count = 5\n\
         max_reject_rate = 0.05"
    );
    for kind in kinds {
        let layout = kind.layout;
        let (name, path, region) = match layout {
            Layout::Dsp => {
                let o = &geo.oblasts[kind.oblast.unwrap_or(0) as usize];
                (
                    format!("dsp_{}", o.code_lower),
                    format!("dsp_{}/*.csv", o.code_lower),
                    Some(o.code),
                )
            }
            Layout::Ngo => ("ngo".into(), "ngo/*.csv".into(), None),
            Layout::Sofia => ("sofia".into(), "sofia/*.csv".into(), None),
            Layout::Regional => ("regional".into(), "regional/*.csv".into(), None),
        };
        let (encoding, formats): (&str, &[&str]) = match layout {
            Layout::Dsp => ("windows-1251", &["%d.%m.%Y г.", "%d.%m.%Y"]),
            Layout::Ngo => ("utf-8", &["%Y-%m-%d"]),
            Layout::Sofia => ("utf-8", &["%d/%m/%Y"]),
            Layout::Regional => ("windows-1251", &["%d.%m.%Y"]),
        };
        let formats: Vec<String> = formats.iter().map(|f| toml_str(f)).collect();
        let _ = writeln!(
            t,
            "\n[[sources]]\nname = {}\npath = {}\nencoding = {}\ndelimiter = {}\ndate_formats = [{}]",
            toml_str(&name),
            toml_str(&path),
            toml_str(encoding),
            toml_str(&layout.delimiter().to_string()),
            formats.join(", ")
        );
        if let Some(code) = region {
            let _ = writeln!(t, "region = {}", toml_str(code));
        }
        let scheme = if layout == Layout::Ngo { "any" } else { "egn" };
        let _ = writeln!(t, "child_id_scheme = {}", toml_str(scheme));
        let columns: &[(&str, &str)] = match layout {
            Layout::Dsp => &[
                ("child_id", "ЕГН на детето"),
                ("family_id", "Семейство №"),
                ("case_id", "Преписка №"),
                ("case_type", "Вид на случая"),
                ("opened", "Дата на откриване"),
                ("closed", "Дата на приключване"),
                ("outcome", "Резултат"),
                ("placement_type", "Настаняване"),
                ("placement_region", "Област на настаняване"),
                ("birth_date", "Дата на раждане"),
                ("sex", "Пол"),
            ],
            Layout::Ngo => &[
                ("child_id", "Child ID"),
                ("family_id", "Family ID"),
                ("case_id", "Case number"),
                ("region", "Region"),
                ("office", "Office"),
                ("municipality", "Municipality"),
                ("case_type", "Case type"),
                ("opened", "Opened"),
                ("closed", "Closed"),
                ("outcome", "Outcome"),
                ("placement_type", "Placement type"),
                ("placement_region", "Placement region"),
                ("birth_date", "Date of birth"),
                ("sex", "Sex"),
            ],
            Layout::Sofia => &[
                ("child_id", "ЕГН"),
                ("family_id", "Номер на семейството"),
                ("case_id", "Номер на случая"),
                ("region", "Област"),
                ("office", "Отдел"),
                ("municipality", "Община"),
                ("case_type", "Вид"),
                ("opened", "Открит на"),
                ("closed", "Приключен на"),
                ("outcome", "Изход"),
                ("placement_type", "Вид настаняване"),
                ("placement_region", "Област на настаняване"),
                ("birth_date", "Дата на раждане"),
                ("sex", "Пол"),
            ],
            Layout::Regional => &[
                ("child_id", "ЕГН/ЛНЧ"),
                ("case_id", "Дело"),
                ("region", "Код област"),
                ("case_type", "Тип"),
                ("opened", "Начало"),
                ("closed", "Край"),
                ("outcome", "Резултат"),
                ("placement_type", "Настаняване"),
                ("placement_region", "Област настаняване"),
                ("birth_date", "Рождена дата"),
                ("sex", "Пол"),
            ],
        };
        let _ = writeln!(t, "\n[sources.columns]");
        for (field, header) in columns {
            let _ = writeln!(t, "{field} = {}", toml_str(header));
        }
        if layout == Layout::Regional {
            // Canonical values throughout: nothing to map.
            continue;
        }
        let (case_types, outcomes, places) = match layout {
            Layout::Dsp => (CASE_TYPE_A, OUTCOME_A, PLACE_A),
            Layout::Ngo => (CASE_TYPE_B, OUTCOME_B, PLACE_B),
            _ => (CASE_TYPE_C, OUTCOME_C, PLACE_C),
        };
        toml_values(&mut t, "case_type", case_types, &canonical::<CaseType>());
        toml_values(&mut t, "outcome", outcomes, &canonical::<Outcome>());
        toml_values(
            &mut t,
            "placement_type",
            places,
            &canonical::<PlacementType>(),
        );
        match layout {
            Layout::Dsp => toml_values(&mut t, "sex", &["Ж", "М"], &["F", "M"]),
            Layout::Sofia => {
                toml_values(&mut t, "sex", &["ж", "м"], &["F", "M"]);
                // Plain "София" is ambiguous without a map; the export means the province.
                for field in ["region", "placement_region"] {
                    toml_values(&mut t, field, &["София-град", "София"], &["SOF", "SFO"]);
                }
            }
            _ => {}
        }
    }
    t
}

fn generate(out: &Path, rows: u64, seed: u64) -> anyhow::Result<(SynthSummary, Stats)> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    remove_stale(out)?;
    let geo = Geo::load()?;
    let mut g = Gen::new(&geo, out, rows, seed);
    g.run()?;
    let mut files = std::mem::take(&mut g.done);
    files.sort();
    let pipeline = out.join("pipeline.toml");
    fs::write(&pipeline, pipeline_toml(&geo, &g.kinds, rows, seed))
        .with_context(|| format!("cannot write {}", pipeline.display()))?;
    let key = out.join("demo.key");
    fs::write(&key, DEMO_KEY).with_context(|| format!("cannot write {}", key.display()))?;
    Ok((SynthSummary { files, pipeline }, g.stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::{is_valid_egn, is_valid_lnch};

    fn digits_of(s: &str) -> Option<[u8; 10]> {
        let b = s.as_bytes();
        if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut d = [0u8; 10];
        for (slot, c) in d.iter_mut().zip(b) {
            *slot = c - b'0';
        }
        Some(d)
    }

    /// The birth date and sex an ЕГН encodes, when its date part is a date.
    fn egn_birth(s: &str) -> Option<(NaiveDate, bool)> {
        let d = digits_of(s)?;
        let yy = i32::from(d[0] * 10 + d[1]);
        let mm = u32::from(d[2] * 10 + d[3]);
        let dd = u32::from(d[4] * 10 + d[5]);
        let (year, month) = match mm {
            41..=52 => (2000 + yy, mm - 40),
            21..=32 => (1800 + yy, mm - 20),
            _ => (1900 + yy, mm),
        };
        let date = NaiveDate::from_ymd_opt(year, month, dd)?;
        Some((date, d[8] % 2 == 1))
    }

    #[test]
    fn generated_identifiers_are_valid_and_consistent() {
        let geo = Geo::load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut g = Gen::new(&geo, dir.path(), 1000, 1);
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000 {
            let birth = day_of(1997, 1, 1) + (i * 7919) % 10_000;
            let female = i % 3 == 0;
            let id = format!("{:010}", g.next_egn(birth, female));
            assert!(is_valid_egn(&id), "{id}");
            let (date, f) = egn_birth(&id).unwrap();
            assert_eq!(date.num_days_from_ce(), birth, "{id}");
            assert_eq!(f, female, "{id}");
            assert!(seen.insert(id));
            let lnch = format!("{:010}", g.next_lnch());
            assert!(is_valid_lnch(&lnch), "{lnch}");
            assert!(egn_birth(&lnch).is_none(), "{lnch} reads as an ЕГН date");
            assert!(seen.insert(lnch));
        }
        assert_eq!(
            format!("{:010}", g.next_egn(day_of(2010, 5, 17), true))[..6],
            *"104517"
        );
        // A crowded birth day: the 500 serials run out and births move to nearby days.
        let opened = day_of(2020, 3, 10);
        for _ in 0..1_500 {
            let mut birth = opened - 3;
            let id = format!("{:010}", g.assign_id(&mut birth, false, opened));
            assert!(birth <= opened && opened - birth < 6570);
            if is_valid_egn(&id)
                && let Some((date, female)) = egn_birth(&id)
            {
                assert_eq!(date.num_days_from_ce(), birth, "{id}");
                assert!(!female);
            } else {
                assert!(is_valid_lnch(&id), "{id}");
            }
            assert!(seen.insert(id));
        }
        for id in [7523169263u64, 1001045670] {
            let bad = id / 10 * 10 + u64::from(g.wrong_digit(id));
            let s = format!("{bad:010}");
            assert!(!is_valid_egn(&s) && !is_valid_lnch(&s), "{s}");
        }
    }

    fn read_all(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push((
                        p.strip_prefix(dir).unwrap().to_path_buf(),
                        fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        files.sort();
        files
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        write_exports(a.path(), 5_000, 7).unwrap();
        write_exports(b.path(), 5_000, 7).unwrap();
        write_exports(c.path(), 5_000, 8).unwrap();
        let (fa, fb, fc) = (read_all(a.path()), read_all(b.path()), read_all(c.path()));
        assert!(fa.len() > 20);
        assert_eq!(fa, fb);
        assert_ne!(fa, fc);
    }

    #[test]
    fn rerun_removes_stale_exports_only() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join("ngo/ngo_2011.csv");
        let keep = dir.path().join("ngo/readme.txt");
        fs::create_dir_all(stale.parent().unwrap()).unwrap();
        fs::write(&stale, "x").unwrap();
        fs::write(&keep, "x").unwrap();
        write_exports(dir.path(), 500, 1).unwrap();
        assert!(!stale.exists());
        assert!(keep.exists());
    }

    /// Decode one export file as its layout says.
    fn decode(layout: Layout, bytes: &[u8]) -> String {
        match layout {
            Layout::Dsp | Layout::Regional => {
                let (text, malformed) =
                    encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes);
                assert!(!malformed);
                assert!(
                    std::str::from_utf8(bytes).is_err(),
                    "1251 file reads as UTF-8"
                );
                text.into_owned()
            }
            Layout::Ngo => {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
                String::from_utf8(bytes[3..].to_vec()).unwrap()
            }
            Layout::Sofia => {
                assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
                String::from_utf8(bytes.to_vec()).unwrap()
            }
        }
    }

    fn layout_of_path(p: &Path) -> Layout {
        let name = p.file_name().unwrap().to_str().unwrap();
        if name.starts_with("dsp_") {
            Layout::Dsp
        } else if name.starts_with("ngo_") {
            Layout::Ngo
        } else if name.starts_with("sofia_") {
            Layout::Sofia
        } else {
            assert!(name.starts_with("regional_"), "{name}");
            Layout::Regional
        }
    }

    fn parse_date(s: &str) -> Option<NaiveDate> {
        let s = s.trim_end_matches(" г.");
        ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
    }

    #[test]
    fn small_run_writes_four_layouts_as_declared() {
        let dir = tempfile::tempdir().unwrap();
        let rows = 30_000;
        let (summary, stats) = generate(dir.path(), rows, 42).unwrap();
        assert_eq!(summary.pipeline, dir.path().join("pipeline.toml"));
        assert_eq!(
            fs::read_to_string(dir.path().join("demo.key")).unwrap(),
            DEMO_KEY
        );

        let mut total = 0u64;
        let mut seen_layouts = std::collections::BTreeSet::new();
        let mut dsp_dirs = std::collections::BTreeSet::new();
        let (mut invalid_ids, mut empty_ids, mut short_rows) = (0u64, 0u64, 0u64);
        let (mut egn_checked, mut ngo_numbers, mut bad_dates) = (0u64, 0u64, 0u64);
        let mut years = std::collections::BTreeSet::new();
        for (path, n) in &summary.files {
            assert!(path.starts_with(dir.path()));
            let layout = layout_of_path(path);
            seen_layouts.insert(format!("{layout:?}"));
            if layout == Layout::Dsp {
                dsp_dirs.insert(path.parent().unwrap().to_path_buf());
            }
            let text = decode(layout, &fs::read(path).unwrap());
            let header = layout.header().join(&layout.delimiter().to_string());
            let line_end = if layout.crlf() { "\r\n" } else { "\n" };
            assert!(
                text.starts_with(&format!("{header}{line_end}")),
                "{}",
                path.display()
            );
            if !layout.crlf() {
                assert!(!text.contains('\r'));
            }
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(layout.delimiter() as u8)
                .flexible(true)
                .from_reader(text.as_bytes());
            let ncols = layout.header().len();
            let (id_col, birth_col, sex_col, opened_col) = match layout {
                Layout::Dsp => (1, 3, 4, 8),
                Layout::Ngo => (0, 2, 3, 10),
                Layout::Sofia => (0, 3, 4, 11),
                Layout::Regional => (1, 3, 4, 7),
            };
            let mut count = 0u64;
            for rec in rdr.records() {
                let rec = rec.unwrap();
                count += 1;
                if rec.len() != ncols {
                    assert_eq!(rec.len(), ncols - 1);
                    short_rows += 1;
                }
                match parse_date(&rec[opened_col]) {
                    Some(d) if d.year() <= LAST_YEAR => {
                        years.insert(d.year());
                    }
                    _ => bad_dates += 1,
                }
                let id: String = rec[id_col]
                    .chars()
                    .filter(|c| *c != ' ' && *c != '-')
                    .collect();
                if id.is_empty() {
                    empty_ids += 1;
                    continue;
                }
                if layout == Layout::Ngo && !id.starts_with(|c: char| c.is_ascii_digit()) {
                    assert!(["ВН", "BH", "ВH"].iter().any(|p| id.starts_with(p)), "{id}");
                    ngo_numbers += 1;
                    continue;
                }
                if !is_valid_egn(&id) && !is_valid_lnch(&id) {
                    assert_ne!(layout, Layout::Ngo, "invalid id in the NGO layout");
                    invalid_ids += 1;
                    continue;
                }
                if let Some((birth, female)) = egn_birth(&id) {
                    egn_checked += 1;
                    assert_eq!(parse_date(&rec[birth_col]), Some(birth), "{id}");
                    let sex = &rec[sex_col];
                    if sex != "U" {
                        let f = matches!(sex, "Ж" | "ж" | "F");
                        assert_eq!(f, female, "{id} {sex}");
                    }
                }
            }
            assert_eq!(count, *n, "{}", path.display());
            total += n;
        }
        let expected: Vec<String> = ["Dsp", "Ngo", "Sofia", "Regional"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            seen_layouts.into_iter().collect::<Vec<_>>().len(),
            expected.len()
        );
        assert_eq!(dsp_dirs.len(), 3);
        assert_eq!(years, (FIRST_YEAR..=LAST_YEAR).collect());
        assert_eq!(total, stats.cases + stats.exact_dups + stats.cross_dups);
        assert!(
            total.abs_diff(rows) * 10 <= rows,
            "{total} rows written for {rows} asked"
        );
        // Every invalid or empty identifier is one of the bad rows made on purpose.
        assert_eq!(invalid_ids, stats.bad[Bad::InvalidId as usize]);
        assert_eq!(empty_ids, stats.bad[Bad::EmptyId as usize]);
        assert_eq!(short_rows, stats.bad[Bad::TooFewColumns as usize]);
        assert!(bad_dates >= stats.bad[Bad::OpenedAfterAsOf as usize]);
        assert!(egn_checked as f64 > total as f64 * 0.9);
        assert!(ngo_numbers > 0);
        let bad: u64 = stats.bad.iter().sum();
        assert!(
            bad > 0 && (bad as f64) < total as f64 * 0.025,
            "{bad} bad rows"
        );
        assert!(stats.exact_dups > 0 && stats.cross_dups > 0);

        let toml = fs::read_to_string(&summary.pipeline).unwrap();
        assert_eq!(toml.matches("[[sources]]").count(), 3 + 3);
        assert!(toml.contains("path = \"dsp_dob/*.csv\""));
        assert!(toml.contains("delimiter = \"\\t\""));
        assert!(toml.contains("region = \"DOB\""));
    }

    #[test]
    fn large_runs_use_twelve_dsp_oblasts() {
        let geo = Geo::load().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let g = Gen::new(&geo, dir.path(), LARGE_ROWS, 1);
        let dsp = g.kinds.iter().filter(|k| k.layout == Layout::Dsp).count();
        assert_eq!(dsp, 12);
        let sofia = (0..28)
            .filter(|o| g.kinds[g.kind_of[*o]].layout == Layout::Sofia)
            .count();
        assert_eq!(sofia, 4);
        let toml = pipeline_toml(&geo, &g.kinds, LARGE_ROWS, 1);
        assert_eq!(toml.matches("[[sources]]").count(), 12 + 3);
    }

    /// Throughput in a debug build: `cargo test --lib synth -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput_200k_rows() {
        let dir = tempfile::tempdir().unwrap();
        let start = std::time::Instant::now();
        let summary = write_exports(dir.path(), 200_000, 1).unwrap();
        let elapsed = start.elapsed();
        let rows: u64 = summary.files.iter().map(|(_, n)| n).sum();
        let bytes: u64 = summary
            .files
            .iter()
            .map(|(p, _)| fs::metadata(p).unwrap().len())
            .sum();
        println!(
            "{rows} rows, {:.1} MB in {:.2} s: {:.0} rows/s",
            bytes as f64 / 1e6,
            elapsed.as_secs_f64(),
            rows as f64 / elapsed.as_secs_f64()
        );
    }
}

//! The four office layouts synth writes (A `dsp`, B `ngo`, C `sofia`, D `regional`): what each
//! column holds and is headed, how each spells the project's vocabularies, encodings,
//! delimiters, line ends and date styles; and which office exports which oblast. Describes
//! exports only: drawing values is `simulate`'s and `people`'s, writing bytes is `write`'s.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::DateStyle;
use crate::config::Field;
use crate::model::{RegionIdx, Vocabulary};
use crate::reference;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// A: Social Assistance Directorate, old software; one folder per oblast.
    Dsp,
    /// B: NGO partner, English.
    Ngo,
    /// C: Sofia offices.
    Sofia,
    /// D: the other regional directorates.
    Regional,
    /// E: one office exporting the whole country into one UTF-8, `;`-separated file, canonical
    /// labels and ISO dates (`--one-file`): the input of the benchmark's minimal peer.
    Plain,
}

impl Layout {
    pub(super) fn is_1251(self) -> bool {
        matches!(self, Layout::Dsp | Layout::Regional)
    }

    /// The `encoding` of the pipeline file.
    pub(super) fn encoding(self) -> &'static str {
        if self.is_1251() {
            "windows-1251"
        } else {
            "utf-8"
        }
    }

    /// Whether files start with a UTF-8 byte order mark.
    pub(super) fn has_bom(self) -> bool {
        self == Layout::Ngo
    }

    pub(super) fn crlf(self) -> bool {
        self.is_1251()
    }

    pub(super) fn delimiter(self) -> char {
        match self {
            Layout::Dsp | Layout::Plain => ';',
            Layout::Ngo | Layout::Regional => ',',
            Layout::Sofia => '\t',
        }
    }

    /// The columns, in file order, with their headers.
    pub(super) fn columns(self) -> &'static [(&'static str, Column)] {
        match self {
            Layout::Dsp => COLUMNS_A,
            Layout::Ngo => COLUMNS_B,
            Layout::Sofia => COLUMNS_C,
            Layout::Regional => COLUMNS_D,
            Layout::Plain => COLUMNS_E,
        }
    }

    pub(super) fn header(self) -> impl ExactSizeIterator<Item = &'static str> {
        self.columns().iter().map(|(header, _)| *header)
    }

    pub(super) fn labels(self) -> &'static Labels {
        match self {
            Layout::Dsp => &LABELS_A,
            Layout::Ngo => &LABELS_B,
            Layout::Sofia => &LABELS_C,
            Layout::Regional | Layout::Plain => &LABELS_D,
        }
    }

    /// The date styles of the layout's files, most frequent first (the pipeline's
    /// `date_formats`, in this order).
    pub(super) fn date_styles(self) -> &'static [DateStyle] {
        match self {
            Layout::Dsp => &[DateStyle::DotG, DateStyle::Dot],
            Layout::Ngo | Layout::Plain => &[DateStyle::Iso],
            Layout::Sofia => &[DateStyle::Slash],
            Layout::Regional => &[DateStyle::Dot],
        }
    }

    /// The date style of one row: layout A writes ` г.` after four dates in five.
    pub(super) fn draw_date_style(self, rng: &mut ChaCha8Rng) -> DateStyle {
        match self {
            Layout::Dsp if rng.random_bool(0.8) => DateStyle::DotG,
            Layout::Dsp => DateStyle::Dot,
            _ => self.date_styles()[0],
        }
    }

    /// Whether the office writes a file a year (else one file of every year).
    pub(super) fn yearly_files(self) -> bool {
        self != Layout::Plain
    }

    /// The share of rows whose sex is recorded as unknown, where the office records that.
    pub(super) fn unknown_sex_share(self) -> Option<f64> {
        (self == Layout::Ngo).then_some(0.01)
    }

    /// The pipeline's `child_id_scheme`: only the NGO has children without an ЕГН or ЛНЧ.
    pub(super) fn child_id_scheme(self) -> &'static str {
        if self == Layout::Ngo { "any" } else { "egn" }
    }
}

// ---------------------------------------------------------------------------------------------
// Columns.

/// What one column of an export holds, and how the layout spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    /// The running row number of the file (`№`).
    RowNumber,
    ChildId(IdStyle),
    Name(NameStyle),
    BirthDate,
    Sex,
    FamilyId(FamilyIdStyle),
    CaseNumber(CaseNumberStyle),
    Region(RegionStyle),
    Municipality(MunicipalityStyle),
    Office(OfficeStyle),
    CaseType,
    Opened,
    Closed,
    Outcome,
    PlacementType,
    PlacementRegion(RegionStyle),
    Address(Language),
    Phone,
    Notes(Language),
}

impl Column {
    /// The canonical field the pipeline file maps this column to; `None` for the columns it
    /// leaves unmapped (names, addresses, phones, notes).
    pub(super) fn field(self) -> Option<Field> {
        Some(match self {
            Column::ChildId(_) => Field::ChildId,
            Column::FamilyId(_) => Field::FamilyId,
            Column::CaseNumber(_) => Field::CaseId,
            Column::Region(_) => Field::Region,
            Column::Office(_) => Field::Office,
            Column::Municipality(_) => Field::Municipality,
            Column::CaseType => Field::CaseType,
            Column::Opened => Field::Opened,
            Column::Closed => Field::Closed,
            Column::Outcome => Field::Outcome,
            Column::PlacementType => Field::PlacementType,
            Column::PlacementRegion(_) => Field::PlacementRegion,
            Column::BirthDate => Field::BirthDate,
            Column::Sex => Field::Sex,
            Column::RowNumber
            | Column::Name(_)
            | Column::Address(_)
            | Column::Phone
            | Column::Notes(_) => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdStyle {
    /// Ten digits.
    Digits,
    /// The NGO's: its own numbers (`ВН-0042`) for some children, ЕГН sometimes typed in groups.
    Ngo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameStyle {
    /// `Тестина Примерова`
    FirstAndSurname,
    /// `Тестина Тестанова Примерова`
    ThreeNames,
    /// The first name alone (the surname has a column of its own).
    First,
    Surname,
    /// `Testina Primerova`
    English,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FamilyIdStyle {
    /// `1234`
    Number,
    /// `F001234`
    Prefixed,
}

/// How a case is numbered: `n` within its oblast and year, in the oblast with `CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CaseNumberStyle {
    /// `n/2023`
    NumberYear,
    /// `CODE-2023-000n`
    CodeYearNumber,
    /// `СЛ-CODE-2023-0000n`
    SofiaFile,
    /// `CODE-n/2023`
    CodeNumberYear,
}

/// How an export spells an oblast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RegionStyle {
    /// The EKATTE code, `VAR`.
    Code,
    NameBg,
    NameEn,
    /// The English name in three rows of five, the NUTS-3 code in the others.
    NameEnOrNuts3,
    /// The Bulgarian name, the two Sofias as `SOFIA_REGION_LABELS`.
    Sofia,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MunicipalityStyle {
    /// `VAR01`
    Code,
    NameBg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OfficeStyle {
    /// `NGO Varna`
    Ngo,
    /// The child's Sofia district in Sofia City, `ОЗД <municipality>` elsewhere.
    SofiaDepartment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Language {
    Bg,
    En,
}

/// Layout A: the directorates' old software (Windows-1251, `;`, CRLF).
#[rustfmt::skip]
const COLUMNS_A: &[(&str, Column)] = &[
    ("№", Column::RowNumber),
    ("ЕГН на детето", Column::ChildId(IdStyle::Digits)),
    ("Име на детето", Column::Name(NameStyle::FirstAndSurname)),
    ("Дата на раждане", Column::BirthDate),
    ("Пол", Column::Sex),
    ("Семейство №", Column::FamilyId(FamilyIdStyle::Number)),
    ("Преписка №", Column::CaseNumber(CaseNumberStyle::NumberYear)),
    ("Вид на случая", Column::CaseType),
    ("Дата на откриване", Column::Opened),
    ("Дата на приключване", Column::Closed),
    ("Резултат", Column::Outcome),
    ("Настаняване", Column::PlacementType),
    ("Област на настаняване", Column::PlacementRegion(RegionStyle::NameBg)),
    ("Адрес", Column::Address(Language::Bg)),
    ("Телефон", Column::Phone),
    ("Бележки", Column::Notes(Language::Bg)),
];

/// Layout B: the NGO partner, in English (UTF-8 with a BOM, `,`).
#[rustfmt::skip]
const COLUMNS_B: &[(&str, Column)] = &[
    ("Child ID", Column::ChildId(IdStyle::Ngo)),
    ("Child name", Column::Name(NameStyle::English)),
    ("Date of birth", Column::BirthDate),
    ("Sex", Column::Sex),
    ("Family ID", Column::FamilyId(FamilyIdStyle::Prefixed)),
    ("Case number", Column::CaseNumber(CaseNumberStyle::CodeYearNumber)),
    ("Region", Column::Region(RegionStyle::NameEnOrNuts3)),
    ("Municipality", Column::Municipality(MunicipalityStyle::Code)),
    ("Office", Column::Office(OfficeStyle::Ngo)),
    ("Case type", Column::CaseType),
    ("Opened", Column::Opened),
    ("Closed", Column::Closed),
    ("Outcome", Column::Outcome),
    ("Placement type", Column::PlacementType),
    ("Placement region", Column::PlacementRegion(RegionStyle::NameEn)),
    ("Address", Column::Address(Language::En)),
    ("Phone", Column::Phone),
    ("Notes", Column::Notes(Language::En)),
];

/// Layout C: the Sofia offices (UTF-8, tab-separated).
#[rustfmt::skip]
const COLUMNS_C: &[(&str, Column)] = &[
    ("ЕГН", Column::ChildId(IdStyle::Digits)),
    ("Име", Column::Name(NameStyle::First)),
    ("Фамилия", Column::Name(NameStyle::Surname)),
    ("Дата на раждане", Column::BirthDate),
    ("Пол", Column::Sex),
    ("Номер на семейството", Column::FamilyId(FamilyIdStyle::Number)),
    ("Номер на случая", Column::CaseNumber(CaseNumberStyle::SofiaFile)),
    ("Област", Column::Region(RegionStyle::Sofia)),
    ("Община", Column::Municipality(MunicipalityStyle::NameBg)),
    ("Отдел", Column::Office(OfficeStyle::SofiaDepartment)),
    ("Вид", Column::CaseType),
    ("Открит на", Column::Opened),
    ("Приключен на", Column::Closed),
    ("Изход", Column::Outcome),
    ("Вид настаняване", Column::PlacementType),
    ("Област на настаняване", Column::PlacementRegion(RegionStyle::Sofia)),
    ("Адрес", Column::Address(Language::Bg)),
    ("Телефон", Column::Phone),
];

/// Layout D: the other regional directorates, canonical values (Windows-1251, `,`, CRLF).
#[rustfmt::skip]
const COLUMNS_D: &[(&str, Column)] = &[
    ("Код област", Column::Region(RegionStyle::Code)),
    ("ЕГН/ЛНЧ", Column::ChildId(IdStyle::Digits)),
    ("Три имена", Column::Name(NameStyle::ThreeNames)),
    ("Рождена дата", Column::BirthDate),
    ("Пол", Column::Sex),
    ("Дело", Column::CaseNumber(CaseNumberStyle::CodeNumberYear)),
    ("Тип", Column::CaseType),
    ("Начало", Column::Opened),
    ("Край", Column::Closed),
    ("Резултат", Column::Outcome),
    ("Настаняване", Column::PlacementType),
    ("Област настаняване", Column::PlacementRegion(RegionStyle::Code)),
    ("Бележка", Column::Notes(Language::Bg)),
];

/// Layout E: the whole country in one file (UTF-8, `;`, LF, ISO dates, canonical values).
#[rustfmt::skip]
const COLUMNS_E: &[(&str, Column)] = &[
    ("ЕГН", Column::ChildId(IdStyle::Digits)),
    ("Име", Column::Name(NameStyle::FirstAndSurname)),
    ("Рождена дата", Column::BirthDate),
    ("Пол", Column::Sex),
    ("Семейство", Column::FamilyId(FamilyIdStyle::Number)),
    ("Дело", Column::CaseNumber(CaseNumberStyle::CodeNumberYear)),
    ("Код област", Column::Region(RegionStyle::Code)),
    ("Тип", Column::CaseType),
    ("Начало", Column::Opened),
    ("Край", Column::Closed),
    ("Резултат", Column::Outcome),
    ("Настаняване", Column::PlacementType),
    ("Област настаняване", Column::PlacementRegion(RegionStyle::Code)),
];

// ---------------------------------------------------------------------------------------------
// Labels.

/// How a layout spells the project's closed vocabularies (`model`). A table lists labels in
/// the vocabulary's `ALL` order; without a table, or past its end, a value is written in its
/// canonical spelling. The pipeline file maps every table back.
pub(super) struct Labels {
    pub case_type: Option<&'static [&'static str]>,
    pub outcome: Option<&'static [&'static str]>,
    pub placement_type: Option<&'static [&'static str]>,
    /// `F`, `M`: the offices that spell sex their own way never record `U`.
    pub sex: Option<&'static [&'static str]>,
    /// An outcome label that no mapping knows (a bad row).
    pub unknown_outcome: &'static str,
}

/// `value` as `table` spells it (see `Labels`).
pub(super) fn spell<V: Vocabulary>(
    table: Option<&'static [&'static str]>,
    value: V,
) -> &'static str {
    V::ALL
        .iter()
        .position(|v| *v == value)
        .and_then(|i| table?.get(i).copied())
        .unwrap_or_else(|| value.as_str())
}

/// Pairs of (label, canonical spelling) of a table, for the pipeline's value maps.
pub(super) fn label_map<V: Vocabulary>(
    table: &'static [&'static str],
) -> impl Iterator<Item = (&'static str, &'static str)> {
    table
        .iter()
        .zip(V::ALL)
        .map(|(label, v)| (*label, v.as_str()))
}

/// How layout C spells the two Sofias; plain "София" is the province.
pub(super) const SOFIA_REGION_LABELS: &[(&str, &str)] = &[("София-град", "SOF"), ("София", "SFO")];

const LABELS_A: Labels = Labels {
    case_type: Some(&["Превенция на изоставянето", "Реинтеграция"]),
    outcome: Some(&[
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
    ]),
    placement_type: Some(&[
        "Близки и роднини",
        "Приемно семейство",
        "ЦНСТ",
        "Институция",
    ]),
    sex: Some(&["Ж", "М"]),
    unknown_outcome: "Неясно",
};

const LABELS_B: Labels = Labels {
    case_type: Some(&["Prevention of abandonment", "Reintegration"]),
    outcome: Some(&[
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
    ]),
    placement_type: Some(&["kinship", "foster", "residential", "institution"]),
    sex: None,
    unknown_outcome: "Unclear",
};

const LABELS_C: Labels = Labels {
    case_type: Some(&["превенция", "реинтеграция"]),
    outcome: Some(&[
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
    ]),
    placement_type: Some(&[
        "близки и роднини",
        "приемна грижа",
        "ЦНСТ",
        "специализирана институция",
    ]),
    sex: Some(&["ж", "м"]),
    unknown_outcome: "Неясно",
};

/// Layout D writes canonical values throughout: nothing to map.
const LABELS_D: Labels = Labels {
    case_type: None,
    outcome: None,
    placement_type: None,
    sex: None,
    unknown_outcome: "Неясно",
};

// ---------------------------------------------------------------------------------------------
// Offices.

/// From this many rows on, layout A serves 12 oblasts and layout C four.
pub(super) const LARGE_ROWS: u64 = 100_000;

const SOFIA_OBLASTS: &[&str] = &["SOF", "SFO"];
const SOFIA_OBLASTS_LARGE: &[&str] = &["PER", "KNL"];
const NGO_OBLASTS: &[&str] = &["VAR", "BGS", "RSE", "SLV", "JAM"];
const DSP_OBLASTS: &[&str] = &["DOB", "VTR", "SML"];
const DSP_OBLASTS_LARGE: &[&str] = &[
    "BLG", "VID", "VRC", "GAB", "KRZ", "LOV", "MON", "PAZ", "PVN",
];

/// One office's exports, a source of the pipeline file: a folder with one file a year.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source {
    pub layout: Layout,
    /// The oblast of a layout-A folder.
    pub oblast: Option<RegionIdx>,
}

impl Source {
    /// The source's name, which is also its folder and the start of its files' names.
    pub(super) fn name(self) -> String {
        match self.layout {
            Layout::Dsp => {
                let oblast = &reference::oblasts()[self.oblast.unwrap_or(0) as usize];
                format!("dsp_{}", oblast.code.to_lowercase())
            }
            Layout::Ngo => "ngo".to_string(),
            Layout::Sofia => "sofia".to_string(),
            Layout::Regional => "regional".to_string(),
            Layout::Plain => "plain".to_string(),
        }
    }

    /// The source's code of the oblast it serves alone (layout A), for the pipeline's `region`.
    pub(super) fn region_code(self) -> Option<&'static str> {
        self.oblast
            .map(|o| reference::oblasts()[o as usize].code.as_str())
    }
}

/// Which office exports the cases of each oblast.
pub(super) struct Offices {
    /// Layout A's folders in oblast order, then B, C and D (the pipeline's source order).
    pub sources: Vec<Source>,
    /// The source that exports each oblast's cases.
    pub source_of: Vec<usize>,
    ngo: usize,
    regional: usize,
}

impl Offices {
    /// The offices of a run of about `rows` rows: large runs give layouts A and C more oblasts.
    pub(super) fn new(rows: u64) -> Offices {
        let large = rows >= LARGE_ROWS;
        let n = reference::oblasts().len();
        let mut layout_of = vec![Layout::Regional; n];
        let mut set = |codes: &[&str], layout: Layout| {
            for c in codes {
                let o = reference::region_by_code(c).expect("an oblast code of the reference");
                layout_of[o as usize] = layout;
            }
        };
        set(SOFIA_OBLASTS, Layout::Sofia);
        set(NGO_OBLASTS, Layout::Ngo);
        set(DSP_OBLASTS, Layout::Dsp);
        if large {
            set(SOFIA_OBLASTS_LARGE, Layout::Sofia);
            set(DSP_OBLASTS_LARGE, Layout::Dsp);
        }
        let mut sources = Vec::new();
        let mut source_of = vec![0; n];
        for (o, layout) in layout_of.iter().enumerate() {
            if *layout == Layout::Dsp {
                source_of[o] = sources.len();
                sources.push(Source {
                    layout: Layout::Dsp,
                    oblast: Some(o as RegionIdx),
                });
            }
        }
        let ngo = sources.len();
        let sofia = ngo + 1;
        let regional = ngo + 2;
        for layout in [Layout::Ngo, Layout::Sofia, Layout::Regional] {
            sources.push(Source {
                layout,
                oblast: None,
            });
        }
        for (o, layout) in layout_of.iter().enumerate() {
            match layout {
                Layout::Dsp | Layout::Plain => {}
                Layout::Ngo => source_of[o] = ngo,
                Layout::Sofia => source_of[o] = sofia,
                Layout::Regional => source_of[o] = regional,
            }
        }
        Offices {
            sources,
            source_of,
            ngo,
            regional,
        }
    }

    /// One office exporting every oblast's cases into one file (layout E, `--one-file`).
    pub(super) fn one_file() -> Offices {
        Offices {
            sources: vec![Source {
                layout: Layout::Plain,
                oblast: None,
            }],
            source_of: vec![0; reference::oblasts().len()],
            ngo: 0,
            regional: 0,
        }
    }

    pub(super) fn layout_of(&self, oblast: RegionIdx) -> Layout {
        self.sources[self.source_of[oblast as usize]].layout
    }

    /// The office that also exports, still open, a case `layout`'s office closed (a
    /// cross-office duplicate): the NGO for the regional directorates, else those.
    pub(super) fn other_office(&self, layout: Layout) -> usize {
        if layout == Layout::Regional {
            self.ngo
        } else {
            self.regional
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaseType, Outcome, PlacementType, Sex};

    const LAYOUTS: [Layout; 5] = [
        Layout::Dsp,
        Layout::Ngo,
        Layout::Sofia,
        Layout::Regional,
        Layout::Plain,
    ];

    #[test]
    fn label_tables_cover_their_vocabularies() {
        for layout in LAYOUTS {
            let labels = layout.labels();
            let tables = [
                (labels.case_type, CaseType::ALL.len()),
                (labels.outcome, Outcome::ALL.len()),
                (labels.placement_type, PlacementType::ALL.len()),
            ];
            for (table, n) in tables {
                assert!(table.is_none_or(|t| t.len() == n), "{layout:?}");
            }
            assert!(labels.sex.is_none_or(|t| t.len() == 2), "{layout:?}");
        }
        assert_eq!(spell(LABELS_A.outcome, Outcome::Adopted), "Осиновяване");
        assert_eq!(spell(LABELS_D.outcome, Outcome::Adopted), "adopted");
        assert_eq!(spell(LABELS_A.sex, Sex::M), "М");
        assert_eq!(spell(LABELS_A.sex, Sex::U), "U");
    }

    #[test]
    fn each_field_has_at_most_one_column() {
        for layout in LAYOUTS {
            for field in Field::ALL {
                let n = layout
                    .columns()
                    .iter()
                    .filter(|(_, c)| c.field() == Some(field))
                    .count();
                assert!(n <= 1, "{layout:?} {field:?}");
            }
        }
    }
}

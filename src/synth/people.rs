//! The fake people in synth's exports: children and families, their ЕГН/ЛНЧ (check digits from
//! `pseudonym`), names, addresses, phones and the notes about them, and how an export types
//! each. Only obviously fake values ("Тест…", "0000" phones); no drawing of cases (`simulate`).

use std::fmt::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::{day_of, ymd};
use super::geography::{Geo, SOFIA_DISTRICTS};
use super::layouts::{IdStyle, Language, NameStyle};
use crate::model::{CaseType, RegionIdx, Sex};
use crate::pseudonym::{egn_check_digit, lnch_check_digit};

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Children.

/// A child and the household the exports show with it. Names and addresses are indices into
/// the tables above (taken modulo their length).
#[derive(Debug, Clone, Copy)]
pub(super) struct Child {
    /// The 10-digit ЕГН or ЛНЧ.
    pub id: u64,
    /// Days from CE.
    pub birth: i32,
    pub female: bool,
    /// The NGO's own child number (`ВН-0042`), 0 when the NGO uses the ЕГН.
    pub ngo_no: u32,
    first: u8,
    father: u8,
    surname: u8,
    street: u8,
    place: u8,
    house: u16,
    /// Six digits after `0000`; 0 = no phone.
    phone: u32,
    /// Index into `reference::municipalities()`.
    pub muni: u16,
    /// Index into `SOFIA_DISTRICTS`.
    pub district: u8,
    pub family: u32,
}

impl Child {
    pub(super) fn sex(&self) -> Sex {
        if self.female { Sex::F } else { Sex::M }
    }
}

/// How a row shows the child's identifier.
#[derive(Debug, Clone, Copy)]
pub(super) enum IdMode {
    Normal,
    /// The last digit replaced by this one, which makes neither a valid ЕГН nor a valid ЛНЧ.
    Invalid(u8),
    Empty,
}

/// Age at opening in days, 0 to 17 years.
fn age_at_opening(rng: &mut ChaCha8Rng, case_type: CaseType) -> i32 {
    let u: f64 = rng.random();
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
    rng.random_range(lo..hi)
}

/// Everyone handed out so far: identifiers, family numbers, the NGO's child numbers.
pub(super) struct People {
    /// ЕГН serials handed out per (birth day, sex): each ЕГН is given to one child only.
    egn_base: i32,
    egn_counters: Vec<u16>,
    lnch_counter: u32,
    ngo_counter: u32,
    family_counter: u32,
}

impl People {
    pub(super) fn new() -> People {
        let egn_base = day_of(1996, 1, 1);
        let egn_days = (day_of(2026, 1, 1) - egn_base) as usize;
        People {
            egn_base,
            egn_counters: vec![0; egn_days * 2],
            lnch_counter: 0,
            ngo_counter: 0,
            family_counter: 0,
        }
    }

    /// A new child with a new family in `oblast`, for a case of `case_type` opened on `opened`;
    /// `ngo` says the NGO exports the oblast (it numbers some children its own way).
    pub(super) fn new_child(
        &mut self,
        rng: &mut ChaCha8Rng,
        geo: &Geo,
        oblast: RegionIdx,
        ngo: bool,
        case_type: CaseType,
        opened: i32,
    ) -> Child {
        let mut birth = opened - age_at_opening(rng, case_type);
        let female = rng.random_bool(0.486);
        let id = self.assign_id(rng, &mut birth, female, opened);
        let mut child = Child {
            id,
            birth,
            female,
            ngo_no: 0,
            first: rng.random_range(0..64),
            father: rng.random_range(0..64),
            surname: rng.random_range(0..64),
            street: rng.random_range(0..64),
            place: rng.random_range(0..64),
            house: rng.random_range(1..200),
            phone: if rng.random_bool(0.9) {
                rng.random_range(1..1_000_000)
            } else {
                0
            },
            muni: 0,
            district: 0,
            family: 0,
        };
        self.settle(rng, geo, &mut child, oblast, ngo);
        child
    }

    /// Give `child` a home in `oblast`: municipality, district, family number, NGO number.
    pub(super) fn settle(
        &mut self,
        rng: &mut ChaCha8Rng,
        geo: &Geo,
        child: &mut Child,
        oblast: RegionIdx,
        ngo: bool,
    ) {
        let area = &geo.areas[oblast as usize];
        child.muni = match area.center {
            Some(c) if rng.random_bool(0.45) => c,
            _ => area.municipalities[rng.random_range(0..area.municipalities.len())],
        };
        child.district = rng.random_range(0..SOFIA_DISTRICTS.len()) as u8;
        self.family_counter += 1;
        child.family = self.family_counter;
        child.ngo_no = 0;
        if ngo && rng.random_bool(0.05) {
            self.ngo_counter += 1;
            child.ngo_no = self.ngo_counter;
        }
    }

    /// A brother or sister of `first`, in the same household and case.
    pub(super) fn sibling(
        &mut self,
        rng: &mut ChaCha8Rng,
        first: &Child,
        ngo: bool,
        case_type: CaseType,
        opened: i32,
    ) -> Child {
        let mut birth = opened - age_at_opening(rng, case_type);
        let female = rng.random_bool(0.486);
        let id = self.assign_id(rng, &mut birth, female, opened);
        let mut child = Child {
            id,
            birth,
            female,
            first: rng.random_range(0..64),
            ..*first
        };
        if first.ngo_no != 0 {
            self.ngo_counter += 1;
            child.ngo_no = self.ngo_counter;
        }
        if ngo && first.ngo_no == 0 && rng.random_bool(0.05) {
            self.ngo_counter += 1;
            child.ngo_no = self.ngo_counter;
        }
        child
    }

    // -----------------------------------------------------------------------------------------
    // Identifiers.

    fn egn_slot(&self, birth: i32, female: bool) -> Option<usize> {
        let day = usize::try_from(birth - self.egn_base).ok()?;
        let slot = day * 2 + usize::from(female);
        (slot < self.egn_counters.len()).then_some(slot)
    }

    /// The child's identifier: about 2 % get a ЛНЧ, the others an ЕГН. An ЕГН is never given
    /// twice: when the 500 serials of a birth day and sex are used up (only in runs of millions
    /// of rows), the birth date moves to the nearest day with a free serial, not after `opened`.
    fn assign_id(
        &mut self,
        rng: &mut ChaCha8Rng,
        birth: &mut i32,
        female: bool,
        opened: i32,
    ) -> u64 {
        if rng.random_bool(0.02) {
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
}

/// The nine decimal digits of `n` (< 10⁹), most significant first.
fn digits9(mut n: u64) -> [u8; 9] {
    let mut d = [0u8; 9];
    for slot in d.iter_mut().rev() {
        *slot = (n % 10) as u8;
        n /= 10;
    }
    d
}

/// A last digit that makes `id` neither a valid ЕГН nor a valid ЛНЧ.
pub(super) fn wrong_digit(rng: &mut ChaCha8Rng, id: u64) -> u8 {
    let digits = digits9(id / 10);
    let (egn, lnch) = (egn_check_digit(digits), lnch_check_digit(digits));
    let mut d = rng.random_range(0..10u8);
    while d == egn || d == lnch {
        d = (d + 1) % 10;
    }
    d
}

// ---------------------------------------------------------------------------------------------
// As the exports type them. Each writer clears `tmp` first.

pub(super) fn write_id(
    tmp: &mut String,
    child: &Child,
    mode: IdMode,
    style: IdStyle,
    rng: &mut ChaCha8Rng,
) {
    tmp.clear();
    let id = match mode {
        IdMode::Empty => return,
        IdMode::Normal => child.id,
        IdMode::Invalid(d) => child.id / 10 * 10 + u64::from(d),
    };
    if style == IdStyle::Digits {
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

pub(super) fn write_name(tmp: &mut String, child: &Child, style: NameStyle) {
    tmp.clear();
    let female = child.female;
    // Bulgarian father's names and surnames take -а in the female form.
    let push_bg = |tmp: &mut String, name: &str| {
        tmp.push_str(name);
        if female {
            tmp.push('а');
        }
    };
    let first_bg = if female { FEMALE_BG } else { MALE_BG };
    let first_bg = first_bg[child.first as usize % first_bg.len()];
    let surname_bg = SURNAME_BG[child.surname as usize % SURNAME_BG.len()];
    match style {
        NameStyle::First => tmp.push_str(first_bg),
        NameStyle::Surname => push_bg(tmp, surname_bg),
        NameStyle::FirstAndSurname => {
            tmp.push_str(first_bg);
            tmp.push(' ');
            push_bg(tmp, surname_bg);
        }
        NameStyle::ThreeNames => {
            tmp.push_str(first_bg);
            tmp.push(' ');
            push_bg(tmp, FATHER_BG[child.father as usize % FATHER_BG.len()]);
            tmp.push(' ');
            push_bg(tmp, surname_bg);
        }
        NameStyle::English => {
            let first = if female { FEMALE_EN } else { MALE_EN };
            let (male, female_form) = SURNAME_EN[child.surname as usize % SURNAME_EN.len()];
            tmp.push_str(first[child.first as usize % first.len()]);
            tmp.push(' ');
            tmp.push_str(if female { female_form } else { male });
        }
    }
}

pub(super) fn write_address(tmp: &mut String, child: &Child, language: Language) {
    tmp.clear();
    let house = child.house;
    if language == Language::En {
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

pub(super) fn write_phone(tmp: &mut String, child: &Child) {
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

/// A caseworker's note, in half the rows.
pub(super) fn draw_note(rng: &mut ChaCha8Rng, language: Language) -> &'static str {
    if !rng.random_bool(0.5) {
        return "";
    }
    let notes = match language {
        Language::Bg => NOTES_BG,
        Language::En => NOTES_EN,
    };
    notes[rng.random_range(0..notes.len())]
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;
    use rand::SeedableRng;

    use super::*;
    use crate::pseudonym::{is_valid_egn, is_valid_lnch};
    use crate::synth::tests::egn_birth;

    #[test]
    fn generated_identifiers_are_valid_and_consistent() {
        let mut g = People::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
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
            let id = format!("{:010}", g.assign_id(&mut rng, &mut birth, false, opened));
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
            let bad = id / 10 * 10 + u64::from(wrong_digit(&mut rng, id));
            let s = format!("{bad:010}");
            assert!(!is_valid_egn(&s) && !is_valid_lnch(&s), "{s}");
        }
    }

    #[test]
    fn names_are_written_in_each_style() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let geo = Geo::load().unwrap();
        let mut people = People::new();
        let mut child = people.new_child(
            &mut rng,
            &geo,
            0,
            false,
            CaseType::Prevention,
            day_of(2020, 1, 1),
        );
        child.female = true;
        let mut tmp = String::new();
        write_name(&mut tmp, &child, NameStyle::ThreeNames);
        let three = tmp.clone();
        let words: Vec<&str> = three.split(' ').collect();
        assert_eq!(words.len(), 3, "{tmp}");
        assert!(words[0].starts_with("Тест") && words[1].ends_with('а') && words[2].ends_with('а'));
        write_name(&mut tmp, &child, NameStyle::FirstAndSurname);
        assert_eq!(tmp, format!("{} {}", words[0], words[2]));
        write_name(&mut tmp, &child, NameStyle::First);
        assert_eq!(tmp, words[0]);
        write_name(&mut tmp, &child, NameStyle::Surname);
        assert_eq!(tmp, words[2]);
        write_name(&mut tmp, &child, NameStyle::English);
        assert!(tmp.starts_with("Test"), "{tmp}");
    }
}

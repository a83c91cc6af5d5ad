//! Which cases are in which programme (SPEC §10): a case is a member when its office (after the
//! office value map), source, region or municipality is listed. Cases are sorted into classes,
//! one per distinct set of programmes, so the pass counts a class, never a programme per case.
//! Also how many kept cases each listed name matched, for `check` and the run's warnings.

use std::collections::HashMap;

use crate::config::Programme;
use crate::link::{LinkCase, Place, Places};
use crate::reference::{self, lookup_key};

/// The programme classes of a run: class 0 is "in no programme".
#[derive(Debug, Clone)]
pub struct Membership {
    /// The class of each place of `Places`.
    class_of_place: Vec<u16>,
    /// The programmes of each class, a bit each (bit `i`: `pipeline.programmes[i]`).
    masks: Vec<u32>,
}

impl Membership {
    /// Sort `places` into classes by the programmes whose members they are. `offices`: ingest's
    /// office names; `source_of_file`: the source index of each input file.
    pub fn new(
        programmes: &[Programme],
        places: &[Place],
        offices: &[String],
        source_of_file: &[usize],
    ) -> Membership {
        let office_keys: Vec<Vec<String>> = programmes
            .iter()
            .map(|p| p.offices.iter().map(|o| lookup_key(o)).collect())
            .collect();
        let office_key: Vec<String> = offices.iter().map(|o| lookup_key(o)).collect();
        let mut masks = vec![0u32];
        let mut class_by_mask: HashMap<u32, u16> = HashMap::from([(0, 0)]);
        let class_of_place = places
            .iter()
            .map(|place| {
                let mut mask = 0u32;
                for (i, p) in programmes.iter().enumerate() {
                    let office = office_key.get(place.office as usize);
                    let source = source_of_file.get(place.file as usize);
                    let member = office.is_some_and(|o| office_keys[i].contains(o))
                        || source.is_some_and(|s| p.sources.contains(s))
                        || p.regions.contains(&place.region)
                        || place
                            .municipality
                            .is_some_and(|m| p.municipalities.contains(&m));
                    if member {
                        mask |= 1 << i;
                    }
                }
                *class_by_mask.entry(mask).or_insert_with(|| {
                    masks.push(mask);
                    (masks.len() - 1) as u16
                })
            })
            .collect();
        Membership {
            class_of_place,
            masks,
        }
    }

    /// The number of classes (at least 1: "in no programme").
    pub fn classes(&self) -> usize {
        self.masks.len()
    }

    /// The programmes of `class`, a bit each.
    pub fn mask(&self, class: u16) -> u32 {
        self.masks[usize::from(class)]
    }

    /// The per-case lookup the pass uses.
    pub fn case_classes<'a>(&'a self, places: &'a Places) -> CaseClasses<'a> {
        CaseClasses {
            places,
            class_of_place: &self.class_of_place,
        }
    }
}

/// Each case's class and tie rank, by ordinal, as the pass reads them.
pub struct CaseClasses<'a> {
    places: &'a Places,
    class_of_place: &'a [u16],
}

impl CaseClasses<'_> {
    /// The class and tie rank of the case with ordinal `ordinal`.
    pub fn of(&self, ordinal: u32) -> (u16, u64) {
        let place = self.places.place_of(ordinal) as usize;
        (self.class_of_place[place], self.places.rank_of(ordinal))
    }
}

/// How many kept cases one listed member matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMatch {
    /// `offices`, `sources`, `regions` or `municipalities`.
    pub list: &'static str,
    /// The name as the pipeline file lists it (an office) or its canonical spelling.
    pub name: String,
    pub cases: u64,
}

/// How many kept cases each programme, and each name it lists, matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeMatches {
    pub cases: u64,
    pub listed: Vec<ListedMatch>,
}

/// Count, for each programme, the kept `cases` it matched, in all and by listed name.
pub fn matches(
    programmes: &[Programme],
    source_names: &[&str],
    cases: &[LinkCase],
    places: &Places,
    offices: &[String],
    source_of_file: &[usize],
) -> Vec<ProgrammeMatches> {
    let mut per_place = vec![0u64; places.places().len()];
    for c in cases {
        per_place[places.place_of(c.ordinal) as usize] += 1;
    }
    let office_key: Vec<String> = offices.iter().map(|o| lookup_key(o)).collect();
    let membership = Membership::new(programmes, places.places(), offices, source_of_file);
    programmes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let count = |test: &dyn Fn(&Place) -> bool| -> u64 {
                places
                    .places()
                    .iter()
                    .zip(&per_place)
                    .filter(|(place, _)| test(place))
                    .map(|(_, n)| *n)
                    .sum()
            };
            let mut listed = Vec::new();
            for office in &p.offices {
                let key = lookup_key(office);
                listed.push(ListedMatch {
                    list: "offices",
                    name: office.clone(),
                    cases: count(&|pl| office_key.get(pl.office as usize) == Some(&key)),
                });
            }
            for s in &p.sources {
                listed.push(ListedMatch {
                    list: "sources",
                    name: source_names.get(*s).copied().unwrap_or("?").to_string(),
                    cases: count(&|pl| source_of_file.get(pl.file as usize) == Some(s)),
                });
            }
            for r in &p.regions {
                listed.push(ListedMatch {
                    list: "regions",
                    name: reference::oblasts()[usize::from(*r)].code.clone(),
                    cases: count(&|pl| pl.region == *r),
                });
            }
            for m in &p.municipalities {
                let muni = &reference::municipalities()[usize::from(*m)];
                listed.push(ListedMatch {
                    list: "municipalities",
                    name: format!("{} ({})", muni.name_bg, muni.code),
                    cases: count(&|pl| pl.municipality == Some(*m)),
                });
            }
            let cases = places
                .places()
                .iter()
                .zip(&per_place)
                .enumerate()
                .filter(|(j, _)| membership.mask(membership.class_of_place[*j]) & (1 << i) != 0)
                .map(|(_, (_, n))| *n)
                .sum();
            ProgrammeMatches { cases, listed }
        })
        .collect()
}

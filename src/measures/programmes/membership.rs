//! Which cases are in which programme (SPEC §10): a case is a member when its office (after the
//! office value map), source, region or municipality is listed. Cases are sorted into classes,
//! one per distinct set of programmes, so the pass counts a class, never a programme per case.
//! Also how many kept cases each listed name matched, for `check` and the run's warnings.

use std::collections::HashMap;

use crate::config::Programme;
use crate::link::{Place, PlaceTag, Places};
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

    /// The per-case lookup the pass uses, for cases held in memory with their places.
    pub fn case_classes<'a>(&'a self, places: &'a Places) -> CaseClasses<'a> {
        CaseClasses {
            tags: CaseTags::ByOrdinal(places),
            class_of_place: &self.class_of_place,
        }
    }

    /// The per-case lookup the pass uses, for a batch of merged cases whose tags come beside
    /// them, one a case in the same order.
    pub fn classes_beside<'a>(&'a self, tags: &'a [PlaceTag]) -> CaseClasses<'a> {
        CaseClasses {
            tags: CaseTags::Beside(tags),
            class_of_place: &self.class_of_place,
        }
    }
}

/// Each case's class and tie rank, as the pass reads them.
#[derive(Clone, Copy)]
pub struct CaseClasses<'a> {
    tags: CaseTags<'a>,
    class_of_place: &'a [u16],
}

/// Where a case's place and tie rank are found.
#[derive(Clone, Copy)]
enum CaseTags<'a> {
    /// By the case's ordinal: every case's place is in memory.
    ByOrdinal(&'a Places),
    /// Beside the cases: the `i`th tag is the `i`th case's.
    Beside(&'a [PlaceTag]),
}

impl<'a> CaseClasses<'a> {
    /// The class and tie rank of the case with ordinal `ordinal`, the `at`th of the cases
    /// this lookup was made (or cut, `part`) for.
    pub fn of(&self, at: usize, ordinal: u32) -> (u16, u64) {
        let tag = match self.tags {
            CaseTags::ByOrdinal(places) => places.tag_of(ordinal),
            CaseTags::Beside(tags) => tags[at],
        };
        (self.class_of_place[tag.place as usize], tag.rank)
    }

    /// The lookup for the cases `from..to` of those it was made for.
    pub fn part(&self, from: usize, to: usize) -> CaseClasses<'a> {
        let tags = match self.tags {
            CaseTags::ByOrdinal(places) => CaseTags::ByOrdinal(places),
            CaseTags::Beside(tags) => CaseTags::Beside(&tags[from..to]),
        };
        CaseClasses {
            tags,
            class_of_place: self.class_of_place,
        }
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

/// Count, for each programme, the kept cases it matched, in all (by `membership`, made from
/// the same `places`) and by listed name, from the kept cases of each place (`per_place[i]`:
/// those of `places[i]`, `link::Linked::kept_per_place`).
#[allow(clippy::too_many_arguments)]
pub fn matches(
    programmes: &[Programme],
    membership: &Membership,
    source_names: &[&str],
    places: &[Place],
    per_place: &[u64],
    offices: &[String],
    source_of_file: &[usize],
) -> Vec<ProgrammeMatches> {
    let office_key: Vec<String> = offices.iter().map(|o| lookup_key(o)).collect();
    programmes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let count = |test: &dyn Fn(&Place) -> bool| -> u64 {
                places
                    .iter()
                    .zip(per_place)
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
                .iter()
                .zip(per_place)
                .enumerate()
                .filter(|(j, _)| membership.mask(membership.class_of_place[*j]) & (1 << i) != 0)
                .map(|(_, (_, n))| *n)
                .sum();
            ProgrammeMatches { cases, listed }
        })
        .collect()
}

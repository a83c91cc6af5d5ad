//! Test fixtures for programmes: a small world of hand-built cases in named offices, run
//! through the real store, deduplication, membership and pass, so that tests here and in
//! `disclosure` check SPEC §10 on counts that can be worked out with pencil and paper.

use chrono::NaiveDate;

use crate::config::{Comparison, Programme, SuccessSets};
use crate::dates;
use crate::ingest::{CaseSink, InputFile};
use crate::link::{self, CaseStore};
use crate::measures::{self, Membership, ProgrammeTable, ProgrammesInput, RateRow};
use crate::model::{Case, CaseType, Outcome, RegionIdx};
use crate::reference;

pub fn day(s: &str) -> i32 {
    dates::to_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date"))
}

pub fn region(code: &str) -> RegionIdx {
    reference::region_by_code(code).expect("a test oblast code")
}

/// A programme of `offices` and `regions` from `start`, compared with the rest.
pub fn programme(name: &str, offices: &[&str], regions: &[&str], start: &str) -> Programme {
    Programme {
        name: name.into(),
        title: name.into(),
        offices: offices.iter().map(|o| o.to_string()).collect(),
        sources: Vec::new(),
        regions: regions.iter().map(|r| region(r)).collect(),
        municipalities: Vec::new(),
        start: NaiveDate::parse_from_str(start, "%Y-%m-%d").expect("a test date"),
        end: None,
        comparison: Comparison::Rest,
    }
}

/// Cases in named offices, each office in one region.
#[derive(Default)]
pub struct World {
    pub cases: Vec<Case>,
    pub offices: Vec<String>,
    next_child: u32,
}

impl World {
    pub fn new() -> World {
        World::default()
    }

    fn office_index(&mut self, name: &str) -> u32 {
        match self.offices.iter().position(|o| o == name) {
            Some(i) => i as u32,
            None => {
                self.offices.push(name.to_string());
                (self.offices.len() - 1) as u32
            }
        }
    }

    /// A new child's pseudonym.
    pub fn child(&mut self) -> [u8; 16] {
        self.next_child += 1;
        let mut p = [0u8; 16];
        p[..4].copy_from_slice(&self.next_child.to_be_bytes());
        p
    }

    /// A case of `child` in `office` (in oblast `at`).
    #[allow(clippy::too_many_arguments)]
    pub fn case(
        &mut self,
        child: [u8; 16],
        office: &str,
        at: &str,
        case_type: CaseType,
        opened: &str,
        closed: Option<&str>,
        outcome: Option<Outcome>,
    ) {
        let office = self.office_index(office);
        let n = self.cases.len() as u32;
        let mut case_id = [0xCCu8; 16];
        case_id[..4].copy_from_slice(&n.to_be_bytes());
        self.cases.push(Case {
            child,
            family: None,
            case: Some(case_id),
            region: region(at),
            municipality: None,
            office,
            case_type,
            opened: day(opened),
            closed: closed.map(day),
            outcome,
            placement_type: None,
            placement_region: None,
            birth_year: None,
            sex: None,
            file: 0,
            line: u64::from(n) + 2,
        });
    }

    /// `n` new children, each with one prevention case in `office` opened on `opened` and
    /// closed 30 days later, the first `successes` of them `stayed_with_family`, the rest
    /// `foster_care`.
    pub fn closed_prevention(
        &mut self,
        office: &str,
        at: &str,
        opened: &str,
        n: u32,
        successes: u32,
    ) {
        let closed = NaiveDate::parse_from_str(opened, "%Y-%m-%d").expect("a test date")
            + chrono::Days::new(30);
        let closed = closed.format("%Y-%m-%d").to_string();
        for i in 0..n {
            let child = self.child();
            let outcome = if i < successes {
                Outcome::StayedWithFamily
            } else {
                Outcome::FosterCare
            };
            let t = CaseType::Prevention;
            self.case(child, office, at, t, opened, Some(&closed), Some(outcome));
        }
    }

    /// The rates table and programme rows before disclosure control, as of `as_of`, computed
    /// the way a run computes them. Also computed as a run that spilled its cases in runs of
    /// three does (merged and measured in batches of about two): the same rows, or a panic.
    pub fn measure(&self, programmes: &[Programme], as_of: &str) -> (Vec<RateRow>, ProgrammeTable) {
        let (memory, streamed) = (self.measured(programmes, as_of, None), {
            let dir = tempfile::tempdir().expect("a temporary folder");
            self.measured(programmes, as_of, Some(dir.path()))
        });
        assert_eq!(memory.rates, streamed.rates, "spilled and in memory");
        assert_eq!(memory.reconciliation, streamed.reconciliation);
        let (memory_rows, streamed_rows) = (
            &memory
                .programmes
                .as_ref()
                .expect("programmes were given")
                .rows,
            &streamed
                .programmes
                .as_ref()
                .expect("programmes were given")
                .rows,
        );
        assert_eq!(memory_rows, streamed_rows, "spilled and in memory");
        (
            memory.rates,
            memory.programmes.expect("programmes were given"),
        )
    }

    /// The measures, with the cases spilled into `spill` (in runs of three) when given.
    fn measured(
        &self,
        programmes: &[Programme],
        as_of: &str,
        spill: Option<&std::path::Path>,
    ) -> measures::Measured {
        let mut store = CaseStore::in_memory().track_places();
        if let Some(folder) = spill {
            store = store.spill_over(3 * 44, Some(folder));
        }
        for case in &self.cases {
            store
                .accept(*case)
                .expect("an in-memory store accepts every case");
        }
        let file = InputFile {
            source: 0,
            path: "fixture.csv".into(),
            display: "fixture/fixture.csv".into(),
            sha256: String::new(),
            encoding: "utf-8",
            delimiter: b',',
            sheet: None,
            rows_read: self.cases.len() as u64,
            rows_rejected: 0,
            reject_counts: Default::default(),
        };
        let success = SuccessSets::default();
        let published = crate::config::PublishedTable::shipped();
        let deduped = link::dedupe(store, &[file]).expect("the fixture links");
        let places = deduped.places().expect("the store tracked places");
        let membership = Membership::new(programmes, places.places(), &self.offices, &[0]);
        match deduped {
            link::Deduped::InMemory(linked) => {
                let input = ProgrammesInput {
                    programmes,
                    membership: &membership,
                    places: linked.places().expect("the store tracked places"),
                };
                measures::compute_all(&linked.cases, &success, day(as_of), &published, Some(input))
            }
            link::Deduped::Spilled(spilled) => {
                let mut stream = measures::MeasureStream::new(
                    spilled.span(),
                    &success,
                    Some((programmes, &membership)),
                );
                spilled
                    .merge(2, |cases, tags| -> Result<(), link::LinkError> {
                        stream.add(cases, tags);
                        Ok(())
                    })
                    .expect("the fixture merges");
                stream.finish(day(as_of), &published)
            }
        }
    }
}

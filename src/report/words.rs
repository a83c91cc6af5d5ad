//! A programme's findings in plain words (SPEC §10): per rate measure, the gap between the
//! programme and its comparison since the start, the gap before it, how the gap changed (the
//! difference in differences), or that a figure is withheld and why. Words describe what the
//! published rows say; they never claim a cause, and they never show a withheld number.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::format::{format_point_ends, format_points, format_rate, rounds_to_zero};
use super::i18n::{Strings, measure_name, text};
use crate::config::{Comparison, Lang, Programme};
use crate::measures::{Group, Measure, Period, ProgrammeRow, Status};

/// One sentence, and whether it says that a figure is withheld.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Sentence {
    pub text: String,
    pub withheld: bool,
    /// For a withheld difference: what lets it be said together with others (`together`).
    #[serde(skip)]
    alike: Option<Alike>,
}

/// What a withheld difference's sentence says besides the measure's name.
#[derive(Debug, Clone, PartialEq)]
struct Alike {
    measure: String,
    years: String,
    primary: bool,
}

impl Sentence {
    fn plain(text: String) -> Sentence {
        Sentence {
            text,
            withheld: false,
            alike: None,
        }
    }

    fn withheld(text: String) -> Sentence {
        Sentence {
            text,
            withheld: true,
            alike: None,
        }
    }
}

/// What the words need to know about the programme and the report.
pub(super) struct Context<'a> {
    pub t: &'a Strings,
    pub lang: Lang,
    pub min_count: u32,
    pub start: NaiveDate,
    /// Where the programme's cases are: `where_offices`, `where_regions`, ….
    pub place: &'static str,
    /// Where the comparison's cases are: `elsewhere_rest` or `elsewhere_regions`.
    pub elsewhere: &'static str,
}

impl<'a> Context<'a> {
    pub fn of(programme: &Programme, t: &'a Strings, lang: Lang, min_count: u32) -> Context<'a> {
        let kinds = [
            (
                !programme.offices.is_empty() || !programme.sources.is_empty(),
                "where_offices",
            ),
            (!programme.regions.is_empty(), "where_regions"),
            (!programme.municipalities.is_empty(), "where_municipalities"),
        ];
        let listed: Vec<&'static str> = kinds.iter().filter(|k| k.0).map(|k| k.1).collect();
        Context {
            t,
            lang,
            min_count,
            start: programme.start,
            place: match listed.as_slice() {
                [one] => one,
                _ => "where_programme",
            },
            elsewhere: match programme.comparison {
                Comparison::Rest => "elsewhere_rest",
                Comparison::Regions(_) => "elsewhere_regions",
            },
        }
    }

    fn say(&self, key: &str, fill: &[(&str, &str)]) -> String {
        text(self.t, key, fill)
    }

    /// `4.8 points fewer`, `7.0 points more`, `about the same`.
    fn gap(&self, d: f64) -> String {
        let points = format_points(d, self.lang, false);
        let key = if rounds_to_zero(d) {
            "gap_same"
        } else if d > 0.0 {
            "gap_more"
        } else {
            "gap_fewer"
        };
        self.say(key, &[("points", &points)])
    }

    /// `95% CI −3.5 to 0.4`.
    fn ci(&self, row: &ProgrammeRow) -> String {
        let (low, high) = format_point_ends(
            row.ci_low.unwrap_or_default(),
            row.ci_high.unwrap_or_default(),
            self.lang,
        );
        self.say("ci_points", &[("low", &low), ("high", &high)])
    }

    /// Why rows are withheld: small numbers when one of them is (primary), else so that
    /// subtraction cannot reveal a small group.
    fn why(&self, primary: bool) -> String {
        self.why_of(primary, false)
    }

    /// `why` for one figure or, `many`, for several.
    fn why_of(&self, primary: bool, many: bool) -> String {
        match (primary, many) {
            (true, false) => self.say("why_small", &[("k", &self.min_count.to_string())]),
            (true, true) => self.say("why_small_many", &[("k", &self.min_count.to_string())]),
            (false, _) => self.say("why_subtraction", &[]),
        }
    }
}

/// Whether any of `rows` is withheld for small numbers (primary suppression).
fn any_primary(rows: &[Option<&ProgrammeRow>]) -> bool {
    rows.iter()
        .flatten()
        .any(|r| r.status == Status::SuppressedPrimary)
}

/// `2019–2024`, or `2024` for one year.
pub(super) fn span(years: &[i32]) -> String {
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}

fn is_withheld(row: &ProgrammeRow) -> bool {
    matches!(
        row.status,
        Status::SuppressedPrimary | Status::SuppressedSecondary
    )
}

/// The sentences about rate measure `m` in `periods` (`during`, and `after` when asked), from
/// the programme's rows (any order).
pub(super) fn findings(
    cx: &Context<'_>,
    m: Measure,
    rows: &[&ProgrammeRow],
    periods: &[Period],
) -> Vec<Sentence> {
    let find = |group: Group, period: Period| {
        rows.iter()
            .copied()
            .find(|r| r.measure == m && r.group == group && r.period == Some(period))
    };
    let start = cx.start.year().to_string();
    let name = measure_name(cx.t, m);
    let mut out = Vec::new();
    for period in periods.iter().copied().filter(|p| *p != Period::Before) {
        let programme = find(Group::Programme, period);
        let comparison = find(Group::Comparison, period);
        let difference = find(Group::Difference, period);
        let years = span(programme.or(comparison).map_or(&[][..], |r| &r.years[..]));
        let Some(difference) = difference else {
            if period == Period::During {
                out.push(Sentence::plain(
                    cx.say("finding_no_period", &[("measure", &name)]),
                ));
            }
            continue;
        };
        match difference.status {
            Status::Ok => {
                let (Some(p), Some(c), Some(d)) = (
                    programme.and_then(|r| r.rate),
                    comparison.and_then(|r| r.rate),
                    difference.rate,
                ) else {
                    continue;
                };
                let before = match (period, find(Group::Difference, Period::Before)) {
                    (Period::During, Some(b)) => match (b.status, b.rate) {
                        (Status::Ok, Some(rate)) => cx.say(
                            "finding_before",
                            &[("start", &start), ("gap", &cx.gap(rate))],
                        ),
                        (Status::NoData, _) => {
                            cx.say("finding_before_no_data", &[("start", &start)])
                        }
                        _ => cx.say("finding_before_withheld", &[("start", &start)]),
                    },
                    _ => String::new(),
                };
                let key = match period {
                    Period::After => "finding_after",
                    _ => "finding_period",
                };
                out.push(Sentence::plain(cx.say(
                    key,
                    &[
                        ("where", &cx.say(cx.place, &[])),
                        (
                            "share",
                            &cx.say(
                                &format!("share_{}", m.code()),
                                &[("value", &format_rate(p, cx.lang))],
                            ),
                        ),
                        ("years", &years),
                        ("other", &format_rate(c, cx.lang)),
                        ("elsewhere", &cx.say(cx.elsewhere, &[])),
                        ("gap", &cx.gap(d)),
                        ("ci", &cx.ci(difference)),
                        ("before", &before),
                    ],
                )));
                if let Some(change) = find(Group::DifferenceInDifferences, period) {
                    out.extend(change_sentence(
                        cx, &name, &start, &years, change, rows, period,
                    ));
                }
            }
            Status::NoData => out.push(Sentence::plain(
                cx.say("finding_no_data", &[("measure", &name), ("years", &years)]),
            )),
            _ => {
                let primary = any_primary(&[programme, comparison]);
                let mut sentence = Sentence::withheld(cx.say(
                    "finding_withheld",
                    &[
                        ("measure", &name),
                        ("years", &years),
                        ("why", &cx.why(primary)),
                    ],
                ));
                sentence.alike = Some(Alike {
                    measure: name.clone(),
                    years,
                    primary,
                });
                out.push(sentence);
            }
        }
    }
    out
}

/// How the gap changed from `before` to `period`, or that the change is withheld and why.
fn change_sentence(
    cx: &Context<'_>,
    name: &str,
    start: &str,
    years: &str,
    change: &ProgrammeRow,
    rows: &[&ProgrammeRow],
    period: Period,
) -> Option<Sentence> {
    match (change.status, change.rate) {
        (Status::Ok, Some(did)) => {
            let points = format_points(did, cx.lang, true);
            // Whether the interval leaves out "no change": said next to the figure, with the
            // reminder that it does not say what caused the change.
            let clear = match (change.ci_low, change.ci_high) {
                (Some(lo), Some(hi)) => lo > 0.0 || hi < 0.0,
                _ => false,
            };
            let verdict = cx.say(
                if clear {
                    "verdict_clear"
                } else {
                    "verdict_unclear"
                },
                &[],
            );
            Some(Sentence::plain(cx.say(
                "finding_change",
                &[
                    ("start", start),
                    ("years", years),
                    ("change", &cx.say("points_signed", &[("points", &points)])),
                    ("ci", &cx.ci(change)),
                    ("verdict", &verdict),
                ],
            )))
        }
        _ if is_withheld(change) => {
            let sources: Vec<Option<&ProgrammeRow>> = [Period::Before, period]
                .into_iter()
                .flat_map(|p| [Group::Programme, Group::Comparison].map(|g| (g, p)))
                .map(|(g, p)| {
                    rows.iter().copied().find(|r| {
                        r.measure == change.measure && r.group == g && r.period == Some(p)
                    })
                })
                .collect();
            Some(Sentence::withheld(cx.say(
                "finding_change_withheld",
                &[
                    ("measure", name),
                    ("start", start),
                    ("years", years),
                    ("why", &cx.why(any_primary(&sources))),
                ],
            )))
        }
        _ => None,
    }
}

/// The measures' findings, with neighbouring measures whose only finding is a withheld
/// difference of the same years and reason said in one sentence: "A, B and C, 2019–2023: the
/// differences are withheld …".
pub(super) fn together(cx: &Context<'_>, said: Vec<Vec<Sentence>>) -> Vec<Vec<Sentence>> {
    let mut out: Vec<Vec<Sentence>> = Vec::new();
    let mut group: Vec<Alike> = Vec::new();
    let flush = |group: &mut Vec<Alike>, out: &mut Vec<Vec<Sentence>>| {
        let Some(first) = group.first() else {
            return;
        };
        let names: Vec<&str> = group.iter().map(|a| a.measure.as_str()).collect();
        let sentence = match names.as_slice() {
            [_] => cx.say(
                "finding_withheld",
                &[
                    ("measure", &first.measure),
                    ("years", &first.years),
                    ("why", &cx.why(first.primary)),
                ],
            ),
            [rest @ .., last] => cx.say(
                "finding_withheld_many",
                &[
                    (
                        "measures",
                        &cx.say("and_list", &[("list", &rest.join(", ")), ("last", last)]),
                    ),
                    ("years", &first.years),
                    ("why", &cx.why_of(first.primary, true)),
                ],
            ),
            [] => return,
        };
        out.push(vec![Sentence::withheld(sentence)]);
        group.clear();
    };
    for sentences in said {
        let alone = match sentences.as_slice() {
            [only] => only.alike.clone(),
            _ => None,
        };
        match alone {
            Some(alike) => {
                let fits = group
                    .first()
                    .is_none_or(|g| g.years == alike.years && g.primary == alike.primary);
                if !fits {
                    flush(&mut group, &mut out);
                }
                group.push(alike);
            }
            None => {
                flush(&mut group, &mut out);
                out.push(sentences);
            }
        }
    }
    flush(&mut group, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::i18n::strings;

    fn row(group: Group, period: Period, status: Status, rate: Option<f64>) -> ProgrammeRow {
        let ok = status == Status::Ok;
        ProgrammeRow {
            programme: 0,
            group,
            measure: Measure::PreventionClosed,
            year: None,
            period: Some(period),
            years: match period {
                Period::Before => vec![2008, 2009, 2010],
                Period::During => (2011..=2017).collect(),
                Period::After => vec![2018, 2019],
            },
            numerator: None,
            denominator: None,
            rate: rate.filter(|_| ok),
            ci_low: rate.filter(|_| ok).map(|r| r - 0.04),
            ci_high: rate.filter(|_| ok).map(|r| r + 0.04),
            status,
        }
    }

    /// 81% against 74% in 2011–2017 (7 points more, 95% CI 3 to 11); before: 1 point more.
    fn rows(during: Status, before: Status) -> Vec<ProgrammeRow> {
        use Group::*;
        let both = if during == Status::Ok && before == Status::Ok {
            Status::Ok
        } else {
            Status::SuppressedSecondary
        };
        vec![
            row(Programme, Period::Before, before, Some(0.75)),
            row(Comparison, Period::Before, before, Some(0.74)),
            row(Programme, Period::During, during, Some(0.81)),
            row(Comparison, Period::During, during, Some(0.74)),
            row(Difference, Period::Before, before, Some(0.01)),
            row(Difference, Period::During, during, Some(0.07)),
            row(DifferenceInDifferences, Period::During, both, Some(0.06)),
        ]
    }

    fn context(lang: Lang) -> Context<'static> {
        Context {
            t: strings(lang),
            lang,
            min_count: 5,
            start: NaiveDate::from_ymd_opt(2011, 9, 1).unwrap(),
            place: "where_offices",
            elsewhere: "elsewhere_rest",
        }
    }

    #[test]
    fn a_change_whose_interval_includes_zero_is_not_told_from_chance() {
        let mut rows = rows(Status::Ok, Status::Ok);
        let did = rows.last_mut().unwrap();
        (did.rate, did.ci_low, did.ci_high) = (Some(0.02), Some(-0.01), Some(0.05));
        for (lang, says) in [
            (Lang::En, "cannot tell this change from chance"),
            (Lang::Bg, "не могат да отличат тази промяна от случайност"),
        ] {
            let said = say(lang, &rows);
            assert!(
                said[1].text.ends_with(&format!("{says}.")),
                "{}",
                said[1].text
            );
        }
    }

    fn say(lang: Lang, rows: &[ProgrammeRow]) -> Vec<Sentence> {
        let refs: Vec<&ProgrammeRow> = rows.iter().collect();
        findings(
            &context(lang),
            Measure::PreventionClosed,
            &refs,
            &[Period::During, Period::After],
        )
    }

    #[test]
    fn the_gap_in_english() {
        let said = say(Lang::En, &rows(Status::Ok, Status::Ok));
        assert_eq!(said.len(), 2);
        assert_eq!(
            said[0].text,
            "In the programme's offices 81.0% of prevention cases closed successfully in \
             2011–2017 against 74.0% elsewhere: 7.0 points more (95% CI 3.0 to 11.0); before \
             2011 it was 1.0 points more."
        );
        assert_eq!(
            said[1].text,
            "From before 2011 to 2011–2017 the gap changed by +6.0 points (difference in \
             differences, 95% CI 2.0 to 10.0): the interval leaves out 0, so the change is more \
             than chance, though the figures do not show what caused it."
        );
        assert!(said.iter().all(|s| !s.withheld));
    }

    #[test]
    fn the_gap_in_bulgarian() {
        let said = say(Lang::Bg, &rows(Status::Ok, Status::Ok));
        assert_eq!(
            said[0].text,
            "В отделите на програмата 81,0\u{a0}% от случаите на превенция са приключили \
             успешно през 2011–2017 г. срещу 74,0\u{a0}% в останалата част от страната: с 7,0 \
             процентни пункта повече (95\u{a0}% ДИ от 3,0 до 11,0); преди 2011 г. – с 1,0 \
             процентни пункта повече."
        );
        assert_eq!(
            said[1].text,
            "От периода преди 2011 г. до 2011–2017 г. разликата се е променила с +6,0 \
             процентни пункта (разлика в разликите, 95\u{a0}% ДИ от 2,0 до 10,0): интервалът не включва 0, така че промяната е повече от случайност – но числата не показват каква е причината за нея."
        );
    }

    #[test]
    fn a_negative_gap_is_fewer_and_its_interval_keeps_its_signs() {
        let mut rows = rows(Status::Ok, Status::Ok);
        let during = &mut rows[5];
        (during.rate, during.ci_low, during.ci_high) = (Some(-0.015), Some(-0.035), Some(0.004));
        rows[2].rate = Some(0.725);
        let en = say(Lang::En, &rows);
        assert!(
            en[0]
                .text
                .contains("72.5% of prevention cases closed successfully in 2011–2017 against 74.0% elsewhere: 1.5 points fewer (95% CI −3.5 to 0.4)"),
            "{}",
            en[0].text
        );
        let bg = say(Lang::Bg, &rows);
        assert!(
            bg[0]
                .text
                .contains("с 1,5 процентни пункта по-малко (95\u{a0}% ДИ от −3,5 до 0,4)"),
            "{}",
            bg[0].text
        );
        // Words describe: no claim of a cause in either language.
        for s in en.iter().chain(&bg) {
            for cause in [
                "thanks to",
                "because of the programme",
                "raised",
                "благодарение",
            ] {
                assert!(!s.text.contains(cause), "{}", s.text);
            }
        }
    }

    #[test]
    fn a_withheld_headline_says_why_and_shows_no_number() {
        // The programme's row is small (primary): its pair and the difference follow.
        let mut rows = rows(Status::SuppressedSecondary, Status::Ok);
        rows[2].status = Status::SuppressedPrimary;
        let en = say(Lang::En, &rows);
        assert_eq!(en.len(), 1, "no gap and no change of a withheld gap");
        assert!(en[0].withheld);
        assert_eq!(
            en[0].text,
            "Prevention cases closed successfully, 2011–2017: the difference is withheld \
             because it rests on a group of fewer than 5 children or cases."
        );
        let bg = say(Lang::Bg, &rows);
        assert_eq!(
            bg[0].text,
            "Успешно приключени случаи на превенция, 2011–2017 г.: разликата не се публикува, \
             защото се основава на група от по-малко от 5 деца или случая."
        );
        // Hidden only so that subtraction cannot reveal a small group.
        let rows = self::rows(Status::SuppressedSecondary, Status::Ok);
        let en = say(Lang::En, &rows);
        assert!(
            en[0].text.ends_with(
                "withheld so that subtracting one published figure from another cannot reveal a small group."
            ),
            "{}",
            en[0].text
        );
        assert!(!en[0].text.contains('%'));
    }

    #[test]
    fn a_withheld_before_period_withholds_the_change_too() {
        let rows = rows(Status::Ok, Status::SuppressedSecondary);
        let en = say(Lang::En, &rows);
        assert!(
            en[0].text.ends_with("; the gap before 2011 is withheld."),
            "{}",
            en[0].text
        );
        assert!(en[1].withheld);
        assert_eq!(
            en[1].text,
            "Prevention cases closed successfully: the change in the gap from before 2011 to \
             2011–2017 is withheld so that subtracting one published figure from another \
             cannot reveal a small group."
        );
    }

    #[test]
    fn no_period_since_the_start_is_said_and_a_zero_gap_is_about_the_same() {
        let en = say(Lang::En, &[]);
        assert_eq!(
            en[0].text,
            "Prevention cases closed successfully: no complete year since the programme started."
        );
        let mut rows = rows(Status::Ok, Status::Ok);
        rows[5].rate = Some(0.0004);
        let en = say(Lang::En, &rows);
        assert!(
            en[0].text.contains("elsewhere: about the same (95% CI"),
            "{}",
            en[0].text
        );
    }

    #[test]
    fn withheld_differences_of_the_same_years_and_reason_are_said_once() {
        let cx = context(Lang::En);
        let withheld = |m: Measure, years: &str, primary: bool| {
            let mut s = Sentence::withheld(format!("{} alone", m.code()));
            s.alike = Some(Alike {
                measure: measure_name(cx.t, m),
                years: years.into(),
                primary,
            });
            vec![s]
        };
        let said = together(
            &cx,
            vec![
                vec![Sentence::plain("Published.".into())],
                withheld(Measure::Prevention12m, "2019–2023", false),
                withheld(Measure::Reintegration12m, "2019–2023", false),
                withheld(Measure::ReintegrationSustained12m, "2019–2023", false),
                withheld(Measure::OutOfRegionPlacement, "2019–2024", true),
            ],
        );
        assert_eq!(said.len(), 3);
        assert_eq!(said[0][0].text, "Published.");
        assert_eq!(
            said[1][0].text,
            "Prevention success within 12 months, Reintegration within 12 months and Sustained \
             reintegration (12 months), 2019–2023: the differences are withheld so that \
             subtracting one published figure from another cannot reveal a small group."
        );
        assert!(said[1][0].withheld);
        // Alone, a withheld difference keeps its own sentence, with its own reason.
        assert!(said[2][0].text.starts_with(
            "Placements outside the region, 2019–2024: the difference is withheld because"
        ));
        let bg = together(
            &context(Lang::Bg),
            vec![
                withheld(Measure::Prevention12m, "2019–2023", false),
                withheld(Measure::Reintegration12m, "2019–2023", false),
            ],
        );
        assert!(
            bg[0][0].text.contains(" и ")
                && bg[0][0]
                    .text
                    .contains("2019–2023 г.: разликите не се публикуват, за да"),
            "{}",
            bg[0][0].text
        );
    }
}

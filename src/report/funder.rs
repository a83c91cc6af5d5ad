//! A programme's funder report (SPEC §10), `programme-<name>-<lang>.html`: self-contained and
//! at most two A4 pages. The view model here adds to the programme's view what a funder who
//! reads nothing else needs: what each measure means, how sure the figures are, what was
//! withheld and why. `templates/programme.html` lays it out.

use serde::Serialize;

use super::ReportInput;
use super::format::{format_count, format_date};
use super::i18n::{Strings, measure_name, strings, text};
use super::programmes::{ProgrammeView, Scope, programme_view, withheld};
use super::rows::programme_rows;
use super::view::{Definition, warnings};
use crate::config::{Comparison, Lang};

#[derive(Serialize)]
pub(super) struct FunderView {
    lang: &'static str,
    t: &'static Strings,
    kicker: String,
    subtitle: String,
    warnings: Vec<String>,
    programme: ProgrammeView,
    definitions: Vec<Definition>,
    method_notes: Vec<String>,
    withheld_notes: Vec<String>,
    colophon: String,
}

/// The funder report of programme `index` in `lang`; `None` when there is no such programme.
pub(super) fn funder_view(input: &ReportInput<'_>, index: usize, lang: Lang) -> Option<FunderView> {
    let t = strings(lang);
    let programme = input.pipeline.programmes.get(index)?;
    let view = programme_view(input, index, lang, t, Scope::Funder)?;
    let k = input.pipeline.min_count;
    let definitions = view
        .measures
        .iter()
        .map(|m| Definition {
            name: measure_name(t, *m),
            text: text(t, &format!("define_{}", m.code()), &[]),
        })
        .collect();
    let disjoint = match programme.comparison {
        Comparison::Rest => "method_disjoint_rest",
        Comparison::Regions(_) => "method_disjoint_regions",
    };
    let method_notes = vec![
        text(t, "method_points", &[]),
        text(t, "method_programme_intervals", &[]),
        text(t, disjoint, &[]),
        text(t, "method_describe", &[]),
    ];

    let counts = withheld(&programme_rows(input.programmes, index));
    let n = |v: usize| format_count(v as u64, lang);
    let mut withheld_notes = vec![if counts.primary + counts.secondary == 0 {
        text(
            t,
            "withheld_none",
            &[("total", &n(counts.figures)), ("k", &k.to_string())],
        )
    } else {
        text(
            t,
            "withheld_count",
            &[
                ("total", &n(counts.figures)),
                ("withheld", &n(counts.primary + counts.secondary)),
                ("primary", &n(counts.primary)),
                ("secondary", &n(counts.secondary)),
                ("k", &k.to_string()),
                ("k1", &k.saturating_sub(1).to_string()),
            ],
        )
    }];
    withheld_notes.push(text(t, "withheld_marks", &[]));
    if counts.incomplete > 0 {
        withheld_notes.push(text(
            t,
            "withheld_incomplete",
            &[("n", &n(counts.incomplete))],
        ));
    }

    Some(FunderView {
        lang: lang.code(),
        t,
        kicker: text(t, "funder_kicker", &[]),
        subtitle: text(
            t,
            "funder_subtitle",
            &[
                ("pipeline", &input.pipeline.name),
                ("as_of", &format_date(input.as_of, lang)),
            ],
        ),
        warnings: warnings(input, lang, t),
        programme: view,
        definitions,
        method_notes,
        withheld_notes,
        colophon: text(
            t,
            "funder_colophon",
            &[
                ("version", input.version),
                ("pipeline", &input.pipeline.name),
                ("sha", input.pipeline_sha256),
                ("fingerprint", input.key_fingerprint),
                ("file", &super::programme_file_name(programme, lang)),
            ],
        ),
    })
}

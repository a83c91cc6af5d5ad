//! The pipeline file synth writes beside its exports (`pipeline.toml`): one source per office,
//! mapping its layout onto the canonical fields of SPEC §2, and the simulated programme, if
//! any, as SPEC §10 defines one; and the public demo key. Strings are quoted by the `toml`
//! crate; the file's order, comments and blank lines are fixed here.

use std::fmt::Write as _;

use super::effect::Programme;
use super::forms::{Form, Forms, sheet_name};
use super::layouts::{Column, Offices, RegionStyle, SOFIA_REGION_LABELS, label_map};
use super::simulate::AS_OF;
use crate::config::Field;
use crate::model::{CaseType, Outcome, PlacementType, Sex};
use crate::reference;

/// The project's public demo key (`keys/demo.key`): pseudonyms made with it protect nothing.
pub(super) const DEMO_KEY: &str = include_str!("../../keys/demo.key");

/// A TOML string, as the `toml` crate writes one.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A `[sources.values.<field>]` table: the labels that differ from their canonical spelling.
fn toml_values<'a>(t: &mut String, field: Field, pairs: impl Iterator<Item = (&'a str, &'a str)>) {
    let _ = writeln!(t, "\n[sources.values.{}]", field.name());
    for (label, canon) in pairs {
        if label != canon {
            let _ = writeln!(t, "{} = {}", toml_str(label), toml_str(canon));
        }
    }
}

/// The name of the simulated programme in the pipeline file.
pub(super) const PROGRAMME_NAME: &str = "synth-programme";

/// The pipeline file for the exports of `offices`, written by a run of `rows`, `seed` and
/// `programme`, each office's files in its form of `forms`.
pub(super) fn pipeline_toml(
    offices: &Offices,
    rows: u64,
    seed: u64,
    programme: Option<&Programme>,
    forms: &Forms,
) -> String {
    let mut t = String::new();
    let (y, m, d) = AS_OF;
    let mut options = programme.map_or(String::new(), |p| format!(" {}", p.options()));
    if offices.sources.iter().any(|s| !s.layout.yearly_files()) {
        options.push_str(" --one-file");
    }
    options.push_str(&forms.options());
    let _ = writeln!(
        t,
        "# Synthetic exports written by `outcomes synth --rows {rows} --seed {seed}{options}`.\n\
         # Only fake people; the key is the public demo key.\n\
         name = \"synth\"\n\
         key_file = \"demo.key\"\n\
         as_of = \"{y:04}-{m:02}-{d:02}\"\n\
         min_count = 5\n\
         max_reject_rate = 0.05"
    );
    for source in &offices.sources {
        let layout = source.layout;
        let name = source.name();
        let formats: Vec<String> = layout
            .date_styles()
            .iter()
            .map(|style| toml_str(style.format()))
            .collect();
        let form = forms.of(*source);
        let path = toml_str(&format!("{name}/*.{}", form.extension()));
        match form {
            Form::Csv => {
                let _ = writeln!(
                    t,
                    "\n[[sources]]\nname = {}\npath = {path}\nencoding = {}\ndelimiter = {}\ndate_formats = [{}]",
                    toml_str(&name),
                    toml_str(layout.encoding()),
                    toml_str(&layout.delimiter().to_string()),
                    formats.join(", ")
                );
            }
            Form::Utf16 | Form::Cr => {
                let encoding = if form == Form::Utf16 {
                    "utf-16"
                } else {
                    layout.encoding()
                };
                let _ = writeln!(
                    t,
                    "\n[[sources]]\nname = {}\npath = {path}\nencoding = {}\ndelimiter = {}\ndate_formats = [{}]",
                    toml_str(&name),
                    toml_str(encoding),
                    toml_str(&layout.delimiter().to_string()),
                    formats.join(", ")
                );
            }
            Form::Xlsx => {
                let _ = writeln!(
                    t,
                    "\n[[sources]]\nname = {}\npath = {path}\nsheet = {}\ndate_formats = [{}]",
                    toml_str(&name),
                    toml_str(sheet_name(layout)),
                    formats.join(", ")
                );
            }
        }
        if let Some(code) = source.region_code() {
            let _ = writeln!(t, "region = {}", toml_str(code));
        }
        let _ = writeln!(
            t,
            "child_id_scheme = {}",
            toml_str(layout.child_id_scheme())
        );

        let _ = writeln!(t, "\n[sources.columns]");
        for field in Field::ALL {
            let column = layout
                .columns()
                .iter()
                .find(|(_, c)| c.field() == Some(field));
            if let Some((header, _)) = column {
                let _ = writeln!(t, "{} = {}", field.name(), toml_str(header));
            }
        }

        let labels = layout.labels();
        if let Some(table) = labels.case_type {
            toml_values(&mut t, Field::CaseType, label_map::<CaseType>(table));
        }
        if let Some(table) = labels.outcome {
            toml_values(&mut t, Field::Outcome, label_map::<Outcome>(table));
        }
        if let Some(table) = labels.placement_type {
            toml_values(
                &mut t,
                Field::PlacementType,
                label_map::<PlacementType>(table),
            );
        }
        if let Some(table) = labels.sex {
            toml_values(&mut t, Field::Sex, label_map::<Sex>(table));
        }
        for (_, column) in layout.columns() {
            if let Column::Region(RegionStyle::Sofia) | Column::PlacementRegion(RegionStyle::Sofia) =
                column
                && let Some(field) = column.field()
            {
                // Plain "София" is ambiguous without a map; the export means the province.
                toml_values(&mut t, field, SOFIA_REGION_LABELS.iter().copied());
            }
        }
    }
    if let Some(programme) = programme {
        programme_toml(&mut t, programme);
    }
    t
}

/// The programme's oblasts by their English names: "Varna, Dobrich and Sofia City".
fn programme_places(programme: &Programme) -> String {
    let names: Vec<&str> = programme
        .codes()
        .filter_map(reference::region_by_code)
        .map(|r| reference::oblasts()[usize::from(r)].name_en.as_str())
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// The `[[programmes]]` entry of the simulated programme (SPEC §10): whole oblasts, against
/// every other case.
fn programme_toml(t: &mut String, programme: &Programme) {
    let regions: Vec<String> = programme.codes().map(toml_str).collect();
    let _ = writeln!(
        t,
        "\n# The simulated programme: in expectation, its difference in differences of\n\
         # prevention_closed and reintegration_closed is the effect ({:+} points).\n\
         [[programmes]]\n\
         name = {}\n\
         title = {}\n\
         regions = [{}]\n\
         start = \"{:04}-01-01\"\n\
         comparison = \"rest\"",
        programme.effect(),
        toml_str(PROGRAMME_NAME),
        // The title names the places, not the effect: a report must not state its answer.
        toml_str(&format!(
            "Simulated programme in {}",
            programme_places(programme)
        )),
        regions.join(", "),
        programme.start(),
    );
}

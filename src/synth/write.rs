//! Writing synth's exports: each row formatted in its layout (one writer, driven by the
//! layout's column table), encoded, and appended to its office's file for the year, with exact
//! duplicate rows a few rows later. Decides no values beyond how they are typed (`simulate`).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::{DateStyle, Ymd, ymd};
use super::geography::{Geo, SOFIA_DISTRICTS};
use super::layouts::{
    CaseNumberStyle, Column, FamilyIdStyle, Layout, MunicipalityStyle, OfficeStyle, RegionStyle,
    SOFIA_REGION_LABELS, Source, spell,
};
use super::people::{self, Child, IdMode};
use crate::model::{CaseType, Outcome, PlacementType, RegionIdx, Sex};

/// The outcome column of a row.
#[derive(Debug, Clone, Copy)]
pub(super) enum OutcomeLabel {
    Empty,
    Outcome(Outcome),
    /// A label no mapping knows (a bad row).
    Unknown,
}

/// One row as it is to be written: a case's values, some spoiled on purpose (bad rows).
pub(super) struct Row<'c> {
    pub child: &'c Child,
    pub oblast: RegionIdx,
    pub case_type: CaseType,
    /// The case's number within its oblast and year.
    pub number: u32,
    pub id: IdMode,
    pub opened: Ymd,
    pub closed: Option<Ymd>,
    pub outcome: OutcomeLabel,
    pub placement: Option<(PlacementType, RegionIdx)>,
    /// Leave out the last column (a bad row).
    pub drop_last: bool,
}

// ---------------------------------------------------------------------------------------------
// One row.

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

    /// Append a field, quoted when it holds the delimiter, a quote or a line break; fields
    /// past `max` are dropped.
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
            style.push(&mut self.tmp, date);
        }
        self.push_tmp();
    }

    fn end(&mut self, crlf: bool) {
        self.line.push_str(if crlf { "\r\n" } else { "\n" });
    }

    /// The line as the layout's files hold it.
    fn bytes(&mut self, layout: Layout) -> &[u8] {
        if layout.is_1251() {
            encode_1251(&self.line, &mut self.enc);
            &self.enc
        } else {
            self.line.as_bytes()
        }
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

/// An oblast as `style` spells it.
fn region_name(
    rng: &mut ChaCha8Rng,
    geo: &Geo,
    style: RegionStyle,
    idx: RegionIdx,
) -> &'static str {
    let oblast = geo.oblast(idx);
    match style {
        RegionStyle::Code => &oblast.code,
        RegionStyle::NameBg => &oblast.name_bg,
        RegionStyle::NameEn => &oblast.name_en,
        RegionStyle::NameEnOrNuts3 if rng.random_bool(0.6) => &oblast.name_en,
        RegionStyle::NameEnOrNuts3 => &oblast.nuts3,
        RegionStyle::Sofia => SOFIA_REGION_LABELS
            .iter()
            .find(|(_, code)| *code == oblast.code)
            .map_or(&oblast.name_bg, |(label, _)| label),
    }
}

/// Format `row` in `layout` into `fmt.line`, line end included; `no` is its number in the file.
/// Values are drawn column by column, in file order, also for a column that is then dropped.
fn format_row(fmt: &mut Fmt, rng: &mut ChaCha8Rng, geo: &Geo, layout: Layout, no: u64, row: &Row) {
    let columns = layout.columns();
    let max = if row.drop_last {
        columns.len() - 1
    } else {
        columns.len()
    };
    fmt.start(layout.delimiter(), max);
    let style = layout.draw_date_style(rng);
    let labels = layout.labels();
    let child = row.child;
    let oblast = geo.oblast(row.oblast);
    let year = row.opened.0;
    for (_, column) in columns {
        match *column {
            Column::RowNumber => {
                fmt.tmp.clear();
                let _ = write!(fmt.tmp, "{no}");
                fmt.push_tmp();
            }
            Column::ChildId(id_style) => {
                people::write_id(&mut fmt.tmp, child, row.id, id_style, rng);
                fmt.push_tmp();
            }
            Column::Name(name_style) => {
                people::write_name(&mut fmt.tmp, child, name_style);
                fmt.push_tmp();
            }
            Column::BirthDate => fmt.push_date(Some(ymd(child.birth)), style),
            Column::Sex => {
                let sex = match layout.unknown_sex_share() {
                    Some(share) if rng.random_bool(share) => Sex::U,
                    _ => child.sex(),
                };
                fmt.push(spell(labels.sex, sex));
            }
            Column::FamilyId(family_style) => {
                fmt.tmp.clear();
                // Some rows leave the family number out.
                if rng.random_bool(0.85) {
                    let _ = match family_style {
                        FamilyIdStyle::Number => write!(fmt.tmp, "{}", child.family),
                        FamilyIdStyle::Prefixed => write!(fmt.tmp, "F{:06}", child.family),
                    };
                }
                fmt.push_tmp();
            }
            Column::CaseNumber(number_style) => {
                fmt.tmp.clear();
                let (code, n) = (&oblast.code, row.number);
                let _ = match number_style {
                    CaseNumberStyle::NumberYear => write!(fmt.tmp, "{n}/{year}"),
                    CaseNumberStyle::CodeYearNumber => write!(fmt.tmp, "{code}-{year}-{n:04}"),
                    CaseNumberStyle::SofiaFile => write!(fmt.tmp, "СЛ-{code}-{year}-{n:05}"),
                    CaseNumberStyle::CodeNumberYear => write!(fmt.tmp, "{code}-{n}/{year}"),
                };
                fmt.push_tmp();
            }
            Column::Region(region_style) => {
                fmt.push(region_name(rng, geo, region_style, row.oblast));
            }
            Column::Municipality(muni_style) => {
                let muni = geo.municipality(child.muni);
                fmt.push(match muni_style {
                    MunicipalityStyle::Code => &muni.code,
                    MunicipalityStyle::NameBg => &muni.name_bg,
                });
            }
            Column::Office(OfficeStyle::Ngo) => {
                fmt.tmp.clear();
                let _ = write!(fmt.tmp, "NGO {}", oblast.name_en);
                fmt.push_tmp();
            }
            Column::Office(OfficeStyle::SofiaDepartment) if oblast.code == "SOF" => {
                fmt.push(SOFIA_DISTRICTS[child.district as usize % SOFIA_DISTRICTS.len()]);
            }
            Column::Office(OfficeStyle::SofiaDepartment) => {
                fmt.tmp.clear();
                let _ = write!(fmt.tmp, "ОЗД {}", geo.municipality(child.muni).name_bg);
                fmt.push_tmp();
            }
            Column::CaseType => fmt.push(spell(labels.case_type, row.case_type)),
            Column::Opened => fmt.push_date(Some(row.opened), style),
            Column::Closed => fmt.push_date(row.closed, style),
            Column::Outcome => fmt.push(match row.outcome {
                OutcomeLabel::Empty => "",
                OutcomeLabel::Outcome(o) => spell(labels.outcome, o),
                OutcomeLabel::Unknown => labels.unknown_outcome,
            }),
            Column::PlacementType => fmt.push(
                row.placement
                    .map_or("", |(p, _)| spell(labels.placement_type, p)),
            ),
            Column::PlacementRegion(region_style) => {
                let name = match row.placement {
                    Some((_, r)) => region_name(rng, geo, region_style, r),
                    None => "",
                };
                fmt.push(name);
            }
            Column::Address(language) => {
                people::write_address(&mut fmt.tmp, child, language);
                fmt.push_tmp();
            }
            Column::Phone => {
                people::write_phone(&mut fmt.tmp, child);
                fmt.push_tmp();
            }
            Column::Notes(language) => fmt.push(people::draw_note(rng, language)),
        }
    }
    fmt.end(layout.crlf());
}

// ---------------------------------------------------------------------------------------------
// The files.

/// One office's export file for one year.
struct FileOut {
    path: PathBuf,
    w: BufWriter<File>,
    rows: u64,
    /// The `№` column of layout A.
    no: u64,
    /// Exact copies waiting to be written a few rows later.
    delayed: Vec<Vec<u8>>,
}

/// The open export files of the year, one per source, opened at their first row.
pub(super) struct Exports<'g> {
    geo: &'g Geo,
    out: &'g Path,
    sources: &'g [Source],
    year: i32,
    files: Vec<Option<FileOut>>,
    done: Vec<(PathBuf, u64)>,
    fmt: Fmt,
}

impl<'g> Exports<'g> {
    pub(super) fn new(geo: &'g Geo, out: &'g Path, sources: &'g [Source]) -> Exports<'g> {
        Exports {
            geo,
            out,
            sources,
            year: 0,
            files: (0..sources.len()).map(|_| None).collect(),
            done: Vec::new(),
            fmt: Fmt::new(),
        }
    }

    /// Rows from now on go to the files of `year`.
    pub(super) fn begin_year(&mut self, year: i32) {
        self.year = year;
    }

    fn open_file(&self, source: usize) -> anyhow::Result<FileOut> {
        let source = self.sources[source];
        let layout = source.layout;
        let name = source.name();
        let dir = self.out.join(&name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = if layout.yearly_files() {
            dir.join(format!("{name}_{}.csv", self.year))
        } else {
            dir.join(format!("{name}.csv"))
        };
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 17, file);
        let mut fmt = Fmt::new();
        fmt.start(layout.delimiter(), layout.columns().len());
        for h in layout.header() {
            fmt.push(h);
        }
        fmt.end(layout.crlf());
        if layout.has_bom() {
            w.write_all(b"\xEF\xBB\xBF")?;
        }
        w.write_all(fmt.bytes(layout))?;
        Ok(FileOut {
            path,
            w,
            rows: 0,
            no: 0,
            delayed: Vec::new(),
        })
    }

    /// Write `row` to `source`'s file. With `copy_share`, the row is exported twice that often:
    /// the same bytes again a few rows later. Returns whether it will be.
    pub(super) fn write_row(
        &mut self,
        rng: &mut ChaCha8Rng,
        source: usize,
        row: &Row,
        copy_share: Option<f64>,
    ) -> anyhow::Result<bool> {
        if self.files[source].is_none() {
            self.files[source] = Some(self.open_file(source)?);
        }
        let layout = self.sources[source].layout;
        let Some(file) = self.files[source].as_mut() else {
            unreachable!("opened above");
        };
        file.no += 1;
        format_row(&mut self.fmt, rng, self.geo, layout, file.no, row);
        let bytes = self.fmt.bytes(layout);
        let io = |e| anyhow::Error::new(e).context(format!("cannot write {}", file.path.display()));
        file.w.write_all(bytes).map_err(io)?;
        file.rows += 1;
        let copied = copy_share.is_some_and(|share| rng.random_bool(share));
        if copied {
            file.delayed.push(bytes.to_vec());
        } else if !file.delayed.is_empty() && rng.random_bool(0.15) {
            let copy = file.delayed.remove(0);
            file.w.write_all(&copy).map_err(io)?;
            file.rows += 1;
        }
        Ok(copied)
    }

    /// Finish the year's files (an office's one file stays open for the next year's rows).
    pub(super) fn close_year(&mut self) -> anyhow::Result<()> {
        self.close(|layout| layout.yearly_files())
    }

    /// Finish the files of the sources whose layout `which` picks: copies still waiting, then
    /// flush.
    fn close(&mut self, which: impl Fn(Layout) -> bool) -> anyhow::Result<()> {
        for (slot, source) in self.files.iter_mut().zip(self.sources) {
            if !which(source.layout) {
                continue;
            }
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

    /// Finish the files still open; every file written, with its data-row count, in the order
    /// they were finished.
    pub(super) fn finish(mut self) -> anyhow::Result<Vec<(PathBuf, u64)>> {
        self.close(|_| true)?;
        Ok(self.done)
    }
}

/// Remove export files an earlier run left under the names this module writes.
pub(super) fn remove_stale(out: &Path) -> anyhow::Result<()> {
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(dir_name.as_str(), "ngo" | "sofia" | "regional" | "plain")
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
                .and_then(|r| {
                    // CSV, or another form of it (`forms`).
                    [".csv", ".xlsx", ".txt"]
                        .iter()
                        .find_map(|ext| r.strip_suffix(ext))
                });
            // Yearly files (`ngo_2023.csv`), or the one file of layout E (`plain.csv`).
            let one_file = dir_name == "plain"
                && [".csv", ".xlsx", ".txt"]
                    .iter()
                    .any(|ext| name == format!("plain{ext}"));
            if (one_file
                || year.is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())))
                && file.file_type()?.is_file()
            {
                fs::remove_file(file.path())
                    .with_context(|| format!("cannot remove {}", file.path().display()))?;
            }
        }
    }
    Ok(())
}

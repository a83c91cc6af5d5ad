//! The published national figures the run reconciles with (SPEC §11): the agency's table shipped
//! in `reference/asp_national.csv`, or the file the pipeline's `published` key names, read and
//! checked before any data moves. Settings only: the comparison is `measures`'.

use std::path::{Path, PathBuf};

/// The shipped table: the Agency for Social Assistance's yearly figures.
const SHIPPED: &str = include_str!("../../reference/asp_national.csv");

/// The published table's columns after `year`, in order: the quantities it reports.
pub const QUANTITIES: [&str; 5] = [
    "prevention_new_cases",
    "prevention_closed_cases",
    "prevention_closed_successfully",
    "reintegration_new_cases",
    "reintegration_successful",
];

/// One year of a published table: the year and the value of each of `QUANTITIES`, where one
/// was published.
pub type PublishedYear = (i32, [Option<u64>; 5]);

/// A published national table: per year, each quantity's value where one was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedTable {
    /// The file it was read from and its SHA-256 (hex); `None` for the shipped table.
    pub file: Option<(PathBuf, String)>,
    /// (year, the values of `QUANTITIES`), in the file's order.
    pub years: Vec<PublishedYear>,
}

impl PublishedTable {
    /// The shipped table.
    pub fn shipped() -> PublishedTable {
        let years = parse(SHIPPED).expect("the shipped reference/asp_national.csv is well formed");
        PublishedTable { file: None, years }
    }

    /// The table in `path`, checked.
    pub fn read(path: &Path) -> Result<PublishedTable, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("`published`: cannot read {}: {e}", path.display()))?;
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
            .map_err(|_| format!("`published`: {} is not UTF-8 text", path.display()))?;
        let years = parse(text).map_err(|e| format!("`published`: {}: {e}", path.display()))?;
        let sha256 = {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(&bytes))
        };
        Ok(PublishedTable {
            file: Some((path.to_path_buf(), sha256)),
            years,
        })
    }
}

/// The rows of a published table: a header `year,` + `QUANTITIES`, then one row a year, each
/// cell empty or a whole number.
fn parse(text: &str) -> Result<Vec<PublishedYear>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let expected = format!("year,{}", QUANTITIES.join(","));
    match lines.next() {
        Some((_, header)) if header.trim().replace(' ', "") == expected => {}
        _ => return Err(format!("the first line must be the header `{expected}`")),
    }
    let mut years: Vec<PublishedYear> = Vec::new();
    for (i, line) in lines {
        let at = |what: String| format!("line {}: {what}", i + 1);
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != QUANTITIES.len() + 1 {
            return Err(at(format!(
                "{} cells, the header has {}",
                cells.len(),
                QUANTITIES.len() + 1
            )));
        }
        let year: i32 = cells[0]
            .parse()
            .ok()
            .filter(|y| (1900..=2100).contains(y))
            .ok_or_else(|| at("the year must be a year, e.g. 2023".into()))?;
        if years.iter().any(|(y, _)| *y == year) {
            return Err(at(format!("{year} is listed twice")));
        }
        let mut values = [None; 5];
        for (j, cell) in cells[1..].iter().enumerate() {
            if !cell.is_empty() {
                values[j] = Some(cell.parse().map_err(|_| {
                    at(format!(
                        "`{}` must be empty or a whole number of cases",
                        QUANTITIES[j]
                    ))
                })?);
            }
        }
        years.push((year, values));
    }
    Ok(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_reads() {
        let t = PublishedTable::shipped();
        let y2023 = t.years.iter().find(|(y, _)| *y == 2023).unwrap().1;
        assert_eq!(y2023, [Some(3570), Some(3442), Some(2706), None, None]);
    }

    #[test]
    fn a_bad_table_is_refused_with_its_line() {
        let header = format!("year,{}", QUANTITIES.join(","));
        for (text, says) in [
            ("year,a,b\n".to_string(), "the header"),
            (format!("{header}\n2020,1,2\n"), "line 2: 3 cells"),
            (
                format!("{header}\n2020,1,,x,,\n"),
                "prevention_closed_successfully",
            ),
            (format!("{header}\n2020,1,,,,\n2020,,,,,\n"), "listed twice"),
            (format!("{header}\nTOTAL,1,,,,\n"), "must be a year"),
        ] {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}

//! Calendar dates as the exports write them (`31.12.2023`, `31.12.2023 г.`, `2023-12-31`,
//! `31/12/2023`): compiled `strftime`-style formats, a fast path for the day/month/year
//! patterns offices use, and the conversion to days since 1970-01-01.

use chrono::{Datelike, NaiveDate};

use crate::model::Day;

/// The formats tried when a source names none.
pub const DEFAULT_FORMATS: &[&str] = &["%d.%m.%Y", "%d.%m.%Y г.", "%Y-%m-%d", "%d/%m/%Y"];

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Days since 1970-01-01 of a calendar date.
pub fn to_day(date: NaiveDate) -> Day {
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

/// The calendar date of a day number.
pub fn from_day(day: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + EPOCH_DAYS_FROM_CE).unwrap_or(NaiveDate::MIN)
}

/// The calendar year of a day number.
pub fn year_of(day: Day) -> i32 {
    from_day(day).year()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Day,
    Month,
    Year,
    Literal(char),
    Space,
}

/// One date format, compiled once per source.
#[derive(Debug, Clone)]
pub struct DateFormat {
    text: String,
    /// `Some` when the format uses only `%d %m %Y`, literals and spaces: the fast path.
    tokens: Option<Vec<Token>>,
}

/// Why a date did not parse; never carries the input text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Matches no format.
    Unparseable,
    /// Has the shape of a date but is not one (`31.02.2023`).
    Impossible,
}

impl DateFormat {
    /// Compile `text`; an error message when it is not a valid date format.
    pub fn new(text: &str) -> Result<Self, String> {
        use chrono::format::{Item, StrftimeItems};
        if StrftimeItems::new(text).any(|item| matches!(item, Item::Error)) {
            return Err(format!("\"{text}\" is not a valid date format"));
        }
        let mut has = (false, false, false);
        let mut tokens = Vec::new();
        let mut chars = text.chars();
        let mut fast = true;
        while let Some(c) = chars.next() {
            match c {
                '%' => match chars.next() {
                    Some('d') => {
                        has.0 = true;
                        tokens.push(Token::Day)
                    }
                    Some('m') => {
                        has.1 = true;
                        tokens.push(Token::Month)
                    }
                    Some('Y') => {
                        has.2 = true;
                        tokens.push(Token::Year)
                    }
                    _ => fast = false,
                },
                c if c.is_whitespace() => {
                    if tokens.last() != Some(&Token::Space) {
                        tokens.push(Token::Space)
                    }
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        Ok(DateFormat {
            text: text.to_string(),
            tokens: (fast && has.0 && has.1 && has.2).then_some(tokens),
        })
    }

    /// The format as written in the pipeline file.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn parse(&self, s: &str) -> Result<NaiveDate, DateError> {
        match &self.tokens {
            Some(tokens) => parse_fast(tokens, s),
            None => NaiveDate::parse_from_str(s, &self.text).map_err(|e| {
                if matches!(
                    e.kind(),
                    chrono::format::ParseErrorKind::OutOfRange
                        | chrono::format::ParseErrorKind::Impossible
                ) {
                    DateError::Impossible
                } else {
                    DateError::Unparseable
                }
            }),
        }
    }
}

fn parse_fast(tokens: &[Token], s: &str) -> Result<NaiveDate, DateError> {
    let b = s.as_bytes();
    let mut i = 0;
    let (mut d, mut m, mut y) = (0u32, 0u32, 0i32);
    fn digits(b: &[u8], i: &mut usize, min: usize, max: usize) -> Option<u32> {
        let start = *i;
        let mut v = 0u32;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            v = v * 10 + u32::from(b[*i] - b'0');
            *i += 1;
        }
        (*i - start >= min).then_some(v)
    }
    for t in tokens {
        match t {
            Token::Day => d = digits(b, &mut i, 1, 2).ok_or(DateError::Unparseable)?,
            Token::Month => m = digits(b, &mut i, 1, 2).ok_or(DateError::Unparseable)?,
            Token::Year => y = digits(b, &mut i, 4, 4).ok_or(DateError::Unparseable)? as i32,
            Token::Space => {
                while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                    i += 1
                }
            }
            Token::Literal(c) => {
                let mut buf = [0u8; 4];
                let lit = c.encode_utf8(&mut buf).as_bytes();
                if b[i..].starts_with(lit) {
                    i += lit.len()
                } else {
                    return Err(DateError::Unparseable);
                }
            }
        }
    }
    if i != b.len() {
        return Err(DateError::Unparseable);
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(DateError::Impossible);
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or(DateError::Impossible)
}

/// Years a case or birth date can plausibly have. Outside them a date is a typo (`01.01.0202`)
/// and would stretch every per-year table across centuries.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

/// Parse `raw` with the first format that matches. Surrounding spaces and non-breaking spaces
/// are ignored. `Impossible` wins over `Unparseable` when some format matched the shape.
pub fn parse_date(raw: &str, formats: &[DateFormat]) -> Result<Day, DateError> {
    let cleaned;
    let s = if raw.contains('\u{a0}') {
        cleaned = raw.replace('\u{a0}', " ");
        cleaned.trim()
    } else {
        raw.trim()
    };
    let mut error = DateError::Unparseable;
    for f in formats {
        match f.parse(s) {
            Ok(date) if PLAUSIBLE_YEARS.contains(&date.year()) => return Ok(to_day(date)),
            Ok(_) => error = DateError::Impossible,
            Err(DateError::Impossible) => error = DateError::Impossible,
            Err(DateError::Unparseable) => {}
        }
    }
    Err(error)
}

/// Compile a list of formats (the defaults when `None`).
pub fn compile_formats(formats: Option<&[String]>) -> Result<Vec<DateFormat>, String> {
    match formats {
        Some(list) if !list.is_empty() => list.iter().map(|f| DateFormat::new(f)).collect(),
        _ => DEFAULT_FORMATS.iter().map(|f| DateFormat::new(f)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<DateFormat> {
        compile_formats(None).unwrap()
    }

    fn ymd(y: i32, m: u32, d: u32) -> Day {
        to_day(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn day_numbers_match_the_unix_epoch() {
        assert_eq!(ymd(1970, 1, 1), 0);
        assert_eq!(ymd(2024, 12, 31), 20088);
        assert_eq!(
            from_day(20088),
            NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()
        );
        assert_eq!(year_of(ymd(2023, 1, 1)), 2023);
    }

    #[test]
    fn parses_every_office_style() {
        let f = defaults();
        assert_eq!(parse_date("31.12.2023", &f), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date("31.12.2023 г.", &f), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date("31.12.2023г.", &f), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date("31.12.2023\u{a0}г.", &f), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date(" 2023-12-31 ", &f), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date("31/12/2023", &f), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date("1.2.2023", &f), Ok(ymd(2023, 2, 1)));
    }

    #[test]
    fn impossible_dates_are_told_apart_from_garbage() {
        let f = defaults();
        assert_eq!(parse_date("31.02.2023", &f), Err(DateError::Impossible));
        assert_eq!(parse_date("29.02.2023", &f), Err(DateError::Impossible));
        assert_eq!(parse_date("31.04.2024", &f), Err(DateError::Impossible));
        assert_eq!(parse_date("29.02.2024", &f), Ok(ymd(2024, 2, 29)));
        assert_eq!(parse_date("13/13/2023", &f), Err(DateError::Impossible));
        assert_eq!(parse_date("yesterday", &f), Err(DateError::Unparseable));
        assert_eq!(parse_date("", &f), Err(DateError::Unparseable));
        assert_eq!(parse_date("31.12.23", &f), Err(DateError::Unparseable));
        assert_eq!(
            parse_date("31.12.2023 extra", &f),
            Err(DateError::Unparseable)
        );
    }

    #[test]
    fn years_outside_1900_to_2100_are_typos() {
        let f = defaults();
        assert_eq!(parse_date("01.01.0202", &f), Err(DateError::Impossible));
        assert_eq!(parse_date("01.01.2202", &f), Err(DateError::Impossible));
        assert_eq!(parse_date("01.01.1900", &f), Ok(ymd(1900, 1, 1)));
        assert_eq!(parse_date("31.12.2100", &f), Ok(ymd(2100, 12, 31)));
    }

    #[test]
    fn only_the_configured_formats_are_tried() {
        let iso = compile_formats(Some(&["%Y-%m-%d".to_string()])).unwrap();
        assert_eq!(parse_date("2023-12-31", &iso), Ok(ymd(2023, 12, 31)));
        assert_eq!(parse_date("31.12.2023", &iso), Err(DateError::Unparseable));
    }

    #[test]
    fn unusual_formats_fall_back_to_chrono() {
        let f = compile_formats(Some(&["%d %b %Y".to_string()])).unwrap();
        assert_eq!(parse_date("05 Mar 2023", &f), Ok(ymd(2023, 3, 5)));
        assert!(DateFormat::new("%Q").is_err());
    }
}

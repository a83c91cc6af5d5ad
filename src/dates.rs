//! Calendar dates as the exports write them (`31.12.2023`, `31.12.2023 г.`, `2023-12-31`,
//! `31/12/2023`): compiled `strftime`-style formats, a fast path for the day/month/year
//! patterns offices use, and the conversion to days since 1970-01-01. A new format that
//! offices commonly use also belongs in `DEFAULT_FORMATS` and in the candidates `inspect`
//! tries (`inspect::DATE_CANDIDATES`).

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

/// The calendar year of a day number (H. Hinnant's `civil_from_days`, without the month and
/// day: the measures ask for years of every case, and chrono's conversion is the slow part).
pub fn year_of(day: Day) -> i32 {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Months from March: January and February belong to the next civil year.
    yoe + era * 400 + i32::from(mp >= 10)
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
    /// The fast path's tokens with literals in UTF-8, for decoded text.
    utf8: Option<ByteFormat>,
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
        let mut format = DateFormat {
            text: text.to_string(),
            tokens: (fast && has.0 && has.1 && has.2).then_some(tokens),
            utf8: None,
        };
        format.utf8 = format.for_bytes(|c| Some(c.to_string().into_bytes()));
        Ok(format)
    }

    /// The format as written in the pipeline file.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn parse(&self, s: &str) -> Result<NaiveDate, DateError> {
        match &self.tokens {
            Some(_) => {
                let utf8 = self.utf8.as_ref().ok_or(DateError::Unparseable)?;
                let (y, m, d) = match_shape(&utf8.tokens, s.as_bytes())?;
                NaiveDate::from_ymd_opt(y, m, d).ok_or(DateError::Impossible)
            }
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

/// A format compiled for the raw bytes of one file encoding: the literal characters (`г`) as
/// that encoding writes them. Used by `parse_date_bytes`, which needs no decoding.
#[derive(Debug, Clone)]
pub struct ByteFormat {
    tokens: Vec<ByteToken>,
    /// Where the digits and literals sit when every number is written in full (`05.03.2019`),
    /// for formats of day, month, year and one-byte literals: the common case, read without
    /// walking the tokens. Anything else goes through `match_shape`.
    full_width: Option<FullWidth>,
}

/// Byte positions of a date written in full: two-digit day and month, four-digit year.
#[derive(Debug, Clone)]
struct FullWidth {
    len: usize,
    day: usize,
    month: usize,
    year: usize,
    literals: Vec<(usize, u8)>,
}

impl FullWidth {
    fn of(tokens: &[ByteToken]) -> Option<FullWidth> {
        let (mut day, mut month, mut year) = (None, None, None);
        let mut literals = Vec::new();
        let mut at = 0;
        for t in tokens {
            let (slot, width) = match t {
                ByteToken::Day => (&mut day, 2),
                ByteToken::Month => (&mut month, 2),
                ByteToken::Year => (&mut year, 4),
                ByteToken::Literal(lit) if lit.len() == 1 && !lit[0].is_ascii_digit() => {
                    literals.push((at, lit[0]));
                    at += 1;
                    continue;
                }
                ByteToken::Literal(_) | ByteToken::Space => return None,
            };
            if slot.replace(at).is_some() {
                return None;
            }
            at += width;
        }
        Some(FullWidth {
            len: at,
            day: day?,
            month: month?,
            year: year?,
            literals,
        })
    }

    /// (year, month, day) when `b` is this layout exactly, with a month of 1–12 and a day of
    /// 1–31; `None` to ask `match_shape` (which also says why a date is not one).
    fn read(&self, b: &[u8]) -> Option<(i32, u32, u32)> {
        if b.len() != self.len || self.literals.iter().any(|&(at, lit)| b[at] != lit) {
            return None;
        }
        let number = |at: usize, width: usize| {
            b[at..at + width].iter().try_fold(0u32, |v, &c| {
                c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
            })
        };
        let (month, day) = (number(self.month, 2)?, number(self.day, 2)?);
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((
            number(self.year, 4)? as i32,
            month,
            day,
        ))
    }
}

#[derive(Debug, Clone)]
enum ByteToken {
    Day,
    Month,
    Year,
    Space,
    Literal(Vec<u8>),
}

impl DateFormat {
    /// This format for raw bytes, with `encode` giving a character's bytes; `None` when the
    /// format has no fast path or a literal cannot be encoded.
    pub fn for_bytes(&self, encode: impl Fn(char) -> Option<Vec<u8>>) -> Option<ByteFormat> {
        let tokens = self.tokens.as_ref()?;
        let mut out = Vec::with_capacity(tokens.len());
        for t in tokens {
            out.push(match t {
                Token::Day => ByteToken::Day,
                Token::Month => ByteToken::Month,
                Token::Year => ByteToken::Year,
                Token::Space => ByteToken::Space,
                Token::Literal(c) => ByteToken::Literal(encode(*c)?),
            });
        }
        Some(ByteFormat {
            full_width: FullWidth::of(&out),
            tokens: out,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i32, m: u32, d: u32) -> Day {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Match `b` against a fast-path format: (year, month, day), `Unparseable` when the shape
/// differs, `Impossible` when month or day is out of range.
fn match_shape(tokens: &[ByteToken], b: &[u8]) -> Result<(i32, u32, u32), DateError> {
    let mut i = 0;
    let (mut d, mut m, mut y) = (0u32, 0u32, 0i32);
    let digits = |i: &mut usize, min: usize, max: usize| -> Result<u32, DateError> {
        let start = *i;
        let mut v = 0u32;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            v = v * 10 + u32::from(b[*i] - b'0');
            *i += 1;
        }
        if *i - start >= min {
            Ok(v)
        } else {
            Err(DateError::Unparseable)
        }
    };
    for t in tokens {
        match t {
            ByteToken::Day => d = digits(&mut i, 1, 2)?,
            ByteToken::Month => m = digits(&mut i, 1, 2)?,
            ByteToken::Year => y = digits(&mut i, 4, 4)? as i32,
            ByteToken::Space => {
                while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                    i += 1
                }
            }
            ByteToken::Literal(lit) => {
                if !b[i..].starts_with(lit) {
                    return Err(DateError::Unparseable);
                }
                i += lit.len();
            }
        }
    }
    if i != b.len() {
        return Err(DateError::Unparseable);
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(DateError::Impossible);
    }
    Ok((y, m, d))
}

/// The fast path of `parse_date` on a field's raw bytes: the day of the first format that
/// matches, surrounding ASCII spaces ignored. `None` says nothing about why; the caller
/// decodes the field and asks `parse_date`, which gives the same answer for every value this
/// function accepts and the reason for the rest.
pub fn parse_date_bytes(raw: &[u8], formats: &[ByteFormat]) -> Option<Day> {
    let b = raw.trim_ascii();
    formats.iter().find_map(|f| {
        let (y, m, d) = match f.full_width.as_ref().and_then(|w| w.read(b)) {
            Some(ymd) => ymd,
            None => match_shape(&f.tokens, b).ok()?,
        };
        (d <= days_in_month(y, m) && PLAUSIBLE_YEARS.contains(&y)).then(|| days_from_civil(y, m, d))
    })
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

    proptest::proptest! {
        #[test]
        fn year_of_agrees_with_chrono(day in -80_000i32..80_000) {
            proptest::prop_assert_eq!(year_of(day), from_day(day).year());
        }

        #[test]
        fn the_full_width_layout_reads_what_the_tokens_read(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"0123456789.-/ ".to_vec()), 8..12
            ),
        ) {
            for format in byte_defaults() {
                let Some(layout) = &format.full_width else { continue };
                if let Some(ymd) = layout.read(&bytes) {
                    proptest::prop_assert_eq!(match_shape(&format.tokens, &bytes), Ok(ymd));
                }
            }
        }

        #[test]
        fn the_byte_path_agrees_with_the_text_path(
            y in 1890i32..2110, m in 0u32..14, d in 0u32..33, style in 0usize..5, pad in 0usize..3
        ) {
            let text = match style {
                0 => format!("{d:02}.{m:02}.{y}"),
                1 => format!("{d}.{m}.{y} г."),
                2 => format!("{y}-{m:02}-{d:02}"),
                3 => format!("{d:02}/{m:02}/{y}"),
                _ => format!("{d}.{m}.{y}г."),
            };
            let text = format!("{}{text}{}", " ".repeat(pad), " ".repeat(pad));
            let formats = defaults();
            let utf8: Vec<ByteFormat> = formats
                .iter()
                .map(|f| f.for_bytes(|c| Some(c.to_string().into_bytes())).unwrap())
                .collect();
            let slow = parse_date(&text, &formats);
            match parse_date_bytes(text.as_bytes(), &utf8) {
                Some(day) => proptest::prop_assert_eq!(slow, Ok(day)),
                None => proptest::prop_assert!(slow.is_err()),
            }
        }
    }

    fn byte_defaults() -> Vec<ByteFormat> {
        defaults()
            .iter()
            .map(|f| f.for_bytes(|c| Some(c.to_string().into_bytes())).unwrap())
            .collect()
    }

    #[test]
    fn dates_written_in_full_have_a_layout_and_the_others_do_not() {
        let layouts: Vec<bool> = byte_defaults()
            .iter()
            .map(|f| f.full_width.is_some())
            .collect();
        // "%d.%m.%Y", "%d.%m.%Y г." (a space and a two-byte letter), "%Y-%m-%d", "%d/%m/%Y".
        assert_eq!(layouts, [true, false, true, true]);
        let iso = &byte_defaults()[2];
        let layout = iso.full_width.as_ref().unwrap();
        assert_eq!(layout.read(b"2019-03-05"), Some((2019, 3, 5)));
        assert_eq!(layout.read(b"2019-13-05"), None, "match_shape says why");
        assert_eq!(
            layout.read(b"2019-3-05"),
            None,
            "not in full: the tokens read it"
        );
        assert_eq!(
            parse_date_bytes(b"2019-3-05", &byte_defaults()),
            Some(ymd(2019, 3, 5))
        );
        assert_eq!(parse_date_bytes(b"2019-02-30", &byte_defaults()), None);
    }

    #[test]
    fn unusual_formats_fall_back_to_chrono() {
        let f = compile_formats(Some(&["%d %b %Y".to_string()])).unwrap();
        assert_eq!(parse_date("05 Mar 2023", &f), Ok(ymd(2023, 3, 5)));
        assert!(DateFormat::new("%Q").is_err());
    }
}

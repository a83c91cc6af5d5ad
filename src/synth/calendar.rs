//! Dates for synth: days counted from the common era (chrono's `num_days_from_ce`), calendar
//! dates, and the four ways the layouts write a date. Pure functions; no drawing, no I/O.

use chrono::{Datelike, NaiveDate};

/// A calendar date as (year, month, day); bad rows hold dates no calendar has (`30.02.`).
pub(super) type Ymd = (i32, u32, u32);

/// The day number of a valid calendar date.
pub(super) fn day_of(y: i32, m: u32, d: u32) -> i32 {
    NaiveDate::from_ymd_opt(y, m, d)
        .expect("a valid calendar date")
        .num_days_from_ce()
}

/// The calendar date of a day number.
pub(super) fn ymd(day: i32) -> Ymd {
    let d = NaiveDate::from_num_days_from_ce_opt(day).expect("a day in chrono's range");
    (d.year(), d.month(), d.day())
}

pub(super) fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// How an export writes a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateStyle {
    /// `31.12.2023`
    Dot,
    /// `31.12.2023 г.`
    DotG,
    /// `2023-12-31`
    Iso,
    /// `31/12/2023`
    Slash,
}

impl DateStyle {
    /// The `date_formats` entry that reads this style back (pipeline file).
    pub(super) fn format(self) -> &'static str {
        match self {
            DateStyle::Dot => "%d.%m.%Y",
            DateStyle::DotG => "%d.%m.%Y г.",
            DateStyle::Iso => "%Y-%m-%d",
            DateStyle::Slash => "%d/%m/%Y",
        }
    }

    /// Append `date` in this style.
    pub(super) fn push(self, s: &mut String, (y, m, d): Ymd) {
        let y = y.max(0) as u32;
        match self {
            DateStyle::Iso => {
                push2(s, y / 100);
                push2(s, y % 100);
                s.push('-');
                push2(s, m);
                s.push('-');
                push2(s, d);
            }
            DateStyle::Dot | DateStyle::DotG | DateStyle::Slash => {
                let sep = if self == DateStyle::Slash { '/' } else { '.' };
                push2(s, d);
                s.push(sep);
                push2(s, m);
                s.push(sep);
                push2(s, y / 100);
                push2(s, y % 100);
                if self == DateStyle::DotG {
                    s.push_str(" г.");
                }
            }
        }
    }
}

fn push2(s: &mut String, v: u32) {
    s.push(char::from(b'0' + (v / 10 % 10) as u8));
    s.push(char::from(b'0' + (v % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_style_is_read_back_by_its_format() {
        let date = (2023, 2, 7);
        let naive = NaiveDate::from_ymd_opt(2023, 2, 7).unwrap();
        for style in [
            DateStyle::Dot,
            DateStyle::DotG,
            DateStyle::Iso,
            DateStyle::Slash,
        ] {
            let mut s = String::new();
            style.push(&mut s, date);
            assert_eq!(
                NaiveDate::parse_from_str(&s, style.format()),
                Ok(naive),
                "{s}"
            );
        }
        assert_eq!(ymd(day_of(2024, 2, 29)), (2024, 2, 29));
    }
}

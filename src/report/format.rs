//! Numbers, dates and names in the conventions of the report's language (`78,6 %` / `78.6%`,
//! `31.12.2023` / `31 Dec 2023`). Formatting only: which value is shown is the caller's.

use chrono::NaiveDate;

use super::i18n::{Strings, text};
use crate::config::Lang;
use crate::measures::RateRow;
use crate::reference;

/// `78,6 %` in Bulgarian, `78.6%` in English.
pub fn format_rate(rate: f64, lang: Lang) -> String {
    let value = format!("{:.1}", rate * 100.0);
    match lang {
        Lang::Bg => format!("{}\u{a0}%", value.replace('.', ",")),
        Lang::En => format!("{value}%"),
    }
}

/// `3 442` in Bulgarian (non-breaking space), `3,442` in English.
pub fn format_count(n: u64, lang: Lang) -> String {
    let digits = n.to_string();
    // Bulgarian leaves four-digit numbers ungrouped (3442, 13 442); English groups them (3,442).
    let (separator, min_grouped) = match lang {
        Lang::Bg => ('\u{a0}', 5),
        Lang::En => (',', 4),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) && digits.len() >= min_grouped {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// `31.12.2023` in Bulgarian, `31 Dec 2023` in English.
pub fn format_date(date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Bg => date.format("%d.%m.%Y").to_string(),
        Lang::En => date.format("%-d %b %Y").to_string(),
    }
}

/// A change in percentage points: `+1,2 п.п.` / `−0.4 pp`.
pub(super) fn format_change(delta: f64, lang: Lang, t: &Strings) -> String {
    let points = delta * 100.0;
    let sign = if points > 0.05 {
        "+"
    } else if points < -0.05 {
        "−"
    } else {
        "±"
    };
    let mut value = format!("{:.1}", points.abs());
    if lang == Lang::Bg {
        value = value.replace('.', ",");
    }
    format!("{sign}{value}\u{a0}{}", text(t, "percentage_points", &[]))
}

/// A difference of shares in percentage points, one decimal, without the unit: `1,5` / `1.5`;
/// `signed` gives `−` to a negative value and `+` to a positive one; a value that rounds to
/// zero is `0,0` / `0.0` either way. Unsigned, the magnitude: the words say which way.
pub(super) fn format_points(delta: f64, lang: Lang, signed: bool) -> String {
    let tenths = (delta * 1000.0).round();
    let sign = match (signed, tenths) {
        (true, v) if v < 0.0 => "−",
        (true, v) if v > 0.0 => "+",
        _ => "",
    };
    let value = format!("{:.1}", tenths.abs() / 10.0);
    let value = match lang {
        Lang::Bg => value.replace('.', ","),
        Lang::En => value,
    };
    format!("{sign}{value}")
}

/// The two ends of a difference's interval in points, signed only when negative (`−3.5` and
/// `0.4`); the words around them (`95% CI … to …`) are the caller's.
pub(super) fn format_point_ends(lo: f64, hi: f64, lang: Lang) -> (String, String) {
    let end = |v: f64| {
        let s = format_points(v, lang, true);
        s.strip_prefix('+').map(str::to_string).unwrap_or(s)
    };
    (end(lo), end(hi))
}

/// Whether a difference rounds to zero at the one decimal the report shows.
pub(super) fn rounds_to_zero(delta: f64) -> bool {
    (delta * 1000.0).round() == 0.0
}

pub(super) fn format_interval(lo: f64, hi: f64, lang: Lang) -> String {
    format!("{}–{}", format_rate(lo, lang), format_rate(hi, lang))
}

/// A row's value as shown: the rate, or the count for a count measure.
pub(super) fn format_value(row: &RateRow, lang: Lang) -> Option<String> {
    if row.measure.is_count() {
        row.numerator.map(|n| format_count(n, lang))
    } else {
        row.rate.map(|r| format_rate(r, lang))
    }
}

pub(crate) fn region_name(region: Option<u8>, lang: Lang) -> String {
    match (region, lang) {
        (None, Lang::Bg) => "България".into(),
        (None, Lang::En) => "Bulgaria".into(),
        (Some(r), Lang::Bg) => reference::oblasts()[r as usize].name_bg.clone(),
        (Some(r), Lang::En) => reference::oblasts()[r as usize].name_en.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::i18n::strings;

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(format_rate(0.786, Lang::Bg), "78,6\u{a0}%");
        assert_eq!(format_rate(0.786, Lang::En), "78.6%");
        assert_eq!(format_count(3442, Lang::Bg), "3442");
        assert_eq!(format_count(13442, Lang::Bg), "13\u{a0}442");
        assert_eq!(format_count(1234567, Lang::En), "1,234,567");
        assert_eq!(format_count(3442, Lang::En), "3,442");
        assert_eq!(format_count(999, Lang::En), "999");
        let d = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        assert_eq!(format_date(d, Lang::Bg), "31.12.2023");
        assert_eq!(format_date(d, Lang::En), "31 Dec 2023");
        let t = strings(Lang::Bg);
        assert_eq!(format_change(0.012, Lang::Bg, t), "+1,2\u{a0}п.п.");
        assert_eq!(
            format_change(-0.004, Lang::En, strings(Lang::En)),
            "−0.4\u{a0}pp"
        );
        assert_eq!(format_points(-0.0153, Lang::Bg, false), "1,5");
        assert_eq!(format_points(0.0333, Lang::En, true), "+3.3");
        assert_eq!(format_points(-0.0004, Lang::En, true), "0.0");
        assert_eq!(
            format_point_ends(-0.035, 0.0041, Lang::En),
            ("−3.5".to_string(), "0.4".to_string())
        );
        assert!(rounds_to_zero(0.0004) && !rounds_to_zero(0.0006));
    }
}

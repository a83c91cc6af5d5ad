//! Arbitrary date text against the default formats, and an arbitrary format: never a panic,
//! and an accepted date is a real day between 1900 and 2100.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outcomes::dates::{self, DateFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (format, value) = text.split_once('\u{1}').unwrap_or(("%d.%m.%Y", text));
    let mut formats = dates::compile_formats(None).expect("the default formats are valid");
    if let Ok(custom) = DateFormat::new(format) {
        formats.push(custom);
    }
    if let Ok(day) = dates::parse_date(value, &formats) {
        let year = dates::year_of(day);
        assert!(dates::PLAUSIBLE_YEARS.contains(&year), "{year}");
        assert_eq!(dates::to_day(dates::from_day(day)), day);
    }
});

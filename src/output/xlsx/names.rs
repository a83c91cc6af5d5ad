//! Sheet names Excel accepts: at most 31 UTF-16 units, none of `[]:*?/\`, no apostrophe at
//! either end, not `History` (reserved), and unique in the workbook regardless of case. A
//! wanted name (a measure's, a programme's, of any length) is cleaned, cut and numbered.

/// Excel's limit on a sheet name, in UTF-16 units.
const MAX_UNITS: usize = 31;
const FORBIDDEN: [char; 7] = ['[', ']', ':', '*', '?', '/', '\\'];
/// Names Excel keeps for itself, lowercased.
const RESERVED: [&str; 1] = ["history"];

/// The names given so far, lowercased (Excel compares sheet names regardless of case).
#[derive(Default)]
pub(super) struct SheetNames {
    taken: Vec<String>,
}

impl SheetNames {
    /// A valid name not yet taken, as close to `wanted` as the rules allow: `wanted` cleaned
    /// and cut to 31 units, or, when that is taken, cut shorter and numbered ` (2)`, ` (3)`….
    pub fn claim(&mut self, wanted: &str) -> String {
        let base: String = wanted
            .chars()
            .map(|c| {
                if FORBIDDEN.contains(&c) || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let base = base.trim().trim_matches('\'');
        let base = if base.is_empty() { "Sheet" } else { base };
        let mut name = cut(base, MAX_UNITS);
        let mut n = 2;
        while self.is_taken(&name) {
            let suffix = format!(" ({n})");
            name = format!("{}{suffix}", cut(base, MAX_UNITS - suffix.len()));
            n += 1;
        }
        self.taken.push(name.to_lowercase());
        name
    }

    fn is_taken(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        RESERVED.contains(&lower.as_str()) || self.taken.contains(&lower)
    }
}

/// `name` cut to at most `units` UTF-16 units, without an apostrophe or space at its end.
fn cut(name: &str, units: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in name.chars() {
        used += c.len_utf16();
        if used > units {
            break;
        }
        out.push(c);
    }
    let kept = out.trim_end_matches(['\'', ' ']).len();
    out.truncate(kept);
    if out.is_empty() {
        out.push_str("Sheet");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        !name.is_empty()
            && name.encode_utf16().count() <= MAX_UNITS
            && !name.contains(FORBIDDEN)
            && !name.starts_with('\'')
            && !name.ends_with('\'')
    }

    #[test]
    fn long_names_are_cut_and_repeated_names_numbered() {
        let mut names = SheetNames::default();
        let long = "social-workers-in-varna-and-dobrich-2011-2017";
        let first = names.claim(long);
        assert_eq!(first, "social-workers-in-varna-and-dob");
        let second = names.claim(long);
        assert_eq!(second, "social-workers-in-varna-and (2)");
        let third = names.claim(&long.to_uppercase());
        assert_eq!(third, "SOCIAL-WORKERS-IN-VARNA-AND (3)");
        for name in [first, second, third] {
            assert!(valid(&name), "{name}");
        }
    }

    #[test]
    fn case_forbidden_characters_and_reserved_names() {
        let mut names = SheetNames::default();
        assert_eq!(names.claim("Notes"), "Notes");
        assert_eq!(names.claim("notes"), "notes (2)");
        assert_eq!(names.claim("history"), "history (2)");
        assert_eq!(names.claim("a/b:c*d?[e]\\f"), "a_b_c_d__e__f");
        assert_eq!(names.claim("'quoted'"), "quoted");
        assert_eq!(names.claim("''"), "Sheet");
        assert_eq!(names.claim(""), "Sheet (2)");
        // Cyrillic counts one unit a letter; a name that fits is kept whole.
        let bg = "Настаняване извън областта";
        assert_eq!(names.claim(bg), bg);
        assert_eq!(
            names.claim(&bg.to_uppercase()),
            "НАСТАНЯВАНЕ ИЗВЪН ОБЛАСТТА (2)"
        );
        // Characters outside the BMP are two units each.
        let emoji = "😀".repeat(20);
        let cut = names.claim(&emoji);
        assert!(valid(&cut) && cut.chars().count() == 15, "{cut}");
    }

    #[test]
    fn any_wanted_name_gives_a_valid_unique_one() {
        use proptest::prelude::*;
        proptest!(|(wanted in proptest::collection::vec(".{0,40}", 1..20))| {
            let mut names = SheetNames::default();
            let mut seen = Vec::new();
            for w in &wanted {
                let name = names.claim(w);
                prop_assert!(valid(&name), "{name:?} from {w:?}");
                prop_assert!(!seen.contains(&name.to_lowercase()));
                seen.push(name.to_lowercase());
            }
        });
    }
}

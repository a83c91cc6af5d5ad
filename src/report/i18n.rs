//! The report's words in both languages, from `templates/i18n.toml`: the table of strings for
//! a language and `{name}` placeholders filled. Words only; numbers and dates are `format`'s.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::config::Lang;
use crate::measures::Measure;

const I18N: &str = include_str!("../../templates/i18n.toml");

pub(crate) type Strings = HashMap<String, String>;

fn translations() -> &'static HashMap<String, Strings> {
    static ALL: OnceLock<HashMap<String, Strings>> = OnceLock::new();
    ALL.get_or_init(|| toml::from_str(I18N).expect("templates/i18n.toml is valid TOML (tested)"))
}

pub(crate) fn strings(lang: Lang) -> &'static Strings {
    &translations()[lang.code()]
}

/// Text for `key` in `lang`, with `{name}` placeholders filled.
pub(crate) fn text(t: &Strings, key: &str, fill: &[(&str, &str)]) -> String {
    let mut s = t.get(key).cloned().unwrap_or_else(|| key.to_string());
    for (name, value) in fill {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// A measure's name in the language of `t`.
pub(crate) fn measure_name(t: &Strings, m: Measure) -> String {
    text(t, &format!("measure_{}", m.code()), &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RejectReason;

    #[test]
    fn both_languages_have_every_key() {
        let bg = strings(Lang::Bg);
        let en = strings(Lang::En);
        let missing_en: Vec<&String> = bg.keys().filter(|k| !en.contains_key(*k)).collect();
        let missing_bg: Vec<&String> = en.keys().filter(|k| !bg.contains_key(*k)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_bg.is_empty(), "missing in bg: {missing_bg:?}");
        for m in Measure::ALL {
            assert!(bg.contains_key(&format!("measure_{}", m.code())));
            assert!(bg.contains_key(&format!("define_{}", m.code())));
        }
        for r in RejectReason::ALL {
            assert!(
                bg.contains_key(&format!("reason_{}", r.code())),
                "{}",
                r.code()
            );
        }
    }
}

//! Test pipeline files, built the way users write them: settings, then `[[sources]]` blocks.
//! One builder instead of a hand-written TOML string per test file.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// A pipeline file under construction.
pub struct TestPipeline {
    settings: Table,
    /// Written as is after the settings: for tests of what the parser makes of odd text.
    raw: String,
    sources: Vec<Table>,
}

impl TestPipeline {
    /// `name`, with a key file `test.key` beside the pipeline and as-of date 2024-12-31.
    pub fn new(name: &str) -> TestPipeline {
        TestPipeline {
            settings: Table::new(),
            raw: String::new(),
            sources: Vec::new(),
        }
        .set("name", name)
        .set("key_file", "test.key")
        .set("as_of", "2024-12-31")
    }

    /// A top-level setting, e.g. `.set("max_reject_rate", 1.0)`.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> TestPipeline {
        self.settings.insert(key.to_string(), value.into());
        self
    }

    /// TOML text added as it is after the settings (a misspelt key, a section).
    pub fn raw(mut self, text: &str) -> TestPipeline {
        self.raw.push_str(text);
        self
    }

    pub fn source(mut self, source: TestSource) -> TestPipeline {
        self.sources.push(source.table);
        self
    }

    /// The pipeline file's text.
    pub fn toml(&self) -> String {
        let mut text = toml::to_string(&self.settings).expect("a table of plain values");
        text.push_str(&self.raw);
        for source in &self.sources {
            let mut block = Table::new();
            block.insert("sources".into(), Value::Array(vec![source.clone().into()]));
            text.push('\n');
            text.push_str(&toml::to_string(&block).expect("a table of plain values"));
        }
        text
    }

    /// Write it as `dir/p.toml`; its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("p.toml");
        std::fs::write(&path, self.toml()).expect("writing the test pipeline");
        path
    }
}

/// One `[[sources]]` block.
pub struct TestSource {
    table: Table,
}

impl TestSource {
    pub fn new(name: &str, path: &str) -> TestSource {
        TestSource {
            table: Table::new(),
        }
        .set("name", name)
        .set("path", path)
    }

    /// A setting of the source, e.g. `.set("region", "VAR")`.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> TestSource {
        self.table.insert(key.to_string(), value.into());
        self
    }

    /// `[sources.columns]`: canonical field = header in the export.
    pub fn columns(mut self, pairs: &[(&str, &str)]) -> TestSource {
        let columns: Table = pairs
            .iter()
            .map(|(field, header)| (field.to_string(), Value::from(*header)))
            .collect();
        self.table.insert("columns".into(), columns.into());
        self
    }

    /// `[sources.values.FIELD]`: label in the export = canonical value.
    pub fn values(mut self, field: &str, pairs: &[(&str, &str)]) -> TestSource {
        let map: Table = pairs
            .iter()
            .map(|(label, value)| (label.to_string(), Value::from(*value)))
            .collect();
        let values = self
            .table
            .entry("values")
            .or_insert_with(|| Table::new().into());
        if let Value::Table(values) = values {
            values.insert(field.to_string(), map.into());
        }
        self
    }
}

/// The columns most tests map: child id, case type, opened, closed and outcome, under these
/// headers.
pub fn case_columns<'a>(
    child_id: &'a str,
    case_type: &'a str,
    opened: &'a str,
    closed: &'a str,
    outcome: &'a str,
) -> [(&'static str, &'a str); 5] {
    [
        ("child_id", child_id),
        ("case_type", case_type),
        ("opened", opened),
        ("closed", closed),
        ("outcome", outcome),
    ]
}

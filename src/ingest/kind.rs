//! What a file is, from its first bytes only (SPEC §2): text (a CSV export, perhaps), a
//! workbook (`.xlsx`, `.xls`, `.ods`, by content, not by name), or something else, said in
//! words for the error: a PDF, a ZIP archive that is not a workbook, an image, an HTML page
//! saved as `.xls`. It reads nothing but the head it is given.

/// The workbook formats read (with calamine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkbookFormat {
    Xlsx,
    Xls,
    Ods,
}

impl WorkbookFormat {
    /// The format's usual file extension, which is also how files and messages name it.
    pub fn extension(self) -> &'static str {
        match self {
            WorkbookFormat::Xlsx => "xlsx",
            WorkbookFormat::Xls => "xls",
            WorkbookFormat::Ods => "ods",
        }
    }

    /// What the format is, for messages: "an Excel workbook (.xlsx)".
    pub fn describe(self) -> &'static str {
        match self {
            WorkbookFormat::Xlsx => "an Excel workbook (.xlsx)",
            WorkbookFormat::Xls => "an Excel 97–2003 workbook (.xls)",
            WorkbookFormat::Ods => "an OpenDocument spreadsheet (.ods)",
        }
    }
}

/// What a file is, from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, perhaps a CSV export (in UTF-8, Windows-1251 or UTF-16: `text` decides).
    Text,
    Workbook(WorkbookFormat),
    /// Clearly not an export: what it looks like.
    Other(&'static str),
}

/// What `head` (the start of a file) is.
pub fn sniff(head: &[u8]) -> Kind {
    const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if head.starts_with(b"%PDF-") {
        return Kind::Other("a PDF document");
    }
    if head.starts_with(b"PK\x03\x04") {
        return zip_kind(head);
    }
    if head.starts_with(OLE2) {
        // An Office 2007+ file with a password is an encrypted package in an OLE2 container.
        let encrypted = "EncryptedPackage"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>();
        if contains(head, &encrypted) {
            return Kind::Other(
                "a password-protected (encrypted) Office file, which cannot be read without its password",
            );
        }
        return Kind::Workbook(WorkbookFormat::Xls);
    }
    if head.starts_with(b"\x1F\x8B") {
        return Kind::Other("a gzip-compressed file");
    }
    if head.starts_with(b"\x89PNG")
        || head.starts_with(b"\xFF\xD8\xFF")
        || head.starts_with(b"GIF8")
    {
        return Kind::Other("an image");
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        // UTF-16 with a byte-order mark: text, decoded by `text`.
        return Kind::Text;
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start: Vec<u8> = text
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(256)
        .map(u8::to_ascii_lowercase)
        .collect();
    if start.starts_with(b"<!doctype html")
        || start.starts_with(b"<html")
        || start.starts_with(b"<table")
    {
        return Kind::Other("an HTML page (web systems often save these with an .xls name)");
    }
    if start.starts_with(b"<?xml") {
        let spreadsheet = contains(&start, b"excel.sheet")
            || contains(head, b"urn:schemas-microsoft-com:office:spreadsheet");
        return Kind::Other(if spreadsheet {
            "an Excel XML spreadsheet (Excel 2003 XML), which is not read"
        } else {
            "an XML document"
        });
    }
    Kind::Text
}

/// A ZIP archive's kind, from the names of the first entries (which come first in the file; the
/// entries after a compressed one cannot be told apart from its data, which may hold anything).
/// An OpenDocument file starts with its `mimetype` entry, stored as it is (the standard says so).
fn zip_kind(head: &[u8]) -> Kind {
    let first_name = head
        .get(26..28)
        .map(|n| u16::from_le_bytes([n[0], n[1]]) as usize)
        .and_then(|len| head.get(30..30 + len));
    if first_name == Some(b"mimetype") {
        let rest = &head[38.min(head.len())..head.len().min(200)];
        return if contains(rest, b"opendocument.spreadsheet") {
            Kind::Workbook(WorkbookFormat::Ods)
        } else {
            Kind::Other("an OpenDocument file that is not a spreadsheet (a text or a presentation)")
        };
    }
    let named = |names: &[&[u8]]| names.iter().any(|n| contains(head, n));
    if named(&[b"xl/workbook.bin"]) {
        Kind::Other("an Excel binary workbook (.xlsb), which is not read")
    } else if named(&[
        b"xl/workbook.xml",
        b"xl/_rels/",
        b"xl/worksheets/",
        b"xl/styles.xml",
    ]) {
        Kind::Workbook(WorkbookFormat::Xlsx)
    } else if named(&[b"word/"]) {
        Kind::Other("a Word document (.docx): a ZIP archive, but not a workbook")
    } else if named(&[b"opendocument.spreadsheet"]) {
        Kind::Workbook(WorkbookFormat::Ods)
    } else if named(&[b"xl/"]) {
        Kind::Workbook(WorkbookFormat::Xlsx)
    } else {
        Kind::Other("a ZIP archive, but not a workbook")
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_exports_are_named() {
        let cases: &[(&[u8], &str)] = &[
            (b"%PDF-1.7\n%...", "PDF"),
            (b"PK\x03\x04\x14\x00word/document.xml", ".docx"),
            (b"PK\x03\x04\x14\x00data.csv", "ZIP archive"),
            (b"PK\x03\x04\x14\x00xl/workbook.bin", ".xlsb"),
            (
                b"PK\x03\x04\x0a\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.text",
                "not a spreadsheet",
            ),
            (b"\x1F\x8B\x08\x00", "gzip"),
            (b"\x89PNG\r\n\x1a\n", "image"),
            (b"\xEF\xBB\xBF  <!DOCTYPE HTML><html><table>", "HTML page"),
            (b"<table border=1><tr><td>", "HTML page"),
            (
                b"<?xml version=\"1.0\"?><?mso-application progid=\"Excel.Sheet\"?>",
                "Excel XML",
            ),
            (
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00",
                "password",
            ),
        ];
        for (head, word) in cases {
            let Kind::Other(kind) = sniff(head) else {
                panic!("{word}: not told");
            };
            assert!(kind.contains(word), "{word}: {kind}");
        }
    }

    #[test]
    fn workbooks_are_told_by_content() {
        let cases: &[(&[u8], WorkbookFormat)] = &[
            (
                b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml...xl/workbook.xml",
                WorkbookFormat::Xlsx,
            ),
            (
                b"PK\x03\x04\x14\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                WorkbookFormat::Ods,
            ),
            // The mimetype entry first, and "xl/" by chance in the compressed data after it.
            (
                b"PK\x03\x04\x0a\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheetPK\x03\x04...xl/...",
                WorkbookFormat::Ods,
            ),
            (
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00",
                WorkbookFormat::Xls,
            ),
        ];
        for (head, format) in cases {
            assert_eq!(sniff(head), Kind::Workbook(*format));
        }
    }

    #[test]
    fn text_exports_are_not_mistaken_for_anything_else() {
        for head in [
            &b"child_id;region;type\n1;VAR;prevention\n"[..],
            "\u{feff}ЕГН на детето;Вид на случая\n".as_bytes(),
            b"\xc5\xc3\xcd;\xc2\xe8\xe4\n", // Windows-1251
            b"\xFF\xFE\x15\x04\x13\x04",    // UTF-16 with a byte-order mark
            b"PK;Region;Type\n",            // a column named PK
            b"<id>,name\n",
            b"",
        ] {
            assert_eq!(
                sniff(head),
                Kind::Text,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }
}

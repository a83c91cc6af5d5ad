//! What a file that is not a text export looks like (SPEC §2): a PDF, a ZIP archive or a
//! workbook, an image, an HTML page saved as `.xls`, UTF-16 text. Told from the first bytes
//! only, so that the error can say what the file is instead of failing on its "header".
//! It reads nothing but the head it is given.

/// What `head` (the start of a file) is, when it is clearly not a CSV export; `None` when it
/// may be one.
pub fn not_csv(head: &[u8]) -> Option<&'static str> {
    const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if head.starts_with(b"%PDF-") {
        return Some("a PDF document");
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some(zip_kind(head));
    }
    if head.starts_with(OLE2) {
        return Some("an Excel 97–2003 workbook (.xls) or another Office file of that age");
    }
    if head.starts_with(b"\x1F\x8B") {
        return Some("a gzip-compressed file");
    }
    if head.starts_with(b"\x89PNG")
        || head.starts_with(b"\xFF\xD8\xFF")
        || head.starts_with(b"GIF8")
    {
        return Some("an image");
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Some("UTF-16 text (what Excel's \"Unicode Text\" writes)");
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
        return Some("an HTML page (web systems often save these with an .xls name)");
    }
    if start.starts_with(b"<?xml") {
        let spreadsheet = contains(&start, b"excel.sheet")
            || contains(head, b"urn:schemas-microsoft-com:office:spreadsheet");
        return Some(if spreadsheet {
            "an Excel XML spreadsheet (Excel 2003 XML)"
        } else {
            "an XML document"
        });
    }
    None
}

/// A ZIP archive's kind, from the names of the first entries (which come first in the file).
fn zip_kind(head: &[u8]) -> &'static str {
    if contains(head, b"xl/") {
        "an Excel workbook (.xlsx)"
    } else if contains(head, b"opendocument.spreadsheet") {
        "an OpenDocument spreadsheet (.ods)"
    } else if contains(head, b"word/") {
        "a Word document (.docx): a ZIP archive, but not a workbook"
    } else {
        "a ZIP archive, but not a workbook"
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_csv_are_named() {
        let cases: &[(&[u8], &str)] = &[
            (b"%PDF-1.7\n%...", "PDF"),
            (
                b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml...xl/workbook.xml",
                ".xlsx",
            ),
            (
                b"PK\x03\x04\x14\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                ".ods",
            ),
            (b"PK\x03\x04\x14\x00word/document.xml", ".docx"),
            (b"PK\x03\x04\x14\x00data.csv", "ZIP archive"),
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00", ".xls"),
            (b"\x1F\x8B\x08\x00", "gzip"),
            (b"\x89PNG\r\n\x1a\n", "image"),
            (b"\xFF\xFE\x15\x04\x13\x04", "UTF-16"),
            (b"\xEF\xBB\xBF  <!DOCTYPE HTML><html><table>", "HTML page"),
            (b"<table border=1><tr><td>", "HTML page"),
            (
                b"<?xml version=\"1.0\"?><?mso-application progid=\"Excel.Sheet\"?>",
                "Excel XML",
            ),
        ];
        for (head, word) in cases {
            let kind = not_csv(head).unwrap_or_else(|| panic!("{word}: not told"));
            assert!(kind.contains(word), "{word}: {kind}");
        }
    }

    #[test]
    fn text_exports_are_not_mistaken_for_anything_else() {
        for head in [
            &b"child_id;region;type\n1;VAR;prevention\n"[..],
            "\u{feff}ЕГН на детето;Вид на случая\n".as_bytes(),
            b"\xc5\xc3\xcd;\xc2\xe8\xe4\n", // Windows-1251
            b"PK;Region;Type\n",            // a column named PK
            b"<id>,name\n",
            b"",
        ] {
            assert_eq!(not_csv(head), None, "{:?}", String::from_utf8_lossy(head));
        }
    }
}

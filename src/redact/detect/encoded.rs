//! `data:` URLs whose base64 holds text (a file an agent passes on, `data:text/plain;base64,...`,
//! as OpenAI's and others' file inputs take it): decoded, so that what is in the file is
//! read as text is. The guard reads their text beside a request's; as a detector
//! ([`encoded_secret`]), a URL whose text holds a secret or a credential is reported whole, so
//! that a redaction policy removes it from an entry.
//!
//! Uses the crate's base64.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// The base64 read of a `data:` URL before its whole is decoded: enough to tell text from an
/// image or a PDF.
const DATA_PROBE: usize = 4 * 1024;

/// Every `data:…;base64,…` URL in `text` whose content decodes to text: where the URL is (from
/// `data:` to the base64's end) and its text. Images and other binary content are left alone,
/// told by their first bytes without being decoded whole. A JSON body's `\/` in the base64 is
/// read as `/`.
pub(crate) fn data_urls(text: &str) -> Vec<(Range<usize>, String)> {
    const MARK: &[u8] = b";base64,";
    // Built once: a search built per call costs more than most texts' scan.
    static FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(MARK));
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for at in FINDER.find_iter(bytes) {
        // `data:` and a media type (with its parameters) before the mark.
        let from = at.saturating_sub(128);
        let Some(scheme) = memchr::memmem::rfind(&bytes[from..at], b"data:").map(|i| from + i)
        else {
            continue;
        };
        if bytes[scheme..at]
            .iter()
            .any(|b| matches!(b, b'"' | b' ' | b','))
        {
            continue;
        }
        let start = at + MARK.len();
        let len = bytes[start..]
            .iter()
            .enumerate()
            .take_while(|&(k, &c)| {
                c.is_ascii_alphanumeric()
                    || matches!(c, b'+' | b'/' | b'=')
                    || (c == b'\\' && bytes.get(start + k + 1) == Some(&b'/'))
            })
            .count();
        let run = &text[start..start + len];
        let probe: String = run
            .chars()
            .take(DATA_PROBE)
            .filter(|c| *c != '\\')
            .collect();
        let probe = &probe[..probe.len() & !3];
        if !crate::base64::decode(probe).is_some_and(|p| is_text(&p)) {
            continue;
        }
        if let Some(decoded) =
            crate::base64::decode(&run.replace("\\/", "/")).filter(|d| !d.is_empty())
        {
            found.push((
                scheme..start + len,
                String::from_utf8_lossy(&decoded).into_owned(),
            ));
        }
    }
    found
}

/// Whether decoded bytes are text: UTF-8 (a character cut at the end aside) with no control
/// characters but tabs and line breaks.
fn is_text(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return false,
    };
    !bytes[..valid]
        .iter()
        .any(|b| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r'))
}

/// A `data:` URL whose text holds a secret or a credential any detector knows: the whole URL.
pub(super) fn encoded_secret(text: &str, out: &mut Vec<Range<usize>>) {
    for (span, decoded) in data_urls(text) {
        let holds = super::scan(&decoded)
            .iter()
            .any(|f| matches!(f.group, "secret" | "credential"));
        if holds {
            out.push(span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_are_read_when_they_hold_text() {
        let read = |text: &str| -> String {
            data_urls(text)
                .into_iter()
                .map(|(span, decoded)| {
                    assert!(text[span].starts_with("data:"));
                    decoded + "\n"
                })
                .collect()
        };
        // "key=sk-proj-abc/def?" in base64 has a `/`, escaped as a JSON body may.
        let url = "data:text/plain;charset=utf-8;base64,a2V5PXNrLXByb2otYWJjL2RlZj8=";
        assert_eq!(read(url), "key=sk-proj-abc/def?\n");
        let escaped = format!(r#"{{"f": "{}"}}"#, url.replace('/', "\\/"));
        assert_eq!(read(&escaped), "key=sk-proj-abc/def?\n");
        // Two of them, and other text around.
        assert_eq!(
            read("a data:,plain then data:text/csv;base64,YSxi and data:;base64,eA=="),
            "a,b\nx\n"
        );
        // Binary content, no `data:` before the mark, a broken base64: nothing.
        assert_eq!(
            read("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"),
            ""
        );
        assert_eq!(read("xx;base64,a2V5PXNr"), "");
        assert_eq!(read("data:text/plain;base64,a2V5PXN"), "");
        assert_eq!(read("data:text/plain;base64,"), "");
        assert_eq!(read("data:te\"xt;base64,a2V5"), "", "not one URL");
    }
}

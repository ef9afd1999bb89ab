//! The text the guard's content policies read: a request as a handler, a model or a log would
//! see it once decoded, so that an encoding is not a way around the detectors.
//!
//! What is read, each on lines of its own: the path and the query, percent-decoded (a query's
//! `+` as a space, repeatedly while a `%XX` remains, so double encoding is undone too); the body
//! as sent; a JSON body's keys and strings with their escapes (`\u0073k-...`) decoded, and all
//! its strings joined end to end, so that a secret split over two fields is whole again; a body
//! with `%XX` sequences, percent-decoded (form bodies). Invisible characters that split a
//! secret for the eye's sake (zero-width spaces and joiners, the word joiner, the byte order
//! mark, the soft hyphen) are removed before anything is matched.
//!
//! What it cannot see, and so what no detector here finds: base64 or any other encoding or
//! encryption of a secret, a secret split in a way that joining strings in order does not
//! undo, a secret in a part of the body past the guard's `body_limit` (such a request is
//! blocked as unscanned by default), and headers the policy is not told to read.
//!
//! Uses only `http` and `serde_json`.

use std::borrow::Cow;

use http::request::Parts;

/// Characters that render as nothing and only serve to break a match.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{00ad}' | '\u{180e}'
    )
}

/// The text the detectors read of a request: see the [module docs](self).
pub(crate) fn request_text<'a>(parts: &Parts, body: &'a [u8]) -> Cow<'a, str> {
    // Always a copy: even a plain path can carry a secret (`/agent/sk-...`).
    let raw = String::from_utf8_lossy(body);
    let query = parts.uri.query();
    let path = parts.uri.path();
    let encoded_path = path.contains('%');
    let json = json_strings(body);
    let encoded_body = raw.contains('%');
    let mut out = String::with_capacity(raw.len() * 2 + path.len() * 2 + 2);
    out.push_str(path);
    out.push('\n');
    if encoded_path {
        out.push_str(&percent_decoded(path, false));
        out.push('\n');
    }
    if let Some(q) = query {
        out.push_str(q);
        out.push('\n');
        out.push_str(&percent_decoded(q, true));
        out.push('\n');
    }
    out.push_str(&raw);
    out.push('\n');
    if let Some(strings) = json {
        out.push_str(&strings);
        out.push('\n');
    }
    if encoded_body {
        out.push_str(&percent_decoded(&raw, true));
        out.push('\n');
    }
    if out.chars().any(invisible) {
        out.retain(|c| !invisible(c));
    }
    Cow::Owned(out)
}

/// A header's value as the detectors read it: percent-decoded, invisible characters removed.
pub(crate) fn header_text(value: &[u8]) -> String {
    let raw = String::from_utf8_lossy(value);
    let mut out = raw.clone().into_owned();
    if raw.contains('%') {
        out.push('\n');
        out.push_str(&percent_decoded(&raw, false));
    }
    out.retain(|c| !invisible(c));
    out
}

/// A JSON body's keys and strings, one a line and decoded, then every string joined end to
/// end; `None` when the body is not JSON, or when decoding shows nothing the body's own text
/// does not (no escapes, no strings to join).
fn json_strings(body: &[u8]) -> Option<String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[' | b'"') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut lines = String::new();
    let mut joined = String::new();
    let mut strings = 0;
    collect(&value, &mut lines, &mut joined, &mut strings);
    let escaped = body.contains(&b'\\');
    if !escaped && strings < 2 {
        return None;
    }
    lines.push_str(&joined);
    Some(lines)
}

fn collect(v: &serde_json::Value, lines: &mut String, joined: &mut String, n: &mut usize) {
    match v {
        serde_json::Value::String(s) => {
            lines.push_str(s);
            lines.push('\n');
            joined.push_str(s);
            *n += 1;
        }
        serde_json::Value::Array(items) => {
            for i in items {
                collect(i, lines, joined, n);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                lines.push_str(k);
                lines.push('\n');
                collect(v, lines, joined, n);
            }
        }
        _ => {}
    }
}

/// `text` with `%XX` decoded (and `+` as a space when `form`), again while a `%XX` remains,
/// at most three times; bytes that are not UTF-8 are replaced.
fn percent_decoded(text: &str, form: bool) -> String {
    let mut current = text.to_owned();
    for _ in 0..3 {
        let bytes = current.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        let mut changed = false;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        changed = true;
                        continue;
                    }
                    _ => out.push(b'%'),
                },
                b'+' if form => {
                    out.push(b' ');
                    changed = true;
                }
                b => out.push(b),
            }
            i += 1;
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if !changed || next == current {
            return next;
        }
        current = next;
    }
    current
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(uri: &str, body: &str) -> String {
        let (parts, ()) = http::Request::post(uri).body(()).unwrap().into_parts();
        request_text(&parts, body.as_bytes()).into_owned()
    }

    #[test]
    fn what_the_detectors_read() {
        assert!(text("/a%2Fsk%2Dproj", "").contains("/a/sk-proj"));
        assert!(
            text("/a?k=sk%252Dproj+x", "").contains("k=sk-proj x"),
            "double encoding"
        );
        assert!(text("/", r#"{"a": "\u0073k-"}"#).contains("\nsk-\n"));
        assert!(text("/", r#"{"a": "sk-pr", "b": "oj-1"}"#).contains("sk-proj-1"));
        assert_eq!(text("/", "s\u{200b}k-pr\u{ad}oj"), "/\nsk-proj\n");
        assert_eq!(text("/plain", r#"{"a": "b"}"#), "/plain\n{\"a\": \"b\"}\n");
        assert_eq!(percent_decoded("100%", false), "100%");
        assert_eq!(percent_decoded("%4", false), "%4");
        assert_eq!(percent_decoded("%zz%41", false), "%zzA");
        assert_eq!(
            header_text(b"Bearer sk\xe2\x80\x8b-x%41"),
            "Bearer sk-x%41\nBearer sk-xA"
        );
    }
}

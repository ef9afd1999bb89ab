//! The text the guard's content policies read: a request as a handler, a model or a log would
//! see it once decoded, so that an encoding is not a way around the detectors.
//!
//! What is read, each on lines of its own: the path and the query, percent-decoded (a query's
//! `+` as a space, repeatedly while a `%XX` remains, so double encoding is undone too); the body
//! as sent; a JSON body's keys and strings with their escapes (`\u0073k-...`) decoded, and all
//! its strings joined end to end, so that a secret split over two fields is whole again; a body
//! with `%XX` sequences, percent-decoded (form bodies); base64 (base64url too) or hex that
//! decodes to text, in the body, the query or a header (a file sent to a model as a `data:` URL,
//! `data:text/plain;base64,...`, or as a document block's `"data": "..."`; a script as
//! PowerShell's `-EncodedCommand` takes one, base64 of UTF-16; a secret pasted encoded), and
//! such encodings inside that, all the way down; a body sent in UTF-16 or
//! UTF-32 ([`wide`]), decoded, and read so in turn; HTML's and XML's character references
//! (`&#115;k-...`, `&#x73;`, `&amp;`, `&lowbar;`), and quoted-printable where a soft line
//! break shows it (an e-mail's text, a long key cut by `=` at a line's end), decoded in all
//! of it. Invisible characters that split a secret
//! for the eye's sake (zero-width spaces and joiners, the word joiner, the byte order mark,
//! the soft hyphen) are removed before anything is matched.
//!
//! Base64 of a gzip or zlib stream (a compressed file) is inflated and read the same way, and
//! the files of a zip archive (a `.docx`, `.xlsx`, `.odt`, an XML part's text content read
//! too, its paragraphs' runs joined, as is an RTF file's, raw or encoded; one cut short read
//! header by header) or a tar archive
//! (`.tar.gz`) likewise, one inside another up to six deep (a `.env.gz` in a `.zip` in a
//! `.tar.gz`), and the text a PDF's pages draw (its content streams decoded,
//! the pieces of a kerning array joined, a subset font's glyph numbers read through the
//! fonts' `ToUnicode` maps), and the text in a compound file (a legacy `.doc`, `.xls` or
//! `.ppt`, an Outlook `.msg`: each stream's runs of text, in one byte and in UTF-16);
//! so are such files sent as raw bytes, as the body itself or a
//! part of a `multipart/form-data` upload (at most 32 of each kind in a body), within a budget
//! all of a request's readings share (see [`Inflation`](crate::redact::detect::Inflation)): a
//! request holding more than that is [not read whole](Views::unread), and the built-in
//! policies treat it as `unscanned`; so is a request holding a file compressed in a way the
//! guard does not read (xz, bzip2, zstd, 7z, rar, lzip, or a zip method other than deflate),
//! an encrypted file in a zip archive, an Office document or a PDF encrypted with a password
//! (a PDF encrypted without one, which any reader opens, is decrypted and read), or archives
//! nested deeper. A body that holds NUL bytes but is not UTF-16 or UTF-32 as a whole
//! (a binary file, an upload of several parts) is read for its runs of UTF-16 text too: a
//! part that is a text file Notepad saved as "Unicode".
//!
//! What it cannot see, and so what no detector here finds: base64 shorter than 20 characters
//! outside a `data:` URL, hex shorter than 32 digits, any other encoding or encryption of a
//! secret, a secret split in a way
//! that joining strings in order does not undo, a secret in a part of the body past the
//! guard's `body_limit`, in a body sent with a content coding (`Content-Encoding: gzip`) or in
//! a file compressed otherwise (such requests are blocked as unscanned by default), and
//! headers the policy is not told to read.
//!
//! Uses `http`, `memchr` and the redactor's reading of encoded text.

use std::borrow::Cow;

use http::request::Parts;

use crate::redact::detect::{
    Inflation, Unescaped, embedded_texts, encoded_texts, rtf_in, wide_strings,
};

mod wide;

pub(crate) use self::wide::wide_text;

/// Characters that render as nothing and only serve to break a match.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{00ad}'
    )
}

/// Whether `bytes` may hold an [`invisible`] character: the first bytes of their UTF-8 forms.
fn may_hide(bytes: &[u8]) -> bool {
    memchr::memchr3(0xe2, 0xef, 0xc2, bytes).is_some()
}

/// How much of each JSON string's start and end goes into the joined view: enough for any
/// secret the detectors know to straddle two strings.
const JOIN_EDGE: usize = 512;

/// The shortest run of text joined from two JSON strings that is worth a scan: shorter than
/// any secret the detectors know.
const MIN_JOINED: usize = 12;

/// What the detectors read of a request. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Views<'a> {
    /// The body as sent, invisible characters removed.
    pub(crate) main: Cow<'a, str>,
    /// Apart from it, so that the body's own text is judged as before, what decoding the body,
    /// the path and the query shows beyond it (often nothing).
    pub(crate) extra: String,
    /// Why part of the request was not read, when it was not: a compressed stream held more
    /// than the guard inflates, a file is compressed in a way it does not read or encrypted,
    /// or archives are nested too deep.
    pub(crate) unread: Option<String>,
}

/// What the detectors read of a request.
pub(crate) fn request_views<'a>(parts: &Parts, body: &'a [u8]) -> Views<'a> {
    views(parts, body, true)
}

/// What decoding the body, the path and the query shows beyond the body, without the strings
/// joined end to end: for reading characters (which a join's cut could split), not secrets.
pub(crate) fn decoded_text(parts: &Parts, body: &[u8]) -> String {
    views(parts, body, false).extra
}

/// [`request_views`], with the joined strings only when `joins`.
fn views<'a>(parts: &Parts, body: &'a [u8], joins: bool) -> Views<'a> {
    let mut inflation = Inflation::for_text(body.len() + parts.uri.query().map_or(0, str::len));
    let mut main = String::from_utf8_lossy(body);
    if may_hide(body) && main.chars().any(invisible) {
        main.to_mut().retain(|c| !invisible(c));
    }
    let mut extra = String::new();
    let path = parts.uri.path();
    // A path segment shorter than any secret cannot hold one.
    if path.contains('%') || path.split('/').any(|seg| seg.len() >= MIN_JOINED) {
        extra.push_str(path);
        extra.push('\n');
        if path.contains('%') {
            extra.push_str(&percent_decoded(path, false));
            extra.push('\n');
        }
    }
    if let Some(q) = parts.uri.query() {
        extra.push_str(q);
        extra.push('\n');
        push_form_decoded(&mut extra, q, &mut inflation);
        // A `+` is base64's own as often as a space's.
        if q.contains('+') {
            push_encoded(&mut extra, q, &mut inflation);
        }
    }
    push_json_strings(&mut extra, &main, joins);
    push_encoded(&mut extra, &main, &mut inflation);
    // A compressed file or an archive sent as raw bytes: the body itself, or a part of a
    // multipart upload.
    for text in embedded_texts(body, &mut inflation) {
        extra.push_str(&text);
        extra.push('\n');
        push_json_strings(&mut extra, &text, joins);
        push_encoded(&mut extra, &text, &mut inflation);
    }
    if memchr::memchr(b'%', body).is_some() {
        push_form_decoded(&mut extra, &main, &mut inflation);
    }
    // A body in UTF-16 or UTF-32 is read decoded too, beside its bytes (a body only taken for
    // one, or with parts of both, loses nothing): its text, its JSON strings, its form fields.
    // Any other body with NUL bytes (a binary file, an upload of several parts) is read for
    // the runs of UTF-16 text in it: a part that is a text file in UTF-16, strings in a file.
    let wide = wide_text(&parts.headers, body).or_else(|| {
        memchr::memchr(0, body)
            .is_some()
            .then(|| wide_strings(body))
            .filter(|w| !w.is_empty())
    });
    if let Some(wide) = wide {
        extra.push_str(&wide);
        extra.push('\n');
        push_json_strings(&mut extra, &wide, joins);
        push_encoded(&mut extra, &wide, &mut inflation);
        if wide.contains('%') {
            push_form_decoded(&mut extra, &wide, &mut inflation);
        }
    }
    // An RTF file, as the body or a part of an upload: its text content, its groups joined.
    if let Some(rtf) = rtf_in(&main) {
        extra.push_str(&rtf);
        extra.push('\n');
    }
    // Character references, as HTML and XML escape text (`&#115;k-...`, `&amp;`), and
    // quoted-printable where a soft line break shows it (an e-mail's text), decoded in all of
    // the above.
    let unescaped: Vec<String> = [main.as_ref(), extra.as_str()]
        .into_iter()
        .filter_map(|text| Unescaped::of(text).map(|u| u.text))
        .collect();
    for text in unescaped {
        extra.push_str(&text);
        extra.push('\n');
    }
    if may_hide(extra.as_bytes()) && extra.chars().any(invisible) {
        extra.retain(|c| !invisible(c));
    }
    Views {
        main,
        extra,
        unread: inflation.unread(),
    }
}

/// `text` percent-decoded as a form or a query is (`+` a space), a line, and the base64 and
/// hex in it (a form field's `%2B`, `%2F` and `%3D` are base64's).
fn push_form_decoded(out: &mut String, text: &str, inflation: &mut Inflation) {
    let decoded = percent_decoded(text, true);
    out.push_str(&decoded);
    out.push('\n');
    push_encoded(out, &decoded, inflation);
}

/// The text of each run of base64 or hex in `text` that holds text (a file sent to a model,
/// as a `data:` URL or a document block's `data`), a line each, and so again for such runs
/// inside what was decoded, all the way down: see
/// [`encoded_texts`]. Each level is at most three quarters of the one it came from (base64's
/// four characters hold three bytes, hex's two one), so all the levels together are at most
/// three times `text`, and what compressed streams inflate to, which `inflation` bounds.
fn push_encoded(out: &mut String, text: &str, inflation: &mut Inflation) {
    let mut level = encoded_texts(text, inflation);
    while !level.is_empty() {
        let mut next = Vec::new();
        for (_, decoded) in level {
            next.extend(encoded_texts(&decoded, inflation));
            out.push_str(&decoded);
            out.push('\n');
        }
        level = next;
    }
}

/// A header's value as the detectors read it: percent-decoded, invisible characters removed;
/// and why part of it was not read, when it was not (see [`Views::unread`]).
pub(crate) fn header_text(value: &[u8]) -> (String, Option<String>) {
    let raw = String::from_utf8_lossy(value);
    let mut out = raw.clone().into_owned();
    if raw.contains('%') {
        out.push('\n');
        out.push_str(&percent_decoded(&raw, false));
    }
    let mut inflation = Inflation::for_text(value.len());
    push_encoded(&mut out, &raw, &mut inflation);
    out.retain(|c| !invisible(c));
    (out, inflation.unread())
}

/// For a body that looks like JSON: its strings with their escapes decoded, a line each (only
/// when it has escapes: otherwise they are in the body as they are), then, if `join`, its
/// values' strings joined end to end, each cut to its first and last [`JOIN_EDGE`] bytes (only
/// when there are two or more: a secret split over two fields is whole again). The body is
/// lexed for strings, not parsed: an invalid body is read as far as it goes.
fn push_json_strings(out: &mut String, body: &str, join: bool) {
    let bytes = body.as_bytes();
    let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return;
    };
    if !matches!(bytes[first], b'{' | b'[') {
        return;
    }
    let escaped = memchr::memchr(b'\\', bytes).is_some();
    let mut joins = Joins::default();
    let mut decoded = String::new();
    let mut at = first;
    while let Some(open) = memchr::memchr(b'"', &bytes[at..]).map(|i| at + i) {
        let Some(close) = string_end(bytes, open + 1) else {
            break;
        };
        let inner = &body[open + 1..close];
        let text: &str = if escaped && inner.contains('\\') {
            decoded.clear();
            unescape(inner, &mut decoded);
            &decoded
        } else {
            inner
        };
        if escaped {
            out.push_str(text);
            out.push('\n');
        }
        let mut next = close + 1;
        while bytes.get(next).is_some_and(u8::is_ascii_whitespace) {
            next += 1;
        }
        if join && bytes.get(next) != Some(&b':') {
            joins.add(text, out);
        }
        at = close + 1;
    }
    joins.flush(out);
}

/// How many values of a body that looks like JSON sit under a key that names a secret
/// (`"api_key": "..."`, `"password": 1234`): non-empty strings and numbers, at any depth. The
/// body is lexed, not parsed, as for [`request_views`].
pub(crate) fn secret_fields(body: &str) -> usize {
    let bytes = body.as_bytes();
    let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return 0;
    };
    if !matches!(bytes[first], b'{' | b'[') {
        return 0;
    }
    let skip_space = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    let (mut found, mut key, mut at) = (0, String::new(), first);
    while let Some(open) = memchr::memchr(b'"', &bytes[at..]).map(|i| at + i) {
        let Some(close) = string_end(bytes, open + 1) else {
            break;
        };
        at = close + 1;
        let colon = skip_space(close + 1);
        if bytes.get(colon) != Some(&b':') {
            continue;
        }
        let inner = &body[open + 1..close];
        key.clear();
        unescape(inner, &mut key);
        if !crate::redact::field::names_a_secret(&key) {
            continue;
        }
        let value = skip_space(colon + 1);
        let holds = match bytes.get(value) {
            Some(b'"') => bytes.get(value + 1).is_some_and(|b| *b != b'"'),
            Some(b) => b.is_ascii_digit() || *b == b'-',
            None => false,
        };
        found += usize::from(holds);
    }
    found
}

/// Text that runs on from one JSON string value into the next with no white space at the
/// joint: where a secret split over fields is whole again. Only runs made of two strings or
/// more and at least [`MIN_JOINED`] long are kept; each string gives at most [`JOIN_EDGE`]
/// bytes at either end.
#[derive(Default)]
struct Joins {
    run: String,
    pieces: usize,
}

impl Joins {
    fn add(&mut self, text: &str, out: &mut String) {
        let lead_end = text
            .find(char::is_whitespace)
            .unwrap_or(text.len())
            .min(edge_floor(text, JOIN_EDGE));
        self.run.push_str(&text[..lead_end]);
        self.pieces += 1;
        if lead_end == text.len() {
            return; // the whole string runs on
        }
        self.flush(out);
        let tail_start = text.rfind(char::is_whitespace).map_or(0, |i| {
            i + text[i..].chars().next().map_or(1, char::len_utf8)
        });
        let tail_start = tail_start.max(edge_ceil(text, text.len().saturating_sub(JOIN_EDGE)));
        self.run.push_str(&text[tail_start..]);
        self.pieces = 1;
    }

    fn flush(&mut self, out: &mut String) {
        if self.pieces >= 2 && self.run.len() >= MIN_JOINED {
            out.push_str(&self.run);
            out.push('\n');
        }
        self.run.clear();
        self.pieces = 0;
    }
}

/// The largest char boundary of `text` at or below `at`.
fn edge_floor(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// The smallest char boundary of `text` at or above `at`.
fn edge_ceil(text: &str, at: usize) -> usize {
    (at..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len())
}

/// The index of the quote that closes a JSON string whose text starts at `from`.
fn string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[i] == b'"' {
            return Some(i);
        }
        at = i + 2;
    }
}

/// The four hex digits at the start of `s`, as a number.
fn unit(s: &str) -> Option<u32> {
    s.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok())
}

/// A JSON string's text with its escapes decoded (`\u` surrogate pairs joined; a lone
/// surrogate or a bad escape is kept as written).
fn unescape(inner: &str, out: &mut String) {
    let mut rest = inner;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let mut chars = after.chars();
        let (decoded, used): (Option<char>, usize) = match chars.next() {
            Some('n') => (Some('\n'), 1),
            Some('t') => (Some('\t'), 1),
            Some('r') => (Some('\r'), 1),
            Some('b') => (Some('\u{8}'), 1),
            Some('f') => (Some('\u{c}'), 1),
            Some('u') => match unit(&after[1..]) {
                Some(hi @ 0xd800..=0xdbff) => {
                    let lo = after
                        .get(5..7)
                        .filter(|p| *p == "\\u")
                        .and_then(|_| unit(&after[7..]))
                        .filter(|lo| (0xdc00..=0xdfff).contains(lo));
                    match lo {
                        Some(lo) => (
                            char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)),
                            11,
                        ),
                        None => (None, 0),
                    }
                }
                Some(code) => match char::from_u32(code) {
                    Some(c) => (Some(c), 5),
                    None => (None, 0),
                },
                None => (None, 0),
            },
            Some(other) => (Some(other), other.len_utf8()),
            None => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
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
        let views = request_views(&parts, body.as_bytes());
        format!("{}\n{}", views.main, views.extra)
    }

    #[test]
    fn values_under_secret_keys_are_counted() {
        use super::secret_fields;
        let body = r#"{"user": "ana", "api_key": "k-7f3a", "n": {"client\u0053ecret": 41,
            "password": "", "token": null, "Authorization" : "Basic x"}, "max_tokens": 9,
            "note": "the \"password\": \"p\" in a string is text"}"#;
        assert_eq!(secret_fields(body), 3);
        assert_eq!(secret_fields(r#"["password", "x"]"#), 0, "not keys");
        assert_eq!(secret_fields("password=hunter2"), 0, "not JSON");
        assert_eq!(secret_fields(r#"{"password": "#), 0, "cut short");
        assert_eq!(secret_fields(r#"{"pwd":-1}"#), 1);
    }

    #[test]
    fn base64_is_read_all_the_way_down() {
        // "key sk-proj-abcdefghijklmnop1234" in base64 three times, and four.
        let thrice =
            "WVRKV05VbElUbkpNV0VKNVlqSnZkRmxYU21wYVIxWnRXakpvY0dGdGRITmlWelYyWTBSRmVVMTZVVDA9";
        let four = "V1ZSS1YwNVZiRWxVYmtwTlYwVktOVmxxU25aa1JteFlVMjF3WVZJeFduUlhha3B2WTBkR2RHUklUbWxXZWxZeVdUQlNSbVZWTVRaVlZEQTk=";
        for body in [format!(r#"{{"q": "{thrice}"}}"#), four.to_owned()] {
            let seen = text("/", &body);
            assert!(
                seen.contains("\nkey sk-proj-abcdefghijklmnop1234\n"),
                "{seen}"
            );
        }
        let query = text(
            &format!(
                "/a?d={}",
                "a2V5IHNrLXByb2otYWJjZGVmZ2hpamtsbW5vcDEyMzQ=".replace('=', "%3D")
            ),
            "",
        );
        assert!(
            query.contains("\nkey sk-proj-abcdefghijklmnop1234\n"),
            "{query}"
        );
        // A form body, every byte percent-encoded.
        let form: String = "b2s/Pj4ga2V5IHNrLXByb2otYWJjZGVmZ2hpamtsbW5vcDEyMzQ="
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let form = text("/", &format!("doc={form}"));
        assert!(
            form.contains("\nok?>> key sk-proj-abcdefghijklmnop1234\n"),
            "{form}"
        );
    }

    #[test]
    fn what_the_detectors_read() {
        let key = "sk-proj-abcdefghijklmnop1234";
        assert!(text("/a%2Fsk%2Dproj", "").contains("/a/sk-proj"));
        assert!(
            text(&format!("/agent/{key}"), "").contains(key),
            "a long path segment"
        );
        assert_eq!(
            text("/agent/triage", "x"),
            "x\n",
            "a short path is not read again"
        );
        assert!(
            text("/a?k=sk%252Dproj+x", "").contains("k=sk-proj x"),
            "double encoding"
        );
        assert!(text("/", r#"{"a": "\u0073k-"}"#).contains("\nsk-\n"));
        assert!(
            text(
                "/",
                r#"{"a": "sk-proj", "b": "-1234abcd", "c": "efgh ijk"}"#
            )
            .contains("sk-proj-1234abcdefgh\n")
        );
        assert!(text("/", r#"{"a": "x sk-pr", "b": "oj-12345 y"}"#).contains("\nsk-proj-12345\n"));
        assert_eq!(
            text("/", r#"{"a": "A-17", "b": "steady job"}"#),
            r#"{"a": "A-17", "b": "steady job"}"#.to_owned() + "\n",
            "short joins are not read"
        );
        let seen = text("/", r#"{"k": "x\"sk-", "j": "\ud83d\ude00\u00e9"}"#);
        assert!(
            seen.contains("\nx\"sk-\n") && seen.contains("\n😀é\n"),
            "{seen:?}"
        );
        assert!(
            text("/", r#"["\ud800x", "\q"]"#).contains("\\ud800x"),
            "a lone surrogate kept"
        );
        assert_eq!(text("/", "s\u{200b}k-pr\u{ad}oj"), "sk-proj\n");
        assert_eq!(percent_decoded("100%", false), "100%");
        assert_eq!(percent_decoded("%4", false), "%4");
        assert_eq!(percent_decoded("%zz%41", false), "%zzA");
        assert_eq!(
            header_text(b"Bearer sk\xe2\x80\x8b-x%41"),
            ("Bearer sk-x%41\nBearer sk-xA".to_owned(), None)
        );
        let long = format!(r#"["sk-pr", "{}", "oj-1"]"#, "y".repeat(3000));
        let seen = text("/", &long);
        assert_eq!(
            seen.matches(&"y".repeat(2000)).count(),
            1,
            "cut in the joined view"
        );
        assert!(seen.contains(&format!("sk-pr{}\n", "y".repeat(512))));
    }
}

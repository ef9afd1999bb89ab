//! Bodies sent in UTF-16 or UTF-32 (a .NET client's `Encoding.Unicode`, a Windows tool's
//! output): read as UTF-8, such a body is its ASCII letters with a NUL between each, and no
//! detector finds a key in it. This module tells such a body and decodes it.
//!
//! A body is wide when it starts with a UTF-16 or UTF-32 byte order mark, when its
//! `Content-Type` names such a charset, or when its NUL bytes fall where those of ASCII text
//! in one of these forms fall (every second or every fourth byte, at one place in each unit).
//! The byte order comes from the mark, the charset's name, or where the NULs fall; a charset
//! that names no order and a body with no NULs to tell it by is read in both orders.
//!
//! Uses only `http` and `memchr`.

use http::HeaderMap;

/// The forms a wide body takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

/// How many of a body's first bytes tell where its NULs fall.
const SAMPLE: usize = 512;

/// The body decoded, when it is UTF-16 or UTF-32 (see the [module docs](self)); unpaired
/// surrogates and invalid code points replaced by U+FFFD. `None` for any other body.
pub(crate) fn wide_text(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let (forms, skip) = forms(headers, body)?;
    let mut out = String::new();
    for form in forms.into_iter().flatten() {
        if !out.is_empty() {
            out.push('\n');
        }
        decode(form, &body[skip..], &mut out);
    }
    Some(out)
}

/// The forms to read a body in (one, or two when only the width is known) and the length of
/// its byte order mark.
fn forms(headers: &HeaderMap, body: &[u8]) -> Option<([Option<Form>; 2], usize)> {
    let one = |form| Some(([Some(form), None], 0));
    match body {
        [0, 0, 0xfe, 0xff, ..] => return Some(([Some(Form::Utf32Be), None], 4)),
        [0xff, 0xfe, 0, 0, ..] => return Some(([Some(Form::Utf32Le), None], 4)),
        [0xfe, 0xff, ..] => return Some(([Some(Form::Utf16Be), None], 2)),
        [0xff, 0xfe, ..] => return Some(([Some(Form::Utf16Le), None], 2)),
        _ => {}
    }
    let sample = &body[..body.len().min(SAMPLE)];
    let by_nuls = if memchr::memchr(0, sample).is_some() {
        nul_form(sample)
    } else {
        None
    };
    match (declared(headers), by_nuls) {
        (Some(Declared::Exact(form)), _) => one(form),
        (Some(Declared::Width(width)), Some(form)) if width == unit(form) => one(form),
        (Some(Declared::Width(2)), _) => Some(([Some(Form::Utf16Le), Some(Form::Utf16Be)], 0)),
        (Some(Declared::Width(_)), _) => Some(([Some(Form::Utf32Le), Some(Form::Utf32Be)], 0)),
        (None, Some(form)) => one(form),
        (None, None) => None,
    }
}

fn unit(form: Form) -> usize {
    match form {
        Form::Utf16Le | Form::Utf16Be => 2,
        Form::Utf32Le | Form::Utf32Be => 4,
    }
}

/// What a `Content-Type`'s charset says of a wide body.
enum Declared {
    /// The form, order included (`utf-16le`).
    Exact(Form),
    /// Only the width in bytes (`utf-16`, `utf-32`).
    Width(usize),
}

/// The wide charset the `Content-Type` names, if any.
fn declared(headers: &HeaderMap) -> Option<Declared> {
    let value = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let charset = value.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })?;
    let name = charset.to_ascii_lowercase();
    Some(match name.as_str() {
        "utf-16le" => Declared::Exact(Form::Utf16Le),
        "utf-16be" => Declared::Exact(Form::Utf16Be),
        "utf-32le" => Declared::Exact(Form::Utf32Le),
        "utf-32be" => Declared::Exact(Form::Utf32Be),
        "utf-16" | "ucs-2" | "unicode" => Declared::Width(2),
        "utf-32" | "ucs-4" => Declared::Width(4),
        _ => return None,
    })
}

/// The form whose ASCII text puts NULs where `sample`'s are: at most one byte in eight of the
/// text's own position in each unit is NUL, and at least three in four of every other one.
fn nul_form(sample: &[u8]) -> Option<Form> {
    let mostly_nul = |width: usize, at: usize| {
        let units = sample.len() / width;
        let nuls = (0..units).filter(|u| sample[u * width + at] == 0).count();
        units > 0 && nuls * 4 >= units * 3
    };
    let rarely_nul = |width: usize, at: usize| {
        let units = sample.len() / width;
        let nuls = (0..units).filter(|u| sample[u * width + at] == 0).count();
        units > 0 && nuls * 8 <= units
    };
    let text_at = |width: usize, at: usize| {
        rarely_nul(width, at)
            && (0..width)
                .filter(|&i| i != at)
                .all(|i| mostly_nul(width, i))
    };
    [
        (Form::Utf32Le, 4, 0),
        (Form::Utf32Be, 4, 3),
        (Form::Utf16Le, 2, 0),
        (Form::Utf16Be, 2, 1),
    ]
    .into_iter()
    .find(|&(_, width, at)| text_at(width, at))
    .map(|(form, _, _)| form)
}

/// Appends `bytes` decoded as `form` to `out` (a trailing partial unit ignored).
fn decode(form: Form, bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() / unit(form));
    match form {
        Form::Utf16Le | Form::Utf16Be => {
            let units = bytes.chunks_exact(2).map(|pair| {
                let pair = [pair[0], pair[1]];
                if form == Form::Utf16Le {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            });
            out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
        }
        Form::Utf32Le | Form::Utf32Be => {
            out.extend(bytes.chunks_exact(4).map(|quad| {
                let quad = [quad[0], quad[1], quad[2], quad[3]];
                let code = if form == Form::Utf32Le {
                    u32::from_le_bytes(quad)
                } else {
                    u32::from_be_bytes(quad)
                };
                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = content_type {
            h.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
        }
        h
    }

    fn utf16(text: &str, le: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    }

    fn utf32(text: &str, le: bool) -> Vec<u8> {
        text.chars()
            .flat_map(|c| {
                let c = c as u32;
                if le { c.to_le_bytes() } else { c.to_be_bytes() }
            })
            .collect()
    }

    #[test]
    fn wide_bodies_are_told_and_decoded() {
        let text = r#"{"q": "key sk-proj-abc, naïve 中文 😀"}"#;
        let none = headers(None);
        let json16 = headers(Some("application/json; charset=utf-16"));
        let with_bom = |bom: &[u8], body: Vec<u8>| [bom, &body].concat();
        let cases: Vec<(&str, HeaderMap, Vec<u8>)> = vec![
            ("16le, by its NULs", headers(None), utf16(text, true)),
            ("16be, by its NULs", headers(None), utf16(text, false)),
            ("32le, by its NULs", headers(None), utf32(text, true)),
            ("32be, by its NULs", headers(None), utf32(text, false)),
            (
                "16le BOM",
                headers(None),
                with_bom(&[0xff, 0xfe], utf16(text, true)),
            ),
            (
                "16be BOM",
                headers(None),
                with_bom(&[0xfe, 0xff], utf16(text, false)),
            ),
            (
                "32le BOM",
                headers(None),
                with_bom(&[0xff, 0xfe, 0, 0], utf32(text, true)),
            ),
            (
                "32be BOM",
                headers(None),
                with_bom(&[0, 0, 0xfe, 0xff], utf32(text, false)),
            ),
            ("charset=utf-16, LE", json16.clone(), utf16(text, true)),
            ("charset=utf-16, BE", json16.clone(), utf16(text, false)),
            (
                "charset=\"UTF-16LE\"",
                headers(Some("text/plain; charset=\"UTF-16LE\"")),
                utf16(text, true),
            ),
            (
                "charset=utf-32be",
                headers(Some("application/json;charset=utf-32be")),
                utf32(text, false),
            ),
        ];
        for (what, h, body) in cases {
            let decoded = wide_text(&h, &body).unwrap_or_else(|| panic!("{what}: not told"));
            assert!(decoded.contains(text), "{what}: {decoded:?}");
        }
        // Declared without an order, with no ASCII to tell it by: read both ways.
        let cjk = "中文中文中文";
        for le in [true, false] {
            let decoded = wide_text(&json16, &utf16(cjk, le)).expect("declared");
            assert!(decoded.contains(cjk), "{decoded:?}");
        }
        // UTF-8, Latin-1, binary with NULs here and there, empty: not wide.
        let binary: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
        for body in [text.as_bytes(), b"caf\xe9 cr\xe8me", &binary, b"", b"\0"] {
            assert_eq!(wide_text(&none, body), None, "{body:?}");
        }
        // A charset that is not wide.
        let utf8 = headers(Some("application/json; charset=utf-8"));
        assert_eq!(wide_text(&utf8, text.as_bytes()), None);
        // Odd lengths and lone surrogates do not panic.
        let odd = [utf16("abc", true), vec![0x41]].concat();
        assert_eq!(wide_text(&json16, &odd).as_deref(), Some("abc"));
        let lone = [0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00];
        assert_eq!(wide_text(&none, &lone).as_deref(), Some("\u{fffd}A"));
    }
}

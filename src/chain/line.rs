//! The fast path for an ordinary entry line: parsed and written in canonical form in one pass,
//! without building a tape, so that hashing a line costs little more than reading it. Anything
//! unusual is left to the general path (the tape, then the canonical writer), which gives
//! every verdict; a test checks that both agree on every prefix and mutation of sample lines.
//!
//! Uses the JSON parser's scanner.

use crate::json::parse::{MAX_DEPTH, Parser, Str, Tok};

/// Reusable buffers for [`canonical_entry`].
#[derive(Debug, Default, Clone)]
pub(crate) struct CanonScratch {
    /// Canonical `payload`, `seq`, `ts`, `type`.
    fields: [String; 4],
    /// Members of the objects being written: key range in the text, member range in the output.
    members: Vec<(usize, usize, usize, usize)>,
    /// Where an object's members are reordered.
    reorder: String,
    /// Output of values nobody needs (checked, then dropped).
    discard: String,
}

/// The link fields of an ordinary entry line.
#[derive(Debug)]
pub(crate) struct EntryLine<'t> {
    pub(crate) seq: u64,
    pub(crate) prev_hash: &'t str,
    pub(crate) hash: &'t str,
    /// `None` when the line has no `sig`.
    pub(crate) sig: Option<&'t str>,
}

/// Parses an entry line and writes the canonical forms of its hashed fields into `scratch`
/// (see [`CanonScratch::body_parts`]), in one pass and without building a tape.
///
/// Only the ordinary case is handled here: an object whose keys have no escapes, whose `seq`
/// is a non-negative integer and whose `prev_hash`, `hash` and `sig` are plain strings. Any
/// other line (an export header, a non-object, an odd type, any syntax error) gives `None`,
/// and the caller checks it with the general path, which gives every unusual verdict.
pub(crate) fn canonical_entry<'t>(
    text: &'t str,
    scratch: &mut CanonScratch,
) -> Option<EntryLine<'t>> {
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    if text.starts_with('\u{feff}') || u32::try_from(text.len()).is_err() {
        return None;
    }
    p.ws();
    if p.b.get(p.i) != Some(&b'{') {
        return None;
    }
    p.i += 1;
    p.ws();
    let CanonScratch {
        fields,
        members,
        reorder,
        discard,
    } = scratch;
    let mut have = [false; 4];
    let (mut prev_hash, mut hash, mut sig) = (None, None, None);
    loop {
        let key = plain_string(&mut p)?;
        p.ws();
        if p.b.get(p.i) != Some(&b':') {
            return None;
        }
        p.i += 1;
        p.ws();
        // Byte-string patterns of fixed length compile to a length test and word compares.
        match key.as_bytes() {
            b"prev_hash" => prev_hash = Some(plain_string(&mut p)?),
            b"hash" => hash = Some(plain_string(&mut p)?),
            b"sig" => sig = Some(plain_string(&mut p)?),
            // A header, or an entry of an evidence pack: the general path checks those.
            b"_meta" | b"controls" => return None,
            other => {
                // The hashed fields, in body order; any other member is checked and dropped.
                let out = match other {
                    b"payload" => Some(0),
                    b"seq" => Some(1),
                    b"ts" => Some(2),
                    b"type" => Some(3),
                    _ => None,
                }
                .map_or(&mut *discard, |at| {
                    have[at] = true;
                    &mut fields[at]
                });
                out.clear();
                canon(&mut p, out, members, reorder, 1)?;
            }
        }
        p.ws();
        match p.b.get(p.i) {
            Some(b',') => {
                p.i += 1;
                p.ws();
            }
            Some(b'}') => {
                p.i += 1;
                break;
            }
            _ => return None,
        }
    }
    p.ws();
    if p.i != p.b.len() || have.contains(&false) {
        return None;
    }
    let seq_text = &fields[1];
    if seq_text.is_empty() || !seq_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq = seq_text.parse().ok()?;
    Some(EntryLine {
        seq,
        prev_hash: prev_hash?,
        hash: hash?,
        sig,
    })
}

/// Whether JSON float text is already exactly what Python's `repr` writes for its value, so
/// it can be copied instead of reformatted: fixed notation inside Python's fixed range
/// (`1e-4 <= |x| < 1e16`, or zero), no trailing zeros after the first decimal, and at most 15
/// significant digits (two different decimals of at most 15 digits never parse to the same
/// double, so no shorter text round-trips to it).
fn is_python_repr(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let Some((int, frac)) = t.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || (frac.len() > 1 && frac.ends_with('0')) {
        return false;
    }
    let significant = if int == "0" {
        if frac.bytes().all(|b| b == b'0') {
            return frac == "0"; // 0.0
        }
        let zeros = frac.len() - frac.trim_start_matches('0').len();
        if zeros > 3 {
            return false; // below 1e-4: Python writes an exponent
        }
        frac.len() - zeros
    } else {
        if int.starts_with('0') || int.len() > 16 {
            return false;
        }
        int.len() + if frac == "0" { 0 } else { frac.len() }
    };
    significant <= 15
}

/// A string literal with no escapes, as its text.
fn plain_string<'t>(p: &mut Parser<'t>) -> Option<&'t str> {
    if p.b.get(p.i) != Some(&b'"') {
        return None;
    }
    match p.string().ok()? {
        Tok::Str {
            start,
            end,
            escaped: false,
        } => Some(&p.s[start as usize..end as usize]),
        _ => None,
    }
}

/// Orders two unescaped keys as Python orders `str`s (UTF-8 byte order is code point order).
/// Keys are short and usually differ early: a byte loop settles them without a `memcmp` call.
#[inline]
fn key_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// After a member or an element: a `,` (written; another follows: `true`) or the container's
/// closing byte (consumed: `false`); anything else is not JSON (`None`).
#[inline]
fn next_or_close(p: &mut Parser<'_>, out: &mut String, close: u8) -> Option<bool> {
    p.ws();
    match p.b.get(p.i) {
        Some(b',') => {
            p.i += 1;
            p.ws();
            out.push(',');
            Some(true)
        }
        Some(&c) if c == close => {
            p.i += 1;
            Some(false)
        }
        _ => None,
    }
}

/// Writes the canonical form of the value at the cursor while parsing it. Objects are written
/// member by member in file order, then, if their keys were not already in order (or repeat),
/// reordered by moving the members' finished text.
fn canon(
    p: &mut Parser<'_>,
    out: &mut String,
    members: &mut Vec<(usize, usize, usize, usize)>,
    reorder: &mut String,
    depth: usize,
) -> Option<()> {
    match p.b.get(p.i)? {
        b'{' => {
            if depth > MAX_DEPTH {
                return None;
            }
            p.i += 1;
            p.ws();
            let start = out.len();
            out.push('{');
            if p.b.get(p.i) == Some(&b'}') {
                p.i += 1;
                out.push('}');
                return Some(());
            }
            let base = members.len();
            let mut in_order = true;
            loop {
                if p.b.get(p.i) != Some(&b'"') {
                    return None;
                }
                let Tok::Str {
                    start: ks,
                    end: ke,
                    escaped: false,
                } = p.string().ok()?
                else {
                    return None;
                };
                let (ks, ke) = (ks as usize, ke as usize);
                p.ws();
                if p.b.get(p.i) != Some(&b':') {
                    return None;
                }
                p.i += 1;
                p.ws();
                let m_start = out.len();
                out.push('"');
                out.push_str(&p.s[ks..ke]);
                out.push_str("\":");
                canon(p, out, members, reorder, depth + 1)?;
                if let Some(&(ps, pe, _, _)) = members[base..].last() {
                    in_order &= key_cmp(&p.b[ps..pe], &p.b[ks..ke]).is_lt();
                }
                members.push((ks, ke, m_start, out.len()));
                if !next_or_close(p, out, b'}')? {
                    break;
                }
            }
            if !in_order {
                let s = p.s;
                let list = &mut members[base..];
                // Stable: among equal keys the last written is the one Python keeps.
                let key = |m: &(usize, usize, usize, usize)| &s.as_bytes()[m.0..m.1];
                if list.len() <= 16 {
                    // Insertion sort: few keys, usually nearly in order.
                    for i in 1..list.len() {
                        let mut j = i;
                        while j > 0 && key_cmp(key(&list[j - 1]), key(&list[j])).is_gt() {
                            list.swap(j - 1, j);
                            j -= 1;
                        }
                    }
                } else {
                    list.sort_by(|a, b| key_cmp(key(a), key(b)));
                }
                reorder.clear();
                for i in 0..list.len() {
                    if list.get(i + 1).is_some_and(|n| {
                        key_cmp(&s.as_bytes()[n.0..n.1], &s.as_bytes()[list[i].0..list[i].1])
                            .is_eq()
                    }) {
                        continue;
                    }
                    if !reorder.is_empty() {
                        reorder.push(',');
                    }
                    reorder.push_str(&out[list[i].2..list[i].3]);
                }
                out.truncate(start + 1);
                out.push_str(reorder);
            }
            members.truncate(base);
            out.push('}');
            Some(())
        }
        b'[' => {
            if depth > MAX_DEPTH {
                return None;
            }
            p.i += 1;
            p.ws();
            out.push('[');
            if p.b.get(p.i) == Some(&b']') {
                p.i += 1;
                out.push(']');
                return Some(());
            }
            loop {
                canon(p, out, members, reorder, depth + 1)?;
                if !next_or_close(p, out, b']')? {
                    break;
                }
            }
            out.push(']');
            Some(())
        }
        b'-' | b'0'..=b'9' if p.b.get(p.i + 1) != Some(&b'I') => {
            let (start, is_float) = p.number_span().ok()?;
            let text = &p.s[start..p.i];
            if !is_float {
                out.push_str(if text == "-0" { "0" } else { text });
            } else if is_python_repr(text) {
                out.push_str(text);
            } else {
                // Correctly rounded like Python's `float()`; overflow gives ±inf.
                crate::json::canonical::write_float(out, text.parse().ok()?);
            }
            Some(())
        }
        b'"' => {
            let Tok::Str {
                start,
                end,
                escaped,
            } = p.string().ok()?
            else {
                return None;
            };
            let raw = &p.s[start as usize..end as usize];
            if escaped {
                crate::json::canonical::write_str(out, &Str { raw, escaped }.decode());
            } else {
                out.push('"');
                out.push_str(raw);
                out.push('"');
            }
            Some(())
        }
        _ => {
            match p.scalar().ok()? {
                Tok::Null => out.push_str("null"),
                Tok::Bool(true) => out.push_str("true"),
                Tok::Bool(false) => out.push_str("false"),
                // Here only `NaN`, `Infinity` and `-Infinity`.
                Tok::Float(f) => crate::json::canonical::write_float(out, f),
                // Numbers and strings are taken above, containers are not scalars.
                Tok::Int { .. } | Tok::Str { .. } | Tok::Array { .. } | Tok::Object { .. } => {
                    return None;
                }
            }
            Some(())
        }
    }
}

impl CanonScratch {
    /// The hashed body `{"payload":…,"seq":…,"ts":…,"type":…}` of the line last given to
    /// [`canonical_entry`], in pieces to feed a hasher without assembling it.
    pub(crate) fn body_parts(&self) -> [&[u8]; 9] {
        let [payload, seq, ts, kind] = &self.fields;
        [
            b"{\"payload\":",
            payload.as_bytes(),
            b",\"seq\":",
            seq.as_bytes(),
            b",\"ts\":",
            ts.as_bytes(),
            b",\"type\":",
            kind.as_bytes(),
            b"}",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse::Tape;

    #[test]
    fn the_fused_scanner_agrees_with_the_tape() {
        let lines = [
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {"b": 1, "a": [1.0, -0, {"z": 1, "y": "\u00e9\n"}], "a": 2}, "prev_hash": "p", "hash": "h", "sig": ""}"#,
            r#"{"payload":{},"seq":0,"ts":"t","type":"audit_open","prev_hash":"p","hash":"h"}"#,
            r#"{"seq": 7, "ts": "t", "type": "x", "payload": {"k": [[], {}, [1, [2, {"d": {"c": {"b": {"a": NaN}}}}]]], "😀": 1, "Z": 1e400}, "extra": {"q": 1}, "prev_hash": "p", "hash": "h"}"#,
        ];
        for line in lines {
            let mut scratch = CanonScratch::default();
            let entry = canonical_entry(line, &mut scratch).expect("ordinary line");
            let body = String::from_utf8(scratch.body_parts().concat()).unwrap();
            let mut tape = Tape::default();
            let root = tape.parse(line).unwrap();
            let mut want = String::new();
            crate::chain::hash::write_body_node(
                &mut want,
                root.get("seq").unwrap(),
                root.get("ts").unwrap(),
                root.get("type").unwrap(),
                root.get("payload").unwrap(),
            );
            assert_eq!(body, want, "{line}");
            assert_eq!((entry.prev_hash, entry.hash), ("p", "h"));
        }
        for unusual in [
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {"a": 1,"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {"a": 1, 2"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": ["#,
            r#"{"seq": 1, "ts": "#,
            r#"{"#,
            r#"{"_meta": {}}"#,
            r#"[1]"#,
            r#"{"seq": "1", "ts": "t", "type": "x", "payload": {}, "prev_hash": "p", "hash": "h"}"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {}, "prev_hash": "\u0070", "hash": "h"}"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {"\u0061": 1}, "prev_hash": "p", "hash": "h"}"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {}, "prev_hash": "p"}"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {}, "prev_hash": "p", "hash": "h"} x"#,
            r#"{"seq": 1, "ts": "t", "type": "x", "payload": {}, "prev_hash": "p", "hash": 5}"#,
        ] {
            assert!(
                canonical_entry(unusual, &mut CanonScratch::default()).is_none(),
                "{unusual}"
            );
        }
    }

    /// Every prefix and every single-byte substitution of some entry lines: neither parser
    /// panics, and where the fused scanner accepts a line it agrees with the tape.
    #[test]
    fn python_repr_shortcut_agrees_with_formatting() {
        let samples = [
            "0.0",
            "-0.0",
            "1.0",
            "412.25",
            "0.82",
            "0.1",
            "0.0001",
            "0.00012",
            "123456789012345.0",
            "1234567890123456.0",
            "12.5",
            "100.0",
            "0.30000000000000004",
            "9007199254740993.0",
            "1.10",
            "0.00001",
            "1.5",
            "5.0",
            "-3.25",
            "0.00",
            "10.0",
            "99999999999999.9",
            "0.123456789012345",
            "0.1234567890123456",
            "1000000000000000.0",
            "999999999999999.9",
        ];
        for text in samples {
            let f: f64 = text.parse().unwrap();
            let mut formatted = String::new();
            crate::json::canonical::write_float(&mut formatted, f);
            if is_python_repr(text) {
                assert_eq!(text, formatted, "shortcut taken for {text}");
            }
        }
        assert!(is_python_repr("412.25") && is_python_repr("0.0001") && is_python_repr("-0.0"));
        assert!(!is_python_repr("0.00001") && !is_python_repr("1.10") && !is_python_repr("1e5"));
        assert!(
            !is_python_repr("0.1234567890123456"),
            "16 significant digits"
        );
    }
}

//! Serialization exactly as the reference's Python `json.dumps` writes it.
//!
//! Two layouts share one set of scalar rules:
//! - [`Style::Canonical`], the hashed form: keys sorted by code point at every depth, no
//!   whitespace (`sort_keys=True, separators=(",", ":")`);
//! - [`Style::Line`], the on-disk layout: keys in insertion order, `", "` and `": "`.
//!
//! Scalars: strings escape only `"`, `\` and C0 controls; integers keep their exact digits;
//! floats follow Python's `repr` (shortest round-trip digits, `.0` on integral values, exponent
//! form below `1e-4` and from `1e16` on); non-finite floats are the bare `NaN` / `Infinity`
//! tokens the reference writes.

use std::fmt::Write as _;

use super::parse::{Node, Tok};
use super::value::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Canonical,
    Line,
}

impl Style {
    fn item_sep(self) -> &'static str {
        match self {
            Self::Canonical => ",",
            Self::Line => ", ",
        }
    }

    fn key_sep(self) -> &'static str {
        match self {
            Self::Canonical => ":",
            Self::Line => ": ",
        }
    }
}

/// Writes `s` as a JSON string literal the way `json.dumps(..., ensure_ascii=False)` does.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Writes `f` as Python's `float.__repr__` does (and `NaN`/`Infinity`/`-Infinity` as `json`).
pub(crate) fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, like Python's repr:
    // `d[.ddd]e[-]x`. Lay them out with Python's rules. At most 17 digits and a 4-character
    // exponent: a small stack buffer holds it.
    let mut sci = StackBuf::default();
    let _ = write!(sci, "{:e}", f.abs());
    let sci = sci.as_str();
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (lead, rest) = mantissa.split_at(1);
    let rest = rest.strip_prefix('.').unwrap_or("");
    let n = 1 + rest.len() as i32;
    let digit = |i: i32| {
        if i == 0 {
            lead
        } else {
            &rest[(i - 1) as usize..i as usize]
        }
    };
    let point = exp + 1; // position of the decimal point relative to the first digit
    if -4 < point && point <= 16 {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(lead);
            out.push_str(rest);
        } else if point >= n {
            out.push_str(lead);
            out.push_str(rest);
            out.extend(std::iter::repeat_n('0', (point - n) as usize));
            out.push_str(".0");
        } else {
            for i in 0..point {
                out.push_str(digit(i));
            }
            out.push('.');
            for i in point..n {
                out.push_str(digit(i));
            }
        }
    } else {
        out.push_str(lead);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    }
}

/// A small fixed buffer to format a float's digits into without allocating.
#[derive(Default)]
struct StackBuf {
    buf: [u8; 32],
    len: usize,
}

impl StackBuf {
    fn as_str(&self) -> &str {
        // Only ASCII from `{:e}` is ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0e0")
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes a [`Value`] in the given layout.
pub(crate) fn write_value(out: &mut String, v: &Value, style: Style) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => write_float(out, *f),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_sep());
                }
                write_value(out, item, style);
            }
            out.push(']');
        }
        Value::Object(map) => write_map(out, map, style),
    }
}

/// Writes a [`Map`] in the given layout.
pub(crate) fn write_map(out: &mut String, map: &Map, style: Style) {
    let entries = map.entries();
    // Small maps (nearly all) are ordered on the stack.
    let mut small = [0usize; 16];
    let mut large = Vec::new();
    let order: &mut [usize] = if entries.len() <= small.len() {
        &mut small[..entries.len()]
    } else {
        large.resize(entries.len(), 0);
        &mut large
    };
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i;
    }
    if style == Style::Canonical {
        order.sort_by(|&a, &b| entries[a].0.cmp(&entries[b].0));
    }
    out.push('{');
    for (i, &at) in order.iter().enumerate() {
        if i > 0 {
            out.push_str(style.item_sep());
        }
        let (k, v) = &entries[at];
        write_str(out, k);
        out.push_str(style.key_sep());
        write_value(out, v, style);
    }
    out.push('}');
}

/// Writes a parsed [`Node`] in canonical form, resolving duplicate keys (the last one wins).
pub(crate) fn write_node(out: &mut String, node: Node<'_>) {
    match node.tok() {
        Tok::Null => out.push_str("null"),
        Tok::Bool(true) => out.push_str("true"),
        Tok::Bool(false) => out.push_str("false"),
        // The parser guarantees JSON integer grammar, where `-0` is the only non-normal form.
        Tok::Int { .. } => {
            let text = node.int_text().unwrap_or("0");
            out.push_str(if text == "-0" { "0" } else { text });
        }
        Tok::Float(f) => write_float(out, f),
        Tok::Str { .. } => match node.as_jstr() {
            // No escapes in the source: the parser rejected raw `"`, `\` and C0 controls, so
            // the text needs no escaping either.
            Some(s) if s.is_plain() => {
                out.push('"');
                out.push_str(s.raw());
                out.push('"');
            }
            Some(s) => write_str(out, &s.decode()),
            None => {}
        },
        Tok::Array { .. } => {
            out.push('[');
            for (i, item) in node.items().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_node(out, item);
            }
            out.push(']');
        }
        Tok::Object { .. } => write_node_object(out, node),
    }
}

/// Objects up to this many members are sorted on the stack.
const SMALL: usize = 16;

fn write_node_object(out: &mut String, node: Node<'_>) {
    // (raw key, the value's token index): compact, so the stack array is cheap to set up.
    let mut small: [(&str, usize); SMALL] = [("", 0); SMALL];
    let mut n = 0;
    for (k, v) in node.members() {
        if n == SMALL || !k.is_plain() {
            return write_node_object_large(out, node);
        }
        small[n] = (k.raw(), v.index());
        n += 1;
    }
    let members = &mut small[..n];
    // Stable: among equal keys the file's order stays, so the last of a run is the value
    // Python keeps.
    members.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    let mut first = true;
    for i in 0..n {
        if i + 1 < n && members[i + 1].0 == members[i].0 {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push('"');
        out.push_str(members[i].0);
        out.push_str("\":");
        write_node(out, node.at(members[i].1));
    }
    out.push('}');
}

fn write_node_object_large(out: &mut String, node: Node<'_>) {
    let mut members: Vec<(std::borrow::Cow<'_, str>, Node<'_>)> =
        node.members().map(|(k, v)| (k.decode(), v)).collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    out.push('{');
    let mut first = true;
    for i in 0..members.len() {
        if members
            .get(i + 1)
            .is_some_and(|next| next.0 == members[i].0)
        {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_str(out, &members[i].0);
        out.push(':');
        write_node(out, members[i].1);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(f: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, f);
        s
    }

    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1000.0, "1000.0"),
            (0.1, "0.1"),
            (0.82, "0.82"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123.456, "123.456"),
            (-2.5e-10, "-2.5e-10"),
            (12.500000000045475, "12.500000000045475"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (9007199254740993.0, "9007199254740992.0"),
            (1.2345678901234567e16, "1.2345678901234568e+16"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(repr(*f), *want, "repr({f:?})");
        }
    }

    #[test]
    fn string_escapes_match_python() {
        let mut s = String::new();
        write_str(
            &mut s,
            "a\"b\\c/\u{7f}\u{1}\u{1f}\n\r\t\u{8}\u{c}é\u{2028}😀",
        );
        assert_eq!(
            s,
            "\"a\\\"b\\\\c/\u{7f}\\u0001\\u001f\\n\\r\\t\\b\\fé\u{2028}😀\""
        );
    }
}

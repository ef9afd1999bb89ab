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

use crate::json::parse::{Node, STOP, Tok};
use crate::json::value::{Map, Value};

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
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        // Every byte that needs escaping is ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        match bytes[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether `b` is written escaped: `"`, `\` or a C0 control.
fn needs_escape(b: u8) -> bool {
    // The bytes that end a plain run when parsing are the ones escaped when writing.
    STOP[usize::from(b)]
}

/// The first byte at or after `from` that needs escaping. Eight bytes at a time: most strings
/// have none, and each word is cleared with a few operations instead of a test per byte.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A word has a zero byte iff `(x - ONES) & !x & HIGH` is not zero (exact as a test of
    // presence); a byte below 0x20 likewise with `0x20 * ONES`.
    let has = |x: u64| {
        let control = x.wrapping_sub(0x20 * ONES) & !x;
        let quote =
            (x ^ (u64::from(b'"') * ONES)).wrapping_sub(ONES) & !(x ^ (u64::from(b'"') * ONES));
        let slash =
            (x ^ (u64::from(b'\\') * ONES)).wrapping_sub(ONES) & !(x ^ (u64::from(b'\\') * ONES));
        (control | quote | slash) & HIGH != 0
    };
    let mut at = from;
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    for word in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if has(u64::from_le_bytes(w))
            && let Some(i) = word.iter().position(|&b| needs_escape(b))
        {
            return Some(at + i);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| needs_escape(b))
        .map(|i| at + i)
}

/// `n` in decimal, zero-padded to at least `width` digits.
pub(crate) fn write_padded(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut at = buf.len();
    while n > 0 {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = at.min(buf.len() - width.min(buf.len()));
    // ASCII digits: always valid, copied in one go.
    out.push_str(std::str::from_utf8(&buf[start..]).unwrap_or_default());
}

/// A finite `f` as a plain decimal: its shortest round-trip digits with the point placed and
/// never an exponent (`0.0000245`, `1200.5`, `3.0`). For amounts read from a provider, where
/// `2.45e-05 USD` would be correct but unreadable. Rust's `Display` writes exactly that, but
/// for the `.0` of an integral value and the sign of zero.
#[cfg(any(test, feature = "client"))]
pub(crate) fn plain_decimal(f: f64) -> String {
    let mut out = if f == 0.0 {
        "0".to_owned()
    } else {
        f.to_string()
    };
    if !out.contains('.') {
        out.push_str(".0");
    }
    out
}

/// Calls `f` with the shortest digits of `x` that read back as `x` (a first digit, the rest)
/// and its decimal exponent, from Rust's `{:e}`, which gives them as Python's repr does. At
/// most 17 digits and a 4-character exponent: a small stack buffer holds them.
fn with_shortest_digits<R>(x: f64, f: impl FnOnce(&str, &str, i32) -> R) -> R {
    let mut sci = StackBuf::default();
    let _ = write!(sci, "{:e}", x.abs());
    let sci = sci.as_str();
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (lead, rest) = mantissa.split_at(1);
    f(lead, rest.strip_prefix('.').unwrap_or(""), exp)
}

/// Lays out digits (`lead` then `rest`) with the decimal point `point` places after the first
/// digit (before it when `point` is not positive), and `.0` on an integral value.
fn write_fixed(out: &mut String, lead: &str, rest: &str, point: i32) {
    let n = 1 + rest.len() as i32;
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
        let (before, after) = rest.split_at((point - 1) as usize);
        out.push_str(lead);
        out.push_str(before);
        out.push('.');
        out.push_str(after);
    }
}

/// The common case of [`write_float`], without the formatter: a value of magnitude from
/// `0.001` to below `2^32` that is the nearest binary64 to a decimal with at most three
/// fractional digits (latencies in milliseconds, scores, amounts). For those the decimal is the
/// shortest text that reads back as `f`: any other candidate differs from it by at least
/// `0.001`, far more than the spacing of binary64 values there, so it is what Python's `repr`
/// writes. Returns `false`, writing nothing, for every other value.
fn write_short_decimal(out: &mut String, f: f64) -> bool {
    let a = f.abs();
    if !(1e-3..4_294_967_296.0).contains(&a) {
        return false;
    }
    let m = (a * 1000.0).round();
    if m / 1000.0 != a {
        return false;
    }
    let m = m as u64;
    if f < 0.0 {
        out.push('-');
    }
    write_padded(out, m / 1000, 1);
    out.push('.');
    let mut frac = m % 1000;
    if frac == 0 {
        out.push('0');
        return true;
    }
    let mut width = 3;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    write_padded(out, frac, width);
    true
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
    if !write_short_decimal(out, f) {
        write_float_digits(out, f);
    }
}

/// [`write_float`] for a finite, non-zero `f`, from its shortest round-trip digits.
fn write_float_digits(out: &mut String, f: f64) {
    if f.is_sign_negative() {
        out.push('-');
    }
    // Python's repr: positional from 1e-4 up to below 1e16, exponent form outside.
    with_shortest_digits(f, |lead, rest, exp| {
        let point = exp + 1;
        if -4 < point && point <= 16 {
            write_fixed(out, lead, rest, point);
        } else {
            out.push_str(lead);
            if !rest.is_empty() {
                out.push('.');
                out.push_str(rest);
            }
            let sign = if exp < 0 { '-' } else { '+' };
            let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
        }
    });
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
        Value::Int(i) => match i.as_i64() {
            Some(v) => {
                if v < 0 {
                    out.push('-');
                }
                write_padded(out, v.unsigned_abs(), 1);
            }
            None => {
                let _ = write!(out, "{i}");
            }
        },
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
    order_entries(map, order, style == Style::Canonical);
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

/// Fills `order`, as long as `map`, with the indices of its entries: sorted by key when
/// `sorted` (the canonical order), else in insertion order.
fn order_entries(map: &Map, order: &mut [usize], sorted: bool) {
    let entries = map.entries();
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i;
    }
    if sorted {
        order.sort_by(|&a, &b| entries[a].0.cmp(&entries[b].0));
    }
}

/// Writes `map` in both layouts, one after the other: canonical, then line. Returns where the
/// canonical form ends.
///
/// The two differ only in key order and separators, so each top-level key and scalar is
/// escaped or formatted once, in the canonical form, and copied from there into the line; only
/// nested containers are laid out twice. An entry's payload is mostly scalars, and every entry
/// is laid out this way on its caller's path.
pub(crate) fn write_map_both(out: &mut String, map: &Map) -> usize {
    let entries = map.entries();
    // Where each entry's key starts, and its value starts and ends, in the canonical form;
    // by insertion index. Larger maps (rare) are simply laid out twice.
    let mut spans = [(0usize, 0usize, 0usize); 16];
    if entries.len() > spans.len() {
        write_map(out, map, Style::Canonical);
        let canonical_end = out.len();
        write_map(out, map, Style::Line);
        return canonical_end;
    }
    let mut order = [0usize; 16];
    let order = &mut order[..entries.len()];
    order_entries(map, order, true);
    out.push('{');
    for (i, &at) in order.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (k, v) = &entries[at];
        let key = out.len();
        write_str(out, k);
        out.push(':');
        let value = out.len();
        write_value(out, v, Style::Canonical);
        spans[at] = (key, value, out.len());
    }
    out.push('}');
    let canonical_end = out.len();
    out.push('{');
    for (at, (_, v)) in entries.iter().enumerate() {
        if at > 0 {
            out.push_str(", ");
        }
        let (key, value, end) = spans[at];
        // The key as written, without the `:` after it.
        out.extend_from_within(key..value - 1);
        out.push_str(": ");
        match v {
            Value::Array(_) | Value::Object(_) => write_value(out, v, Style::Line),
            _ => out.extend_from_within(value..end),
        }
    }
    out.push('}');
    canonical_end
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
    use crate::json::Integer;

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

    /// The word-at-a-time search finds the same byte as a byte-at-a-time one, for every byte
    /// value at every position of a word, from every start.
    #[test]
    fn escapes_are_found_at_every_offset() {
        let slow = |b: &[u8], from: usize| (from..b.len()).find(|&i| needs_escape(b[i]));
        for len in 0..20 {
            for at in 0..len {
                for v in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[at] = v;
                    // Neighbours that sit just above the boundaries of each test.
                    if at + 1 < len {
                        b[at + 1] = [0x20, b'#', b']', 0x80, 0xff][usize::from(v) % 5];
                    }
                    for from in 0..=len {
                        assert_eq!(next_escape(&b, from), slow(&b, from), "{b:?} from {from}");
                    }
                }
            }
        }
    }

    /// Both layouts at once are exactly each layout on its own: keys out of order, escapes in
    /// keys and values, every scalar kind, nested containers, and a map too large for the
    /// stack (laid out the plain way).
    #[test]
    fn both_layouts_at_once_match_each_alone() {
        let mut nested = Map::new();
        nested
            .insert("z", 1)
            .insert("a", vec![Value::from(0.5), Value::Null]);
        let mut mixed = Map::new();
        mixed
            .insert("route", "/agent/\"triage\"")
            .insert("decision_id", "ab12")
            .insert("input", nested)
            .insert("é", true)
            .insert("latency_ms", 12.75)
            .insert(
                "big",
                "123456789012345678901234567890".parse::<Integer>().unwrap(),
            )
            .insert("a\nb", -7)
            .insert("empty", Map::new())
            .insert("nothing", ());
        let mut large = Map::new();
        for i in (0..20).rev() {
            large.insert(format!("k{i}"), i);
        }
        for map in [Map::new(), mixed, large] {
            let mut want = String::from("prefix");
            write_map(&mut want, &map, Style::Canonical);
            let canonical_end = want.len();
            write_map(&mut want, &map, Style::Line);
            let mut got = String::from("prefix");
            assert_eq!(write_map_both(&mut got, &map), canonical_end, "{want}");
            assert_eq!(got, want);
        }
    }

    /// The fast path writes exactly what the general one does: every multiple of 0.001 up to
    /// 400 and a spread of them up to 2^32 (both signs), values near the edges of its range,
    /// and values it must refuse.
    #[test]
    fn short_decimals_match_the_general_path() {
        let general = |f: f64| {
            let mut s = String::new();
            write_float_digits(&mut s, f);
            s
        };
        let check = |f: f64| {
            let mut fast = String::new();
            if write_short_decimal(&mut fast, f) {
                assert_eq!(fast, general(f), "{f:?}");
            }
        };
        for m in (1..400_000u64).chain((400_000..4_294_967_296_000).step_by(7_777_777)) {
            let f = m as f64 / 1000.0;
            check(f);
            check(-f);
        }
        let mut covered = 0;
        for f in [
            0.001,
            0.0015,
            0.000999,
            4_294_967_295.999,
            4_294_967_296.0,
            1e9 + 0.125,
            0.1 + 0.2,
            1.0 / 3.0,
            412.25,
            123_456_789.012,
            2.5e-3,
            1e-3 - 1e-19,
        ] {
            let mut fast = String::new();
            if write_short_decimal(&mut fast, f) {
                covered += 1;
                assert_eq!(fast, general(f), "{f:?}");
            }
        }
        assert!(covered >= 6, "the fast path takes the ordinary values");
        let mut out = String::new();
        assert!(
            !write_short_decimal(&mut out, 0.1 + 0.2),
            "not a 3-decimal value"
        );
        assert!(!write_short_decimal(&mut out, 1.0 / 3.0));
        assert!(
            !write_short_decimal(&mut out, 4_294_967_296.0),
            "out of range"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn plain_decimals_have_no_exponent() {
        for (f, want) in [
            (0.00475, "0.00475"),
            (2.45e-5, "0.0000245"),
            (1.6e-7, "0.00000016"),
            (3.0, "3.0"),
            (1200.5, "1200.5"),
            (1.5e20, "150000000000000000000.0"),
            (-0.25, "-0.25"),
            (0.0, "0.0"),
        ] {
            assert_eq!(plain_decimal(f), want, "{f:?}");
            assert_eq!(plain_decimal(f).parse::<f64>().ok(), Some(f), "reads back");
        }
    }
}

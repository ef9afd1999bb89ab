//! A JSON parser that reads what Python's `json.loads` reads, and nothing else.
//!
//! It borrows from the line (strings without escapes are never copied), keeps integers as their
//! digits and floats as `f64` (so `100` and `100.0` stay apart), accepts the reference's bare
//! `NaN` / `Infinity` / `-Infinity`, keeps duplicate keys for the canonical writer to resolve, and
//! refuses what the reference cannot hash: lone UTF-16 surrogates and nesting deeper than
//! [`MAX_DEPTH`]. It never panics and its recursion is bounded.

use std::borrow::Cow;
use std::fmt;

use super::value::{Integer, Map, Value};

/// Deepest nesting accepted. Python's decoder gives up near its recursion limit (1000); logs it
/// writes stay well below that.
pub(crate) const MAX_DEPTH: usize = 1000;

/// A parsed JSON value borrowing from its line.
#[derive(Debug, Clone)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    /// JSON integer text, `-?(0|[1-9][0-9]*)`.
    Int(&'a str),
    Float(f64),
    Str(JStr<'a>),
    Array(Vec<Self>),
    /// Pairs in file order, duplicates kept.
    Object(Vec<(JStr<'a>, Self)>),
}

/// A string literal's contents as they stand between the quotes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JStr<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> JStr<'a> {
    /// Whether the literal has no escape sequences (its raw text is its value).
    pub(crate) fn is_plain(&self) -> bool {
        !self.escaped
    }

    pub(crate) fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the string's value is `other`, without decoding a plain literal.
    pub(crate) fn eq_str(&self, other: &str) -> bool {
        if self.escaped {
            self.decode() == other
        } else {
            self.raw == other
        }
    }

    /// The string value. The parser validated every escape, so this cannot fail; anything
    /// unexpected would become U+FFFD rather than a panic.
    pub(crate) fn decode(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hi = hex4(&mut chars).unwrap_or(0xfffd);
                    let code = if (0xd800..0xdc00).contains(&hi) {
                        // The parser guaranteed `\uDC00-\uDFFF` follows.
                        chars.next();
                        chars.next();
                        let lo = hex4(&mut chars).unwrap_or(0xdc00);
                        0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff)
                    } else {
                        hi
                    };
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                Some(other) => out.push(other), // `"`, `\`, `/`
                None => {}
            }
        }
        Cow::Owned(out)
    }
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

impl Node<'_> {
    /// The value of `key` in an object (the last duplicate wins, as in Python).
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Node::Object(pairs) => pairs
                .iter()
                .rev()
                .find(|(k, _)| k.eq_str(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<Cow<'_, str>> {
        match self {
            Node::Str(s) => Some(s.decode()),
            _ => None,
        }
    }

    /// An owned copy.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(text) => Value::Int(Integer::from_json_digits(text)),
            Node::Float(f) => Value::Float(*f),
            Node::Str(s) => Value::String(s.decode().into_owned()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(pairs) => Value::Object(Map::from_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| (k.decode().into_owned(), v.to_value()))
                    .collect(),
            )),
        }
    }

    /// How Python's `str()` shows this value (used in the reference's messages, e.g. the seq in
    /// "tampered entry at seq 2.0").
    pub(crate) fn py_str(&self) -> String {
        match self {
            Node::Str(s) => s.decode().into_owned(),
            other => {
                let mut out = String::new();
                py_repr(&mut out, other);
                out
            }
        }
    }
}

fn py_repr(out: &mut String, node: &Node<'_>) {
    match node {
        Node::Null => out.push_str("None"),
        Node::Bool(true) => out.push_str("True"),
        Node::Bool(false) => out.push_str("False"),
        Node::Int(text) => out.push_str(if *text == "-0" { "0" } else { text }),
        Node::Float(f) if f.is_nan() => out.push_str("nan"),
        Node::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { "inf" } else { "-inf" }),
        Node::Float(f) => super::canonical::write_float(out, *f),
        Node::Str(s) => {
            out.push('\'');
            out.push_str(&s.decode().replace('\\', "\\\\").replace('\'', "\\'"));
            out.push('\'');
        }
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(out, item);
            }
            out.push(']');
        }
        Node::Object(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(out, &Node::Str(*k));
                out.push_str(": ");
                py_repr(out, v);
            }
            out.push('}');
        }
    }
}

/// Why a text is not JSON the reference would read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    what: &'static str,
    /// Byte offset in the line.
    at: usize,
}

impl JsonError {
    /// Byte offset in the text where the problem was found.
    pub fn offset(&self) -> usize {
        self.at
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.what, self.at)
    }
}

impl std::error::Error for JsonError {}

/// Parses one whole JSON text (surrounding JSON whitespace allowed, nothing else).
pub(crate) fn parse(text: &str) -> Result<Node<'_>, JsonError> {
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    if text.starts_with('\u{feff}') {
        return Err(p.err("Unexpected UTF-8 BOM (decode using utf-8-sig)"));
    }
    p.ws();
    let node = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("Extra data"));
    }
    Ok(node)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &'static str) -> JsonError {
        JsonError { what, at: self.i }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.b[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, JsonError> {
        match self.b.get(self.i) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Node::Str),
            Some(b'n') if self.eat("null") => Ok(Node::Null),
            Some(b't') if self.eat("true") => Ok(Node::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Node::Bool(false)),
            Some(b'N') if self.eat("NaN") => Ok(Node::Float(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(Node::Float(f64::INFINITY)),
            Some(b'-') if self.eat("-Infinity") => Ok(Node::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("Expecting value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.i += 1; // `{`
        let mut pairs = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Node::Object(pairs));
        }
        loop {
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("Expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("Expecting ':' delimiter"));
            }
            self.i += 1;
            self.ws();
            let value = self.value(depth)?;
            pairs.push((key, value));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Node::Object(pairs));
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.i += 1; // `[`
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Node::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
    }

    fn string(&mut self) -> Result<JStr<'a>, JsonError> {
        let open = self.i;
        self.i += 1; // `"`
        let start = self.i;
        let mut escaped = false;
        loop {
            // Jump to the next quote or backslash; what lies between must hold no control
            // character (Python's strict mode).
            let rest = &self.b[self.i..];
            let Some(n) = memchr::memchr2(b'"', b'\\', rest) else {
                self.i = open;
                return Err(self.err("Unterminated string"));
            };
            if let Some(c) = rest[..n].iter().position(|&b| b < 0x20) {
                self.i += c;
                return Err(self.err("Invalid control character"));
            }
            self.i += n;
            if self.b[self.i] == b'"' {
                break;
            }
            escaped = true;
            self.escape()?;
        }
        let raw = &self.s[start..self.i]; // both ends are ASCII quotes: char boundaries
        self.i += 1;
        Ok(JStr { raw, escaped })
    }

    /// Validates one escape sequence starting at the backslash.
    fn escape(&mut self) -> Result<(), JsonError> {
        match self.b.get(self.i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 2;
                Ok(())
            }
            Some(b'u') => {
                let hi = self.hex_at(self.i + 2)?;
                self.i += 6;
                match hi {
                    0xd800..=0xdbff => {
                        let lo = if self.b[self.i..].starts_with(b"\\u") {
                            self.hex_at(self.i + 2).ok()
                        } else {
                            None
                        };
                        match lo {
                            Some(0xdc00..=0xdfff) => {
                                self.i += 6;
                                Ok(())
                            }
                            _ => Err(self.err("lone surrogate in \\u escape (not valid UTF-8)")),
                        }
                    }
                    0xdc00..=0xdfff => {
                        Err(self.err("lone surrogate in \\u escape (not valid UTF-8)"))
                    }
                    _ => Ok(()),
                }
            }
            _ => Err(self.err("Invalid \\escape")),
        }
    }

    fn hex_at(&self, at: usize) -> Result<u32, JsonError> {
        let digits = self
            .b
            .get(at..at + 4)
            .ok_or_else(|| self.err("Invalid \\uXXXX escape"))?;
        let mut v = 0;
        for &d in digits {
            let d = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("Invalid \\uXXXX escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Node<'a>, JsonError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => {
                self.i = start;
                return Err(self.err("Expecting value"));
            }
        }
        let int_end = self.i;
        let mut is_float = false;
        if self.b.get(self.i) == Some(&b'.')
            && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            self.digits();
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            let mut j = self.i + 1;
            if let Some(b'+' | b'-') = self.b.get(j) {
                j += 1;
            }
            if self.b.get(j).is_some_and(u8::is_ascii_digit) {
                self.i = j;
                self.digits();
                is_float = true;
            }
        }
        let text = &self.s[start..self.i];
        if is_float {
            // Rust's parse is correctly rounded like Python's `float()`; overflow gives ±inf.
            let f = text
                .parse::<f64>()
                .map_err(|_| self.err("Invalid number"))?;
            Ok(Node::Float(f))
        } else {
            Ok(Node::Int(&self.s[start..int_end]))
        }
    }

    fn digits(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        let node = parse(text).unwrap();
        let mut out = String::new();
        super::super::canonical::write_node(&mut out, &node);
        out
    }

    #[test]
    fn canonicalizes_like_python() {
        assert_eq!(
            canon(r#"{"b": 1, "a": [1.0, -0, -0.0, 1E2]}"#),
            r#"{"a":[1.0,0,-0.0,100.0],"b":1}"#
        );
        assert_eq!(canon(r#"{"a": 1, "a": 2}"#), r#"{"a":2}"#);
        assert_eq!(
            canon(r#"{"a": 1, "b": 0, "a": 2, "a": 3}"#),
            r#"{"a":3,"b":0}"#
        );
        assert_eq!(canon(r#""\u00e9\/\ud83d\ude00\u0001""#), "\"é/😀\\u0001\"");
        assert_eq!(
            canon("[NaN, Infinity, -Infinity, 1e400]"),
            "[NaN,Infinity,-Infinity,Infinity]"
        );
        assert_eq!(
            canon("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(canon("1.000e-1"), "0.1");
        assert_eq!(canon("10000000000000000.0"), "1e+16");
        // Keys sort by code point, astral after BMP (UTF-8 byte order agrees).
        assert_eq!(
            canon(r#"{"😀": 1, "\uffff": 2, "Z": 3, "a": 4}"#),
            "{\"Z\":3,\"a\":4,\"\u{ffff}\":2,\"😀\":1}"
        );
    }

    #[test]
    fn rejects_what_python_rejects() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "+1",
            "\"a\u{1}\"",
            "\"\\x\"",
            "\"\\u12\"",
            "{'a': 1}",
            "nan",
            "{} {}",
            "\u{feff}{}",
            "-",
            "\"abc",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn lone_surrogates_are_refused() {
        assert!(parse(r#""\ud800""#).is_err());
        assert!(parse(r#""\udfff\ud800""#).is_err());
        assert!(parse(r#""\ud800x""#).is_err());
        assert!(parse(r#""\ud83d\ude00""#).is_ok());
    }

    #[test]
    fn depth_is_bounded() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let hostile = "[".repeat(1_000_000);
        assert!(parse(&hostile).is_err());
    }

    #[test]
    fn python_str_of_values() {
        assert_eq!(parse("2.0").unwrap().py_str(), "2.0");
        assert_eq!(parse("true").unwrap().py_str(), "True");
        assert_eq!(parse("\"2\"").unwrap().py_str(), "2");
        assert_eq!(parse("null").unwrap().py_str(), "None");
        assert_eq!(
            parse(r#"{"a": [1, "x"]}"#).unwrap().py_str(),
            "{'a': [1, 'x']}"
        );
    }
}

//! A JSON parser that reads what Python's `json.loads` reads, and nothing else.
//!
//! It parses into a flat token tape ([`Tape`]) that borrows nothing and is reused from line to
//! line, so verifying a long file allocates almost nothing per line. Integers stay as their
//! digits and floats as `f64` (so `100` and `100.0` stay apart), the reference's bare `NaN` /
//! `Infinity` / `-Infinity` are accepted, duplicate keys are kept for the canonical writer to
//! resolve, and what the reference cannot hash is refused: lone UTF-16 surrogates and nesting
//! deeper than [`MAX_DEPTH`]. It never panics and its recursion is bounded.

use std::borrow::Cow;
use std::fmt;

use crate::json::value::{Integer, Map, Value};

/// Deepest nesting accepted. Python's decoder gives up near its recursion limit (1000); logs it
/// writes stay well below that.
pub(crate) const MAX_DEPTH: usize = 1000;

/// One token. Offsets are byte offsets into the parsed text. A container's `len` is the number
/// of tokens after it that belong to it; an object's members are a key token (always
/// [`Tok::Str`]) followed by the value's tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok {
    Null,
    Bool(bool),
    /// JSON integer text, `-?(0|[1-9][0-9]*)`.
    Int {
        start: u32,
        end: u32,
    },
    Float(f64),
    /// A string literal's contents between the quotes.
    Str {
        start: u32,
        end: u32,
        escaped: bool,
    },
    Array {
        len: u32,
    },
    Object {
        len: u32,
    },
}

/// A reusable token buffer.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tape {
    toks: Vec<Tok>,
}

impl Tape {
    /// Parses one whole JSON text (surrounding JSON whitespace allowed, nothing else) and
    /// returns its root.
    pub(crate) fn parse<'t>(&'t mut self, text: &'t str) -> Result<Node<'t>, JsonError> {
        self.toks.clear();
        if u32::try_from(text.len()).is_err() {
            return Err(JsonError {
                what: What::TooLong,
                at: 0,
            });
        }
        let mut p = Parser {
            s: text,
            b: text.as_bytes(),
            i: 0,
        };
        if text.starts_with('\u{feff}') {
            return Err(p.err(What::Bom));
        }
        p.ws();
        p.value(&mut self.toks, 0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(p.err(What::ExtraData));
        }
        Ok(Node {
            src: text,
            toks: &self.toks,
            at: 0,
        })
    }
}

/// A value in a parsed tape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'t> {
    src: &'t str,
    toks: &'t [Tok],
    at: usize,
}

impl<'t> Node<'t> {
    pub(crate) fn tok(&self) -> Tok {
        self.toks[self.at]
    }

    /// The value at token index `at` of the same tape.
    pub(crate) fn at(&self, at: usize) -> Self {
        Self {
            src: self.src,
            toks: self.toks,
            at,
        }
    }

    /// This value's token index.
    pub(crate) fn index(&self) -> usize {
        self.at
    }

    /// Number of tokens this value spans.
    fn span(&self) -> usize {
        match self.tok() {
            Tok::Array { len } | Tok::Object { len } => 1 + len as usize,
            _ => 1,
        }
    }

    /// The elements of an array (nothing for other values).
    pub(crate) fn items(&self) -> impl Iterator<Item = Self> + 't {
        let this = *self;
        let end = self.at + self.span();
        let mut next = if matches!(self.tok(), Tok::Array { .. }) {
            self.at + 1
        } else {
            end
        };
        std::iter::from_fn(move || {
            (next < end).then(|| {
                let item = this.at(next);
                next += item.span();
                item
            })
        })
    }

    /// The members of an object in file order, duplicates included (nothing for other
    /// values).
    pub(crate) fn members(&self) -> impl Iterator<Item = (Str<'t>, Self)> + 't {
        let this = *self;
        let end = self.at + self.span();
        let mut next = if matches!(self.tok(), Tok::Object { .. }) {
            self.at + 1
        } else {
            end
        };
        std::iter::from_fn(move || {
            (next < end).then(|| {
                let key = this.at(next).as_jstr().unwrap_or(Str::EMPTY);
                let value = this.at(next + 1);
                next += 1 + value.span();
                (key, value)
            })
        })
    }

    /// The value of `key` in an object (the last duplicate wins, as in Python).
    #[cfg(any(test, fuzzing, feature = "client"))]
    pub(crate) fn get(&self, key: &str) -> Option<Self> {
        self.members()
            .filter(|(k, _)| k.eq_str(key))
            .last()
            .map(|(_, v)| v)
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self.tok(), Tok::Object { .. })
    }

    pub(crate) fn is_array(&self) -> bool {
        matches!(self.tok(), Tok::Array { .. })
    }

    pub(crate) fn as_jstr(&self) -> Option<Str<'t>> {
        match self.tok() {
            Tok::Str {
                start,
                end,
                escaped,
            } => Some(Str {
                raw: &self.src[start as usize..end as usize],
                escaped,
            }),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<Cow<'t, str>> {
        self.as_jstr().map(|s| s.decode())
    }

    /// The integer's JSON text, for an integer.
    pub(crate) fn int_text(&self) -> Option<&'t str> {
        match self.tok() {
            Tok::Int { start, end } => Some(&self.src[start as usize..end as usize]),
            _ => None,
        }
    }

    /// An owned copy.
    pub(crate) fn to_value(self) -> Value {
        match self.tok() {
            Tok::Null => Value::Null,
            Tok::Bool(b) => Value::Bool(b),
            Tok::Int { .. } => {
                Value::Int(Integer::from_json_digits(self.int_text().unwrap_or("0")))
            }
            Tok::Float(f) => Value::Float(f),
            Tok::Str { .. } => Value::String(self.as_str().unwrap_or_default().into_owned()),
            Tok::Array { .. } => Value::Array(self.items().map(|n| n.to_value()).collect()),
            Tok::Object { .. } => Value::Object(Map::from_pairs(
                self.members()
                    .map(|(k, v)| (k.decode().into_owned(), v.to_value()))
                    .collect(),
            )),
        }
    }

    /// How Python's `str()` shows this value (used in the reference's messages, e.g. the seq in
    /// "tampered entry at seq 2.0").
    pub(crate) fn py_str(&self) -> String {
        match self.as_str() {
            Some(s) => s.into_owned(),
            None => {
                let mut out = String::new();
                self.py_repr(&mut out);
                out
            }
        }
    }

    fn py_repr(&self, out: &mut String) {
        match self.tok() {
            Tok::Null => out.push_str("None"),
            Tok::Bool(true) => out.push_str("True"),
            Tok::Bool(false) => out.push_str("False"),
            Tok::Int { .. } => {
                let text = self.int_text().unwrap_or("0");
                out.push_str(if text == "-0" { "0" } else { text });
            }
            Tok::Float(f) if f.is_nan() => out.push_str("nan"),
            Tok::Float(f) if f.is_infinite() => out.push_str(if f > 0.0 { "inf" } else { "-inf" }),
            Tok::Float(f) => crate::json::canonical::write_float(out, f),
            Tok::Str { .. } => {
                let s = self.as_str().unwrap_or_default();
                out.push('\'');
                out.push_str(&s.replace('\\', "\\\\").replace('\'', "\\'"));
                out.push('\'');
            }
            Tok::Array { .. } => {
                out.push('[');
                for (i, item) in self.items().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.py_repr(out);
                }
                out.push(']');
            }
            Tok::Object { .. } => {
                out.push('{');
                for (i, (k, v)) in self.members().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('\'');
                    out.push_str(&k.decode().replace('\\', "\\\\").replace('\'', "\\'"));
                    out.push_str("': ");
                    v.py_repr(out);
                }
                out.push('}');
            }
        }
    }
}

/// A string literal's contents as they stand between the quotes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Str<'t> {
    pub(crate) raw: &'t str,
    pub(crate) escaped: bool,
}

impl<'t> Str<'t> {
    pub(crate) const EMPTY: Self = Self {
        raw: "",
        escaped: false,
    };

    /// Whether the literal has no escape sequences (its raw text is its value).
    pub(crate) fn is_plain(&self) -> bool {
        !self.escaped
    }

    pub(crate) fn raw(&self) -> &'t str {
        self.raw
    }

    /// Whether the string's value is `other`, without decoding a plain literal.
    #[cfg(any(test, fuzzing, feature = "client"))]
    pub(crate) fn eq_str(&self, other: &str) -> bool {
        if self.escaped {
            self.decode() == other
        } else {
            self.raw == other
        }
    }

    /// The string value. The parser validated every escape, so this cannot fail; anything
    /// unexpected would become U+FFFD rather than a panic.
    pub(crate) fn decode(&self) -> Cow<'t, str> {
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

/// Why a text is not JSON the reference would read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    what: What,
    /// Byte offset in the text (texts are under 4 GiB).
    at: u32,
}

/// The kinds of parse error. Small on purpose: parser results travel in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    TooLong,
    Bom,
    ExtraData,
    ExpectingValue,
    NestingTooDeep,
    ExpectingKey,
    ExpectingColon,
    ExpectingComma,
    Unterminated,
    ControlCharacter,
    LoneSurrogate,
    BadEscape,
    BadUnicodeEscape,
    BadNumber,
}

impl What {
    fn message(self) -> &'static str {
        match self {
            Self::TooLong => "text longer than 4 GiB",
            Self::Bom => "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            Self::ExtraData => "Extra data",
            Self::ExpectingValue => "Expecting value",
            Self::NestingTooDeep => "nesting too deep",
            Self::ExpectingKey => "Expecting property name enclosed in double quotes",
            Self::ExpectingColon => "Expecting ':' delimiter",
            Self::ExpectingComma => "Expecting ',' delimiter",
            Self::Unterminated => "Unterminated string",
            Self::ControlCharacter => "Invalid control character",
            Self::LoneSurrogate => "lone surrogate in \\u escape (not valid UTF-8)",
            Self::BadEscape => "Invalid \\escape",
            Self::BadUnicodeEscape => "Invalid \\uXXXX escape",
            Self::BadNumber => "Invalid number",
        }
    }
}

impl JsonError {
    /// Byte offset in the text where the problem was found.
    pub fn offset(&self) -> usize {
        self.at as usize
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.what.message(), self.at)
    }
}

impl std::error::Error for JsonError {}

/// The first `"`, `\\` or C0 control byte in `b`, eight bytes at a time.
///
/// For each 8-byte word, `(x - 0x01…) & !x & 0x80…` flags bytes of `x` that are zero (and
/// `(x - 0x20…) & !x & 0x80…` bytes below 0x20); higher flags may be false after a true one,
/// but the lowest flag is always exact, and only the lowest is used.
fn find_stop(b: &[u8]) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Most strings (keys) are short: a byte loop ends them soonest.
    let head = b.len().min(16);
    if let Some(p) = b[..head].iter().position(|&c| STOP[usize::from(c)]) {
        return Some(p);
    }
    let mut i = head;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let quote = x ^ (LOW * u64::from(b'"'));
        let backslash = x ^ (LOW * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(LOW) & !quote)
            | (backslash.wrapping_sub(LOW) & !backslash)
            | (x.wrapping_sub(LOW * 0x20) & !x);
        let flags = flags & HIGH;
        if flags != 0 {
            return Some(i + (flags.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| STOP[usize::from(c)])
        .map(|p| i + p)
}

/// Bytes that end the plain run of a string: `"`, `\\` and the C0 controls (the bytes the
/// canonical writer escapes).
pub(crate) static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The grammar's primitives over one text: white space, literals, strings, numbers. The tape
/// builder and the canonicalizing scanner share them.
pub(crate) struct Parser<'a> {
    pub(crate) s: &'a str,
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
}

impl Parser<'_> {
    pub(crate) fn err(&self, what: What) -> JsonError {
        // The text is under 4 GiB (checked before parsing).
        JsonError {
            what,
            at: self.i as u32,
        }
    }

    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    pub(crate) fn eat(&mut self, lit: &str) -> bool {
        if self.b[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    /// A scalar: literal, string or number (not a container).
    pub(crate) fn scalar(&mut self) -> Result<Tok, JsonError> {
        match self.b.get(self.i) {
            Some(b'"') => self.string(),
            Some(b'n') if self.eat("null") => Ok(Tok::Null),
            Some(b't') if self.eat("true") => Ok(Tok::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Tok::Bool(false)),
            Some(b'N') if self.eat("NaN") => Ok(Tok::Float(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(Tok::Float(f64::INFINITY)),
            Some(b'-') if self.eat("-Infinity") => Ok(Tok::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err(What::ExpectingValue)),
        }
    }

    pub(crate) fn value(&mut self, toks: &mut Vec<Tok>, depth: usize) -> Result<(), JsonError> {
        match self.b.get(self.i) {
            Some(b'{') => self.container(toks, depth + 1, true),
            Some(b'[') => self.container(toks, depth + 1, false),
            _ => {
                let tok = self.scalar()?;
                toks.push(tok);
                Ok(())
            }
        }
    }

    pub(crate) fn container(
        &mut self,
        toks: &mut Vec<Tok>,
        depth: usize,
        object: bool,
    ) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(What::NestingTooDeep));
        }
        let (close, at) = (if object { b'}' } else { b']' }, toks.len());
        toks.push(Tok::Null); // placeholder, patched below
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&close) {
            self.i += 1;
        } else {
            loop {
                if object {
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.err(What::ExpectingKey));
                    }
                    let key = self.string()?;
                    toks.push(key);
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.err(What::ExpectingColon));
                    }
                    self.i += 1;
                    self.ws();
                }
                self.value(toks, depth)?;
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                    }
                    Some(&c) if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(self.err(What::ExpectingComma)),
                }
            }
        }
        // Fits: the text is under 4 GiB and every token consumes at least one byte.
        let len = (toks.len() - at - 1) as u32;
        toks[at] = if object {
            Tok::Object { len }
        } else {
            Tok::Array { len }
        };
        Ok(())
    }

    pub(crate) fn string(&mut self) -> Result<Tok, JsonError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.err(What::ExpectingValue));
        }
        let open = self.i;
        self.i += 1; // `"`
        let start = self.i;
        let mut escaped = false;
        loop {
            // The next quote, backslash or control character (Python's strict mode allows no
            // raw control character in a string).
            let Some(n) = find_stop(&self.b[self.i..]) else {
                self.i = open;
                return Err(self.err(What::Unterminated));
            };
            if self.b[self.i + n] < 0x20 {
                self.i += n;
                return Err(self.err(What::ControlCharacter));
            }
            self.i += n;
            if self.b[self.i] == b'"' {
                break;
            }
            escaped = true;
            self.escape()?;
        }
        let end = self.i;
        self.i += 1;
        Ok(Tok::Str {
            start: start as u32,
            end: end as u32,
            escaped,
        })
    }

    /// Validates one escape sequence starting at the backslash.
    pub(crate) fn escape(&mut self) -> Result<(), JsonError> {
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
                            _ => Err(self.err(What::LoneSurrogate)),
                        }
                    }
                    0xdc00..=0xdfff => Err(self.err(What::LoneSurrogate)),
                    _ => Ok(()),
                }
            }
            _ => Err(self.err(What::BadEscape)),
        }
    }

    pub(crate) fn hex_at(&self, at: usize) -> Result<u32, JsonError> {
        let bad = || self.err(What::BadUnicodeEscape);
        let digits = self.b.get(at..at + 4).ok_or_else(bad)?;
        digits.iter().try_fold(0, |v, &d| {
            Ok(v * 16 + (d as char).to_digit(16).ok_or_else(bad)?)
        })
    }

    pub(crate) fn number(&mut self) -> Result<Tok, JsonError> {
        let (start, is_float) = self.number_span()?;
        if is_float {
            // Rust's parse is correctly rounded like Python's `float()`; overflow gives ±inf.
            let f = self.s[start..self.i]
                .parse::<f64>()
                .map_err(|_| self.err(What::BadNumber))?;
            Ok(Tok::Float(f))
        } else {
            Ok(Tok::Int {
                start: start as u32,
                end: self.i as u32,
            })
        }
    }

    /// Moves past a number; gives where it starts and whether it is a float (has a fraction
    /// or an exponent).
    pub(crate) fn number_span(&mut self) -> Result<(usize, bool), JsonError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => {
                self.i = start;
                return Err(self.err(What::ExpectingValue));
            }
        }
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
        Ok((start, is_float))
    }

    pub(crate) fn digits(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
    }
}

/// Parses `text` into an owned [`Value`].
pub(crate) fn parse_value(text: &str) -> Result<Value, JsonError> {
    let mut tape = Tape::default();
    tape.parse(text).map(|n| n.to_value())
}

#[cfg(test)]
mod tests;

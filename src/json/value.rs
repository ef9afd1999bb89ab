//! The JSON data model of a chain entry.
//!
//! `acttrace-chain/1` hashes values the way Python's `json` module sees them, so this model keeps
//! what a general-purpose JSON type loses: integers of any size with their exact digits, the
//! difference between `100` and `100.0`, non-finite floats, and the insertion order of object keys
//! (lines are written in that order, the hash sorts them).

use std::fmt;

use crate::json::canonical;
use crate::json::parse::{self, JsonError};

/// A JSON value as `acttrace-chain/1` sees it.
///
/// Build one from [`serde_json::Value`] (so the `serde_json::json!` macro works), from Rust
/// primitives, or with [`Map`].
///
/// ```
/// use acttrace::json::{Map, Value};
///
/// let mut input = Map::new();
/// input.insert("applicant", "A-17");
/// input.insert("amount", 25_000);
/// let v = Value::from(input);
/// assert_eq!(v.to_canonical(), r#"{"amount":25000,"applicant":"A-17"}"#);
///
/// // Integers and floats stay distinct, as in the reference implementation.
/// assert_eq!(Value::from(100).to_canonical(), "100");
/// assert_eq!(Value::from(100.0).to_canonical(), "100.0");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An exact integer of any size.
    Int(Integer),
    /// A binary64 float, written as Python's `repr` writes it (`NaN` and `Infinity` included).
    Float(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Self>),
    /// An object, keys in insertion order.
    Object(Map),
}

/// An exact JSON integer of any size.
///
/// ```
/// use acttrace::json::Integer;
///
/// let big: Integer = "18446744073709551616".parse().unwrap(); // 2**64
/// assert_eq!(big.to_string(), "18446744073709551616");
/// assert_eq!(big.as_i64(), None);
/// assert_eq!(Integer::from(-7).as_i64(), Some(-7));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Integer(IntRepr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum IntRepr {
    Small(i64),
    /// Normalized decimal digits (optional `-`, no leading zeros, never `-0`) outside `i64`.
    Big(Box<str>),
}

impl Integer {
    /// The value as an `i64`, if it fits.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            IntRepr::Small(v) => Some(*v),
            IntRepr::Big(_) => None,
        }
    }

    /// The value as a `u64`, if it fits.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            IntRepr::Small(v) => u64::try_from(*v).ok(),
            IntRepr::Big(digits) => digits.parse().ok(),
        }
    }

    /// Builds an integer from JSON integer text (`-?(0|[1-9][0-9]*)`), normalizing `-0` to `0`.
    /// The caller guarantees the grammar.
    pub(crate) fn from_json_digits(text: &str) -> Self {
        match text.parse::<i64>() {
            Ok(v) => Self(IntRepr::Small(v)),
            Err(_) => Self(IntRepr::Big(text.into())),
        }
    }
}

/// The error returned when a string is not a decimal integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal integer")]
pub struct ParseIntegerError(());

impl std::str::FromStr for Integer {
    type Err = ParseIntegerError;

    /// Parses decimal digits with an optional leading `-` (leading zeros are dropped).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseIntegerError(()));
        }
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Ok(Self(IntRepr::Small(0)));
        }
        let text = if neg {
            format!("-{trimmed}")
        } else {
            trimmed.to_owned()
        };
        Ok(Self::from_json_digits(&text))
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IntRepr::Small(v) => fmt::Display::fmt(v, f),
            IntRepr::Big(digits) => f.pad(digits),
        }
    }
}

impl fmt::Debug for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! integer_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Integer {
            fn from(v: $t) -> Self {
                match i64::try_from(v) {
                    Ok(v) => Self(IntRepr::Small(v)),
                    Err(_) => Self(IntRepr::Big(v.to_string().into())),
                }
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(Integer::from(v))
            }
        }
    )*};
}
integer_from!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

/// A JSON object that keeps its keys in insertion order, as Python's `dict` does.
///
/// Inserting an existing key replaces its value in place (the last value wins, the first
/// position stays), which is also how the reference reads duplicate keys.
///
/// ```
/// use acttrace::json::Map;
///
/// let mut m = Map::new();
/// m.insert("b", 1);
/// m.insert("a", 2);
/// m.insert("b", 3);
/// assert_eq!(m.keys().collect::<Vec<_>>(), ["b", "a"]);
/// assert_eq!(m.get("b").and_then(|v| v.as_i64()), Some(3));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Vec<(Key, Value)>);

/// A key: this crate's own keys are string literals and are kept without a copy.
pub(crate) type Key = std::borrow::Cow<'static, str>;

impl Map {
    /// An empty map.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty map with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Inserts `key`, replacing the value of an existing equal key in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.put(Key::Owned(key.into()), value.into())
    }

    /// [`insert`](Self::insert) for this crate's own literal keys, without copying them.
    pub(crate) fn set(&mut self, key: &'static str, value: impl Into<Value>) -> &mut Self {
        self.put(Key::Borrowed(key), value.into())
    }

    fn put(&mut self, key: Key, value: Value) -> &mut Self {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
        self
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// The entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The entries in order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (&**k, v))
    }

    /// Appends every entry of `other` (later keys replace earlier ones in place).
    pub fn extend(&mut self, other: Self) {
        for (k, v) in other.0 {
            self.put(k, v);
        }
    }

    pub(crate) fn entries(&self) -> &[(Key, Value)] {
        &self.0
    }

    /// The entries with their keys mutable: the caller keeps the keys unique.
    pub(crate) fn entries_mut(&mut self) -> &mut [(Key, Value)] {
        &mut self.0
    }

    /// Builds a map from parsed pairs, resolving duplicate keys as Python does.
    pub(crate) fn from_pairs(pairs: Vec<(String, Value)>) -> Self {
        let mut map = Self(Vec::with_capacity(pairs.len()));
        for (k, v) in pairs {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl Value {
    /// Parses JSON text the way the reference's Python `json.loads` reads it: integers of any
    /// size stay exact, `1` and `1.0` stay distinct, bare `NaN` / `Infinity` / `-Infinity` are
    /// accepted, and the last of duplicate keys wins. Lone UTF-16 surrogate escapes and nesting
    /// deeper than 1000 levels are refused.
    ///
    /// ```
    /// use acttrace::json::Value;
    ///
    /// let v = Value::parse(r#"{"n": 18446744073709551616, "f": 1E2, "x": NaN}"#).unwrap();
    /// assert_eq!(v.to_canonical(), r#"{"f":100.0,"n":18446744073709551616,"x":NaN}"#);
    /// assert!(Value::parse(r#""\ud800""#).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A [`JsonError`] saying what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, JsonError> {
        parse::parse_value(text)
    }

    /// The canonical form hashed by the chain: Python's
    /// `json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.
    pub fn to_canonical(&self) -> String {
        let mut out = String::new();
        canonical::write_value(&mut out, self, canonical::Style::Canonical);
        out
    }

    /// The layout of a line on disk: Python's `json.dumps(v, ensure_ascii=False)`, keys in
    /// insertion order with `", "` and `": "` separators.
    pub fn to_line_json(&self) -> String {
        let mut out = String::new();
        canonical::write_value(&mut out, self, canonical::Style::Line);
        out
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer as `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => i.as_i64(),
            _ => None,
        }
    }

    /// The integer as `u64`, if this is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Int(i) => i.as_u64(),
            _ => None,
        }
    }

    /// The number as `f64` (integers converted), if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            Self::Int(i) => i.to_string().parse().ok(),
            _ => None,
        }
    }

    /// The map, if this is an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Self::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Self]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// `value[key]` for an object, `None` otherwise.
    pub fn get(&self, key: &str) -> Option<&Self> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl fmt::Display for Value {
    /// Formats the value in the line layout.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line_json())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Self::Float(f64::from(v))
    }
}

impl From<Integer> for Value {
    fn from(v: Integer) -> Self {
        Self::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::String(v.clone())
    }
}

impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Self::Object(v)
    }
}

impl<T: Into<Self>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Self::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Self>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

impl From<()> for Value {
    fn from((): ()) -> Self {
        Self::Null
    }
}

impl From<serde_json::Value> for Value {
    /// Converts a `serde_json` value. Integers stay integers and floats stay floats, so
    /// `json!(1)` hashes as `1` and `json!(1.0)` as `1.0`.
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Self::from(i)
                } else if let Some(u) = n.as_u64() {
                    Self::from(u)
                } else {
                    Self::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Self::String(s),
            serde_json::Value::Array(a) => Self::Array(a.into_iter().map(Self::from).collect()),
            serde_json::Value::Object(o) => {
                Self::Object(o.into_iter().map(|(k, v)| (k, Self::from(v))).collect())
            }
        }
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for Value {
    fn from(o: serde_json::Map<String, serde_json::Value>) -> Self {
        Self::from(serde_json::Value::Object(o))
    }
}

impl From<&Value> for serde_json::Value {
    /// Converts to `serde_json`. Lossy where `serde_json` cannot follow: integers beyond
    /// `u64`/`i64` become strings of their digits, non-finite floats become `null`.
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Int(i) => match (i.as_i64(), i.as_u64()) {
                (Some(n), _) => Self::from(n),
                (None, Some(n)) => Self::from(n),
                (None, None) => Self::String(i.to_string()),
            },
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Self::Null, Self::Number),
            Value::String(s) => Self::String(s.clone()),
            Value::Array(a) => Self::Array(a.iter().map(Self::from).collect()),
            Value::Object(m) => Self::Object(
                m.iter()
                    .map(|(k, v)| (k.to_owned(), Self::from(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_from_str_normalizes() {
        assert_eq!("-0".parse::<Integer>().unwrap().to_string(), "0");
        assert_eq!("007".parse::<Integer>().unwrap().to_string(), "7");
        assert_eq!(
            "-000123456789012345678901234567890"
                .parse::<Integer>()
                .unwrap()
                .to_string(),
            "-123456789012345678901234567890"
        );
        assert!("".parse::<Integer>().is_err());
        assert!("1.0".parse::<Integer>().is_err());
        assert!("-".parse::<Integer>().is_err());
    }

    #[test]
    fn integer_widths() {
        assert_eq!(Integer::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Integer::from(u64::MAX).as_u64(), Some(u64::MAX));
        assert_eq!(Integer::from(u64::MAX).as_i64(), None);
        assert_eq!(
            Integer::from(i128::MIN).to_string(),
            "-170141183460469231731687303715884105728"
        );
    }

    #[test]
    fn map_keeps_first_position_last_value() {
        let m: Map = [("x", 1), ("y", 2), ("x", 3)].into_iter().collect();
        assert_eq!(Value::from(m).to_line_json(), r#"{"x": 3, "y": 2}"#);
    }

    #[test]
    fn serde_json_conversion_keeps_number_kinds_and_order() {
        let v = Value::from(serde_json::json!({"z": 1, "a": 1.0, "big": u64::MAX, "n": null}));
        assert_eq!(
            v.to_line_json(),
            r#"{"z": 1, "a": 1.0, "big": 18446744073709551615, "n": null}"#
        );
        assert_eq!(
            v.to_canonical(),
            r#"{"a":1.0,"big":18446744073709551615,"n":null,"z":1}"#
        );
        let back = serde_json::Value::from(&v);
        assert_eq!(back["big"], serde_json::json!(u64::MAX));
    }
}

//! JSON as the `acttrace-chain/1` format reads and hashes it: a value model that keeps what the
//! hash depends on ([`Value`]: exact big integers, `1` apart from `1.0`, non-finite floats, keys
//! in insertion order), a parser that reads what Python's `json.loads` reads and nothing else,
//! and the canonical form Python's `json.dumps(v, sort_keys=True, ensure_ascii=False,
//! separators=(",", ":"))` writes.
//!
//! Knows nothing of entries or chains; everything else builds on it.

pub(crate) mod canonical;
pub(crate) mod parse;
pub(crate) mod value;

pub use self::parse::JsonError;
pub use self::value::{Integer, Map, ParseIntegerError, Value};

/// The canonical (hashed) form of a value: Python's
/// `json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.
///
/// ```
/// use acttrace::json::{Value, canonical_json};
///
/// let v = Value::from(serde_json::json!({"b": [1.0, 1e16, 1e-7], "a": "é\n"}));
/// assert_eq!(canonical_json(&v), r#"{"a":"é\n","b":[1.0,1e+16,1e-07]}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    value.to_canonical()
}

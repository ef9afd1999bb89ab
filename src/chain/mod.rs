//! The `acttrace-chain/1` format: entries, canonical JSON, SHA-256 chaining, HMAC signatures,
//! the single writer, the file store and offline verification.
//!
//! This module depends on nothing else in the crate; the layers and the client only hand it
//! [`Entry`] values through an [`AuditLog`].
//!
//! # The format
//!
//! One JSON object per line:
//!
//! ```text
//! {"seq": 1, "ts": "2026-01-01T00:00:00.001001+00:00", "type": "decision", "payload": {...}, "prev_hash": "4f98…", "hash": "9ebd…", "sig": ""}
//! ```
//!
//! `hash = hex(sha256(prev_hash + canonical({"payload", "seq", "ts", "type"})))`, where
//! `canonical` is Python's `json.dumps(x, sort_keys=True, ensure_ascii=False,
//! separators=(",", ":"))`, and `sig` is the HMAC-SHA256 of `hash` under the signing key (empty
//! when unsigned). Editing, reordering, inserting or deleting any entry breaks the chain from
//! that point; cutting the tail needs an expected head or count to detect (see [`verify`]).
//!
//! Lines are written byte-identical to the Python reference implementation (`cendor-acttrace`),
//! so logs move between the two in both directions.
//!
//! # Example
//!
//! ```
//! use acttrace::chain::{AuditLog, DecisionId, Entry, PolicyFlag, verify_path, VerifyOptions};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("acttrace-mod-doc-{}", std::process::id()));
//! # let path = dir.join("audit.jsonl");
//! let log = AuditLog::builder("support-agent")
//!     .signing_key("a-secret-from-your-vault")
//!     .open(&path)
//!     .await?;
//! let id = DecisionId::random();
//! log.append(Entry::decision(&id, "refund request #881", "support-agent")).await?;
//! log.append(Entry::policy_flag(PolicyFlag::new("card number in input").decision(&id).action("redacted"))).await?;
//! let head = log.head();
//! log.shutdown().await?;
//!
//! let opts = VerifyOptions::new()
//!     .key("a-secret-from-your-vault".into())
//!     .expected_head(head.hash)
//!     .expected_entries(head.entries);
//! assert!(verify_path(&path, &opts).is_ok());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

mod canonical;
#[cfg(feature = "ed25519")]
pub mod checkpoint;
pub mod detect;
mod entry;
mod error;
pub mod export;
mod files;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzz;
mod hash;
mod outage;
mod parse;
pub mod redact;
mod store;
pub mod summary;
mod time;
mod value;
pub mod verify;
mod writer;

#[cfg(feature = "client")]
pub(crate) use self::canonical::plain_decimal;
pub use self::entry::{
    DecisionId, Entry, LlmCall, ParseDecisionIdError, PolicyFlag, Receipt, Usage,
};
pub use self::error::Error;
pub use self::export::{ExportError, ExportOptions, ExportReport, Framework, export_log};
#[cfg(feature = "server")]
pub(crate) use self::hash::sha256_hex;
pub use self::hash::{GENESIS, SigningKey};
pub use self::outage::Health;
pub use self::parse::JsonError;
#[cfg(feature = "client")]
pub(crate) use self::parse::{Node, Tape, Tok};
pub use self::redact::{Action, Detection, RedactionPolicy};
pub use self::store::{Fork, OnCorrupt, Recovery};
pub use self::summary::{Costs, DecisionSummary, ModelTotals, Summary};
pub use self::time::{Clock, SteppingClock, SystemClock, format_timestamp};
pub use self::value::{Integer, Map, ParseIntegerError, Value};
pub use self::verify::{Failure, Report, VerifyOptions, verify_path, verify_reader};
pub use self::writer::{AuditLog, AuditLogBuilder, Durability, Head};

/// The format name written into every new chain's `audit_open` entry.
pub const FORMAT: &str = "acttrace-chain/1";

/// The `producer` written into every new chain's `audit_open` entry.
pub const PRODUCER: &str = concat!("acttrace-rs/", env!("CARGO_PKG_VERSION"));

/// The canonical (hashed) form of a value: Python's
/// `json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.
///
/// ```
/// use acttrace::chain::{canonical_json, Value};
///
/// let v = Value::from(serde_json::json!({"b": [1.0, 1e16, 1e-7], "a": "é\n"}));
/// assert_eq!(canonical_json(&v), r#"{"a":"é\n","b":[1.0,1e+16,1e-07]}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    value.to_canonical()
}

/// The hash of one entry: `hex(sha256(prev_hash + canonical({payload, seq, ts, type})))`.
///
/// ```
/// use acttrace::chain::{GENESIS, Map, entry_hash};
///
/// let mut payload = Map::new();
/// payload.insert("system", "minimal");
/// payload.insert("risk_tier", "limited");
/// payload.insert("format", "acttrace-chain/1");
/// payload.insert("producer", "cendor-acttrace/1.14.0");
/// let h = entry_hash(GENESIS, 0, "2026-01-01T00:00:00+00:00", "audit_open", &payload);
/// assert_eq!(h, "80f82f42bef649a1d8dd882d9304139bc1eb2b6a7f797b5eeeff7caa0eed7dd1");
/// ```
pub fn entry_hash(prev_hash: &str, seq: u64, ts: &str, kind: &str, payload: &Map) -> String {
    let mut body = String::new();
    hash::write_body(&mut body, seq, ts, kind, payload);
    hash::link_hash(prev_hash, &body)
}

//! The `acttrace-chain/1` format: what an entry is, its line, its hash and signature, the time
//! stamps, the evidence-pack format, signed checkpoints and the Merkle tree's hashes.
//!
//! Uses only [`json`](crate::json). Everything that writes, reads or checks chains builds on
//! it: [`store`](crate::store) writes them, [`verify`](crate::verify) checks them,
//! [`evidence`](crate::evidence) makes packs of them; the layers and the client only hand
//! [`Entry`] values to an [`AuditLog`](crate::store::AuditLog).
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
//! that point; cutting the tail needs an expected head or count to detect (see
//! [`verify`](crate::verify)).
//!
//! Lines are written byte-identical to the Python reference implementation (`cendor-acttrace`),
//! so logs move between the two in both directions.
//!
//! # Example
//!
//! ```
//! use acttrace::chain::{DecisionId, Entry, PolicyFlag};
//! use acttrace::store::AuditLog;
//! use acttrace::verify::{VerifyOptions, verify_path};
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

#[cfg(feature = "ed25519")]
pub mod checkpoint;
pub(crate) mod entry;
pub(crate) mod hash;
pub(crate) mod line;
pub(crate) mod merkle;
pub(crate) mod pack;
pub(crate) mod time;

pub use self::entry::{
    DecisionId, Entry, LlmCall, ParseDecisionIdError, PolicyFlag, Receipt, Usage,
};
pub use self::hash::{GENESIS, SigningKey};
pub use self::pack::{Framework, UnknownFramework};
pub use self::time::{Clock, SteppingClock, SystemClock, format_timestamp, parse_timestamp};

/// The format name written into every new chain's `audit_open` entry.
pub const FORMAT: &str = "acttrace-chain/1";

/// The `producer` written into every new chain's `audit_open` entry.
pub const PRODUCER: &str = concat!("acttrace-rs/", env!("CARGO_PKG_VERSION"));

/// The hash of one entry: `hex(sha256(prev_hash + canonical({payload, seq, ts, type})))`.
///
/// ```
/// use acttrace::chain::{GENESIS, entry_hash};
/// use acttrace::json::Map;
///
/// let mut payload = Map::new();
/// payload.insert("system", "minimal");
/// payload.insert("risk_tier", "limited");
/// payload.insert("format", "acttrace-chain/1");
/// payload.insert("producer", "cendor-acttrace/1.14.0");
/// let h = entry_hash(GENESIS, 0, "2026-01-01T00:00:00+00:00", "audit_open", &payload);
/// assert_eq!(h, "80f82f42bef649a1d8dd882d9304139bc1eb2b6a7f797b5eeeff7caa0eed7dd1");
/// ```
pub fn entry_hash(
    prev_hash: &str,
    seq: u64,
    ts: &str,
    kind: &str,
    payload: &crate::json::Map,
) -> String {
    let mut body = String::new();
    hash::write_body(&mut body, seq, ts, kind, payload);
    hash::link_hash(prev_hash, &body)
}

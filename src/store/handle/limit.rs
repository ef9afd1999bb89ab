//! What an entry may be: at most [`MAX_ENTRY_BYTES`] laid out (or the less that
//! [`AuditLogBuilder::max_entry_bytes`] sets), so that every line of the log stays one a
//! verifier reads; a larger one is refused, reported and counted.
//!
//! Uses the handle's shared state and the store's errors.

use std::sync::atomic::Ordering;

use super::{AuditLogBuilder, Error, Rendered, Shared};

/// The most bytes an entry's type and payload may take, laid out: with the other fields, its
/// line stays within [`DEFAULT_MAX_LINE_BYTES`](crate::verify::DEFAULT_MAX_LINE_BYTES), the
/// longest line a verifier (and a writer reopening the log) reads.
pub const MAX_ENTRY_BYTES: usize = crate::verify::DEFAULT_MAX_LINE_BYTES - 4096;

/// Whether a laid-out entry fits in the log. One that does not is reported and refused, and
/// counted: as refused when its caller is `told` (an error), else as lost (in a `gap`).
pub(in crate::store) fn fits(shared: &Shared, entry: &Rendered, told: bool) -> Result<(), Error> {
    let bytes = entry.kind().len() + entry.line().len();
    if bytes <= shared.max_entry {
        return Ok(());
    }
    match told {
        true => shared.health.count(0, 1),
        false => _ = shared.dropped.fetch_add(1, Ordering::Relaxed),
    }
    let kind = crate::store::outage::kind_name(entry.kind());
    tracing::error!(
        target: "acttrace",
        kind = %kind,
        bytes,
        limit = shared.max_entry,
        "audit entry too large: not recorded"
    );
    Err(Error::TooLarge {
        kind,
        bytes,
        limit: shared.max_entry,
    })
}

impl AuditLogBuilder {
    /// The most bytes an entry's type and payload may take in the log, laid out. A larger
    /// entry is refused, instead of being written where verifiers would refuse to read it:
    /// [`Error::TooLarge`] from [`AuditLog::append`](super::AuditLog::append) and [`AuditLog::enqueue`](super::AuditLog::enqueue) (counted as
    /// refused in [`Health`](crate::store::Health)), `false` from [`AuditLog::try_record`](super::AuditLog::try_record) (counted
    /// as lost, and recorded in a `gap` entry); each is reported at error level. Defaults to
    /// [`MAX_ENTRY_BYTES`], which it cannot exceed.
    ///
    /// ```
    /// use acttrace::chain::Entry;
    /// use acttrace::json::Map;
    /// use acttrace::store::{AuditLog, Error};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// # let path = std::env::temp_dir().join(format!("acttrace-doc-max-{}.jsonl", std::process::id()));
    /// let log = AuditLog::builder("loan-triage").max_entry_bytes(64 * 1024).open(&path).await?;
    /// let mut payload = Map::new();
    /// payload.insert("document", "x".repeat(100_000));
    /// match log.append(Entry::new("upload", payload)).await {
    ///     Err(Error::TooLarge { kind, bytes, limit }) => assert!(kind == "upload" && bytes > limit),
    ///     other => panic!("{other:?}"),
    /// }
    /// # log.shutdown().await?;
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok(()) }
    /// ```
    pub fn max_entry_bytes(mut self, bytes: usize) -> Self {
        self.max_entry = bytes.min(MAX_ENTRY_BYTES);
        self
    }
}

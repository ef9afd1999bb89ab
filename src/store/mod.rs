//! Where the chain is written: the shared [`AuditLog`] handle and the single writer thread
//! behind it (group commit, one sync per batch, the chain's `seq`, time and links assigned in
//! one place), the file store it writes through (lock, re-walk and repair on opening, the file
//! checked around every batch), and what happens when the log cannot take writes ([`Health`],
//! recovery, the `write_failure` record).
//!
//! Uses the format ([`chain`](crate::chain)), redaction ([`redact`](crate::redact)) and the
//! verifier's line walk ([`verify`](crate::verify)) to check a file it opens.

mod buffers;
mod error;
pub(crate) mod file;
mod handle;
#[cfg(any(feature = "ed25519", feature = "postgres"))]
mod opening;
pub(crate) mod outage;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
mod redaction;
#[cfg(feature = "ed25519")]
pub(crate) mod retention;
#[cfg(feature = "ed25519")]
pub(crate) mod segments;
mod writer;

pub use self::error::Error;

use std::path::Path;

use self::outage::Reopen;

/// What the writer asks of the place the chain is kept.
///
/// The writer owns the chain's state (the next `seq`, the head, the count) and lays every batch
/// out against it; a store keeps the lines, makes them durable, checks that it is still the one
/// being written to, and takes back what a failed batch left. The file store
/// ([`file::FileStore`]) is the embedded default; a database store implements the same four
/// steps with a transaction.
pub(crate) trait Store: Send + 'static {
    /// Makes the store this writer's for the next batch. A store other writers append to (a
    /// database) locks the chain and gives its head, after which the batch is laid out; the
    /// file, this writer's alone, gives `None`. Every `begin` is ended by an
    /// [`append`](Self::append) (of nothing, if the batch is empty) or an
    /// [`undo`](Self::undo).
    fn begin(&mut self) -> Result<Option<ChainHead>, Fault> {
        Ok(None)
    }

    /// Appends a batch of whole lines after everything acknowledged before, durable when
    /// `sync`, and checks that the store still holds exactly what this writer wrote. Nothing of
    /// a batch that fails may be acknowledged.
    fn append(&mut self, lines: &[u8], sync: bool) -> Result<(), Fault>;

    /// Takes back what a failed [`append`](Self::append) left, where the store is this
    /// writer's to cut (the fault says). Says what must happen before the next append.
    fn undo(&mut self, fault: &Fault) -> Reopen;

    /// Reopens the store after a failure that left it in doubt, and checks that it holds
    /// exactly the chain the writer had: `entries` entries ending at `head` (cutting off this
    /// writer's own unacknowledged lines first when `cut`).
    fn reopen(&mut self, entries: u64, head: &str, cut: bool) -> Result<(), String>;

    /// How far the store reaches once everything acknowledged is in it: a file's length, up to
    /// which an export reads.
    fn extent(&self) -> u64;

    /// What the store is, for messages: a file's path.
    fn location(&self) -> &Path;
}

/// A shared chain's head as the store holds it, locked for one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub(crate) entries: u64,
    pub(crate) next_seq: u64,
    pub(crate) head: String,
}

/// Why a batch was not stored: an I/O error, or a store that is no longer the writer's alone.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Writing or syncing failed.
    Io(std::io::Error),
    /// Someone else wrote to the store: nothing in it may be cut.
    Foreign(String),
    /// The store is no longer where it was (a file moved or replaced): what was written went to
    /// this writer's own copy, wherever it now is, and may be cut from it.
    Moved(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => e.fmt(f),
            Self::Foreign(why) | Self::Moved(why) => f.write_str(why),
        }
    }
}
pub use self::file::{Fork, OnCorrupt, Recovery};
#[cfg(feature = "ed25519")]
pub(crate) use self::handle::WeakAuditLog;
pub use self::handle::{
    AuditLog, AuditLogBuilder, DEFAULT_CAPACITY, Durability, Head, MAX_ENTRY_BYTES,
};
pub use self::outage::Health;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use self::retention::retain;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use self::segments::Segments;

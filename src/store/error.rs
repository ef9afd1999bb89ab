//! Errors of the chain writer.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// What can go wrong opening or appending to an audit log.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, read, locked or repaired.
    #[error("cannot open audit log {path}: {source}")]
    Open {
        /// The log's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The existing file does not verify; it is left untouched.
    #[error(
        "refusing to continue {path}: the existing chain does not verify ({detail}); move the file \
         aside or open with OnCorrupt::StartNewChain to keep it and start a new chain beside it"
    )]
    Corrupt {
        /// The log's path.
        path: PathBuf,
        /// The verifier's finding.
        detail: String,
    },
    /// Two writers appended to the file, one of them ignoring the lock (such as the Python
    /// reference's writer), and the chain parts in two at [`Fork`](super::Fork). The file is
    /// left untouched, both writers' entries in it. To go on, keep it as evidence and start a
    /// new chain ([`OnCorrupt::StartNewChain`](super::OnCorrupt::StartNewChain) sets it aside
    /// and records why), and stop the other writer.
    #[error("refusing to continue {path}: {fork}")]
    Forked {
        /// The log's path.
        path: PathBuf,
        /// Where the two chains part.
        fork: crate::store::file::Fork,
    },
    /// The file is an evidence pack (it has a `_meta` header), which is read-only.
    #[error("{path} is an evidence pack, not an appendable audit log")]
    NotALog {
        /// The file's path.
        path: PathBuf,
    },
    /// The log is signed but no signing key was given.
    #[error("{path} is signed: open it with its signing key")]
    KeyRequired {
        /// The log's path.
        path: PathBuf,
    },
    /// The signing key does not match the existing entries' signatures.
    #[error("the signing key does not match {path} (bad signature at seq {seq})")]
    WrongKey {
        /// The log's path.
        path: PathBuf,
        /// The first entry whose signature does not match.
        seq: String,
    },
    /// A signing key was given for a log whose entries are unsigned; continuing would mix
    /// signed and unsigned entries into a chain no key can verify.
    #[error("{path} has unsigned entries (seq {seq}): refusing to continue it with a signing key")]
    UnexpectedKey {
        /// The log's path.
        path: PathBuf,
        /// The first unsigned entry.
        seq: String,
    },
    /// Another writer holds the log's lock.
    #[error("{path} is already being written by another writer (it holds the file lock)")]
    Locked {
        /// The log's path.
        path: PathBuf,
    },
    /// Writing or syncing failed. Nothing of the failed batch is in the chain: the head did not
    /// advance, and the next entry links to the last entry on disk.
    #[error("audit entry not recorded: {0}")]
    Write(#[source] Arc<io::Error>),
    /// The log cannot take writes until the writer has reopened and re-checked its file: an
    /// earlier write failed and could not be cut back, or the file at the path is no longer
    /// the one the writer wrote (replaced, moved, deleted, or appended to by another process).
    /// The writer retries by itself and resumes once the file is its own again and ends at the
    /// last acknowledged entry; see [`AuditLog::health`](super::AuditLog::health).
    #[error("audit log {path} cannot take writes: {reason}")]
    Unavailable {
        /// The log's path.
        path: PathBuf,
        /// Why, as the writer last found it.
        reason: String,
    },
    /// The entry is larger than the log takes
    /// ([`AuditLogBuilder::max_entry_bytes`](super::AuditLogBuilder::max_entry_bytes)): laid
    /// out, its line would be longer than a verifier reads. It is not in the chain, and is
    /// counted as refused in [`Health`](super::Health).
    #[error(
        "audit entry not recorded: a {kind} entry of {bytes} bytes is over the log's limit of \
         {limit} bytes an entry"
    )]
    TooLarge {
        /// The entry's type.
        kind: String,
        /// Its payload's length, laid out.
        bytes: usize,
        /// The log's limit.
        limit: usize,
    },
    /// The writer has shut down.
    #[error("the audit writer has shut down")]
    WriterClosed,
    /// The signing key given is empty: a key read from an unset variable or an unwritten
    /// file. Signing under it would vouch for nothing, so the log is not opened.
    #[error("the signing key is empty: refusing to sign {path} with it")]
    EmptyKey {
        /// The log's path (or the database's location).
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn open(path: &std::path::Path, source: io::Error) -> Self {
        Self::Open {
            path: path.to_owned(),
            source: Arc::new(source),
        }
    }
}

//! Where the chain is written: the shared [`AuditLog`] handle and the single writer thread
//! behind it (group commit, one sync per batch, the chain's `seq`, time and links assigned in
//! one place), the file store it writes through (lock, re-walk and repair on opening, the file
//! checked around every batch), and what happens when the log cannot take writes ([`Health`],
//! recovery, the `write_failure` record).
//!
//! Uses the format ([`chain`](crate::chain)), redaction ([`redact`](crate::redact)) and the
//! verifier's line walk ([`verify`](crate::verify)) to check a file it opens.

mod error;
pub(crate) mod file;
mod handle;
mod outage;
mod redaction;
mod writer;

pub use self::error::Error;
pub use self::file::{Fork, OnCorrupt, Recovery};
pub use self::handle::{AuditLog, AuditLogBuilder, Durability, Head};
pub use self::outage::Health;

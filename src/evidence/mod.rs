//! What an auditor is handed: the HTML report ([`report`]) of a whole log or a [`period`], evidence packs ([`export`]: the chain annotated with a
//! framework's controls under a signed header), the summaries `acttrace show` and `stats`
//! print ([`summary`]), and Merkle proofs over the chain ([`proof`]: RFC 9162 inclusion and
//! consistency, checked without the log), their signed tree heads ([`note`]: C2SP
//! `tlog-checkpoint` in a `signed-note`, with the `ed25519` feature), and the heads a running
//! log publishes every `N` entries or `T` seconds ([`publish`]), with RFC 3161 trusted time for
//! them ([`timestamp`], with the `rfc3161` feature).
//!
//! Uses the format, the verifier and the store (a pack of a running log is a snapshot the
//! writer syncs for it).

mod answers;
pub mod export;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub mod note;
pub mod period;
pub mod proof;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub mod publish;
pub mod report;
mod source;
pub mod summary;
#[cfg(feature = "rfc3161")]
#[cfg_attr(docsrs, doc(cfg(feature = "rfc3161")))]
pub mod timestamp;

pub use self::export::{ExportError, ExportOptions, ExportReport, export_log};
pub use self::period::{Period, PeriodError};
pub use self::summary::{Costs, DecisionSummary, FailedCall, ModelTotals, Review, Summary};

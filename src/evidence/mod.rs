//! What an auditor is handed: evidence packs ([`export`]: the chain annotated with a
//! framework's controls under a signed header) and the summaries `acttrace show` and `stats`
//! print ([`summary`]).
//!
//! Uses the format, the verifier and the store (a pack of a running log is a snapshot the
//! writer syncs for it).

pub mod export;
pub mod summary;

pub use self::export::{ExportError, ExportOptions, ExportReport, export_log};
pub use self::summary::{Costs, DecisionSummary, FailedCall, ModelTotals, Summary};

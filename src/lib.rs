//! Tamper-evident, hash-chained audit logs for AI services.
//!
//! `acttrace` records every decision an AI service makes (which model was called, with what
//! usage and cost, which tools ran, who reviewed the outcome, which requests a policy blocked)
//! in an append-only file where each entry carries the SHA-256 of the one before it. An auditor
//! checks the file offline with `acttrace verify`; editing, reordering or deleting any entry is
//! detected.
//!
//! The file format is the public `acttrace-chain/1`: logs written here verify in the Python
//! reference implementation (`cendor-acttrace`), and theirs verify here.
//!
//! # Overview
//!
//! - [`json`]: the JSON the format hashes (Python-exact parsing and canonical form).
//! - [`chain`]: the `acttrace-chain/1` format: entries, hashes, signatures, pack format,
//!   checkpoints.
//! - [`redact`]: detectors for secrets and personal data, and redaction policies.
//! - [`store`]: the shared [`AuditLog`] handle, its writer (group commit), the file store, and
//!   what happens when the log cannot take writes.
//! - [`verify`]: offline verification, streaming and on every core.
//! - [`evidence`]: evidence packs and the summaries `acttrace show`/`stats` print.
//! - [`decision`]: the decision a piece of work belongs to, current through a task-local.
//! - `layer` (feature `server`): `AuditLayer` opens a decision per request; `GuardLayer` blocks
//!   or flags requests by policy, recording the flag before it answers.
//! - `client` (feature `client`): `AuditMiddleware` records every model call made through a
//!   reqwest client: provider, model, usage, cost, latency, streams included.
//!
//! # Example
//!
//! ```
//! use acttrace::AuditLog;
//! use acttrace::chain::{DecisionId, Entry};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
//! # let path = std::env::temp_dir().join(format!("acttrace-lib-doc-{}.jsonl", std::process::id()));
//! let log = AuditLog::open("loan-approval", &path).await?;
//! let id = DecisionId::random();
//! log.append(Entry::decision(&id, "application A-17", "scoring-agent")).await?;
//! log.append(Entry::human_oversight(&id, "reviewer-42", "approved", "")).await?;
//! log.shutdown().await?;
//! # std::fs::remove_file(&path)?;
//! # Ok(()) }
//! ```
//!
//! # Feature flags
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `server` | [`layer`]: `AuditLayer` and `GuardLayer` for tower/axum, the `Decision` extractor | yes |
//! | `client` | [`client`]: `AuditMiddleware` for reqwest-middleware | yes |
//! | `cli` | the `acttrace` command-line tool | no |

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod base64;
pub(crate) mod blocking;
pub mod chain;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod decision;
pub mod evidence;
pub(crate) mod files;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzz;
pub mod json;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod layer;
pub mod redact;
pub mod store;
pub mod verify;

/// The README's code blocks, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[doc(inline)]
pub use chain::Entry;
#[doc(inline)]
pub use store::AuditLog;

/// A type-erased error, as tower and the layers use it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

//! Middleware that checks each request against a policy before it reaches its handler.
//!
//! [`GuardLayer`] reads the request body (up to a limit), shows the request to a [`Policy`],
//! and acts on its [`Verdict`]:
//!
//! - **allow**: the request goes on, the body intact;
//! - **flag**: a `policy_flag` entry (action `flagged`) is written and made durable, then the
//!   request goes on;
//! - **block**: a `policy_flag` entry (action `blocked`, reason, severity, categories, the
//!   decision it belongs to) is written and made durable *before* anything is answered; the
//!   handler never runs; the client gets 403 (configurable) and a JSON body naming the reason.
//!
//! If the flag cannot be written, the request is refused with 503: the guard fails closed.
//!
//! A body of 32 KiB or more is checked on tokio's blocking pool (`spawn_blocking`), not on the
//! request's task: reading a large body through every detector takes milliseconds, which would
//! otherwise hold a runtime worker and the requests queued on it. Smaller bodies are checked in
//! place, where a hand-off would cost more than the check.
//!
//! Put [`AuditLayer`](crate::layer::AuditLayer) outside the guard (in axum, the later
//! `.layer(..)` call) so that blocked requests are decisions of their own and their flags carry
//! the decision id.
//!
//! # Example
//!
//! ```
//! use acttrace::store::AuditLog;
//! use acttrace::layer::{AuditLayer, GuardLayer, guard::policy};
//! use axum::{Router, routing::post};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
//! # let path = std::env::temp_dir().join(format!("acttrace-guard-doc-{}.jsonl", std::process::id()));
//! let log = AuditLog::open("loan-triage", &path).await?;
//! let app = Router::new()
//!     .route("/agent/triage", post(|| async { "ran" }))
//!     .layer(GuardLayer::new(log.clone(), (policy::secrets(), policy::max_body_bytes(64 * 1024))))
//!     .layer(AuditLayer::new(log.clone()));
//!
//! let req = http::Request::post("/agent/triage")
//!     .body(axum::body::Body::from("my key is sk-proj-0123456789abcdefghijklmn"))?;
//! let res = app.oneshot(req).await?;
//! assert_eq!(res.status(), 403); // and the flag is already on disk
//! # drop(res);
//! # log.shutdown().await?;
//! # assert!(std::fs::read_to_string(&path)?.contains("\"blocked\""));
//! # std::fs::remove_file(&path)?;
//! # Ok(()) }
//! ```
//!
//! A closure is a policy; tuples and `Vec`s of policies give the strongest verdict:
//!
//! ```
//! use acttrace::layer::guard::{Finding, GuardRequest, Verdict, policy};
//!
//! let no_deletes = |req: &GuardRequest<'_>| {
//!     if req.method() == http::Method::DELETE {
//!         Verdict::Block(Finding::new("deletes are not automated").severity("critical"))
//!     } else {
//!         Verdict::Allow
//!     }
//! };
//! let combined = (no_deletes, policy::secrets(), policy::personal_data());
//! # fn takes(_: impl acttrace::layer::guard::Policy) {}
//! # takes(combined);
//! ```

pub(crate) mod decode;
pub mod policy;
mod service;

pub use self::policy::{Finding, GuardRequest, Policy, Verdict};
pub use self::service::{Guard, GuardLayer, ResponseFuture};

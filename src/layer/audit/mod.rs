//! Middleware that opens an audit decision for each request.
//!
//! For every request it lets through its filter, [`AuditLayer`]:
//!
//! 1. reads the request body (up to a limit) and summarizes it with a [`Summarize`]r, by
//!    default [`BodyDigest`]: a SHA-256 and a length, never the raw body, never a header;
//! 2. queues a `decision` entry `{decision_id, input, actor, method, route}`;
//! 3. runs the handler with the [`Decision`](crate::decision::Decision) current (a tokio
//!    task-local, also put in the request's extensions), so everything recorded inside it, the
//!    audited client's `llm_call`s included, carries the decision's id;
//! 4. writes a `decision_end` entry `{decision_id, status, latency_ms, outcome}` when the
//!    response body has been sent, or when the handler fails, panics, or the client goes away.
//!
//! The entries are queued in order without waiting for the disk: the layer adds no sync to a
//! request. Use [`AuditLayer::durable`] to wait until the `decision` entry is on disk before the
//! handler runs, refusing the request with 503 when it cannot be written.
//!
//! # Example
//!
//! ```
//! use acttrace::json::Map;
//! use acttrace::store::AuditLog;
//! use acttrace::decision::Decision;
//! use acttrace::layer::AuditLayer;
//! use axum::{Router, routing::post};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
//! # let path = std::env::temp_dir().join(format!("acttrace-audit-doc-{}.jsonl", std::process::id()));
//! let log = AuditLog::open("loan-triage", &path).await?;
//!
//! async fn triage(decision: Decision, body: String) -> &'static str {
//!     let mut outcome = Map::new();
//!     outcome.insert("outcome", if body.contains("income") { "approved" } else { "declined" });
//!     decision.record(outcome).await.ok();
//!     "done"
//! }
//!
//! let app = Router::new()
//!     .route("/agent/triage", post(triage))
//!     .layer(AuditLayer::new(log.clone()).actor("triage-agent"));
//!
//! let res = app
//!     .oneshot(http::Request::post("/agent/triage").body(axum::body::Body::from("income: 52000"))?)
//!     .await?;
//! assert_eq!(res.status(), 200);
//! # drop(res);
//! # log.shutdown().await?;
//! # let text = std::fs::read_to_string(&path)?;
//! # assert!(text.contains("\"decision_end\""));
//! # std::fs::remove_file(&path)?;
//! # Ok(()) }
//! ```

mod body;
mod service;
mod summarize;

pub use self::body::AuditBody;
pub use self::service::{Audit, AuditLayer, ResponseFuture};
pub use self::summarize::{BodyDigest, Summarize};

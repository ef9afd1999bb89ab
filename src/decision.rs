//! The decision a piece of work belongs to, and how code finds it.
//!
//! [`AuditLayer`](crate::layer::AuditLayer) opens a decision for each request and makes it the
//! *current* decision for everything the handler does, through a tokio task-local. Anything
//! recorded while it is current (a `decision_record`, a flag, a model call made through the
//! audited client) carries its id, with no wiring.
//!
//! Task-locals do not follow `tokio::spawn`: carry the decision into spawned work with
//! [`Decision::scope`] (or [`bind`], which captures the current one).
//!
//! ```
//! use acttrace::chain::DecisionId;
//! use acttrace::json::Map;
//! use acttrace::store::AuditLog;
//! use acttrace::decision::{self, Decision};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
//! # let path = std::env::temp_dir().join(format!("acttrace-decision-doc-{}.jsonl", std::process::id()));
//! let log = AuditLog::open("support", &path).await?;
//! let d = Decision::for_id(log.clone(), DecisionId::random());
//!
//! d.clone().scope(async {
//!     // Deep inside the work, no handle passed around:
//!     let current = Decision::current().expect("inside the scope");
//!     let mut fields = Map::new();
//!     fields.insert("outcome", "refund approved");
//!     current.record(fields).await?;
//!
//!     // Spawned work carries it explicitly.
//!     tokio::spawn(decision::bind(async {
//!         assert!(Decision::current().is_some());
//!     }))
//!     .await?;
//!     Ok::<_, acttrace::BoxError>(())
//! })
//! .await?;
//! assert!(Decision::current().is_none());
//! # log.shutdown().await?;
//! # std::fs::remove_file(&path)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::task::futures::TaskLocalFuture;

use crate::chain::{DecisionId, Entry, PolicyFlag, Receipt};
use crate::json::{Map, Value};
use crate::store::{AuditLog, Error};

tokio::task_local! {
    static CURRENT: Decision;
}

/// A handle on one decision: its id and the log it is recorded in. Cheap to clone.
#[derive(Clone)]
pub struct Decision(Arc<Inner>);

struct Inner {
    log: AuditLog,
    id: DecisionId,
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Decision").field(&self.0.id).finish()
    }
}

impl Decision {
    /// A handle on the decision `id` in `log`, e.g. a past decision a reviewer is acting on.
    ///
    /// This opens nothing: the layer writes a decision's `decision` and `decision_end`
    /// entries; this handle only records facts about it.
    pub fn for_id(log: AuditLog, id: DecisionId) -> Self {
        Self(Arc::new(Inner { log, id }))
    }

    /// The current decision, if this code runs inside one.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// The decision's id.
    pub fn id(&self) -> &DecisionId {
        &self.0.id
    }

    /// The log the decision is recorded in.
    pub fn log(&self) -> &AuditLog {
        &self.0.log
    }

    /// Records facts about the decision (model, score, outcome, …) as a `decision_record`
    /// entry, and waits until it is durable.
    ///
    /// # Errors
    ///
    /// As [`AuditLog::append`].
    pub async fn record(&self, fields: Map) -> Result<Receipt, Error> {
        self.0
            .log
            .append(Entry::decision_record(&self.0.id, fields))
            .await
    }

    /// Records that a tool ran for this decision, as a `tool_call` entry: its name and its
    /// arguments (redacted by the log's policy, as every entry is). The auditor's report sets
    /// each tool recorded as run beside the model calls that offered it and asked for it, and
    /// names a tool asked for more often than recorded as run.
    ///
    /// ```
    /// use acttrace::chain::DecisionId;
    /// use acttrace::decision::Decision;
    /// use acttrace::json::{Map, Value};
    /// use acttrace::store::AuditLog;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
    /// # let path = std::env::temp_dir().join(format!("acttrace-tool-doc-{}.jsonl", std::process::id()));
    /// let log = AuditLog::open("lending", &path).await?;
    /// let decision = Decision::for_id(log.clone(), DecisionId::random());
    /// let mut arguments = Map::new();
    /// arguments.insert("applicant", "A-17");
    /// decision.tool_call("credit_score", Value::Object(arguments)).await?;
    /// # log.shutdown().await?;
    /// # assert!(std::fs::read_to_string(&path)?.contains(r#""type": "tool_call""#));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`AuditLog::append`].
    pub async fn tool_call(&self, name: &str, arguments: Value) -> Result<Receipt, Error> {
        self.0
            .log
            .append(Entry::tool_call(Some(&self.0.id), name, arguments))
            .await
    }

    /// Records that a person reviewed the decision (EU AI Act Art. 14): who, what they did
    /// (`approved`, `overridden`, …) and a note.
    ///
    /// # Errors
    ///
    /// As [`AuditLog::append`].
    pub async fn human_oversight(
        &self,
        reviewer: &str,
        action: &str,
        note: &str,
    ) -> Result<Receipt, Error> {
        self.0
            .log
            .append(Entry::human_oversight(&self.0.id, reviewer, action, note))
            .await
    }

    /// Records that a policy fired for this decision: why, what was done (`flagged`,
    /// `redacted`, `blocked`), how serious (`info`, `warning`, `critical`), and a summary or the
    /// categories of what fired (never the sensitive value itself).
    ///
    /// # Errors
    ///
    /// As [`AuditLog::append`].
    pub async fn flag(
        &self,
        reason: &str,
        action: &str,
        severity: &str,
        data: impl Into<Value>,
    ) -> Result<Receipt, Error> {
        let flag = PolicyFlag::new(reason)
            .decision(&self.0.id)
            .action(action)
            .severity(severity)
            .data(data);
        self.0.log.append(Entry::policy_flag(flag)).await
    }

    /// Runs `f` with this decision current (also across its `.await`s).
    pub fn scope<F: Future>(self, f: F) -> TaskLocalFuture<Self, F> {
        CURRENT.scope(self, f)
    }

    /// Runs `f` with this decision current.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }
}

/// Wraps `f` so that it runs in the decision current *now*, wherever it is polled later: the
/// helper for `tokio::spawn`. Outside any decision, `f` runs in none.
pub fn bind<F: Future>(f: F) -> impl Future<Output = F::Output> {
    let current = Decision::current();
    async move {
        match current {
            Some(d) => d.scope(f).await,
            None => f.await,
        }
    }
}

#[cfg(feature = "server")]
mod extract {
    use axum::extract::FromRequestParts;
    use axum::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::Decision;

    /// The rejection when a handler asks for a [`Decision`] on a route without
    /// [`AuditLayer`](crate::layer::AuditLayer).
    #[derive(Debug, Clone, Copy)]
    pub struct NoDecision;

    impl IntoResponse for NoDecision {
        fn into_response(self) -> Response {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "no audit decision for this request: is AuditLayer installed on this route?",
            )
                .into_response()
        }
    }

    /// The request's decision, as an axum extractor.
    impl<S: Send + Sync> FromRequestParts<S> for Decision {
        type Rejection = NoDecision;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            parts
                .extensions
                .get::<Self>()
                .cloned()
                .or_else(Self::current)
                .ok_or(NoDecision)
        }
    }
}

#[cfg(feature = "server")]
pub use extract::NoDecision;

//! Inbound middleware for tower and axum services.
//!
//! - [`AuditLayer`]: a decision per request, current for everything the handler does.
//! - [`GuardLayer`]: a pre-flight policy that blocks (and records the flag first) or flags.
//!
//! Both read the request body up to a limit and hand it on intact; the request body type must
//! implement [`ReplayBody`] (axum's `Body` does).
//!
//! To use both, put the guard inside the audit layer, so that a blocked request is a decision
//! of its own and its flag names it; on a `Router`, apply the two in one `layer` call with
//! `tower::ServiceBuilder` (the first layer added is the outermost), as axum recommends for
//! several layers: each `Router::layer` call wraps every route once more, which costs a
//! boxed service and future per request.
//!
//! ```
//! use acttrace::store::AuditLog;
//! use acttrace::layer::{AuditLayer, GuardLayer, guard::policy};
//! use axum::{Router, routing::post};
//! use tower::ServiceBuilder;
//!
//! fn app(log: AuditLog) -> Router {
//!     Router::new().route("/agent", post(|| async { "done" })).layer(
//!         ServiceBuilder::new()
//!             .layer(AuditLayer::new(log.clone()))
//!             .layer(GuardLayer::new(log, policy::secrets())),
//!     )
//! }
//! ```

pub mod audit;
pub mod guard;
mod input;

/// What the layers do while the audit log cannot take writes (see
/// [`AuditLog::health`](crate::store::AuditLog::health)): a full disk, a file made read-only or
/// replaced, a vanished volume.
///
/// Either way nothing is lost silently: every entry that could not be written is counted,
/// reported through `tracing` at error level, and recorded in the chain as a `write_failure`
/// entry once the log takes writes again.
///
/// ```
/// # fn f(log: acttrace::store::AuditLog) {
/// use acttrace::layer::{AuditLayer, GuardLayer, OnLogFailure, guard::policy};
///
/// // A high-risk system that must not decide without a record: refuse instead.
/// let audit = AuditLayer::new(log.clone()).on_log_failure(OnLogFailure::Refuse);
/// let guard = GuardLayer::new(log, policy::secrets()).on_log_failure(OnLogFailure::Refuse);
/// # let _ = (audit, guard); }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnLogFailure {
    /// Fail open: serve requests; the decisions they would have recorded are counted as lost
    /// and recorded afterwards. The default: an outage of the log is not an outage of the
    /// service.
    #[default]
    Serve,
    /// Fail closed: `AuditLayer` answers 503 Service Unavailable without running the handler,
    /// and `GuardLayer` blocks with 503, for as long as the log reports itself failing. A
    /// request already past the check when the log fails is served, its entries counted.
    Refuse,
}

#[doc(inline)]
pub use self::audit::AuditLayer;
#[doc(inline)]
pub use self::guard::GuardLayer;
pub use self::input::ReplayBody;

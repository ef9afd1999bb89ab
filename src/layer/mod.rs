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
//! use acttrace::chain::AuditLog;
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

#[doc(inline)]
pub use self::audit::AuditLayer;
#[doc(inline)]
pub use self::guard::GuardLayer;
pub use self::input::ReplayBody;

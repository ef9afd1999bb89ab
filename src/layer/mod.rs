//! Inbound middleware for tower and axum services.
//!
//! - [`AuditLayer`]: a decision per request, current for everything the handler does.
//! - [`GuardLayer`]: a pre-flight policy that blocks (and records the flag first) or flags.
//!
//! Both read the request body up to a limit and hand it on intact; the request body type must
//! implement [`ReplayBody`] (axum's `Body` does).

pub mod audit;
pub mod guard;
mod input;

#[doc(inline)]
pub use self::audit::AuditLayer;
#[doc(inline)]
pub use self::guard::GuardLayer;
pub use self::input::ReplayBody;

//! Keeping secrets and personal data out of the log: [`detect`]ors that find them in text, and
//! [`RedactionPolicy`]s that decide what to do with what they find (allow, flag, redact,
//! block). The writer applies a policy to every entry before it is hashed; the guard layer
//! judges requests with the same detectors and policies.
//!
//! Uses the entry and JSON types only.

pub mod detect;
mod policy;

pub use self::policy::{Action, Detection, REDACTED, RedactionPolicy};

//! What an entry may be: at most [`MAX_ENTRY_BYTES`] laid out, so that every line of the log
//! stays one a verifier reads; a larger one is refused, reported and counted.
//!
//! Uses the handle's shared state and the store's errors.

use std::sync::atomic::Ordering;

use super::{Error, Rendered, Shared};

/// The most bytes an entry's type and payload may take, laid out: with the other fields, its
/// line stays within [`DEFAULT_MAX_LINE_BYTES`](crate::verify::DEFAULT_MAX_LINE_BYTES), the
/// longest line a verifier (and a writer reopening the log) reads.
pub const MAX_ENTRY_BYTES: usize = crate::verify::DEFAULT_MAX_LINE_BYTES - 4096;

/// Whether a laid-out entry fits in the log. One that does not is reported and refused, and
/// counted: as refused when its caller is `told` (an error), else as lost (in a `gap`).
pub(in crate::store) fn fits(shared: &Shared, entry: &Rendered, told: bool) -> Result<(), Error> {
    let bytes = entry.kind().len() + entry.line().len();
    if bytes <= shared.max_entry {
        return Ok(());
    }
    match told {
        true => shared.health.count(0, 1),
        false => _ = shared.dropped.fetch_add(1, Ordering::Relaxed),
    }
    let kind = crate::store::outage::kind_name(entry.kind());
    tracing::error!(
        target: "acttrace",
        kind = %kind,
        bytes,
        limit = shared.max_entry,
        "audit entry too large: not recorded"
    );
    Err(Error::TooLarge {
        kind,
        bytes,
        limit: shared.max_entry,
    })
}

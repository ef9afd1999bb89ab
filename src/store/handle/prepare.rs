//! Readying an entry for the writer: the redaction policy applied and the entry laid out, in
//! the caller rather than the writer thread, so that callers do this work side by side. An
//! entry with a large payload (a document recorded whole) is readied on tokio's blocking pool
//! instead of the caller's task: through every detector it takes a millisecond or more, which
//! would hold a runtime worker and the tasks queued on it.
//!
//! Uses the entry format, the JSON value, the redaction policy, the handle and the crate's
//! blocking pool helper.

use tokio::sync::oneshot;

use crate::chain::entry::{Entry, Receipt};
use crate::json::{Map, Value};
use crate::redact::RedactionPolicy;

use super::{AuditLog, Command, Error, Rendered};

/// A payload whose strings (keys and values) add up to this many bytes is readied on the
/// blocking pool by [`AuditLog::append`] and [`AuditLog::enqueue`].
pub(super) const OFF_TASK_BYTES: usize = 32 * 1024;

/// Applies the redaction policy to `entry` and lays it out in `buffer` (its flags, which are
/// rare, in buffers of their own) for the writer.
pub(in crate::store) fn prepare(
    policy: Option<&RedactionPolicy>,
    mut entry: Entry,
    buffer: String,
) -> (Rendered, Vec<Rendered>) {
    let flags = match policy {
        Some(policy) => crate::store::redaction::apply(policy, &mut entry),
        None => Vec::new(),
    };
    (
        Rendered::in_buffer(&entry, buffer),
        flags.iter().map(Rendered::of).collect(),
    )
}

/// Whether the strings of `map` (keys and values, nested) add up to `bytes` or more: walked
/// only until they do, so a small payload costs a look at each of its few values.
pub(super) fn text_reaches(map: &Map, bytes: usize) -> bool {
    fn walk(value: &Value, left: &mut usize) -> bool {
        match value {
            Value::String(s) => spend(left, s.len()),
            Value::Array(items) => items.iter().any(|v| walk(v, left)),
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| spend(left, k.len()) || walk(v, left)),
            _ => false,
        }
    }
    fn spend(left: &mut usize, n: usize) -> bool {
        *left = left.saturating_sub(n);
        *left == 0
    }
    let mut left = bytes;
    map.iter()
        .any(|(k, v)| spend(&mut left, k.len()) || walk(v, &mut left))
}

impl AuditLog {
    /// [`append_command`](Self::append_command) on tokio's blocking pool when `entry`'s payload
    /// is large and a runtime is there to run it; in place otherwise.
    pub(super) async fn append_command_sized(
        &self,
        entry: Entry,
        reply: Option<oneshot::Sender<Result<Receipt, Error>>>,
    ) -> Result<Command, Error> {
        if !text_reaches(entry.payload(), OFF_TASK_BYTES) {
            return self.append_command(entry, reply, true);
        }
        let log = self.clone();
        crate::blocking::off_task(move || log.append_command(entry, reply, true))
            .await
            // Cancelled: the runtime is shutting down, and the caller is told.
            .unwrap_or(Err(Error::WriterClosed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_counted_until_it_reaches_the_bound() {
        let mut map = Map::new();
        map.insert("a", "x".repeat(10));
        assert!(!text_reaches(&map, 12));
        assert!(text_reaches(&map, 11), "the key counts");
        let mut nested = Map::new();
        nested.insert(
            "k",
            Value::Array(vec![Value::from("y".repeat(20)), Value::from(3)]),
        );
        map.insert("b", nested);
        assert!(text_reaches(&map, 33));
        assert!(!text_reaches(&map, 34));
    }
}

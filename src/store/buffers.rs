//! Layout buffers handed back and forth between the callers who lay entries out and the
//! writer that writes them, so that allocation stays on each side's fast path.
//!
//! Uses nothing else of the crate.

/// Layout buffers the writer hands back for callers to lay their next entries out in.
///
/// Entries are laid out in the caller's task and written by the writer thread. Were the writer
/// to free what callers allocated, every entry would be allocated on one thread and freed on
/// another, the pattern glibc's allocator handles worst: the free takes the other thread's
/// arena lock, and under load the two threads then wake each other through `futex` (measured:
/// nine in ten of the audited service's `futex` calls; see `BENCHMARKS.md`). Handing the
/// buffers back keeps both sides on their fast paths.
#[derive(Default)]
pub(super) struct Buffers {
    pub(super) free: std::sync::Mutex<Vec<String>>,
}

impl Buffers {
    /// How many idle buffers are kept, and the largest one kept (an unusually large entry's
    /// buffer is let go rather than held for the life of the log).
    pub(super) const KEEP: usize = 1024;
    pub(super) const KEEP_CAPACITY: usize = 16 * 1024;

    pub(super) fn take(&self) -> String {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| String::with_capacity(512))
    }

    /// Keeps the buffers in `spent` for reuse, as many as there is room for, and leaves
    /// `spent` empty.
    pub(super) fn give_back(&self, spent: &mut Vec<String>) {
        if let Ok(mut free) = self.free.lock() {
            let room = Self::KEEP.saturating_sub(free.len());
            free.extend(
                spent
                    .drain(..)
                    .filter(|b| b.capacity() <= Self::KEEP_CAPACITY)
                    .take(room)
                    .map(|mut b| {
                        b.clear();
                        b
                    }),
            );
        }
        spent.clear();
    }
}

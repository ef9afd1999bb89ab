//! Work too long for an async task (the guard's check of a large body, a large entry's
//! redaction), run on tokio's blocking pool so that it holds no runtime worker, nor the tasks
//! queued behind it.
//!
//! Uses tokio only.

/// Runs `work` on tokio's blocking pool and waits for it; in place when no tokio runtime is
/// running. A panic in `work` resumes on the caller, as if `work` had run there. `None` if the
/// runtime cancelled it (it is shutting down), so that the caller refuses what it could not
/// finish rather than passing it.
pub(crate) async fn off_task<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Some(work());
    }
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => Some(done),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

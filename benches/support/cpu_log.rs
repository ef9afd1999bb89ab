//! The log the in-process CPU benches write to.

use acttrace::store::{AuditLog, Durability};

/// A fresh log in the target's scratch folder `name`, written without syncing (the writer
/// thread still links and hashes every entry), with a queue long enough that a slow writer
/// (under valgrind, threads take turns) never makes an entry a `gap`.
pub(crate) async fn cpu_log(name: &str) -> AuditLog {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    AuditLog::builder("bench")
        .durability(Durability::None)
        .capacity(1 << 20)
        .open(dir.join("audit.jsonl"))
        .await
        .expect("open")
}

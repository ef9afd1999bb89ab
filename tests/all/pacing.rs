//! The writer's pace: entries nobody waits on are laid out (stamped, linked, hashed) as they
//! arrive, a few milliseconds apart, and written together once the commit delay has passed or
//! someone waits. What must hold: nothing laid out is on disk or in the published head before
//! its commit, everything is once it is, and a waiting caller, a shutdown or the last handle
//! going away commits it. Real files, the real writer thread.

use std::path::Path;
use std::time::{Duration, Instant};

use acttrace::chain::Entry;
use acttrace::json::{Map, Value};
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};

use crate::support::Scratch;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|l| Value::parse(l).expect("line parses"))
        .collect()
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or_else(|| panic!("no {key} in {v:?}"))
}

/// Seconds into the day of an entry's `ts` (`YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`).
fn seconds_of_day(v: &Value) -> f64 {
    let ts = field(v, "ts").as_str().expect("ts is a string");
    let time = &ts[11..ts.len() - "+00:00".len()];
    let mut parts = time.split(':');
    let mut next = || parts.next().and_then(|p| p.parse::<f64>().ok()).expect(ts);
    next() * 3600.0 + next() * 60.0 + next()
}

/// Enqueues `n` entries of `kind`, `gap` apart.
async fn trickle(log: &AuditLog, kind: &str, n: usize, gap: Duration) {
    for _ in 0..n {
        log.enqueue(Entry::new(kind, Map::new()))
            .await
            .expect("enqueue");
        tokio::time::sleep(gap).await;
    }
}

/// A quiet writer commits what it finds on waking (it may have waited since the writer went
/// to sleep), within one commit delay rather than two. Busy, it lays entries out as they come
/// (their time stamps spread over the trickle, not bunched at the commit) but neither writes
/// nor publishes them before the commit delay has passed since the first; then all of them,
/// as one verified chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_laid_out_as_they_come_and_written_together_after_the_delay() {
    let scratch = Scratch::new("pacing-delay");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("pace")
        .commit_delay(Duration::from_millis(600))
        .open(&path)
        .await
        .expect("open");
    assert_eq!(log.head().entries, 1, "audit_open");
    // Quiet: nothing for longer than a delay.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let woke = Instant::now();
    trickle(&log, "primer", 1, Duration::ZERO).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    // Written, then synced, then published as the head: wait for the head.
    while lines(&path).len() < 2 || log.head().entries < 2 {
        assert!(Instant::now() < deadline, "not written within the delay");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        woke.elapsed() < Duration::from_millis(1150),
        "a quiet writer held what it found for a second delay: {:?}",
        woke.elapsed()
    );
    // Busy now: a trickle is laid out as it comes and written a delay after its first.
    let opened = log.head();
    assert_eq!(opened.entries, 2);
    let first = Instant::now();
    trickle(&log, "queued", 30, Duration::from_millis(5)).await;
    if first.elapsed() < Duration::from_millis(450) {
        assert_eq!(lines(&path).len(), 2, "written before the commit delay");
        assert_eq!(log.head(), opened, "a head names entries not yet written");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines(&path).len() < 32 || log.head().entries < 32 {
        assert!(Instant::now() < deadline, "not written within the delay");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rows = lines(&path);
    assert_eq!(rows.len(), 32, "written together");
    assert!(
        first.elapsed() >= Duration::from_millis(600),
        "committed before its delay: {:?}",
        first.elapsed()
    );
    let spread = seconds_of_day(&rows[31]) - seconds_of_day(&rows[2]);
    assert!(
        spread > 0.08,
        "stamped when laid out, over the ~150 ms trickle, not at the commit: {spread} s"
    );
    let head = log.head();
    assert_eq!(head.entries, 32);
    assert_eq!(
        field(&rows[31], "hash").as_str(),
        Some(head.hash.as_str()),
        "the published head is the last entry written"
    );
    log.shutdown().await.expect("shutdown");
    let report = verify_path(&path, &VerifyOptions::new().expected_head(&head.hash));
    assert!(report.is_ok(), "{report}");
}

/// A caller who waits commits everything laid out before it, at once: when its append
/// returns, the entries queued before it are on disk ahead of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_caller_commits_what_was_laid_out_before_it() {
    let scratch = Scratch::new("pacing-awaited");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("pace")
        .commit_delay(Duration::from_secs(30))
        .open(&path)
        .await
        .expect("open");
    trickle(&log, "queued", 20, Duration::from_millis(3)).await;
    let start = Instant::now();
    let receipt = log
        .append(Entry::new("awaited", Map::new()))
        .await
        .expect("append");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the delay held it"
    );
    let rows = lines(&path);
    let kinds: Vec<&str> = rows
        .iter()
        .map(|r| field(r, "type").as_str().unwrap_or_default())
        .collect();
    let mut want = vec!["audit_open"];
    want.extend(["queued"; 20]);
    want.push("awaited");
    assert_eq!(kinds, want);
    assert_eq!(field(&rows[21], "seq").as_u64(), Some(receipt.seq));
    assert_eq!(
        field(&rows[21], "hash").as_str(),
        Some(receipt.hash.as_str())
    );
    log.shutdown().await.expect("shutdown");
}

/// Shutting down commits what is laid out; so does the last handle going away without a
/// shutdown (the writer then finishes by itself and releases the file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_the_last_handle_going_away_commit_what_is_laid_out() {
    let scratch = Scratch::new("pacing-close");
    for (name, shut) in [("shutdown.jsonl", true), ("dropped.jsonl", false)] {
        let path = scratch.join(name);
        let log = AuditLog::builder("pace")
            .commit_delay(Duration::from_secs(30))
            .open(&path)
            .await
            .expect("open");
        trickle(&log, "queued", 10, Duration::from_millis(4)).await;
        if shut {
            log.shutdown().await.expect("shutdown");
        } else {
            drop(log);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while lines(&path).len() < 11 {
            assert!(Instant::now() < deadline, "{name}: laid out, never written");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The file is free again: the writer committed and let it go.
        let reopened = loop {
            match AuditLog::builder("pace").open(&path).await {
                Ok(log) => break log,
                Err(e) => {
                    assert!(Instant::now() < deadline, "{name}: still held: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        assert_eq!(reopened.head().entries, 11, "{name}");
        reopened.shutdown().await.expect("shutdown");
        let report = verify_path(&path, &VerifyOptions::new());
        assert!(report.is_ok(), "{name}: {report}");
    }
}

//! The handle and its writer, on real files: what is queued and built, woken and written.

use super::*;
use crate::json::Map;

/// A fresh directory for one test's log, and the log's path in it.
fn scratch(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("acttrace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("audit.jsonl");
    (dir, path)
}

/// The file at `path` once `done` holds for its text, or `None` after `secs` seconds.
async fn text_once(
    path: &std::path::Path,
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> Option<String> {
    let wait = async {
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if done(&text) {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(secs), wait)
        .await
        .ok()
}

/// Asserts that the log at `path` verifies, then removes its directory.
fn verifies_then_remove(dir: &std::path::Path, path: &std::path::Path) {
    let report = crate::verify::verify_path(path, &crate::verify::VerifyOptions::new());
    assert!(report.is_ok(), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The `i` of each entry in the log text that has one, in the chain's order.
fn numbered(text: &str) -> Vec<i64> {
    text.lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            v["payload"]["i"].as_i64()
        })
        .collect()
}

/// A log at `path` whose writer waits `delay_ms` after a batch nobody waits on.
async fn open_with_delay(path: &std::path::Path, delay_ms: u64) -> AuditLog {
    AuditLog::builder("t")
        .commit_delay(std::time::Duration::from_millis(delay_ms))
        .open(path)
        .await
        .expect("open")
}

/// An entry built on the writer thread is written in its place in the chain; one whose
/// builder panics is counted, written as a `gap`, and the writer goes on.
#[tokio::test]
async fn entries_built_by_the_writer_and_a_builder_that_panics() {
    let (dir, path) = scratch("build");
    let log = AuditLog::open("t", &path).await.expect("open");
    assert!(log.try_record_with(|| {
        let mut p = Map::new();
        p.insert("n", 1);
        Entry::new("built", p)
    }));
    assert!(log.try_record_with(|| panic!("a bug in a builder")));
    assert!(log.try_record(Entry::new("after", Map::new())));
    log.sync().await.expect("sync");
    // The gap is written with the next batch.
    log.append(Entry::new("last", Map::new()))
        .await
        .expect("append");
    log.shutdown().await.expect("shutdown");
    let text = std::fs::read_to_string(&path).expect("read");
    let types: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("\"type\": \"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(types, ["audit_open", "built", "after", "gap", "last"]);
    assert!(text.contains("\"dropped\": 1"));
    verifies_then_remove(&dir, &path);
}

/// An idle writer is not woken by entries nobody waits on; it must still find them, on
/// its own, within about a commit delay, and write the last ones when every handle is
/// dropped without a shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_writer_finds_queued_entries_on_its_own() {
    let (dir, path) = scratch("idle");
    let log = open_with_delay(&path, 20).await;
    let opened = log.head().entries;
    for round in 1..=3u64 {
        // Long enough for the writer to have gone idle.
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        assert!(log.try_record(Entry::new("queued", Map::new())));
        let seen = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while log.head().entries < opened + round {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            log.head().entries
        })
        .await;
        assert_eq!(
            seen,
            Ok(opened + round),
            "round {round}: written without a sync"
        );
    }
    assert!(log.try_record(Entry::new("at drop", Map::new())));
    drop(log);
    let text = text_once(&path, 5, |t| t.contains("at drop"))
        .await
        .expect("the last entry is written once every handle is gone");
    assert_eq!(text.lines().count() as u64, opened + 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn buffers_come_back_empty_and_within_bounds() {
    let buffers = Buffers::default();
    let mut spent = vec![
        String::from("a laid-out entry"),
        String::with_capacity(1 << 20),
    ];
    let kept = spent[0].capacity();
    buffers.give_back(&mut spent);
    assert!(spent.is_empty());
    let reused = buffers.take();
    assert!(reused.is_empty(), "no old text in a reused buffer");
    assert_eq!(reused.capacity(), kept);
    assert_eq!(
        buffers.take().capacity(),
        512,
        "the 1 MiB buffer was let go"
    );
    let mut many: Vec<String> = (0..Buffers::KEEP + 10).map(|_| String::new()).collect();
    buffers.give_back(&mut many);
    assert_eq!(
        buffers.free.lock().map(|f| f.len()).ok(),
        Some(Buffers::KEEP)
    );
}

/// A log whose queue holds two entries and whose writer, left alone, sleeps a minute
/// between batches: any prompt progress through it is a wake-up.
async fn tiny_queue_long_delay(path: &std::path::Path) -> AuditLog {
    AuditLog::builder("t")
        .capacity(2)
        .commit_delay(std::time::Duration::from_secs(60))
        .open(path)
        .await
        .expect("open")
}

/// Entries that cannot wait (`try_record`) are lost only while the queue is full, and a
/// sender that finds it full wakes the writer, which drains it and writes the gap at once,
/// not a commit delay (here a minute) later. Every loss is in the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_wakes_the_writer_and_its_losses_are_recorded_at_once() {
    let (dir, path) = scratch("full-wakes");
    let log = tiny_queue_long_delay(&path).await;
    let opened = log.head().entries;
    // Let the writer fall asleep, for a minute, before the burst.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let tries = 50;
    let queued = (0..tries)
        .filter(|i| {
            let mut p = Map::new();
            p.insert("i", *i);
            log.try_record(Entry::new("n", p))
        })
        .count() as u64;
    let lost = tries - queued;
    assert!(lost > 0, "fifty entries at once fit in a queue of two");
    // Everything queued, and at least one gap, written without anyone waiting on it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while log.head().entries < opened + queued + 1 || log.pending_gap() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer slept through a full queue"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    log.shutdown().await.expect("shutdown");
    let text = std::fs::read_to_string(&path).expect("read");
    let entries: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let kept = entries.iter().filter(|e| e["type"] == "n").count() as u64;
    let recorded: u64 = entries
        .iter()
        .filter(|e| e["type"] == "gap")
        .filter_map(|e| e["payload"]["dropped"].as_u64())
        .sum();
    assert_eq!((kept, recorded), (queued, lost));
    verifies_then_remove(&dir, &path);
}

/// Losses counted after the last batch took its count, with nothing left queued, are
/// written as a batch of the gap alone once the writer is up, not a commit delay later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_with_nothing_queued_is_written_alone() {
    let (dir, path) = scratch("gap-alone");
    let log = tiny_queue_long_delay(&path).await;
    let opened = log.head().entries;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // As a `try_record` into a full queue does, after the batch that drained it.
    log.handle.shared.dropped.fetch_add(3, Ordering::Relaxed);
    log.handle.wake_writer();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while log.head().entries < opened + 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the gap waited for the commit delay"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(log.pending_gap(), 0);
    log.shutdown().await.expect("shutdown");
    let text = std::fs::read_to_string(&path).expect("read");
    let last = text.lines().last().expect("a line");
    assert!(
        last.contains("\"type\": \"gap\"") && last.contains("\"dropped\": 3"),
        "{last}"
    );
    verifies_then_remove(&dir, &path);
}

/// `enqueue` takes room in the queue when there is some and waits for it when there is
/// none, keeps the order either way, and fails once the log is shut down. A sender that
/// finds the queue full wakes the writer: here it would otherwise sleep for a minute
/// between batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_waits_for_room_keeps_order_and_fails_after_shutdown() {
    let (dir, path) = scratch("enqueue-full");
    let log = tiny_queue_long_delay(&path).await;
    let sender = log.clone();
    let sending = tokio::spawn(async move {
        for i in 0..12 {
            let mut p = Map::new();
            p.insert("i", i);
            sender.enqueue(Entry::new("n", p)).await.expect("enqueue");
        }
    });
    // Twelve entries through a queue of two: the writer was woken for room.
    tokio::time::timeout(std::time::Duration::from_secs(20), sending)
        .await
        .expect("a full queue wakes the writer")
        .expect("the sender's task");
    assert_eq!(log.pending_gap(), 0);
    let other = log.clone();
    log.shutdown().await.expect("shutdown");
    assert!(matches!(
        other.enqueue(Entry::new("late", Map::new())).await,
        Err(Error::WriterClosed)
    ));
    let text = std::fs::read_to_string(&path).expect("read");
    let order = numbered(&text);
    assert_eq!(order, (0..12).collect::<Vec<_>>());
    verifies_then_remove(&dir, &path);
}

/// While the writer is held up (in a slow disk flush; here a builder that blocks it), a burst
/// of 10,000 entries, 100 ms of both layers' at 50,000 requests a second, finds room in the
/// default queue at once: no `enqueue` waits, no `try_record` is lost. Once the writer goes
/// on, every one of them is written in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_held_up_keeps_a_burst_neither_waiting_nor_lost() {
    use std::future::Future as _;
    let (dir, path) = scratch("held-up");
    let log = AuditLog::open("t", &path).await.expect("open");
    let (started, held) = std::sync::mpsc::channel();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    assert!(log.try_record_with(move || {
        let _ = started.send(());
        let _ = wait.recv_timeout(std::time::Duration::from_secs(30));
        Entry::new("held", Map::new())
    }));
    held.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the writer takes the builder");
    let burst = 10_000;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for i in 0..burst {
        let mut p = Map::new();
        p.insert("i", i);
        let entry = Entry::new("n", p);
        // As the audit layer does: a decision's first entry queued, its end recorded.
        if i % 2 == 0 {
            let queued = std::pin::pin!(log.enqueue(entry)).poll(&mut cx);
            assert!(
                matches!(queued, std::task::Poll::Ready(Ok(()))),
                "entry {i} waited for room"
            );
        } else {
            assert!(log.try_record(entry), "entry {i} was lost");
        }
    }
    release.send(()).expect("release the writer");
    log.sync().await.expect("sync");
    assert_eq!(log.pending_gap(), 0);
    log.shutdown().await.expect("shutdown");
    let text = std::fs::read_to_string(&path).expect("read");
    let order = numbered(&text);
    assert_eq!(order, (0..burst).collect::<Vec<_>>());
    assert!(!text.contains(r#""type": "gap""#));
    verifies_then_remove(&dir, &path);
}

/// Entries laid out in reused buffers, long after short and short after long, across
/// batches: each line holds its own payload and nothing of an earlier one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_buffers_never_leak_one_entry_into_another() {
    let (dir, path) = scratch("reuse");
    let log = open_with_delay(&path, 1).await;
    let sizes = [900, 3, 400, 0, 2000, 17, 1];
    let mut sent = Vec::new();
    for round in 0..20 {
        for (i, size) in sizes.iter().enumerate() {
            let text = format!("{round}-{i}-{}", "x".repeat(*size));
            let mut p = Map::new();
            p.insert("text", text.as_str());
            match i % 3 {
                0 => assert!(log.try_record(Entry::new("n", p))),
                1 => log.enqueue(Entry::new("n", p)).await.expect("enqueue"),
                _ => drop(log.append(Entry::new("n", p)).await.expect("append")),
            }
            sent.push(text);
        }
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    log.shutdown().await.expect("shutdown");
    let text = std::fs::read_to_string(&path).expect("read");
    let written: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some(v["payload"]["text"].as_str()?.to_owned())
        })
        .collect();
    assert_eq!(written, sent);
    verifies_then_remove(&dir, &path);
}

/// The last handle dropped without a shutdown wakes the writer: what was queued is written
/// at once, not after the (here very long) commit delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_writes_the_queue_at_once() {
    let (dir, path) = scratch("last-drop");
    let log = open_with_delay(&path, 60_000).await;
    let other = log.clone();
    assert!(log.try_record(Entry::new("queued", Map::new())));
    drop(other); // not the last one: nothing happens yet
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(log.try_record(Entry::new("queued", Map::new())));
    drop(log);
    let text = text_once(&path, 10, |t| t.matches("\"queued\"").count() == 2)
        .await
        .expect("written well before the 60 s commit delay");
    let lines = text.lines().count();
    assert_eq!(lines, 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An empty signing key (an unset variable read as empty) is refused before anything is
/// opened or created, for a file and for a segmented log; a key of one byte is taken.
#[tokio::test]
async fn an_empty_signing_key_is_refused_and_nothing_is_created() {
    let (dir, path) = scratch("empty-key");
    std::fs::create_dir_all(&dir).unwrap();
    let empty = std::env::var("ACTTRACE_TEST_UNSET_KEY").unwrap_or_default();
    let err = AuditLog::builder("t")
        .signing_key(empty.as_str())
        .open(&path)
        .await
        .expect_err("an empty key");
    assert!(
        matches!(&err, Error::EmptyKey { path: p } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("signing key is empty"), "{err}");
    assert!(!path.exists(), "no log was created");
    #[cfg(feature = "ed25519")]
    {
        let segments = dir.join("segments");
        let err = AuditLog::builder("t")
            .signing_key(Vec::<u8>::new())
            .open_segments(
                &segments,
                crate::store::Segments::new(
                    crate::chain::checkpoint::CheckpointKey::generate().unwrap(),
                ),
            )
            .await
            .expect_err("an empty key");
        assert!(matches!(err, Error::EmptyKey { .. }), "{err}");
        assert!(!segments.exists(), "no directory was created");
    }
    let log = AuditLog::builder("t")
        .signing_key("k")
        .open(&path)
        .await
        .expect("a key of one byte");
    log.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

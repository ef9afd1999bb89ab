//! Nothing silent: a log that cannot be written, a log moved, replaced or deleted under its
//! writer, and a second writer that ignores the lock. Real files, a real immutable flag
//! (`chattr`, root as in CI), the real Python reference, a real axum `Router`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acttrace::chain::Entry;
use acttrace::json::{Map, Value};
use acttrace::layer::{AuditLayer, GuardLayer, OnLogFailure, guard::policy};
use acttrace::store::{AuditLog, Error, OnCorrupt, Recovery};
use acttrace::verify::{VerifyOptions, verify_path};
use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http::{Request, StatusCode};
use tower::ServiceExt as _;

use crate::support::{Scratch, reference_python, reference_verify};

/// What `tracing` reported from this crate, captured for the whole test binary.
pub(crate) mod logs {
    use std::fmt::Write as _;
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing::{Event, Level, Metadata, Subscriber, span};

    static EVENTS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

    struct Capture;

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, m: &Metadata<'_>) -> bool {
            m.target() == "acttrace"
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            if let Ok(mut events) = EVENTS.lock() {
                events.push((*event.metadata().level(), fields.0));
            }
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    /// Installs the capture as the process's subscriber (once).
    pub(crate) fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let _ = tracing::subscriber::set_global_default(Capture);
        });
    }

    /// The error-level events that mention `text` (a log's path).
    pub(crate) fn errors_about(text: &str) -> Vec<String> {
        about(Level::ERROR, text)
    }

    /// The warn-level events that mention `text`.
    pub(crate) fn warnings_about(text: &str) -> Vec<String> {
        about(Level::WARN, text)
    }

    fn about(level: Level, text: &str) -> Vec<String> {
        EVENTS
            .lock()
            .map(|e| {
                e.iter()
                    .filter(|(l, f)| *l == level && f.contains(text))
                    .map(|(_, f)| f.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Sets the immutable flag on a file (root only, as in CI) and clears it when dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Self {
        chattr("+i", path);
        Self(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn chattr(flag: &str, path: &Path) {
    let out = Command::new("chattr")
        .arg(flag)
        .arg(path)
        .output()
        .expect("run chattr (e2fsprogs)");
    assert!(
        out.status.success(),
        "this test makes a file immutable with chattr and needs root: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A log whose writer retries every 50 ms and lingers 5 ms after a batch.
async fn open_log(path: &Path) -> AuditLog {
    AuditLog::builder("t")
        .commit_delay(Duration::from_millis(5))
        .retry_interval(Duration::from_millis(50))
        .open(path)
        .await
        .expect("open")
}

/// Waits up to 20 s for `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn rows(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|l| Value::parse(l).expect("line parses"))
        .collect()
}

fn kind(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn payload_u64(v: &Value, path: &[&str]) -> Option<u64> {
    let mut at = v.get("payload")?;
    for key in path {
        at = at.get(key)?;
    }
    at.as_u64()
}

fn entry(kind: &str) -> Entry {
    Entry::new(kind, Map::new())
}

/// A log made immutable under its writer: the awaited append fails, every entry nobody waits on
/// is counted by type and reported at error level, health says failing with the error; once the
/// flag is cleared the writer recovers by itself and records the hole in a `write_failure`
/// entry that both verifiers accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_cannot_be_written_counts_every_loss_and_records_the_hole() {
    logs::install();
    let scratch = Scratch::new("outage-immutable");
    let path = scratch.join("audit.jsonl");
    let log = open_log(&path).await;
    log.append(entry("before")).await.expect("append");
    let frozen = Immutable::set(&path);

    let refused = log.append(entry("awaited")).await;
    assert!(
        matches!(refused, Err(Error::Write(_) | Error::Unavailable { .. })),
        "{refused:?}"
    );
    for _ in 0..10 {
        assert!(log.try_record(entry("decision")));
    }
    for _ in 0..5 {
        log.enqueue(entry("llm_call")).await.expect("enqueue");
    }
    until("the writer takes the 15 entries", || {
        log.health().lost >= 15
    })
    .await;
    let health = log.health();
    assert!(!health.is_healthy() && !log.is_healthy(), "{health}");
    assert_eq!((health.lost, health.refused), (15, 1), "{health}");
    let error = health.last_error.clone().unwrap_or_default();
    assert!(error.contains("Operation not permitted"), "{error}");
    assert!(health.to_string().starts_with("failing since "), "{health}");
    let reported = logs::errors_about(&path.display().to_string());
    let reported_lost: u64 = reported
        .iter()
        .filter_map(|f| {
            f.split("lost=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!(reported_lost, 15, "every loss is reported: {reported:#?}");

    drop(frozen);
    until("the writer recovers by itself", || log.is_healthy()).await;
    log.append(entry("after"))
        .await
        .expect("append after recovery");
    let head = log.head();
    log.shutdown().await.expect("shutdown");

    let rows = rows(&path);
    let kinds: Vec<&str> = rows.iter().map(kind).collect();
    assert_eq!(kinds, ["audit_open", "before", "write_failure", "after"]);
    let hole = &rows[2];
    assert_eq!(payload_u64(hole, &["lost"]), Some(15));
    assert_eq!(payload_u64(hole, &["lost_by_type", "decision"]), Some(10));
    assert_eq!(payload_u64(hole, &["lost_by_type", "llm_call"]), Some(5));
    assert_eq!(payload_u64(hole, &["refused"]), Some(1));
    assert_eq!(payload_u64(hole, &["refused_by_type", "awaited"]), Some(1));
    let p = hole.get("payload").expect("payload");
    let began = p.get("began").and_then(Value::as_str).expect("began");
    let ended = p.get("ended").and_then(Value::as_str).expect("ended");
    assert!(began < ended, "{began} .. {ended}");
    let said = p.get("error").and_then(Value::as_str).unwrap_or_default();
    assert!(said.contains("Operation not permitted"), "{said}");

    let ours = verify_path(&path, &VerifyOptions::new().expected_head(&head.hash));
    assert!(ours.is_ok(), "{ours}");
    let (ok, detail) = reference_verify(&path, None, Some(&head.hash));
    assert!(ok, "reference: {detail}");
}

/// Entries laid out over many of the writer's steps and then refused by the file at their
/// commit are every one counted as lost, by type, and recorded in the `write_failure` entry;
/// the chain resumes from the last entry written, and nothing laid out in the failed commit
/// appears in the file or in a head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_refused_after_many_steps_counts_every_entry_laid_out_for_it() {
    logs::install();
    let scratch = Scratch::new("outage-staged");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("t")
        .commit_delay(Duration::from_millis(400))
        .retry_interval(Duration::from_millis(50))
        .open(&path)
        .await
        .expect("open");
    let before = log.append(entry("before")).await.expect("append");
    let mut frozen = None;
    for i in 0..12 {
        let kind = if i % 3 == 0 { "llm_call" } else { "decision" };
        log.enqueue(entry(kind)).await.expect("enqueue");
        tokio::time::sleep(Duration::from_millis(8)).await;
        if i == 5 {
            // Half laid out already: the file turns read-only before their commit.
            frozen = Some(Immutable::set(&path));
        }
    }
    until("the commit fails and counts the 12", || {
        log.health().lost >= 12
    })
    .await;
    let health = log.health();
    assert_eq!((health.lost, health.refused), (12, 0), "{health}");
    assert_eq!(
        log.head().entries,
        before.seq + 1,
        "no head names a lost entry"
    );
    drop(frozen);
    until("the writer recovers by itself", || log.is_healthy()).await;
    log.append(entry("after")).await.expect("append after");
    let head = log.head();
    log.shutdown().await.expect("shutdown");

    let rows = rows(&path);
    let kinds: Vec<&str> = rows.iter().map(kind).collect();
    assert_eq!(kinds, ["audit_open", "before", "write_failure", "after"]);
    assert_eq!(payload_u64(&rows[2], &["lost"]), Some(12));
    assert_eq!(
        payload_u64(&rows[2], &["lost_by_type", "decision"]),
        Some(8)
    );
    assert_eq!(
        payload_u64(&rows[2], &["lost_by_type", "llm_call"]),
        Some(4)
    );
    let ours = verify_path(&path, &VerifyOptions::new().expected_head(&head.hash));
    assert!(ours.is_ok(), "{ours}");
    let (ok, detail) = reference_verify(&path, None, Some(&head.hash));
    assert!(ok, "reference: {detail}");
}

/// The log moved, replaced (as an output written over it does) or deleted under a running
/// writer: the next append is refused with a clear error instead of being acknowledged into a
/// file nobody reads; a replacement is left untouched; a log moved back is resumed, the refusal
/// recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_moved_replaced_or_deleted_under_its_writer_is_noticed_within_a_batch() {
    for case in ["moved", "replaced", "deleted"] {
        let scratch = Scratch::new("outage-moved");
        let path = scratch.join("audit.jsonl");
        let aside = scratch.join("aside.jsonl");
        let log = open_log(&path).await;
        log.append(entry("before")).await.expect("append");
        let replacement = b"{\"not\": \"this writer's\"}\n";
        match case {
            "moved" => std::fs::rename(&path, &aside).unwrap(),
            "replaced" => {
                std::fs::write(&aside, replacement).unwrap();
                std::fs::rename(&aside, &path).unwrap();
            }
            _ => std::fs::remove_file(&path).unwrap(),
        }
        let refused = log.append(entry("lost")).await;
        let Err(Error::Unavailable { reason, .. }) = &refused else {
            panic!("{case}: acknowledged into a file nobody reads: {refused:?}");
        };
        let expected = match case {
            "moved" => "no longer exists",
            "replaced" => "is now another file",
            _ => "deleted",
        };
        assert!(reason.contains(expected), "{case}: {reason}");
        assert!(!log.is_healthy(), "{case}");
        // Still refused, never written, whatever comes next.
        assert!(log.append(entry("lost")).await.is_err(), "{case}");
        match case {
            "moved" => {
                std::fs::rename(&aside, &path).unwrap();
                until("the moved log is resumed", || log.is_healthy()).await;
                log.append(entry("after")).await.expect("append");
                let head = log.head();
                log.shutdown().await.expect("shutdown");
                let rows = rows(&path);
                let kinds: Vec<&str> = rows.iter().map(kind).collect();
                assert_eq!(kinds, ["audit_open", "before", "write_failure", "after"]);
                assert_eq!(payload_u64(&rows[2], &["refused"]), Some(2));
                let report = verify_path(&path, &VerifyOptions::new().expected_head(head.hash));
                assert!(report.is_ok(), "{report}");
            }
            "replaced" => {
                tokio::time::sleep(Duration::from_millis(200)).await; // a few retries
                assert!(!log.is_healthy());
                assert_eq!(std::fs::read(&path).unwrap(), replacement, "left untouched");
                assert!(log.shutdown().await.is_err(), "the shutdown says it");
            }
            _ => {
                assert!(!path.exists());
                assert!(log.shutdown().await.is_err());
            }
        }
    }
}

/// A Python reference writer (which takes no lock) appends to a log this crate is writing, from
/// a head it read before our last entries: our next batch is refused before it is written, and
/// reopening names the fork precisely (the seq, both entries' lines and hashes) and keeps both
/// writers' entries, set aside whole when asked to start anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_ignoring_the_lock_is_caught_and_its_fork_diagnosed() {
    let scratch = Scratch::new("outage-fork");
    let path = scratch.join("audit.jsonl");
    let log = open_log(&path).await;
    let first = log.append(entry("ours-1")).await.expect("append");

    let script = r#"
import sys
from cendor.acttrace import AuditLog
log = AuditLog(system="other", path=sys.argv[1], mirror=False)
print("ready", flush=True)
sys.stdin.readline()
log.flag("appended by another writer", severity="info")
print(log.head, flush=True)
log.detach()
"#;
    let mut python = Command::new(reference_python())
        .args(["-c", script])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the reference");
    let mut out = BufReader::new(python.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready");
    assert_eq!(line.trim(), "ready");
    let second = log.append(entry("ours-2")).await.expect("append");
    log.append(entry("ours-3")).await.expect("append");
    python
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    line.clear();
    out.read_line(&mut line).expect("their head");
    let theirs = line.trim().to_owned();
    assert!(python.wait().expect("wait").success());
    let forked = std::fs::read(&path).unwrap();

    let refused = log.append(entry("ours-4")).await;
    let Err(Error::Unavailable { reason, .. }) = &refused else {
        panic!("written after another writer's entry: {refused:?}");
    };
    assert!(reason.contains("another process"), "{reason}");
    assert!(log.shutdown().await.is_err());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        forked,
        "nothing written after"
    );

    let Err(Error::Forked { fork, .. }) = AuditLog::open("t", &path).await else {
        panic!("a forked log was not diagnosed as one");
    };
    assert_eq!(fork.seq, 2);
    assert_eq!(fork.parent, first.hash);
    assert_eq!(fork.first, (3, second.hash.clone()));
    assert_eq!(fork.second, (5, theirs));
    let said = fork.to_string();
    assert!(said.contains("two writers appended to this log"), "{said}");

    let log = AuditLog::builder("t")
        .on_corrupt(OnCorrupt::StartNewChain)
        .open(&path)
        .await
        .expect("start anew");
    let Some(Recovery::NewChain { previous, detail }) = log.recovery().cloned() else {
        panic!("no record of the set-aside file");
    };
    assert!(detail.contains("two writers"), "{detail}");
    assert_eq!(
        std::fs::read(&previous).unwrap(),
        forked,
        "evidence kept whole"
    );
    log.shutdown().await.expect("shutdown");
}

/// The layers' policy while the log cannot take writes, on a real `Router`: serving (the
/// default) answers and counts the lost decisions; refusing answers 503 without running the
/// handler, from both layers; both serve again once the log recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_fail_open_or_closed_as_configured() {
    let scratch = Scratch::new("outage-layers");
    let path = scratch.join("audit.jsonl");
    let log = open_log(&path).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let app = |audit: OnLogFailure, guard: OnLogFailure| {
        let ran = ran.clone();
        Router::new()
            .route(
                "/agent",
                post(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    async { "done" }
                }),
            )
            .layer(
                tower::ServiceBuilder::new()
                    .layer(AuditLayer::new(log.clone()).on_log_failure(audit))
                    .layer(GuardLayer::new(log.clone(), policy::secrets()).on_log_failure(guard)),
            )
    };
    let open = app(OnLogFailure::Serve, OnLogFailure::Serve);
    let closed = app(OnLogFailure::Refuse, OnLogFailure::Serve);
    let guarded = app(OnLogFailure::Serve, OnLogFailure::Refuse);
    let status = |app: &Router| {
        let req = Request::post("/agent").body(Body::from("hello")).unwrap();
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap().status() }
    };
    assert_eq!(status(&closed).await, StatusCode::OK);
    assert_eq!(status(&guarded).await, StatusCode::OK);
    log.sync().await.expect("their decisions are on disk");

    let frozen = Immutable::set(&path);
    assert!(log.append(entry("probe")).await.is_err());
    assert!(!log.is_healthy());
    let before = ran.load(Ordering::SeqCst);
    assert_eq!(status(&open).await, StatusCode::OK, "fail open serves");
    assert_eq!(ran.load(Ordering::SeqCst), before + 1);
    until("the open app's decision is counted lost", || {
        log.health().lost >= 2
    })
    .await;
    assert_eq!(status(&closed).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status(&guarded).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ran.load(Ordering::SeqCst), before + 1, "no handler ran");

    drop(frozen);
    until("the log recovers", || log.is_healthy()).await;
    assert_eq!(status(&closed).await, StatusCode::OK);
    assert_eq!(status(&guarded).await, StatusCode::OK);
    log.sync().await.expect("sync");
    let report = verify_path(&path, &VerifyOptions::new().expected_head(log.head().hash));
    assert!(report.is_ok(), "{report}");
    let rows = rows(&path);
    let hole = rows
        .iter()
        .find(|r| kind(r) == "write_failure")
        .expect("write_failure");
    // The decisions the open app and the guard-only app opened (the audit layer serves in
    // both), and the refused probe; the fail-closed audit layer opened none.
    assert_eq!(payload_u64(hole, &["lost_by_type", "decision"]), Some(2));
    assert_eq!(payload_u64(hole, &["refused_by_type", "probe"]), Some(1));
}

/// A log shut down under a running service is not silent: its health says so, layers that
/// fail closed refuse (503) instead of serving unaudited, layers that fail open serve, the
/// first entry handed over after it is reported once at error level, and appends say
/// `WriterClosed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_shut_down_under_a_service_says_so() {
    logs::install();
    let scratch = Scratch::new("outage-shut");
    let path = scratch.join("audit.jsonl");
    let log = open_log(&path).await;
    let app = |on_failure: OnLogFailure| {
        Router::new()
            .route("/agent", post(|| async { "done" }))
            .layer(
                tower::ServiceBuilder::new()
                    .layer(AuditLayer::new(log.clone()).on_log_failure(on_failure))
                    .layer(
                        GuardLayer::new(log.clone(), policy::secrets()).on_log_failure(on_failure),
                    ),
            )
    };
    let (open, closed) = (app(OnLogFailure::Serve), app(OnLogFailure::Refuse));
    let status = |app: &Router| {
        let req = Request::post("/agent").body(Body::from("hello")).unwrap();
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap().status() }
    };
    assert_eq!(status(&closed).await, StatusCode::OK);
    assert!(logs::errors_about(&path.display().to_string()).is_empty());

    log.clone().shutdown().await.expect("shutdown");
    assert!(!log.is_healthy());
    let health = log.health();
    assert!(health.failing_since.is_some(), "{health}");
    assert_eq!(
        health.last_error.as_deref(),
        Some("the audit log is shut down")
    );
    for _ in 0..2 {
        assert_eq!(status(&closed).await, StatusCode::SERVICE_UNAVAILABLE);
    }
    for _ in 0..3 {
        assert_eq!(status(&open).await, StatusCode::OK);
    }
    let said: Vec<String> = logs::errors_about(&path.display().to_string())
        .into_iter()
        .filter(|e| e.contains("no longer recorded"))
        .collect();
    assert_eq!(said.len(), 1, "reported once: {said:?}");
    assert!(matches!(
        log.append(entry("late")).await,
        Err(Error::WriterClosed)
    ));
}

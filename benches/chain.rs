//! Chain benchmarks: verification speed and durable append throughput.
//!
//! ```text
//! cargo bench --bench chain -- [--entries N] [--tasks T] [--dir DIR]
//! ```
//!
//! Writes `DIR/verify.jsonl` (N realistic entries), verifies it with the library (best of 3),
//! reads its decisions as `show` and `stats` do, verifies a log whose one entry is 64 MiB long,
//! then appends N entries with fsync-per-batch durability from T concurrent tasks into a fresh
//! log. `benches/compare.sh` runs this and times the Python reference on the same file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use acttrace::chain::{DecisionId, Entry, LlmCall, PolicyFlag, Usage};
use acttrace::evidence::Summary;
use acttrace::json::{Map, Value};
use acttrace::store::{AuditLog, Durability};
use acttrace::verify::{VerifyOptions, verify_path};

struct Args {
    /// Append the reference's benchmark entry (`log.flag("probe", severity="info", data=i)`)
    /// instead of the realistic four, so both sides do the same work.
    flags: bool,
    /// Only the appends.
    appends_only: bool,
    entries: u64,
    tasks: u64,
    dir: PathBuf,
    /// The appends' durability (`fsync`, `flush` or `none`).
    durability: Durability,
    /// Appends without the default redaction policy (`--no-redaction`).
    no_redaction: bool,
}

fn args() -> Args {
    let mut a = Args {
        flags: false,
        appends_only: false,
        entries: 100_000,
        tasks: 64,
        dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench"),
        durability: Durability::Fsync,
        no_redaction: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--entries" => a.entries = value().parse().unwrap_or(a.entries),
            "--tasks" => a.tasks = value().parse().unwrap_or(a.tasks),
            "--dir" => a.dir = PathBuf::from(value()),
            "--flags" => a.flags = true,
            "--no-redaction" => a.no_redaction = true,
            "--durability" => {
                a.durability = match value().as_str() {
                    "none" => Durability::None,
                    "flush" => Durability::Flush,
                    _ => Durability::Fsync,
                }
            }
            "--appends-only" => a.appends_only = true,
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    a
}

/// The n-th entry of a realistic decision: open, model call, record, end.
fn entry(n: u64, id: &DecisionId) -> Entry {
    match n % 4 {
        0 => {
            let mut input = Map::new();
            input.insert("applicant", format!("A-{n}"));
            input.insert("amount", 25_000 + n % 1000);
            input.insert(
                "digest",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            );
            Entry::decision(id, input, "scoring-agent")
        }
        1 => Entry::llm_call(
            LlmCall::new("openai", "gpt-4o")
                .decision(Some(id))
                .usage(Usage::new(1200 + n % 100, 300))
                .cost("0.004750000 USD")
                .latency_ms(412.25)
                .field("status", 200)
                .field("streamed", false),
        ),
        2 => {
            let mut fields = Map::new();
            fields.insert("outcome", if n % 8 == 2 { "approved" } else { "declined" });
            fields.insert("score", 0.82);
            fields.insert("features", Value::from(vec!["income", "tenure", "dti"]));
            Entry::decision_record(id, fields)
        }
        _ => {
            let mut fields = Map::new();
            fields.insert("status", 200);
            fields.insert("latency_ms", 431.5);
            Entry::decision_end(id, fields)
        }
    }
}

fn rate(n: u64, d: Duration) -> String {
    format!("{:.0}", n as f64 / d.as_secs_f64())
}

async fn generate(path: &Path, entries: u64) {
    let _ = std::fs::remove_file(path);
    let log = AuditLog::builder("bench")
        .risk_tier("high")
        .durability(Durability::None)
        .open(path)
        .await
        .expect("open");
    let mut id = DecisionId::random();
    for n in 1..entries {
        if n % 4 == 0 {
            id = DecisionId::random();
        }
        log.append(entry(n, &id)).await.expect("append");
    }
    log.shutdown().await.expect("shutdown");
}

/// A log of `n` decisions that all open before the first one ends: every `decision_end` is
/// far from its `decision`, the layout that made looking decisions up by a scan quadratic.
async fn decisions_open_first(path: &Path, n: usize) {
    let _ = std::fs::remove_file(path);
    let log = AuditLog::builder("bench")
        .durability(Durability::None)
        .redaction(None)
        .open(path)
        .await
        .expect("open");
    let ids: Vec<DecisionId> = (0..n).map(|_| DecisionId::random()).collect();
    for id in &ids {
        log.append(Entry::decision(id, "input", "agent"))
            .await
            .expect("append");
    }
    for id in &ids {
        log.append(Entry::decision_end(id, Map::new()))
            .await
            .expect("append");
    }
    log.shutdown().await.expect("shutdown");
}

/// A log whose second entry carries a string of `bytes` bytes: one very long line.
async fn one_long_entry(path: &Path, bytes: usize) {
    let _ = std::fs::remove_file(path);
    let log = AuditLog::builder("bench")
        .redaction(None)
        .open(path)
        .await
        .expect("open");
    let mut p = Map::new();
    p.insert("blob", "x".repeat(bytes));
    log.append(Entry::new("long", p)).await.expect("append");
    log.shutdown().await.expect("shutdown");
}

/// The reference's benchmark entry: `log.flag("probe", severity="info", data=n)`.
fn flag(n: u64) -> Entry {
    Entry::policy_flag(PolicyFlag::new("probe").severity("info").data(n))
}

async fn append_concurrently(
    path: &Path,
    entries: u64,
    tasks: u64,
    flags: bool,
    durability: Durability,
    no_redaction: bool,
) -> Duration {
    let _ = std::fs::remove_file(path);
    let mut builder = AuditLog::builder("bench");
    if no_redaction {
        builder = builder.redaction(None);
    }
    let log = builder
        .durability(durability)
        .open(path)
        .await
        .expect("open");
    let per_task = entries / tasks;
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let mut id = DecisionId::random();
            for i in 0..per_task {
                if i % 4 == 0 {
                    id = DecisionId::random();
                }
                let n = t * per_task + i;
                log.append(if flags { flag(n) } else { entry(n, &id) })
                    .await
                    .expect("append");
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    let took = start.elapsed();
    log.shutdown().await.expect("shutdown");
    let report = verify_path(
        path,
        &VerifyOptions::new().expected_entries(per_task * tasks + 1),
    );
    assert!(report.is_ok(), "{report}");
    took
}

fn main() {
    let a = args();
    std::fs::create_dir_all(&a.dir).expect("bench dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if a.appends_only {
        appends(&a, &rt);
        return;
    }

    let file = a.dir.join("verify.jsonl");
    rt.block_on(generate(&file, a.entries));
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "file: {} entries, {:.1} MB, {}",
        a.entries,
        size as f64 / 1e6,
        file.display()
    );

    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let report = verify_path(&file, &VerifyOptions::new().expected_entries(a.entries));
        best = best.min(start.elapsed());
        assert!(report.is_ok(), "{report}");
    }
    println!(
        "verify (library, all cores): {:.3} s, {} entries/s, {:.0} MB/s (best of 3)",
        best.as_secs_f64(),
        rate(a.entries, best),
        size as f64 / 1e6 / best.as_secs_f64()
    );

    let mut best = Duration::MAX;
    let mut decisions = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let summary = Summary::read(&file).expect("summary");
        best = best.min(start.elapsed());
        decisions = summary.decisions.len();
    }
    println!(
        "summary (show/stats): {decisions} decisions in {:.3} s, {} entries/s (best of 3)",
        best.as_secs_f64(),
        rate(a.entries, best)
    );

    let open_first = a.dir.join("open-first.jsonl");
    rt.block_on(decisions_open_first(&open_first, 80_000));
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let summary = Summary::read(&open_first).expect("summary");
        best = best.min(start.elapsed());
        assert_eq!(summary.decisions.len(), 80_000);
    }
    println!(
        "summary (show/stats), 80000 decisions all opened before any ends: {:.3} s (best of 3)",
        best.as_secs_f64()
    );

    let long = a.dir.join("long-line.jsonl");
    rt.block_on(one_long_entry(&long, 64 << 20));
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let report = verify_path(&long, &VerifyOptions::new().expected_entries(2));
        best = best.min(start.elapsed());
        assert!(report.is_ok(), "{report}");
    }
    println!(
        "verify one 64 MiB entry: {:.3} s, {:.0} MB/s (best of 3)",
        best.as_secs_f64(),
        67.1 / best.as_secs_f64()
    );

    appends(&a, &rt);
}

/// Durable appends from `a.tasks` concurrent tasks, best of 3.
fn appends(a: &Args, rt: &tokio::runtime::Runtime) {
    let appended = a.entries / a.tasks * a.tasks;
    let mut best = Duration::MAX;
    for _ in 0..3 {
        best = best.min(rt.block_on(append_concurrently(
            &a.dir.join("append.jsonl"),
            appended,
            a.tasks,
            a.flags,
            a.durability,
            a.no_redaction,
        )));
    }
    println!(
        "append ({:?}, {} tasks): {appended} entries in {:.3} s, {} entries/s (best of 3)",
        a.durability,
        a.tasks,
        best.as_secs_f64(),
        rate(appended, best)
    );
}

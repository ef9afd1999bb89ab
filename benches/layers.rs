//! Throughput of a small axum app with and without `AuditLayer` + `GuardLayer`, on loopback.
//!
//! ```text
//! cargo bench --bench layers -- [--seconds S] [--connections C] [--rounds R]
//!                                [--layers both|audit|guard|none] [--durability fsync|flush|none]
//!                                [--redaction default|gdpr|pci|strict|none]
//!                                [--work-us N] [--commit-delay-us N[,N...]]
//!                                [--profile audited|plain]
//! ```
//!
//! Both apps run in this process on 127.0.0.1, served by `axum::serve`; a keep-alive HTTP/1.1
//! load generator (C connections, each sending the next request when the last response is
//! read) alternates between them for R rounds of S seconds. It reports the best round of each
//! and the median of the rounds' paired costs, with a bootstrap 95% interval: each round
//! measures both apps back to back, alternating which goes first, and on a machine whose speed
//! drifts that is the steadier figure. The audited app writes with `Durability::Fsync` (one
//! `fdatasync` per batch).
//! Several commit delays (`--commit-delay-us 5000,20000`) serve one audited app each, all
//! measured in every round against the same bare app, in an order that rotates by round.
//! `--profile audited` (or `plain`) loads only that app, for a profiler to see nothing else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acttrace::layer::guard::policy;
use acttrace::layer::{AuditLayer, GuardLayer};
use acttrace::redact::RedactionPolicy;
use acttrace::store::{AuditLog, Durability};
use acttrace::verify::{VerifyOptions, verify_path};
use axum::Router;
use axum::routing::post;
use tower::ServiceBuilder;

#[path = "support/stats.rs"]
mod stats;

#[path = "support/http.rs"]
mod http;

use self::http::{Conn, listen};

/// CPU time the handler spends per request (`--work-us`), standing in for what an agent
/// endpoint does before and after its model call (parsing, prompt assembly, scoring).
static WORK_US: AtomicU64 = AtomicU64::new(0);

async fn handler(body: String) -> String {
    let mut score = body
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    let work = Duration::from_micros(WORK_US.load(Ordering::Relaxed));
    let start = Instant::now();
    while start.elapsed() < work {
        score = std::hint::black_box(score.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    format!(r#"{{"score":{}}}"#, score % 100)
}

fn app() -> Router {
    Router::new().route("/agent/triage", post(handler))
}

/// Sends requests on one keep-alive connection until `stop`; counts responses.
async fn client(addr: SocketAddr, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) {
    let mut conn = Conn::open(addr).await;
    while !stop.load(Ordering::Relaxed) {
        conn.call().await;
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Nanoseconds on a CPU so far, for the writer thread and for every other thread of this
/// process (from `/proc/self/task/*/schedstat`; zeros where that is not available).
fn cpu_ns() -> (u64, u64) {
    let (mut writer, mut rest) = (0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for task in tasks.flatten() {
        let path = task.path();
        let ns: u64 = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() == "acttrace-writer" {
            writer += ns;
        } else {
            rest += ns;
        }
    }
    (writer, rest)
}

/// Requests per second, and CPU microseconds per request (writer thread, everything else).
async fn measure(addr: SocketAddr, connections: usize, seconds: f64) -> (f64, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        tasks.push(tokio::spawn(client(addr, stop.clone(), done.clone())));
    }
    // Warm up, then count.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start_count = done.load(Ordering::Relaxed);
    let start = Instant::now();
    let cpu_start = cpu_ns();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let cpu_end = cpu_ns();
    let counted = done.load(Ordering::Relaxed) - start_count;
    let rate = counted as f64 / start.elapsed().as_secs_f64();
    let per = |a: u64, b: u64| (b - a) as f64 / 1000.0 / counted.max(1) as f64;
    let cpu = (per(cpu_start.0, cpu_end.0), per(cpu_start.1, cpu_end.1));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client");
    }
    (rate, cpu.0, cpu.1)
}

fn main() {
    let mut seconds = 3.0;
    let mut connections = 64;
    let mut rounds = 3;
    let mut layers = "both".to_owned();
    let mut durability = Durability::Fsync;
    let mut redaction = Some(RedactionPolicy::default_preset());
    let mut commit_delays = vec![Duration::from_millis(20)];
    let mut profile: Option<String> = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => seconds = value().parse().unwrap_or(seconds),
            "--connections" => connections = value().parse().unwrap_or(connections),
            "--rounds" => rounds = value().parse().unwrap_or(rounds),
            "--layers" => layers = value(),
            "--profile" => profile = Some(value()),
            "--work-us" => WORK_US.store(value().parse().unwrap_or(0), Ordering::Relaxed),
            "--commit-delay-us" => {
                commit_delays = value()
                    .split(',')
                    .filter_map(|v| v.trim().parse().ok())
                    .map(Duration::from_micros)
                    .collect();
                if commit_delays.is_empty() {
                    commit_delays.push(Duration::from_millis(20));
                }
            }
            "--redaction" => {
                let name = value();
                redaction = RedactionPolicy::preset(&name);
            }
            "--durability" => {
                durability = match value().as_str() {
                    "none" => Durability::None,
                    "flush" => Durability::Flush,
                    _ => Durability::Fsync,
                }
            }
            _ => {}
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-layers");
        let _ = std::fs::remove_dir_all(&dir);
        let plain = listen(app()).await;
        let label = match layers.as_str() {
            "audit" => "AuditLayer",
            "guard" => "GuardLayer",
            "none" => "no layers (a second bare app)",
            _ => "AuditLayer + GuardLayer",
        };
        // One log and one audited app per commit delay.
        let mut audited = Vec::new();
        for (i, delay) in commit_delays.iter().enumerate() {
            let path = dir.join(format!("audit-{i}.jsonl"));
            let log = AuditLog::builder("bench")
                .durability(durability)
                .redaction(redaction.clone())
                .commit_delay(*delay)
                .open(&path)
                .await
                .expect("open");
            let guard = GuardLayer::new(log.clone(), (policy::secrets(), policy::personal_data()));
            let audit = AuditLayer::new(log.clone());
            let addr = listen(match layers.as_str() {
                "audit" => app().layer(audit),
                "guard" => app().layer(guard),
                // A second bare app: the method's own bias, which should measure as 0%.
                "none" => app(),
                // One `layer` call for both, as axum recommends for several layers: each
                // `Router::layer` call boxes every route once more.
                _ => app().layer(ServiceBuilder::new().layer(audit).layer(guard)),
            })
            .await;
            audited.push((*delay, log, path, addr));
        }

        if let Some(which) = &profile {
            let addr = if which == "plain" { plain } else { audited[0].3 };
            let (a, a_writer, a_cpu) = measure(addr, connections, seconds * f64::from(rounds)).await;
            println!("{which} only: {a:.0} req/s ({a_cpu:.1} us CPU/request + {a_writer:.1} us in the writer thread)");
        } else {
            let apps = 1 + audited.len();
            let mut best_plain = 0f64;
            let mut best = vec![0f64; audited.len()];
            let mut costs = vec![Vec::new(); audited.len()];
            for round in 1..=rounds {
                // Rotate the order, so that no app always meets the machine in the state the
                // one before it left.
                let mut rates = vec![(0f64, 0f64, 0f64); apps];
                for k in 0..apps {
                    let app = (k + round as usize) % apps;
                    let addr = if app == 0 { plain } else { audited[app - 1].3 };
                    rates[app] = measure(addr, connections, seconds).await;
                }
                let (p, _, p_cpu) = rates[0];
                let mut line = format!("round {round}: without layers {p:.0} req/s ({p_cpu:.1} us CPU/request)");
                best_plain = best_plain.max(p);
                for (i, (a, a_writer, a_cpu)) in rates[1..].iter().enumerate() {
                    line.push_str(&format!(
                        "; with {label} (commit delay {:?}) {a:.0} req/s ({a_cpu:.1} us CPU/request + {a_writer:.1} us in the writer thread)",
                        audited[i].0
                    ));
                    best[i] = best[i].max(*a);
                    costs[i].push((1.0 - a / p) * 100.0);
                }
                println!("{line}");
            }
            for (i, costs) in costs.iter_mut().enumerate() {
                let cost = (1.0 - best[i] / best_plain) * 100.0;
                println!(
                    "commit delay {:?}: best without {best_plain:.0} req/s, with {:.0} req/s, throughput cost {cost:.1}% ({connections} connections, {durability:?}, handler work {} us)",
                    audited[i].0,
                    best[i],
                    WORK_US.load(Ordering::Relaxed)
                );
                costs.sort_by(f64::total_cmp);
                if let (Some((median, below, above)), Some(lo), Some(hi)) =
                    (stats::median_interval(costs), costs.first(), costs.last())
                {
                    println!(
                        "commit delay {:?}: paired rounds: median throughput cost {median:.1}% (95% interval {below:.1}% to {above:.1}%; range {lo:.1}% to {hi:.1}% over {} rounds)",
                        audited[i].0,
                        costs.len()
                    );
                }
            }
        }
        // Requests still in flight when the clients stopped close their decisions now.
        tokio::time::sleep(Duration::from_millis(200)).await;
        for (delay, log, path, _) in audited {
            log.sync().await.expect("sync");
            let head = log.head();
            let gaps = log.pending_gap();
            log.shutdown().await.expect("shutdown");
            let report = verify_path(&path, &VerifyOptions::new().expected_entries(head.entries));
            assert!(report.is_ok(), "{report}");
            println!(
                "audit log (commit delay {delay:?}): {} entries, verifies; entries lost to a full queue: {gaps}",
                head.entries
            );
        }
    });
}

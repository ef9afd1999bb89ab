//! Latency percentiles of the inbound layers at a fixed offered load, open loop, from a load
//! generator in a process of its own.
//!
//! ```text
//! cargo bench --bench latency -- [--seconds S] [--fraction F] [--rounds R] [--layers L] [--windows]
//! ```
//!
//! The bench runs itself in two more roles. `serve` serves the same trivial axum app twice on
//! 127.0.0.1: bare, and behind `AuditLayer` and `GuardLayer` (`secrets()` +
//! `personal_data()`) wired as the README wires them, writing with the defaults
//! (`Durability::Fsync`, 20 ms commit delay); `--layers audit` or `--layers guard` puts one
//! layer alone there instead of both (default `both`), to tell their shares apart. `load ADDR RATE SECONDS` is an open-loop load
//! generator: requests fall due at fixed intervals whatever the answers, each goes out on the
//! first free one of 64 keep-alive connections, and its latency counts from when it fell due,
//! so a slow answer delays the measurement of the ones behind it instead of hiding them.
//!
//! The driver first finds the bare app's saturation rate (closed loop, 64 connections, 3 s),
//! then offers F of it (default 0.5) to each app in turn for S seconds (default 5), R rounds
//! (default 3) alternating which goes first, and prints p50, p90, p99, p99.9 and the maximum.
//! With `--windows`, each run's latency over time too: p50, p99 and the maximum of the
//! requests that fell due in each 100 ms, to tell a steady tail from episodes.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acttrace::layer::guard::policy;
use acttrace::layer::{AuditLayer, GuardLayer};
use acttrace::store::AuditLog;
use axum::Router;
use axum::routing::post;
use tower::ServiceBuilder;

#[path = "support/http.rs"]
mod http;

use self::http::{Conn, listen};

const CONNECTIONS: usize = 64;

fn app() -> Router {
    Router::new().route(
        "/agent/triage",
        post(|body: String| async move { body.len().to_string() }),
    )
}

/// Serves the bare and the audited app, prints their addresses, and runs until its standard
/// input closes.
async fn serve(layers: &str) {
    let dir = std::env::temp_dir().join(format!("acttrace-latency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = AuditLog::open("bench-latency", dir.join("audit.jsonl"))
        .await
        .expect("open");
    let bare = listen(app()).await;
    let guard = || GuardLayer::new(log.clone(), (policy::secrets(), policy::personal_data()));
    let audited = listen(match layers {
        "audit" => app().layer(AuditLayer::new(log.clone())),
        "guard" => app().layer(guard()),
        _ => app().layer(
            ServiceBuilder::new()
                .layer(AuditLayer::new(log.clone()))
                .layer(guard()),
        ),
    })
    .await;
    println!("bare {bare}");
    println!("audited {audited}");
    let _ = std::io::stdout().flush();
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
    })
    .await
    .expect("stdin");
    log.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Open-loop load on `addr`: `rate` requests a second for `seconds`; prints the percentiles.
///
/// The schedule is dealt out to the connections in turn (request `i` falls due at
/// `i / rate` and goes on connection `i % 64`, as wrk2 deals it): no lock between them, and a
/// connection still busy with an earlier answer sends late, the delay counted.
async fn load(addr: SocketAddr, rate: f64, seconds: f64, windows: bool) {
    let warm = 0.5;
    let total = (rate * (seconds + warm)) as u64;
    let warmup = Duration::from_secs_f64(warm);
    let start = Instant::now() + Duration::from_millis(300);
    let mut workers = Vec::new();
    for k in 0..CONNECTIONS as u64 {
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut took = Vec::new();
            let mut i = k;
            while i < total {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                conn.call().await;
                if due.duration_since(start) >= warmup {
                    took.push((due.duration_since(start), due.elapsed()));
                }
                i += CONNECTIONS as u64;
            }
            took
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let over_time = if windows {
        by_window(&mut all)
    } else {
        Vec::new()
    };
    let mut all: Vec<Duration> = all.into_iter().map(|(_, took)| took).collect();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "n={} p50={:.0} p90={:.0} p99={:.0} p999={:.0} max={:.0}",
        all.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    );
    for line in over_time {
        println!("{line}");
    }
}

/// The latency of the requests that fell due in each 100 ms of the run, as lines
/// `at MS: p50 P p99 P max M` (µs).
fn by_window(all: &mut [(Duration, Duration)]) -> Vec<String> {
    all.sort_unstable();
    all.chunk_by(|a, b| a.0.as_millis() / 100 == b.0.as_millis() / 100)
        .map(|window| {
            let mut took: Vec<Duration> = window.iter().map(|(_, took)| *took).collect();
            took.sort_unstable();
            let at = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
            format!(
                "  at {:5} ms: p50 {:7.0} p99 {:7.0} max {:7.0}",
                window[0].0.as_millis() / 100 * 100,
                at(0.5).as_secs_f64() * 1e6,
                at(0.99).as_secs_f64() * 1e6,
                at(1.0).as_secs_f64() * 1e6,
            )
        })
        .collect()
}

/// Closed loop, 64 connections, `seconds`: responses a second.
async fn saturation(addr: SocketAddr, seconds: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (stop, done) = (stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            while !stop.load(Ordering::Relaxed) {
                conn.call().await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (from, start) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let rate = (done.load(Ordering::Relaxed) - from) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    rate
}

/// Runs the load generator in a process of its own; returns its line.
fn load_process(addr: SocketAddr, rate: f64, seconds: f64, windows: bool) -> String {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "load",
            &addr.to_string(),
            &rate.to_string(),
            &seconds.to_string(),
        ])
        .args(windows.then_some("--windows"))
        .output()
        .expect("run the load generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    };
    match args.first().map(String::as_str) {
        Some("serve") => {
            let layers = args.get(1).map_or("both", String::as_str);
            return runtime().block_on(serve(layers));
        }
        Some("load") => {
            let addr: SocketAddr = args[1].parse().expect("addr");
            let (rate, seconds) = (args[2].parse().expect("rate"), args[3].parse().expect("s"));
            let windows = args.get(4).is_some_and(|a| a == "--windows");
            return runtime().block_on(load(addr, rate, seconds, windows));
        }
        _ => {}
    }
    let mut seconds = 5.0;
    let mut fraction = 0.5;
    let mut rounds = 3;
    let mut layers = "both".to_owned();
    let mut windows = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => seconds = value().parse().unwrap_or(seconds),
            "--fraction" => fraction = value().parse().unwrap_or(fraction),
            "--rounds" => rounds = value().parse().unwrap_or(rounds),
            "--layers" => layers = value(),
            "--windows" => windows = true,
            _ => {}
        }
    }
    let mut server = Command::new(std::env::current_exe().expect("exe"))
        .args(["serve", &layers])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let mut addr = |name: &str| -> SocketAddr {
        let line = lines.next().expect("a line").expect("read");
        line.strip_prefix(name)
            .and_then(|a| a.trim().parse().ok())
            .expect("an address")
    };
    let (bare, audited) = (addr("bare"), addr("audited"));
    let max = runtime().block_on(saturation(bare, 3.0));
    let max_audited = runtime().block_on(saturation(audited, 3.0));
    let rate = (max * fraction).round();
    let name = match layers.as_str() {
        "audit" => "AuditLayer",
        "guard" => "GuardLayer",
        _ => "both layers",
    };
    println!(
        "saturation (closed loop, {CONNECTIONS} connections, another process): bare {max:.0} req/s, {name} {max_audited:.0} req/s; offering {rate:.0} req/s ({fraction} of the bare app's), open loop, {seconds} s per app and round, latency in µs from when each request fell due"
    );
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [("bare", bare), (name, audited)]
        } else {
            [(name, audited), ("bare", bare)]
        };
        for (name, addr) in order {
            println!(
                "round {}: {name:12} {}",
                round + 1,
                load_process(addr, rate, seconds, windows)
            );
        }
    }
    drop(server.stdin.take());
    let _ = server.wait();
}

//! Appends to one chain in PostgreSQL from 1, 2, 4 and 8 processes of 64 tasks each, with
//! PostgreSQL's default durability (`synchronous_commit = on`) and the writer's
//! (`Durability::Fsync`): entries per second and p50/p99 append latency.
//!
//! ```text
//! ACTTRACE_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench --features postgres --bench postgres -- [--seconds S] [--processes 1,2,4,8]
//! ```
//!
//! The bench runs itself as each writer process (`child URL CHAIN SECONDS`): it opens the
//! chain, says `ready`, waits for `go` on its standard input, appends from 64 tasks for S
//! seconds (default 5), and prints its count and its latencies. Each run uses a new chain.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acttrace::chain::Entry;
use acttrace::json::Map;
use acttrace::store::{AuditLog, Durability};

const TASKS: u64 = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1], &args[2], args[3].parse().unwrap_or(5));
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = flag("--seconds").and_then(|s| s.parse().ok()).unwrap_or(5);
    let processes: Vec<usize> = flag("--processes")
        .unwrap_or_else(|| "1,2,4,8".to_owned())
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect();
    let url = std::env::var("ACTTRACE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    println!("processes x {TASKS} tasks, {seconds} s each, one chain, synchronous_commit = on");
    println!(
        "{:>9} {:>12} {:>10} {:>10} {:>10}",
        "processes", "entries/s", "p50 ms", "p99 ms", "max ms"
    );
    for p in processes {
        let chain = format!(
            "bench-{p}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        let mut children: Vec<_> = (0..p)
            .map(|_| {
                Command::new(std::env::current_exe().expect("bench binary"))
                    .args(["child", &url, &chain, &seconds.to_string()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("spawn a writer process")
            })
            .collect();
        let mut outs: Vec<_> = children
            .iter_mut()
            .map(|c| BufReader::new(c.stdout.take().expect("stdout")))
            .collect();
        for out in &mut outs {
            let mut line = String::new();
            out.read_line(&mut line).expect("ready");
            assert_eq!(
                line.trim(),
                "ready",
                "a writer process failed to open the chain"
            );
        }
        for c in &mut children {
            let _ = writeln!(c.stdin.as_mut().expect("stdin"), "go");
        }
        let (mut total, mut latencies) = (0u64, Vec::new());
        for out in outs {
            for line in out.lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("count ") {
                    total += n.parse::<u64>().unwrap_or(0);
                } else if let Some(us) = line.strip_prefix("latencies ") {
                    latencies.extend(us.split(',').filter_map(|v| v.parse::<u64>().ok()));
                }
            }
        }
        for mut c in children {
            let _ = c.wait();
        }
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q) as usize)
                .map_or(0.0, |us| *us as f64 / 1000.0)
        };
        println!(
            "{p:>9} {:>12.0} {:>10.2} {:>10.2} {:>10.2}",
            total as f64 / seconds as f64,
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
}

fn child(url: &str, chain: &str, seconds: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let log = AuditLog::builder("bench")
            .durability(Durability::Fsync)
            .open_postgres(url, chain)
            .await
            .expect("open the chain");
        println!("ready");
        let mut go = String::new();
        let _ = std::io::stdin().read_line(&mut go);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let mut p = Map::new();
                    p.insert("task", t);
                    p.insert("i", i);
                    p.insert("outcome", "approved");
                    let started = Instant::now();
                    log.append(Entry::new("decision_record", p))
                        .await
                        .expect("append");
                    latencies.push(started.elapsed().as_micros() as u64);
                    i += 1;
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        log.shutdown().await.expect("shutdown");
        println!("count {}", all.len());
        let text: Vec<String> = all.iter().map(u64::to_string).collect();
        println!("latencies {}", text.join(","));
    });
}

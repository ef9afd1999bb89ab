//! Memory under load, for `benches/memory.sh` to measure from outside with GNU `time`.
//!
//! ```text
//! cargo bench --bench memory -- append PATH N   # append N entries (fsync per batch, 64 tasks)
//! cargo bench --bench memory -- generate PATH BYTES   # write a log of about BYTES bytes, fast
//!                                                     # (decisions, each with a model call)
//! ```

use acttrace::chain::{DecisionId, Entry, LlmCall, SteppingClock, Usage};
use acttrace::json::Map;
use acttrace::store::{AuditLog, Durability};

fn entry(n: u64, id: &DecisionId) -> Entry {
    if n.is_multiple_of(2) {
        let mut input = Map::new();
        input.insert("applicant", format!("A-{n}"));
        input.insert(
            "digest",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        );
        Entry::decision(id, input, "scoring-agent")
    } else {
        Entry::llm_call(
            LlmCall::new("openai", "gpt-4o")
                .decision(Some(id))
                .usage(Usage::new(1200 + n % 100, 300))
                .cost("0.00475 USD")
                .latency_ms(412.25),
        )
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (mode, path, n) = match args.as_slice() {
        [mode, path, n] => (mode.as_str(), path.clone(), n.parse::<u64>().unwrap_or(0)),
        _ => {
            eprintln!("usage: memory append PATH N | memory generate PATH BYTES");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let _ = std::fs::remove_file(&path);
        match mode {
            "append" => {
                let log = AuditLog::builder("memory")
                    .durability(Durability::Fsync)
                    .open(&path)
                    .await
                    .expect("open");
                let tasks = 64;
                let mut handles = Vec::new();
                for t in 0..tasks {
                    let log = log.clone();
                    handles.push(tokio::spawn(async move {
                        let id = DecisionId::random();
                        for i in 0..n / tasks {
                            log.append(entry(t * n + i, &id)).await.expect("append");
                        }
                    }));
                }
                for h in handles {
                    h.await.expect("task");
                }
                let head = log.head();
                log.shutdown().await.expect("shutdown");
                println!("appended: {} entries in the chain", head.entries);
            }
            "generate" => {
                // Two years of entries (from 2024-01-01, one every 31 s): a period of the log
                // is a fraction of it.
                let start = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200);
                let log = AuditLog::builder("memory")
                    .clock(SteppingClock::new(
                        start,
                        std::time::Duration::from_secs(31),
                    ))
                    .durability(Durability::None)
                    .open(&path)
                    .await
                    .expect("open");
                // A decision and its model call, each decision its own.
                let mut id = DecisionId::random();
                let mut i = 0;
                loop {
                    for _ in 0..10_000 {
                        if i % 2 == 0 {
                            id = DecisionId::random();
                        }
                        log.enqueue(entry(i, &id)).await.expect("enqueue");
                        i += 1;
                    }
                    log.sync().await.expect("sync");
                    if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) >= n {
                        break;
                    }
                }
                let head = log.head();
                log.shutdown().await.expect("shutdown");
                println!("generated: {} entries, head {}", head.entries, head.hash);
            }
            _ => eprintln!("unknown mode {mode}"),
        }
    });
}

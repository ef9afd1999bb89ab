//! Faults: a writer killed with SIGKILL at random moments, a second process on the same file,
//! and random tampering of random chains.
//!
//! The child processes are this test binary run again in a helper mode (the ignored
//! `child_*` tests below, selected with `--ignored --exact`), so the child is real code paths
//! in a real, separate process.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acttrace::chain::Entry;
use acttrace::json::{Map, Value};
use acttrace::store::{AuditLog, Durability};
use acttrace::verify::{VerifyOptions, verify_path};

use crate::support::Scratch;

/// A small deterministic generator (xorshift64*), so failures reproduce from the seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn child(test: &str, path: &Path) -> Child {
    child_with(test, path, &[])
}

fn child_with(test: &str, path: &Path, env: &[(&str, &str)]) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            test,
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ACTTRACE_CHILD_LOG", path)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// Child mode: append from 16 tasks with fsync-per-batch durability, printing each
/// acknowledged `seq`, until killed.
#[test]
#[ignore = "helper: run as a child process by the crash test"]
fn child_appender() {
    let Some(path) = std::env::var_os("ACTTRACE_CHILD_LOG") else {
        return;
    };
    child_runtime().block_on(async move {
        let log = AuditLog::builder("crash")
            .durability(Durability::Fsync)
            .open(&path)
            .await
            .unwrap();
        append_until_killed(log).await;
    });
}

/// The appending children's runtime: two workers, as a small service has.
fn child_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Says `ready`, then appends from 16 tasks, printing each acknowledged `seq`, until killed
/// (or 20 s have passed: a child whose parent died stops by itself).
async fn append_until_killed(log: AuditLog) {
    {
        println!("ready");
        let mut tasks = Vec::new();
        for t in 0..16u64 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let mut p = Map::new();
                    p.insert("task", t);
                    p.insert("i", i);
                    p.insert("pad", "x".repeat(((t * 37 + i) % 300) as usize));
                    let r = log.append(Entry::new("probe", p)).await.unwrap();
                    // Acknowledged means durable: report it.
                    println!("ack {}", r.seq);
                }
            }));
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
    }
}

/// Child mode: open the log and hold it until killed.
#[test]
#[ignore = "helper: run as a child process by the two-writers test"]
fn child_holder() {
    let Some(path) = std::env::var_os("ACTTRACE_CHILD_LOG") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let _log = AuditLog::open("holder", &path).await.unwrap();
        println!("ready");
        tokio::time::sleep(Duration::from_secs(20)).await; // a watchdog, as above
    });
}

fn wait_ready(child: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    // libtest prints `test name ... ` without a line break first, so `ready` ends that line.
    while !line.trim_end().ends_with("ready") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child exited before it was ready"
        );
    }
    out
}

fn seqs_in(path: &Path) -> BTreeSet<u64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| Value::parse(l).ok())
        .filter_map(|v| v.get("seq").and_then(Value::as_u64))
        .collect()
}

/// SIGKILL the writer at random moments: every acknowledged entry survives, a torn tail is cut
/// and recorded, the chain verifies, and appending continues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_when_the_writer_is_killed() {
    let kills: u64 = std::env::var("ACTTRACE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let scratch = Scratch::new("crash");
    let mut rng = Rng::new(0x5eed_cafe);
    let mut acked_total = 0usize;
    let mut torn = 0;
    for round in 0..kills {
        // Each file lives through ten kills and restarts (re-walking a growing file on every
        // reopen is what a debug build spends its time on).
        let path = scratch.join(&format!("audit-{}.jsonl", round / 10));
        let acked = killed_after_a_while(child("faults::child_appender", &path), &mut rng);
        acked_total += acked.len();

        // Reopen: repairs a torn tail (recording it), checks the chain, continues it.
        let log = AuditLog::open("crash", &path)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        if log.recovery().is_some() {
            torn += 1;
        }
        let head = all_there_then_one_more(round, &acked, &seqs_in(&path), log).await;
        let report = verify_path(
            &path,
            &VerifyOptions::new()
                .expected_head(head.hash)
                .expected_entries(head.entries),
        );
        assert!(report.is_ok(), "round {round}: {report}");
    }
    assert!(acked_total > 0, "the children acknowledged nothing");
    eprintln!(
        "{kills} kills, {acked_total} acknowledged appends checked, {torn} torn tails repaired"
    );
}

/// After a kill, the reopened `log`: every `seq` acknowledged before it is `present`, and it
/// takes one more entry. Gives its head, once shut down.
async fn all_there_then_one_more(
    round: u64,
    acked: &[u64],
    present: &BTreeSet<u64>,
    log: AuditLog,
) -> acttrace::store::Head {
    let missing: Vec<&u64> = acked.iter().filter(|s| !present.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "round {round}: acknowledged entries lost: {missing:?}"
    );
    log.append(Entry::new("after_restart", Map::new()))
        .await
        .unwrap();
    let head = log.head();
    log.shutdown().await.unwrap();
    head
}

/// Lets an appending child run for 5 to 65 ms, kills it with SIGKILL, and gives the `seq`s it
/// acknowledged.
fn killed_after_a_while(mut proc: Child, rng: &mut Rng) -> Vec<u64> {
    let out = wait_ready(&mut proc);
    let reader = std::thread::spawn(move || {
        out.lines()
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("ack ").and_then(|s| s.parse::<u64>().ok()))
            .collect::<Vec<u64>>()
    });
    std::thread::sleep(Duration::from_millis(5 + rng.below(60)));
    proc.kill().expect("SIGKILL");
    let _ = proc.wait();
    reader.join().unwrap()
}

/// A second process opening a log that is being written gets a clear error.
#[tokio::test]
async fn a_second_process_is_locked_out() {
    let scratch = Scratch::new("two-writers");
    let path = scratch.join("audit.jsonl");
    let mut holder = child("faults::child_holder", &path);
    let _out = wait_ready(&mut holder);
    let err = AuditLog::open("second", &path)
        .await
        .expect_err("the file is held by another process");
    assert!(
        matches!(err, acttrace::store::Error::Locked { .. }),
        "expected Locked, got {err:?}"
    );
    assert!(err.to_string().contains("another writer"), "{err}");
    holder.kill().unwrap();
    let _ = holder.wait();
    // Once the holder is gone the log opens and verifies.
    let log = AuditLog::open("second", &path).await.unwrap();
    log.shutdown().await.unwrap();
    assert!(verify_path(&path, &VerifyOptions::new()).is_ok());
}

/// For random chains, write → verify is ok, and any single byte flip, line swap, deletion or
/// truncation is detected when the expected head is given.
#[tokio::test]
async fn random_tampering_is_always_detected() {
    let scratch = Scratch::new("property");
    let mut rng = Rng::new(0xa11ce);
    let started = Instant::now();
    let mut mutations = 0;
    for case in 0..40 {
        let path = scratch.join(&format!("chain-{case}.jsonl"));
        let key = if case % 2 == 0 { Some("k") } else { None };
        let mut b = AuditLog::builder("prop").durability(Durability::None);
        if let Some(k) = key {
            b = b.signing_key(k);
        }
        let log = b.open(&path).await.unwrap();
        for _ in 0..(2 + rng.below(12)) {
            log.append(Entry::new("probe", random_map(&mut rng, 3)))
                .await
                .unwrap();
        }
        // Durability::None acknowledges before writing: sync so the head is the final one.
        log.sync().await.unwrap();
        let head = log.head();
        log.shutdown().await.unwrap();
        let mut opts = VerifyOptions::new().expected_head(head.hash.clone());
        if let Some(k) = key {
            opts = opts.key(k.into());
        }
        let written = verify_path(&path, &opts);
        assert!(
            written.is_ok(),
            "case {case}: write then verify: {written}\n{}",
            std::fs::read_to_string(&path).unwrap()
        );
        let original = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = original.split_inclusive(|&b| b == b'\n').collect();
        let tampered = scratch.join("t.jsonl");
        for m in 0..30 {
            let bytes: Vec<u8> = match m % 4 {
                0 => {
                    // Flip one bit of one byte, anywhere but in the line breaks.
                    let mut b = original.clone();
                    let at = loop {
                        let at = rng.below(b.len() as u64) as usize;
                        if b[at] != b'\n' {
                            break at;
                        }
                    };
                    b[at] ^= 1 << rng.below(7);
                    b
                }
                1 => {
                    let (i, j) = (
                        rng.below(lines.len() as u64) as usize,
                        rng.below(lines.len() as u64) as usize,
                    );
                    if i == j {
                        continue;
                    }
                    let mut l = lines.clone();
                    l.swap(i, j);
                    l.concat()
                }
                2 => {
                    let mut l = lines.clone();
                    l.remove(rng.below(l.len() as u64) as usize);
                    l.concat()
                }
                _ => original[..rng.below(original.len() as u64) as usize].to_vec(),
            };
            if bytes == original {
                continue;
            }
            std::fs::write(&tampered, &bytes).unwrap();
            let report = verify_path(&tampered, &opts);
            // A flip can leave what the format protects unchanged: white space between tokens,
            // an equivalent escape, or an unhashed field (`sig` without a key). Anything
            // accepted must have exactly the protected content of the original.
            if report.is_ok() {
                assert_eq!(
                    m % 4,
                    0,
                    "case {case}, mutation {m}: only a byte flip may be harmless"
                );
                assert_eq!(
                    protected(&bytes, key.is_some()),
                    protected(&original, key.is_some()),
                    "case {case}: an accepted flip changed protected content"
                );
            }
            mutations += 1;
        }
    }
    eprintln!("{mutations} mutations checked in {:?}", started.elapsed());
}

/// What the chain protects of each line: the hashed fields and the links, and the signature
/// when a key is checked.
fn protected(bytes: &[u8], signed: bool) -> Vec<String> {
    let mut fields = vec!["seq", "ts", "type", "payload", "prev_hash", "hash"];
    if signed {
        fields.push("sig");
    }
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| Value::parse(l).ok())
        .map(|v| {
            fields
                .iter()
                .map(|f| v.get(f).map(Value::to_canonical).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn random_map(rng: &mut Rng, depth: u32) -> Map {
    let mut m = Map::new();
    for i in 0..rng.below(5) {
        let key = match rng.below(4) {
            0 => format!("k{i}"),
            1 => format!("ключ{i}"),
            2 => format!("é\"\\{i}"),
            _ => format!("Z{i}😀"),
        };
        m.insert(key, random_value(rng, depth));
    }
    m
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth == 0 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::from(rng.next() as i64),
        3 => Value::from(
            f64::from_bits(rng.next() & 0x7fef_ffff_ffff_ffff)
                * if rng.below(2) == 0 { 1.0 } else { -1.0 },
        ),
        4 => Value::from(["", "a\nb", "\u{1}\u{7f}", "😀 中文", "\u{2028}"][rng.below(5) as usize]),
        5 => Value::Int(format!("{}{}", rng.next(), rng.next()).parse().unwrap()),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(random_map(rng, depth - 1)),
    }
}

/// The crash test for a segmented log (sealed with Ed25519 keys).
#[cfg(feature = "ed25519")]
mod segmented {
    use super::*;
    use acttrace::chain::checkpoint::CheckpointKey;
    use acttrace::store::Segments;
    use acttrace::verify::segments::verify_segments;

    /// Child mode: as `child_appender`, into a segmented log of 4 KB segments (a rollover every
    /// few batches), sealed with the key in `ACTTRACE_CHILD_SEAL`.
    #[test]
    #[ignore = "helper: run as a child process by the segmented crash test"]
    fn child_segment_appender() {
        let (Some(dir), Ok(seal)) = (
            std::env::var_os("ACTTRACE_CHILD_LOG"),
            std::env::var("ACTTRACE_CHILD_SEAL"),
        ) else {
            return;
        };
        let seal = CheckpointKey::from_hex(&seal).unwrap();
        child_runtime().block_on(async move {
            let log = AuditLog::builder("crash")
                .durability(Durability::Fsync)
                .open_segments(&dir, Segments::new(seal).max_bytes(4_000))
                .await
                .unwrap();
            append_until_killed(log).await;
        });
    }

    /// As above for a segmented log rolling over every few batches, so that kills land in
    /// rollovers too: it reopens each time, no acknowledged entry is lost, and the directory
    /// verifies whole, every seal checked, to the head and count it reports.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_segmented_log_killed_at_random_reopens_whole() {
        let kills: u64 = std::env::var("ACTTRACE_CRASH_KILLS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        let scratch = Scratch::new("crash-segments");
        let seal = CheckpointKey::generate().unwrap();
        let hex = seal.to_hex();
        let mut rng = Rng::new(0x5e9_ca5e);
        let mut acked_total = 0usize;
        for round in 0..kills {
            let dir = scratch.join(&format!("log-{}", round / 10));
            let proc = child_with(
                "faults::segmented::child_segment_appender",
                &dir,
                &[("ACTTRACE_CHILD_SEAL", &hex)],
            );
            let acked = killed_after_a_while(proc, &mut rng);
            acked_total += acked.len();

            let log = AuditLog::builder("crash")
                .open_segments(&dir, Segments::new(seal.clone()).max_bytes(4_000))
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            let mut present = BTreeSet::new();
            for (_, segment) in segment_files(&dir) {
                present.extend(seqs_in(&segment));
            }
            let head = all_there_then_one_more(round, &acked, &present, log).await;
            let opts = VerifyOptions::new()
                .expected_head(head.hash)
                .expected_entries(head.entries);
            let report = verify_segments(&dir, &opts, Some(&seal.public()));
            assert!(report.is_ok(), "round {round}: {report}");
            assert_eq!(
                report.sealed + 1,
                report.segments,
                "round {round}: {report}"
            );
        }
        assert!(acked_total > 0, "the children acknowledged nothing");
        eprintln!("{kills} kills of a segmented log, {acked_total} acknowledged appends checked");
    }

    /// The segment files of `dir`, by index.
    fn segment_files(dir: &Path) -> Vec<(u64, std::path::PathBuf)> {
        let mut files: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name()?.to_str()?.to_owned();
                let index = name.strip_prefix("segment-")?.strip_suffix(".jsonl")?;
                Some((index.parse().ok()?, path))
            })
            .collect();
        files.sort();
        files
    }
}

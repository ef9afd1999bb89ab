//! The writer: layout, concurrency, resume, repair and refusals, on real files.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use acttrace::chain::{DecisionId, Entry, PolicyFlag, SigningKey, SteppingClock};
use acttrace::json::{Map, Value};
use acttrace::store::{AuditLog, Durability, Error, OnCorrupt, Recovery};
use acttrace::verify::{VerifyOptions, verify_path};

use crate::support::{Scratch, vectors_dir};

/// 2026-01-01T00:00:00+00:00, the reference vectors' clock origin.
const T0: u64 = 1_767_225_600;

fn reference_clock(step_index: u64) -> SteppingClock {
    SteppingClock::new(
        UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_micros(1001 * step_index),
        Duration::from_micros(1001),
    )
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|l| Value::parse(l).expect("line parses"))
        .collect()
}

fn kinds(path: &Path) -> Vec<String> {
    lines(path)
        .iter()
        .map(|v| {
            v.get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn map(pairs: &[(&str, Value)]) -> Map {
    pairs.iter().cloned().collect()
}

fn assert_verifies(path: &Path, opts: &VerifyOptions) -> u64 {
    let report = verify_path(path, opts);
    assert!(report.is_ok(), "{}: {report}", path.display());
    report.entries()
}

/// Appends v_basic's entries 1..=10 the way the reference's script made them.
async fn append_v_basic_body(log: &AuditLog) {
    let d1: DecisionId = "acc00000000000000000000000000001".parse().unwrap();
    let d2: DecisionId = "acc00000000000000000000000000002".parse().unwrap();
    let input = Value::from(map(&[
        ("applicant", "A-17".into()),
        ("amount", 25000.into()),
    ]));
    let entries = vec![
        Entry::decision(&d1, input, "scoring-agent"),
        Entry::decision_record(
            &d1,
            map(&[
                ("model", "gpt-4o".into()),
                ("prompt_id", "p-3".into()),
                ("score", 0.82.into()),
                ("features", vec!["income", "tenure"].into()),
            ]),
        ),
        Entry::policy_flag(
            PolicyFlag::new("score near threshold")
                .decision(&d1)
                .severity("info")
                .data("borderline"),
        ),
        Entry::human_oversight(&d1, "reviewer-42", "approved", "checked income docs"),
        Entry::decision_end(&d1, Map::new()),
        Entry::decision(&d2, "second case", "agent"),
        Entry::decision_record(
            &d2,
            map(&[
                ("outcome", "rejected".into()),
                ("reasons", map(&[("dti", 0.61.into())]).into()),
            ]),
        ),
        Entry::human_oversight(&d2, "reviewer-7", "overridden", ""),
        Entry::decision_end(&d2, Map::new()),
        Entry::policy_flag(
            PolicyFlag::new("manual policy flag")
                .action("blocked")
                .severity("critical")
                .data(vec!["credit_card"])
                .field("ticket", "T-1"),
        ),
    ];
    for e in entries {
        log.append(e).await.expect("append");
    }
}

/// Continuing the reference's own first line with the same entries must give its file back,
/// byte for byte: same layout, same canonical hashing, same timestamps, same signatures.
#[tokio::test]
async fn resumed_chain_is_byte_identical_to_the_reference() {
    for (name, key) in [
        ("v_basic.jsonl", None),
        ("v_basic_signed.jsonl", Some("test-signing-key-01")),
    ] {
        let scratch = Scratch::new("bytes");
        let want = std::fs::read_to_string(vectors_dir().join("valid").join(name)).unwrap();
        let path = scratch.join(name);
        std::fs::write(&path, want.lines().next().unwrap().to_owned() + "\n").unwrap();

        let mut b = AuditLog::builder("ignored-on-resume").clock(reference_clock(1));
        if let Some(k) = key {
            b = b.signing_key(k);
        }
        let log = b.open(&path).await.expect("open");
        assert_eq!(log.recovery(), None);
        append_v_basic_body(&log).await;
        let head = log.head();
        log.shutdown().await.unwrap();

        let got = std::fs::read_to_string(&path).unwrap();
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{name} line {}", i + 1);
        }
        assert_eq!(got, want, "{name}");
        assert_eq!(head.entries, 11);
        assert_eq!(
            head.hash,
            "fed54f4c6a8e6fcfb6034d70c976dfd14cce9e08d14f6727e9ff28a981f31cd9"
        );
    }
}

#[tokio::test]
async fn new_chain_opens_with_audit_open_in_reference_layout() {
    let scratch = Scratch::new("open");
    let path = scratch.join("nested/dir/audit.jsonl");
    let log = AuditLog::builder("loan-approval")
        .risk_tier("high")
        .clock(reference_clock(0))
        .open(&path)
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let want_prefix = format!(
        "{{\"seq\": 0, \"ts\": \"2026-01-01T00:00:00+00:00\", \"type\": \"audit_open\", \"payload\": \
         {{\"system\": \"loan-approval\", \"risk_tier\": \"high\", \"format\": \"acttrace-chain/1\", \
         \"producer\": \"acttrace-rs/{}\"}}, \"prev_hash\": \"{}\", \"hash\": \"",
        env!("CARGO_PKG_VERSION"),
        "0".repeat(64)
    );
    assert!(text.starts_with(&want_prefix), "{text}");
    assert!(text.ends_with("\", \"sig\": \"\"}\n"), "{text}");
    assert_eq!(assert_verifies(&path, &VerifyOptions::new()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_unique_contiguous_seqs() {
    let scratch = Scratch::new("concurrent");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("concurrency")
        .signing_key("k")
        .capacity(64)
        .open(&path)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..100u64 {
                let e = Entry::new("probe", map(&[("task", t.into()), ("i", i.into())]));
                seqs.push(log.append(e).await.expect("append").seq);
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        // One task's appends land in the order it made them.
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=6400).collect::<Vec<u64>>());
    let head = log.head();
    log.shutdown().await.unwrap();
    let opts = VerifyOptions::new()
        .key(SigningKey::from("k"))
        .expected_head(head.hash)
        .expected_entries(6401);
    assert_eq!(assert_verifies(&path, &opts), 6401);
}

#[tokio::test]
async fn reopen_continues_the_chain_without_a_second_audit_open() {
    let scratch = Scratch::new("resume");
    let path = scratch.join("audit.jsonl");
    for round in 0..3 {
        let log = AuditLog::open("resume", &path).await.unwrap();
        assert_eq!(log.head().entries, round * 2 + 1);
        let id = DecisionId::random();
        log.append(Entry::decision(&id, "x", "agent"))
            .await
            .unwrap();
        let r = log
            .append(Entry::decision_end(&id, Map::new()))
            .await
            .unwrap();
        assert_eq!(r.seq, round * 2 + 2);
        log.shutdown().await.unwrap();
    }
    assert_eq!(
        assert_verifies(&path, &VerifyOptions::new().expected_entries(7)),
        7
    );
    assert_eq!(
        kinds(&path).iter().filter(|k| *k == "audit_open").count(),
        1
    );
}

#[tokio::test]
async fn torn_last_line_is_cut_reported_and_recorded() {
    let scratch = Scratch::new("torn");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("torn", &path).await.unwrap();
    log.append(Entry::new("probe", Map::new())).await.unwrap();
    let before = log.head();
    log.shutdown().await.unwrap();

    // A crash mid-write leaves half a line.
    let torn = b"{\"seq\": 2, \"ts\": \"2026-01-01T00:00:00+00:00\", \"type\": \"pro";
    let mut bytes = std::fs::read(&path).unwrap();
    let good = bytes.clone();
    bytes.extend_from_slice(torn);
    std::fs::write(&path, &bytes).unwrap();
    assert!(!verify_path(&path, &VerifyOptions::new()).is_ok());

    let log = AuditLog::open("torn", &path).await.unwrap();
    match log.recovery() {
        Some(Recovery::TornTail {
            bytes_removed,
            sha256,
        }) => {
            assert_eq!(*bytes_removed, torn.len() as u64);
            assert_eq!(sha256.len(), 64);
        }
        other => panic!("expected a torn-tail recovery, got {other:?}"),
    }
    log.append(Entry::new("after", Map::new())).await.unwrap();
    log.shutdown().await.unwrap();

    let after = std::fs::read(&path).unwrap();
    assert!(after.starts_with(&good), "the verified prefix is untouched");
    assert_eq!(kinds(&path), ["audit_open", "probe", "recovery", "after"]);
    let rec = &lines(&path)[2];
    assert_eq!(
        rec.get("prev_hash").and_then(Value::as_str),
        Some(before.hash.as_str())
    );
    assert_eq!(
        rec.get("payload")
            .and_then(|p| p.get("reason"))
            .and_then(Value::as_str),
        Some("torn_tail")
    );
    assert_verifies(&path, &VerifyOptions::new().expected_entries(4));
}

#[tokio::test]
async fn whole_last_entry_without_its_line_break_is_kept() {
    let scratch = Scratch::new("nolf");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("nolf", &path).await.unwrap();
    log.append(Entry::new("probe", Map::new())).await.unwrap();
    log.shutdown().await.unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&path, &bytes).unwrap();

    let log = AuditLog::open("nolf", &path).await.unwrap();
    assert_eq!(log.recovery(), None);
    assert_eq!(log.head().entries, 2);
    log.append(Entry::new("after", Map::new())).await.unwrap();
    log.shutdown().await.unwrap();
    assert_eq!(kinds(&path), ["audit_open", "probe", "after"]);
    assert_verifies(&path, &VerifyOptions::new().expected_entries(3));
}

#[tokio::test]
async fn a_chain_that_does_not_verify_is_refused_or_set_aside() {
    let scratch = Scratch::new("corrupt");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("corrupt", &path).await.unwrap();
    for i in 0..3 {
        log.append(Entry::new("probe", map(&[("i", i.into())])))
            .await
            .unwrap();
    }
    log.shutdown().await.unwrap();
    let tampered = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"i\": 1", "\"i\": 7");
    std::fs::write(&path, &tampered).unwrap();

    match AuditLog::open("corrupt", &path).await {
        Err(Error::Corrupt { detail, .. }) => {
            assert_eq!(detail, "tampered entry at seq 2: hash mismatch");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        tampered,
        "refusal leaves the file as it was"
    );

    let log = AuditLog::builder("corrupt")
        .on_corrupt(OnCorrupt::StartNewChain)
        .open(&path)
        .await
        .unwrap();
    let previous = match log.recovery() {
        Some(Recovery::NewChain { previous, detail }) => {
            assert!(detail.contains("hash mismatch"));
            previous.clone()
        }
        other => panic!("expected NewChain, got {other:?}"),
    };
    log.shutdown().await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&previous).unwrap(),
        tampered,
        "the rejected chain is kept"
    );
    assert_eq!(kinds(&path), ["audit_open", "recovery"]);
    assert_verifies(&path, &VerifyOptions::new());
}

#[tokio::test]
async fn keys_must_fit_the_log() {
    let scratch = Scratch::new("keys");
    let signed = scratch.join("signed.jsonl");
    let log = AuditLog::builder("keys")
        .signing_key("right")
        .open(&signed)
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    assert!(matches!(
        AuditLog::open("keys", &signed).await,
        Err(Error::KeyRequired { .. })
    ));
    assert!(matches!(
        AuditLog::builder("keys")
            .signing_key("wrong")
            .open(&signed)
            .await,
        Err(Error::WrongKey { .. })
    ));
    let log = AuditLog::builder("keys")
        .signing_key("right")
        .open(&signed)
        .await
        .unwrap();
    log.shutdown().await.unwrap();

    let unsigned = scratch.join("unsigned.jsonl");
    AuditLog::open("keys", &unsigned)
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();
    assert!(matches!(
        AuditLog::builder("keys")
            .signing_key("right")
            .open(&unsigned)
            .await,
        Err(Error::UnexpectedKey { .. })
    ));
}

#[tokio::test]
async fn a_second_writer_is_locked_out() {
    let scratch = Scratch::new("lock");
    let path = scratch.join("audit.jsonl");
    let first = AuditLog::open("lock", &path).await.unwrap();
    assert!(matches!(
        AuditLog::open("lock", &path).await,
        Err(Error::Locked { .. })
    ));
    first.shutdown().await.unwrap();
    // Released on shutdown: a restart resumes.
    AuditLog::open("lock", &path)
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_evidence_pack_is_not_a_log() {
    let scratch = Scratch::new("pack");
    let path = scratch.join("pack.jsonl");
    std::fs::copy(
        vectors_dir().join("export/x_eu_ai_act_unsigned.jsonl"),
        &path,
    )
    .unwrap();
    assert!(matches!(
        AuditLog::open("pack", &path).await,
        Err(Error::NotALog { .. })
    ));
    // Without its header (every entry still annotated), still a pack: never continued.
    let text = std::fs::read_to_string(&path).unwrap();
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, body).unwrap();
    assert!(matches!(
        AuditLog::open("pack", &path).await,
        Err(Error::NotALog { .. })
    ));
}

#[tokio::test]
async fn appends_after_shutdown_fail_cleanly() {
    let scratch = Scratch::new("closed");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("closed", &path).await.unwrap();
    let other = log.clone();
    log.shutdown().await.unwrap();
    assert!(matches!(
        other.append(Entry::new("late", Map::new())).await,
        Err(Error::WriterClosed)
    ));
    assert!(!other.try_record(Entry::new("late", Map::new())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_durability_setting_writes_a_verifying_chain() {
    for durability in [Durability::None, Durability::Flush, Durability::Fsync] {
        let scratch = Scratch::new("durability");
        let path = scratch.join("audit.jsonl");
        let log = AuditLog::builder("d")
            .durability(durability)
            .open(&path)
            .await
            .unwrap();
        for i in 0..200 {
            log.append(Entry::new("probe", map(&[("i", i.into())])))
                .await
                .unwrap();
        }
        log.sync().await.unwrap();
        // After sync the file holds everything, whatever the setting.
        assert_verifies(&path, &VerifyOptions::new().expected_entries(201));
        log.shutdown().await.unwrap();
    }
}

/// Entries that cannot be queued are never lost silently: a `gap` entry counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_overflow_is_recorded_as_a_gap() {
    let scratch = Scratch::new("gap");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("gap")
        .capacity(1)
        .open(&path)
        .await
        .unwrap();
    let (mut queued, mut refused) = (0u64, 0u64);
    for i in 0..5000u64 {
        if log.try_record(Entry::new("probe", map(&[("i", i.into())]))) {
            queued += 1;
        } else {
            refused += 1;
        }
    }
    assert!(refused > 0, "a one-slot queue must overflow");
    log.append(Entry::new("after", Map::new())).await.unwrap();
    log.shutdown().await.unwrap();

    let all = lines(&path);
    let probes = all
        .iter()
        .filter(|v| v.get("type").and_then(Value::as_str) == Some("probe"))
        .count();
    let dropped: u64 = all
        .iter()
        .filter(|v| v.get("type").and_then(Value::as_str) == Some("gap"))
        .filter_map(|v| {
            v.get("payload")
                .and_then(|p| p.get("dropped"))
                .and_then(Value::as_u64)
        })
        .sum();
    assert_eq!(probes as u64, queued);
    assert_eq!(dropped, refused);
    assert_verifies(&path, &VerifyOptions::new());
}

/// Mounts a small tmpfs (root only, as in CI) and unmounts it when dropped.
struct SmallFs(std::path::PathBuf);

impl SmallFs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a size-limited tmpfs and needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(at.to_owned())
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `dir` with a file, returning its path.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    while f.write_all(&chunk[..1]).is_ok() {}
    filler
}

#[tokio::test]
async fn disk_full_fails_the_append_and_keeps_the_head() {
    let scratch = Scratch::new("enospc");
    let mnt = scratch.join("mnt");
    let _fs = SmallFs::mount(&mnt, "256k");
    let path = mnt.join("audit.jsonl");
    let log = AuditLog::builder("enospc")
        .signing_key("k")
        .open(&path)
        .await
        .unwrap();
    log.append(Entry::new("before", Map::new())).await.unwrap();
    let head = log.head();
    let len = std::fs::metadata(&path).unwrap().len();

    let filler = fill(&mnt);
    let big = "x".repeat(64 * 1024);
    let err = log
        .append(Entry::new("lost", map(&[("blob", big.as_str().into())])))
        .await
        .expect_err("a full disk must fail the append");
    match &err {
        Error::Write(e) => assert_eq!(e.raw_os_error(), Some(28), "ENOSPC: {e}"),
        other => panic!("expected a write error, got {other:?}"),
    }
    assert_eq!(log.head(), head, "a failed write does not move the head");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        len,
        "no partial line is left"
    );

    std::fs::remove_file(filler).unwrap();
    let r = log.append(Entry::new("after", Map::new())).await.unwrap();
    assert_eq!(
        r.seq, 3,
        "the failed entry's seq is reused by the failure's record"
    );
    log.shutdown().await.unwrap();

    assert_eq!(
        kinds(&path),
        ["audit_open", "before", "write_failure", "after"]
    );
    let hole = &lines(&path)[2];
    assert_eq!(
        hole.get("prev_hash").and_then(Value::as_str),
        Some(head.hash.as_str()),
        "the next entry links to the last entry on disk"
    );
    let refused = hole
        .get("payload")
        .and_then(|p| p.get("refused_by_type"))
        .and_then(|p| p.get("lost"))
        .and_then(Value::as_u64);
    assert_eq!(refused, Some(1), "the refused append is recorded: {hole:?}");
    assert_verifies(
        &path,
        &VerifyOptions::new()
            .key(SigningKey::from("k"))
            .expected_entries(4),
    );
}

/// Files big enough for the multi-core verifier: every kind of damage is reported exactly as
/// the line-at-a-time walk reports it, at the right seq and line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_are_verified_in_parallel_with_exact_verdicts() {
    let scratch = Scratch::new("parallel");
    let path = scratch.join("big.jsonl");
    let log = AuditLog::builder("big")
        .durability(Durability::None)
        .open(&path)
        .await
        .unwrap();
    let pad = "p".repeat(200);
    for i in 0..20_000u64 {
        log.append(Entry::new(
            "probe",
            map(&[("i", i.into()), ("pad", pad.as_str().into())]),
        ))
        .await
        .unwrap();
    }
    log.sync().await.unwrap(); // Durability::None acknowledges before writing
    let head = log.head();
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.len() > 4 << 20, "spans many batches");
    let lines: Vec<&str> = text.lines().collect();
    let write = |name: &str, lines: &[String]| {
        let p = scratch.join(name);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        p
    };
    let owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let opts = VerifyOptions::new().expected_head(head.hash.clone());
    assert_eq!(assert_verifies(&path, &opts), 20_001);

    for at in [5, 9_999, 19_998] {
        let mut edited = owned.clone();
        edited[at] = edited[at].replace("\"pad\": \"p", "\"pad\": \"q");
        let r = verify_path(write("edited.jsonl", &edited), &opts);
        assert_eq!(
            r.detail(),
            format!("tampered entry at seq {at}: hash mismatch")
        );
        assert_eq!(r.entries(), at as u64, "entries checked before the verdict");

        // One thread or four: the same verdict, at the same entry.
        for threads in [1, 4] {
            let one = verify_path(scratch.join("edited.jsonl"), &opts.clone().threads(threads));
            assert_eq!(
                (one.detail(), one.entries()),
                (r.detail(), r.entries()),
                "{threads}"
            );
        }

        let mut deleted = owned.clone();
        deleted.remove(at);
        let r = verify_path(write("deleted.jsonl", &deleted), &opts);
        assert_eq!(
            r.detail(),
            format!("broken link at seq {}: prev_hash mismatch", at + 1)
        );

        let mut garbage = owned.clone();
        garbage.insert(at, "{\"not\": json".to_owned());
        let r = verify_path(write("garbage.jsonl", &garbage), &opts);
        assert!(
            r.detail().starts_with(&format!(
                "corrupt log {}: line {}: ",
                scratch.join("garbage.jsonl").display(),
                at + 1
            )),
            "{r}"
        );
    }
    let r = verify_path(write("cut.jsonl", &owned[..15_000]), &opts);
    assert_eq!(r.class(), "incomplete_head");
    assert_eq!(r.entries(), 15_000);
}

/// The commit delay batches entries nobody waits on, and never delays a caller who waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commit_delay_never_delays_a_waiting_caller() {
    let scratch = Scratch::new("commit-delay");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("delay")
        .commit_delay(Duration::from_secs(30))
        .open(&path)
        .await
        .unwrap();
    for _ in 0..3 {
        // An entry nobody waits on puts the writer into its (long) delay...
        log.enqueue(Entry::new("queued", Map::new())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        // ...and a caller who waits cuts it short.
        let start = std::time::Instant::now();
        log.append(Entry::new("awaited", Map::new())).await.unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "waited {:?}",
            start.elapsed()
        );
    }
    assert_eq!(kinds(&path).iter().filter(|k| *k == "queued").count(), 3);
    log.shutdown().await.unwrap();

    let path = scratch.join("short.jsonl");
    let log = AuditLog::builder("delay")
        .commit_delay(Duration::from_millis(20))
        .open(&path)
        .await
        .unwrap();
    log.enqueue(Entry::new("queued", Map::new())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        kinds(&path),
        ["audit_open", "queued"],
        "on disk within the delay, no one waiting"
    );
    log.shutdown().await.unwrap();
}

/// A lock released moments later (as when a forked child is about to exec) is waited for; a
/// held one is reported.
#[tokio::test]
async fn a_lock_released_moments_later_is_waited_for() {
    let scratch = Scratch::new("lock-wait");
    let path = scratch.join("audit.jsonl");
    AuditLog::open("lock", &path)
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();

    let other = std::fs::File::open(&path).unwrap();
    other.lock().unwrap();
    let held = AuditLog::builder("lock")
        .lock_wait(Duration::ZERO)
        .open(&path)
        .await;
    assert!(matches!(held, Err(Error::Locked { .. })));
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(other);
    });
    let log = AuditLog::open("lock", &path)
        .await
        .expect("waited for the lock");
    release.join().unwrap();
    log.shutdown().await.unwrap();
}

/// By default secrets and e-mail addresses never reach the file: they are scrubbed before the
/// entry is hashed, the entry is followed by a `policy_flag` naming the categories (never the
/// values), other personal data is flagged in place, and the chain verifies here and in the
/// reference. With `redaction(None)` entries are written as given.
#[tokio::test]
async fn secrets_are_redacted_before_hashing_and_flagged_after() {
    use acttrace::redact::RedactionPolicy;

    let scratch = Scratch::new("redaction");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("redaction", &path).await.unwrap();
    let id = DecisionId::random();
    let mut p = Map::new();
    p.insert(
        "input",
        "contact bob@example.com with key sk-ant-api03-abcdefghijklmnopqrstuv, tel (415) 555-0123",
    );
    p.insert("cost", "0.004750000 USD");
    log.append(Entry::decision_record(&id, p)).await.unwrap();
    log.append(Entry::human_oversight(&id, "r-1", "approved", "no issues"))
        .await
        .unwrap();
    let head = closed(log).await;
    kept_out(&path, &["bob@example.com", "sk-ant-api03"]);
    let rows = lines(&path);
    assert_eq!(
        kinds(&path),
        [
            "audit_open",
            "decision_record",
            "policy_flag",
            "policy_flag",
            "human_oversight"
        ]
    );
    let field = |i: usize, k: &str| {
        rows[i]
            .get("payload")
            .and_then(|p| p.get(k))
            .cloned()
            .unwrap()
    };
    let input = field(1, "input");
    assert_eq!(
        input.as_str(),
        Some("contact <redacted> with key <redacted>, tel (415) 555-0123")
    );
    let flag = field;
    assert_eq!(flag(2, "action").as_str(), Some("redacted"));
    assert_eq!(
        flag(2, "data").to_line_json(),
        r#"["anthropic_key", "email"]"#
    );
    assert_eq!(
        flag(2, "decision_id").as_str(),
        Some(id.to_string().as_str())
    );
    assert_eq!(flag(3, "action").as_str(), Some("flagged"));
    assert_eq!(flag(3, "data").to_line_json(), r#"["phone"]"#);
    assert_verifies(&path, &VerifyOptions::new().expected_head(&head.hash));
    let (ok, detail) = crate::support::reference_verify(&path, None, Some(&head.hash));
    assert!(ok, "reference: {detail}");

    // Opting out writes entries as given.
    let raw = scratch.join("raw.jsonl");
    let log = AuditLog::builder("raw")
        .redaction(None)
        .open(&raw)
        .await
        .unwrap();
    let mut p = Map::new();
    p.insert("input", "bob@example.com");
    log.append(Entry::decision_record(&id, p)).await.unwrap();
    log.shutdown().await.unwrap();
    assert!(
        std::fs::read_to_string(&raw)
            .unwrap()
            .contains("bob@example.com")
    );
    assert_eq!(kinds(&raw), ["audit_open", "decision_record"]);

    // Strict: everything found is scrubbed.
    let strict = scratch.join("strict.jsonl");
    let log = AuditLog::builder("strict")
        .redaction(Some(RedactionPolicy::strict()))
        .open(&strict)
        .await
        .unwrap();
    let mut p = Map::new();
    p.insert("input", "tel (415) 555-0123, iban GB82WEST12345698765432");
    log.append(Entry::decision_record(&id, p)).await.unwrap();
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&strict).unwrap();
    assert!(
        !text.contains("555-0123") && !text.contains("GB82"),
        "{text}"
    );
    assert_eq!(
        kinds(&strict),
        [
            "audit_open",
            "decision_record",
            "policy_flag",
            "policy_flag"
        ]
    );
}

/// A value under a field whose name says it is a secret never reaches the file, whatever it
/// looks like (a password, a header's credentials, a card's code, a list of cookies, a number),
/// nested at any depth: it is `<redacted>` before hashing and a `policy_flag` names
/// `secret_field`; counts such as `input_tokens` are kept, and the chain verifies here and in
/// the reference. A URL's password and a Stripe key in free text go too. A policy that allows
/// `secret_field` keeps the values under such names (and still scrubs known shapes).
#[tokio::test]
async fn values_under_secret_field_names_are_redacted_whatever_they_look_like() {
    use acttrace::redact::{Action, RedactionPolicy, SECRET_FIELD};

    let payload = || {
        let v = serde_json::json!({
            "tool": "sql",
            "arguments": {"db_password": "hunter2-plain", "query": "select 1"},
            "headers": {
                "Authorization": "Basic dXNlcjpwYXNzd29yZA==",
                "X-Api-Key": "k-7f3a91",
                "Cookie": ["sid=opaque-41", "theme=dark"],
                "Accept": "application/json"
            },
            "card": {"cvv": 731, "items": 3},
            "usage": {"input_tokens": 812, "output_tokens": 40},
            "clientSecret": {"value": "nested-opaque-99"},
            "has_password": true,
            "token": "",
            "note": "db at postgres://app:s3cret-pw@db/x, billing sk_live_51HabcdefghijKLMNOP"
        });
        let Value::Object(m) = Value::from(v) else {
            unreachable!()
        };
        m
    };
    let scratch = Scratch::new("secret-fields");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("secret-fields", &path).await.unwrap();
    let id = DecisionId::random();
    log.append(Entry::decision_record(&id, payload()))
        .await
        .unwrap();
    let head = closed(log).await;
    kept_out(
        &path,
        &[
            "hunter2-plain",
            "dXNlcjpwYXNzd29yZA",
            "k-7f3a91",
            "opaque-41",
            "theme=dark",
            "s3cret-pw",
            "sk_live_51H",
        ],
    );
    let rows = lines(&path);
    let p = rows[1].get("payload").unwrap();
    let at = |path: &[&str]| {
        path.iter()
            .try_fold(p, |v, k| v.get(k))
            .map(Value::to_line_json)
    };
    let redacted = Some("\"<redacted>\"".to_owned());
    assert_eq!(at(&["arguments", "db_password"]), redacted);
    assert_eq!(at(&["arguments", "query"]).as_deref(), Some("\"select 1\""));
    assert_eq!(at(&["headers", "Authorization"]), redacted);
    assert_eq!(at(&["headers", "X-Api-Key"]), redacted);
    assert_eq!(
        at(&["headers", "Cookie"]).as_deref(),
        Some(r#"["<redacted>", "<redacted>"]"#)
    );
    assert_eq!(
        at(&["headers", "Accept"]).as_deref(),
        Some("\"application/json\"")
    );
    assert_eq!(at(&["card", "cvv"]), redacted);
    assert_eq!(at(&["card", "items"]).as_deref(), Some("3"));
    assert_eq!(at(&["usage", "input_tokens"]).as_deref(), Some("812"));
    // A map under such a name is scanned as any other; flags and empty values stay.
    assert_eq!(
        at(&["clientSecret", "value"]).as_deref(),
        Some("\"nested-opaque-99\"")
    );
    assert_eq!(at(&["has_password"]).as_deref(), Some("true"));
    assert_eq!(at(&["token"]).as_deref(), Some("\"\""));
    assert_eq!(
        kinds(&path),
        ["audit_open", "decision_record", "policy_flag"]
    );
    let flag = rows[2].get("payload").unwrap();
    assert_eq!(flag.get("action").and_then(Value::as_str), Some("redacted"));
    assert_eq!(
        flag.get("data").map(Value::to_line_json).as_deref(),
        Some(r#"["secret_field", "stripe_key", "url_password"]"#)
    );
    assert_eq!(
        at(&["note"]).as_deref(),
        Some("\"db at postgres://app:<redacted>@db/x, billing <redacted>\"")
    );
    assert_verifies(&path, &VerifyOptions::new().expected_head(&head.hash));
    let (ok, detail) = crate::support::reference_verify(&path, None, Some(&head.hash));
    assert!(ok, "reference: {detail}");

    // Allowed: the values are written as given.
    let kept = scratch.join("kept.jsonl");
    let log = AuditLog::builder("kept")
        .redaction(Some(
            RedactionPolicy::default_preset().rule(SECRET_FIELD, Action::Allow),
        ))
        .open(&kept)
        .await
        .unwrap();
    log.append(Entry::decision_record(&id, payload()))
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&kept).unwrap();
    assert!(
        text.contains("hunter2-plain") && text.contains("opaque-41"),
        "{text}"
    );
    assert!(
        !text.contains("s3cret-pw"),
        "shapes are still found: {text}"
    );
    assert_eq!(
        kinds(&kept),
        ["audit_open", "decision_record", "policy_flag"]
    );
}

/// A card number sent as a JSON number is a card number all the same: under a policy that
/// redacts financial data it is `<redacted>` (a string now) before hashing, and named in the
/// flag; under the default one it is flagged. Integers too short to be one (counts, times in
/// seconds and milliseconds) and long ones that are not (no card's checksum) stay numbers. The
/// chain verifies here and in the reference.
#[tokio::test]
async fn card_numbers_sent_as_numbers_are_found() {
    use acttrace::redact::RedactionPolicy;

    let payload = || {
        let v = Value::parse(
            r#"{"billing": {"pan": 4111111111111111, "amex": -340000000000009,
                "order_id": 1733550000123, "created": 1733550000, "amount_cents": 250000,
                "ledger": 98765432109876543210987}, "cards": [5500005555555559]}"#,
        )
        .unwrap();
        let Value::Object(m) = v else { unreachable!() };
        m
    };
    let scratch = Scratch::new("card-numbers");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("cards")
        .redaction(Some(RedactionPolicy::gdpr()))
        .open(&path)
        .await
        .unwrap();
    let id = DecisionId::random();
    log.append(Entry::decision_record(&id, payload()))
        .await
        .unwrap();
    let head = closed(log).await;
    kept_out(
        &path,
        &["4111111111111111", "340000000000009", "5500005555555559"],
    );
    let rows = lines(&path);
    let p = rows[1].get("payload").unwrap();
    let at = |path: &[&str]| {
        path.iter()
            .try_fold(p, |v, k| v.get(k))
            .map(Value::to_line_json)
    };
    let redacted = Some("\"<redacted>\"".to_owned());
    assert_eq!(at(&["billing", "pan"]), redacted);
    assert_eq!(at(&["billing", "amex"]), redacted);
    assert_eq!(at(&["cards"]).as_deref(), Some(r#"["<redacted>"]"#));
    for (key, kept) in [
        ("order_id", "1733550000123"),
        ("created", "1733550000"),
        ("amount_cents", "250000"),
        ("ledger", "98765432109876543210987"),
    ] {
        assert_eq!(at(&["billing", key]).as_deref(), Some(kept), "{key}");
    }
    let flag = rows[2].get("payload").unwrap();
    assert_eq!(
        flag.get("data").map(Value::to_line_json).as_deref(),
        Some(r#"["credit_card"]"#)
    );
    assert_verifies(&path, &VerifyOptions::new().expected_head(&head.hash));
    let (ok, detail) = crate::support::reference_verify(&path, None, Some(&head.hash));
    assert!(ok, "reference: {detail}");

    // The default policy flags card numbers and keeps them.
    let flagged = scratch.join("flagged.jsonl");
    let log = AuditLog::open("cards", &flagged).await.unwrap();
    log.append(Entry::decision_record(&id, payload()))
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let rows = lines(&flagged);
    assert_eq!(
        rows[1]
            .get("payload")
            .and_then(|p| p.get("billing"))
            .and_then(|b| b.get("pan"))
            .map(Value::to_line_json)
            .as_deref(),
        Some("4111111111111111")
    );
    let flag = rows[2].get("payload").unwrap();
    assert_eq!(flag.get("action").and_then(Value::as_str), Some("flagged"));
    assert!(
        flag.get("data")
            .map(Value::to_line_json)
            .is_some_and(|d| d.contains("credit_card")),
        "{flag:?}"
    );
}

/// Keys of no known shape written as assignments (a `.env` file a tool read, a URL's query)
/// and AI platforms' keys are redacted by the default policy, the names kept readable, and so
/// is a file the redactor cannot read (compressed with xz); the chain verifies here and in the
/// reference.
#[tokio::test]
async fn keys_in_assignments_and_ai_platform_keys_are_redacted() {
    let scratch = Scratch::new("assigned-keys");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("keys", &path).await.unwrap();
    let output = "AZURE_OPENAI_ENDPOINT=https://acme.openai.azure.com\n\
                  AZURE_OPENAI_API_KEY=0123456789abcdef0123456789abcdef\n\
                  PINECONE_API_KEY=pcsk_AbCdE_FgHiJkLmNoPqRsTuVwXyZ0123456789AbCdEfGhIjKl\n\
                  MAX_TOKENS=4096";
    let mut args = acttrace::json::Map::new();
    args.insert("stdout", output);
    args.insert(
        "url",
        "https://api.example.com/v1/search?q=loans&api_key=abc123def456",
    );
    // A file passed on as a data: URL: "OPENAI_API_KEY=9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c".
    args.insert(
        "file",
        "data:text/plain;base64,T1BFTkFJX0FQSV9LRVk9OWY4ZTdkNmM1YjRhM2YyZTFkMGM5YjhhN2Y2ZTVkNGM=",
    );
    // The same as a document block's bare base64: "STRIPE_SECRET=Zx81kPq0Lm27Wn45Rt93".
    args.insert(
        "document",
        "IyBzdGFnaW5nClNUUklQRV9TRUNSRVQ9Wng4MWtQcTBMbTI3V240NVJ0OTMK",
    );
    // And gzipped: "GROQ_API_KEY=gsk_..." in a `.env.gz` a tool read.
    args.insert("archive", {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(
            b"# staging\nGROQ_API_KEY=gsk_4fJx9TqLm2Vw8RzNc0BdHk7YpE3sAu6iGo1eXlWb5QvCnT\n",
        )
        .expect("compress");
        crate::support::base64(&gz.finish().expect("compress"))
    });
    // And an `.env.xz`, which the redactor cannot read: not kept either.
    args.insert("backup", {
        let mut xz = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46\x02\x00\x21\x01".to_vec();
        xz.extend((0..300u32).map(|i| (i * 37 % 251) as u8));
        crate::support::base64(&xz)
    });
    // And a page a tool fetched, the key in HTML's character references.
    args.insert(
        "page",
        "<p>Key: &#115;&#107;&#45;proj-Qm7Tz2Vb9Xc4Nd8Lf1Hg &amp; more</p>",
    );
    // And an e-mail a tool read, in quoted-printable, a soft line break inside the key.
    args.insert(
        "mail",
        "Hi,=\r\nthe key is sk-proj-Rt5Yu8Io=\r\n2Pa4Sd6Fg9Hj1Kl3 =E2=80=94 Ops",
    );
    let id = DecisionId::random();
    log.append(Entry::tool_call(Some(&id), "read_env", Value::Object(args)))
        .await
        .unwrap();
    let head = closed(log).await;
    kept_out(
        &path,
        &[
            "0123456789abcdef0123456789abcdef",
            "pcsk_AbCdE",
            "abc123def456",
            "T1BFTkFJX0FQSV9L",
            "IyBzdGFnaW5nClNU",
            "H4sI",
            "/Td6WFo",
            "proj-Qm7Tz2Vb9Xc4Nd8Lf1Hg",
            "Rt5Yu8Io",
            "2Pa4Sd6Fg9Hj1Kl3",
        ],
    );
    let rows = lines(&path);
    let args = rows[1]
        .get("payload")
        .and_then(|p| p.get("arguments"))
        .unwrap();
    assert_eq!(
        args.get("stdout").and_then(Value::as_str),
        Some(
            "AZURE_OPENAI_ENDPOINT=https://acme.openai.azure.com\n\
             AZURE_OPENAI_API_KEY=<redacted>\nPINECONE_API_KEY=<redacted>\nMAX_TOKENS=4096"
        )
    );
    assert_eq!(
        args.get("url").and_then(Value::as_str),
        Some("https://api.example.com/v1/search?q=loans&api_key=<redacted>")
    );
    assert_eq!(args.get("file").and_then(Value::as_str), Some("<redacted>"));
    for field in ["document", "archive", "backup"] {
        assert_eq!(
            args.get(field).and_then(Value::as_str),
            Some("<redacted>"),
            "{field}"
        );
    }
    assert_eq!(
        args.get("page").and_then(Value::as_str),
        Some("<p>Key: <redacted> &amp; more</p>")
    );
    assert_eq!(
        args.get("mail").and_then(Value::as_str),
        Some("Hi,=\r\nthe key is <redacted> =E2=80=94 Ops")
    );
    let flag = rows[2].get("payload").unwrap();
    assert_eq!(
        flag.get("data").map(Value::to_line_json).as_deref(),
        Some(r#"["encoded_secret", "escaped_secret", "pinecone_key", "secret_assignment"]"#)
    );
    assert_verifies(&path, &VerifyOptions::new().expected_head(&head.hash));
    let (ok, detail) = crate::support::reference_verify(&path, None, Some(&head.hash));
    assert!(ok, "reference: {detail}");
}

/// An entry larger than the log takes is refused, never written where a verifier would refuse
/// to read it: `append` and `enqueue` say `TooLarge` (its type, size and the limit),
/// `try_record` says `false`; the health counts two refused and one lost, the chain records
/// the lost one in a `gap`, the entries around them are written, and the log verifies here
/// and in the reference and reopens. The
/// default limit keeps every line within what a verifier reads.
#[tokio::test]
async fn an_entry_too_large_for_the_log_is_refused_and_counted() {
    use acttrace::store::MAX_ENTRY_BYTES;
    use acttrace::verify::DEFAULT_MAX_LINE_BYTES;

    let scratch = Scratch::new("too-large");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("too-large")
        .max_entry_bytes(2048)
        .open(&path)
        .await
        .unwrap();
    let sized = |n: usize| {
        let mut p = Map::new();
        p.insert("blob", "x".repeat(n));
        Entry::new("upload", p)
    };
    log.append(sized(1000)).await.unwrap();
    match log.append(sized(10_000)).await {
        Err(Error::TooLarge { kind, bytes, limit }) => {
            assert_eq!((kind.as_str(), limit), ("upload", 2048));
            assert!(bytes > 10_000, "{bytes}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        log.enqueue(sized(4000)).await,
        Err(Error::TooLarge { .. })
    ));
    assert!(!log.try_record(sized(3000)));
    let health = log.health();
    assert_eq!((health.lost, health.refused), (1, 2), "{health}");
    log.append(sized(10)).await.unwrap();
    log.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(&"x".repeat(2000)),
        "a refused entry was written"
    );
    assert_eq!(
        kinds(&path),
        ["audit_open", "upload", "gap", "upload"],
        "the gap is written before the next entry"
    );
    let gap = &lines(&path)[2];
    assert_eq!(
        gap.get("payload")
            .and_then(|p| p.get("dropped"))
            .and_then(Value::as_u64),
        Some(1)
    );
    assert_verifies(&path, &VerifyOptions::new());
    let (ok, detail) = crate::support::reference_verify(&path, None, None);
    assert!(ok, "reference: {detail}");
    AuditLog::open("too-large", &path)
        .await
        .expect("reopens")
        .shutdown()
        .await
        .unwrap();

    // The default: the largest entry the log takes, with the fields around it, is a line a
    // verifier reads (a seq, a timestamp, two hashes and an Ed25519-sized signature).
    let around = r#"{"seq": 18446744073709551615, "ts": "2026-12-07T01:29:33.000000+00:00", "type": , "payload": , "prev_hash": "", "hash": "", "sig": ""}"#;
    assert!(MAX_ENTRY_BYTES + around.len() + 3 * 64 + 128 <= DEFAULT_MAX_LINE_BYTES);
}

/// Shuts `log` down, its entries all written: its head as it then stands.
async fn closed(log: AuditLog) -> acttrace::store::Head {
    let head = log.head();
    log.shutdown().await.unwrap();
    head
}

/// None of `secrets` is anywhere in the log's file.
fn kept_out(path: &std::path::Path, secrets: &[&str]) {
    let text = std::fs::read_to_string(path).unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} reached the log:\n{text}");
    }
}

/// A large entry is redacted and laid out on tokio's blocking pool, not on the caller's task,
/// whether appended or queued (as the audit layer queues a `decision` whose summary holds a
/// request's body): on a runtime of one thread, a task that ticks every millisecond keeps
/// ticking while an entry holding 400 KB of text (through every detector: a tenth of a second
/// and more) is handed over, and the entry is written redacted.
#[tokio::test(flavor = "current_thread")]
async fn a_large_entry_is_readied_off_the_callers_task() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    let scratch = Scratch::new("large-entry");
    for how in ["append", "enqueue"] {
        let path = scratch.join(&format!("{how}.jsonl"));
        let log = AuditLog::open("t", &path).await.expect("open");
        let ticking = Arc::new(AtomicBool::new(true));
        let ticker = tokio::spawn({
            let ticking = Arc::clone(&ticking);
            async move {
                let mut worst = Duration::ZERO;
                let mut last = Instant::now();
                while ticking.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    worst = worst.max(last.elapsed());
                    last = Instant::now();
                }
                worst
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let line = "Applicant 17 at 10.0.0.1 wrote to jane.doe@example.com on 2024-05-01 about \
                    the loan. ";
        let mut payload = Map::new();
        payload.insert("document", line.repeat(400_000 / line.len()));
        let entry = Entry::new("decision_record", payload);
        let start = Instant::now();
        if how == "append" {
            log.append(entry).await.expect("append");
        } else {
            log.enqueue(entry).await.expect("enqueue");
        }
        let took = start.elapsed();
        ticking.store(false, Ordering::Relaxed);
        let worst = ticker.await.expect("ticker");
        assert!(
            worst < took / 3,
            "{how}: the runtime's only thread was held {worst:?} of the call's {took:?}"
        );
        log.shutdown().await.expect("shutdown");
        let written = std::fs::read_to_string(&path).expect("read");
        assert!(!written.contains("jane.doe@example.com"), "{how}: redacted");
        assert!(written.contains("<redacted>"), "{how}");
    }
}

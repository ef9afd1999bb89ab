//! Logs that live for years: segment rollover by size and by age, the set verified as one
//! chain, each sealed segment alone after its predecessor's seal, a sealed segment tampered
//! with, a segment missing or out of order, and retention with its signed record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use acttrace::chain::checkpoint::{Checkpoint, CheckpointKey};
use acttrace::chain::{Entry, Framework, SigningKey};
use acttrace::evidence::{ExportError, ExportOptions, export_log};
use acttrace::json::{Map, Value};
use acttrace::store::{AuditLog, Segments, retain};
use acttrace::verify::segments::verify_segments;
use acttrace::verify::{VerifyOptions, verify_path};

use crate::support::{Scratch, reference_verify};

const KEY: &str = "segments-key";

async fn open(dir: &Path, segments: Segments) -> AuditLog {
    AuditLog::builder("loan-triage")
        .risk_tier("high")
        .signing_key(SigningKey::from(KEY))
        .open_segments(dir, segments)
        .await
        .unwrap()
}

async fn append(log: &AuditLog, n: u64) {
    for i in 0..n {
        let mut p = Map::new();
        p.insert("i", i);
        p.insert("outcome", "approved");
        log.append(Entry::new("decision_record", p)).await.unwrap();
    }
}

fn opts() -> VerifyOptions {
    VerifyOptions::new().key(SigningKey::from(KEY))
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("segment-") && n.ends_with(".jsonl"))
        })
        .collect();
    out.sort();
    out
}

fn seal_of(segment: &Path) -> PathBuf {
    PathBuf::from(format!("{}.seal", segment.display()))
}

/// A log of 3 KiB segments: many segments, all sealed but the last; the set verifies as one
/// chain (here, and concatenated in the reference); each sealed one verifies alone after its
/// predecessor's seal; reopening continues the active segment.
#[tokio::test]
async fn segments_roll_over_by_size_and_verify_as_one_chain() {
    let scratch = Scratch::new("segments-size");
    let dir = scratch.join("log");
    let seal = CheckpointKey::generate().unwrap();
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(3_000)).await;
    append(&log, 120).await;
    log.shutdown().await.unwrap();
    // Reopened: the chain goes on in the active segment.
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(3_000)).await;
    append(&log, 40).await;
    log.shutdown().await.unwrap();

    let report = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.entries, 161);
    let files = segment_files(&dir);
    assert!(files.len() >= 5, "{} segments", files.len());
    assert_eq!(report.segments, files.len());
    assert_eq!(report.sealed, files.len() - 1, "all sealed but the last");
    for f in &files[..files.len() - 1] {
        assert!(seal_of(f).exists());
        assert!(
            std::fs::metadata(f).unwrap().len() < 3_000 + 600,
            "closed near its size"
        );
    }

    // The head and count of the whole: checked against the last segment's end and the chain's
    // count. A checkpoint or a start is for one file: with either, the directory is refused.
    let whole = opts().expected_head(report.head).expected_entries(161);
    assert!(verify_segments(&dir, &whole, None).is_ok());
    let short = verify_segments(&dir, &opts().expected_entries(160), None);
    assert!(short.to_string().contains("expected 160"), "{short}");
    let first = Checkpoint::read(seal_of(&files[0])).unwrap();
    for one_file in [
        opts().checkpoint(&first, &seal.public()),
        opts().after(first.entries, first.head.clone()),
    ] {
        let r = verify_segments(&dir, &one_file, Some(&seal.public()));
        assert!(!r.is_ok() && r.to_string().contains("for one file"), "{r}");
    }

    // Each sealed segment alone, after its predecessor's seal, ends where its own seal says.
    let mut after: Option<Checkpoint> = None;
    for f in &files[..files.len() - 1] {
        let own = Checkpoint::read(seal_of(f)).unwrap();
        let mut o = opts()
            .checkpoint(&own, &seal.public())
            .expected_entries(own.entries);
        if let Some(prev) = &after {
            assert!(prev.is_signed_by(&seal.public()));
            o = o.after(prev.entries, prev.head.clone());
        }
        let alone = verify_path(f, &o);
        assert!(alone.is_ok(), "{}: {alone}", f.display());
        after = Some(own);
    }

    // Concatenated, the segments are an ordinary log: it verifies in the reference too.
    let whole = scratch.join("whole.jsonl");
    let text: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    std::fs::write(&whole, text).unwrap();
    assert!(verify_path(&whole, &opts()).is_ok());
    let (ok, detail) = reference_verify(&whole, Some(KEY), None);
    assert!(ok, "the reference on the concatenated segments: {detail}");
}

#[tokio::test]
async fn segments_roll_over_by_age() {
    let scratch = Scratch::new("segments-age");
    let dir = scratch.join("log");
    let seal = CheckpointKey::generate().unwrap();
    let log = open(
        &dir,
        Segments::new(seal.clone()).max_age(Duration::from_millis(150)),
    )
    .await;
    for _ in 0..3 {
        append(&log, 5).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    append(&log, 1).await;
    log.shutdown().await.unwrap();
    let report = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(report.is_ok(), "{report}");
    assert!(report.segments >= 3, "{report}");
}

/// A segment's age runs from its first entry, not from when the service last opened it: a
/// service restarted more often than the age (a deploy a day, a week's segments) still rolls
/// over on time.
#[tokio::test]
async fn a_segments_age_runs_across_restarts() {
    let scratch = Scratch::new("segments-age-restart");
    let dir = scratch.join("log");
    let seal = CheckpointKey::generate().unwrap();
    // Wide margins: a slow machine may take a second over a session without a false roll.
    let policy = || Segments::new(seal.clone()).max_age(Duration::from_millis(1_500));
    for pause in [300, 1_300] {
        let log = open(&dir, policy()).await;
        append(&log, 2).await;
        log.shutdown().await.unwrap();
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    assert_eq!(
        segment_files(&dir).len(),
        1,
        "not yet 1.5 s old when last opened"
    );
    let log = open(&dir, policy()).await;
    append(&log, 1).await;
    log.shutdown().await.unwrap();
    let files = segment_files(&dir);
    assert_eq!(
        files.len(),
        2,
        "1.6 s after its first entry, the segment rolled over"
    );
    assert!(seal_of(&files[0]).exists());
    let report = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(report.is_ok(), "{report}");
}

async fn three_sealed(name: &str) -> (Scratch, PathBuf, CheckpointKey, Vec<PathBuf>) {
    let scratch = Scratch::new(name);
    let dir = scratch.join("log");
    let seal = CheckpointKey::generate().unwrap();
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    append(&log, 60).await;
    log.shutdown().await.unwrap();
    let files = segment_files(&dir);
    assert!(files.len() >= 4, "{} segments", files.len());
    (scratch, dir, seal, files)
}

/// A rollover killed between making the next segment and sealing the one it closes leaves
/// that one unsealed and the next empty: the log reopens (in the segment it was writing, the
/// empty one gone), writes on, and verifies whole with every seal.
#[tokio::test]
async fn a_rollover_stopped_before_its_seal_reopens() {
    let (_scratch, dir, seal, files) = three_sealed("segments-torn-roll").await;
    let active = files.last().unwrap();
    let before = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(before.is_ok(), "{before}");
    let next = dir.join(format!("segment-{:06}.jsonl", files.len() + 1));
    std::fs::write(&next, "").unwrap();
    assert!(!seal_of(active).exists());
    // Before the service reopens it, the directory verifies as it was: the empty segment
    // holds nothing, and no entry is missing.
    let torn = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(torn.is_ok(), "{torn}");
    assert_eq!((torn.entries, &torn.head), (before.entries, &before.head));

    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    append(&log, 30).await;
    log.shutdown().await.unwrap();
    let after = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(after.is_ok(), "{after}");
    assert_eq!(after.entries, before.entries + 30);
    assert_eq!(
        after.sealed,
        segment_files(&dir).len() - 1,
        "all sealed but the last"
    );
}

/// Tampering with a sealed segment is found and named: an edit, a cut tail (which the
/// segment's own chain cannot see, but its seal does), a forged seal.
#[tokio::test]
async fn a_sealed_segment_tampered_with_is_caught() {
    let (_scratch, dir, seal, files) = three_sealed("segments-tamper").await;
    let victim = &files[1];
    let original = std::fs::read_to_string(victim).unwrap();

    std::fs::write(victim, original.replacen("\"approved\"", "\"declined\"", 1)).unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure
            .as_deref()
            .unwrap()
            .starts_with("segment-000002.jsonl"),
        "{r}"
    );

    let cut: String = original
        .lines()
        .take(original.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(victim, cut).unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure
            .as_deref()
            .unwrap()
            .contains("changed after it was sealed"),
        "{r}"
    );

    std::fs::write(victim, &original).unwrap();
    assert!(verify_segments(&dir, &opts(), Some(&seal.public())).is_ok());
    let other = CheckpointKey::generate().unwrap();
    let forged = other.sign("loan-triage", 1, &"0".repeat(64));
    forged.save(seal_of(victim)).unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure
            .as_deref()
            .unwrap()
            .contains("seal does not verify"),
        "{r}"
    );
}

/// A missing segment and two segments swapped are found.
#[tokio::test]
async fn a_missing_or_reordered_segment_is_caught() {
    let (_scratch, dir, seal, files) = three_sealed("segments-missing").await;
    let (a, b) = (&files[1], &files[2]);
    let swap = |x: &Path, y: &Path| {
        let tmp = x.with_extension("tmp");
        std::fs::rename(x, &tmp).unwrap();
        std::fs::rename(y, x).unwrap();
        std::fs::rename(&tmp, y).unwrap();
    };
    swap(a, b);
    swap(&seal_of(a), &seal_of(b));
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure
            .as_deref()
            .unwrap()
            .starts_with("segment-000002.jsonl"),
        "{r}"
    );
    swap(a, b);
    swap(&seal_of(a), &seal_of(b));
    assert!(verify_segments(&dir, &opts(), Some(&seal.public())).is_ok());

    std::fs::remove_file(b).unwrap();
    std::fs::remove_file(seal_of(b)).unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure
            .as_deref()
            .unwrap()
            .contains("segment-000003.jsonl is missing"),
        "{r}"
    );
}

/// Retention deletes the sealed segments older than the horizon, with a signed record; what
/// is kept verifies from the record's seal, writing goes on, and deleting more without a
/// record, or editing the record, is caught.
#[tokio::test]
async fn retention_deletes_with_a_signed_record_and_the_rest_verifies() {
    let (_scratch, dir, seal, files) = three_sealed("segments-retention").await;
    // The horizon: just after the last entry of the second segment.
    let second = std::fs::read_to_string(&files[1]).unwrap();
    let last = acttrace::json::Value::parse(second.lines().last().unwrap()).unwrap();
    let ts = last
        .get("ts")
        .and_then(acttrace::json::Value::as_str)
        .unwrap();
    let horizon = format!("{}9+00:00", &ts[..ts.len() - 6]);
    let gone = retain(&dir, &horizon, &seal, &opts()).unwrap();
    assert_eq!(gone, ["segment-000001.jsonl", "segment-000002.jsonl"]);
    assert!(!files[0].exists() && !files[1].exists());
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.deleted, r.entries), (2, 61));

    // Writing goes on after retention.
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    append(&log, 10).await;
    log.shutdown().await.unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.entries, 71);

    // Nothing newer than the horizon goes; a second pass deletes nothing more.
    assert!(retain(&dir, &horizon, &seal, &opts()).unwrap().is_empty());

    // Deleting a segment without a record is caught.
    let third = &files[2];
    let kept = std::fs::read(third).unwrap();
    std::fs::remove_file(third).unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(r.failure.as_deref().unwrap().contains("missing"), "{r}");
    std::fs::write(third, kept).unwrap();

    // An edited record is caught.
    let record = dir.join("retention.json");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(
        &record,
        text.replace("\"next_segment\": 3", "\"next_segment\": 4"),
    )
    .unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure.as_deref().unwrap().contains("retention record"),
        "{r}"
    );
}

/// A retention run that stopped after writing its record, before deleting all it lists
/// (killed, or the machine down before the deletions reached the disk), leaves a directory
/// that does not verify, and says how to finish it; the next run finishes it, deleting only
/// what is byte for byte what the record lists. Two runs at once are kept apart by a lock.
#[tokio::test]
async fn an_interrupted_retention_is_finished_by_the_next_run() {
    let (scratch, dir, seal, files) = three_sealed("segments-interrupted").await;
    let aside = scratch.join("aside");
    std::fs::create_dir_all(&aside).unwrap();
    let name = |f: &Path| f.file_name().unwrap().to_owned();
    for f in &files {
        std::fs::copy(f, aside.join(name(f))).unwrap();
        if seal_of(f).exists() {
            std::fs::copy(seal_of(f), aside.join(name(&seal_of(f)))).unwrap();
        }
    }
    let horizon = "2999-01-01T00:00:00Z";
    let gone = retain(&dir, horizon, &seal, &opts()).unwrap();
    assert!(gone.len() >= 2, "{gone:?}");
    // As a run leaves the directory when killed after deleting the first segment, before its
    // seal: that seal, and every later segment it was to delete, still there.
    let put_back = |file: &str| std::fs::copy(aside.join(file), dir.join(file)).unwrap();
    put_back(&format!("{}.seal", gone[0]));
    for g in &gone[1..] {
        put_back(g);
        put_back(&format!("{g}.seal"));
    }
    let report = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(!report.is_ok(), "{report}");
    assert!(
        report.to_string().contains("present again") && report.to_string().contains("retain"),
        "{report}"
    );
    // What `show` reads meanwhile is what the record keeps, not the segments left over.
    let kept: u64 = segment_files(&dir)
        .iter()
        .filter(|f| !gone.iter().any(|g| f.ends_with(g)))
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count() as u64)
        .sum();
    let summary = acttrace::evidence::Summary::read(&dir).unwrap();
    assert_eq!(summary.entries, kept);

    // Another run holding the lock: refused, nothing deleted.
    let held = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("retention.lock"))
        .unwrap();
    held.try_lock().unwrap();
    let err = retain(&dir, horizon, &seal, &opts()).unwrap_err();
    assert!(err.contains("another retention run"), "{err}");
    assert!(dir.join(&gone[1]).exists());
    drop(held);

    // A leftover that is not what was deleted is not deleted.
    let changed = dir.join(&gone[1]);
    let original = std::fs::read(&changed).unwrap();
    std::fs::write(&changed, [&original[..], b"\n"].concat()).unwrap();
    let err = retain(&dir, horizon, &seal, &opts()).unwrap_err();
    assert!(err.contains("SHA-256 differs"), "{err}");
    assert!(changed.exists());
    std::fs::write(&changed, &original).unwrap();

    // The next run finishes the interrupted one.
    let finished = retain(&dir, horizon, &seal, &opts()).unwrap();
    assert_eq!(finished, gone[1..].to_vec());
    assert!(!dir.join(format!("{}.seal", gone[0])).exists());
    let report = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.deleted, gone.len());
}

/// The CLI: `verify DIR`, one segment alone with `--after`, and `retain` (only past six months
/// unless told otherwise); what retention kept still packs, and the pack verifies.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_cli_verifies_segments_and_retains() {
    let (scratch, dir, seal, files) = three_sealed("segments-cli").await;
    let (secret, public) = seal.save_pair(scratch.join("ops")).unwrap();
    use crate::support::run_acttrace as run;
    let os = std::ffi::OsStr::new;
    let verify_dir = || {
        run(&[
            os("verify"),
            dir.as_os_str(),
            os("--public-key"),
            public.as_os_str(),
            os("--key"),
            os(KEY),
        ])
    };
    let (code, said) = verify_dir();
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("ok: 61 entries in"), "{said}");
    assert!(said.contains("seals verified"), "{said}");
    // The head and count recorded when it was written hold for the directory as a whole: the
    // right ones pass, a wrong one fails; a checkpoint of one file is refused, not ignored.
    let head = verify_segments(&dir, &opts(), None).head;
    let expect = |head: &str, n: &str| {
        run(&[
            os("verify"),
            dir.as_os_str(),
            os("--expect-head"),
            os(head),
            os("--expect-entries"),
            os(n),
        ])
    };
    let (code, said) = expect(&head, "61");
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = expect(&head, "62");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("expected 62"), "{said}");
    let (code, said) = expect(&"0".repeat(64), "61");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("incomplete log: head"), "{said}");
    let (code, said) = run(&[
        os("verify"),
        dir.as_os_str(),
        os("--checkpoint"),
        seal_of(&files[1]).as_os_str(),
        os("--public-key"),
        public.as_os_str(),
    ]);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("--checkpoint and --after are for one file"),
        "{said}"
    );

    let (code, said) = run(&[
        os("verify"),
        files[2].as_os_str(),
        os("--after"),
        seal_of(&files[1]).as_os_str(),
        os("--checkpoint"),
        seal_of(&files[2]).as_os_str(),
        os("--public-key"),
        public.as_os_str(),
        os("--key"),
        os(KEY),
    ]);
    assert_eq!(code, Some(0), "{said}");
    // Without its predecessor's seal, a later segment does not start the chain.
    let (code, said) = run(&[os("verify"), files[2].as_os_str(), os("--key"), os(KEY)]);
    assert_eq!(code, Some(1), "{said}");

    // A horizon less than six months ago (here, in the future) is refused by default, and
    // nothing is deleted.
    let present = || files.iter().filter(|f| f.exists()).count();
    let before = present();
    let retain = |extra: &[&std::ffi::OsStr]| {
        let mut args = vec![
            os("retain"),
            dir.as_os_str(),
            os("--before"),
            os("2999-01-01T00:00:00Z"),
            os("--signing-key-file"),
            secret.as_os_str(),
            os("--key"),
            os(KEY),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (code, said) = retain(&[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("refusing to delete entries younger than 183 days")
            && said.contains("is in the future"),
        "{said}"
    );
    assert_eq!(present(), before, "nothing deleted");
    let (code, said) = retain(&[os("--min-age"), os("0")]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.starts_with("deleted ") && said.contains("(oldest segment-000001.jsonl, newest "),
        "{said}"
    );
    assert!(files.last().unwrap().exists(), "the last segment stays");
    let (code, said) = verify_dir();
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("deleted under a signed retention record"),
        "{said}"
    );

    // What is kept still packs, from the first kept entry, and the pack verifies.
    let pack = scratch.join("kept-pack.jsonl");
    let (code, said) = run(&[
        os("export"),
        dir.as_os_str(),
        os("--framework"),
        os("gdpr"),
        os("-o"),
        pack.as_os_str(),
        os("--key"),
        os(KEY),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("61 entries") && said.contains("deleted under retention"),
        "{said}"
    );
    let (code, said) = run(&[os("verify"), pack.as_os_str(), os("--key"), os(KEY)]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.starts_with("ok: 61 entries") && said.contains("deleted under retention"),
        "{said}"
    );
    // An auditor with only the public key checks where it starts against the signed retention
    // record it carries.
    let (code, said) = run(&[
        os("verify"),
        pack.as_os_str(),
        os("--public-key"),
        public.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("its retention record signed"), "{said}");
    // `show` counts the pack's entries and says how many came before them.
    let (code, said) = run(&[os("show"), pack.as_os_str()]);
    assert_eq!(code, Some(0), "{said}");
    let deleted = 61 - (std::fs::read_to_string(&pack).unwrap().lines().count() as u64 - 1);
    assert!(
        said.contains(&format!("(after {deleted} deleted under retention)")),
        "{said}"
    );
    // `show` and `stats` of the directory itself: its verdict as one chain first, then what
    // its kept segments hold, with what came before them and the system retention deleted
    // the opening of.
    for command in ["show", "stats"] {
        let (code, said) = run(&[os(command), dir.as_os_str(), os("--json")]);
        assert_eq!(code, Some(0), "{command}: {said}");
        let json = Value::parse(&said).unwrap();
        assert_eq!(json.get("verified"), Some(&Value::from(true)), "{said}");
        assert!(
            json.get("verdict")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("ok: 61 entries in")),
            "{said}"
        );
        assert_eq!(
            json.get("entries"),
            Some(&Value::from(61 - deleted)),
            "{said}"
        );
    }
    let (code, said) = run(&[os("show"), dir.as_os_str(), os("--json")]);
    assert_eq!(code, Some(0), "{said}");
    let json = Value::parse(&said).unwrap();
    assert_eq!(
        json.get("system"),
        Some(&Value::from("loan-triage")),
        "{said}"
    );
    let (code, said) = run(&[os("show"), dir.as_os_str()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "{} entries (after {deleted} deleted under retention)",
            61 - deleted
        )),
        "{said}"
    );
    // Its report, and the directory's, name the system and risk tier whose opening entry
    // retention deleted.
    for (log, name) in [(&pack, "kept-pack.html"), (&dir, "kept-dir.html")] {
        let html = scratch.join(name);
        let (code, said) = run(&[
            os("report"),
            log.as_os_str(),
            os("-o"),
            html.as_os_str(),
            os("--key"),
            os(KEY),
        ]);
        assert_eq!(code, Some(0), "{said}");
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(
            page.contains("loan-triage") && page.contains("risk tier high"),
            "{name}: {}",
            &page[..page.len().min(2000)]
        );
    }
    // Its tree is the whole log's (it goes on from the frontier the record keeps): its signed
    // tree head is the directory's, and a proof from it checks against that head.
    let note = |log: &Path, out: &Path| {
        let (code, said) = run(&[
            os("checkpoint"),
            log.as_os_str(),
            os("--note"),
            os("-o"),
            out.as_os_str(),
            os("--signing-key-file"),
            secret.as_os_str(),
            os("--key"),
            os(KEY),
        ]);
        assert_eq!(code, Some(0), "{said}");
        let verifier = said.split_whitespace().last().unwrap().to_owned();
        let text = std::fs::read_to_string(out).unwrap();
        (
            text.lines().take(3).collect::<Vec<_>>().join("\n"),
            verifier,
        )
    };
    let (pack_note, pack_head) = (scratch.join("pack.note"), scratch.join("dir.note"));
    let (from_pack, verifier) = note(&pack, &pack_note);
    let (from_dir, _) = note(&dir, &pack_head);
    assert_eq!(from_pack, from_dir);
    assert!(from_pack.starts_with("loan-triage\n61\n"), "{from_pack}");
    let packed = std::fs::read_to_string(&pack).unwrap();
    let first = Value::parse(packed.lines().nth(1).unwrap()).unwrap();
    let seq = first
        .get("seq")
        .and_then(Value::as_u64)
        .unwrap()
        .to_string();
    let proof = scratch.join("pack.proof");
    let (code, said) = run(&[
        os("prove"),
        pack.as_os_str(),
        os("--seq"),
        os(&seq),
        os("--note"),
        pack_head.as_os_str(),
        os("-o"),
        proof.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = run(&[
        os("check-proof"),
        proof.as_os_str(),
        os("--note"),
        pack_head.as_os_str(),
        os("--verifier"),
        os(&verifier),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!("entry {seq} ")) && said.contains("tree of 61 entries"),
        "{said}"
    );
}

/// A live segmented log's tree heads are of one tree across its segments: published every 10
/// entries while it rolls over, made on demand, and at close; each is a prefix of the tree the
/// finished directory gives (the later ones consistent with the earlier), and the head saved
/// at close is the whole set's.
#[tokio::test]
async fn a_live_segmented_log_publishes_heads_of_one_tree() {
    use acttrace::evidence::note::{NoteVerifier, TreeHead};
    use acttrace::evidence::proof::Tree;
    use acttrace::evidence::publish::TreeHeads;

    let scratch = Scratch::new("segments-live-heads");
    let dir = scratch.join("log");
    let seal = CheckpointKey::generate().unwrap();
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    let saved = scratch.join("log.note");
    let heads = log
        .publish_tree_heads(
            TreeHeads::new("example.com/log", seal.clone())
                .every_entries(10)
                .save_to(&saved),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        append(&log, 10).await;
        seen.push(heads.publish_now().await.unwrap().head.clone());
        let (head, _) = log.tree_head("example.com/log", &seal).await.unwrap();
        seen.push(head);
    }
    log.shutdown().await.unwrap();
    let last = heads.closed().await.latest.unwrap().head.clone();
    let files = segment_files(&dir);
    assert!(files.len() >= 4, "it rolled over: {} segments", files.len());

    let tree = Tree::from_log(&dir).unwrap();
    assert_eq!((last.size, tree.size()), (61, 61));
    assert!(last.is_head_of(&tree), "the last head is the whole set's");
    for head in &seen {
        assert!(head.is_head_of(&tree), "a head of {} entries", head.size);
    }
    assert_eq!(
        seen.iter().map(|h| h.size).collect::<Vec<_>>(),
        [11, 11, 21, 21, 31, 31, 41, 41, 51, 51, 61, 61]
    );
    let verifier = NoteVerifier::new("example.com/log", &seal.public()).unwrap();
    let note = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(TreeHead::open(&note, &verifier).unwrap(), last);
}

/// A segmented log packs as the one chain its segments form: live (a snapshot: what is
/// appended after it, in new segments too, is left out) and offline; the packs verify here and
/// in the reference. A pack is never written over a segment; a directory with a segment
/// missing is refused with the reason. After retention, the pack starts at the first kept
/// entry, where the signed record says the chain stood: it verifies here (not in the
/// reference), and a start cut further or moved is caught; without the record, refused.
#[tokio::test]
async fn a_segmented_log_packs_as_one_chain() {
    let scratch = Scratch::new("segments-export");
    let dir = scratch.join("log");
    let seal = CheckpointKey::generate().unwrap();
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    append(&log, 60).await;
    let pack = scratch.join("pack.jsonl");
    // Appends go on while the pack is made.
    let writing = tokio::spawn({
        let log = log.clone();
        async move { append(&log, 40).await }
    });
    let live = log.export(&pack, Some(Framework::EuAiAct)).await.unwrap();
    writing.await.unwrap();
    assert!(segment_files(&dir).len() >= 4);
    assert!((61..=101).contains(&live.entries), "{}", live.entries);
    let checked = verify_path(&pack, &opts());
    assert!(checked.is_ok(), "{}", checked.detail());
    assert_eq!(
        (checked.entries(), checked.head()),
        (live.entries, live.head.as_str())
    );
    let (ok, detail) = reference_verify(&pack, Some(KEY), None);
    assert!(ok, "reference: {detail}");
    // The pack's entries are the segments' first lines, in order, up to the snapshot.
    let lines: Vec<String> = segment_files(&dir)
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    let packed = std::fs::read_to_string(&pack).unwrap();
    let seqs: Vec<u64> = packed
        .lines()
        .skip(1)
        .map(|l| {
            Value::parse(l)
                .unwrap()
                .get("seq")
                .and_then(Value::as_u64)
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, (0..live.entries).collect::<Vec<_>>());
    let last = Value::parse(&lines[live.entries as usize - 1]).unwrap();
    assert_eq!(
        last.get("hash").and_then(Value::as_str),
        Some(live.head.as_str())
    );

    // A pack named as one of the segments is refused, the segment untouched.
    let first = segment_files(&dir)[0].clone();
    let before = std::fs::read(&first).unwrap();
    let err = log.export(&first, None).await.unwrap_err();
    assert!(matches!(err, ExportError::Overwrite { .. }), "{err}");
    assert_eq!(std::fs::read(&first).unwrap(), before);
    log.shutdown().await.unwrap();

    // Offline, the whole directory: every entry, the head `verify DIR` finds.
    let whole = verify_segments(&dir, &opts(), Some(&seal.public()));
    let all = scratch.join("all.jsonl");
    let offline = export_log(&dir, &all, &ExportOptions::new().key(SigningKey::from(KEY))).unwrap();
    assert_eq!(
        (offline.entries, offline.head.as_str()),
        (101, whole.head.as_str())
    );
    assert!(offline.signed);
    let checked = verify_path(&all, &opts());
    assert!(checked.is_ok(), "{}", checked.detail());
    let (ok, detail) = reference_verify(&all, Some(KEY), None);
    assert!(ok, "reference: {detail}");

    // A segment missing: named, and no pack.
    let files = segment_files(&dir);
    let aside = scratch.join("aside.jsonl");
    std::fs::rename(&files[1], &aside).unwrap();
    let gap = scratch.join("gap.jsonl");
    let err = export_log(&dir, &gap, &ExportOptions::new()).unwrap_err();
    assert!(
        err.to_string().contains("segment-000002.jsonl is missing"),
        "{err}"
    );
    assert!(!gap.exists());
    std::fs::rename(&aside, &files[1]).unwrap();

    // After retention the chain's first entries are gone: the pack starts at the first kept
    // entry, where the signed retention record says the chain stood, and verifies from there.
    let horizon = "2999-01-01T00:00:00Z";
    let gone = retain(&dir, horizon, &seal, &opts()).unwrap();
    assert!(!gone.is_empty());
    let kept = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(kept.is_ok(), "{kept}");
    let first_kept = std::fs::read_to_string(&segment_files(&dir)[0]).unwrap();
    let first_kept = Value::parse(first_kept.lines().next().unwrap()).unwrap();
    let deleted = first_kept.get("seq").and_then(Value::as_u64).unwrap();
    assert!(deleted > 0);
    let retained = scratch.join("retained.jsonl");
    let signed = ExportOptions::new()
        .key(SigningKey::from(KEY))
        .framework(Some(Framework::EuAiAct));
    let packed = export_log(&dir, &retained, &signed).unwrap();
    assert_eq!(
        (packed.entries, packed.head.as_str(), packed.starts_after),
        (kept.entries, kept.head.as_str(), deleted)
    );
    let checked = verify_path(&retained, &opts());
    assert!(checked.is_ok(), "{checked}");
    assert_eq!(
        (checked.entries(), checked.head(), checked.starts_after()),
        (kept.entries, kept.head.as_str(), deleted)
    );
    assert!(
        checked.detail().contains("deleted under retention"),
        "{checked}"
    );
    let lines: Vec<String> = std::fs::read_to_string(&retained)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len() as u64, 1 + kept.entries - deleted);
    // Its header names the system and risk tier of the deleted `audit_open`, which the
    // retention record keeps.
    let header = Value::parse(&lines[0]).unwrap();
    let meta = header.get("_meta").unwrap();
    assert_eq!(
        (meta.get("system"), meta.get("risk_tier")),
        (
            Some(&Value::from("loan-triage")),
            Some(&Value::from("high"))
        )
    );
    assert_eq!(
        Value::parse(&lines[1]).unwrap().get("seq"),
        first_kept.get("seq")
    );
    // The reference knows no retention: to it the pack's first entry does not link.
    let (ok, detail) = reference_verify(&retained, Some(KEY), None);
    assert!(!ok, "reference: {detail}");
    // The service, writing on after retention, packs the same way, up to its snapshot.
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    append(&log, 5).await;
    let live_pack = scratch.join("live-retained.jsonl");
    let live = log.export(&live_pack, None).await.unwrap();
    log.shutdown().await.unwrap();
    assert_eq!(live.starts_after, deleted);
    let checked = verify_path(&live_pack, &opts());
    assert!(checked.is_ok(), "{checked}");
    assert_eq!(
        (checked.entries(), checked.head(), checked.starts_after()),
        (live.entries, live.head.as_str(), deleted)
    );
    assert!(live.entries > kept.entries, "{} entries", live.entries);

    // Cut further, it fails: the first kept entry removed; and, with the key, also when the
    // header is made to say the chain starts one later (its signature covers `after`), or
    // when its own signature is stripped down to the reference's, which does not cover it.
    let edited = |name: &str, lines: &[String], meta: &dyn Fn(&mut Map)| {
        let Value::Object(mut header) = Value::parse(&lines[0]).unwrap() else {
            panic!("a header");
        };
        let Some(Value::Object(mut m)) = header.remove("_meta") else {
            panic!("_meta");
        };
        meta(&mut m);
        header.insert("_meta", m);
        let mut text = Value::Object(header).to_line_json() + "\n";
        for line in &lines[1..] {
            text += line;
            text += "\n";
        }
        let path = scratch.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let mut cut = lines.clone();
    let dropped = cut.remove(1);
    let dropped = Value::parse(&dropped).unwrap();
    let no_first = edited("no-first.jsonl", &cut, &|_| {});
    let report = verify_path(&no_first, &VerifyOptions::new());
    assert_eq!(report.class(), "broken_link", "{report}");
    let later = |m: &mut Map| {
        let mut after = Map::new();
        after.insert("entries", deleted + 1);
        after.insert("head", dropped.get("hash").and_then(Value::as_str).unwrap());
        m.insert("after", after);
    };
    let moved = edited("moved-start.jsonl", &cut, &later);
    assert_eq!(verify_path(&moved, &opts()).class(), "meta_forged");
    let downgraded = edited("downgraded.jsonl", &cut, &|m| {
        later(m);
        m.remove("header_sig");
        m.remove("controls_digest");
    });
    assert_eq!(verify_path(&downgraded, &opts()).class(), "meta_forged");
    // With only the public seal key, the start is checked against the signed retention record
    // the header carries: the pack as made passes; one whose first kept entry was cut and whose
    // start was moved after it (frontier and all, which the tree alone would not catch) does
    // not, nor one whose record is gone, checked with another key, or whose frontier is not
    // the record's.
    let sealed = VerifyOptions::new().seal_key(&seal.public());
    let report = verify_path(&retained, &sealed);
    assert!(report.is_ok(), "{report}");
    assert!(
        report.detail().contains("its retention record signed"),
        "{report}"
    );
    // An unsigned pack with its first kept entry cut and its start moved after it, record kept:
    // consistent to a verifier without keys, caught with the seal key alone.
    let plain = scratch.join("plain-retained.jsonl");
    export_log(&dir, &plain, &ExportOptions::new()).unwrap();
    let mut plain_lines: Vec<String> = std::fs::read_to_string(&plain)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let plain_lines_whole = plain_lines.clone();
    let first = Value::parse(&plain_lines.remove(1)).unwrap();
    let moved_sealed = edited("moved-sealed.jsonl", &plain_lines, &|m| {
        let mut after = m.get("after").and_then(Value::as_object).unwrap().clone();
        after.insert("entries", deleted + 1);
        after.insert("head", first.get("hash").and_then(Value::as_str).unwrap());
        m.insert("after", after);
    });
    let report = verify_path(&moved_sealed, &VerifyOptions::new());
    assert!(report.is_ok(), "no key, no way to tell: {report}");
    let report = verify_path(&moved_sealed, &sealed);
    assert_eq!(report.class(), "pack_mismatch", "{report}");
    assert!(
        report.detail().contains("retention record says"),
        "{report}"
    );
    let unsealed = edited("unsealed.jsonl", &lines, &|m| {
        let mut after = m.get("after").and_then(Value::as_object).unwrap().clone();
        after.remove("record");
        m.insert("after", after);
    });
    assert_eq!(verify_path(&unsealed, &sealed).class(), "pack_mismatch");
    let other = CheckpointKey::generate().unwrap();
    let report = verify_path(&retained, &VerifyOptions::new().seal_key(&other.public()));
    assert_eq!(report.class(), "retention_forged", "{report}");
    let regrown = edited("regrown.jsonl", &plain_lines_whole, &|m| {
        let mut after = m.get("after").and_then(Value::as_object).unwrap().clone();
        let Some(Value::Array(mut hashes)) = after.get("frontier").cloned() else {
            panic!("a frontier");
        };
        hashes[0] = Value::from("0".repeat(64));
        after.insert("frontier", Value::Array(hashes));
        m.insert("after", after);
    });
    assert!(verify_path(&regrown, &VerifyOptions::new()).is_ok());
    let report = verify_path(&regrown, &sealed);
    assert_eq!(report.class(), "pack_mismatch", "{report}");
    assert!(report.detail().contains("frontier"), "{report}");
    // Without the key an `after` that does not match the first entry's `seq` is caught too.
    let wrong_seq = edited("wrong-seq.jsonl", &lines, &|m| {
        let mut after = m.get("after").and_then(Value::as_object).unwrap().clone();
        after.insert("entries", deleted + 1);
        m.insert("after", after);
    });
    let report = verify_path(&wrong_seq, &VerifyOptions::new());
    assert_eq!(report.class(), "pack_mismatch", "{report}");

    // A record that does not keep the opening (as older ones): the risk tier is not guessed.
    let record = dir.join("retention.json");
    let text = std::fs::read_to_string(&record).unwrap();
    let Value::Object(mut body) = Value::parse(&text).unwrap() else {
        panic!("a record");
    };
    assert!(body.remove("opened").is_some());
    std::fs::write(&record, Value::Object(body).to_line_json()).unwrap();
    let err = export_log(&dir, &gap, &ExportOptions::new()).unwrap_err();
    assert!(matches!(err, ExportError::RiskTierUnknown { .. }), "{err}");
    assert!(!gap.exists());
    let told = export_log(&dir, &gap, &ExportOptions::new().risk_tier("high")).unwrap();
    assert_eq!(told.starts_after, deleted);
    std::fs::remove_file(&gap).unwrap();

    // Segments gone with no retention record to say where the chain stood: refused, named.
    std::fs::remove_file(&record).unwrap();
    let err = export_log(&dir, &gap, &ExportOptions::new()).unwrap_err();
    assert!(matches!(err, ExportError::Retained { .. }), "{err}");
    let kept = segment_files(&dir)[0].clone();
    let name = kept.file_name().unwrap().to_str().unwrap();
    assert!(err.to_string().contains(name), "{err}");
    assert!(!gap.exists());
}

/// Segments deleted by hand, with a retention record written by hand that starts the chain at
/// the genuine seal of the last one deleted: the kept segments pack and link from that start,
/// and a verifier without keys cannot tell; the log's public seal key shows the record is not
/// the log's, for the directory and for the pack alike.
#[tokio::test]
async fn segments_deleted_with_a_record_written_by_hand_are_caught() {
    let (scratch, dir, seal, files) = three_sealed("segments-forged-record").await;
    let seal_text = std::fs::read_to_string(seal_of(&files[1])).unwrap();
    let checkpoint = Checkpoint::read(seal_of(&files[1])).unwrap();
    for f in &files[..2] {
        std::fs::remove_file(f).unwrap();
        std::fs::remove_file(seal_of(f)).unwrap();
    }
    let mut deleted = Vec::new();
    for f in &files[..2] {
        let mut d = Map::new();
        d.insert("segment", f.file_name().unwrap().to_str().unwrap());
        deleted.push(Value::Object(d));
    }
    let mut record = Map::new();
    record.insert("format", "acttrace-retention/1");
    record.insert("horizon", "2999-01-01T00:00:00Z");
    record.insert("next_segment", 3u64);
    record.insert("checkpoint", seal_text.trim());
    record.insert("deleted", Value::Array(deleted));
    record.insert("key_id", checkpoint.key_id.as_str());
    record.insert("sig", "0".repeat(128));
    std::fs::write(
        dir.join("retention.json"),
        Value::Object(record).to_line_json() + "\n",
    )
    .unwrap();

    let pack = scratch.join("pack.jsonl");
    let made = export_log(&dir, &pack, &ExportOptions::new().risk_tier("high")).unwrap();
    assert_eq!(made.starts_after, checkpoint.entries);
    let report = verify_path(&pack, &VerifyOptions::new());
    assert!(report.is_ok(), "no key, no way to tell: {report}");
    let report = verify_path(&pack, &VerifyOptions::new().seal_key(&seal.public()));
    assert_eq!(report.class(), "retention_forged", "{report}");
    assert!(
        report.detail().contains("forged retention record"),
        "{report}"
    );
    let whole = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(!whole.is_ok(), "{whole}");
    assert!(whole.to_string().contains("retention record"), "{whole}");
}

/// `acttrace export DIR`: the CLI packs a segmented log like a file.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_cli_packs_a_segmented_log() {
    let (scratch, dir, _seal, _files) = three_sealed("segments-cli-export").await;
    use crate::support::run_acttrace as run;
    let os = std::ffi::OsStr::new;
    let pack = scratch.join("pack.jsonl");
    let (code, said) = run(&[
        os("export"),
        dir.as_os_str(),
        os("--framework"),
        os("eu_ai_act"),
        os("-o"),
        pack.as_os_str(),
        os("--key"),
        os(KEY),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("61 entries"), "{said}");
    let (code, said) = run(&[os("verify"), pack.as_os_str(), os("--key"), os(KEY)]);
    assert_eq!(code, Some(0), "{said}");
}

/// A segmented log gets one report, of the chain its segments form: its verdict is the
/// directory's (seals checked with the seal key), its facts and linked entries come from every
/// segment; a segment edited turns it red, naming the segment; a checkpoint meant for one file
/// is refused.
#[tokio::test]
async fn a_segmented_log_gets_one_report() {
    use acttrace::evidence::report::{ReportError, ReportOptions, html_report};
    let (scratch, dir, seal, _) = three_sealed("segments-report").await;
    // A review, in the last segment.
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    let mut review = Map::new();
    review.insert("reviewer", "credit-officer-7");
    review.insert("action", "approved");
    let reviewed = log
        .append(Entry::new("human_oversight", review))
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let files = segment_files(&dir);
    let opts_verify = opts;
    let opts = || ReportOptions::new().key(SigningKey::from(KEY));
    let html = html_report(&dir, &opts().seal_key(seal.public())).unwrap();
    assert!(html.contains("Verified:"), "{html}");
    let n = verify_segments(&dir, &opts_verify(), Some(&seal.public())).entries;
    assert_eq!(n, reviewed.seq + 1);
    assert!(html.contains(&format!("ok: {n} entries in")), "{html}");
    assert!(html.contains("seals verified"), "{html}");
    assert!(
        html.contains(&format!("<dt>Entries</dt><dd>{n}</dd>")),
        "{html}"
    );
    assert!(
        html.contains(&format!("of the {n} the log holds")),
        "{html}"
    );
    // The review, read from the last segment, is listed and its entry shown.
    assert!(html.contains("credit-officer-7"), "{html}");
    assert!(
        html.contains(&format!("<tr id=\"e{}\">", reviewed.seq)),
        "{html}"
    );

    let unsealed = html_report(&dir, &opts()).unwrap();
    assert!(unsealed.contains("seals NOT checked"), "{unsealed}");

    let cp = Checkpoint::read(seal_of(&files[0])).unwrap();
    let err = html_report(&dir, &opts().checkpoint(cp, seal.public())).unwrap_err();
    assert!(matches!(err, ReportError::Segmented { .. }), "{err}");

    // An entry edited in the second segment: still a report, red, naming the segment.
    let text = std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(&files[1], text.replacen("approved", "declined", 1)).unwrap();
    let html = html_report(&dir, &opts().seal_key(seal.public())).unwrap();
    assert!(html.contains("Does not verify:"), "{html}");
    assert!(html.contains("segment-000002.jsonl"), "{html}");

    // The CLI, with the seal key as --public-key.
    #[cfg(feature = "cli")]
    {
        std::fs::write(&files[1], text).unwrap();
        let (_, public) = seal.save_pair(scratch.join("ops")).unwrap();
        let out = scratch.join("report.html");
        let os = std::ffi::OsStr::new;
        let (code, said) = crate::support::run_acttrace(&[
            os("report"),
            dir.as_os_str(),
            os("--public-key"),
            public.as_os_str(),
            os("--key"),
            os(KEY),
            os("-o"),
            out.as_os_str(),
        ]);
        assert_eq!(code, Some(0), "{said}");
        let page = std::fs::read_to_string(&out).unwrap();
        assert!(page.contains("Verified:") && page.contains("seals verified"));
    }
    let _ = scratch;
}

/// A segmented log is one Merkle tree across its segments, as it is one chain:
/// `checkpoint --note DIR` signs its tree head (the same root as the segments' concatenation
/// in one file), `prove DIR --seq N` proves an entry of a middle segment, `check-proof` and
/// `verify DIR --note` accept them, and an edited segment, a plain checkpoint of a directory
/// or a set whose first segment is gone is refused with the reason.
#[cfg(feature = "cli")]
#[tokio::test]
async fn a_segmented_log_is_one_tree_its_heads_and_proofs_span() {
    use acttrace::evidence::proof::Tree;

    use crate::support::run_acttrace;

    let (scratch, dir, seal, files) = three_sealed("segments-tree").await;
    let (secret, _) = seal.save_pair(scratch.join("ops")).unwrap();
    let cli = |args: &[&std::ffi::OsStr]| run_acttrace(args);
    let (d, k) = (dir.as_os_str(), secret.as_os_str());

    let (code, said) = cli(&[
        "checkpoint".as_ref(),
        d,
        "--note".as_ref(),
        "--signing-key-file".as_ref(),
        k,
        "--key".as_ref(),
        KEY.as_ref(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("loan-triage, 61 entries"), "{said}");
    let verifier = crate::support::verifier_key(&said);
    let note = scratch.join("log.note");
    assert!(
        note.exists(),
        "the tree head is written beside the directory"
    );

    // The same tree as the segments laid end to end in one file.
    let joined = scratch.join("joined.jsonl");
    let text: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    std::fs::write(&joined, text).unwrap();
    let (tree, one) = (
        Tree::from_log(&dir).unwrap(),
        Tree::from_log(&joined).unwrap(),
    );
    assert_eq!((tree.size(), tree.root()), (61, one.root()));

    // An entry of the third segment, proved against the head over all of them.
    let third = std::fs::read_to_string(&files[2]).unwrap();
    let first_line = Value::parse(third.lines().next().unwrap()).unwrap();
    let seq = first_line.get("seq").and_then(Value::as_u64).unwrap();
    assert!(seq > 2, "a middle segment's entry: {seq}");
    let proof = scratch.join("proof.json");
    // Named with a trailing `/`, the directory's note is still the one beside it.
    let slashed = format!("{}/", dir.display());
    let (code, said) = cli(&[
        "prove".as_ref(),
        slashed.as_ref(),
        "--seq".as_ref(),
        seq.to_string().as_ref(),
        "-o".as_ref(),
        proof.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains(&format!(
        "entry {seq} is leaf {seq} of the signed tree of 61"
    )));
    let (code, said) = cli(&[
        "check-proof".as_ref(),
        proof.as_os_str(),
        "--note".as_ref(),
        note.as_os_str(),
        "--verifier".as_ref(),
        verifier.as_ref(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains(&format!("valid: entry {seq}")), "{said}");
    let verify = |dir: &Path| {
        cli(&[
            "verify".as_ref(),
            dir.as_os_str(),
            "--note".as_ref(),
            note.as_os_str(),
            "--verifier".as_ref(),
            verifier.as_ref(),
        ])
    };
    let (code, said) = verify(&dir);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("tree head verified"), "{said}");

    // An entry of the second segment edited: the set no longer verifies, nor is signed.
    let second = std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(&files[1], second.replacen("approved", "rejected", 1)).unwrap();
    let (code, said) = verify(&dir);
    assert_eq!(code, Some(1), "{said}");
    let (code, said) = cli(&[
        "checkpoint".as_ref(),
        d,
        "--note".as_ref(),
        "--signing-key-file".as_ref(),
        k,
    ]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("refusing to sign"), "{said}");
    std::fs::write(&files[1], second).unwrap();

    // A plain checkpoint of a directory: its seals are its checkpoints.
    let (code, said) = cli(&["checkpoint".as_ref(), d, "--signing-key-file".as_ref(), k]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("its seals are its checkpoints"), "{said}");

    // Without its first segment the set is not the whole tree.
    std::fs::rename(&files[0], scratch.join("away.jsonl")).unwrap();
    let (code, said) = cli(&["prove".as_ref(), d, "--seq".as_ref(), "5".as_ref()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("deleted under retention"), "{said}");
}

#[cfg(feature = "cli")]
mod retained_tree;

/// Segments compressed in place (`segment-2.jsonl.gz`, as log rotation leaves old files) are
/// named, with what to do, by the library, `acttrace verify DIR` and the report, rather than
/// read as a segment missing; decompressed, the set verifies again.
#[tokio::test]
async fn a_segment_compressed_in_place_is_named() {
    use std::io::Write as _;
    let (scratch, dir, seal, files) = three_sealed("segments-gzipped").await;
    let plain = std::fs::read(&files[1]).unwrap();
    let gz = PathBuf::from(format!("{}.gz", files[1].display()));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&plain).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    std::fs::remove_file(&files[1]).unwrap();
    let name = gz.file_name().unwrap().to_str().unwrap().to_owned();

    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(!r.is_ok() && r.unreadable, "{r}");
    let said = r.to_string();
    assert!(
        said.contains(&format!(
            "{name} is compressed: decompress the segments first (gunzip -k)"
        )),
        "{said}"
    );
    #[cfg(feature = "cli")]
    {
        let os = std::ffi::OsStr::new;
        let (code, said) =
            crate::support::run_acttrace(&[os("verify"), dir.as_os_str(), os("--key"), os(KEY)]);
        assert_eq!(code, Some(2), "cannot read, not a verdict: {said}");
        assert!(said.contains(&format!("{name} is compressed")), "{said}");
    }
    let page = scratch.join("report.html");
    let err = acttrace::evidence::report::write_report(
        &dir,
        &page,
        &acttrace::evidence::report::ReportOptions::new(),
    );
    let said = match err {
        Err(e) => e.to_string(),
        Ok(_) => std::fs::read_to_string(&page).unwrap(),
    };
    assert!(said.contains(&format!("{name} is compressed")), "{said}");

    std::fs::write(&files[1], plain).unwrap();
    std::fs::remove_file(&gz).unwrap();
    let r = verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(r.is_ok() && !r.unreadable, "{r}");
}

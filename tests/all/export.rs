//! Evidence packs: byte-identical to the reference's packs, verifiable in both verifiers, and
//! consistent snapshots while the log is being written.

use acttrace::chain::{Entry, Framework, SigningKey};
use acttrace::evidence::{ExportError, ExportOptions, export_log};
use acttrace::json::Map;
use acttrace::store::{AuditLog, Durability};
use acttrace::verify::{VerifyOptions, verify_path, verify_reader};

use crate::support::{Scratch, reference_verify, vectors_dir};

const KEY: &str = "test-signing-key-01";

/// A pack with the two header fields only ours writes (on signed packs) taken out, to compare
/// with the reference's byte for byte.
pub(crate) fn without_our_fields(pack: &str, signed: bool) -> String {
    let (header, rest) = pack.split_once('\n').expect("a header line");
    use acttrace::json::Value;
    let Value::Object(mut h) = Value::parse(header).unwrap() else {
        panic!("header is not an object")
    };
    let Some(Value::Object(meta)) = h.get("_meta") else {
        panic!("no _meta")
    };
    let mut meta = meta.clone();
    assert_eq!(meta.remove("controls_digest").is_some(), signed);
    assert_eq!(meta.remove("header_sig").is_some(), signed);
    h.insert("_meta", meta);
    format!("{}\n{rest}", Value::from(h).to_line_json())
}

/// Every framework (and none), signed and unsigned: exporting the reference's source log gives
/// exactly the reference's pack, byte for byte.
#[test]
fn packs_match_the_reference_byte_for_byte() {
    let dir = vectors_dir().join("export");
    let scratch = Scratch::new("export-ref");
    let frameworks = [None]
        .into_iter()
        .chain(Framework::ALL.into_iter().map(Some));
    let mut compared = 0;
    for signed in [false, true] {
        let kind = if signed { "signed" } else { "unsigned" };
        let src = dir.join(format!("_src_{kind}.jsonl"));
        for fw in frameworks.clone() {
            let name = fw.map_or("none", Framework::as_str);
            let want = std::fs::read_to_string(dir.join(format!("x_{name}_{kind}.jsonl")))
                .expect("reference pack");
            let mut opts = ExportOptions::new().framework(fw);
            if signed {
                opts = opts.key(SigningKey::from(KEY));
            }
            let out = scratch.join(&format!("{name}_{kind}.jsonl"));
            let report = export_log(&src, &out, &opts).expect("export");
            assert_eq!(report.signed, signed);
            let got = std::fs::read_to_string(&out).unwrap();
            assert_eq!(
                without_our_fields(&got, signed),
                want,
                "{name} {kind}: only our two header fields may differ"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 10);
}

/// A new signed log, `loan-triage`, high risk, in `scratch`.
async fn signed_log(scratch: &Scratch) -> AuditLog {
    AuditLog::builder("loan-triage")
        .risk_tier("high")
        .signing_key(SigningKey::from(KEY))
        .open(scratch.join("audit.jsonl"))
        .await
        .unwrap()
}

/// A pack of our own log verifies here and in the reference, against its own header; with the
/// key it is checked as signed; editing its summary's completeness claim is caught.
#[tokio::test]
async fn our_packs_verify_in_both_and_tampering_fails() {
    let scratch = Scratch::new("export-ours");
    let log = signed_log(&scratch).await;
    let id = acttrace::chain::DecisionId::random();
    log.append(Entry::decision(&id, "loan A-1", "agent"))
        .await
        .unwrap();
    let flag = acttrace::chain::PolicyFlag::new("card number in input")
        .decision(&id)
        .action("redacted")
        .severity("critical")
        .data(acttrace::json::Value::Array(vec!["credit_card".into()]));
    log.append(Entry::policy_flag(flag)).await.unwrap();
    log.append(Entry::human_oversight(&id, "r-1", "approved", ""))
        .await
        .unwrap();
    log.append(Entry::decision_end(&id, Map::new()))
        .await
        .unwrap();
    log.append(Entry::new("gap", Map::new())).await.unwrap();

    for fw in Framework::ALL {
        let pack = scratch.join(&format!("{fw}.jsonl"));
        let report = log.export(&pack, Some(fw)).await.unwrap();
        assert_eq!(report.entries, 6);
        assert_eq!(report.head, log.head().hash);
        let ours = verify_path(&pack, &VerifyOptions::new().key(SigningKey::from(KEY)));
        assert!(ours.is_ok(), "{fw}: {ours}");
        assert!(ours.meta_trusted(), "{fw}: header signature checked");
        let (ok, detail) = reference_verify(&pack, Some(KEY), None);
        assert!(ok, "reference on {fw}: {detail}");
        assert_eq!(ours.detail(), detail);

        let text = std::fs::read_to_string(&pack).unwrap();
        let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let meta = &header["_meta"];
        assert_eq!(meta["system"], "loan-triage");
        assert_eq!(meta["framework"], fw.as_str());
        assert_eq!(meta["summary"]["decisions"], 1);
        assert_eq!(meta["summary"]["human_oversight"], 1);
        assert_eq!(meta["summary"]["flags_by_action"]["redacted"], 1);
        assert_eq!(meta["summary"]["flags_by_severity"]["critical"], 1);
        assert_eq!(text.lines().count(), 7);
        for line in text.lines().skip(1) {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(row["controls"].is_array(), "{line}");
        }

        // Cut the last entry and lower the header's count to match: the signed header no
        // longer holds, in both verifiers.
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.pop();
        lines[0] = lines[0].replace("\"entries\": 6", "\"entries\": 5");
        let cut = scratch.join("cut.jsonl");
        std::fs::write(&cut, lines.join("\n") + "\n").unwrap();
        let ours = verify_path(&cut, &VerifyOptions::new().key(SigningKey::from(KEY)));
        let (ok, detail) = reference_verify(&cut, Some(KEY), None);
        assert!(
            !ours.is_ok() && !ok,
            "{fw}: a cut pack passed: {ours} / {detail}"
        );
    }
    log.shutdown().await.unwrap();
}

/// 10,000 appends from 256 tasks while packs are made and the log is verified over and over:
/// every pack verifies against its own header, the counts grow, the first pack is made while
/// the log grows, and in the end no `seq` is missing or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_consistent_snapshots_under_concurrent_appends() {
    let scratch = Scratch::new("export-concurrent");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("busy")
        .durability(Durability::Fsync)
        .open(&path)
        .await
        .unwrap();
    let writers: Vec<_> = (0..256)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in (t..10_000).step_by(256) {
                    let mut p = Map::new();
                    p.insert("task", t).insert("i", i);
                    log.append(Entry::new("tool_call", p)).await.unwrap();
                }
            })
        })
        .collect();
    let packs = scratch.join("packs");
    let mut last = 0;
    let mut first = None;
    let mut exports = 0;
    loop {
        let done = writers.iter().all(tokio::task::JoinHandle::is_finished);
        let pack = packs.join(format!("pack-{exports}.jsonl"));
        let report = log.export(&pack, Some(Framework::NistRmf)).await.unwrap();
        assert!(report.entries >= last, "a later snapshot lost entries");
        last = report.entries;
        first.get_or_insert(report.entries);
        let v = verify_path(&pack, &VerifyOptions::new());
        assert!(v.is_ok(), "pack {exports}: {v}");
        assert_eq!(v.entries(), report.entries);
        // The live log, as a reader sees it mid-write: its complete lines verify (the last
        // line may be half written at this instant).
        let bytes = std::fs::read(&path).unwrap();
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let live = verify_reader(&bytes[..whole], "live", &VerifyOptions::new());
        assert!(live.is_ok(), "live log: {live}");
        assert!(live.entries() >= report.entries);
        exports += 1;
        if done {
            break;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    log.sync().await.unwrap();
    let head = log.head();
    assert_eq!(head.entries, 10_001);
    let v = verify_path(
        &path,
        &VerifyOptions::new()
            .expected_head(&head.hash)
            .expected_entries(head.entries),
    );
    assert!(v.is_ok(), "{v}");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seqs: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert!(
        seqs.iter().copied().eq(0..10_001),
        "seqs missing or repeated"
    );
    // How many packs fit in the appends depends on the machine's load; that the first was a
    // snapshot of a log still growing does not.
    assert!(
        exports >= 2 && first.is_some_and(|n| n < head.entries),
        "{exports} exports, the first of {first:?} entries"
    );
    log.shutdown().await.unwrap();
}

/// A log that does not verify is not exported, and nothing is left at the pack's path; a pack
/// is not a log to export.
#[tokio::test]
async fn a_log_that_does_not_verify_is_not_exported() {
    let scratch = Scratch::new("export-refuse");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("s", &path).await.unwrap();
    log.append(Entry::new("decision", Map::new()))
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"decision\"", "\"decisioN\"")).unwrap();
    let pack = scratch.join("pack.jsonl");
    let err = export_log(&path, &pack, &ExportOptions::new()).unwrap_err();
    assert!(matches!(err, ExportError::DoesNotVerify { .. }), "{err}");
    assert!(!pack.exists());
    assert_eq!(
        std::fs::read_dir(scratch.join("")).unwrap().count(),
        1,
        "no temporary file left"
    );

    let src = vectors_dir().join("export/x_gdpr_unsigned.jsonl");
    let err = export_log(&src, &pack, &ExportOptions::new()).unwrap_err();
    assert!(matches!(err, ExportError::NotALog { .. }), "{err}");
}

/// The attacks the reference's header lets through, on a pack of ours: the header deleted and
/// the tail cut, the summary edited, the entries' controls edited, our header signature
/// stripped. Each is refused here; the reference accepts the first three with the key.
#[tokio::test]
async fn a_signed_header_holds_against_stripping_and_editing() {
    let scratch = Scratch::new("export-attacks");
    let log = signed_log(&scratch).await;
    let id = acttrace::chain::DecisionId::random();
    for _ in 0..3 {
        log.append(Entry::decision(&id, "loan", "agent"))
            .await
            .unwrap();
        log.append(Entry::human_oversight(&id, "r-1", "approved", ""))
            .await
            .unwrap();
    }
    let pack = scratch.join("pack.jsonl");
    log.export(&pack, Some(Framework::EuAiAct)).await.unwrap();
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&pack).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keyed = || VerifyOptions::new().key(SigningKey::from(KEY));
    assert!(verify_path(&pack, &keyed()).is_ok());

    let attack = |name: &str, body: String| {
        let p = scratch.join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    // 1. Header deleted, last two entries cut.
    let stripped = attack(
        "stripped.jsonl",
        lines[1..lines.len() - 2].join("\n") + "\n",
    );
    let ours = verify_path(&stripped, &keyed());
    assert_eq!(ours.class(), "pack_without_header", "{ours}");
    let (ok, _) = reference_verify(&stripped, Some(KEY), None);
    assert!(
        ok,
        "the reference accepts a stripped pack (its known weakness)"
    );

    // 2. Summary edited, signatures kept.
    let edited = text.replacen("\"decisions\": 3", "\"decisions\": 2", 1);
    assert_ne!(edited, text);
    let edited = attack("summary.jsonl", edited);
    assert_eq!(verify_path(&edited, &keyed()).class(), "meta_forged");
    assert_eq!(
        verify_path(&edited, &VerifyOptions::new()).class(),
        "pack_mismatch",
        "caught without the key too: the summary is recomputed from the entries"
    );
    let (ok, _) = reference_verify(&edited, Some(KEY), None);
    assert!(ok, "the reference accepts an edited summary");

    // 3. An entry's controls edited.
    let controls = text.replacen("\"Art.14 human oversight\", ", "", 1);
    assert_ne!(controls, text);
    let controls = attack("controls.jsonl", controls);
    assert_eq!(
        verify_path(&controls, &VerifyOptions::new()).class(),
        "pack_mismatch"
    );

    // 4. Our header signature stripped (a downgrade to the reference's).
    let header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let sig = header["_meta"]["header_sig"].as_str().unwrap();
    let downgraded = text.replacen(&format!(", \"header_sig\": \"{sig}\""), "", 1);
    assert_ne!(downgraded, text);
    let downgraded = attack("downgraded.jsonl", downgraded);
    assert_eq!(verify_path(&downgraded, &keyed()).class(), "meta_forged");

    // 5. No signature at all on a signed log's pack.
    let reference_sig = header["_meta"]["sig"].as_str().unwrap();
    let unsigned = text
        .replacen(&format!(", \"header_sig\": \"{sig}\""), "", 1)
        .replacen(&format!(", \"sig\": \"{reference_sig}\""), "", 1);
    let unsigned = attack("unsigned.jsonl", unsigned);
    assert_eq!(
        verify_path(&unsigned, &keyed()).class(),
        "meta_unauthenticated"
    );
}

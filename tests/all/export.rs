//! Evidence packs: byte-identical to the reference's packs, verifiable in both verifiers, and
//! consistent snapshots while the log is being written.

use acttrace::chain::{
    AuditLog, Durability, Entry, ExportError, ExportOptions, Framework, Map, SigningKey,
    VerifyOptions, export_log, verify_path,
};

use crate::support::{Scratch, reference_verify, vectors_dir};

const KEY: &str = "test-signing-key-01";

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
            for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
                assert_eq!(g, w, "{name} {kind}: line {} differs", n + 1);
            }
            assert_eq!(got, want, "{name} {kind}");
            compared += 1;
        }
    }
    assert_eq!(compared, 10);
}

/// A pack of our own log verifies here and in the reference, against its own header; with the
/// key it is checked as signed; editing its summary's completeness claim is caught.
#[tokio::test]
async fn our_packs_verify_in_both_and_tampering_fails() {
    let scratch = Scratch::new("export-ours");
    let log = AuditLog::builder("loan-triage")
        .risk_tier("high")
        .signing_key(SigningKey::from(KEY))
        .open(scratch.join("audit.jsonl"))
        .await
        .unwrap();
    let id = acttrace::chain::DecisionId::random();
    log.append(Entry::decision(&id, "loan A-1", "agent"))
        .await
        .unwrap();
    let flag = acttrace::chain::PolicyFlag::new("card number in input")
        .decision(&id)
        .action("redacted")
        .severity("critical")
        .data(acttrace::chain::Value::Array(vec!["credit_card".into()]));
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
/// every pack verifies against its own header, the counts grow, and in the end no `seq` is
/// missing or repeated.
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
    let mut exports = 0;
    loop {
        let done = writers.iter().all(tokio::task::JoinHandle::is_finished);
        let pack = packs.join(format!("pack-{exports}.jsonl"));
        let report = log.export(&pack, Some(Framework::NistRmf)).await.unwrap();
        assert!(report.entries >= last, "a later snapshot lost entries");
        last = report.entries;
        let v = verify_path(&pack, &VerifyOptions::new());
        assert!(v.is_ok(), "pack {exports}: {v}");
        assert_eq!(v.entries(), report.entries);
        let live = verify_path(&path, &VerifyOptions::new());
        assert!(live.is_ok(), "live log: {live}");
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
    assert!(
        exports >= 3,
        "only {exports} exports overlapped the appends"
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

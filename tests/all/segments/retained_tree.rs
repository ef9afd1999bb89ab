//! One Merkle tree across a segmented log after retention: the signed retention record keeps
//! the frontier of the deleted entries, so the kept segments still give the whole chain's
//! tree. Its heads are the ones signed before retention, the kept entries are proved against
//! them (and the auditor's report checks the set against them), and the deleted ones are
//! refused by name; writing and retention go on, and a live log's heads start from the
//! frontier too.

use std::path::Path;

use acttrace::evidence::proof::Tree;
use acttrace::evidence::publish::TreeHeads;
use acttrace::json::Value;
use acttrace::store::{Segments, retain};

use super::{append, open, opts, three_sealed};
use crate::support::run_acttrace;

/// The log's lines, all segments in order.
fn lines_of(dir: &Path) -> Vec<String> {
    super::segment_files(dir)
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

fn seq_of(line: &str) -> u64 {
    Value::parse(line)
        .unwrap()
        .get("seq")
        .and_then(Value::as_u64)
        .unwrap()
}

#[tokio::test]
async fn after_retention_the_tree_goes_on_from_the_records_frontier() {
    let (scratch, dir, seal, files) = three_sealed("segments-retained-tree").await;
    let (secret, public) = seal.save_pair(scratch.join("ops")).unwrap();
    let cli = |args: &[&str]| run_acttrace(args);
    let (d, k) = (dir.to_str().unwrap(), secret.to_str().unwrap());
    let note = scratch.join("log.note");
    let checkpoint = || {
        let (code, said) = cli(&["checkpoint", d, "--note", "--signing-key-file", k]);
        assert_eq!(code, Some(0), "{said}");
        let verifier = crate::support::verifier_key(&said);
        (std::fs::read_to_string(&note).unwrap(), verifier)
    };

    // Before retention: the whole tree, and its head signed.
    let all_lines = lines_of(&dir);
    let whole = Tree::from_log(&dir).unwrap();
    let (before, verifier) = checkpoint();
    let signed_before = scratch.join("before.note");
    std::fs::write(&signed_before, &before).unwrap();

    // Retention deletes every sealed segment but the last.
    let gone = retain(&dir, "2999-01-01T00:00:00Z", &seal, &opts()).unwrap();
    assert_eq!(gone.len(), files.len() - 1, "{gone:?}");
    let record = std::fs::read_to_string(dir.join("retention.json")).unwrap();
    assert!(record.contains("\"frontier\""), "{record}");

    // The kept segment gives the whole chain's tree, and the same signed head.
    let after = Tree::from_log(&dir).unwrap();
    let deleted = all_lines.len() as u64 - lines_of(&dir).len() as u64;
    assert_eq!(after.deleted(), deleted);
    assert_eq!((after.size(), after.root()), (whole.size(), whole.root()));
    assert_eq!(
        checkpoint().0,
        before,
        "the head signed after is the one signed before"
    );
    let (code, said) = cli(&[
        "verify",
        d,
        "--note",
        signed_before.to_str().unwrap(),
        "--verifier",
        &verifier,
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("tree head verified"), "{said}");

    // The auditor's report of what is kept: it verifies, from the retention record on, and
    // is the tree the head signed before retention signs.
    let html = scratch.join("report.html");
    let (code, said) = cli(&[
        "report",
        d,
        "--public-key",
        public.to_str().unwrap(),
        "--note",
        signed_before.to_str().unwrap(),
        "--verifier",
        &verifier,
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("deleted under a signed retention record"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "signed tree of {} entries is this log",
            whole.size()
        )),
        "{page}"
    );

    // A kept entry is proved against the head signed before retention; a deleted one is
    // refused, saying why.
    let kept_seq = seq_of(&all_lines[deleted as usize]);
    let proof = scratch.join("kept.proof");
    let p = proof.to_str().unwrap();
    let (code, said) = cli(&["prove", d, "--seq", &kept_seq.to_string(), "-o", p]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = cli(&[
        "check-proof",
        p,
        "--note",
        signed_before.to_str().unwrap(),
        "--verifier",
        &verifier,
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains(&format!("valid: entry {kept_seq}")), "{said}");
    let deleted_seq = seq_of(&all_lines[2]).to_string();
    let (code, said) = cli(&["prove", d, "--seq", &deleted_seq, "-o", p]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("deleted under retention"), "{said}");
    assert!(after.inclusion_proof(2, after.size()).is_err());
    assert!(after.root_at(deleted - 1).is_err());
    assert_eq!(
        after.root_at(deleted).unwrap(),
        whole.root_at(deleted).unwrap()
    );

    // Writing goes on, and so does retention: the record's frontier grows with what goes.
    // A live log's tree heads, made on demand and published, start from the frontier too.
    let log = open(&dir, Segments::new(seal.clone()).max_bytes(2_000)).await;
    let heads = log
        .publish_tree_heads(TreeHeads::new("loan-triage", seal.clone()).every_entries(10))
        .await
        .unwrap();
    append(&log, 40).await;
    let (live, _) = log.tree_head("loan-triage", &seal).await.unwrap();
    let published = heads.publish_now().await.unwrap().head.clone();
    log.shutdown().await.unwrap();
    let closed = heads.closed().await.latest.unwrap().head.clone();
    let grown = Tree::from_log(&dir).unwrap();
    assert_eq!((live.size, live.root), (grown.size(), grown.root()));
    assert_eq!(published, live);
    assert!(closed.is_head_of(&grown), "{closed:?}");
    let joined = scratch.join("joined.jsonl");
    let now = lines_of(&dir);
    let mut text = all_lines.join("\n") + "\n";
    for l in &now[(whole.size() - deleted) as usize..] {
        text += &format!("{l}\n");
    }
    std::fs::write(&joined, text).unwrap();
    let expected = Tree::from_log(&joined).unwrap();
    assert_eq!(
        (grown.size(), grown.root()),
        (expected.size(), expected.root())
    );
    let again = retain(&dir, "2999-01-01T00:00:00Z", &seal, &opts()).unwrap();
    assert!(!again.is_empty());
    let retained_twice = Tree::from_log(&dir).unwrap();
    assert!(retained_twice.deleted() > after.deleted());
    assert_eq!(retained_twice.root(), expected.root());

    // A record whose frontier was altered no longer verifies, and gives another root.
    let record_path = dir.join("retention.json");
    let record = std::fs::read_to_string(&record_path).unwrap();
    let first = Value::parse(&record)
        .unwrap()
        .get("tree")
        .and_then(|t| t.get("frontier"))
        .and_then(|f| match f {
            Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .unwrap();
    let flipped = if first.starts_with('0') { "1" } else { "0" };
    let altered = format!("{flipped}{}", &first[1..]);
    std::fs::write(&record_path, record.replace(&first, &altered)).unwrap();
    let r = acttrace::verify::segments::verify_segments(&dir, &opts(), Some(&seal.public()));
    assert!(
        r.failure
            .as_deref()
            .unwrap_or("")
            .contains("retention record"),
        "{r}"
    );
    assert_ne!(Tree::from_log(&dir).unwrap().root(), expected.root());
}

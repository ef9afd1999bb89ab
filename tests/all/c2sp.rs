//! Our signed tree heads, trees and proofs checked by an independent implementation of the
//! same specifications: Cloudflare's `signed_note` (C2SP signed-note) and `tlog_tiles` (C2SP
//! tlog-checkpoint, and the Merkle tree of Go's checksum database, which is RFC 6962's).

use acttrace::chain::Entry;
use acttrace::chain::checkpoint::CheckpointKey;
use acttrace::evidence::note::NoteVerifier;
use acttrace::evidence::proof::Tree;
use acttrace::json::Map;
use acttrace::store::{AuditLog, Durability};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash, HashReader};

use crate::support::Scratch;

/// The stored hashes of `tlog_tiles`' own tree, kept in memory.
struct Stored(Vec<Hash>);

impl HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|i| self.0[*i as usize]).collect())
    }
}

/// The entry hashes of a log, each a leaf's data (its 32 bytes).
fn leaves(path: &std::path::Path) -> Vec<[u8; 32]> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("_meta").is_none())
        .map(|v| {
            let hex = v["hash"].as_str().unwrap();
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
            out
        })
        .collect()
}

#[tokio::test]
async fn tree_heads_notes_and_proofs_verify_in_an_independent_implementation() {
    let dir = Scratch::new("c2sp");
    let path = dir.join("audit.jsonl");
    let log = AuditLog::builder("loan-triage")
        .durability(Durability::None)
        .open(&path)
        .await
        .unwrap();
    for i in 0..40 {
        let mut fields = Map::new();
        fields.insert("n", i);
        log.append(Entry::new("decision", fields)).await.unwrap();
    }
    let origin = "acttrace.example/loan-triage";
    let key = CheckpointKey::generate().unwrap();
    let (head, note) = log.tree_head(origin, &key).await.unwrap();
    log.shutdown().await.unwrap();
    assert_eq!(head.size, 41);

    // The note and its signature, by their verifier key line.
    let verifier = NoteVerifier::new(origin, &key.public())
        .unwrap()
        .to_string();
    let theirs = StandardVerifier::new(&verifier).expect("our verifier key parses");
    let parsed = Note::from_bytes(note.as_bytes()).expect("our note parses");
    let (good, unknown) = parsed
        .verify(&VerifierList::new(vec![Box::new(theirs)]))
        .expect("our signature verifies");
    assert_eq!((good.len(), unknown.len()), (1, 0));
    assert_eq!(good[0].name(), origin);

    // A changed note fails there too.
    let forged = note.replacen("\n41\n", "\n40\n", 1);
    let theirs = StandardVerifier::new(&verifier).unwrap();
    assert!(
        Note::from_bytes(forged.as_bytes())
            .unwrap()
            .verify(&VerifierList::new(vec![Box::new(theirs)]))
            .is_err()
    );

    // The checkpoint body: origin, size and root as we wrote them.
    let checkpoint = Checkpoint::from_bytes(parsed.text()).expect("our body is a checkpoint");
    assert_eq!(checkpoint.origin(), origin);
    assert_eq!(checkpoint.size(), 41);
    assert_eq!(checkpoint.hash().0, head.root);

    // Their tree over the same leaves: every root, inclusion and consistency proof agrees.
    let data = leaves(&path);
    let ours = Tree::from_log(&path).unwrap();
    let mut stored = Stored(Vec::new());
    for (n, leaf) in data.iter().enumerate() {
        let more = tlog_tiles::stored_hashes(n as u64, leaf, &stored).unwrap();
        stored.0.extend(more);
    }
    for size in 1..=data.len() as u64 {
        let root = tlog_tiles::tree_hash(size, &stored).unwrap();
        assert_eq!(root.0, ours.root_at(size).unwrap(), "root of {size}");
        for index in 0..size {
            let proof = ours.inclusion_proof(index, size).unwrap();
            let leaf = tlog_tiles::record_hash(&data[index as usize]);
            let as_theirs: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
            tlog_tiles::check_record(&as_theirs, size, root, index, leaf)
                .unwrap_or_else(|e| panic!("inclusion of {index} in {size}: {e}"));
            let made = tlog_tiles::prove_record(size, index, &stored).unwrap();
            assert_eq!(made, as_theirs, "inclusion of {index} in {size}");
        }
        for old in 1..size {
            let proof = ours.consistency_proof(old, size).unwrap();
            let as_theirs: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
            let old_root = tlog_tiles::tree_hash(old, &stored).unwrap();
            tlog_tiles::check_tree(&as_theirs, size, root, old, old_root)
                .unwrap_or_else(|e| panic!("consistency of {old} with {size}: {e}"));
            assert_eq!(
                tlog_tiles::prove_tree(size, old, &stored).unwrap(),
                as_theirs,
                "consistency of {old} with {size}"
            );
        }
    }
    // And a proof for another entry fails there.
    let root = tlog_tiles::tree_hash(41, &stored).unwrap();
    let proof: Vec<Hash> = ours
        .inclusion_proof(7, 41)
        .unwrap()
        .iter()
        .map(|h| Hash(*h))
        .collect();
    assert!(
        tlog_tiles::check_record(&proof, 41, root, 8, tlog_tiles::record_hash(&data[8])).is_err()
    );
}

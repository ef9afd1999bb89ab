//! Signed notes against the reference implementation's published vectors (Go's
//! `golang.org/x/mod/sumdb/note` documentation and the C2SP specification's example), and
//! checkpoints over a real log of the vendored test vectors.

use super::*;
use crate::evidence::proof::{leaf_hash, verify_inclusion};

/// Go's example key: `PRIVATE+KEY+PeterNeumann+c74f20a3+` then base64(0x01 || seed).
const GO_SECRET: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/// The signed-note specification's example.
const SPEC_VERIFIER: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn go_key() -> CheckpointKey {
    let bytes = crate::base64::decode(GO_SECRET).unwrap();
    assert_eq!(bytes[0], ED25519);
    CheckpointKey::from_hex(&hex(&bytes[1..])).unwrap()
}

#[test]
fn signs_byte_for_byte_as_the_reference_implementation() {
    let key = go_key();
    let verifier = NoteVerifier::new("PeterNeumann", &key.public()).unwrap();
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(verifier.to_string(), GO_VERIFIER);
    let note = sign_note(GO_TEXT, "PeterNeumann", &key).unwrap();
    assert_eq!(note, format!("{GO_TEXT}\n{GO_NOTE_SIG}"));
    let parsed = NoteVerifier::parse(GO_VERIFIER).unwrap();
    assert_eq!(parsed, verifier);
    assert_eq!(open_note(&note, &parsed).unwrap(), GO_TEXT);
}

#[test]
fn opens_the_specification_example() {
    let verifier = NoteVerifier::parse(SPEC_VERIFIER).unwrap();
    assert_eq!(verifier.name(), "example.com/foo");
    assert_eq!(verifier.key_id(), 0x530d903a);
    assert_eq!(
        open_note(SPEC_NOTE, &verifier).unwrap(),
        "This is an example message.\n"
    );
    // One character of the text changed: the signature no longer verifies.
    let altered = SPEC_NOTE.replace("example message", "exemple message");
    assert_eq!(
        open_note(&altered, &verifier),
        Err(NoteError::BadSignature("example.com/foo".into()))
    );
}

#[test]
fn other_signers_are_ignored_and_missing_ones_refused() {
    let key = go_key();
    let witness = CheckpointKey::generate().unwrap();
    let note = sign_note(GO_TEXT, "PeterNeumann", &key).unwrap();
    let by_witness = sign_note(GO_TEXT, "witness.example", &witness).unwrap();
    let cosigned = format!("{note}{}", &by_witness[GO_TEXT.len() + 1..]);
    let ours = NoteVerifier::parse(GO_VERIFIER).unwrap();
    let theirs = NoteVerifier::new("witness.example", &witness.public()).unwrap();
    assert_eq!(open_note(&cosigned, &ours).unwrap(), GO_TEXT);
    assert_eq!(open_note(&cosigned, &theirs).unwrap(), GO_TEXT);
    // The same name with another key is a different verifier.
    let impostor = NoteVerifier::new("PeterNeumann", &witness.public()).unwrap();
    assert!(matches!(
        open_note(&note, &impostor),
        Err(NoteError::UnknownKey { .. })
    ));
}

#[test]
fn malformed_notes_keys_and_texts_are_refused() {
    let verifier = NoteVerifier::parse(GO_VERIFIER).unwrap();
    let note = format!("{GO_TEXT}\n{GO_NOTE_SIG}");
    for bad in [
        String::new(),
        GO_TEXT.to_owned(),
        note.trim_end().to_owned(),
        note.replace('\u{2014}', "-"),
        note.replace("x08go", "x08g!"),
        note.replace("PeterNeumann x08go", "PeterNeumannx08go"),
        format!("{GO_TEXT}\n\u{2014} PeterNeumann AAAA\n"),
        format!("\u{1b}[2J{note}"),
    ] {
        assert!(open_note(&bad, &verifier).is_err(), "{bad:?} was accepted");
    }
    let many = format!("{note}{}", GO_NOTE_SIG.repeat(100));
    assert!(matches!(
        open_note(&many, &verifier),
        Err(NoteError::Malformed(_))
    ));
    for bad in [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Bhpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(NoteVerifier::parse(bad).is_err(), "{bad:?} was accepted");
    }
    let key = go_key();
    for text in ["", "no newline", "a\n\nb\n", "\n", "bell \u{7}\n"] {
        assert!(sign_note(text, "n", &key).is_err(), "{text:?} was signed");
    }
    for name in ["", "a b", "a+b", "a\nb"] {
        assert!(sign_note(GO_TEXT, name, &key).is_err(), "{name:?} was used");
    }
}

#[test]
fn checkpoint_bodies_follow_tlog_checkpoint() {
    // The tlog-checkpoint specification's example body, with an extension line.
    let body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nextension\n";
    let head = TreeHead::parse_body(body).unwrap();
    assert_eq!(head.origin, "example.com/behind-the-sofa");
    assert_eq!(head.size, 20852163);
    assert_eq!(&head.body(), body.strip_suffix("extension\n").unwrap());
    // The empty tree's root is SHA-256 of nothing.
    let empty = TreeHead::of(&Tree::new(), "o").unwrap();
    assert_eq!(
        empty.body(),
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    );
    for bad in [
        "o\n",
        "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n99999999999999999999\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n1\nAAAA\n",
    ] {
        assert!(TreeHead::parse_body(bad).is_err(), "{bad:?} was accepted");
    }
    assert!(TreeHead::of(&Tree::new(), "").is_err());
    assert!(TreeHead::of(&Tree::new(), "a\nb").is_err());
}

#[test]
fn a_signed_checkpoint_of_a_real_log_anchors_its_proofs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/valid/v_auto_events_signed.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let hashes: Vec<String> = text
        .lines()
        .filter_map(|l| crate::json::Value::parse(l).ok())
        .filter(|row| row.get("_meta").is_none())
        .filter_map(|row| row.get("hash").and_then(|h| h.as_str()).map(str::to_owned))
        .collect();
    assert!(hashes.len() >= 3, "the vector holds several entries");
    let log = Tree::from_log(&path).unwrap();
    assert_eq!(log.size(), hashes.len() as u64);

    let key = CheckpointKey::generate().unwrap();
    let origin = "acttrace.example/loan-triage";
    let note = TreeHead::of(&log, origin)
        .unwrap()
        .sign(origin, &key)
        .unwrap();
    let line = NoteVerifier::new(origin, &key.public())
        .unwrap()
        .to_string();
    let verifier = NoteVerifier::parse(&line).unwrap();
    let head = TreeHead::open(&note, &verifier).unwrap();
    assert_eq!((head.size, head.root), (log.size(), log.root()));
    assert!(head.is_head_of(&log));
    let mut shorter = Tree::new();
    hashes[..hashes.len() - 1]
        .iter()
        .for_each(|h| shorter.push(leaf_hash(h).unwrap()));
    assert!(
        !head.is_head_of(&shorter),
        "a log with its tail cut is not the signed one"
    );
    let mut grown = log.clone();
    grown.push(leaf_hash(&"ab".repeat(32)).unwrap());
    assert!(
        head.is_head_of(&grown),
        "a log that grew extends the signed one"
    );
    let mut rewritten = Tree::new();
    hashes
        .iter()
        .rev()
        .for_each(|h| rewritten.push(leaf_hash(h).unwrap()));
    assert!(
        !head.is_head_of(&rewritten),
        "a reordered log is not the signed one"
    );
    for (index, hash) in hashes.iter().enumerate() {
        let proof = log.inclusion_proof(index as u64, head.size).unwrap();
        let leaf = leaf_hash(hash).unwrap();
        assert!(verify_inclusion(&leaf, index as u64, head.size, &proof, &head.root).is_ok());
    }
    // A checkpoint edited to claim another size fails its signature.
    let lie = note.replacen(
        &format!("\n{}\n", head.size),
        &format!("\n{}\n", head.size + 1),
        1,
    );
    assert_ne!(lie, note);
    assert!(matches!(
        TreeHead::open(&lie, &verifier),
        Err(NoteError::BadSignature(_))
    ));
}

/// Tree heads of a log that is being written to: each one covers a whole prefix of what ends
/// on disk (no torn last line), and every later one extends every earlier one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_heads_of_a_running_log_are_prefixes_that_extend_each_other() {
    use crate::chain::Entry;
    use crate::json::Map;
    use crate::store::{AuditLog, Durability};

    let dir = std::env::temp_dir().join(format!("acttrace-note-running-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let log = AuditLog::builder("loan-triage")
        .durability(Durability::None)
        .open(&path)
        .await
        .unwrap();
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            for _ in 0..2000 {
                log.append(Entry::new("decision", Map::new()))
                    .await
                    .unwrap();
            }
        })
    };
    let key = CheckpointKey::generate().unwrap();
    let mut heads = Vec::new();
    while !writer.is_finished() {
        heads.push(log.tree_head("example.com/loan", &key).await.unwrap().0);
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    heads.push(log.tree_head("example.com/loan", &key).await.unwrap().0);
    log.shutdown().await.unwrap();

    let tree = Tree::from_log(&path).unwrap();
    assert_eq!(tree.size(), 2001);
    assert_eq!(heads.last().unwrap().size, 2001);
    assert!(heads.len() >= 2, "heads were taken while the log grew");
    for pair in heads.windows(2) {
        assert!(pair[0].size <= pair[1].size);
    }
    for head in &heads {
        assert!(head.is_head_of(&tree), "the head of {} entries", head.size);
        if head.size > 0 && head.size < tree.size() {
            let proof = tree.consistency_proof(head.size, tree.size()).unwrap();
            assert!(
                crate::evidence::proof::verify_consistency(
                    head.size,
                    tree.size(),
                    &head.root,
                    &tree.root(),
                    &proof
                )
                .is_ok()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

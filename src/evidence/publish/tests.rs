use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::chain::Entry;
use crate::evidence::note::NoteVerifier;
use crate::evidence::proof::verify_consistency;
use crate::json::Map;
use crate::store::Durability;

const ORIGIN: &str = "example.com/loan-triage";

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("acttrace-publish-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open(path: &Path) -> AuditLog {
    AuditLog::builder("loan-triage")
        .durability(Durability::None)
        .open(path)
        .await
        .unwrap()
}

fn decision() -> Entry {
    Entry::new("decision", Map::new())
}

/// Every `N` entries a head is published by itself; each is a prefix of the final log that
/// the final head extends, fewer than `N` new entries publish nothing until close, the last
/// head covers everything, and the saved note is the last one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_come_every_n_entries_and_at_close() {
    let dir = Dir::new("every-n");
    let path = dir.0.join("audit.jsonl");
    let note_path = dir.0.join("audit.jsonl.note");
    let key = CheckpointKey::generate().unwrap();
    let verifier = NoteVerifier::new(ORIGIN, &key.public()).unwrap();
    let log = open(&path).await;
    let heads = log
        .publish_tree_heads(
            TreeHeads::new(ORIGIN, key)
                .every_entries(100)
                .save_to(&note_path),
        )
        .await
        .unwrap();
    assert_eq!(
        heads.latest().unwrap().head.size,
        1,
        "a head when publishing starts"
    );

    let mut seen = heads.subscribe();
    let mut published = Vec::new();
    for round in 1..=5u64 {
        for _ in 0..100 {
            log.append(decision()).await.unwrap();
        }
        // The head for these 100 entries comes by itself: nobody asks for it.
        let want = 1 + round * 100;
        let head = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                seen.changed().await.unwrap();
                if let Some(p) = seen.borrow_and_update().latest.clone()
                    && p.head.size >= want
                {
                    return p;
                }
            }
        })
        .await
        .expect("a head every 100 entries");
        assert_eq!(head.head.size, want);
        published.push(head);
    }
    // Fewer than 100 more: nothing until close.
    for _ in 0..50 {
        log.append(decision()).await.unwrap();
    }
    let quiet = tokio::time::timeout(Duration::from_millis(300), seen.changed()).await;
    assert!(quiet.is_err(), "no head for fewer than 100 new entries");
    log.shutdown().await.unwrap();
    let last = heads.closed().await;

    assert!(last.error.is_none(), "{:?}", last.error);
    let last = last.latest.unwrap();
    assert_eq!(last.head.size, 551, "the last head covers everything");
    let tree = Tree::from_log(&path).unwrap();
    assert!(last.head.is_head_of(&tree));
    published.push(last.clone());
    for p in &published {
        assert_eq!(TreeHead::open(&p.note, &verifier).unwrap(), p.head);
        assert!(
            p.head.is_head_of(&tree),
            "the head of {} entries",
            p.head.size
        );
        let proof = tree.consistency_proof(p.head.size, tree.size()).unwrap();
        verify_consistency(p.head.size, tree.size(), &p.head.root, &tree.root(), &proof).unwrap();
    }
    let saved = std::fs::read_to_string(&note_path).unwrap();
    assert_eq!(saved, last.note);
}

/// With a period and no count, a head comes once the period passes with new entries, and
/// none while the log stands still.
#[tokio::test]
async fn heads_come_every_period_only_when_the_log_grew() {
    let dir = Dir::new("every-t");
    let path = dir.0.join("audit.jsonl");
    let log = open(&path).await;
    let key = CheckpointKey::generate().unwrap();
    let heads = log
        .publish_tree_heads(TreeHeads::new(ORIGIN, key).every(Duration::from_millis(50)))
        .await
        .unwrap();
    let mut seen = heads.subscribe();
    seen.borrow_and_update();

    // Standing still: nothing new is published.
    let quiet = tokio::time::timeout(Duration::from_millis(300), seen.changed()).await;
    assert!(quiet.is_err(), "no head without new entries");

    log.append(decision()).await.unwrap();
    log.append(decision()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), seen.changed())
        .await
        .expect("a head within the period")
        .unwrap();
    assert_eq!(heads.latest().unwrap().head.size, 3);
    log.shutdown().await.unwrap();
}

/// On demand: the head covers every entry appended before, even unsynced ones.
#[tokio::test]
async fn a_head_on_demand_covers_everything_appended() {
    let dir = Dir::new("now");
    let path = dir.0.join("audit.jsonl");
    let log = open(&path).await;
    let key = CheckpointKey::generate().unwrap();
    let heads = log
        .publish_tree_heads(TreeHeads::new(ORIGIN, key))
        .await
        .unwrap();
    for n in 1..=3u64 {
        for _ in 0..n {
            log.append(decision()).await.unwrap();
        }
        let p = heads.publish_now().await.unwrap();
        let tree = Tree::from_log(&path).unwrap();
        assert_eq!(p.head.size, tree.size());
        assert!(p.head.is_head_of(&tree));
    }
    log.shutdown().await.unwrap();
    assert_eq!(heads.closed().await.latest.unwrap().head.size, 7);
}

/// A log that already holds entries: the first head covers them (the tree is built once).
#[tokio::test]
async fn the_first_head_covers_an_existing_log() {
    let dir = Dir::new("existing");
    let path = dir.0.join("audit.jsonl");
    let log = open(&path).await;
    for _ in 0..300 {
        log.append(decision()).await.unwrap();
    }
    log.shutdown().await.unwrap();
    let log = open(&path).await;
    let key = CheckpointKey::generate().unwrap();
    let heads = log
        .publish_tree_heads(TreeHeads::new(ORIGIN, key))
        .await
        .unwrap();
    let first = heads.latest().unwrap();
    assert_eq!(first.head.size, 301);
    assert!(first.head.is_head_of(&Tree::from_log(&path).unwrap()));
    log.shutdown().await.unwrap();
}

/// A head that cannot be saved is an error, first at start (the call fails), later in the
/// state and a `tracing` error; the next trigger tries again and clears it.
#[tokio::test]
async fn a_head_that_cannot_be_saved_is_reported_and_retried() {
    let dir = Dir::new("unsaved");
    let path = dir.0.join("audit.jsonl");
    let log = open(&path).await;
    let key = CheckpointKey::generate().unwrap();

    let blocker = dir.0.join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let nowhere = blocker.join("audit.note");
    let refused = log
        .publish_tree_heads(TreeHeads::new(ORIGIN, key.clone()).save_to(&nowhere))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("cannot save"), "{refused}");

    let heads_dir = dir.0.join("heads");
    std::fs::create_dir_all(&heads_dir).unwrap();
    let note_path = heads_dir.join("audit.note");
    let heads = log
        .publish_tree_heads(TreeHeads::new(ORIGIN, key).save_to(&note_path))
        .await
        .unwrap();
    std::fs::remove_dir_all(&heads_dir).unwrap();
    std::fs::write(&heads_dir, "not a directory").unwrap();
    log.append(decision()).await.unwrap();
    assert!(heads.publish_now().await.is_err());
    let state = heads.state();
    assert!(state.error.is_some());
    assert_eq!(
        state.latest.unwrap().head.size,
        1,
        "the last good head stays"
    );

    std::fs::remove_file(&heads_dir).unwrap();
    let p = heads.publish_now().await.unwrap();
    assert_eq!(p.head.size, 2);
    assert!(heads.state().error.is_none());
    assert_eq!(std::fs::read_to_string(&note_path).unwrap(), p.note);
    log.shutdown().await.unwrap();
}

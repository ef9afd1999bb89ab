//! Merkle proofs over a 1,000,000-entry tree: building it from the entries' hashes, then an
//! inclusion and a consistency proof, each made and checked without rehashing the log.
//!
//! ```text
//! cargo bench --bench proofs -- [ENTRIES]
//! ```

use std::time::Instant;

use acttrace::evidence::proof::{Tree, leaf_hash, verify_consistency, verify_inclusion};
use sha2::{Digest, Sha256};

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // Entry hashes as a log has them: 64 hex digits each.
    let hashes: Vec<String> = (0..n)
        .map(|i| {
            Sha256::digest(i.to_le_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();
    let start = Instant::now();
    let mut tree = Tree::new();
    for h in &hashes {
        tree.push(leaf_hash(h).expect("a hash"));
    }
    let built = start.elapsed();
    let root = tree.root();
    let (index, old) = (n / 3, n / 2 + 7);
    let start = Instant::now();
    let inclusion = tree.inclusion_proof(index, n).expect("proof");
    let made_inclusion = start.elapsed();
    let start = Instant::now();
    let consistency = tree.consistency_proof(old, n).expect("proof");
    let old_root = tree.root_at(old).expect("root");
    let made_consistency = start.elapsed();
    let start = Instant::now();
    verify_inclusion(
        &leaf_hash(&hashes[index as usize]).expect("hash"),
        index,
        n,
        &inclusion,
        &root,
    )
    .expect("verifies");
    verify_consistency(old, n, &old_root, &root, &consistency).expect("verifies");
    let checked = start.elapsed();
    println!(
        "tree of {n} entries built in {:.3} s (about {} MB of node hashes); inclusion proof ({} hashes) in {:.3} ms; consistency proof from {old} ({} hashes) with the old root in {:.3} ms; both checked in {:.3} ms",
        built.as_secs_f64(),
        2 * n * 32 / 1_000_000,
        inclusion.len(),
        made_inclusion.as_secs_f64() * 1e3,
        consistency.len(),
        made_consistency.as_secs_f64() * 1e3,
        checked.as_secs_f64() * 1e3
    );
}

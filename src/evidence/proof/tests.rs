//! The tree and its proofs against Certificate Transparency's published vectors, and as
//! properties over every shape of tree up to 40 leaves.

use super::*;

fn hx(s: &str) -> Hash {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The leaves of CT's reference tree (RFC 6962 test data), as raw bytes in hex.
const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Its roots for sizes 0 to 8.
const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn ct_tree() -> Tree {
    let mut t = Tree::new();
    for l in CT_LEAVES {
        let bytes: Vec<u8> = (0..l.len() / 2)
            .map(|i| u8::from_str_radix(&l[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        t.push(leaf_hash_of(&bytes));
    }
    t
}

#[test]
fn roots_and_proofs_match_the_published_vectors() {
    let t = ct_tree();
    for (size, root) in CT_ROOTS.iter().enumerate() {
        assert_eq!(t.root_at(size as u64).unwrap(), hx(root), "size {size}");
    }
    let inclusion: [(u64, u64, &[&str]); 3] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (0, 1, &[]),
    ];
    for (index, size, want) in inclusion {
        let want: Vec<Hash> = want.iter().map(|h| hx(h)).collect();
        assert_eq!(
            t.inclusion_proof(index, size).unwrap(),
            want,
            "{index}/{size}"
        );
    }
    let consistency: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, want) in consistency {
        let want: Vec<Hash> = want.iter().map(|h| hx(h)).collect();
        assert_eq!(t.consistency_proof(old, new).unwrap(), want, "{old}->{new}");
        let (r1, r2) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
        assert!(
            verify_consistency(old, new, &r1, &r2, &want).is_ok(),
            "{old}->{new}"
        );
    }
}

/// A changed byte of a hash.
fn flip(h: &Hash) -> Hash {
    let mut out = *h;
    out[7] ^= 0x20;
    out
}

#[test]
fn every_inclusion_proof_verifies_and_any_change_fails() {
    let mut t = Tree::new();
    let leaves: Vec<Hash> = (0..40u32).map(|i| leaf_hash_of(&i.to_be_bytes())).collect();
    for l in &leaves {
        t.push(*l);
    }
    for size in 1..=40u64 {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let leaf = &leaves[index as usize];
            let proof = t.inclusion_proof(index, size).unwrap();
            assert!(verify_inclusion(leaf, index, size, &proof, &root).is_ok());
            assert!(verify_inclusion(&flip(leaf), index, size, &proof, &root).is_err());
            assert!(verify_inclusion(leaf, index, size, &proof, &flip(&root)).is_err());
            if size > 1 {
                assert!(verify_inclusion(leaf, (index + 1) % size, size, &proof, &root).is_err());
            }
            // A tree size comes with its own root (a checkpoint signs both): the proof for one
            // size fails against the other's.
            if size < 40 {
                let other = t.root_at(size + 1).unwrap();
                assert!(
                    verify_inclusion(leaf, index, size + 1, &proof, &other).is_err(),
                    "{index} of {size} checked as of {}",
                    size + 1
                );
            }
            for step in 0..proof.len() {
                let mut bad = proof.clone();
                bad[step] = flip(&bad[step]);
                assert!(verify_inclusion(leaf, index, size, &bad, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(leaf, index, size, &longer, &root).is_err());
        }
    }
}

#[test]
fn consistency_holds_for_extensions_and_fails_for_rewrites() {
    let leaves: Vec<Hash> = (0..40u32).map(|i| leaf_hash_of(&i.to_le_bytes())).collect();
    let mut t = Tree::new();
    for l in &leaves {
        t.push(*l);
    }
    for new in 1..=40u64 {
        for old in 1..=new {
            let proof = t.consistency_proof(old, new).unwrap();
            let (r1, r2) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
            assert!(
                verify_consistency(old, new, &r1, &r2, &proof).is_ok(),
                "{old}->{new}"
            );
            if old < new {
                assert!(verify_consistency(old, new, &flip(&r1), &r2, &proof).is_err());
                assert!(verify_consistency(old, new, &r1, &flip(&r2), &proof).is_err());
                for step in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[step] = flip(&bad[step]);
                    assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
                }
            }
        }
    }
    // A log rewritten below the old size: the new tree does not extend the old one.
    for at in [0usize, 5, 16, 29] {
        let mut rewritten = Tree::new();
        for (i, l) in leaves.iter().enumerate() {
            rewritten.push(if i == at { flip(l) } else { *l });
        }
        let old = 30;
        let proof = rewritten.consistency_proof(old, 40).unwrap();
        let r1 = t.root_at(old).unwrap();
        let r2 = rewritten.root_at(40).unwrap();
        assert_eq!(
            verify_consistency(old, 40, &r1, &r2, &proof),
            Err(ProofError::Mismatch),
            "rewritten at {at}"
        );
    }
}

#[test]
fn entry_hashes_are_leaves_and_bad_ones_are_refused() {
    let h = "80f82f42bef649a1d8dd882d9304139bc1eb2b6a7f797b5eeeff7caa0eed7dd1";
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(leaf_hash(h).unwrap(), leaf_hash_of(&bytes));
    assert!(leaf_hash(&h[..63]).is_err());
    assert!(leaf_hash(&h.replace('8', "g")).is_err());
    let t = Tree::new();
    assert!(t.inclusion_proof(0, 0).is_err());
    assert!(t.consistency_proof(0, 0).is_err());
    assert_eq!(t.root(), hx(CT_ROOTS[0]));
}

/// A log's tree: one leaf per entry (a pack's `_meta` header skipped), every entry's inclusion
/// proved from its own `hash` alone.
#[test]
fn a_logs_entries_are_its_leaves() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    for (file, entries) in [
        ("valid/v_basic.jsonl", 11u64),
        ("export/x_eu_ai_act_unsigned.jsonl", 16),
    ] {
        let path = dir.join(file);
        let t = Tree::from_log(&path).unwrap();
        assert_eq!(t.size(), entries, "{file}");
        let text = std::fs::read_to_string(&path).unwrap();
        let hashes: Vec<String> = text
            .lines()
            .filter_map(|l| Value::parse(l.trim()).ok())
            .filter(|v| v.get("_meta").is_none())
            .filter_map(|v| v.get("hash").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let root = t.root();
        for (i, h) in hashes.iter().enumerate() {
            let proof = t.inclusion_proof(i as u64, t.size()).unwrap();
            assert!(
                verify_inclusion(&leaf_hash(h).unwrap(), i as u64, t.size(), &proof, &root).is_ok()
            );
        }
    }
}

#[test]
fn proof_files_round_trip_and_refuse_what_is_not_a_proof() {
    let mut tree = Tree::new();
    let hashes: Vec<String> = (0..11u8).map(|i| format!("{i:02x}").repeat(32)).collect();
    for h in &hashes {
        tree.push(leaf_hash(h).unwrap());
    }
    let inclusion = InclusionProof::new(&tree, 7, 7, 11, &hashes[7]).unwrap();
    let consistency = ConsistencyProof::new(&tree, 4, 11).unwrap();
    for proof in [
        ProofFile::Inclusion(inclusion.clone()),
        ProofFile::Consistency(consistency.clone()),
    ] {
        assert_eq!(ProofFile::parse(&proof.to_json()).unwrap(), proof);
    }
    assert!(inclusion.verify(11, &tree.root()).is_ok());
    assert!(inclusion.verify(10, &tree.root_at(10).unwrap()).is_err());
    assert!(
        consistency
            .verify((4, &tree.root_at(4).unwrap()), (11, &tree.root()))
            .is_ok()
    );
    assert!(
        consistency
            .verify((5, &tree.root_at(5).unwrap()), (11, &tree.root()))
            .is_err()
    );
    // A proof claimed for a hash that is not that leaf's is never made.
    assert!(InclusionProof::new(&tree, 7, 7, 11, &hashes[6]).is_err());
    let line = ProofFile::Inclusion(inclusion).to_json();
    for bad in [
        String::new(),
        "[]".to_owned(),
        line.replace("acttrace-proof/1", "acttrace-proof/2"),
        line.replace("\"inclusion\"", "\"exclusion\""),
        line.replace("\"seq\": 7", "\"seq\": -7"),
        line.replacen(&hashes[7], "zz", 1),
        line.replace("\"path\"", "\"paths\""),
    ] {
        assert!(ProofFile::parse(&bad).is_err(), "{bad}");
    }
}

/// A tree that starts from the frontier of its first `d` leaves gives, for every size from
/// `d` on, the roots and proofs the whole tree gives, and refuses what needs a deleted leaf.
#[cfg(feature = "ed25519")]
#[test]
fn a_tree_after_retention_gives_what_the_whole_tree_gives_from_the_frontier_on() {
    let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash_of(&i.to_be_bytes())).collect();
    let mut whole = Tree::new();
    for l in &leaves {
        whole.push(*l);
    }
    for d in 0..=leaves.len() {
        let mut frontier = Frontier::default();
        for l in &leaves[..d] {
            frontier.push(*l);
        }
        let mut pruned = Tree::after(&frontier);
        assert_eq!((pruned.size(), pruned.deleted()), (d as u64, d as u64));
        for l in &leaves[d..] {
            pruned.push(*l);
        }
        let n = leaves.len() as u64;
        assert_eq!(pruned.root(), whole.root(), "deleted {d}");
        for size in 0..=n {
            let got = pruned.root_at(size);
            if size < d as u64 {
                assert!(matches!(got, Err(ProofError::OutOfRange(_))), "{d} {size}");
                continue;
            }
            assert_eq!(got.unwrap(), whole.root_at(size).unwrap(), "{d} {size}");
            for index in 0..size {
                let proof = pruned.inclusion_proof(index, size);
                if index < d as u64 {
                    assert!(proof.is_err(), "{d} {index} {size}");
                } else {
                    assert_eq!(proof.unwrap(), whole.inclusion_proof(index, size).unwrap());
                }
            }
            for old in 1..=size {
                let proof = pruned.consistency_proof(old, size);
                if old < d as u64 {
                    assert!(proof.is_err(), "{d} {old} {size}");
                } else {
                    assert_eq!(proof.unwrap(), whole.consistency_proof(old, size).unwrap());
                }
            }
        }
    }
}

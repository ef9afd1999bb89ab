//! The Merkle tree over a chain's entries, as RFC 9162 (section 2.1) defines it: the leaf and
//! node hashes, and the frontier, the hashes of the complete subtrees that sum up the tree of
//! a prefix (one a set bit of its size), so that the tree goes on where retention deleted that
//! prefix's entries. Proofs are made in [`evidence::proof`](crate::evidence::proof).
//!
//! Uses nothing else of the crate.

use sha2::{Digest, Sha256};

/// A node or leaf hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`.
pub(crate) fn leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub(crate) fn node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The empty tree's root, `SHA-256("")`.
pub(crate) fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A JSON list of hashes, each 64 hex digits, as retention records and pack headers keep a
/// frontier; `None` when the value is absent or not such a list.
#[cfg(feature = "ed25519")]
pub(crate) fn hash_list(value: Option<&crate::json::Value>) -> Option<Vec<Hash>> {
    match value? {
        crate::json::Value::Array(items) => {
            items.iter().map(|h| h.as_str().and_then(unhex)).collect()
        }
        _ => None,
    }
}

/// 64 hex digits as 32 bytes.
pub(crate) fn unhex(text: &str) -> Option<Hash> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut raw = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        raw[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(raw)
}

/// The leaf hash of an entry, from its `hash` field: `SHA-256(0x00 || its 32 bytes)`.
#[cfg(feature = "ed25519")]
pub(crate) fn entry_leaf(entry_hash: &str) -> Option<Hash> {
    unhex(entry_hash).map(|raw| leaf(&raw))
}

/// The tree of a chain's first `size` entries, summed up: the hashes of the complete subtrees
/// of its RFC 9162 shape, largest (leftmost) first, one for each set bit of `size`.
#[cfg(feature = "ed25519")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

#[cfg(feature = "ed25519")]
impl Frontier {
    /// A frontier read back: `None` unless there is one hash for each set bit of `size`.
    pub(crate) fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        (hashes.len() == size.count_ones() as usize).then_some(Self { size, hashes })
    }

    /// Adds the next leaf.
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            let Some(left) = self.hashes.pop() else { break };
            carry = node(&left, &carry);
            n >>= 1;
        }
        self.hashes.push(carry);
        self.size += 1;
    }

    /// How many leaves it sums up.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtrees' hashes, largest first.
    pub(crate) fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The root of the tree it sums up.
    #[cfg(test)]
    pub(crate) fn root(&self) -> Hash {
        let mut rest = self.hashes.iter().rev();
        let Some(last) = rest.next() else {
            return empty_root();
        };
        rest.fold(*last, |right, left| node(left, &right))
    }
}

#[cfg(all(test, feature = "ed25519"))]
mod tests {
    use super::{Frontier, leaf, node};

    /// RFC 9162's MTH, straight from its definition.
    fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            0 => super::empty_root(),
            1 => leaves[0],
            n => {
                let k = 1 << (63 - (n as u64 - 1).leading_zeros());
                node(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn a_frontier_sums_up_the_tree_of_its_prefix() {
        let leaves: Vec<[u8; 32]> = (0u32..70).map(|i| leaf(&i.to_be_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), mth(&[]));
        for (i, l) in leaves.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.size(), i as u64 + 1);
            assert_eq!(f.hashes().len(), (i + 1).count_ones() as usize);
            assert_eq!(f.root(), mth(&leaves[..=i]), "{} leaves", i + 1);
        }
        let again = Frontier::from_parts(f.size(), f.hashes().to_vec()).unwrap();
        assert_eq!(again, f);
        assert!(Frontier::from_parts(70, vec![[0; 32]; 2]).is_none());
    }
}

//! Proofs as files an auditor is handed: one JSON line each, `"format": "acttrace-proof/1"`,
//! hashes in hex.
//!
//! - Inclusion: `{"format", "type": "inclusion", "seq", "index", "size", "entry_hash",
//!   "path": [...]}`: entry `seq` (leaf `index`, with hash `entry_hash`) is in the tree of
//!   `size` entries.
//! - Consistency: `{"format", "type": "consistency", "old_size", "size", "path": [...]}`:
//!   the tree of `size` entries extends the tree of `old_size`.
//!
//! A proof says nothing alone: it is checked against roots from signed tree heads
//! ([`crate::evidence::note`]), which is what the log-free `acttrace check-proof` does.

use crate::chain::hash::hex;
use crate::json::value::{Map, Value};

use super::{Hash, ProofError, Tree, leaf_hash, unhex, verify_consistency, verify_inclusion};

/// The proof files' format name.
pub const FORMAT: &str = "acttrace-proof/1";

/// An inclusion proof for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry's `seq`.
    pub seq: u64,
    /// Its leaf index (its place among the log's entries, from 0).
    pub index: u64,
    /// The size of the tree it is proven in.
    pub size: u64,
    /// The entry's `hash` (64 hex digits).
    pub entry_hash: String,
    /// RFC 9162's audit path.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// The proof that leaf `index` (entry `seq`, hash `entry_hash`) is in `tree`'s first
    /// `size` leaves. The hash is checked against the tree.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`], [`ProofError::BadHash`], or [`ProofError::Mismatch`] when
    /// the hash is not that leaf's.
    pub fn new(
        tree: &Tree,
        seq: u64,
        index: u64,
        size: u64,
        entry_hash: &str,
    ) -> Result<Self, ProofError> {
        let path = tree.inclusion_proof(index, size)?;
        let proof = Self {
            seq,
            index,
            size,
            entry_hash: entry_hash.to_owned(),
            path,
        };
        proof.verify(size, &tree.root_at(size)?)?;
        Ok(proof)
    }

    /// Checks the proof against the root of a tree of `size` leaves.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`] when the sizes differ, else those of [`verify_inclusion`].
    pub fn verify(&self, size: u64, root: &Hash) -> Result<(), ProofError> {
        if size != self.size {
            return Err(ProofError::OutOfRange(format!(
                "the proof is for a tree of {} entries, the tree head has {size}",
                self.size
            )));
        }
        let leaf = leaf_hash(&self.entry_hash)?;
        verify_inclusion(&leaf, self.index, self.size, &self.path, root)
    }
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older tree's size.
    pub old_size: u64,
    /// The newer tree's size.
    pub size: u64,
    /// RFC 9162's consistency proof.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// The proof that `tree`'s first `size` leaves extend its first `old_size`.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`].
    pub fn new(tree: &Tree, old_size: u64, size: u64) -> Result<Self, ProofError> {
        Ok(Self {
            old_size,
            size,
            path: tree.consistency_proof(old_size, size)?,
        })
    }

    /// Checks the proof against the two trees' sizes and roots.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`] when the sizes are not the proof's, else those of
    /// [`verify_consistency`].
    pub fn verify(&self, old: (u64, &Hash), new: (u64, &Hash)) -> Result<(), ProofError> {
        if (old.0, new.0) != (self.old_size, self.size) {
            return Err(ProofError::OutOfRange(format!(
                "the proof is from {} to {} entries, the tree heads are {} and {}",
                self.old_size, self.size, old.0, new.0
            )));
        }
        verify_consistency(self.old_size, self.size, old.1, new.1, &self.path)
    }
}

/// Either proof, as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofFile {
    /// An entry is in a tree.
    Inclusion(InclusionProof),
    /// One tree extends another.
    Consistency(ConsistencyProof),
}

impl ProofFile {
    /// The proof's one JSON line.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("format", FORMAT);
        let path = |p: &[Hash]| Value::Array(p.iter().map(|h| Value::from(hex(h))).collect());
        match self {
            Self::Inclusion(p) => {
                m.insert("type", "inclusion");
                m.insert("seq", p.seq);
                m.insert("index", p.index);
                m.insert("size", p.size);
                m.insert("entry_hash", p.entry_hash.as_str());
                m.insert("path", path(&p.path));
            }
            Self::Consistency(p) => {
                m.insert("type", "consistency");
                m.insert("old_size", p.old_size);
                m.insert("size", p.size);
                m.insert("path", path(&p.path));
            }
        }
        Value::from(m).to_line_json()
    }

    /// Reads a proof file's JSON line.
    ///
    /// # Errors
    ///
    /// [`ProofError::Read`] for anything that is not such a proof.
    pub fn parse(text: &str) -> Result<Self, ProofError> {
        let bad = |why: &str| ProofError::Read(format!("not an {FORMAT} proof: {why}"));
        let Ok(Value::Object(m)) = Value::parse(text.trim()) else {
            return Err(bad("not a JSON object"));
        };
        if m.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(bad("wrong or missing format"));
        }
        let count = |k: &str| {
            m.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(&format!("{k} is not a count")))
        };
        let path = match m.get("path") {
            Some(Value::Array(steps)) => steps
                .iter()
                .map(|s| s.as_str().and_then(unhex))
                .collect::<Option<Vec<Hash>>>()
                .ok_or_else(|| bad("a path step is not 64 hex digits"))?,
            _ => return Err(bad("no path")),
        };
        match m.get("type").and_then(Value::as_str) {
            Some("inclusion") => {
                let entry_hash = m
                    .get("entry_hash")
                    .and_then(Value::as_str)
                    .filter(|h| unhex(h).is_some())
                    .ok_or_else(|| bad("entry_hash is not 64 hex digits"))?;
                Ok(Self::Inclusion(InclusionProof {
                    seq: count("seq")?,
                    index: count("index")?,
                    size: count("size")?,
                    entry_hash: entry_hash.to_owned(),
                    path,
                }))
            }
            Some("consistency") => Ok(Self::Consistency(ConsistencyProof {
                old_size: count("old_size")?,
                size: count("size")?,
                path,
            })),
            _ => Err(bad("type is neither inclusion nor consistency")),
        }
    }
}

//! Merkle proofs over a chain, as Certificate Transparency makes them (RFC 9162, section 2.1):
//! an auditor holding one entry checks it is in the log without the rest of the log
//! (inclusion), and one holding an old tree head checks that today's log extends the log they
//! saw (consistency), not a rewritten one.
//!
//! The tree is derived data: it can be rebuilt from the log at any time ([`Tree::from_log`])
//! and changes nothing in the `acttrace-chain/1` lines.
//!
//! - **Leaf input:** the entry's `hash`, as its 32 bytes (the hex text decoded). Entry `i` of
//!   the log (in file order, `_meta` headers skipped) is leaf `i`.
//! - **Leaf hash:** `SHA-256(0x00 || leaf input)`; **node hash:** `SHA-256(0x01 || left ||
//!   right)`; the empty tree's root is `SHA-256("")`. The tree over `n` leaves splits at the
//!   largest power of two below `n`, as RFC 9162 defines it.
//! - **Proofs** are RFC 9162's `PATH` and `PROOF`, lists of 32-byte node hashes, checked by its
//!   verification algorithms (sections 2.1.3.2 and 2.1.4.2).
//!
//! ```
//! use acttrace::evidence::proof::{Tree, leaf_hash, verify_consistency, verify_inclusion};
//!
//! let entries = ["9ebd".repeat(16), "4f98".repeat(16), "80f8".repeat(16)];
//! let mut tree = Tree::new();
//! for e in &entries {
//!     tree.push(leaf_hash(e).unwrap());
//! }
//! let root = tree.root();
//! let proof = tree.inclusion_proof(1, 3).unwrap();
//! assert!(verify_inclusion(&leaf_hash(&entries[1]).unwrap(), 1, 3, &proof, &root).is_ok());
//!
//! let old = tree.root_at(2).unwrap();
//! let extended = tree.consistency_proof(2, 3).unwrap();
//! assert!(verify_consistency(2, 3, &old, &root, &extended).is_ok());
//! ```
//!
//! Memory: a tree of `n` leaves holds about `2n` hashes (64 MB for a million entries); a proof
//! takes `O(log² n)` hashing, not a pass over the log.

use std::io::BufRead;
use std::path::Path;

use crate::json::Value;

#[cfg(feature = "ed25519")]
use crate::chain::merkle::Frontier;
pub use crate::chain::merkle::Hash;
use crate::chain::merkle::{empty_root, leaf, node, unhex};

/// Why a proof could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// An index or tree size outside the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The proof has the wrong number of steps for the sizes given.
    #[error("the proof has the wrong length for these tree sizes")]
    WrongLength,
    /// The proof does not lead to the root (or roots) given.
    #[error(
        "the proof does not lead to the root given: the entry is not in that tree, or the tree was rewritten"
    )]
    Mismatch,
    /// An entry's hash is not 64 hexadecimal digits.
    #[error("not an entry hash (64 hex digits): {0:?}")]
    BadHash(String),
    /// The log could not be read.
    #[error("cannot read the log: {0}")]
    Read(String),
}

/// RFC 9162's leaf hash of arbitrary data: `SHA-256(0x00 || data)`.
pub fn leaf_hash_of(data: &[u8]) -> Hash {
    leaf(data)
}

/// The leaf hash of an entry, from its `hash` field (64 hex digits): `SHA-256(0x00 || the 32
/// bytes)`.
///
/// # Errors
///
/// [`ProofError::BadHash`] when the text is not 64 hex digits.
pub fn leaf_hash(entry_hash: &str) -> Result<Hash, ProofError> {
    unhex(entry_hash)
        .map(|raw| leaf(&raw))
        .ok_or_else(|| ProofError::BadHash(entry_hash.chars().take(80).collect()))
}

/// 64 hex digits as their 32 bytes.
/// The largest power of two below `n` (`n` at least 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The log at `path` as one stream of lines, and the tree its entries go on from: a file (an
/// empty tree) or, with the `ed25519` feature, a segment directory from its first kept
/// segment (the tree after the frontier of what retention deleted, if it did).
fn open_chain(path: &Path) -> Result<(Box<dyn BufRead>, Tree), ProofError> {
    #[cfg(feature = "ed25519")]
    if path.is_dir() {
        let (files, frontier) = crate::verify::segments::kept_chain(path)
            .map_err(|e| ProofError::Read(format!("{}: {e}", path.display())))?;
        let segments = crate::files::Concat::new(files, None);
        let reader = std::io::BufReader::new(segments);
        return Ok((Box::new(reader), Tree::after(&frontier)));
    }
    let open = || {
        std::fs::File::open(path).map_err(|e| ProofError::Read(format!("{}: {e}", path.display())))
    };
    let tree = pack_start(std::io::BufReader::new(open()?))?;
    Ok((Box::new(std::io::BufReader::new(open()?)), tree))
}

/// The tree a file's entries go on from: an empty one, or, for an evidence pack of a log whose
/// first entries retention deleted (its header's `after`), the tree after their frontier,
/// which the header keeps: the pack's tree is the whole log's.
fn pack_start(reader: impl BufRead) -> Result<Tree, ProofError> {
    const HEADER_MAX: u64 = 64 << 20;
    // A header is a few KiB, or after years of retention a few MiB (its record lists every
    // deleted segment); a first line longer than this is no header.
    let mut first = String::new();
    let _ = reader.take(HEADER_MAX).read_line(&mut first);
    let Ok(row) = Value::parse(first.trim()) else {
        return Ok(Tree::new());
    };
    let Some(after) = row.get("_meta").and_then(|m| m.get("after")) else {
        return Ok(Tree::new());
    };
    let deleted = after.get("entries").and_then(Value::as_u64).unwrap_or(0);
    let no_tree = |why: &str| {
        ProofError::Read(format!(
            "the pack starts after {deleted} entries deleted under retention, and {why}: it \
             has no tree"
        ))
    };
    #[cfg(feature = "ed25519")]
    {
        let hashes = crate::chain::merkle::hash_list(after.get("frontier"))
            .ok_or_else(|| no_tree("keeps no frontier of them (a list of hashes)"))?;
        let frontier = Frontier::from_parts(deleted, hashes)
            .ok_or_else(|| no_tree("its frontier is not of the size it says"))?;
        Ok(Tree::after(&frontier))
    }
    #[cfg(not(feature = "ed25519"))]
    Err(no_tree(
        "reading its frontier needs acttrace's `ed25519` feature",
    ))
}

/// Where the tree of a segmented log starts: an empty tree at the first segment, or, after
/// retention, the tree after the deleted entries' frontier at the first segment kept.
#[cfg(feature = "ed25519")]
pub(crate) fn segments_start(dir: &Path) -> Result<(Tree, SegmentCursor), ProofError> {
    let (segment, _, frontier) = crate::verify::segments::kept_chain_from(dir)
        .map_err(|e| ProofError::Read(format!("{}: {e}", dir.display())))?;
    let cursor = SegmentCursor { segment, offset: 0 };
    Ok((Tree::after(&frontier), cursor))
}

/// Calls `f` with each entry of `reader` (`_meta` headers and blank lines skipped): its line,
/// parsed, and its hash; stops early when `f` answers `false`.
fn for_each_leaf(
    reader: impl BufRead,
    mut f: impl FnMut(&Value, &str) -> Result<bool, ProofError>,
) -> Result<(), ProofError> {
    for line in reader.lines() {
        let line = line.map_err(|e| ProofError::Read(e.to_string()))?;
        let Some(row) = entry_of(&line)? else {
            continue;
        };
        if !f(&row, hash_of(&row, &line)?)? {
            break;
        }
    }
    Ok(())
}

/// A log line's entry, parsed; `None` for a blank line or a pack's `_meta` header.
fn entry_of(line: &str) -> Result<Option<Value>, ProofError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let row = Value::parse(line.trim()).map_err(|e| ProofError::Read(e.to_string()))?;
    Ok(row.get("_meta").is_none().then_some(row))
}

/// An entry's `hash`, which every entry has.
fn hash_of<'a>(row: &'a Value, line: &str) -> Result<&'a str, ProofError> {
    row.get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| ProofError::BadHash(line.chars().take(80).collect()))
}

/// Where the tree of a growing segmented log has read to: a segment, and the bytes of it.
#[cfg(feature = "ed25519")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentCursor {
    segment: u64,
    offset: u64,
}

#[cfg(feature = "ed25519")]
impl Default for SegmentCursor {
    /// The start of the first segment: a tree holds the chain from its first entry.
    fn default() -> Self {
        Self {
            segment: 1,
            offset: 0,
        }
    }
}

/// Where the entry numbered `seq` is in the log at `log` (read as [`Tree::from_log`] reads
/// it): its leaf index and its hash, or `None` when no entry has that seq.
///
/// # Errors
///
/// As for [`Tree::from_log`].
pub fn find_entry(log: impl AsRef<Path>, seq: u64) -> Result<Option<(u64, String)>, ProofError> {
    let (reader, start) = open_chain(log.as_ref())?;
    let mut index = start.size();
    let mut found = None;
    for_each_leaf(reader, |row, hash| {
        if row.get("seq").and_then(Value::as_u64) == Some(seq) {
            found = Some((index, hash.to_owned()));
            return Ok(false);
        }
        index += 1;
        Ok(true)
    })?;
    Ok(found)
}

/// An append-only Merkle tree that keeps every complete subtree's hash, so that any root and
/// proof for any size up to its own comes without rehashing the leaves.
///
/// The tree of a segmented log whose oldest segments retention deleted starts from the
/// frontier the retention record keeps: its roots, the proofs of the kept entries and the
/// consistency proofs from heads at least as large as the deleted prefix are all there; what
/// only the deleted entries could give is refused ([`ProofError::OutOfRange`]).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// `levels[h][i - offset(h)]`: the hash of leaves `i·2^h .. (i+1)·2^h`, for complete
    /// subtrees only.
    levels: Vec<Vec<Hash>>,
    /// How many leaves at the start only the frontier stands for (0: none deleted).
    pruned: u64,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree that goes on from `frontier`: the first `frontier.size()` leaves known only by
    /// the complete subtrees that sum them up.
    #[cfg(feature = "ed25519")]
    pub(crate) fn after(frontier: &Frontier) -> Self {
        let pruned = frontier.size();
        let top = 64 - pruned.leading_zeros() as usize;
        let mut levels = vec![Vec::new(); top];
        // The frontier's hashes, largest first, are the set bits of the size, highest first.
        let bits = (0..top).rev().filter(|h| pruned >> h & 1 == 1);
        for (h, hash) in bits.zip(frontier.hashes()) {
            levels[h].push(*hash);
        }
        Self { levels, pruned }
    }

    /// The index of `levels[h]`'s first hash: the frontier's node at that height, if the
    /// deleted prefix has one there, else the first node after the prefix. (Even, so a node's
    /// place in its level tells left from right as its index does.)
    fn offset(&self, h: usize) -> u64 {
        let at = self.pruned.checked_shr(h as u32).unwrap_or(0);
        at - (at & 1)
    }

    /// The tree of a log's entries: each line's `hash` a leaf, in order (`_meta` headers and
    /// blank lines skipped). A segmented log's directory (with the `ed25519` feature) is one
    /// tree across its segments, in order, as it is one chain; after retention, the tree goes
    /// on from the frontier of the deleted entries that the signed retention record keeps.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or a line has no entry hash; a directory with a segment
    /// missing, or whose first segments retention deleted under a record that keeps no
    /// frontier of them (one written before frontiers were kept), has no tree.
    pub fn from_log(path: impl AsRef<Path>) -> Result<Self, ProofError> {
        let (reader, mut tree) = open_chain(path.as_ref())?;
        tree.extend_from_lines(reader)?;
        Ok(tree)
    }

    /// The tree of the log's first `bytes` bytes: a snapshot of a log that is still growing.
    #[cfg(feature = "ed25519")]
    pub(crate) fn from_log_prefix(path: &Path, bytes: u64) -> Result<Self, ProofError> {
        let mut tree = Self::new();
        tree.extend_from_log(path, 0, bytes)?;
        Ok(tree)
    }

    /// Adds the entries of the log's bytes `from..to` (whole lines: the ends of two
    /// snapshots), so that a growing log's tree is kept up to date by reading only what is new.
    #[cfg(feature = "ed25519")]
    pub(crate) fn extend_from_log(
        &mut self,
        path: &Path,
        from: u64,
        to: u64,
    ) -> Result<(), ProofError> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let mut file = std::fs::File::open(path).map_err(|e| ProofError::Read(e.to_string()))?;
        file.seek(SeekFrom::Start(from))
            .map_err(|e| ProofError::Read(e.to_string()))?;
        self.extend_from_lines(std::io::BufReader::new(file.take(to.saturating_sub(from))))
    }

    /// Adds the entries of the segmented log in `dir` from `cursor` on, until the tree holds
    /// `entries` leaves, and moves `cursor` past them: the tree of a live segmented log kept
    /// up to date by reading only what is new, across rollovers. A line the writer has not
    /// finished is left for later.
    #[cfg(feature = "ed25519")]
    pub(crate) fn extend_from_segments(
        &mut self,
        dir: &Path,
        cursor: &mut SegmentCursor,
        entries: u64,
    ) -> Result<(), ProofError> {
        use crate::verify::segments::segment_name;
        use std::io::{Seek as _, SeekFrom};
        let read = |path: &Path, e: std::io::Error| {
            ProofError::Read(format!(
                "{}: {e} (a tree needs every segment from the first)",
                path.display()
            ))
        };
        while self.size() < entries {
            let path = dir.join(segment_name(cursor.segment));
            let mut file = std::fs::File::open(&path).map_err(|e| read(&path, e))?;
            file.seek(SeekFrom::Start(cursor.offset))
                .map_err(|e| read(&path, e))?;
            let mut reader = std::io::BufReader::new(file);
            let mut line = Vec::new();
            while self.size() < entries {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| read(&path, e))?;
                if n == 0 || !line.ends_with(b"\n") {
                    break;
                }
                cursor.offset += n as u64;
                let text = std::str::from_utf8(&line)
                    .map_err(|e| ProofError::Read(format!("{}: {e}", path.display())))?;
                if let Some(row) = entry_of(text)? {
                    self.push(leaf_hash(hash_of(&row, text)?)?);
                }
            }
            if self.size() < entries {
                // This segment is read to its end: the chain goes on in the next.
                let next = dir.join(segment_name(cursor.segment + 1));
                if !next.exists() {
                    return Err(ProofError::Read(format!(
                        "{} holds {} entries where the writer has {entries}",
                        dir.display(),
                        self.size()
                    )));
                }
                *cursor = SegmentCursor {
                    segment: cursor.segment + 1,
                    offset: 0,
                };
            }
        }
        Ok(())
    }

    /// Adds the entries of a log's lines read from `reader` (`_meta` headers skipped).
    pub(crate) fn extend_from_lines(&mut self, reader: impl BufRead) -> Result<(), ProofError> {
        for_each_leaf(reader, |_, hash| {
            self.push(leaf_hash(hash)?);
            Ok(true)
        })
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut h = 0;
        loop {
            if self.levels.len() == h {
                self.levels.push(Vec::new());
            }
            self.levels[h].push(carry);
            let len = self.levels[h].len();
            if len % 2 == 1 {
                break;
            }
            carry = node(&self.levels[h][len - 2], &self.levels[h][len - 1]);
            h += 1;
        }
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.levels
            .first()
            .map_or(self.pruned, |l| self.offset(0) + l.len() as u64)
    }

    /// How many of its first leaves retention deleted: the tree knows them only by its
    /// frontier (0 for the tree of a whole log).
    pub fn deleted(&self) -> u64 {
        self.pruned
    }

    /// The root over every leaf.
    pub fn root(&self) -> Hash {
        // Every root from the deleted prefix's size on is there (see `after`).
        self.subtree(0, self.size()).unwrap_or_default()
    }

    /// The root the tree had at `size` leaves.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`] when `size` is larger than the tree, or smaller than the
    /// prefix retention deleted.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check(size)?;
        self.subtree(0, size)
            .ok_or_else(|| self.deleted_error(size))
    }

    /// RFC 9162's `PATH(index, D[size])`: the proof that leaf `index` is in the tree of the
    /// first `size` leaves.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`] unless `index < size <= self.size()`, and the leaf was not
    /// deleted under retention.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check(size)?;
        if index >= size {
            return Err(ProofError::OutOfRange(format!(
                "leaf {index} is not in a tree of {size}"
            )));
        }
        if index < self.pruned {
            return Err(ProofError::OutOfRange(format!(
                "leaf {index} was deleted under retention (the first {} were)",
                self.pruned
            )));
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out)
            .ok_or_else(|| self.deleted_error(size))?;
        Ok(out)
    }

    /// RFC 9162's `PROOF(old, D[new])`: the proof that the tree of `new` leaves extends the
    /// tree of `old`.
    ///
    /// # Errors
    ///
    /// [`ProofError::OutOfRange`] unless `0 < old <= new <= self.size()`, and `old` is at
    /// least the prefix retention deleted.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.check(new)?;
        if old == 0 || old > new {
            return Err(ProofError::OutOfRange(format!(
                "no consistency proof from {old} to {new} leaves"
            )));
        }
        self.check(old)?;
        let mut out = Vec::new();
        if old < new {
            self.subproof(old, 0, new, true, &mut out)
                .ok_or_else(|| self.deleted_error(old))?;
        }
        Ok(out)
    }

    fn check(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::OutOfRange(format!(
                "a tree of {size} leaves, where there are {}",
                self.size()
            )));
        }
        if size < self.pruned {
            return Err(self.deleted_error(size));
        }
        Ok(())
    }

    fn deleted_error(&self, size: u64) -> ProofError {
        ProofError::OutOfRange(format!(
            "the tree of {size} leaves needs entries deleted under retention (the first {})",
            self.pruned
        ))
    }

    /// The hash of leaves `lo..hi`, from complete subtrees; `None` when it needs a subtree
    /// only deleted entries could give.
    fn subtree(&self, lo: u64, hi: u64) -> Option<Hash> {
        let n = hi - lo;
        if n == 0 {
            return Some(empty_root());
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            let at = (lo >> h).checked_sub(self.offset(h))?;
            return self.levels.get(h)?.get(usize::try_from(at).ok()?).copied();
        }
        let k = split(n);
        Some(node(&self.subtree(lo, lo + k)?, &self.subtree(lo + k, hi)?))
    }

    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Option<()> {
        let n = hi - lo;
        if n <= 1 {
            return Some(());
        }
        let k = split(n);
        if m < k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.path(m - k, lo + k, hi, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Some(())
    }

    fn subproof(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Option<()> {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.subtree(lo, hi)?);
            }
            return Some(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Some(())
    }
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162, section 2.1.3.2). Needs nothing of the log.
///
/// # Errors
///
/// [`ProofError::OutOfRange`], [`ProofError::WrongLength`] or [`ProofError::Mismatch`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf {index} is not in a tree of {size}"
        )));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162, section 2.1.4.2). Needs nothing of the log.
///
/// # Errors
///
/// [`ProofError::OutOfRange`], [`ProofError::WrongLength`] or [`ProofError::Mismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::OutOfRange(format!(
            "no consistency from {old_size} to {new_size} leaves"
        )));
    }
    if old_size == new_size {
        return match (proof.is_empty(), old_root == new_root) {
            (false, _) => Err(ProofError::WrongLength),
            (true, false) => Err(ProofError::Mismatch),
            (true, true) => Ok(()),
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength);
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            fr = node(c, &fr);
            sr = node(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

mod file;
pub use file::{ConsistencyProof, FORMAT as PROOF_FORMAT, InclusionProof, ProofFile};

#[cfg(test)]
mod tests;

//! Signed tree heads in the transparency-log ecosystem's own format: a C2SP
//! [`tlog-checkpoint`](https://c2sp.org/tlog-checkpoint) body (origin, tree size, Merkle root)
//! wrapped in a C2SP [`signed-note`](https://c2sp.org/signed-note) with an Ed25519 signature,
//! so witnesses and tools built for Certificate Transparency, Go's checksum database or
//! Sigstore read an acttrace log's head without knowing acttrace.
//!
//! The root is the RFC 9162 root of [`crate::evidence::proof::Tree`] over the chain's entries:
//! a checkpoint of size `n` commits to the first `n` entries, inclusion proofs check an entry
//! against it and consistency proofs show a later checkpoint extends it.
//!
//! A signed checkpoint reads:
//!
//! ```text
//! acttrace.example/loan-triage
//! 3
//! 6BRyrBUYt1rxyIJk1ZtXNcW6ol6ju4nAmXBbdT/IuUM=
//!
//! — acttrace.example/loan-triage x4Xz… (base64 of key id and signature)
//! ```
//!
//! The key id is the first four bytes of `SHA-256(name || 0x0A || 0x01 || public key)`, as the
//! signed-note specification defines it for Ed25519; the verifier key is written
//! `name+keyid+base64(0x01 || public key)`, the form those tools exchange.
//!
//! ```
//! use acttrace::chain::checkpoint::CheckpointKey;
//! use acttrace::evidence::note::{TreeHead, NoteVerifier};
//! use acttrace::evidence::proof::{Tree, leaf_hash};
//!
//! let mut tree = Tree::new();
//! for e in ["9ebd".repeat(16), "4f98".repeat(16)] {
//!     tree.push(leaf_hash(&e).unwrap());
//! }
//! let key = CheckpointKey::generate().unwrap();
//! let head = TreeHead::of(&tree, "acttrace.example/loan-triage").unwrap();
//! let note = head.sign("acttrace.example/loan-triage", &key).unwrap();
//!
//! // The auditor holds the verifier key (one line of text) and the note.
//! let verifier = NoteVerifier::new("acttrace.example/loan-triage", &key.public()).unwrap();
//! let line = verifier.to_string();
//! let opened = TreeHead::open(&note, &NoteVerifier::parse(&line).unwrap()).unwrap();
//! assert_eq!(opened, head);
//! assert_eq!(opened.size, 2);
//! ```

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::chain::checkpoint::{CheckpointKey, PublicKey};
use crate::chain::hash::hex;
use crate::evidence::proof::{Hash, Tree};
use crate::store::AuditLog;

/// The signature algorithm byte the signed-note specification assigns to Ed25519.
const ED25519: u8 = 0x01;

/// The most signature lines a note may carry, as the reference implementation enforces.
const MAX_SIGNATURES: usize = 100;

/// Why a note or checkpoint could not be made, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name is empty or holds a space, a `+` or a control character.
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    BadName(String),
    /// The text to sign is not a note's text (empty, no final newline, a blank line, or
    /// control characters other than newline).
    #[error("not a note's text: {0}")]
    BadText(&'static str),
    /// A verifier key line is malformed.
    #[error("invalid verifier key: {0}")]
    BadVerifierKey(String),
    /// The note is not a signed note (no signature block, a malformed signature line).
    #[error("malformed signed note: {0}")]
    Malformed(String),
    /// No signature line names the verifier's key.
    #[error("the note carries no signature by {name}+{key_id:08x}")]
    UnknownKey {
        /// The verifier's name.
        name: String,
        /// The verifier's key id.
        key_id: u32,
    },
    /// A signature line names the verifier's key but the signature does not verify: the text
    /// or the signature was altered.
    #[error("the signature by {0} does not verify: the note was altered")]
    BadSignature(String),
    /// The note's text is not a `tlog-checkpoint` body.
    #[error("not a tlog checkpoint: {0}")]
    NotACheckpoint(String),
    /// The log could not be synced or read to make a tree head.
    #[error("cannot make the log's tree head: {0}")]
    Log(String),
}

/// A verifier: the key name and public key an auditor checks notes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: PublicKey,
}

impl NoteVerifier {
    /// The verifier for `key` under `name` (canonically the log's URL-like origin).
    ///
    /// # Errors
    ///
    /// [`NoteError::BadName`].
    pub fn new(name: &str, key: &PublicKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key.to_bytes()),
            key: key.clone(),
        })
    }

    /// Reads a verifier key line `name+keyid+base64(0x01 || public key)`.
    ///
    /// # Errors
    ///
    /// [`NoteError::BadVerifierKey`] for a malformed line, another algorithm, or a key id
    /// that does not match the key.
    pub fn parse(line: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::BadVerifierKey(why.to_owned());
        let mut parts = line.trim_end_matches('\n').splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+key"));
        };
        check_name(name).map_err(|e| NoteError::BadVerifierKey(e.to_string()))?;
        if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("the key id is not 8 lowercase hex digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key id is not hex"))?;
        let bytes = crate::base64::decode(key).ok_or_else(|| bad("the key is not base64"))?;
        let [alg, rest @ ..] = bytes.as_slice() else {
            return Err(bad("the key is empty"));
        };
        if *alg != ED25519 || rest.len() != 32 {
            return Err(bad("not an Ed25519 key (algorithm 1, 32 bytes)"));
        }
        let key = PublicKey::from_hex(&hex(rest)).map_err(|e| bad(&e.to_string()))?;
        let verifier = Self::new(name, &key)?;
        if verifier.key_id != id {
            return Err(bad("the key id does not match the key"));
        }
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: the first four bytes of `SHA-256(name || 0x0A || 0x01 || key)`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
}

/// The verifier key line, `name+keyid+base64(0x01 || public key)`.
impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(&self.key.to_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            crate::base64::encode(&bytes)
        )
    }
}

/// Signs `text` as a note by `key` under `name`: the text, a blank line, and the signature line
/// `— name base64(key id || signature)`.
///
/// # Errors
///
/// [`NoteError::BadName`], or [`NoteError::BadText`] when `text` is empty, does not end in a
/// newline, holds a blank line or control characters.
pub fn sign_note(text: &str, name: &str, key: &CheckpointKey) -> Result<String, NoteError> {
    check_name(name)?;
    check_text(text)?;
    let id = key_id(name, &key.public().to_bytes());
    let mut blob = id.to_be_bytes().to_vec();
    blob.extend_from_slice(&key.sign_bytes(text.as_bytes()));
    Ok(format!(
        "{text}\n\u{2014} {name} {}\n",
        crate::base64::encode(&blob)
    ))
}

/// Checks a signed note against `verifier` and returns its text. Signatures by other keys
/// are allowed (witnesses co-sign) and ignored.
///
/// # Errors
///
/// [`NoteError::Malformed`], [`NoteError::UnknownKey`] when no line is by the verifier, and
/// [`NoteError::BadSignature`] when one is but does not verify.
pub fn open_note<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, NoteError> {
    let bad = |why: &str| NoteError::Malformed(why.to_owned());
    if !note.ends_with('\n') {
        return Err(bad("it does not end in a newline"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| bad("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    check_text(text).map_err(|e| NoteError::Malformed(e.to_string()))?;
    let lines: Vec<&str> = sigs
        .strip_suffix('\n')
        .unwrap_or(sigs)
        .split('\n')
        .collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(bad("more than 100 signatures"));
    }
    let mut found = false;
    for line in lines {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("a signature line does not start with an em dash and a space"))?;
        let (name, blob) = rest
            .split_once(' ')
            .ok_or_else(|| bad("a signature line has no signature"))?;
        check_name(name).map_err(|e| NoteError::Malformed(e.to_string()))?;
        let blob = crate::base64::decode(blob).ok_or_else(|| bad("a signature is not base64"))?;
        let [a, b, c, d, sig @ ..] = blob.as_slice() else {
            return Err(bad("a signature is shorter than its key id"));
        };
        if name != verifier.name || u32::from_be_bytes([*a, *b, *c, *d]) != verifier.key_id {
            continue;
        }
        let sig: &[u8; 64] = sig
            .try_into()
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        if !verifier.key.verifies(text.as_bytes(), sig) {
            return Err(NoteError::BadSignature(name.to_owned()));
        }
        found = true;
    }
    if found {
        Ok(text)
    } else {
        Err(NoteError::UnknownKey {
            name: verifier.name.clone(),
            key_id: verifier.key_id,
        })
    }
}

/// A tree head: the log `origin` held `size` entries whose RFC 9162 root is `root`. Its text
/// is a C2SP `tlog-checkpoint` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The log's origin line: a unique, URL-like name for the log (no scheme).
    pub origin: String,
    /// How many entries the tree covers.
    pub size: u64,
    /// The Merkle root over those entries.
    pub root: Hash,
}

impl TreeHead {
    /// The head of `tree` as it stands.
    ///
    /// # Errors
    ///
    /// [`NoteError::NotACheckpoint`] when `origin` is empty or holds a control character.
    pub fn of(tree: &Tree, origin: &str) -> Result<Self, NoteError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(NoteError::NotACheckpoint(format!(
                "origin {origin:?} is empty or holds control characters"
            )));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: tree.size(),
            root: tree.root(),
        })
    }

    /// The `tlog-checkpoint` body: origin, size in decimal and the base64 root, a line each.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            crate::base64::encode(&self.root)
        )
    }

    /// The body signed as a note by `key` under `name`.
    ///
    /// # Errors
    ///
    /// [`NoteError::BadName`] or, for an origin with control characters, [`NoteError::BadText`].
    pub fn sign(&self, name: &str, key: &CheckpointKey) -> Result<String, NoteError> {
        sign_note(&self.body(), name, key)
    }

    /// Whether `tree` is, or extends, the tree this head names: it holds at least `size` leaves
    /// and its first `size` have this root.
    pub fn is_head_of(&self, tree: &Tree) -> bool {
        tree.root_at(self.size).is_ok_and(|root| root == self.root)
    }

    /// Checks a signed checkpoint against `verifier` and reads its head. Extension lines after
    /// the root are allowed and not interpreted.
    ///
    /// # Errors
    ///
    /// Those of [`open_note`], and [`NoteError::NotACheckpoint`] for a body that is not origin,
    /// size (decimal, no leading zeros) and a 32-byte base64 root.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self, NoteError> {
        let text = open_note(note, verifier)?;
        Self::parse_body(text)
    }

    /// Reads the head of a signed checkpoint without checking its signatures: for the log's
    /// holder, who makes proofs against a head and checks its root against the log itself.
    ///
    /// # Errors
    ///
    /// [`NoteError::Malformed`] or [`NoteError::NotACheckpoint`].
    pub fn parse_note(note: &str) -> Result<Self, NoteError> {
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
        Self::parse_body(&note[..=split])
    }

    /// Reads a `tlog-checkpoint` body without checking any signature.
    ///
    /// # Errors
    ///
    /// [`NoteError::NotACheckpoint`].
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::NotACheckpoint(why.to_owned());
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(bad("the origin is empty"));
        }
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad(
                "the size is not a decimal number without leading zeros",
            ));
        }
        let size = size.parse().map_err(|_| bad("the size is too large"))?;
        let root = crate::base64::decode(root)
            .and_then(|r| Hash::try_from(r.as_slice()).ok())
            .ok_or_else(|| bad("the root is not 32 bytes of base64"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

impl AuditLog {
    /// Syncs everything appended so far and signs the Merkle tree head of the log as it then
    /// stands on disk, under `origin` (the note's key name too): the on-demand form of
    /// `acttrace checkpoint --note`, for a service that publishes its tree heads while it
    /// runs. Rebuilds the tree from the file (about half a second per million entries); of a
    /// segmented log, one tree across its segments.
    ///
    /// ```
    /// use acttrace::chain::Entry;
    /// use acttrace::chain::checkpoint::CheckpointKey;
    /// use acttrace::evidence::note::{NoteVerifier, TreeHead};
    /// use acttrace::json::Map;
    /// use acttrace::store::AuditLog;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("acttrace-doc-tree-head-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let key = CheckpointKey::generate()?;
    /// let log = AuditLog::open("loan-triage", dir.join("audit.jsonl")).await?;
    /// log.append(Entry::new("decision", Map::new())).await?;
    /// let (head, note) = log.tree_head("example.com/loan-triage", &key).await?;
    /// assert_eq!(head.size, 2); // audit_open and the decision
    /// let verifier = NoteVerifier::new("example.com/loan-triage", &key.public())?;
    /// assert_eq!(TreeHead::open(&note, &verifier)?, head);
    /// log.shutdown().await?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`NoteError::Log`] when the log cannot be synced or read back, [`NoteError::BadName`]
    /// for an origin that cannot name a key.
    pub async fn tree_head(
        &self,
        origin: &str,
        key: &CheckpointKey,
    ) -> Result<(TreeHead, String), NoteError> {
        let snap = self
            .snapshot()
            .await
            .map_err(|e| NoteError::Log(e.to_string()))?;
        let path = self.path().to_owned();
        let database = self.database().map(|(u, c)| (u.to_owned(), c.to_owned()));
        let tree = tokio::task::spawn_blocking(move || match database {
            Some((url, chain)) => {
                crate::evidence::publish::tree_of_database(&url, &chain, snap.head.entries)
            }
            // A segmented log: one tree across its segments, as far as the snapshot's count.
            None if path.is_dir() => {
                crate::evidence::proof::segments_start(&path).and_then(|(mut tree, mut cursor)| {
                    tree.extend_from_segments(&path, &mut cursor, snap.head.entries)
                        .map(|()| tree)
                })
            }
            None => Tree::from_log_prefix(&path, snap.len),
        })
        .await
        .map_err(|e| NoteError::Log(e.to_string()))?
        .map_err(|e| NoteError::Log(e.to_string()))?;
        let head = TreeHead::of(&tree, origin)?;
        let note = head.sign(origin, key)?;
        Ok((head, note))
    }
}

/// Writes a signed note to `path` (readable by all, as public evidence is): a temporary file,
/// synced, then renamed into place.
///
/// # Errors
///
/// Writing fails.
pub fn save_note(path: &Path, note: &str) -> std::io::Result<()> {
    crate::files::write_whole(path, 0o644, true, |f| f.write_all(note.as_bytes()))
}

fn key_id(name: &str, key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
    {
        return Err(NoteError::BadName(name.to_owned()));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::BadText(
            "it must be non-empty and end in a newline",
        ));
    }
    if text.contains("\n\n") || text.starts_with('\n') {
        return Err(NoteError::BadText("it must not hold a blank line"));
    }
    if text.chars().any(|c| c != '\n' && c.is_control()) {
        return Err(NoteError::BadText("it must not hold control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

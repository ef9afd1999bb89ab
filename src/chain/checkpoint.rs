//! Signed checkpoints: the chain's head (origin, entry count, head hash) signed with Ed25519,
//! so an auditor checks completeness with a public key and holds no secret (an HMAC key, by
//! contrast, can also forge).
//!
//! A checkpoint is one JSON line:
//! `{"format": "acttrace-checkpoint/1", "origin": …, "entries": N, "head": …, "key_id": …,
//! "signature": …}`. The signature covers the text
//! `"acttrace-checkpoint/1\n{origin}\n{entries}\n{head}\n"`; `key_id` is the first 16 hex
//! digits of the SHA-256 of the public key, to tell keys apart. Verifying a log against a
//! checkpoint checks the signature, then that the chain's first `entries` entries end on `head`
//! (a log that has grown since still verifies: its prefix is what was signed).
//!
//! ```
//! use acttrace::chain::checkpoint::{Checkpoint, CheckpointKey};
//! use acttrace::chain::Entry;
//! use acttrace::json::Map;
//! use acttrace::store::AuditLog;
//! use acttrace::verify::{VerifyOptions, verify_path};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("acttrace-doc-checkpoint-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.jsonl");
//! let key = CheckpointKey::generate()?; // kept by the service; `public()` goes to auditors
//! let log = AuditLog::open("loan-triage", &path).await?;
//! log.append(Entry::new("decision", Map::new())).await?;
//! let checkpoint = log.checkpoint(&key).await?;
//! checkpoint.save(dir.join("audit.jsonl.checkpoint"))?;
//! log.append(Entry::new("decision", Map::new())).await?; // the log goes on
//! log.shutdown().await?;
//!
//! // The auditor: the public key and the checkpoint file, no secret.
//! let checkpoint = Checkpoint::read(dir.join("audit.jsonl.checkpoint"))?;
//! let opts = VerifyOptions::new().checkpoint(&checkpoint, &key.public());
//! assert!(verify_path(&path, &opts).is_ok());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::chain::hash::{hex, sha256_hex};
use crate::json::value::{Map, Value};

/// The checkpoint format's name, first line of what is signed.
pub const FORMAT: &str = "acttrace-checkpoint/1";

/// Why a key or checkpoint could not be made, read or trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A key is not 64 hex digits (32 bytes), or not a valid Ed25519 public key.
    #[error("invalid {what}: {why}")]
    BadKey {
        /// `secret key` or `public key`.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A checkpoint file is not a checkpoint.
    #[error("not an {FORMAT} checkpoint: {0}")]
    Malformed(String),
    /// The operating system's random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn key_bytes(text: &str, what: &'static str) -> Result<[u8; 32], CheckpointError> {
    let text = text.trim();
    let bad = |why: &str| CheckpointError::BadKey {
        what,
        why: why.to_owned(),
    };
    if text.len() != 64 {
        return Err(bad("expected 64 hex digits"));
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err(bad("not hex")),
        }
    }
    Ok(out)
}

/// An Ed25519 secret key that signs checkpoints. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct CheckpointKey(SigningKey);

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CheckpointKey")
            .field(&self.public().key_id())
            .finish()
    }
}

impl CheckpointKey {
    /// A new key from the operating system's random source.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Random`] if the random source fails.
    pub fn generate() -> Result<Self, CheckpointError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CheckpointError::Random(e.to_string()))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// Writes the key pair beside each other: `NAME.key` (this secret key) and `NAME.pub`
    /// (its public key, for auditors), each whole or not at all, created with mode `0o600`,
    /// refusing to replace an existing file. Returns the two paths.
    ///
    /// ```
    /// use acttrace::chain::checkpoint::{{{CheckpointKey, PublicKey}}};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("acttrace-keygen-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let key = CheckpointKey::generate()?;
    /// let (secret, public) = key.save_pair(dir.join("ops"))?;
    /// assert_eq!(PublicKey::read(&public)?, key.public());
    /// assert!(key.save_pair(dir.join("ops")).is_err(), "never replaces a key");
    /// # let _ = secret;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A file exists already or cannot be written; nothing is left behind.
    pub fn save_pair(&self, name: impl AsRef<Path>) -> Result<(PathBuf, PathBuf), CheckpointError> {
        let with = |suffix: &str| {
            let mut p = name.as_ref().as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        };
        let (secret, public) = (with(".key"), with(".pub"));
        let line = |text: String| {
            move |f: &mut std::fs::File| {
                f.write_all(text.as_bytes())?;
                f.write_all(b"\n")
            }
        };
        crate::files::write_whole(&secret, 0o600, false, line(self.to_hex()))
            .map_err(io_err(&secret))?;
        if let Err(e) =
            crate::files::write_whole(&public, 0o600, false, line(self.public().to_hex()))
        {
            let _ = std::fs::remove_file(&secret);
            return Err(io_err(&public)(e));
        }
        Ok((secret, public))
    }

    /// The key from its 64 hex digits (what [`to_hex`](Self::to_hex) gives).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::BadKey`].
    pub fn from_hex(text: &str) -> Result<Self, CheckpointError> {
        Ok(Self(SigningKey::from_bytes(&key_bytes(
            text,
            "secret key",
        )?)))
    }

    /// Reads a key file written by `acttrace keygen` (64 hex digits).
    ///
    /// # Errors
    ///
    /// The file cannot be read or holds no key.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        Self::from_hex(&std::fs::read_to_string(path).map_err(io_err(path))?)
    }

    /// The secret key as 64 hex digits. Store it like a password.
    pub fn to_hex(&self) -> String {
        hex(&self.0.to_bytes())
    }

    /// The public key auditors verify with.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs any bytes (the signed-note format of [`crate::evidence::note`] uses it).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// Signs the chain state `(origin, entries, head)`.
    pub fn sign(&self, origin: &str, entries: u64, head: &str) -> Checkpoint {
        let mut cp = Checkpoint {
            origin: origin.to_owned(),
            entries,
            head: head.to_owned(),
            key_id: self.public().key_id(),
            signature: [0; 64],
        };
        cp.signature = self.0.sign(cp.signed_text().as_bytes()).to_bytes();
        cp
    }
}

/// An Ed25519 public key: verifies checkpoints, cannot make them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key from its 64 hex digits.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::BadKey`], also for bytes that are not a point of the curve.
    pub fn from_hex(text: &str) -> Result<Self, CheckpointError> {
        let bytes = key_bytes(text, "public key")?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|e| CheckpointError::BadKey {
                what: "public key",
                why: e.to_string(),
            })
    }

    /// Reads a public key file written by `acttrace keygen`.
    ///
    /// # Errors
    ///
    /// The file cannot be read or holds no public key.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        Self::from_hex(&std::fs::read_to_string(path).map_err(io_err(path))?)
    }

    /// The key as 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }

    /// The key's 32 bytes.
    pub(crate) fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Whether `signature` is this key's over `message` (strict Ed25519 verification).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }

    /// The first 16 hex digits of the key's SHA-256.
    pub fn key_id(&self) -> String {
        sha256_hex(self.0.as_bytes())[..16].to_owned()
    }
}

/// A signed statement that the chain named `origin` held `entries` entries ending on `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The system the log belongs to.
    pub origin: String,
    /// How many entries the chain held.
    pub entries: u64,
    /// The hash of its last entry.
    pub head: String,
    /// Which key signed it (see [`PublicKey::key_id`]).
    pub key_id: String,
    signature: [u8; 64],
}

impl Checkpoint {
    /// The exact text the signature covers.
    pub fn signed_text(&self) -> String {
        format!(
            "{FORMAT}\n{}\n{}\n{}\n",
            self.origin, self.entries, self.head
        )
    }

    /// Whether `key` made this checkpoint's signature (strict Ed25519 verification).
    pub fn is_signed_by(&self, key: &PublicKey) -> bool {
        key.0
            .verify_strict(
                self.signed_text().as_bytes(),
                &Signature::from_bytes(&self.signature),
            )
            .is_ok()
    }

    /// The checkpoint as its one-line JSON form.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("format", FORMAT);
        m.insert("origin", self.origin.as_str());
        m.insert("entries", self.entries);
        m.insert("head", self.head.as_str());
        m.insert("key_id", self.key_id.as_str());
        m.insert("signature", hex(&self.signature));
        Value::from(m).to_line_json()
    }

    /// Parses the one-line JSON form.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Malformed`].
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let bad = |why: &str| CheckpointError::Malformed(why.to_owned());
        let Ok(Value::Object(m)) = Value::parse(text.trim()) else {
            return Err(bad("not a JSON object"));
        };
        if m.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(bad("wrong or missing format"));
        }
        let text = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("missing {k}")))
        };
        let sig_hex = text("signature")?;
        if sig_hex.len() != 128 {
            return Err(bad("signature is not 128 hex digits"));
        }
        let mut signature = [0u8; 64];
        let (a, b) = sig_hex.split_at(64);
        signature[..32]
            .copy_from_slice(&key_bytes(a, "signature").map_err(|_| bad("signature is not hex"))?);
        signature[32..]
            .copy_from_slice(&key_bytes(b, "signature").map_err(|_| bad("signature is not hex"))?);
        Ok(Self {
            origin: text("origin")?,
            entries: m
                .get("entries")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("entries is not a count"))?,
            head: text("head")?,
            key_id: text("key_id")?,
            signature,
        })
    }

    /// Reads a checkpoint file.
    ///
    /// # Errors
    ///
    /// The file cannot be read or is not a checkpoint.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        Self::parse(&std::fs::read_to_string(path).map_err(io_err(path))?)
    }

    /// Writes the checkpoint to `path` whole or not at all: a temporary file beside it,
    /// synced, then renamed into place.
    ///
    /// # Errors
    ///
    /// Writing fails.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        // Public evidence, for auditors: readable by all, as a public key is.
        crate::files::write_whole(path, 0o644, true, |f| {
            f.write_all(self.to_json().as_bytes())?;
            f.write_all(b"\n")
        })
        .map_err(io_err(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_parse_verify_and_refuse_edits() {
        let key = CheckpointKey::generate().unwrap();
        let cp = key.sign("loan-triage", 42, &"ab".repeat(32));
        assert!(cp.is_signed_by(&key.public()));
        let back = Checkpoint::parse(&cp.to_json()).unwrap();
        assert_eq!(back, cp);
        assert!(back.is_signed_by(&key.public()));

        let other = CheckpointKey::generate().unwrap();
        assert!(!cp.is_signed_by(&other.public()));
        for (from, to) in [
            ("\"entries\": 42", "\"entries\": 41"),
            ("loan-triage", "loan-triagE"),
        ] {
            let edited = Checkpoint::parse(&cp.to_json().replace(from, to)).unwrap();
            assert!(!edited.is_signed_by(&key.public()), "{to}");
        }
        assert_eq!(
            CheckpointKey::from_hex(&key.to_hex()).unwrap().public(),
            key.public()
        );
        assert_eq!(
            PublicKey::from_hex(&key.public().to_hex()).unwrap(),
            key.public()
        );
        assert!(format!("{key:?}").contains(&key.public().key_id()));
        assert!(!format!("{key:?}").contains(&key.to_hex()));
        assert!(PublicKey::from_hex("zz").is_err());
        assert!(Checkpoint::parse("{}").is_err());
        assert!(Checkpoint::parse(&cp.to_json().replace("acttrace-checkpoint/1", "x")).is_err());
    }
}

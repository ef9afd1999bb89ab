//! Offline verification of an `acttrace-chain/1` file.
//!
//! [`verify_path`] and [`verify_reader`] are plain synchronous functions that stream the input
//! line by line (memory stays flat whatever the file's size) and return a [`Report`]: either ok
//! or the first check that failed and where. Verdicts and messages follow the reference verifier
//! (`cendor-acttrace`): the same `detail` text, the same classes. Where the reference crashes on
//! hostile input, this answers with a clear failure instead; it never panics.
//!
//! Uses the format ([`chain`](crate::chain): lines, hashes, signatures, the pack format,
//! checkpoints) and the JSON model; nothing that writes.
//!
//! ```
//! use acttrace::verify::{verify_reader, VerifyOptions};
//!
//! let log = concat!(
//!     r#"{"seq": 0, "ts": "2026-01-01T00:00:00+00:00", "type": "audit_open", "payload": {"system": "minimal", "risk_tier": "limited", "format": "acttrace-chain/1", "producer": "cendor-acttrace/1.14.0"}, "prev_hash": "0000000000000000000000000000000000000000000000000000000000000000", "hash": "80f82f42bef649a1d8dd882d9304139bc1eb2b6a7f797b5eeeff7caa0eed7dd1", "sig": ""}"#,
//!     "\n"
//! );
//! let report = verify_reader(log.as_bytes(), "audit.jsonl", &VerifyOptions::new());
//! assert!(report.is_ok());
//! assert_eq!(report.detail(), "ok: 1 entries, head 80f82f42bef6…");
//!
//! let tampered = log.replace("minimal", "maximal");
//! let report = verify_reader(tampered.as_bytes(), "audit.jsonl", &VerifyOptions::new());
//! assert_eq!(report.class(), "hash_mismatch");
//! assert_eq!(report.detail(), "tampered entry at seq 0: hash mismatch");
//! ```
//!
//! A hash chain cannot see its own tail cut off. Completeness needs a head hash or an entry
//! count from somewhere trusted: pass them with [`VerifyOptions::expected_head`] and
//! [`VerifyOptions::expected_entries`] (from [`AuditLog::head`](crate::store::AuditLog::head), kept
//! elsewhere), or rely on an evidence pack's `_meta` header, which only a signing key
//! authenticates.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::chain::hash::SigningKey;

/// The longest line accepted by default: 256 MiB. Lines the reference writes are far shorter;
/// the cap keeps one hostile line from exhausting memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 256 << 20;

/// What to check besides the chain itself.
///
/// ```
/// use acttrace::chain::SigningKey;
/// use acttrace::verify::VerifyOptions;
///
/// let opts = VerifyOptions::new()
///     .key(SigningKey::from("test-signing-key-01"))
///     .expected_entries(11);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    key: Option<SigningKey>,
    expected_head: Option<String>,
    expected_entries: Option<u64>,
    max_line_bytes: usize,
    checkpoint: Option<CheckpointClaim>,
    threads: Option<usize>,
    after: Option<(u64, String)>,
    #[cfg(feature = "ed25519")]
    seal_key: Option<crate::chain::checkpoint::PublicKey>,
}

/// A signed checkpoint's claim, its signature already checked.
#[derive(Debug, Clone)]
struct CheckpointClaim {
    entries: u64,
    head: String,
    signature_ok: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            key: None,
            expected_head: None,
            expected_entries: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            checkpoint: None,
            threads: None,
            after: None,
            #[cfg(feature = "ed25519")]
            seal_key: None,
        }
    }
}

impl VerifyOptions {
    /// No key, no expected head or count.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also check every entry's HMAC signature (and an evidence pack header's). Defaults to
    /// none.
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The head hash the chain must end on, known out of band. Overrides a pack header's.
    /// Defaults to none.
    pub fn expected_head(mut self, head: impl Into<String>) -> Self {
        self.expected_head = Some(head.into());
        self
    }

    /// The number of entries the chain must hold, known out of band. Overrides a pack header's.
    /// Defaults to none.
    pub fn expected_entries(mut self, n: u64) -> Self {
        self.expected_entries = Some(n);
        self
    }

    /// Checks the log against a signed checkpoint: its signature must verify with `key`, and
    /// the chain's first `checkpoint.entries` entries must end on `checkpoint.head` (the log
    /// may have grown since). See [`checkpoint`](crate::chain::checkpoint).
    #[cfg(feature = "ed25519")]
    pub fn checkpoint(
        mut self,
        checkpoint: &crate::chain::checkpoint::Checkpoint,
        key: &crate::chain::checkpoint::PublicKey,
    ) -> Self {
        self.checkpoint = Some(CheckpointClaim {
            entries: checkpoint.entries,
            head: checkpoint.head.clone(),
            signature_ok: checkpoint.is_signed_by(key),
        });
        self
    }

    /// The key a segmented log's seals are signed with: an evidence pack that starts after
    /// retention (its header's `after`) must then carry the retention record it starts from,
    /// signed with it and naming that start, so that no kept entry was cut off its front
    /// unseen (by cutting the pack, or segments from the log with a record written by hand).
    /// Without it, such a pack's start is as trusted as its header.
    #[cfg(feature = "ed25519")]
    pub fn seal_key(mut self, key: &crate::chain::checkpoint::PublicKey) -> Self {
        self.seal_key = Some(key.clone());
        self
    }

    /// The log continues a chain that held `entries` entries ending at `head` (a segment
    /// after its predecessor, whose seal says so): its first entry must link to `head`, and
    /// counts (the report's, expected ones, a checkpoint's) are of the whole chain. Defaults
    /// to a log that starts the chain.
    pub fn after(mut self, entries: u64, head: impl Into<String>) -> Self {
        self.after = Some((entries, head.into()));
        self
    }

    /// The longest line accepted; a longer one fails verification. Defaults to
    /// [`DEFAULT_MAX_LINE_BYTES`].
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n;
        self
    }

    /// How many threads parse and hash lines: `1` verifies on the calling thread alone.
    /// Defaults to the machine's cores, at most 8. The verdict is the same either way.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }
}

/// The first check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// An entry's `prev_hash` is not the previous entry's `hash` (deleted, inserted or
    /// reordered entries).
    BrokenLink {
        /// The entry's `seq`, as the file has it.
        seq: String,
    },
    /// An entry's content does not hash to its `hash` (edited entry).
    HashMismatch {
        /// The entry's `seq`, as the file has it.
        seq: String,
    },
    /// An entry's `sig` is not the HMAC of its hash under the key.
    BadSignature {
        /// The entry's `seq`, as the file has it.
        seq: String,
    },
    /// A line is not a JSON object the format allows.
    Corrupt {
        /// The physical line number (1-based).
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not UTF-8.
    InvalidUtf8 {
        /// The physical line number (1-based).
        line: u64,
    },
    /// The file could not be read.
    Unreadable {
        /// The I/O error.
        reason: String,
    },
    /// With a key, an evidence pack's header carries no signature.
    MetaUnauthenticated,
    /// With a key, an evidence pack's header signature does not match its fields.
    MetaForged,
    /// Entries carry a framework's `controls` (they come from an evidence pack) but the pack's
    /// `_meta` header is gone: deleted, most likely with entries cut from the end. Ours; the
    /// reference accepts such a file.
    PackWithoutHeader,
    /// An evidence pack's header does not match its entries: its summary, controls covered or
    /// controls digest, or an entry's controls, are not what the entries give. Ours; the
    /// reference checks none of these.
    PackMismatch {
        /// What does not match.
        what: String,
    },
    /// A signed checkpoint's signature does not verify with the public key given.
    CheckpointForged,
    /// The retention record an evidence pack starts after is not signed with the seal key
    /// given: entries before the pack were deleted, but not by a retention run of the log's.
    /// Ours.
    RetentionForged,
    /// The chain does not hold what a signed checkpoint says it held: fewer entries, or its
    /// first `signed` entries do not end on the signed head.
    CheckpointMismatch {
        /// The entry count the checkpoint signed.
        signed: u64,
    },
    /// The chain does not end on the expected head.
    IncompleteHead {
        /// The expected head, as given.
        expected: String,
    },
    /// The chain does not hold the expected number of entries.
    IncompleteCount {
        /// The expected count, as given.
        expected: String,
    },
}

impl Failure {
    /// The reference's class for this failure (`broken_link`, `hash_mismatch`,
    /// `bad_signature`, `corrupt`, `cannot_read`, `meta_unauthenticated`, `meta_forged`,
    /// `incomplete_head`, `incomplete_count`), and ours for the pack checks the reference does
    /// not make (`pack_without_header`, `pack_mismatch`, `checkpoint_forged`,
    /// `retention_forged`, `checkpoint_mismatch`).
    pub fn class(&self) -> &'static str {
        match self {
            Self::BrokenLink { .. } => "broken_link",
            Self::HashMismatch { .. } => "hash_mismatch",
            Self::BadSignature { .. } => "bad_signature",
            Self::Corrupt { .. } => "corrupt",
            Self::InvalidUtf8 { .. } | Self::Unreadable { .. } => "cannot_read",
            Self::MetaUnauthenticated => "meta_unauthenticated",
            Self::MetaForged => "meta_forged",
            Self::PackWithoutHeader => "pack_without_header",
            Self::PackMismatch { .. } => "pack_mismatch",
            Self::CheckpointForged => "checkpoint_forged",
            Self::RetentionForged => "retention_forged",
            Self::CheckpointMismatch { .. } => "checkpoint_mismatch",
            Self::IncompleteHead { .. } => "incomplete_head",
            Self::IncompleteCount { .. } => "incomplete_count",
        }
    }
}

/// The outcome of verifying one file.
#[derive(Debug, Clone)]
pub struct Report {
    label: String,
    entries: u64,
    head: String,
    failure: Option<Failure>,
    signatures_checked: bool,
    /// Whether any entry carried a signature.
    signed: bool,
    meta_present: bool,
    meta_trusted: bool,
    out_of_band: bool,
    starts_after: u64,
    start_sealed: bool,
}

impl Report {
    /// Whether the log carries signatures that were not checked (no key was given): the chain
    /// verified, but not that the holder of the key wrote it. The verdict's text stays the
    /// reference's; the command says this on a line of its own.
    pub fn signatures_unchecked(&self) -> bool {
        self.signed && !self.signatures_checked
    }

    /// Whether every check passed.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// The failed check, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// `ok` or the failure's class, as the reference names them.
    pub fn class(&self) -> &'static str {
        self.failure.as_ref().map_or("ok", Failure::class)
    }

    /// Entries checked before the verdict (all of them when ok).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The hash of the last entry checked ([`GENESIS`](crate::chain::GENESIS) for none).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Whether an evidence pack header (`_meta`) was found.
    pub fn has_meta(&self) -> bool {
        self.meta_present
    }

    /// Whether the pack header's signature was checked and matched.
    pub fn meta_trusted(&self) -> bool {
        self.meta_trusted
    }

    /// How many entries of the chain came before the first one read: 0 for a log, or for an
    /// evidence pack of a whole chain; for a pack of a segmented log whose oldest segments
    /// were deleted under retention, the entries deleted, as its header's `after` says (and
    /// its first entry's `seq` and link confirm). [`entries`](Self::entries) counts them too.
    pub fn starts_after(&self) -> u64 {
        self.starts_after
    }

    /// The reference's one-line verdict, e.g. `ok: 11 entries, head fed54f4c6a8e…` or
    /// `tampered entry at seq 2: hash mismatch`.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

fn prefix12(s: &str) -> &str {
    s.char_indices().nth(12).map_or(s, |(i, _)| &s[..i])
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = &self.label;
        match &self.failure {
            None => {
                write!(
                    f,
                    "ok: {} entries, head {}…",
                    self.entries,
                    prefix12(&self.head)
                )?;
                let mut notes = Vec::new();
                let retained = (self.starts_after > 0).then(|| {
                    format!(
                        "the pack starts at seq {0}: the {0} entries before it were deleted \
                         under retention",
                        self.starts_after
                    )
                });
                if let Some(retained) = &retained {
                    notes.push(retained.as_str());
                    if self.start_sealed {
                        notes.push("its retention record signed");
                    }
                }
                if self.signatures_checked {
                    notes.push("signatures verified");
                    if self.meta_trusted {
                        notes.push("metadata signature verified");
                    }
                } else if self.meta_present && !self.out_of_band {
                    notes.push(
                        "completeness from unauthenticated in-file _meta — pass \
                         expected_head/expect_entries out-of-band for an authoritative check",
                    );
                }
                if !notes.is_empty() {
                    write!(f, " ({})", notes.join("; "))?;
                }
                Ok(())
            }
            Some(Failure::BrokenLink { seq }) => {
                write!(f, "broken link at seq {seq}: prev_hash mismatch")
            }
            Some(Failure::HashMismatch { seq }) => {
                write!(f, "tampered entry at seq {seq}: hash mismatch")
            }
            Some(Failure::BadSignature { seq }) => write!(f, "bad signature at seq {seq}"),
            Some(Failure::Corrupt { line, reason }) => {
                write!(f, "corrupt log {label}: line {line}: {reason}")
            }
            Some(Failure::InvalidUtf8 { line }) => {
                write!(f, "cannot read {label}: invalid UTF-8 on line {line}")
            }
            Some(Failure::Unreadable { reason }) => write!(f, "cannot read {label}: {reason}"),
            Some(Failure::MetaUnauthenticated) => {
                f.write_str("unauthenticated _meta: signed log but header carries no signature")
            }
            Some(Failure::MetaForged) => f.write_str(
                "forged _meta: header signature mismatch (completeness fields altered?)",
            ),
            Some(Failure::PackWithoutHeader) => f.write_str(
                "incomplete pack: entries carry framework controls but the _meta header is \
                 missing (header deleted, entries removed?)",
            ),
            Some(Failure::PackMismatch { what }) => {
                write!(f, "forged pack: _meta does not match the entries ({what})")
            }
            Some(Failure::CheckpointForged) => f.write_str(
                "forged checkpoint: its signature does not verify with the public key given",
            ),
            Some(Failure::RetentionForged) => f.write_str(
                "forged retention record: the entries before the pack were deleted, and the \
                 record that says so is not signed with the public key given",
            ),
            Some(Failure::CheckpointMismatch { signed }) if self.entries < *signed => write!(
                f,
                "incomplete log: found {} entries, the signed checkpoint covers {signed} \
                 (entries removed?)",
                self.entries
            ),
            Some(Failure::CheckpointMismatch { signed }) => write!(
                f,
                "checkpoint mismatch: the first {signed} entries do not end on the signed head \
                 (entries rewritten?)"
            ),
            Some(Failure::IncompleteHead { expected }) => write!(
                f,
                "incomplete log: head {}… != expected {}… (trailing entries removed?)",
                prefix12(&self.head),
                prefix12(expected)
            ),
            Some(Failure::IncompleteCount { expected }) => write!(
                f,
                "incomplete log: found {} entries, expected {expected} (entries removed?)",
                self.entries
            ),
        }
    }
}

/// Verifies the file at `path`. The path is shown as given in the report's messages.
pub fn verify_path(path: impl AsRef<Path>, opts: &VerifyOptions) -> Report {
    let path = path.as_ref();
    let label = path.display().to_string();
    if path.is_dir() {
        let failure = Failure::Unreadable {
            reason: if holds_segments(path) {
                "a directory, not a log file: a segmented log's, verified whole by \
                 verify_segments (`acttrace verify DIR`)"
            } else {
                "a directory, not a log file, and no segmented log's (no segment-N.jsonl in it)"
            }
            .to_owned(),
        };
        return Verifier::new(opts.key.clone()).finish_with(&label, opts, Some(failure));
    }
    match File::open(path) {
        // Blocks reads at least `READ_CHUNK` at a time, so a smaller buffer is bypassed: the
        // bytes go from the kernel straight into the batch, copied once.
        Ok(file) => verify_reader(BufReader::with_capacity(READ_CHUNK, file), &label, opts),
        Err(e) => Verifier::new(opts.key.clone()).finish_with(&label, opts, Some(unreadable(&e))),
    }
}

/// Whether the directory `dir` holds a segment file.
fn holds_segments(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("segment-") && name.contains(".jsonl")
        })
    })
}

/// Verifies a chain read from `reader`; `label` names it in messages (usually the path).
///
/// Lines are parsed and hashed on all available cores (the links are then walked in order, so
/// the verdict is exactly the sequential one); small inputs are checked on the calling thread.
pub fn verify_reader(reader: impl BufRead, label: &str, opts: &VerifyOptions) -> Report {
    let workers = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)));
    let mut blocks = Blocks::new(reader, opts.max_line_bytes);
    let first = blocks.next(None);
    if let Some(failure) = read::not_a_log(first.data()) {
        return Verifier::new(opts.key.clone()).finish_with(label, opts, Some(failure));
    }
    let mut v = Verifier::new(opts.key.clone());
    if let Some((entries, head)) = &opts.after {
        v.continue_after(*entries, head);
    }
    v.chain.watch = opts.checkpoint.as_ref().map(|c| c.entries);
    let failure = if workers < 2 || first.last {
        verify_batches_inline(&mut v, first, &mut blocks, opts)
    } else {
        verify_batches_parallel(&mut v.chain, first, &mut blocks, opts, workers)
    };
    v.finish_with(label, opts, failure)
}

mod check;
mod read;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub mod segments;
#[cfg(test)]
mod tests;

#[cfg(any(test, fuzzing))]
pub(crate) use self::check::Analyzer;
pub(crate) use self::check::{Seen, Verifier, meta_signed_body};
use self::read::{Blocks, READ_CHUNK, unreadable, verify_batches_inline, verify_batches_parallel};
pub(crate) use self::read::{LineError, Lines, py_strip};

//! Offline verification of an `acttrace-chain/1` file.
//!
//! [`verify_path`] and [`verify_reader`] are plain synchronous functions that stream the input
//! line by line (memory stays flat whatever the file's size) and return a [`Report`]: either ok
//! or the first check that failed and where. Verdicts and messages follow the reference verifier
//! (`cendor-acttrace`): the same `detail` text, the same classes. Where the reference crashes on
//! hostile input, this answers with a clear failure instead; it never panics.
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
//! [`VerifyOptions::expected_entries`] (from [`AuditLog::head`](super::AuditLog::head), kept
//! elsewhere), or rely on an evidence pack's `_meta` header, which only a signing key
//! authenticates.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::chain::hash::{self, GENESIS, SigningKey};
use crate::chain::line;
use crate::chain::pack::{self, ControlsDigest, Framework, Tally};
use crate::json::canonical;
use crate::json::parse::{Node, Tape};
use crate::json::value::{Map, Value};

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

    /// The longest line accepted; a longer one fails verification. Defaults to
    /// [`DEFAULT_MAX_LINE_BYTES`].
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n;
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
    /// `checkpoint_mismatch`).
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
    meta_present: bool,
    meta_trusted: bool,
    out_of_band: bool,
}

impl Report {
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

    /// The hash of the last entry checked ([`GENESIS`] for none).
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
    match File::open(path) {
        // Blocks reads at least `READ_CHUNK` at a time, so a smaller buffer is bypassed: the
        // bytes go from the kernel straight into the batch, copied once.
        Ok(file) => verify_reader(BufReader::with_capacity(READ_CHUNK, file), &label, opts),
        Err(e) => Verifier::new(opts.key.clone()).finish_with(&label, opts, Some(unreadable(&e))),
    }
}

/// Verifies a chain read from `reader`; `label` names it in messages (usually the path).
///
/// Lines are parsed and hashed on all available cores (the links are then walked in order, so
/// the verdict is exactly the sequential one); small inputs are checked on the calling thread.
pub fn verify_reader(reader: impl BufRead, label: &str, opts: &VerifyOptions) -> Report {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut blocks = Blocks::new(reader, opts.max_line_bytes);
    let first = blocks.next(None);
    let mut v = Verifier::new(opts.key.clone());
    v.chain.watch = opts.checkpoint.as_ref().map(|c| c.entries);
    let failure = if workers < 2 || first.last {
        verify_batches_inline(&mut v, first, &mut blocks, opts)
    } else {
        verify_batches_parallel(&mut v.chain, first, &mut blocks, opts, workers)
    };
    v.finish_with(label, opts, failure)
}

/// Whole lines handed to a worker, line breaks included; the worker splits them.
struct Batch {
    /// A reused buffer, zeroed once when made; the lines are `buf[..len]`.
    buf: Vec<u8>,
    len: usize,
    /// How the input ended after these lines, if it did with an error.
    tail: Option<Tail>,
    /// Whether this is the last batch.
    last: bool,
}

impl Batch {
    fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// An input that stopped with an error after a batch's lines.
enum Tail {
    /// The next line is longer than the cap.
    TooLong,
    /// Reading failed.
    Unreadable(Failure),
}

const BATCH_BYTES: usize = 512 << 10;
const READ_CHUNK: usize = 128 << 10;
/// A batch buffer's usual size; one grown for a long line is shrunk back when reused.
const BATCH_BUF: usize = BATCH_BYTES + READ_CHUNK;

/// Reads the input in blocks of whole lines, cutting each block after a line break (never
/// between the `\r` and `\n` of one) and carrying the rest over. Only the line being carried
/// is bounded by the cap, so memory stays flat.
struct Blocks<R> {
    reader: R,
    carry: Vec<u8>,
    eof: bool,
    cap: usize,
    /// Bytes searched for a line break so far: at most about twice the input's length.
    searched: u64,
}

impl<R: BufRead> Blocks<R> {
    fn new(reader: R, cap: usize) -> Self {
        Self {
            reader,
            carry: Vec::new(),
            eof: false,
            cap,
            searched: 0,
        }
    }

    fn next(&mut self, recycled: Option<Batch>) -> Batch {
        let mut b = recycled.unwrap_or_else(|| Batch {
            buf: vec![0; BATCH_BUF],
            len: 0,
            tail: None,
            last: false,
        });
        if b.buf.len() > BATCH_BUF {
            b.buf.truncate(BATCH_BUF);
            b.buf.shrink_to_fit();
        }
        let carried = self.carry.len();
        if b.buf.len() < carried + READ_CHUNK {
            b.buf.resize(carried + READ_CHUNK, 0);
        }
        b.buf[..carried].copy_from_slice(&self.carry);
        self.carry.clear();
        b.len = carried;
        b.tail = None;
        b.last = false;
        let mut want = BATCH_BYTES;
        // Where a line break may still be found: a long line's bytes are searched once, not
        // again with every chunk added to them (that made one huge line quadratic). The last
        // byte searched is searched again: a `\r` there may turn out whole.
        let mut from = 0;
        loop {
            while !self.eof && b.len < want {
                if b.buf.len() < b.len + READ_CHUNK {
                    b.buf.resize(b.len + READ_CHUNK, 0);
                }
                match self.reader.read(&mut b.buf[b.len..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => b.len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // The lines read so far are checked; the partial one is not.
                        b.len = cut_point(b.data(), false).unwrap_or(0);
                        b.tail = Some(Tail::Unreadable(unreadable(&e)));
                        b.last = true;
                        return b;
                    }
                }
            }
            if self.eof {
                b.last = true;
                return b;
            }
            self.searched += (b.len - from) as u64;
            match cut_point(&b.data()[from..], true).map(|cut| cut + from) {
                Some(cut) => {
                    self.carry.extend_from_slice(&b.buf[cut..b.len]);
                    b.len = cut;
                    return b;
                }
                None if b.len > self.cap => {
                    b.len = 0;
                    b.tail = Some(Tail::TooLong);
                    b.last = true;
                    return b;
                }
                // One line longer than a block: read on.
                None => {
                    from = b.len.saturating_sub(1);
                    want = b.len + READ_CHUNK;
                }
            }
        }
    }
}

/// Just past the last line break in `data` that is certainly complete: a `\r` at the very end
/// may be the first half of `\r\n`, so when more input may follow it does not count.
fn cut_point(data: &[u8], more: bool) -> Option<usize> {
    let last = memchr::memrchr2(b'\n', b'\r', data)?;
    if more && data[last] == b'\r' && last + 1 == data.len() {
        return memchr::memrchr2(b'\n', b'\r', &data[..last]).map(|p| p + 1);
    }
    Some(last + 1)
}

/// Splits a batch into physical lines as Python's universal newlines do and checks each;
/// returns the checks and the number of lines. Line numbers are relative to the batch.
fn analyze_batch(analyzer: &mut Analyzer, batch: &Batch) -> (Vec<LineCheck>, u64) {
    let data = batch.data();
    // Usually the whole batch is UTF-8, checked at once; otherwise each line is.
    let text = std::str::from_utf8(data).ok();
    let mut checks = Vec::new();
    let (mut at, mut line) = (0, 0);
    while at < data.len() {
        let end = memchr::memchr2(b'\n', b'\r', &data[at..]).map_or(data.len(), |p| at + p);
        line += 1;
        // Cut at ASCII line breaks, a UTF-8 text's lines are UTF-8.
        checks.push(match text.and_then(|t| t.get(at..end)) {
            Some(text) => analyzer.check_text(text, line),
            None => analyzer.check(&data[at..end], line),
        });
        at = match data.get(end) {
            Some(b'\r') if data.get(end + 1) == Some(&b'\n') => end + 2,
            Some(_) => end + 1,
            None => end,
        };
    }
    (checks, line)
}

/// Applies a batch's checks in order; the first failure ends verification. `base` is the
/// number of lines before the batch; it makes the batch's line numbers absolute.
fn apply_batch(
    chain: &mut Chain,
    (checks, lines): (Vec<LineCheck>, u64),
    tail: Option<Tail>,
    base: &mut u64,
    opts: &VerifyOptions,
) -> Option<Failure> {
    for check in checks {
        if let Err(f) = chain.apply(check) {
            return Some(match f {
                Failure::Corrupt { line, reason } => Failure::Corrupt {
                    line: line + *base,
                    reason,
                },
                Failure::InvalidUtf8 { line } => Failure::InvalidUtf8 { line: line + *base },
                other => other,
            });
        }
    }
    *base += lines;
    tail.map(|t| match t {
        Tail::TooLong => Failure::Corrupt {
            line: *base + 1,
            reason: match chain.last_seq {
                Some(seq) => format!(
                    "line longer than {} bytes (the entry after seq {seq})",
                    opts.max_line_bytes
                ),
                None => format!("line longer than {} bytes", opts.max_line_bytes),
            },
        },
        Tail::Unreadable(f) => f,
    })
}

fn verify_batches_inline<R: BufRead>(
    v: &mut Verifier,
    mut batch: Batch,
    blocks: &mut Blocks<R>,
    opts: &VerifyOptions,
) -> Option<Failure> {
    let mut base = 0;
    loop {
        let checks = analyze_batch(&mut v.analyzer, &batch);
        if let Some(f) = apply_batch(&mut v.chain, checks, batch.tail.take(), &mut base, opts) {
            return Some(f);
        }
        if batch.last {
            return None;
        }
        batch = blocks.next(Some(batch));
    }
}

/// Reads on this thread, splits, parses and hashes on `workers` threads, walks the links here
/// in input order. Memory stays bounded: at most `2 * workers` batches are in flight.
fn verify_batches_parallel<R: BufRead>(
    chain: &mut Chain,
    first: Batch,
    blocks: &mut Blocks<R>,
    opts: &VerifyOptions,
    workers: usize,
) -> Option<Failure> {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, mpsc};

    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Batch)>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, (Vec<LineCheck>, u64), Batch)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (work_rx, done_tx, key) = (&work_rx, done_tx.clone(), opts.key.clone());
            scope.spawn(move || {
                let mut analyzer = Analyzer::new(key);
                loop {
                    // The lock is held only while taking a job, never while working on it.
                    let job = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((n, batch)) = job else { break };
                    let checks = analyze_batch(&mut analyzer, &batch);
                    if done_tx.send((n, checks, batch)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut work_tx = Some(work_tx);
        let (mut sent, mut applied, mut base) = (0u64, 0u64, 0u64);
        let mut pending = BTreeMap::new();
        let mut spare: Vec<Batch> = Vec::new();
        let mut next = Some(first);
        loop {
            // Keep the workers fed.
            while sent - applied < (workers * 2) as u64 {
                let Some(batch) = next.take() else { break };
                let last = batch.last;
                if work_tx
                    .as_ref()
                    .is_some_and(|tx| tx.send((sent, batch)).is_ok())
                {
                    sent += 1;
                }
                if !last {
                    next = Some(blocks.next(spare.pop()));
                }
            }
            if sent == applied {
                return None;
            }
            let Ok((n, checks, batch)) = done_rx.recv() else {
                return Some(Failure::Unreadable {
                    reason: "verification worker stopped".to_owned(),
                });
            };
            pending.insert(n, (checks, batch));
            while let Some((checks, mut batch)) = pending.remove(&applied) {
                applied += 1;
                let tail = batch.tail.take();
                spare.push(batch);
                if let Some(f) = apply_batch(chain, checks, tail, &mut base, opts) {
                    drop(work_tx.take()); // lets the workers finish and exit
                    return Some(f);
                }
            }
        }
    })
}

fn unreadable(e: &io::Error) -> Failure {
    Failure::Unreadable {
        reason: e.to_string(),
    }
}

/// What a fed line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    Blank,
    Meta,
    Entry,
}

/// A lowercase-hex SHA-256 as ASCII bytes.
type Hex64 = [u8; 64];

/// What one line holds, as far as can be told without the lines before it.
#[derive(Debug)]
pub(crate) enum LineCheck {
    Blank,
    Meta(Map),
    Entry(EntryCheck),
    Fail(Failure),
}

/// An entry line's findings, to be checked against the chain's running head.
#[derive(Debug)]
pub(crate) struct EntryCheck {
    /// `prev_hash` as the line has it; `None` when it is not a 64-byte string (so it cannot
    /// match any head).
    prev_hash: Option<Hex64>,
    /// `hex(sha256(prev_hash + body))`: the entry's hash, if its link holds.
    hash: Hex64,
    seq: Seq,
    /// Whether `sig` was missing or empty.
    unsigned: bool,
    /// The first failure among the checks that come after the link (the `hash` field, the
    /// signature), in the reference's order.
    after_link: Option<Failure>,
    /// For an entry of an evidence pack (it has `controls`): what the header is checked
    /// against.
    pack: Option<Box<PackRow>>,
}

/// An evidence pack entry's type, payload and controls.
#[derive(Debug)]
pub(crate) struct PackRow {
    kind: String,
    payload: Map,
    controls: Value,
}

/// An entry's `seq`: usually a small integer, kept as text otherwise for messages.
#[derive(Debug, Clone)]
enum Seq {
    Index(u64),
    Other(String),
}

impl Seq {
    fn text(&self) -> String {
        match self {
            Self::Index(n) => n.to_string(),
            Self::Other(s) => s.clone(),
        }
    }
}

/// The per-line checks that need no knowledge of earlier lines: decoding, parsing,
/// canonicalizing, hashing, the signature. Runs on any thread.
#[derive(Debug, Clone)]
pub(crate) struct Analyzer {
    key: Option<SigningKey>,
    tape: Tape,
    scratch: line::CanonScratch,
    body: String,
}

impl Analyzer {
    pub(crate) fn new(key: Option<SigningKey>) -> Self {
        Self {
            key,
            tape: Tape::default(),
            scratch: line::CanonScratch::default(),
            body: String::new(),
        }
    }

    /// Checks one physical line (without its line break).
    pub(crate) fn check(&mut self, raw: &[u8], line: u64) -> LineCheck {
        match std::str::from_utf8(raw) {
            Ok(text) => self.check_text(text, line),
            Err(_) => LineCheck::Fail(Failure::InvalidUtf8 { line }),
        }
    }

    /// Checks one physical line already known to be UTF-8.
    fn check_text(&mut self, text: &str, line: u64) -> LineCheck {
        match self.check_inner(text, line) {
            Ok(c) => c,
            Err(f) => LineCheck::Fail(f),
        }
    }

    fn check_inner(&mut self, text: &str, line: u64) -> Result<LineCheck, Failure> {
        let text = py_strip(text);
        if text.is_empty() {
            return Ok(LineCheck::Blank);
        }
        // The ordinary line, in one pass. Everything else (and a non-ASCII `sig` to check,
        // which is a `corrupt` verdict with its line number) takes the general path below.
        if let Some(entry) = line::canonical_entry(text, &mut self.scratch)
            && (self.key.is_none() || entry.sig.is_none_or(str::is_ascii))
        {
            return Ok(LineCheck::Entry(self.check_ordinary(&entry)));
        }
        let corrupt = |reason: String| Failure::Corrupt { line, reason };
        let row = self.tape.parse(text).map_err(|e| corrupt(e.to_string()))?;
        if row.is_array() {
            return Err(corrupt("a JSON array, not an object".to_owned()));
        }
        if !row.is_object() {
            return Err(corrupt("not a JSON object".to_owned()));
        }
        // One pass over the top-level members; the last duplicate wins, as in Python.
        let mut f: [Option<Node<'_>>; 9] = [None; 9];
        const NAMES: [&str; 9] = [
            "seq",
            "ts",
            "type",
            "payload",
            "prev_hash",
            "hash",
            "sig",
            "_meta",
            "controls",
        ];
        for (k, v) in row.members() {
            let i = match k.decode().as_ref() {
                "seq" => 0,
                "ts" => 1,
                "type" => 2,
                "payload" => 3,
                "prev_hash" => 4,
                "hash" => 5,
                "sig" => 6,
                "_meta" => 7,
                "controls" => 8,
                _ => continue,
            };
            f[i] = Some(v);
        }
        if let Some(meta) = f[7] {
            // The reference treats a header that is not an object as an empty one.
            return Ok(LineCheck::Meta(match meta.to_value() {
                Value::Object(m) => m,
                _ => Map::new(),
            }));
        }
        let field = |i: usize| f[i].ok_or_else(|| corrupt(format!("missing '{}'", NAMES[i])));
        let (seq, ts, kind, payload) = (field(0)?, field(1)?, field(2)?, field(3)?);
        let prev_hash = field(4)?;
        // JSON `-0` is the integer 0, as in Python.
        let seq_val = match seq
            .int_text()
            .map(|t| if t == "-0" { "0" } else { t })
            .and_then(|t| t.parse().ok())
        {
            Some(n) => Seq::Index(n),
            None => Seq::Other(seq.py_str()),
        };
        let prev_hash = prev_hash
            .as_str()
            .and_then(|p| <Hex64>::try_from(p.as_bytes()).ok());
        let Some(prev) = prev_hash else {
            // Cannot match any head: a broken link, whatever follows.
            return Ok(LineCheck::Entry(EntryCheck {
                prev_hash: None,
                hash: [0; 64],
                seq: seq_val,
                unsigned: true,
                after_link: None,
                pack: None,
            }));
        };
        self.body.clear();
        hash::write_body_node(&mut self.body, seq, ts, kind, payload);
        let hash = hash::link_hash_hex(&prev, self.body.as_bytes());
        let sig = f[6].map(|s| s.as_str());
        let unsigned = match &sig {
            None => true,
            Some(Some(s)) => s.is_empty(),
            Some(None) => false,
        };
        let after_link = (|| {
            let stored = field(5)?;
            if stored.as_str().is_none_or(|h| h.as_bytes() != hash) {
                return Err(Failure::HashMismatch {
                    seq: seq_val.text(),
                });
            }
            let sig = match sig {
                None => std::borrow::Cow::Borrowed(""),
                Some(Some(s)) => s,
                Some(None) => return Err(corrupt("'sig' is not a string".to_owned())),
            };
            if let Some(key) = &self.key {
                if !sig.is_ascii() {
                    return Err(corrupt("'sig' is not ASCII".to_owned()));
                }
                if !key.verify(&hash, &sig) {
                    return Err(Failure::BadSignature {
                        seq: seq_val.text(),
                    });
                }
            }
            Ok(())
        })()
        .err();
        let pack = f[8].map(|controls| {
            Box::new(PackRow {
                kind: kind.as_str().map(|k| k.into_owned()).unwrap_or_default(),
                payload: match payload.to_value() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                controls: controls.to_value(),
            })
        });
        Ok(LineCheck::Entry(EntryCheck {
            prev_hash: Some(prev),
            hash,
            seq: seq_val,
            unsigned,
            after_link,
            pack,
        }))
    }
}

impl Analyzer {
    /// The checks of [`Analyzer::check`] for a line the fused scanner handled: its body is in
    /// `self.scratch`, its link fields are plain strings (an ASCII `sig` when a key is checked),
    /// its `seq` a non-negative integer. Same findings, same order, as the general path.
    fn check_ordinary(&self, e: &line::EntryLine<'_>) -> EntryCheck {
        let seq = Seq::Index(e.seq);
        let Ok(prev) = <Hex64>::try_from(e.prev_hash.as_bytes()) else {
            return EntryCheck {
                prev_hash: None,
                hash: [0; 64],
                seq,
                unsigned: true,
                after_link: None,
                pack: None,
            };
        };
        let hash = hash::link_hash_hex_parts(&prev, &self.scratch.body_parts());
        let sig = e.sig.unwrap_or("");
        let after_link = if e.hash.as_bytes() != hash {
            Some(Failure::HashMismatch { seq: seq.text() })
        } else {
            match &self.key {
                Some(key) if !key.verify(&hash, sig) => {
                    Some(Failure::BadSignature { seq: seq.text() })
                }
                _ => None,
            }
        };
        EntryCheck {
            prev_hash: Some(prev),
            hash,
            seq,
            unsigned: sig.is_empty(),
            after_link,
            pack: None,
        }
    }
}

/// The chain walk: the running head, counts and what was seen. Strictly sequential.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    prev: Hex64,
    seen: u64,
    meta: Option<Map>,
    /// `seq` of the last entry when it is a non-negative integer.
    pub(crate) last_seq: Option<u64>,
    /// Whether any entry carried a non-empty `sig`.
    pub(crate) saw_signed: bool,
    /// Whether the entry just applied had an empty or missing `sig`.
    pub(crate) last_unsigned: bool,
    /// What the entries of an evidence pack say, to check its header against.
    pack: PackState,
    /// A signed checkpoint's entry count, and the head the chain had at that count.
    watch: Option<u64>,
    watched: Option<Hex64>,
}

/// Gathered from the entries that carry `controls`, in chain order.
#[derive(Debug, Clone, Default)]
struct PackState {
    rows: u64,
    digest: ControlsDigest,
    tally: Tally,
    /// Per framework (in [`Framework::ALL`] order): the controls the entries are evidence
    /// for, and the first entry whose `controls` are not its mapping.
    covered: [BTreeSet<&'static str>; 4],
    mismatch: [Option<String>; 4],
}

impl PackState {
    fn add(&mut self, seq: &Seq, row: &PackRow) {
        self.rows += 1;
        self.digest.add(&row.controls);
        self.tally.add(&row.kind, &row.payload);
        for (i, fw) in Framework::ALL.into_iter().enumerate() {
            let want = fw.controls_for(&row.kind, &row.payload);
            let same = matches!(&row.controls, Value::Array(items)
                if items.len() == want.len()
                    && items.iter().zip(&want).all(|(a, b)| a.as_str() == Some(*b)));
            if !same && self.mismatch[i].is_none() {
                self.mismatch[i] = Some(seq.text());
            }
            self.covered[i].extend(want);
        }
    }
}

impl Chain {
    fn new() -> Self {
        let mut prev = [0; 64];
        prev.copy_from_slice(GENESIS.as_bytes());
        Self {
            prev,
            seen: 0,
            meta: None,
            last_seq: None,
            saw_signed: false,
            last_unsigned: false,
            pack: PackState::default(),
            watch: None,
            watched: None,
        }
    }

    /// Checks a line's findings against the running head and advances it.
    pub(crate) fn apply(&mut self, check: LineCheck) -> Result<Seen, Failure> {
        let e = match check {
            LineCheck::Blank => return Ok(Seen::Blank),
            LineCheck::Meta(m) => {
                self.meta = Some(m);
                return Ok(Seen::Meta);
            }
            LineCheck::Fail(f) => return Err(f),
            LineCheck::Entry(e) => e,
        };
        if e.prev_hash != Some(self.prev) {
            return Err(Failure::BrokenLink { seq: e.seq.text() });
        }
        self.last_unsigned = e.unsigned;
        self.saw_signed |= !e.unsigned;
        if let Some(f) = e.after_link {
            return Err(f);
        }
        self.last_seq = match e.seq {
            Seq::Index(n) => Some(n),
            Seq::Other(_) => None,
        };
        if let Some(row) = &e.pack {
            self.pack.add(&e.seq, row);
        }
        self.prev = e.hash;
        self.seen += 1;
        if self.watch == Some(self.seen) {
            self.watched = Some(self.prev);
        }
        Ok(Seen::Entry)
    }

    fn head(&self) -> &str {
        // Always ASCII hex: GENESIS or a computed digest.
        std::str::from_utf8(&self.prev).unwrap_or(GENESIS)
    }
}

/// Line-at-a-time verification on the calling thread; the writer's resume path uses it.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    analyzer: Analyzer,
    pub(crate) chain: Chain,
}

impl Verifier {
    pub(crate) fn new(key: Option<SigningKey>) -> Self {
        Self {
            analyzer: Analyzer::new(key),
            chain: Chain::new(),
        }
    }

    pub(crate) fn entries(&self) -> u64 {
        self.chain.seen
    }

    pub(crate) fn head(&self) -> &str {
        self.chain.head()
    }

    pub(crate) fn has_meta(&self) -> bool {
        self.chain.meta.is_some()
    }

    /// Whether every entry so far carries `controls`: an evidence pack without its header.
    pub(crate) fn is_stripped_pack(&self) -> bool {
        self.chain.pack.rows > 0 && self.chain.pack.rows == self.chain.seen
    }

    /// Checks one physical line (without its line break).
    pub(crate) fn feed(&mut self, raw: &[u8], line: u64) -> Result<Seen, Failure> {
        let check = self.analyzer.check(raw, line);
        self.chain.apply(check)
    }

    /// The completeness checks after the last line, then the report.
    pub(crate) fn finish_with(
        self,
        label: &str,
        opts: &VerifyOptions,
        failure: Option<Failure>,
    ) -> Report {
        let mut report = Report {
            label: label.to_owned(),
            entries: self.chain.seen,
            head: self.chain.head().to_owned(),
            failure,
            signatures_checked: false,
            meta_present: self.chain.meta.is_some(),
            meta_trusted: false,
            out_of_band: opts.expected_head.is_some() || opts.expected_entries.is_some(),
        };
        if report.failure.is_none() {
            report.failure = completeness(&mut report, self.chain.meta.as_ref(), opts);
        }
        if report.failure.is_none() {
            report.failure = pack_checks(&report, &self.chain, opts);
        }
        if report.failure.is_none()
            && let Some(claim) = &opts.checkpoint
        {
            let at = match claim.entries {
                0 => Some(GENESIS),
                _ => self
                    .chain
                    .watched
                    .as_ref()
                    .and_then(|h| std::str::from_utf8(h).ok()),
            };
            report.failure = if !claim.signature_ok {
                Some(Failure::CheckpointForged)
            } else if at != Some(claim.head.as_str()) {
                Some(Failure::CheckpointMismatch {
                    signed: claim.entries,
                })
            } else {
                None
            };
        }
        if report.failure.is_none() {
            report.signatures_checked = opts.key.is_some();
        }
        report
    }
}

fn completeness(report: &mut Report, meta: Option<&Map>, opts: &VerifyOptions) -> Option<Failure> {
    // With a key, the header's completeness claim must itself be authenticated.
    if let (Some(key), Some(meta)) = (&opts.key, meta) {
        let sig = meta.get("sig");
        let falsy = match sig {
            None | Some(Value::Null | Value::Bool(false)) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Int(i)) => i.as_i64() == Some(0),
            Some(Value::Float(f)) => *f == 0.0,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(Value::Bool(true)) => false,
        };
        if falsy {
            return Some(Failure::MetaUnauthenticated);
        }
        let ok = match sig {
            Some(Value::String(s)) => key.verify(meta_signed_body(meta).as_bytes(), s),
            _ => false,
        };
        if !ok {
            return Some(Failure::MetaForged);
        }
        report.meta_trusted = true;
    }
    let meta_head = meta
        .and_then(|m| m.get("head_hash"))
        .filter(|v| !v.is_null());
    let want_head = match (&opts.expected_head, meta_head) {
        (Some(h), _) => Some(h.clone()),
        (None, Some(Value::String(h))) => Some(h.clone()),
        (None, Some(other)) => Some(py_str_value(other)),
        (None, None) => None,
    };
    let head_matches = match (&opts.expected_head, meta_head) {
        (Some(h), _) => *h == report.head,
        (None, Some(Value::String(h))) => *h == report.head,
        (None, Some(_)) => false,
        (None, None) => true,
    };
    if !head_matches {
        return Some(Failure::IncompleteHead {
            expected: want_head.unwrap_or_default(),
        });
    }
    let meta_n = meta.and_then(|m| m.get("entries")).filter(|v| !v.is_null());
    let seen = report.entries;
    let (count_matches, shown) = match (opts.expected_entries, meta_n) {
        (Some(n), _) => (n == seen, n.to_string()),
        (None, Some(v)) => {
            // Python's `seen != want_n`: ints exactly, floats and bools by numeric value.
            let equal = match v {
                Value::Int(i) => i.to_string() == seen.to_string(),
                Value::Float(f) => *f == seen as f64,
                Value::Bool(b) => u64::from(*b) == seen,
                _ => false,
            };
            (equal, py_str_value(v))
        }
        (None, None) => (true, String::new()),
    };
    if !count_matches {
        return Some(Failure::IncompleteCount { expected: shown });
    }
    None
}

/// Our checks of an evidence pack's header against its entries, after the reference's: a pack
/// keeps its header, the header's own signature holds, and what the header says about the
/// entries (controls digest, each entry's controls, controls covered, summary) is what they
/// give.
fn pack_checks(report: &Report, chain: &Chain, opts: &VerifyOptions) -> Option<Failure> {
    let pack = &chain.pack;
    let Some(meta) = &chain.meta else {
        // Every entry annotated, no header: a pack whose header was deleted. (One line with a
        // stray unhashed `controls` is just an extra field, as the reference treats it.)
        let stripped = pack.rows > 0 && pack.rows == chain.seen;
        return stripped.then_some(Failure::PackWithoutHeader);
    };
    let mismatch = |what: &str| {
        Some(Failure::PackMismatch {
            what: what.to_owned(),
        })
    };
    if let Some(key) = &opts.key {
        match meta.get("header_sig") {
            Some(sig) => {
                let body = pack::header_signed_body(meta);
                if !sig.as_str().is_some_and(|s| key.verify(body.as_bytes(), s)) {
                    return Some(Failure::MetaForged);
                }
            }
            // Our packs carry both; a digest without its signature is a stripped header_sig
            // (a downgrade to the reference's four-field signature).
            None if meta.contains_key("controls_digest") => return Some(Failure::MetaForged),
            None => {}
        }
    }
    if let Some(d) = meta.get("controls_digest")
        && d.as_str() != Some(pack.digest.hex().as_str())
    {
        return mismatch("controls_digest");
    }
    let framework = meta
        .get("framework")
        .and_then(Value::as_str)
        .and_then(|f| f.parse::<Framework>().ok());
    let fw = framework?;
    let i = Framework::ALL.iter().position(|f| *f == fw).unwrap_or(0);
    if pack.rows != report.entries {
        return mismatch("entries without controls");
    }
    if let Some(seq) = &pack.mismatch[i] {
        return mismatch(&format!("controls of seq {seq}"));
    }
    let covered = Value::Array(pack.covered[i].iter().map(|c| Value::from(*c)).collect());
    if meta.get("controls_covered") != Some(&covered) {
        return mismatch("controls_covered");
    }
    if let Some(summary) = meta.get("summary")
        && *summary != Value::Object(pack.tally.summary())
    {
        return mismatch("summary");
    }
    None
}

/// The body the reference's header signature covers:
/// `canonical({system, risk_tier, head_hash, entries})`, absent fields as `null`.
pub(crate) fn meta_signed_body(meta: &Map) -> String {
    let mut body = Map::new();
    for k in ["system", "risk_tier", "head_hash", "entries"] {
        body.insert(k, meta.get(k).cloned().unwrap_or(Value::Null));
    }
    let mut out = String::new();
    canonical::write_map(&mut out, &body, canonical::Style::Canonical);
    out
}

fn py_str_value(v: &Value) -> String {
    let text = v.to_line_json();
    let mut tape = Tape::default();
    match tape.parse(&text) {
        Ok(node) => node.py_str(),
        Err(_) => text,
    }
}

/// Python's `str.strip()`: Unicode white space plus the separators U+001C to U+001F.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

pub(crate) enum LineError {
    TooLong,
    Io(io::Error),
}

/// Splits a byte stream into physical lines the way Python's universal newlines do (`\n`,
/// `\r\n` and `\r` all end a line), tracking byte offsets, with a cap on a line's length.
pub(crate) struct Lines<R> {
    reader: R,
    cap: usize,
    /// Offset just past the last segment returned (its line break included).
    end: u64,
    /// Offset where the last segment returned starts.
    start: u64,
    line_no: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R, cap: usize) -> Self {
        Self {
            reader,
            cap,
            end: 0,
            start: 0,
            line_no: 0,
        }
    }

    /// Appends the next segment (without its line break) to `out`; `Some(true)` if it ended
    /// with a line break, `Some(false)` if the input ended first, `None` at the end.
    pub(crate) fn next_segment(&mut self, out: &mut Vec<u8>) -> Result<Option<bool>, LineError> {
        self.start = self.end;
        self.line_no += 1;
        let mut len = 0;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LineError::Io(e)),
            };
            if avail.is_empty() {
                return Ok((len > 0).then_some(false));
            }
            let found = memchr::memchr2(b'\n', b'\r', avail);
            let take = found.unwrap_or(avail.len());
            if len + take > self.cap {
                return Err(LineError::TooLong);
            }
            out.extend_from_slice(&avail[..take]);
            len += take;
            match found {
                None => {
                    self.reader.consume(take);
                    self.end += take as u64;
                }
                Some(i) => {
                    let cr = avail[i] == b'\r';
                    self.reader.consume(i + 1);
                    self.end += i as u64 + 1;
                    if cr {
                        self.swallow_lf().map_err(LineError::Io)?;
                    }
                    return Ok(Some(true));
                }
            }
        }
    }

    fn swallow_lf(&mut self) -> io::Result<()> {
        loop {
            match self.reader.fill_buf() {
                Ok(next) => {
                    if next.first() == Some(&b'\n') {
                        self.reader.consume(1);
                        self.end += 1;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of 16 MiB is searched for its end about once, not once per chunk read (which made
    /// a 256 MiB line take 12 s), and is handed on whole.
    #[test]
    fn a_long_line_is_searched_once() {
        let mut input = vec![b'x'; 16 << 20];
        input.extend_from_slice(b"\r\nnext\n");
        let mut blocks = Blocks::new(&input[..], 64 << 20);
        let first = blocks.next(None);
        assert_eq!(first.data(), &input[..]);
        assert!(
            blocks.searched < 2 * input.len() as u64,
            "searched {} bytes for {}",
            blocks.searched,
            input.len()
        );
    }

    fn segments(input: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut lines = Lines::new(input, 1024);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Ok(Some(t)) = lines.next_segment(&mut buf) {
            out.push((std::mem::take(&mut buf), t));
        }
        out
    }

    #[test]
    fn universal_newlines() {
        assert_eq!(
            segments(b"a\nb\r\nc\rd"),
            vec![
                (b"a".to_vec(), true),
                (b"b".to_vec(), true),
                (b"c".to_vec(), true),
                (b"d".to_vec(), false)
            ]
        );
        assert!(segments(b"").is_empty());
        assert_eq!(segments(b"\n"), vec![(Vec::new(), true)]);
    }

    #[test]
    fn block_cut_points() {
        assert_eq!(cut_point(b"a\nb", true), Some(2));
        assert_eq!(cut_point(b"a\r\nb", true), Some(3));
        assert_eq!(
            cut_point(b"a\nb\r", true),
            Some(2),
            "a final \\r may be half of \\r\\n"
        );
        assert_eq!(cut_point(b"a\nb\r", false), Some(4));
        assert_eq!(cut_point(b"a\rb", true), Some(2));
        assert_eq!(cut_point(b"abc", true), None);
    }

    /// Many blocks of CRLF lines with a bad line far in: the verdict names the right line.
    #[test]
    fn line_numbers_survive_block_boundaries() {
        let good = "   \r\n".repeat(200_000); // blank lines: 1 MiB+, several blocks
        for bad_at in [1usize, 87_382, 200_001] {
            let mut text = String::new();
            for i in 1..=200_001 {
                text.push_str(if i == bad_at { "{oops}\r\n" } else { "   \r\n" });
            }
            let r = verify_reader(text.as_bytes(), "x", &VerifyOptions::new());
            let Some(Failure::Corrupt { line, .. }) = r.failure() else {
                panic!("{r}")
            };
            assert_eq!(*line, bad_at as u64);
        }
        assert!(verify_reader(good.as_bytes(), "x", &VerifyOptions::new()).is_ok());
    }

    #[test]
    fn a_line_longer_than_the_cap_across_blocks() {
        let mut text = "\n".repeat(10);
        text.push_str(&"x".repeat(3 << 20));
        let r = verify_reader(
            text.as_bytes(),
            "x",
            &VerifyOptions::new().max_line_bytes(1 << 20),
        );
        assert_eq!(
            r.failure(),
            Some(&Failure::Corrupt {
                line: 11,
                reason: "line longer than 1048576 bytes".to_owned()
            })
        );
    }

    #[test]
    fn line_cap() {
        let mut lines = Lines::new(&b"0123456789\n"[..], 5);
        assert!(matches!(
            lines.next_segment(&mut Vec::new()),
            Err(LineError::TooLong)
        ));
    }

    #[test]
    fn python_strip_set() {
        assert_eq!(
            py_strip("\u{1c}\u{1f}\u{a0}\u{3000} x \u{2028}\u{85}\u{b}"),
            "x"
        );
        assert_eq!(py_strip("\u{feff}x"), "\u{feff}x");
    }
}

//! The shared log handle and its single writer.
//!
//! [`AuditLog`] is a cheap, cloneable, `Send + Sync` handle. Behind it one writer thread owns
//! the file, the running head and the signing key, and is the only place that assigns `seq`,
//! `ts` and `prev_hash`, so the chain is totally ordered with no lock shared between callers.
//! Appends travel over a bounded channel (callers wait for room: backpressure) and are written
//! by group commit: the writer takes everything queued, writes it in one go, syncs once per
//! batch, checks that the file at the path is still the one it wrote to, then acknowledges
//! each entry. A failed write acknowledges nothing, cuts the file back to its last good length,
//! and leaves the head where it was.
//!
//! Nothing is lost silently. While the log cannot take writes (a failed write or sync, a file
//! made read-only or immutable, a vanished medium, the file replaced or deleted under the
//! writer) the log reports [`Health`] as failing, refuses appends someone waits on with an
//! error, counts by type every entry nobody waits on, and reports each loss through `tracing`
//! at error level. It retries by itself (reopening and re-checking the file when the failure
//! left it in doubt) and, once writes succeed again, first writes a `write_failure` entry
//! recording when the failure began and ended, what was lost and the error.
//!
//! The writer is an OS thread rather than a task so that `fdatasync` never blocks an async
//! runtime's worker, and so the log also works from code with no runtime at all.

use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::chain::entry::{Entry, Receipt};
use crate::chain::hash::{self, SigningKey};
use crate::chain::time::{Clock, Stamper, SystemClock};
use crate::json::canonical;
use crate::json::value::Map;
use crate::redact::RedactionPolicy;
use crate::store::error::Error;
use crate::store::file::{self, FileId, OnCorrupt, Recovery};
use crate::store::outage::{self, Health, HealthCell, Outage, Reopen};

/// When an append counts as done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Acknowledged once the entry has its place in the chain, before it is written. Fastest;
    /// a crash can lose acknowledged entries, and a failed write is recorded afterwards as a
    /// `gap` entry rather than reported to the caller.
    None,
    /// Acknowledged once written to the operating system: survives the process crashing, not
    /// the machine losing power.
    Flush,
    /// Acknowledged once written and `fdatasync`ed: survives power loss. One sync covers a
    /// whole batch. The default.
    #[default]
    Fsync,
}

/// The chain's current head: what an auditor needs to check completeness later
/// (`acttrace verify --expect-head HASH --expect-entries N`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Head {
    /// Entries in the chain.
    pub entries: u64,
    /// The last entry's hash.
    pub hash: String,
}

/// The chain as it stands on disk after a sync: its head and the file's length.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) head: Head,
    pub(crate) len: u64,
}

/// Builds an [`AuditLog`]. See [`AuditLog::builder`].
#[must_use = "a builder does nothing until `open` is called"]
pub struct AuditLogBuilder {
    system: String,
    risk_tier: String,
    key: Option<SigningKey>,
    durability: Durability,
    capacity: usize,
    max_batch: usize,
    on_corrupt: OnCorrupt,
    clock: Box<dyn Clock>,
    commit_delay: std::time::Duration,
    lock_wait: std::time::Duration,
    redaction: Option<RedactionPolicy>,
    retry_interval: Duration,
    file_mode: u32,
}

impl fmt::Debug for AuditLogBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLogBuilder")
            .field("system", &self.system)
            .field("risk_tier", &self.risk_tier)
            .field("key", &self.key)
            .field("durability", &self.durability)
            .field("capacity", &self.capacity)
            .field("max_batch", &self.max_batch)
            .field("on_corrupt", &self.on_corrupt)
            .field("commit_delay", &self.commit_delay)
            .field("lock_wait", &self.lock_wait)
            .field("redaction", &self.redaction)
            .field("retry_interval", &self.retry_interval)
            .field("file_mode", &format_args!("{:o}", self.file_mode))
            .finish_non_exhaustive()
    }
}

impl AuditLogBuilder {
    /// The risk tier recorded when a new chain opens (e.g. `minimal`, `limited`, `high`).
    /// Defaults to `limited`.
    pub fn risk_tier(mut self, tier: impl Into<String>) -> Self {
        self.risk_tier = tier.into();
        self
    }

    /// Sign every entry with HMAC-SHA256 under `key`. A signed log must be reopened with the
    /// same key. Defaults to unsigned.
    pub fn signing_key(mut self, key: impl Into<SigningKey>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// When an append is acknowledged. Defaults to [`Durability::Fsync`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How many entries may wait for the writer before appends wait for room. Defaults to
    /// 4096.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The most entries written and synced as one batch. Defaults to 4096.
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// What to do when the existing file does not verify. Defaults to [`OnCorrupt::Refuse`].
    pub fn on_corrupt(mut self, on_corrupt: OnCorrupt) -> Self {
        self.on_corrupt = on_corrupt;
        self
    }

    /// How long the writer may wait, after a batch nobody is waiting on, for more entries to
    /// share the next write and sync.
    ///
    /// Entries queued without waiting ([`AuditLog::enqueue`], [`AuditLog::try_record`], which
    /// the inbound layer and the outbound middleware use for every request) then reach the disk
    /// within this delay in larger batches. Under load that saves a wake-up, a write and an
    /// `fdatasync` per entry; the sync is what costs most, since each one also wakes the file
    /// system's journal and the disk's interrupts, which take the CPU from the service. A caller
    /// waiting in [`AuditLog::append`], [`AuditLog::sync`] or [`AuditLog::shutdown`] (a guard's
    /// block, [`Decision::record`](crate::decision::Decision::record)) cuts the delay short, so
    /// it adds no latency to them.
    ///
    /// Queuing such an entry never wakes the writer either: an idle writer looks for work once
    /// per delay (50 times a second at the default, a few microseconds of CPU each), so that
    /// the wake-up, a system call, is not made on every request's path.
    ///
    /// The delay bounds how long such an entry can sit in memory before it is on disk: a crash
    /// of the process or the machine loses at most that much of them (entries someone waited
    /// on are never among them). Under load it also sets how many syncs a second the log makes,
    /// and so what durability costs the service.
    ///
    /// Defaults to 20 ms, about 50 syncs a second under load. On the benchmark machine (see
    /// `BENCHMARKS.md`) each sync cost a few hundred microseconds of CPU, and 5 ms cost an
    /// axum app about 3 points more of its throughput than 20 ms; beyond 20 ms little more was
    /// gained. For comparison, PostgreSQL's asynchronous commit leaves up to three times its
    /// 200 ms `wal_writer_delay` unsynced. `Duration::ZERO` writes every batch at once, and
    /// then an entry queued while the writer is idle wakes it.
    pub fn commit_delay(mut self, delay: std::time::Duration) -> Self {
        self.commit_delay = delay;
        self
    }

    /// The redaction policy applied to every entry before it is hashed (see
    /// [`redact`](crate::redact::policy)); `None` writes entries exactly as given. Defaults to
    /// [`RedactionPolicy::default_preset`]: secrets, credentials and e-mail addresses become
    /// `<redacted>`, other personal data is flagged, and each entry where something fired is
    /// followed by a `policy_flag` naming the categories.
    pub fn redaction(mut self, policy: Option<RedactionPolicy>) -> Self {
        self.redaction = policy;
        self
    }

    /// How long opening waits for the file's lock before reporting [`Error::Locked`].
    ///
    /// The lock belongs to the open file, which a `fork` shares: a lock released a moment ago
    /// (a restart) may still be held for an instant by a child process this one was spawning.
    /// Defaults to 250 ms.
    pub fn lock_wait(mut self, wait: std::time::Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// How often a writer that cannot write tries again on its own, when nothing else makes it
    /// try: reopening and re-checking the file when the failure left it in doubt, then writing
    /// the `write_failure` entry that records the loss. Defaults to 1 s.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The permissions a new log file is created with (before the process's umask). Defaults
    /// to `0o600`, readable and writable by the service's user alone: an audit log holds what
    /// the service decided about people. An existing file keeps its own.
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.file_mode = mode;
        self
    }

    /// Where entry timestamps come from. Defaults to [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Opens the log at `path`, creating it (and its directory) if needed, and starts the
    /// writer.
    ///
    /// A new or empty file gets an `audit_open` entry. An existing file is locked, re-walked
    /// and checked, and the chain continues from its last entry; a torn last line (a crash
    /// mid-write) is cut off and the cut recorded as a `recovery` entry.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] if another writer has the file, [`Error::Corrupt`] if the chain does
    /// not verify (unless [`OnCorrupt::StartNewChain`]), [`Error::KeyRequired`],
    /// [`Error::WrongKey`] or [`Error::UnexpectedKey`] if the key does not fit the file,
    /// [`Error::NotALog`] for an evidence pack, [`Error::Open`] for I/O errors.
    pub async fn open(self, path: impl AsRef<Path>) -> Result<AuditLog, Error> {
        let path = path.as_ref().to_owned();
        let (ready_tx, ready_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(self.capacity);
        let thread_path = path.clone();
        let spawned = std::thread::Builder::new()
            .name("acttrace-writer".to_owned())
            .spawn(move || {
                let result = Writer::open(self, &thread_path);
                match result {
                    Ok((writer, shared)) => {
                        let _ = shared.writer.set(std::thread::current());
                        if ready_tx.send(Ok(shared)).is_ok() {
                            writer.run(rx);
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        if let Err(e) = spawned {
            return Err(Error::open(&path, e));
        }
        let shared = ready_rx.await.map_err(|_| Error::WriterClosed)??;
        Ok(AuditLog {
            handle: Arc::new(Handle { tx, shared }),
        })
    }
}

struct Shared {
    /// The writer thread, woken early from a commit delay by callers who wait.
    writer: std::sync::OnceLock<std::thread::Thread>,
    path: PathBuf,
    durability: Durability,
    dropped: AtomicU64,
    head: watch::Receiver<Head>,
    recovery: Option<Recovery>,
    /// What an export's header names, and the key it signs with.
    system: String,
    risk_tier: String,
    key: Option<SigningKey>,
    redaction: Option<RedactionPolicy>,
    buffers: Buffers,
    health: HealthCell,
}

/// Layout buffers the writer hands back for callers to lay their next entries out in.
///
/// Entries are laid out in the caller's task and written by the writer thread. Were the writer
/// to free what callers allocated, every entry would be allocated on one thread and freed on
/// another, the pattern glibc's allocator handles worst: the free takes the other thread's
/// arena lock, and under load the two threads then wake each other through `futex` (measured:
/// nine in ten of the audited service's `futex` calls; see `BENCHMARKS.md`). Handing the
/// buffers back keeps both sides on their fast paths.
#[derive(Default)]
struct Buffers {
    free: std::sync::Mutex<Vec<String>>,
}

impl Buffers {
    /// How many idle buffers are kept, and the largest one kept (an unusually large entry's
    /// buffer is let go rather than held for the life of the log).
    const KEEP: usize = 1024;
    const KEEP_CAPACITY: usize = 16 * 1024;

    fn take(&self) -> String {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| String::with_capacity(512))
    }

    /// Keeps the buffers in `spent` for reuse, as many as there is room for, and leaves
    /// `spent` empty.
    fn give_back(&self, spent: &mut Vec<String>) {
        if let Ok(mut free) = self.free.lock() {
            let room = Self::KEEP.saturating_sub(free.len());
            free.extend(
                spent
                    .drain(..)
                    .filter(|b| b.capacity() <= Self::KEEP_CAPACITY)
                    .take(room)
                    .map(|mut b| {
                        b.clear();
                        b
                    }),
            );
        }
        spent.clear();
    }
}

/// A handle to an audit log: cheap to clone, `Send + Sync`, shared by every part of a service.
///
/// ```
/// use acttrace::chain::{DecisionId, Entry};
/// use acttrace::json::Map;
/// use acttrace::store::AuditLog;
/// use acttrace::verify::{verify_path, VerifyOptions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("acttrace-doc-{}", std::process::id()));
/// # let path = dir.join("audit.jsonl");
/// let log = AuditLog::builder("loan-approval").risk_tier("high").open(&path).await?;
///
/// let id = DecisionId::random();
/// log.append(Entry::decision(&id, "application A-17", "scoring-agent")).await?;
/// let mut outcome = Map::new();
/// outcome.insert("outcome", "approved");
/// log.append(Entry::decision_record(&id, outcome)).await?;
/// log.append(Entry::decision_end(&id, Map::new())).await?;
///
/// let head = log.head();
/// log.shutdown().await?;
///
/// let report = verify_path(&path, &VerifyOptions::new().expected_head(head.hash));
/// assert!(report.is_ok(), "{report}");
/// assert_eq!(report.entries(), 4); // audit_open + 3
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuditLog {
    // One reference count for a handle, however many parts it has: cloning and dropping
    // handles is done per request by the layers, on lines every core touches.
    handle: Arc<Handle>,
}

struct Handle {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

impl Drop for Handle {
    /// When the last handle goes without a [`shutdown`](AuditLog::shutdown), wakes the writer
    /// so that it writes what is queued and stops at once, not a commit delay later: the
    /// process may be about to exit.
    fn drop(&mut self) {
        // The writer sees the queue closed only once this sender is gone.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        self.wake_writer();
    }
}

impl Handle {
    /// Cuts the writer's commit delay short: someone is waiting, or the log is closing.
    fn wake_writer(&self) {
        if let Some(t) = self.shared.writer.get() {
            t.unpark();
        }
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.handle.shared.path)
            .field("durability", &self.handle.shared.durability)
            .field("head", &*self.handle.shared.head.borrow())
            .finish_non_exhaustive()
    }
}

/// An entry laid out for its place in the chain: its type and its payload already written in
/// both forms (hashed and on-disk), in one buffer, so that stamping, linking and hashing it is
/// all that is left. Made in the caller's task (`append`, `enqueue`, `try_record`), in a
/// buffer from [`Buffers`]; by the writer for the entries it builds itself.
struct Rendered {
    /// The type as a JSON string, then the canonical payload, then the on-disk payload.
    text: String,
    kind_end: usize,
    canonical_end: usize,
}

impl Rendered {
    fn of(entry: &Entry) -> Self {
        Self::in_buffer(entry, String::with_capacity(512))
    }

    /// Lays `entry` out in `text`, an empty buffer to reuse.
    fn in_buffer(entry: &Entry, mut text: String) -> Self {
        canonical::write_str(&mut text, entry.kind());
        let kind_end = text.len();
        let canonical_end = canonical::write_map_both(&mut text, entry.payload());
        Self {
            text,
            kind_end,
            canonical_end,
        }
    }

    fn kind(&self) -> &str {
        &self.text[..self.kind_end]
    }

    fn canonical(&self) -> &str {
        &self.text[self.kind_end..self.canonical_end]
    }

    fn line(&self) -> &str {
        &self.text[self.canonical_end..]
    }
}

enum Command {
    Append {
        entry: Rendered,
        /// The `policy_flag`s the redaction policy puts right after it.
        flags: Vec<Rendered>,
        reply: Option<oneshot::Sender<Result<Receipt, Error>>>,
    },
    /// An entry the writer builds, redacts and lays out itself (`try_record_with`), for work
    /// that must not delay its caller at all.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    Build(Box<dyn FnOnce() -> Entry + Send>),
    Sync(oneshot::Sender<Result<Snapshot, Error>>),
    Shutdown(oneshot::Sender<Result<(), Error>>),
}

/// Applies the redaction policy to `entry` and lays it out in `buffer` (its flags, which are
/// rare, in buffers of their own) for the writer.
fn prepare(
    policy: Option<&RedactionPolicy>,
    mut entry: Entry,
    buffer: String,
) -> (Rendered, Vec<Rendered>) {
    let flags = match policy {
        Some(policy) => policy.apply(&mut entry),
        None => Vec::new(),
    };
    (
        Rendered::in_buffer(&entry, buffer),
        flags.iter().map(Rendered::of).collect(),
    )
}

impl AuditLog {
    /// Starts building a log for `system` (recorded when a new chain opens).
    pub fn builder(system: impl Into<String>) -> AuditLogBuilder {
        AuditLogBuilder {
            system: system.into(),
            risk_tier: "limited".to_owned(),
            key: None,
            durability: Durability::default(),
            capacity: 4096,
            max_batch: 4096,
            on_corrupt: OnCorrupt::default(),
            clock: Box::new(SystemClock),
            commit_delay: std::time::Duration::from_millis(20),
            lock_wait: std::time::Duration::from_millis(250),
            redaction: Some(RedactionPolicy::default_preset()),
            retry_interval: Duration::from_secs(1),
            file_mode: 0o600,
        }
    }

    /// Opens the log at `path` for `system` with the defaults (risk tier `limited`, unsigned,
    /// [`Durability::Fsync`]).
    ///
    /// # Errors
    ///
    /// See [`AuditLogBuilder::open`].
    pub async fn open(system: impl Into<String>, path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::builder(system).open(path).await
    }

    /// Appends `entry` and waits until it is in the chain and as durable as the log's
    /// [`Durability`] says, so a caller can write first and act after.
    ///
    /// Waits for room when the writer is behind (backpressure). If the future is dropped after
    /// the entry was handed over, the entry is still written.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] if writing or syncing failed (the entry is not in the chain and the
    /// head did not move), [`Error::Unavailable`] while the log cannot take writes (see
    /// [`health`](Self::health)), or [`Error::WriterClosed`] after
    /// [`shutdown`](Self::shutdown).
    pub async fn append(&self, entry: Entry) -> Result<Receipt, Error> {
        let (reply, rx) = oneshot::channel();
        self.submit(self.append_command(entry, Some(reply))).await?;
        self.handle.wake_writer();
        rx.await.map_err(|_| Error::WriterClosed)?
    }

    /// Queues `cmd` behind everything queued before it, waiting only for room in the queue.
    ///
    /// Room is the common case: it is taken without the wait's machinery. Waiting senders are
    /// served first, so this never overtakes one. A sender that finds the queue full wakes the
    /// writer before it waits: the writer may be lingering over its commit delay, and a full
    /// queue is not worth waiting for.
    async fn submit(&self, cmd: Command) -> Result<(), Error> {
        let cmd = match self.handle.tx.try_send(cmd) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(cmd)) => cmd,
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(Error::WriterClosed),
        };
        self.handle.wake_writer();
        self.handle
            .tx
            .send(cmd)
            .await
            .map_err(|_| Error::WriterClosed)
    }

    /// The command that appends `entry`: the redaction policy is applied and the entry laid
    /// out here, in the caller's task (`append`, `enqueue`, `try_record`), so that callers do
    /// this work side by side rather than one after another in the writer.
    fn append_command(
        &self,
        entry: Entry,
        reply: Option<oneshot::Sender<Result<Receipt, Error>>>,
    ) -> Command {
        let (entry, flags) = prepare(
            self.handle.shared.redaction.as_ref(),
            entry,
            self.handle.shared.buffers.take(),
        );
        Command::Append {
            entry,
            flags,
            reply,
        }
    }

    /// Queues `entry` behind everything queued before it, waiting only for room in the queue,
    /// not for the write. Entries queued later (from any handle) land after it in the chain.
    ///
    /// For entries whose order matters but whose durability the caller does not wait on (the
    /// inbound layer's `decision` entry). Never silent: if the write later fails, a `gap` entry
    /// records the loss.
    ///
    /// # Errors
    ///
    /// [`Error::WriterClosed`] after [`shutdown`](Self::shutdown).
    pub async fn enqueue(&self, entry: Entry) -> Result<(), Error> {
        self.submit(self.append_command(entry, None)).await
    }

    /// Hands `entry` to the writer without waiting, for paths that cannot wait (`Drop`, a
    /// body's `poll_frame`). Returns `false` if it could not be queued. Like
    /// [`enqueue`](Self::enqueue), it applies the redaction policy and lays the entry out in
    /// the caller, without blocking.
    ///
    /// Never silent: an entry that could not be queued, or whose write later failed, is
    /// counted, and the writer records the count in the chain as a `gap` entry.
    pub fn try_record(&self, entry: Entry) -> bool {
        self.try_send(self.append_command(entry, None))
    }

    /// [`try_record`](Self::try_record) for an entry that `make` builds on the writer thread:
    /// for work that must not delay its caller at all (reading usage out of a response body
    /// that has just ended). `make` must not panic; if it does, the entry is counted lost and
    /// recorded as a `gap`, and the writer goes on.
    #[cfg(feature = "client")]
    pub(crate) fn try_record_with(&self, make: impl FnOnce() -> Entry + Send + 'static) -> bool {
        self.try_send(Command::Build(Box::new(make)))
    }

    fn try_send(&self, cmd: Command) -> bool {
        match self.handle.tx.try_send(cmd) {
            Ok(()) => true,
            Err(_) => {
                self.handle.shared.dropped.fetch_add(1, Ordering::Relaxed);
                // Full: have the writer drain the queue (and record the gap) now, not after
                // its commit delay, so that the entries after this one find room.
                self.handle.wake_writer();
                false
            }
        }
    }

    /// Writes and `fdatasync`s everything appended so far, whatever the [`Durability`].
    ///
    /// # Errors
    ///
    /// As for [`append`](Self::append).
    pub async fn sync(&self) -> Result<(), Error> {
        self.snapshot().await.map(|_| ())
    }

    /// Syncs everything appended so far and gives the chain as it then stands on disk.
    pub(crate) async fn snapshot(&self) -> Result<Snapshot, Error> {
        let (reply, rx) = oneshot::channel();
        self.submit(Command::Sync(reply)).await?;
        self.handle.wake_writer();
        rx.await.map_err(|_| Error::WriterClosed)?
    }

    /// Syncs everything appended so far and signs the chain's state (this log's system,
    /// entry count, head) with `key`: a checkpoint auditors verify with the public key. See
    /// [`checkpoint`](crate::chain::checkpoint).
    ///
    /// # Errors
    ///
    /// As for [`sync`](Self::sync).
    #[cfg(feature = "ed25519")]
    pub async fn checkpoint(
        &self,
        key: &crate::chain::checkpoint::CheckpointKey,
    ) -> Result<crate::chain::checkpoint::Checkpoint, Error> {
        let snap = self.snapshot().await?;
        Ok(key.sign(
            &self.handle.shared.system,
            snap.head.entries,
            &snap.head.hash,
        ))
    }

    /// What an evidence pack of this log names and signs with: its system, risk tier and key.
    pub(crate) fn pack_identity(&self) -> (&str, &str, Option<&SigningKey>) {
        let shared = &self.handle.shared;
        (&shared.system, &shared.risk_tier, shared.key.as_ref())
    }

    /// Stops the writer after everything already queued is written and synced. Appends through
    /// any clone of this handle fail with [`Error::WriterClosed`] afterwards.
    ///
    /// Dropping every handle also drains and stops the writer, but only `shutdown` lets the
    /// caller wait for it and see an error.
    ///
    /// # Errors
    ///
    /// The last write's or sync's error.
    pub async fn shutdown(self) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        if self.submit(Command::Shutdown(reply)).await.is_err() {
            return Ok(()); // already stopped
        }
        self.handle.wake_writer();
        rx.await.unwrap_or(Ok(()))
    }

    /// The chain's head as of the last completed batch: what is on disk (and, with
    /// [`Durability::Fsync`], synced).
    ///
    /// After an [`append`](Self::append) returns under [`Durability::Fsync`] or
    /// [`Durability::Flush`], the head includes that entry. Under [`Durability::None`] an
    /// append returns before its batch is written, so call [`sync`](Self::sync) first when the
    /// head must include everything appended.
    pub fn head(&self) -> Head {
        self.handle.shared.head.borrow().clone()
    }

    /// Waits until the head has moved past what this handle last saw, and returns it.
    ///
    /// # Errors
    ///
    /// [`Error::WriterClosed`] once the writer has stopped.
    pub async fn head_changed(&self) -> Result<Head, Error> {
        let mut rx = self.handle.shared.head.clone();
        rx.changed().await.map_err(|_| Error::WriterClosed)?;
        Ok(rx.borrow().clone())
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.handle.shared.path
    }

    /// The repair made when the log was opened, if any.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.handle.shared.recovery.as_ref()
    }

    /// Entries that could not be queued by [`try_record`](Self::try_record) and are not yet
    /// recorded in a `gap` entry.
    pub fn pending_gap(&self) -> u64 {
        self.handle.shared.dropped.load(Ordering::Relaxed)
    }

    /// The writer's health: whether the log takes writes, since when it does not, the last
    /// error, and how many entries were lost or refused since it was opened. Cheap enough for
    /// every readiness probe. See [`Health`].
    pub fn health(&self) -> Health {
        self.handle
            .shared
            .health
            .get(self.handle.shared.dropped.load(Ordering::Relaxed))
    }

    /// Whether the log is taking writes: one atomic load, for a layer that fails closed.
    pub fn is_healthy(&self) -> bool {
        !self.handle.shared.health.is_failing()
    }
}

/// The single owner of the file and the chain state.
struct Writer {
    file: File,
    /// The file's device and inode when opened.
    id: FileId,
    path: PathBuf,
    len: u64,
    entries: u64,
    next_seq: u64,
    head: String,
    key: Option<SigningKey>,
    durability: Durability,
    max_batch: usize,
    commit_delay: std::time::Duration,
    clock: Box<dyn Clock>,
    shared: Arc<Shared>,
    head_tx: watch::Sender<Head>,
    /// The failure in progress, if the log cannot take writes.
    outage: Option<Outage>,
    retry_interval: Duration,
    lock_wait: Duration,
    /// The batch's lines, laid out in place, written at commit.
    out: String,
    body: String,
    ts: String,
    stamper: Stamper,
    /// This batch's layout buffers, handed back to callers when it is done.
    spent: Vec<String>,
}

/// An encoded entry waiting for its batch to be written.
struct Pending {
    ack: Ack,
    stamp: Stamp,
}

/// Where an entry landed: its `seq` and its hash, kept as bytes (most entries' are never
/// asked for) and made a [`Receipt`] for a caller who waits.
struct Stamp {
    seq: u64,
    hash: [u8; 64],
    /// Where the entry's type (as a JSON string) is in the batch's output, to count a loss.
    kind: (u32, u32),
}

impl Stamp {
    /// The hash as text. Hex digits are ASCII: this never falls back.
    fn hash(&self) -> &str {
        std::str::from_utf8(&self.hash).unwrap_or_default()
    }

    fn receipt(&self) -> Receipt {
        Receipt {
            seq: self.seq,
            hash: self.hash().to_owned(),
        }
    }
}

/// Who learns the fate of a pending entry.
enum Ack {
    /// A caller waiting in [`AuditLog::append`].
    Reply(oneshot::Sender<Result<Receipt, Error>>),
    /// Nobody ([`AuditLog::try_record`], or acknowledged early under [`Durability::None`]):
    /// if its write fails, a later `gap` entry records the loss.
    Unobserved,
    /// A `gap` entry standing for this many lost entries.
    Gap(u64),
    /// The `write_failure` entry recording the outage in progress.
    Hole,
}

/// Why a batch was not written: an I/O error, or a file that is no longer the writer's.
#[derive(Debug)]
enum Fault {
    Io(std::io::Error),
    /// Someone else wrote to the file: nothing in it may be cut.
    Foreign(String),
    /// The path no longer names the file: what was written went to this writer's own file,
    /// wherever it now is, and may be cut from it.
    Moved(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => e.fmt(f),
            Self::Foreign(why) | Self::Moved(why) => f.write_str(why),
        }
    }
}

impl Writer {
    fn open(b: AuditLogBuilder, path: &Path) -> Result<(Self, Arc<Shared>), Error> {
        let opened = file::open(path, b.key.as_ref(), b.on_corrupt, b.lock_wait, b.file_mode)?;
        let (head_tx, head_rx) = watch::channel(Head {
            entries: opened.entries,
            hash: opened.head.clone(),
        });
        let shared = Arc::new(Shared {
            writer: std::sync::OnceLock::new(),
            path: path.to_owned(),
            durability: b.durability,
            dropped: AtomicU64::new(0),
            head: head_rx,
            recovery: opened.recovery.clone(),
            system: b.system.clone(),
            risk_tier: b.risk_tier.clone(),
            key: b.key.clone(),
            redaction: b.redaction.clone(),
            buffers: Buffers::default(),
            health: HealthCell::default(),
        });
        let mut w = Self {
            file: opened.file,
            id: opened.id,
            path: path.to_owned(),
            len: opened.len,
            entries: opened.entries,
            next_seq: opened.next_seq,
            head: opened.head,
            key: b.key,
            durability: b.durability,
            max_batch: b.max_batch,
            commit_delay: b.commit_delay,
            clock: b.clock,
            shared: Arc::clone(&shared),
            head_tx,
            outage: None,
            retry_interval: b.retry_interval,
            lock_wait: b.lock_wait,
            out: String::new(),
            body: String::new(),
            ts: String::new(),
            stamper: Stamper::default(),
            spent: Vec::new(),
        };
        // Entries the opening itself owes the chain: `audit_open` for a new chain, then a
        // record of any repair. Written and synced before the log is handed out.
        let mut first = Vec::new();
        if w.entries == 0 {
            first.push(Entry::audit_open(&b.system, &b.risk_tier));
        }
        if let Some(r) = &opened.recovery {
            first.push(recovery_entry(r));
        }
        if !first.is_empty() {
            for e in &first {
                w.encode(&Rendered::of(e));
            }
            w.commit(true).map_err(|e| {
                Error::open(
                    path,
                    std::io::Error::other(format!("writing its first entries: {e}")),
                )
            })?;
        }
        Ok((w, shared))
    }

    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(self.max_batch.min(1024));
        let mut shutdown_replies = Vec::new();
        let mut linger = false;
        loop {
            // After a batch nobody waited on, give more entries a moment to join the next one;
            // a caller who waits unparks us at once.
            if linger {
                std::thread::park_timeout(self.commit_delay);
            }
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                // Nothing queued, but entries were lost to a full queue after the last batch
                // took its count: a batch of the gap alone, now (and, should it fail to be
                // written, again after a commit delay, not in a loop).
                Err(mpsc::error::TryRecvError::Empty)
                    if !self.commit_delay.is_zero()
                        && self.outage.is_none()
                        && self.shared.dropped.load(Ordering::Relaxed) > 0 => {}
                // The log cannot take writes: an empty batch now and then tries again, and
                // records the failure once it can.
                Err(mpsc::error::TryRecvError::Empty)
                    if self.outage.as_ref().is_some_and(Outage::retry_due) => {}
                Err(mpsc::error::TryRecvError::Empty) if self.outage.is_some() => {
                    let retry = self
                        .outage
                        .as_ref()
                        .map_or(Duration::ZERO, Outage::retry_in);
                    let wait = match self.commit_delay {
                        Duration::ZERO => retry,
                        delay => retry.min(delay),
                    };
                    std::thread::park_timeout(wait);
                    linger = false;
                    continue;
                }
                // Idle: look again after a commit delay rather than have the next sender wake
                // us. Waking a sleeping thread is a system call, made on the sender's path (a
                // response body's last poll, a model call's end) and dearer still on a virtual
                // machine; this way queuing an entry where there is room never makes one.
                // Callers who wait unpark us at once, and so does a sender that finds the
                // queue full.
                Err(mpsc::error::TryRecvError::Empty) if !self.commit_delay.is_zero() => {
                    std::thread::park_timeout(self.commit_delay);
                    linger = false;
                    continue;
                }
                Err(mpsc::error::TryRecvError::Empty) => match rx.blocking_recv() {
                    Some(cmd) => batch.push(cmd),
                    None => break,
                },
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            let awaited = batch.iter().any(|c| match c {
                Command::Append { reply, .. } => reply.is_some(),
                Command::Build(_) => false,
                Command::Sync(_) | Command::Shutdown(_) => true,
            });
            linger = !awaited && !self.commit_delay.is_zero();
            if let Some(reply) = self.process(&mut batch) {
                // Refuse new work, but write what is already queued.
                rx.close();
                shutdown_replies.push(reply);
                linger = false;
            }
        }
        let result = self.final_sync();
        // Close the file, releasing its lock, before telling anyone we are done: a caller
        // that reopens right after `shutdown` must find it free.
        drop(self);
        for reply in shutdown_replies {
            let _ = reply.send(result.clone());
        }
    }

    /// Encodes, writes and acknowledges one batch. Returns a shutdown request's reply, if the
    /// batch held one.
    fn process(&mut self, batch: &mut Vec<Command>) -> Option<oneshot::Sender<Result<(), Error>>> {
        if self.needs_reopen() {
            if self.outage.as_ref().is_some_and(Outage::retry_due) {
                self.try_reopen();
            }
            if self.needs_reopen() {
                return self.refuse(batch);
            }
        }
        let checkpoint = (self.len, self.entries, self.next_seq, self.head.clone());
        let mut pending: Vec<Pending> = Vec::with_capacity(batch.len() + 1);
        let mut syncs = Vec::new();
        let mut shutdown = None;
        // The hole a failure left comes first, before anything written after it.
        if let Some(entry) = self.outage.as_ref().map(Outage::entry) {
            let stamp = self.encode(&Rendered::of(&entry));
            pending.push(Pending {
                ack: Ack::Hole,
                stamp,
            });
        }
        let gap = self.shared.dropped.swap(0, Ordering::Relaxed);
        if gap > 0 {
            self.shared.health.count(gap, 0);
            tracing::error!(
                target: "acttrace",
                log = %self.path.display(),
                lost = gap,
                "{gap} audit entries lost before reaching the writer (its queue was full, or an \
                 entry's builder panicked); recorded in the chain as a gap entry"
            );
            let stamp = self.encode(&Rendered::of(&gap_entry(gap)));
            pending.push(Pending {
                ack: Ack::Gap(gap),
                stamp,
            });
        }
        for cmd in batch.drain(..) {
            match cmd {
                Command::Append {
                    entry,
                    flags,
                    reply,
                } => {
                    let stamp = self.encode(&entry);
                    let ack = match (self.durability, reply) {
                        (Durability::None, Some(reply)) => {
                            let _ = reply.send(Ok(stamp.receipt()));
                            Ack::Unobserved
                        }
                        (_, Some(reply)) => Ack::Reply(reply),
                        (_, None) => Ack::Unobserved,
                    };
                    pending.push(Pending { ack, stamp });
                    self.encode_unobserved(&mut pending, &flags);
                    self.spent.push(entry.text);
                }
                Command::Build(make) => {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(make)) {
                        Ok(entry) => self.record(&mut pending, entry),
                        // Building it panicked: counted, and recorded as a `gap`.
                        Err(_) => {
                            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Command::Sync(reply) => syncs.push(reply),
                Command::Shutdown(reply) => shutdown = Some(reply),
            }
        }
        let must_sync = self.durability == Durability::Fsync || !syncs.is_empty();
        let result = match self.commit(must_sync) {
            Ok(()) => {
                self.recovered();
                Ok(())
            }
            Err(fault) => Err(self.failed(fault, &pending, checkpoint)),
        };
        for p in pending {
            match (p.ack, &result) {
                (Ack::Reply(reply), Ok(())) => {
                    let _ = reply.send(Ok(p.stamp.receipt()));
                }
                (Ack::Reply(reply), Err(e)) => {
                    let _ = reply.send(Err(e.clone()));
                }
                (Ack::Unobserved | Ack::Gap(_) | Ack::Hole, _) => {}
            }
        }
        let snapshot = Snapshot {
            head: Head {
                entries: self.entries,
                hash: self.head.clone(),
            },
            len: self.len,
        };
        for reply in syncs {
            let _ = reply.send(result.clone().map(|()| snapshot.clone()));
        }
        self.shared.buffers.give_back(&mut self.spent);
        shutdown
    }

    fn needs_reopen(&self) -> bool {
        self.outage.as_ref().is_some_and(|o| o.reopen != Reopen::No)
    }

    /// The error an append gets while the log cannot take writes.
    fn unavailable(&self) -> Error {
        self.unavailable_because(self.outage.as_ref().map_or("", Outage::last_error))
    }

    fn unavailable_because(&self, reason: &str) -> Error {
        Error::Unavailable {
            path: self.path.clone(),
            reason: reason.to_owned(),
        }
    }

    /// A batch failed: puts the chain back as it was before it, counts by type what it cost,
    /// reports it, and returns the error its waiting callers get.
    fn failed(
        &mut self,
        fault: Fault,
        pending: &[Pending],
        checkpoint: (u64, u64, u64, String),
    ) -> Error {
        let mut outage = self
            .outage
            .take()
            .unwrap_or_else(|| Outage::new(fault.to_string(), Reopen::No, self.retry_interval));
        let (mut lost, mut refused) = (0, 0);
        for p in pending {
            let (awaited, n) = match p.ack {
                Ack::Reply(_) => (true, 1),
                Ack::Unobserved => (false, 1),
                // Taken from the count again by the next batch, and recorded then.
                Ack::Gap(n) => {
                    self.shared.dropped.fetch_add(n, Ordering::Relaxed);
                    self.shared.health.uncount(n);
                    continue;
                }
                Ack::Hole => continue,
            };
            let (from, to) = p.stamp.kind;
            let kind = self
                .out
                .get(from as usize..to as usize)
                .map_or_else(|| "unknown".to_owned(), outage::kind_name);
            outage.lose(&kind, n, awaited);
            if awaited {
                refused += n;
            } else {
                lost += n;
            }
        }
        let why = fault.to_string();
        let (reopen, error) = match fault {
            Fault::Io(e) => (self.rollback(checkpoint, true), Error::Write(Arc::new(e))),
            Fault::Foreign(_) => {
                self.rollback(checkpoint, false);
                (Reopen::Foreign, self.unavailable_because(&why))
            }
            Fault::Moved(_) => {
                // Reopened only once the path names this writer's file again, and then cut
                // back if cutting it here failed.
                let len = checkpoint.0;
                self.rollback(checkpoint, true);
                (Reopen::CutBackTo(len), self.unavailable_because(&why))
            }
        };
        outage.again(why.clone(), reopen, self.retry_interval);
        outage.failed_write();
        outage.publish(&self.shared.health);
        self.shared.health.count(lost, refused);
        tracing::error!(
            target: "acttrace",
            log = %self.path.display(),
            lost,
            refused,
            error = %why,
            "audit log write failed: {lost} entries nobody waited on are lost and {refused} \
             appends refused; the writer retries and records the loss in a write_failure entry"
        );
        self.outage = Some(outage);
        error
    }

    /// A batch was written: if a failure was in progress, its `write_failure` entry was the
    /// batch's first, and the log is healthy again.
    fn recovered(&mut self) {
        if let Some(o) = self.outage.take() {
            let (lost, refused) = o.totals();
            outage::recovered(&self.shared.health);
            tracing::warn!(
                target: "acttrace",
                log = %self.path.display(),
                lost,
                refused,
                "audit log takes writes again; the failure is recorded in a write_failure entry"
            );
        }
    }

    /// While the file must be reopened before anything is written: refuses every append in
    /// `batch` (its caller gets [`Error::Unavailable`]) and counts, by type, every entry
    /// nobody waits on.
    fn refuse(&mut self, batch: &mut Vec<Command>) -> Option<oneshot::Sender<Result<(), Error>>> {
        let error = self.unavailable();
        let mut outage = self.outage.take().unwrap_or_else(|| {
            Outage::new(
                "the log cannot take writes".to_owned(),
                Reopen::Foreign,
                self.retry_interval,
            )
        });
        let (mut lost, mut refused, mut shutdown) = (0, 0, None);
        for cmd in batch.drain(..) {
            match cmd {
                Command::Append {
                    entry,
                    flags,
                    reply,
                } => {
                    outage.lose(&outage::kind_name(entry.kind()), 1, reply.is_some());
                    for flag in &flags {
                        outage.lose(&outage::kind_name(flag.kind()), 1, false);
                    }
                    lost += flags.len() as u64;
                    match reply {
                        Some(reply) => {
                            refused += 1;
                            let _ = reply.send(Err(error.clone()));
                        }
                        None => lost += 1,
                    }
                    self.spent.push(entry.text);
                }
                Command::Build(make) => {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(make)) {
                        Ok(entry) => {
                            outage.lose(entry.kind(), 1, false);
                            lost += 1;
                        }
                        Err(_) => {
                            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Command::Sync(reply) => {
                    let _ = reply.send(Err(error.clone()));
                }
                Command::Shutdown(reply) => shutdown = Some(reply),
            }
        }
        if lost + refused > 0 {
            self.shared.health.count(lost, refused);
            tracing::error!(
                target: "acttrace",
                log = %self.path.display(),
                lost,
                refused,
                error = %outage.last_error(),
                "audit log cannot take writes: {lost} entries nobody waited on are lost and \
                 {refused} appends refused; recorded in a write_failure entry once it can"
            );
        }
        self.outage = Some(outage);
        self.shared.buffers.give_back(&mut self.spent);
        shutdown
    }

    /// Reopens and re-checks the file after a failure that left it in doubt.
    fn try_reopen(&mut self) {
        let Some(outage) = self.outage.as_mut() else {
            return;
        };
        let want = file::Expected {
            id: self.id,
            len: self.len,
            entries: self.entries,
            head: &self.head,
            cut: matches!(outage.reopen, Reopen::CutBackTo(_)),
        };
        match file::reopen(
            &self.path,
            self.key.as_ref(),
            self.lock_wait,
            &mut self.file,
            &want,
        ) {
            Ok(()) => {
                outage.reopen = Reopen::No;
                tracing::warn!(
                    target: "acttrace",
                    log = %self.path.display(),
                    "audit log reopened and checked: it ends at the last acknowledged entry"
                );
            }
            Err(why) => {
                tracing::warn!(
                    target: "acttrace",
                    log = %self.path.display(),
                    error = %why,
                    "audit log still cannot take writes"
                );
                let reopen = outage.reopen;
                outage.again(why, reopen, self.retry_interval);
                outage.publish(&self.shared.health);
            }
        }
    }

    /// Redacts and lays out an entry the writer built (`try_record_with`), which nobody waits
    /// on, and encodes it and its flags.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    fn record(&mut self, pending: &mut Vec<Pending>, entry: Entry) {
        let mut buffer = self
            .spent
            .pop()
            .unwrap_or_else(|| self.shared.buffers.take());
        buffer.clear();
        let (entry, flags) = prepare(self.shared.redaction.as_ref(), entry, buffer);
        self.encode_unobserved(pending, std::slice::from_ref(&entry));
        self.encode_unobserved(pending, &flags);
        self.spent.push(entry.text);
    }

    /// Encodes entries whose fate nobody is told (a lost one becomes a `gap`).
    fn encode_unobserved(&mut self, pending: &mut Vec<Pending>, entries: &[Rendered]) {
        for rendered in entries {
            let stamp = self.encode(rendered);
            pending.push(Pending {
                ack: Ack::Unobserved,
                stamp,
            });
        }
    }

    /// Gives `entry` its place in the chain and appends its line to the output buffer.
    fn encode(&mut self, entry: &Rendered) -> Stamp {
        let seq = self.next_seq;
        self.ts.clear();
        self.stamper.write(&mut self.ts, self.clock.now());
        let ts = self.ts.as_str();
        self.body.clear();
        hash::write_body_parts(&mut self.body, seq, ts, entry.kind(), entry.canonical());
        let mut stamp = Stamp {
            seq,
            hash: hash::link_hash_hex(self.head.as_bytes(), self.body.as_bytes()),
            kind: (0, 0),
        };
        let hash = std::str::from_utf8(&stamp.hash).unwrap_or_default();
        let sig = self
            .key
            .as_ref()
            .map(|k| k.sign(hash.as_bytes()))
            .unwrap_or_default();
        let line = &mut self.out;
        line.push_str("{\"seq\": ");
        canonical::write_padded(line, seq, 1);
        line.push_str(", \"ts\": ");
        canonical::write_str(line, ts);
        line.push_str(", \"type\": ");
        let kind_from = line.len();
        line.push_str(entry.kind());
        stamp.kind = (
            u32::try_from(kind_from).unwrap_or(u32::MAX),
            u32::try_from(line.len()).unwrap_or(u32::MAX),
        );
        line.push_str(", \"payload\": ");
        line.push_str(entry.line());
        line.push_str(", \"prev_hash\": \"");
        line.push_str(&self.head);
        line.push_str("\", \"hash\": \"");
        line.push_str(hash);
        line.push_str("\", \"sig\": \"");
        line.push_str(&sig);
        line.push_str("\"}\n");
        self.next_seq += 1;
        self.entries += 1;
        self.head.clear();
        self.head.push_str(hash);
        stamp
    }

    /// Checks that no one else wrote to the file, writes the output buffer (and syncs it if
    /// asked), checks that the file at the path is still this writer's and holds exactly what
    /// it wrote, and publishes the new head. On
    /// failure the buffer is left for the caller to count what was lost.
    fn commit(&mut self, sync: bool) -> Result<(), Fault> {
        if !self.out.is_empty() {
            // Never write after another writer's bytes: that would fork the chain.
            file::unchanged(&self.file, &self.path, self.len).map_err(Fault::Foreign)?;
            self.file
                .write_all(self.out.as_bytes())
                .map_err(Fault::Io)?;
            self.len += self.out.len() as u64;
        }
        if sync {
            self.file.sync_data().map_err(Fault::Io)?;
        }
        file::unchanged(&self.file, &self.path, self.len).map_err(Fault::Foreign)?;
        file::at_path(&self.path, self.id).map_err(Fault::Moved)?;
        self.out.clear();
        self.head_tx.send_replace(Head {
            entries: self.entries,
            hash: self.head.clone(),
        });
        Ok(())
    }

    /// Restores the chain state to before a failed batch and, when `cut` (the file is this
    /// writer's), the file too. Says what must happen before the next write.
    fn rollback(
        &mut self,
        (len, entries, next_seq, head): (u64, u64, u64, String),
        cut: bool,
    ) -> Reopen {
        self.len = len;
        self.entries = entries;
        self.next_seq = next_seq;
        self.head = head;
        self.out.clear();
        if !cut {
            return Reopen::Foreign;
        }
        match self.file.set_len(len).and_then(|()| self.file.sync_data()) {
            Ok(()) => Reopen::No,
            // The file may hold part of the failed batch: reopen, cut and check it first.
            Err(_) => Reopen::CutBackTo(len),
        }
    }

    /// Writes what the log owes its chain (a failure's record, a gap) and syncs, at shutdown.
    fn final_sync(&mut self) -> Result<(), Error> {
        if self.needs_reopen() {
            self.try_reopen();
        }
        if self.needs_reopen() {
            let (lost, refused) = self.outage.as_ref().map_or((0, 0), Outage::totals);
            tracing::error!(
                target: "acttrace",
                log = %self.path.display(),
                lost,
                refused,
                "audit log closed while it could not take writes: {lost} lost and {refused} \
                 refused entries are recorded nowhere but here and in the log's health"
            );
            return Err(self.unavailable());
        }
        if let Some(entry) = self.outage.as_ref().map(Outage::entry) {
            self.encode(&Rendered::of(&entry));
        }
        let gap = self.shared.dropped.swap(0, Ordering::Relaxed);
        if gap > 0 {
            self.shared.health.count(gap, 0);
            self.encode(&Rendered::of(&gap_entry(gap)));
        }
        match self.commit(true) {
            Ok(()) => {
                self.recovered();
                Ok(())
            }
            Err(fault) => {
                tracing::error!(
                    target: "acttrace",
                    log = %self.path.display(),
                    error = %fault,
                    "audit log's last write at shutdown failed"
                );
                self.out.clear();
                Err(match fault {
                    Fault::Io(e) => Error::Write(Arc::new(e)),
                    Fault::Foreign(reason) | Fault::Moved(reason) => {
                        self.unavailable_because(&reason)
                    }
                })
            }
        }
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.path)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// Records that `dropped` entries never reached the chain.
fn gap_entry(dropped: u64) -> Entry {
    let mut p = Map::new();
    p.set("dropped", dropped);
    p.set(
        "reason",
        "entries lost before reaching the chain (queue full or failed write)",
    );
    Entry::own("gap", p)
}

fn recovery_entry(r: &Recovery) -> Entry {
    let mut p = Map::new();
    match r {
        Recovery::TornTail {
            bytes_removed,
            sha256,
        } => {
            p.set("reason", "torn_tail");
            p.set("bytes_removed", *bytes_removed);
            p.set("removed_sha256", sha256.as_str());
        }
        Recovery::NewChain { previous, detail } => {
            p.set("reason", "previous_chain_rejected");
            p.insert(
                "previous",
                previous
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            p.set("detail", detail.as_str());
        }
    }
    Entry::own("recovery", p)
}

#[cfg(all(test, feature = "client"))]
mod tests {
    use super::*;

    /// A fresh directory for one test's log, and the log's path in it.
    fn scratch(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("acttrace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        (dir, path)
    }

    /// The file at `path` once `done` holds for its text, or `None` after `secs` seconds.
    async fn text_once(
        path: &std::path::Path,
        secs: u64,
        done: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let wait = async {
            loop {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if done(&text) {
                    return text;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(secs), wait)
            .await
            .ok()
    }

    /// Asserts that the log at `path` verifies, then removes its directory.
    fn verifies_then_remove(dir: &std::path::Path, path: &std::path::Path) {
        let report = crate::verify::verify_path(path, &crate::verify::VerifyOptions::new());
        assert!(report.is_ok(), "{report}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A log at `path` whose writer waits `delay_ms` after a batch nobody waits on.
    async fn open_with_delay(path: &std::path::Path, delay_ms: u64) -> AuditLog {
        AuditLog::builder("t")
            .commit_delay(std::time::Duration::from_millis(delay_ms))
            .open(path)
            .await
            .expect("open")
    }

    /// An entry built on the writer thread is written in its place in the chain; one whose
    /// builder panics is counted, written as a `gap`, and the writer goes on.
    #[tokio::test]
    async fn entries_built_by_the_writer_and_a_builder_that_panics() {
        let (dir, path) = scratch("build");
        let log = AuditLog::open("t", &path).await.expect("open");
        assert!(log.try_record_with(|| {
            let mut p = Map::new();
            p.insert("n", 1);
            Entry::new("built", p)
        }));
        assert!(log.try_record_with(|| panic!("a bug in a builder")));
        assert!(log.try_record(Entry::new("after", Map::new())));
        log.sync().await.expect("sync");
        // The gap is written with the next batch.
        log.append(Entry::new("last", Map::new()))
            .await
            .expect("append");
        log.shutdown().await.expect("shutdown");
        let text = std::fs::read_to_string(&path).expect("read");
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split("\"type\": \"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(types, ["audit_open", "built", "after", "gap", "last"]);
        assert!(text.contains("\"dropped\": 1"));
        verifies_then_remove(&dir, &path);
    }

    /// An idle writer is not woken by entries nobody waits on; it must still find them, on
    /// its own, within about a commit delay, and write the last ones when every handle is
    /// dropped without a shutdown.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_writer_finds_queued_entries_on_its_own() {
        let (dir, path) = scratch("idle");
        let log = open_with_delay(&path, 20).await;
        let opened = log.head().entries;
        for round in 1..=3u64 {
            // Long enough for the writer to have gone idle.
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
            assert!(log.try_record(Entry::new("queued", Map::new())));
            let seen = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                while log.head().entries < opened + round {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                log.head().entries
            })
            .await;
            assert_eq!(
                seen,
                Ok(opened + round),
                "round {round}: written without a sync"
            );
        }
        assert!(log.try_record(Entry::new("at drop", Map::new())));
        drop(log);
        let text = text_once(&path, 5, |t| t.contains("at drop"))
            .await
            .expect("the last entry is written once every handle is gone");
        assert_eq!(text.lines().count() as u64, opened + 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn buffers_come_back_empty_and_within_bounds() {
        let buffers = Buffers::default();
        let mut spent = vec![
            String::from("a laid-out entry"),
            String::with_capacity(1 << 20),
        ];
        let kept = spent[0].capacity();
        buffers.give_back(&mut spent);
        assert!(spent.is_empty());
        let reused = buffers.take();
        assert!(reused.is_empty(), "no old text in a reused buffer");
        assert_eq!(reused.capacity(), kept);
        assert_eq!(
            buffers.take().capacity(),
            512,
            "the 1 MiB buffer was let go"
        );
        let mut many: Vec<String> = (0..Buffers::KEEP + 10).map(|_| String::new()).collect();
        buffers.give_back(&mut many);
        assert_eq!(
            buffers.free.lock().map(|f| f.len()).ok(),
            Some(Buffers::KEEP)
        );
    }

    /// A log whose queue holds two entries and whose writer, left alone, sleeps a minute
    /// between batches: any prompt progress through it is a wake-up.
    async fn tiny_queue_long_delay(path: &std::path::Path) -> AuditLog {
        AuditLog::builder("t")
            .capacity(2)
            .commit_delay(std::time::Duration::from_secs(60))
            .open(path)
            .await
            .expect("open")
    }

    /// Entries that cannot wait (`try_record`) are lost only while the queue is full, and a
    /// sender that finds it full wakes the writer, which drains it and writes the gap at once,
    /// not a commit delay (here a minute) later. Every loss is in the chain.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_wakes_the_writer_and_its_losses_are_recorded_at_once() {
        let (dir, path) = scratch("full-wakes");
        let log = tiny_queue_long_delay(&path).await;
        let opened = log.head().entries;
        // Let the writer fall asleep, for a minute, before the burst.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let tries = 50;
        let queued = (0..tries)
            .filter(|i| {
                let mut p = Map::new();
                p.insert("i", *i);
                log.try_record(Entry::new("n", p))
            })
            .count() as u64;
        let lost = tries - queued;
        assert!(lost > 0, "fifty entries at once fit in a queue of two");
        // Everything queued, and at least one gap, written without anyone waiting on it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while log.head().entries < opened + queued + 1 || log.pending_gap() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer slept through a full queue"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        log.shutdown().await.expect("shutdown");
        let text = std::fs::read_to_string(&path).expect("read");
        let entries: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let kept = entries.iter().filter(|e| e["type"] == "n").count() as u64;
        let recorded: u64 = entries
            .iter()
            .filter(|e| e["type"] == "gap")
            .filter_map(|e| e["payload"]["dropped"].as_u64())
            .sum();
        assert_eq!((kept, recorded), (queued, lost));
        verifies_then_remove(&dir, &path);
    }

    /// Losses counted after the last batch took its count, with nothing left queued, are
    /// written as a batch of the gap alone once the writer is up, not a commit delay later.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gap_with_nothing_queued_is_written_alone() {
        let (dir, path) = scratch("gap-alone");
        let log = tiny_queue_long_delay(&path).await;
        let opened = log.head().entries;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        // As a `try_record` into a full queue does, after the batch that drained it.
        log.handle.shared.dropped.fetch_add(3, Ordering::Relaxed);
        log.handle.wake_writer();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while log.head().entries < opened + 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the gap waited for the commit delay"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(log.pending_gap(), 0);
        log.shutdown().await.expect("shutdown");
        let text = std::fs::read_to_string(&path).expect("read");
        let last = text.lines().last().expect("a line");
        assert!(
            last.contains("\"type\": \"gap\"") && last.contains("\"dropped\": 3"),
            "{last}"
        );
        verifies_then_remove(&dir, &path);
    }

    /// `enqueue` takes room in the queue when there is some and waits for it when there is
    /// none, keeps the order either way, and fails once the log is shut down. A sender that
    /// finds the queue full wakes the writer: here it would otherwise sleep for a minute
    /// between batches.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn enqueue_waits_for_room_keeps_order_and_fails_after_shutdown() {
        let (dir, path) = scratch("enqueue-full");
        let log = tiny_queue_long_delay(&path).await;
        let sender = log.clone();
        let sending = tokio::spawn(async move {
            for i in 0..12 {
                let mut p = Map::new();
                p.insert("i", i);
                sender.enqueue(Entry::new("n", p)).await.expect("enqueue");
            }
        });
        // Twelve entries through a queue of two: the writer was woken for room.
        tokio::time::timeout(std::time::Duration::from_secs(20), sending)
            .await
            .expect("a full queue wakes the writer")
            .expect("the sender's task");
        assert_eq!(log.pending_gap(), 0);
        let other = log.clone();
        log.shutdown().await.expect("shutdown");
        assert!(matches!(
            other.enqueue(Entry::new("late", Map::new())).await,
            Err(Error::WriterClosed)
        ));
        let text = std::fs::read_to_string(&path).expect("read");
        let order: Vec<i64> = text
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                v["payload"]["i"].as_i64()
            })
            .collect();
        assert_eq!(order, (0..12).collect::<Vec<_>>());
        verifies_then_remove(&dir, &path);
    }

    /// Entries laid out in reused buffers, long after short and short after long, across
    /// batches: each line holds its own payload and nothing of an earlier one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reused_buffers_never_leak_one_entry_into_another() {
        let (dir, path) = scratch("reuse");
        let log = open_with_delay(&path, 1).await;
        let sizes = [900, 3, 400, 0, 2000, 17, 1];
        let mut sent = Vec::new();
        for round in 0..20 {
            for (i, size) in sizes.iter().enumerate() {
                let text = format!("{round}-{i}-{}", "x".repeat(*size));
                let mut p = Map::new();
                p.insert("text", text.as_str());
                match i % 3 {
                    0 => assert!(log.try_record(Entry::new("n", p))),
                    1 => log.enqueue(Entry::new("n", p)).await.expect("enqueue"),
                    _ => drop(log.append(Entry::new("n", p)).await.expect("append")),
                }
                sent.push(text);
            }
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        log.shutdown().await.expect("shutdown");
        let text = std::fs::read_to_string(&path).expect("read");
        let written: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                Some(v["payload"]["text"].as_str()?.to_owned())
            })
            .collect();
        assert_eq!(written, sent);
        verifies_then_remove(&dir, &path);
    }

    /// The last handle dropped without a shutdown wakes the writer: what was queued is written
    /// at once, not after the (here very long) commit delay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_last_handle_writes_the_queue_at_once() {
        let (dir, path) = scratch("last-drop");
        let log = open_with_delay(&path, 60_000).await;
        let other = log.clone();
        assert!(log.try_record(Entry::new("queued", Map::new())));
        drop(other); // not the last one: nothing happens yet
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(log.try_record(Entry::new("queued", Map::new())));
        drop(log);
        let text = text_once(&path, 10, |t| t.matches("\"queued\"").count() == 2)
            .await
            .expect("written well before the 60 s commit delay");
        let lines = text.lines().count();
        assert_eq!(lines, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

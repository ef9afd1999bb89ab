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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::chain::entry::{Entry, Receipt};
use crate::chain::hash::SigningKey;
use crate::chain::time::{Clock, SystemClock};
use crate::json::canonical;
use crate::redact::RedactionPolicy;
pub(super) use crate::store::buffers::Buffers;
use crate::store::error::Error;
use crate::store::file::{OnCorrupt, Recovery};
use crate::store::outage::{Health, HealthCell};
use crate::store::writer::Writer;

mod limit;
mod prepare;
pub(super) mod spin;

pub use self::limit::MAX_ENTRY_BYTES;
pub(super) use self::limit::fits;
pub(super) use self::prepare::prepare;

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

/// How many entries may wait for the writer by default: enough to ride out the writer held up
/// in a slow disk flush. The writer writes and syncs on its own thread, and while a write and
/// its sync take long (up to 54 ms seen on a small cloud machine's disk, writing 50 MB a
/// second) it takes nothing from the queue. Under both layers at 50,000 requests a second
/// (100,000 entries) a queue of 4,096 held 41 ms of them: requests waited for room, and an
/// entry that cannot wait (a decision's end) would find none and be lost to a `gap`. This
/// one holds 160 ms at that rate. A queued entry is already laid out, about 1 KB for a
/// layer's, so a full queue is about 16 MB; it fills only while the writer is held up.
///
/// ```no_run
/// use acttrace::store::{AuditLog, DEFAULT_CAPACITY};
///
/// # async fn open() -> Result<(), acttrace::store::Error> {
/// // A service with little memory to spare and a light load keeps a shorter queue.
/// let log = AuditLog::builder("loan-triage")
///     .capacity(DEFAULT_CAPACITY / 8)
///     .open("audit.jsonl")
///     .await?;
/// # drop(log);
/// # Ok(())
/// # }
/// ```
pub const DEFAULT_CAPACITY: usize = 16_384;

/// Builds an [`AuditLog`]. See [`AuditLog::builder`].
#[must_use = "a builder does nothing until `open` is called"]
pub struct AuditLogBuilder {
    pub(super) system: String,
    pub(super) risk_tier: String,
    pub(super) key: Option<SigningKey>,
    pub(super) durability: Durability,
    pub(super) capacity: usize,
    pub(super) max_batch: usize,
    pub(super) on_corrupt: OnCorrupt,
    pub(super) clock: Box<dyn Clock>,
    pub(super) commit_delay: std::time::Duration,
    pub(super) lock_wait: std::time::Duration,
    pub(super) redaction: Option<RedactionPolicy>,
    pub(super) retry_interval: Duration,
    pub(super) file_mode: u32,
    pub(super) max_entry: usize,
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
            .field("max_entry", &self.max_entry)
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
    /// same key. Defaults to unsigned. An empty key is refused when the log opens
    /// ([`Error::EmptyKey`]).
    pub fn signing_key(mut self, key: impl Into<SigningKey>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// When an append is acknowledged. Defaults to [`Durability::Fsync`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How many entries may wait for the writer before appends wait for room (and
    /// [`try_record`](AuditLog::try_record) counts a loss). Defaults to [`DEFAULT_CAPACITY`].
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
    /// the wake-up, a system call, is not made on every request's path. A busy one (work within
    /// the last delay) looks every 2 ms and lays out (stamps, links, hashes) what it finds
    /// then, writing it all once the delay has passed since the first: the layout work comes in
    /// small slices instead of one burst per delay that would hold a core, which is what sets
    /// a service's tail latency on a small machine.
    ///
    /// The delay (plus one 2 ms pace) bounds how long such an entry can sit in memory before it
    /// is on disk: a crash of the process or the machine loses at most that much of them
    /// (entries someone waited on are never among them). Under load it also sets how many
    /// syncs a second the log makes, and so what durability costs the service.
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
    /// [`redact`](crate::redact)); `None` writes entries exactly as given. Defaults to
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
        let thread_path = path.clone();
        self.spawn(&path, move |b| Writer::open(b, &thread_path))
            .await
    }

    /// Starts the writer thread, which opens its store with `open`.
    pub(super) async fn spawn(
        self,
        location: &Path,
        open: impl FnOnce(Self) -> Result<(Writer, Arc<Shared>), Error> + Send + 'static,
    ) -> Result<AuditLog, Error> {
        if self.key.as_ref().is_some_and(SigningKey::is_empty) {
            return Err(Error::EmptyKey {
                path: location.to_owned(),
            });
        }
        let (ready_tx, ready_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(self.capacity);
        let spawned = std::thread::Builder::new()
            .name("acttrace-writer".to_owned())
            .spawn(move || {
                let result = open(self);
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
            return Err(Error::open(location, e));
        }
        let shared = ready_rx.await.map_err(|_| Error::WriterClosed)??;
        Ok(AuditLog {
            handle: Arc::new(Handle { tx, shared }),
        })
    }
}

pub(super) struct Shared {
    /// The writer thread, woken early from a commit delay by callers who wait.
    pub(super) writer: std::sync::OnceLock<std::thread::Thread>,
    pub(super) path: PathBuf,
    pub(super) durability: Durability,
    pub(super) dropped: AtomicU64,
    pub(super) head: watch::Receiver<Head>,
    pub(super) recovery: Option<Recovery>,
    /// What an export's header names, and the key it signs with.
    pub(super) system: String,
    pub(super) risk_tier: String,
    pub(super) key: Option<SigningKey>,
    pub(super) redaction: Option<RedactionPolicy>,
    pub(super) buffers: Buffers,
    pub(super) health: HealthCell,
    /// The most bytes an entry's type and payload may take
    /// ([`AuditLogBuilder::max_entry_bytes`]).
    pub(super) max_entry: usize,
    /// Whether an entry handed over after the writer stopped was reported yet.
    pub(super) closed_reported: std::sync::atomic::AtomicBool,
    pub(super) spin: spin::Spin,
    /// The database URL and chain, for a chain kept in PostgreSQL.
    pub(super) database: Option<(String, String)>,
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

/// An [`AuditLog`] that does not keep it open. See [`AuditLog::downgrade`].
#[cfg(feature = "ed25519")]
#[derive(Clone)]
pub(crate) struct WeakAuditLog(std::sync::Weak<Handle>);

#[cfg(feature = "ed25519")]
impl WeakAuditLog {
    /// The log, while some handle still holds it open.
    pub(crate) fn upgrade(&self) -> Option<AuditLog> {
        self.0.upgrade().map(|handle| AuditLog { handle })
    }
}

impl Drop for Handle {
    /// When the last handle goes without a [`shutdown`](AuditLog::shutdown), wakes the writer
    /// to write what is queued and stop at once, not a commit delay later: the process may end.
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

    /// Says, once, that entries are handed over to a writer that has stopped: a service whose
    /// log was shut down under it runs unaudited, and must not do so silently.
    fn report_closed(&self) -> Error {
        if !self.shared.closed_reported.swap(true, Ordering::Relaxed) {
            tracing::error!(
                target: "acttrace",
                path = %self.shared.path.display(),
                "audit log shut down: entries handed to it are no longer recorded"
            );
        }
        Error::WriterClosed
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
pub(super) struct Rendered {
    /// The type as a JSON string, then the canonical payload, then the on-disk payload.
    pub(super) text: String,
    pub(super) kind_end: usize,
    pub(super) canonical_end: usize,
}

impl Rendered {
    pub(super) fn of(entry: &Entry) -> Self {
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

    pub(super) fn kind(&self) -> &str {
        &self.text[..self.kind_end]
    }

    pub(super) fn canonical(&self) -> &str {
        &self.text[self.kind_end..self.canonical_end]
    }

    pub(super) fn line(&self) -> &str {
        &self.text[self.canonical_end..]
    }
}

pub(super) enum Command {
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

impl AuditLog {
    /// Starts building a log for `system` (recorded when a new chain opens).
    pub fn builder(system: impl Into<String>) -> AuditLogBuilder {
        AuditLogBuilder {
            system: system.into(),
            risk_tier: "limited".to_owned(),
            key: None,
            durability: Durability::default(),
            capacity: DEFAULT_CAPACITY,
            max_batch: 4096,
            on_corrupt: OnCorrupt::default(),
            clock: Box::new(SystemClock),
            commit_delay: std::time::Duration::from_millis(20),
            lock_wait: std::time::Duration::from_millis(250),
            redaction: Some(RedactionPolicy::default_preset()),
            retry_interval: Duration::from_secs(1),
            file_mode: 0o600,
            max_entry: MAX_ENTRY_BYTES,
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
    /// the entry was handed over, the entry is still written. An entry whose strings run to
    /// 32 KiB or more (a document recorded whole) is redacted and laid out on tokio's blocking
    /// pool, not on the calling task, when a runtime is there.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] if writing or syncing failed (the entry is not in the chain and the
    /// head did not move), [`Error::Unavailable`] while the log cannot take writes (see
    /// [`health`](Self::health)), [`Error::TooLarge`] for an entry larger than the log takes
    /// (counted as refused in [`health`](Self::health)), or [`Error::WriterClosed`] after
    /// [`shutdown`](Self::shutdown).
    pub async fn append(&self, entry: Entry) -> Result<Receipt, Error> {
        let (reply, rx) = oneshot::channel();
        self.submit(self.append_command_sized(entry, Some(reply)).await?)
            .await?;
        self.handle.wake_writer();
        let answer = self.handle.shared.spin.wait(rx).await;
        answer.map_err(|_| Error::WriterClosed)?
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
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(self.handle.report_closed()),
        };
        self.handle.wake_writer();
        self.handle
            .tx
            .send(cmd)
            .await
            .map_err(|_| self.handle.report_closed())
    }

    /// The command that appends `entry`: the redaction policy is applied and the entry laid
    /// out here, in the caller's task (`append`, `enqueue`, `try_record`; a large entry
    /// `append` hands to the blocking pool, see [`prepare`](mod@prepare)), so that callers do
    /// this work side by side rather than one after another in the writer.
    fn append_command(
        &self,
        entry: Entry,
        reply: Option<oneshot::Sender<Result<Receipt, Error>>>,
        told: bool,
    ) -> Result<Command, Error> {
        let (entry, flags) = prepare(
            self.handle.shared.redaction.as_ref(),
            entry,
            self.handle.shared.buffers.take(),
        );
        fits(&self.handle.shared, &entry, told)?;
        Ok(Command::Append {
            entry,
            flags,
            reply,
        })
    }

    /// Queues `entry` behind everything queued before it, waiting only for room in the queue,
    /// not for the write. Entries queued later (from any handle) land after it in the chain.
    ///
    /// For entries whose order matters but whose durability the caller does not wait on (the
    /// inbound layer's `decision` entry). Never silent: if the write later fails, a `gap` entry
    /// records the loss. As with [`append`](Self::append), an entry with a large payload is
    /// redacted and laid out on tokio's blocking pool, not on the caller's task.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] for an entry larger than the log takes, or [`Error::WriterClosed`]
    /// after [`shutdown`](Self::shutdown).
    pub async fn enqueue(&self, entry: Entry) -> Result<(), Error> {
        let cmd = self.append_command_sized(entry, None).await?;
        self.submit(cmd).await
    }

    /// Hands `entry` to the writer without waiting, for paths that cannot wait (`Drop`, a
    /// body's `poll_frame`). Returns `false` if it could not be queued. It applies the
    /// redaction policy and lays the entry out in the caller, whatever its size (it cannot
    /// wait for the blocking pool): keep such entries small.
    ///
    /// Never silent: an entry that could not be queued, or whose write later failed, is
    /// counted, and the writer records the count in the chain as a `gap` entry.
    pub fn try_record(&self, entry: Entry) -> bool {
        match self.append_command(entry, None, false) {
            Ok(cmd) => self.try_send(cmd),
            Err(_) => false,
        }
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
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.handle.shared.dropped.fetch_add(1, Ordering::Relaxed);
                self.handle.report_closed();
                false
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
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

    /// The database URL and chain name of a chain kept in PostgreSQL.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn database(&self) -> Option<(&str, &str)> {
        self.handle
            .shared
            .database
            .as_ref()
            .map(|(u, c)| (u.as_str(), c.as_str()))
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

    /// A handle that does not keep the log open: for a companion task (a tree-head publisher)
    /// that must let the writer stop when the service drops its last handle.
    #[cfg(feature = "ed25519")]
    pub(crate) fn downgrade(&self) -> WeakAuditLog {
        WeakAuditLog(Arc::downgrade(&self.handle))
    }

    /// A receiver of the head after every batch; it ends when the writer stops.
    #[cfg(feature = "ed25519")]
    pub(crate) fn head_watch(&self) -> watch::Receiver<Head> {
        self.handle.shared.head.clone()
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

    /// Whether the log is taking writes (not failing, not shut down): two atomic loads, for a
    /// layer that fails closed.
    pub fn is_healthy(&self) -> bool {
        !self.handle.shared.health.is_failing() && !self.handle.tx.is_closed()
    }
}

#[cfg(all(test, feature = "client"))]
mod tests;

//! The writer thread: the single owner of the file and the chain's state. It takes what the
//! handles queued, lays every entry into its place (seq, time stamp, link, hash, signature)
//! as it comes, writes a batch with one write and at most one sync, checks the file around
//! it, and tells the callers who wait. Entries nobody waits on are laid out every [`PACE`]
//! but written once per commit delay: the work is spread over the delay instead of done in
//! one burst that would take a core from the service. When the log cannot take writes it
//! counts and reports what is lost, retries, and records the hole once it can (see
//! [`outage`](super::outage) for the entries, and `failure` for what the writer does).
//!
//! Uses the handle's queue and shared state, the file store and the format.

mod failure;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::chain::entry::{Entry, Receipt};
use crate::chain::hash::{self, SigningKey};
use crate::chain::time::{Clock, Stamper};
use crate::json::canonical;
use crate::store::error::Error;
use crate::store::file::Recovery;
use crate::store::file::{self, FileStore};
use crate::store::handle::spin::{SPIN, Spin};
use crate::store::handle::{
    AuditLogBuilder, Buffers, Command, Durability, Head, Rendered, Shared, Snapshot, fits, prepare,
};
use crate::store::outage::{HealthCell, Outage, gap_entry, recovery_entry};
use crate::store::{ChainHead, Fault, Store};

/// How often a busy writer lays out what was queued, when nobody waits and the commit is not
/// yet due. A commit delay's worth of entries laid out at once (about 2.5 ms of CPU at 50,000
/// requests a second through both layers) holds one of a small machine's cores and delays
/// the requests queued behind it; in steps of 2 ms the same work comes in slices a tenth that
/// size, for 500 wake-ups a second of a few microseconds each.
pub(super) const PACE: Duration = Duration::from_millis(2);

/// Entries laid out since the last commit, waiting in the output buffer for it.
struct Staged {
    pending: Vec<Pending>,
    /// The chain as it stood before the first of them: where a failed commit puts it back.
    checkpoint: (u64, u64, String),
    /// When the first was laid out: the commit is due a commit delay later.
    since: Instant,
    /// A shared store's lock is held for them: commit at once.
    locked: bool,
}

/// The single owner of the file and the chain state.
pub(super) struct Writer {
    /// Where the lines go.
    store: Box<dyn Store>,
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
    /// The batch's lines, laid out in place, written at commit.
    out: String,
    body: String,
    ts: String,
    stamper: Stamper,
    /// This batch's layout buffers, handed back to callers when it is done.
    spent: Vec<String>,
    /// What is laid out and not yet committed.
    staged: Option<Staged>,
    /// When the last batch came: for a commit delay after it the writer stays busy, looking
    /// at the queue every [`PACE`].
    last_batch: Instant,
    /// When the writer went quiet (nothing laid out, nothing for a commit delay): what it
    /// finds on waking may have waited since then, so its commit is due a delay after it.
    quiet_since: Option<Instant>,
    /// A segmented log's rollover.
    #[cfg(feature = "ed25519")]
    roller: Option<super::segments::Roller>,
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

impl Writer {
    pub(super) fn open(b: AuditLogBuilder, path: &Path) -> Result<(Self, Arc<Shared>), Error> {
        let opened = file::open(path, b.key.as_ref(), b.on_corrupt, b.lock_wait, b.file_mode)?;
        let store = FileStore::new(
            opened.file,
            opened.id,
            path,
            opened.len,
            b.key.clone(),
            b.lock_wait,
        );
        let state = ChainHead {
            entries: opened.entries,
            next_seq: opened.next_seq,
            head: opened.head,
        };
        Self::start(b, path, Box::new(store), state, opened.recovery, None)
    }

    /// Starts a writer on an opened store whose chain stands at `state`: writes what the
    /// opening owes the chain (`audit_open` for a new chain, a record of a repair) before the
    /// log is handed out.
    pub(super) fn start(
        b: AuditLogBuilder,
        location: &Path,
        store: Box<dyn Store>,
        state: ChainHead,
        recovery: Option<Recovery>,
        database: Option<(String, String)>,
    ) -> Result<(Self, Arc<Shared>), Error> {
        let (head_tx, head_rx) = watch::channel(Head {
            entries: state.entries,
            hash: state.head.clone(),
        });
        let shared = Arc::new(Shared {
            writer: std::sync::OnceLock::new(),
            path: location.to_owned(),
            durability: b.durability,
            dropped: AtomicU64::new(0),
            head: head_rx,
            recovery: recovery.clone(),
            system: b.system.clone(),
            risk_tier: b.risk_tier.clone(),
            key: b.key.clone(),
            redaction: b.redaction.clone(),
            buffers: Buffers::default(),
            health: HealthCell::default(),
            max_entry: b.max_entry,
            closed_reported: std::sync::atomic::AtomicBool::new(false),
            spin: Spin::new(b.durability == Durability::Fsync),
            database,
        });
        let mut w = Self {
            store,
            entries: state.entries,
            next_seq: state.next_seq,
            head: state.head,
            key: b.key,
            durability: b.durability,
            max_batch: b.max_batch,
            commit_delay: b.commit_delay,
            clock: b.clock,
            shared: Arc::clone(&shared),
            head_tx,
            outage: None,
            retry_interval: b.retry_interval,
            out: String::new(),
            body: String::new(),
            ts: String::new(),
            stamper: Stamper::default(),
            spent: Vec::new(),
            staged: None,
            last_batch: Instant::now(),
            quiet_since: None,
            #[cfg(feature = "ed25519")]
            roller: None,
        };
        let failed = |e: &dyn fmt::Display| {
            Error::open(
                location,
                std::io::Error::other(format!("writing its first entries: {e}")),
            )
        };
        // A shared chain may have been begun by another writer meanwhile: its head decides.
        w.begin().map_err(|e| failed(&e))?;
        let mut first = Vec::new();
        if w.entries == 0 {
            first.push(Entry::audit_open(&b.system, &b.risk_tier));
        }
        if let Some(r) = &recovery {
            first.push(recovery_entry(r));
        }
        for e in &first {
            w.encode(&Rendered::of(e));
        }
        w.commit(true).map_err(|e| failed(&e))?;
        Ok((w, shared))
    }

    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(self.max_batch.min(1024));
        let mut shutdown_replies = Vec::new();
        let mut linger = false;
        // Until when to keep looking at the queue awake (see `handle::spin`).
        let mut spin_until: Option<Instant> = None;
        loop {
            // After a batch nobody waited on, give more entries a moment to join the next one;
            // a caller who waits unparks us at once.
            if linger {
                std::thread::park_timeout(self.next_look());
            }
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                // Just answered a caller who waited: its next entry is likely on its way.
                Err(mpsc::error::TryRecvError::Empty)
                    if spin_until.is_some_and(|t| Instant::now() < t) =>
                {
                    std::hint::spin_loop();
                    continue;
                }
                // Nothing queued, and what is laid out is due: an empty batch commits it.
                Err(mpsc::error::TryRecvError::Empty) if self.commit_due() => {}
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
                // While busy (entries laid out, or a batch came within a commit delay) look
                // every pace; once quiet, every commit delay.
                Err(mpsc::error::TryRecvError::Empty) if !self.commit_delay.is_zero() => {
                    if self.staged.is_some() || self.last_batch.elapsed() < self.commit_delay {
                        std::thread::park_timeout(self.next_look());
                    } else {
                        self.quiet_since = Some(Instant::now());
                        std::thread::park_timeout(self.commit_delay);
                    }
                    linger = false;
                    continue;
                }
                Err(mpsc::error::TryRecvError::Empty) => match rx.blocking_recv() {
                    Some(cmd) => batch.push(cmd),
                    None => break,
                },
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
            // With what is laid out already, at most `max_batch` wait for one commit.
            let laid_out = self.staged.as_ref().map_or(0, |s| s.pending.len());
            while batch.len() + laid_out < self.max_batch {
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
            self.last_batch = Instant::now();
            let shutdown = self.process(&mut batch, awaited);
            // Someone waited and was answered without a sync: the next entry is likely on its
            // way. (After a sync, callers have gone to sleep.)
            let synced = self.durability == Durability::Fsync;
            spin_until = (awaited && !synced).then(|| Instant::now() + SPIN);
            if let Some(reply) = shutdown {
                // Refuse new work, but write what is already queued.
                rx.close();
                self.shared.health.close();
                shutdown_replies.push(reply);
                linger = false;
            }
        }
        // The queue closed with entries laid out and not yet committed (every handle dropped
        // without a shutdown): commit them as any batch, counting them should that fail.
        if let Some(staged) = self.staged.take() {
            self.commit_staged(staged, Vec::new());
        }
        let result = self.final_sync();
        // Close the file, releasing its lock, before telling anyone we are done: a caller
        // that reopens right after `shutdown` must find it free.
        drop(self);
        for reply in shutdown_replies {
            let _ = reply.send(result.clone());
        }
    }

    /// How long to wait before looking at the queue again after a batch nobody waited on: a
    /// [`PACE`], or less if the commit falls due sooner.
    fn next_look(&self) -> Duration {
        match &self.staged {
            Some(s) => PACE.min(self.commit_delay.saturating_sub(s.since.elapsed())),
            None => PACE.min(self.commit_delay),
        }
    }

    /// Whether entries are laid out and their commit is due.
    fn commit_due(&self) -> bool {
        self.staged
            .as_ref()
            .is_some_and(|s| s.since.elapsed() >= self.commit_delay)
    }

    /// Lays out one batch, and writes and acknowledges it with everything laid out before it
    /// once someone waits, the commit delay has passed since the first of them, or
    /// `max_batch` are waiting. Returns a shutdown request's reply, if the batch held one.
    fn process(
        &mut self,
        batch: &mut Vec<Command>,
        awaited: bool,
    ) -> Option<oneshot::Sender<Result<(), Error>>> {
        let mut staged = match self.staged.take() {
            Some(staged) => staged,
            None => match self.open_batch() {
                Some(staged) => staged,
                None => return self.refuse(batch),
            },
        };
        let pending = &mut staged.pending;
        // A loss is recorded, and the record committed, as soon as the writer sees it.
        let lost = self.lay_out_gap(pending);
        let mut syncs = Vec::new();
        let mut shutdown = None;
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
                    self.encode_unobserved(pending, &flags);
                    self.spent.push(entry.text);
                }
                Command::Build(make) => {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(make)) {
                        Ok(entry) => self.record(pending, entry),
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
        let due = awaited
            || lost
            || staged.locked
            || self.outage.is_some()
            || staged.pending.len() >= self.max_batch
            || staged.since.elapsed() >= self.commit_delay;
        if due {
            self.commit_staged(staged, syncs);
        } else if !staged.pending.is_empty() {
            self.staged = Some(staged);
        }
        self.shared.buffers.give_back(&mut self.spent);
        shutdown
    }

    /// Begins a batch: makes sure the store can take it (`None` if not) and lays out first
    /// the record of a failure the chain owes from before it.
    fn open_batch(&mut self) -> Option<Staged> {
        let since = self.quiet_since.take().unwrap_or_else(Instant::now);
        if self.needs_reopen() {
            if self.outage.as_ref().is_some_and(Outage::retry_due) {
                self.try_reopen();
            }
            if self.needs_reopen() {
                return None;
            }
        }
        let locked = self.begin().ok()?;
        let mut staged = Staged {
            pending: Vec::new(),
            checkpoint: (self.entries, self.next_seq, self.head.clone()),
            since,
            locked,
        };
        // The hole a failure left comes first, before anything written after it.
        if let Some(entry) = self.outage.as_ref().map(Outage::entry) {
            let stamp = self.encode(&Rendered::of(&entry));
            staged.pending.push(Pending {
                ack: Ack::Hole,
                stamp,
            });
        }
        Some(staged)
    }

    /// Lays out a `gap` entry for the entries lost on their way to the writer since the last
    /// batch took their count; returns whether there were any.
    fn lay_out_gap(&mut self, pending: &mut Vec<Pending>) -> bool {
        let gap = self.shared.dropped.swap(0, Ordering::Relaxed);
        if gap == 0 {
            return false;
        }
        self.shared.health.count(gap, 0);
        tracing::error!(
            target: "acttrace",
            log = %self.store.location().display(),
            lost = gap,
            "{gap} audit entries lost before reaching the writer (its queue was full, or an \
             entry's builder panicked); recorded in the chain as a gap entry"
        );
        let stamp = self.encode(&Rendered::of(&gap_entry(gap)));
        pending.push(Pending {
            ack: Ack::Gap(gap),
            stamp,
        });
        true
    }

    /// Writes what is laid out (synced as the durability says, or when someone asked for a
    /// sync) and tells everyone waiting how it went.
    fn commit_staged(
        &mut self,
        staged: Staged,
        syncs: Vec<oneshot::Sender<Result<Snapshot, Error>>>,
    ) {
        let Staged {
            pending,
            checkpoint,
            ..
        } = staged;
        let must_sync = self.durability == Durability::Fsync || !syncs.is_empty();
        let result = match self.commit(must_sync) {
            Ok(()) => {
                self.recovered();
                #[cfg(feature = "ed25519")]
                self.roll_if_due();
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
            len: self.store.extent(),
        };
        for reply in syncs {
            let _ = reply.send(result.clone().map(|()| snapshot.clone()));
        }
    }

    /// Takes the store for a batch: a shared chain's head, read under its lock, becomes this
    /// writer's state (and the result says the lock is held). On failure the log cannot take
    /// writes until the store answers again.
    fn begin(&mut self) -> Result<bool, Error> {
        match self.store.begin() {
            Ok(Some(h)) => {
                self.entries = h.entries;
                self.next_seq = h.next_seq;
                self.head = h.head;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(fault) => {
                let why = fault.to_string();
                let reopen = self.store.undo(&fault);
                let mut outage = self
                    .outage
                    .take()
                    .unwrap_or_else(|| Outage::new(why.clone(), reopen, self.retry_interval));
                outage.again(why.clone(), reopen, self.retry_interval);
                outage.publish(&self.shared.health);
                tracing::error!(
                    target: "acttrace",
                    log = %self.store.location().display(),
                    error = %why,
                    "audit log cannot take writes: its store refused a batch"
                );
                self.outage = Some(outage);
                Err(self.unavailable_because(&why))
            }
        }
    }

    /// Makes this writer roll a segmented log over.
    #[cfg(feature = "ed25519")]
    pub(super) fn set_roller(&mut self, roller: super::segments::Roller) {
        self.roller = Some(roller);
    }

    /// Seals the segment and moves to the next once it is due (size or age). A failure is
    /// reported and the segment goes on, to be rolled after a later batch.
    #[cfg(feature = "ed25519")]
    fn roll_if_due(&mut self) {
        let Some(roller) = self.roller.as_mut() else {
            return;
        };
        if !roller.due(self.store.extent(), self.entries) {
            return;
        }
        let rolled = self
            .store
            .append(b"", true)
            .map_err(|e| format!("cannot sync the segment: {e}"))
            .and_then(|()| roller.roll(self.entries, &self.head));
        match rolled {
            Ok(next) => self.store = Box::new(next),
            Err(e) => tracing::error!(
                target: "acttrace",
                log = %self.store.location().display(),
                error = %e,
                "audit log segment could not be sealed and rolled over; it goes on, and is \
                 tried again after the next batch"
            ),
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
        if fits(&self.shared, &entry, false).is_err() {
            return;
        }
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

    /// Stores the output buffer (synced if asked; see [`Store::append`]) and publishes the new
    /// head. On failure the buffer is left for the caller to count what was lost.
    fn commit(&mut self, sync: bool) -> Result<(), Fault> {
        self.store.append(self.out.as_bytes(), sync)?;
        self.out.clear();
        self.head_tx.send_replace(Head {
            entries: self.entries,
            hash: self.head.clone(),
        });
        Ok(())
    }

    /// Restores the chain state to before a failed batch (the store takes back its part).
    fn rollback(&mut self, (entries, next_seq, head): (u64, u64, String)) {
        self.entries = entries;
        self.next_seq = next_seq;
        self.head = head;
        self.out.clear();
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
                log = %self.store.location().display(),
                lost,
                refused,
                "audit log closed while it could not take writes: {lost} lost and {refused} \
                 refused entries are recorded nowhere but here and in the log's health"
            );
            return Err(self.unavailable());
        }
        self.begin()?;
        if let Some(entry) = self.outage.as_ref().map(Outage::entry) {
            self.encode(&Rendered::of(&entry));
        }
        self.lay_out_gap(&mut Vec::new());
        match self.commit(true) {
            Ok(()) => {
                self.recovered();
                Ok(())
            }
            Err(fault) => {
                tracing::error!(
                    target: "acttrace",
                    log = %self.store.location().display(),
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
            .field("store", &self.store.location())
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

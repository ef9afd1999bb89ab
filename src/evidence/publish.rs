//! Signed tree heads published while a log runs: one when publishing starts, then every `N`
//! entries and every `T` seconds (whichever comes first, and only when the log has grown), on
//! demand, and a last one when the log closes. Each is a C2SP checkpoint in a signed note
//! ([`crate::evidence::note`]), optionally saved to a file (written whole, then renamed) for a
//! web server or a witness to pick up.
//!
//! The Merkle tree is kept in memory and extended by reading only the lines appended since the
//! last head, so a head costs the new entries' hashing plus a sync, not a pass over the log
//! (rebuilding is about half a second per million entries, done once when publishing starts).
//! Of a segmented log, the tree is one across its segments, read on across each rollover.
//! Nothing of it is stored beside the log: it is derived data, and an auditor rebuilds it from
//! the log ([`Tree::from_log`]).
//!
//! Uses the store (a sync for each head) and the note and proof modules.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::chain::checkpoint::CheckpointKey;
use crate::evidence::note::{NoteError, TreeHead, save_note};
use crate::evidence::proof::{SegmentCursor, Tree, segments_start};
use crate::store::{AuditLog, Head, WeakAuditLog};

/// When and where a log's tree heads are published. See [`AuditLog::publish_tree_heads`].
#[derive(Debug, Clone)]
#[must_use = "a schedule does nothing until `AuditLog::publish_tree_heads` is called"]
pub struct TreeHeads {
    origin: String,
    key: CheckpointKey,
    every_entries: Option<u64>,
    every: Option<Duration>,
    save_to: Option<PathBuf>,
    #[cfg(feature = "rfc3161")]
    tsa: Option<String>,
}

impl TreeHeads {
    /// Heads of the log `origin` (also the note's key name), signed with `key`: only on
    /// demand and at close until [`every_entries`](Self::every_entries) or
    /// [`every`](Self::every) is set.
    pub fn new(origin: impl Into<String>, key: CheckpointKey) -> Self {
        Self {
            origin: origin.into(),
            key,
            every_entries: None,
            every: None,
            save_to: None,
            #[cfg(feature = "rfc3161")]
            tsa: None,
        }
    }

    /// Publishes a head once the log has grown by `entries` since the last one.
    pub fn every_entries(mut self, entries: u64) -> Self {
        self.every_entries = Some(entries.max(1));
        self
    }

    /// Publishes a head every `period` in which the log has grown.
    pub fn every(mut self, period: Duration) -> Self {
        self.every = Some(period.max(Duration::from_millis(1)));
        self
    }

    /// Writes each head's signed note to `path` (replaced whole, readable by all).
    pub fn save_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.save_to = Some(path.into());
        self
    }

    /// Has each head's note timestamped by the RFC 3161 authority at `url`
    /// ([`request_token`](crate::evidence::timestamp::request_token)); the token is kept in
    /// [`Published::timestamp`] and saved beside the note (`NOTE.tst`). A head whose token
    /// cannot be had is not published: the error is reported and tried again at the next
    /// trigger.
    #[cfg(feature = "rfc3161")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rfc3161")))]
    pub fn timestamp_by(mut self, url: impl Into<String>) -> Self {
        self.tsa = Some(url.into());
        self
    }
}

/// A published tree head and its signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The head: origin, size and root.
    pub head: TreeHead,
    /// The signed note carrying it, as saved.
    pub note: String,
    /// The RFC 3161 token over the note, with [`TreeHeads::timestamp_by`].
    #[cfg(feature = "rfc3161")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rfc3161")))]
    pub timestamp: Option<crate::evidence::timestamp::TimestampToken>,
}

/// What the publisher has done: the last head it published, and the last error if the
/// latest attempt failed (it tries again at the next trigger).
#[derive(Debug, Clone, Default)]
pub struct PublishState {
    /// The last head published.
    pub latest: Option<Arc<Published>>,
    /// Why the latest attempt failed, cleared by the next success.
    pub error: Option<NoteError>,
}

type Request = oneshot::Sender<Result<Arc<Published>, NoteError>>;

/// Publishes a running log's tree heads. Publishing lasts as long as this handle: drop it, or
/// call [`stop`](Self::stop), to end it. See [`AuditLog::publish_tree_heads`].
pub struct TreeHeadPublisher {
    state: watch::Receiver<PublishState>,
    requests: mpsc::Sender<Request>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for TreeHeadPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeHeadPublisher")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl TreeHeadPublisher {
    /// The last head published.
    pub fn latest(&self) -> Option<Arc<Published>> {
        self.state.borrow().latest.clone()
    }

    /// The last head and the latest error, if the latest attempt failed.
    pub fn state(&self) -> PublishState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every change of [`state`](Self::state): to serve or forward the
    /// heads as they come.
    pub fn subscribe(&self) -> watch::Receiver<PublishState> {
        self.state.clone()
    }

    /// Syncs the log and publishes a head of everything appended so far, now.
    ///
    /// # Errors
    ///
    /// [`NoteError::Log`] when the log is closed or cannot be synced or read, or the note
    /// cannot be saved.
    pub async fn publish_now(&self) -> Result<Arc<Published>, NoteError> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(reply)
            .await
            .map_err(|_| closed("the publisher has stopped"))?;
        rx.await.map_err(|_| closed("the publisher has stopped"))?
    }

    /// Waits for the log to close and its last head to be published, and gives the final
    /// state. Call it after [`AuditLog::shutdown`]; before, it waits for that.
    pub async fn closed(mut self) -> PublishState {
        // Keep the request channel open: its closing would stop the task early.
        let _ = (&mut self.task).await;
        self.state.borrow().clone()
    }

    /// Stops publishing, without a last head.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl AuditLog {
    /// Starts publishing this log's signed tree heads as `schedule` says: one now, then every
    /// `N` entries or `T` seconds, on demand ([`TreeHeadPublisher::publish_now`]), and one
    /// covering everything when the log closes. A head that cannot be made or saved is
    /// reported (a `tracing` error, and [`TreeHeadPublisher::state`]) and tried again at the
    /// next trigger.
    ///
    /// ```
    /// use std::time::Duration;
    /// use acttrace::chain::Entry;
    /// use acttrace::chain::checkpoint::CheckpointKey;
    /// use acttrace::evidence::note::{NoteVerifier, TreeHead};
    /// use acttrace::evidence::publish::TreeHeads;
    /// use acttrace::json::Map;
    /// use acttrace::store::AuditLog;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("acttrace-doc-publish-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let key = CheckpointKey::generate()?;
    /// let verifier = NoteVerifier::new("example.com/loan-triage", &key.public())?;
    /// let log = AuditLog::open("loan-triage", dir.join("audit.jsonl")).await?;
    /// let heads = log
    ///     .publish_tree_heads(
    ///         TreeHeads::new("example.com/loan-triage", key)
    ///             .every_entries(1_000)
    ///             .every(Duration::from_secs(60))
    ///             .save_to(dir.join("audit.jsonl.note")),
    ///     )
    ///     .await?;
    /// log.append(Entry::new("decision", Map::new())).await?;
    /// log.shutdown().await?;
    ///
    /// // The last head covers everything: audit_open and the decision.
    /// let last = heads.closed().await.latest.expect("a head at close");
    /// assert_eq!(last.head.size, 2);
    /// let saved = std::fs::read_to_string(dir.join("audit.jsonl.note"))?;
    /// assert_eq!(TreeHead::open(&saved, &verifier)?, last.head);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The first head cannot be made or saved ([`NoteError`]): a wrong origin, an unwritable
    /// `save_to`, a log that cannot be read.
    pub async fn publish_tree_heads(
        &self,
        schedule: TreeHeads,
    ) -> Result<TreeHeadPublisher, NoteError> {
        let mut publisher = Publisher {
            log: self.downgrade(),
            path: self.path().to_owned(),
            database: self.database().map(|(u, c)| (u.to_owned(), c.to_owned())),
            segments: self.path().is_dir().then(SegmentCursor::default),
            schedule,
            tree: Tree::new(),
            read_to: 0,
        };
        let first = publisher.publish(self).await?;
        let (state_tx, state) = watch::channel(PublishState {
            latest: Some(first),
            error: None,
        });
        let (requests, rx) = mpsc::channel(8);
        let heads = self.head_watch();
        let task = tokio::spawn(publisher.run(heads, rx, state_tx));
        Ok(TreeHeadPublisher {
            state,
            requests,
            task,
        })
    }
}

/// The task's state: the tree of the log's first `read_to` bytes.
struct Publisher {
    log: WeakAuditLog,
    path: PathBuf,
    /// The database URL and chain, for a chain kept in PostgreSQL: read from there, where
    /// `read_to` counts entries rather than bytes.
    database: Option<(String, String)>,
    /// For a segmented log (a directory), where the tree has read to; `read_to` then counts
    /// entries too.
    segments: Option<SegmentCursor>,
    schedule: TreeHeads,
    tree: Tree,
    read_to: u64,
}

enum Trigger {
    Grown,
    Tick,
    Asked(Request),
    Closed,
    Dropped,
}

impl Publisher {
    async fn run(
        mut self,
        mut heads: watch::Receiver<Head>,
        mut requests: mpsc::Receiver<Request>,
        state: watch::Sender<PublishState>,
    ) {
        let mut ticker = self.schedule.every.map(|period| {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            let trigger = tokio::select! {
                changed = heads.changed() => match changed {
                    Ok(()) => Trigger::Grown,
                    Err(_) => Trigger::Closed,
                },
                () = tick(ticker.as_mut()) => Trigger::Tick,
                asked = requests.recv() => asked.map_or(Trigger::Dropped, Trigger::Asked),
            };
            let grown = heads.borrow_and_update().entries > self.tree.size();
            let result = match trigger {
                Trigger::Grown => {
                    let entries = heads.borrow().entries;
                    match self.schedule.every_entries {
                        Some(n) if entries >= self.tree.size() + n => self.publish_running().await,
                        _ => continue,
                    }
                }
                Trigger::Tick if grown => self.publish_running().await,
                Trigger::Tick => continue,
                Trigger::Asked(reply) => {
                    let result = self.publish_running().await;
                    let _ = reply.send(result.clone());
                    result
                }
                Trigger::Closed => {
                    let head = heads.borrow().clone();
                    let last = self.publish_closed(&head).await;
                    record(&state, last);
                    return;
                }
                Trigger::Dropped => return,
            };
            record(&state, result);
        }
    }

    /// A head of the running log: synced first, so that it covers everything appended.
    async fn publish_running(&mut self) -> Result<Arc<Published>, NoteError> {
        let log = self
            .log
            .upgrade()
            .ok_or_else(|| closed("the log is closing"))?;
        self.publish(&log).await
    }

    async fn publish(&mut self, log: &AuditLog) -> Result<Arc<Published>, NoteError> {
        let snap = log
            .snapshot()
            .await
            .map_err(|e| NoteError::Log(e.to_string()))?;
        let len = match self.segments {
            Some(_) => snap.head.entries,
            None => snap.len,
        };
        self.extend(len, snap.head.entries).await?;
        self.sign().await
    }

    /// The last head, once the writer has stopped: of the file as it left it (of a database
    /// chain, as far as the writer's last batch).
    async fn publish_closed(&mut self, head: &Head) -> Result<Arc<Published>, NoteError> {
        let len = match (&self.database, self.segments) {
            (Some(_), _) | (_, Some(_)) => head.entries,
            (None, None) => std::fs::metadata(&self.path)
                .map_err(|e| NoteError::Log(format!("{}: {e}", self.path.display())))?
                .len(),
        };
        self.extend(len, head.entries).await?;
        self.sign().await
    }

    /// Brings the tree to the log's first `len` bytes, which hold `entries` entries. Reads
    /// only the new bytes; rebuilds from the start if the count does not match (the file was
    /// cut back or replaced), and fails if it still does not.
    async fn extend(&mut self, len: u64, entries: u64) -> Result<(), NoteError> {
        if len >= self.read_to {
            let tree = std::mem::take(&mut self.tree);
            if let Ok(tree) = self.read(tree, self.read_to, len).await?
                && tree.size() == entries
            {
                self.tree = tree;
                self.read_to = len;
                return Ok(());
            }
        }
        self.read_to = 0;
        let tree = self
            .read(Tree::new(), 0, len)
            .await?
            .map_err(|e| NoteError::Log(e.to_string()))?;
        if tree.size() != entries {
            return Err(NoteError::Log(format!(
                "{} holds {} entries in its first {len} bytes where the writer has {entries}",
                self.path.display(),
                tree.size()
            )));
        }
        self.tree = tree;
        self.read_to = len;
        Ok(())
    }

    /// `tree` extended by the log's bytes `from..to` (for a chain in a database: its entries
    /// `from..to`), read on the blocking pool.
    async fn read(
        &mut self,
        mut tree: Tree,
        from: u64,
        to: u64,
    ) -> Result<Result<Tree, crate::evidence::proof::ProofError>, NoteError> {
        let path = self.path.clone();
        let database = self.database.clone();
        // Of a segmented log, from where the tree stopped (or its start, to rebuild: the
        // first segment, or the first one kept after retention).
        let mut cursor = self.segments.filter(|_| from > 0).unwrap_or_default();
        let segmented = self.segments.is_some();
        let (read, cursor) = tokio::task::spawn_blocking(move || {
            let read = match database {
                Some((url, chain)) => extend_from_database(tree, &url, &chain, from, to),
                None if segmented => {
                    let start = match from {
                        0 => segments_start(&path),
                        _ => Ok((tree, cursor)),
                    };
                    start.and_then(|(mut tree, start)| {
                        cursor = start;
                        tree.extend_from_segments(&path, &mut cursor, to)
                            .map(|()| tree)
                    })
                }
                None => tree.extend_from_log(&path, from, to).map(|()| tree),
            };
            (read, cursor)
        })
        .await
        .map_err(|e| NoteError::Log(e.to_string()))?;
        if read.is_ok() && segmented {
            self.segments = Some(cursor);
        }
        Ok(read)
    }

    async fn sign(&self) -> Result<Arc<Published>, NoteError> {
        let origin = &self.schedule.origin;
        let head = TreeHead::of(&self.tree, origin)?;
        let note = head.sign(origin, &self.schedule.key)?;
        #[cfg(feature = "rfc3161")]
        let timestamp = match &self.schedule.tsa {
            Some(url) => {
                let (url, text) = (url.clone(), note.clone());
                let token = tokio::task::spawn_blocking(move || {
                    crate::evidence::timestamp::request_token(&url, text.as_bytes())
                })
                .await
                .map_err(|e| NoteError::Log(e.to_string()))?
                .map_err(|e| NoteError::Log(format!("cannot timestamp the tree head: {e}")))?;
                Some(token)
            }
            None => None,
        };
        if let Some(path) = &self.schedule.save_to {
            let (path, text) = (path.clone(), note.clone());
            #[cfg(feature = "rfc3161")]
            let token = timestamp.clone();
            tokio::task::spawn_blocking(move || {
                // The token first: a note on disk always has its token beside it.
                #[cfg(feature = "rfc3161")]
                if let Some(token) = &token {
                    let mut name = path.as_os_str().to_owned();
                    name.push(".tst");
                    let at = PathBuf::from(name);
                    crate::evidence::timestamp::save_token(&at, token).map_err(|e| {
                        NoteError::Log(format!("cannot save {}: {e}", at.display()))
                    })?;
                }
                save(&path, &text)
            })
            .await
            .map_err(|e| NoteError::Log(e.to_string()))??;
        }
        tracing::debug!(target: "acttrace", size = head.size, "published a tree head");
        Ok(Arc::new(Published {
            head,
            note,
            #[cfg(feature = "rfc3161")]
            timestamp,
        }))
    }
}

/// The tree of a database chain's first `entries` entries.
pub(crate) fn tree_of_database(
    url: &str,
    chain: &str,
    entries: u64,
) -> Result<Tree, crate::evidence::proof::ProofError> {
    extend_from_database(Tree::new(), url, chain, 0, entries)
}

/// `tree` extended by a database chain's entries `from..to`.
#[cfg_attr(not(feature = "postgres"), allow(unused_variables, unused_mut))]
fn extend_from_database(
    mut tree: Tree,
    url: &str,
    chain: &str,
    from: u64,
    to: u64,
) -> Result<Tree, crate::evidence::proof::ProofError> {
    #[cfg(feature = "postgres")]
    {
        let read = |e: std::io::Error| crate::evidence::proof::ProofError::Read(e.to_string());
        if to > from {
            let reader =
                crate::store::postgres::ChainReader::open_from(url, chain, from, Some(to - 1))
                    .map_err(read)?;
            tree.extend_from_lines(std::io::BufReader::new(reader))?;
        }
        Ok(tree)
    }
    #[cfg(not(feature = "postgres"))]
    Err(crate::evidence::proof::ProofError::Read(
        "a database chain needs the postgres feature".into(),
    ))
}

fn save(path: &Path, note: &str) -> Result<(), NoteError> {
    save_note(path, note)
        .map_err(|e| NoteError::Log(format!("cannot save {}: {e}", path.display())))
}

fn record(state: &watch::Sender<PublishState>, result: Result<Arc<Published>, NoteError>) {
    state.send_modify(|s| match result {
        Ok(published) => {
            s.latest = Some(published);
            s.error = None;
        }
        Err(e) => {
            tracing::error!(target: "acttrace", error = %e, "cannot publish the log's tree head");
            s.error = Some(e);
        }
    });
}

fn closed(what: &str) -> NoteError {
    NoteError::Log(what.to_owned())
}

async fn tick(ticker: Option<&mut tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;

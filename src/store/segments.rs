//! Logs that live for years: a directory of segments, one file each, that the writer closes by
//! size or age, seals with a signed checkpoint, and follows with the next, linked to the
//! previous head. The set is one chain (`acttrace verify DIR`), each sealed segment verifies
//! alone after its predecessor's seal, and retention deletes old sealed segments only with a
//! signed record of what went (`retain`).
//!
//! ```text
//! DIR/segment-000001.jsonl        the chain's first entries (audit_open ...)
//! DIR/segment-000001.jsonl.seal   signed checkpoint: entries and head at its end
//! DIR/segment-000002.jsonl        continues from that head
//! DIR/retention.json              after `acttrace retain`: what was deleted, signed
//! ```
//!
//! Uses the file store, the format's checkpoints and the writer.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::chain::checkpoint::{Checkpoint, CheckpointKey};
use crate::chain::hash::SigningKey;
use crate::store::Error;
use crate::store::file::{self, FileStore, OnCorrupt};
use crate::verify::segments::{list, read_record, seal_path, segment_name};

/// How a segmented log rolls over: by size, by age, sealing each segment with `seal_key`.
/// See [`AuditLogBuilder::open_segments`](crate::store::AuditLogBuilder::open_segments).
#[derive(Debug, Clone)]
#[must_use]
pub struct Segments {
    pub(crate) seal_key: CheckpointKey,
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Option<Duration>,
}

impl Segments {
    /// Segments sealed with `seal_key` (an Ed25519 key from `acttrace keygen`), closed at 64
    /// MiB and never by age until [`max_age`](Self::max_age) is set.
    pub fn new(seal_key: CheckpointKey) -> Self {
        Self {
            seal_key,
            max_bytes: 64 << 20,
            max_age: None,
        }
    }

    /// Closes a segment once it holds `bytes` (checked after each batch).
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// Closes a segment once it is `age` old (checked after each batch): since its first
    /// entry's time stamp, across restarts of the service.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }
}

/// The writer's rollover state.
#[derive(Debug)]
pub(crate) struct Roller {
    dir: PathBuf,
    policy: Segments,
    index: u64,
    /// When this process opened or began the segment, and how old it was then.
    opened: Instant,
    aged: Duration,
    /// The chain's count when this segment began: a segment is never sealed empty.
    start_entries: u64,
    system: String,
    key: Option<SigningKey>,
    lock_wait: Duration,
    mode: u32,
}

/// What opening a segment directory found: the active segment, opened and checked, and the
/// chain it continues.
pub(crate) struct Opening {
    pub(crate) path: PathBuf,
    pub(crate) opened: file::Opened,
    pub(crate) after: Option<(u64, String)>,
    pub(crate) roller: Roller,
}

/// Opens the active segment of `dir` (a new one after a sealed last one), checking the seal it
/// continues from.
pub(crate) fn open(
    dir: &Path,
    policy: Segments,
    system: &str,
    key: Option<&SigningKey>,
    lock_wait: Duration,
    mode: u32,
) -> Result<Opening, Error> {
    let fail = |e: std::io::Error| Error::open(dir, e);
    fs::create_dir_all(dir).map_err(fail)?;
    let mut segments = list(dir).map_err(fail)?;
    if let [.., (_, prev), (_, last)] = segments.as_slice()
        && stopped_rollover(prev, last, lock_wait)?
    {
        segments.pop();
    }
    let retained = read_record(dir).map_err(|e| fail(std::io::Error::other(e)))?;
    if let Some(r) = &retained
        && !r.is_signed_by(&policy.seal_key.public())
    {
        return Err(fail(std::io::Error::other(
            "the retention record is not signed by this log's seal key",
        )));
    }
    let public = policy.seal_key.public();
    let read_seal = |segment: &Path| -> Result<Checkpoint, Error> {
        let seal = Checkpoint::read(seal_path(segment))
            .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
        if !seal.is_signed_by(&public) {
            return Err(fail(std::io::Error::other(format!(
                "the seal of {} is not signed by this log's seal key",
                segment.display()
            ))));
        }
        Ok(seal)
    };
    let (index, after) = match segments.last() {
        None => match &retained {
            Some(r) => (
                r.next_segment,
                Some((r.checkpoint.entries, r.checkpoint.head.clone())),
            ),
            None => (1, None),
        },
        Some((last, path)) if seal_path(path).exists() => {
            let seal = read_seal(path)?;
            (last + 1, Some((seal.entries, seal.head)))
        }
        Some((last, _)) => {
            let before = segments.iter().rev().nth(1);
            let after = match before {
                Some((_, prev)) => {
                    let seal = read_seal(prev)?;
                    Some((seal.entries, seal.head))
                }
                None => retained
                    .as_ref()
                    .map(|r| (r.checkpoint.entries, r.checkpoint.head.clone())),
            };
            (*last, after)
        }
    };
    let path = dir.join(segment_name(index));
    let opened = file::open_after(
        &path,
        key,
        OnCorrupt::Refuse,
        lock_wait,
        mode,
        after.as_ref().map(|(n, h)| (*n, h.as_str())),
    )?;
    let roller = Roller {
        dir: dir.to_owned(),
        policy,
        index,
        opened: Instant::now(),
        aged: age(&path),
        start_entries: after.as_ref().map_or(0, |(n, _)| *n),
        system: system.to_owned(),
        key: key.cloned(),
        lock_wait,
        mode,
    };
    Ok(Opening {
        path,
        opened,
        after,
        roller,
    })
}

/// How old the segment at `path` is: since its first entry's time stamp, so that its age runs
/// across restarts of the service; zero for an empty one (or a time stamp that cannot be
/// read, or one ahead of the clock).
fn age(path: &Path) -> Duration {
    use std::io::Read as _;
    // A line starts `{"seq": N, "ts": "...`: its first bytes hold the time stamp.
    let mut head = Vec::new();
    let read = fs::File::open(path).and_then(|f| f.take(256).read_to_end(&mut head));
    let ts = read.ok().and_then(|_| {
        let text = String::from_utf8_lossy(&head);
        let at = text.find("\"ts\": \"")? + 7;
        let end = at + text.get(at..)?.find('"')?;
        crate::chain::time::seconds(&text[at..end])
    });
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    ts.map(|t| since_epoch - t)
        .filter(|age| age.is_finite() && *age > 0.0)
        .and_then(|age| Duration::try_from_secs_f64(age).ok())
        .unwrap_or_default()
}

/// Whether `last` is the segment a rollover made before it was killed, ahead of sealing
/// `prev`: empty, and `prev` unsealed. It is removed (no writer holds it: its lock is taken
/// first), and `prev`, which holds the chain's end, is written on and sealed in its turn.
fn stopped_rollover(prev: &Path, last: &Path, lock_wait: Duration) -> Result<bool, Error> {
    let empty = fs::metadata(last).is_ok_and(|m| m.len() == 0);
    if !empty || seal_path(last).exists() || seal_path(prev).exists() {
        return Ok(false);
    }
    let file = OpenOptions::new()
        .read(true)
        .open(last)
        .map_err(|e| Error::open(last, e))?;
    file::lock(&file, last, lock_wait)?;
    fs::remove_file(last).map_err(|e| Error::open(last, e))?;
    file::sync_dir(last).map_err(|e| Error::open(last, e))?;
    tracing::warn!(
        target: "acttrace",
        removed = %last.display(),
        continuing = %prev.display(),
        "a rollover was stopped before it sealed the segment it closed: its new, empty \
         segment removed, the chain goes on where it ended"
    );
    Ok(true)
}

impl Roller {
    /// Whether the segment is due to close, holding `len` bytes and the chain `entries`.
    pub(crate) fn due(&self, len: u64, entries: u64) -> bool {
        entries > self.start_entries
            && (len >= self.policy.max_bytes
                || self
                    .policy
                    .max_age
                    .is_some_and(|a| self.aged + self.opened.elapsed() >= a))
    }

    /// Makes the next segment's file, then seals the current one at `entries`/`head` (synced
    /// by the caller). Gives the new store; on failure nothing changed but a new empty file
    /// removed again.
    pub(crate) fn roll(&mut self, entries: u64, head: &str) -> Result<FileStore, String> {
        let current = self.dir.join(segment_name(self.index));
        let next = self.dir.join(segment_name(self.index + 1));
        let shown = next.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(self.mode)
            .open(&next)
            .map_err(|e| format!("cannot create {shown}: {e}"))?;
        let made = (|| -> Result<FileStore, String> {
            file::lock(&file, &next, self.lock_wait).map_err(|e| e.to_string())?;
            file::sync_dir(&next).map_err(|e| format!("cannot sync {shown}'s directory: {e}"))?;
            let id = file::file_id(
                &file
                    .metadata()
                    .map_err(|e| format!("cannot read {shown}: {e}"))?,
            );
            let seal = self.policy.seal_key.sign(&self.system, entries, head);
            seal.save(seal_path(&current)).map_err(|e| e.to_string())?;
            Ok(
                FileStore::new(file, id, &next, 0, self.key.clone(), self.lock_wait)
                    .continuing(entries, head),
            )
        })();
        match made {
            Ok(store) => {
                self.index += 1;
                self.opened = Instant::now();
                self.aged = Duration::ZERO;
                self.start_entries = entries;
                tracing::info!(
                    target: "acttrace",
                    sealed = %current.display(),
                    next = %shown,
                    entries,
                    "audit log segment sealed; the next one continues the chain"
                );
                Ok(store)
            }
            Err(e) => {
                let _ = fs::remove_file(&next);
                Err(e)
            }
        }
    }
}

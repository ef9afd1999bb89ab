//! What the log records about itself: when it cannot take writes, the writer's [`Health`], the
//! count of what was lost and the `write_failure` entry that records the hole once the log is
//! back; entries lost to a full queue (`gap`); a repair made on opening (`recovery`).
//!
//! Owns no I/O: the writer tells it what failed and what was lost, and asks it for the entry to
//! write on recovery. Uses only the entry and value types.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::chain::entry::Entry;
use crate::chain::time::format_timestamp;
use crate::json::value::{Map, Value};
use crate::store::file::Recovery;

/// The writer's health, for readiness probes and dashboards: see [`AuditLog::health`].
///
/// ```
/// use acttrace::store::AuditLog;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), acttrace::BoxError> {
/// # let path = std::env::temp_dir().join(format!("acttrace-health-doc-{}.jsonl", std::process::id()));
/// let log = AuditLog::open("loan-approval", &path).await?;
/// let health = log.health();
/// assert!(health.is_healthy());
/// assert_eq!((health.lost, health.refused), (0, 0));
/// println!("{health}"); // "healthy: 0 entries lost, 0 refused since the log was opened"
/// # log.shutdown().await?;
/// # std::fs::remove_file(&path)?;
/// # Ok(()) }
/// ```
///
/// [`AuditLog::health`]: super::AuditLog::health
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// When the current failure began; `None` while the log takes writes.
    pub failing_since: Option<SystemTime>,
    /// The last write error (kept after a recovery, for the record).
    pub last_error: Option<String>,
    /// Entries nobody waited on (the layers' `decision`s, the client's `llm_call`s, ...) that
    /// did not reach the chain since the log was opened: a full queue, a failed write or an
    /// entry too large. Each
    /// is also reported through `tracing` at error level and recorded in the chain, in a `gap`
    /// or `write_failure` entry, as soon as the log takes writes again.
    pub lost: u64,
    /// Appends refused with an error since the log was opened: their callers were told.
    pub refused: u64,
}

impl Health {
    /// Whether the log is taking writes.
    pub fn is_healthy(&self) -> bool {
        self.failing_since.is_none()
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failing_since {
            None => f.write_str("healthy")?,
            Some(t) => write!(f, "failing since {}", format_timestamp(t))?,
        }
        write!(
            f,
            ": {} entries lost, {} refused since the log was opened",
            self.lost, self.refused
        )?;
        if let (Some(_), Some(e)) = (self.failing_since, &self.last_error) {
            write!(f, " (last error: {e})")?;
        }
        Ok(())
    }
}

/// The health the writer publishes and every handle reads.
#[derive(Debug, Default)]
pub(crate) struct HealthCell {
    /// Read on every request by a fail-closed layer: one relaxed load.
    failing: AtomicBool,
    lost: AtomicU64,
    refused: AtomicU64,
    detail: Mutex<(Option<SystemTime>, Option<String>)>,
}

impl HealthCell {
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// The health, with `pending` losses not yet taken by the writer.
    pub(crate) fn get(&self, pending: u64) -> Health {
        let (failing_since, last_error) = self.detail.lock().map(|d| d.clone()).unwrap_or_default();
        Health {
            failing_since,
            last_error,
            lost: self.lost.load(Ordering::Relaxed) + pending,
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count(&self, lost: u64, refused: u64) {
        self.lost.fetch_add(lost, Ordering::Relaxed);
        self.refused.fetch_add(refused, Ordering::Relaxed);
    }

    /// Marks the log shut down: it takes no more writes, and says so.
    pub(crate) fn close(&self) {
        self.set(
            Some(SystemTime::now()),
            Some("the audit log is shut down".to_owned()),
        );
    }

    /// Takes back losses counted when taken, whose record failed and will be retaken.
    pub(crate) fn uncount(&self, lost: u64) {
        self.lost.fetch_sub(lost, Ordering::Relaxed);
    }

    fn set(&self, since: Option<SystemTime>, error: Option<String>) {
        if let Ok(mut d) = self.detail.lock() {
            d.0 = since;
            if error.is_some() {
                d.1 = error;
            }
        }
        self.failing.store(since.is_some(), Ordering::Relaxed);
    }
}

/// What must happen before the writer may write again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reopen {
    /// Nothing: the failed batch was cut off and the file is as it was; the next batch tries.
    No,
    /// The failed batch could not be cut off: reopen the file, cut it back to this length (the
    /// bytes past it are this writer's own unacknowledged ones), check it ends at the head.
    CutBackTo(u64),
    /// The file at the path is not (or no longer only) this writer's: replaced, moved, deleted
    /// or appended to by someone else. Reopen it only if it is this writer's file again and
    /// ends exactly at the head; never cut it.
    Foreign,
}

/// A failure in progress: when it began, what it has cost, and what recovery needs.
#[derive(Debug)]
pub(crate) struct Outage {
    began: SystemTime,
    first_error: String,
    last_error: String,
    /// Entries nobody waited on, by type.
    lost: BTreeMap<String, u64>,
    /// Entries whose caller got an error, by type.
    refused: BTreeMap<String, u64>,
    failed_writes: u64,
    pub(crate) reopen: Reopen,
    next_attempt: Instant,
}

impl Outage {
    pub(crate) fn new(error: String, reopen: Reopen, retry: Duration) -> Self {
        Self {
            began: SystemTime::now(),
            first_error: error.clone(),
            last_error: error,
            lost: BTreeMap::new(),
            refused: BTreeMap::new(),
            failed_writes: 0,
            reopen,
            next_attempt: Instant::now() + retry,
        }
    }

    /// A further failure while this one lasts.
    pub(crate) fn again(&mut self, error: String, reopen: Reopen, retry: Duration) {
        self.last_error = error;
        // A foreign file stays foreign until proven otherwise; a cut is kept until made.
        if self.reopen != Reopen::Foreign {
            self.reopen = match (self.reopen, reopen) {
                (Reopen::CutBackTo(at), Reopen::No) => Reopen::CutBackTo(at),
                (_, r) => r,
            };
        }
        self.next_attempt = Instant::now() + retry;
    }

    pub(crate) fn failed_write(&mut self) {
        self.failed_writes += 1;
    }

    pub(crate) fn retry_due(&self) -> bool {
        Instant::now() >= self.next_attempt
    }

    /// How long until the next recovery attempt.
    pub(crate) fn retry_in(&self) -> Duration {
        self.next_attempt.saturating_duration_since(Instant::now())
    }

    pub(crate) fn lose(&mut self, kind: &str, n: u64, awaited: bool) {
        let by = if awaited {
            &mut self.refused
        } else {
            &mut self.lost
        };
        *by.entry(kind.to_owned()).or_default() += n;
    }

    pub(crate) fn last_error(&self) -> &str {
        &self.last_error
    }

    pub(crate) fn publish(&self, cell: &HealthCell) {
        cell.set(Some(self.began), Some(self.last_error.clone()));
    }

    pub(crate) fn totals(&self) -> (u64, u64) {
        (self.lost.values().sum(), self.refused.values().sum())
    }

    /// The `write_failure` entry recording this outage, ended now.
    pub(crate) fn entry(&self) -> Entry {
        let by_type = |m: &BTreeMap<String, u64>| {
            let mut out = Map::new();
            for (k, n) in m {
                out.insert(k.as_str(), *n);
            }
            Value::Object(out)
        };
        let (lost, refused) = self.totals();
        let mut p = Map::new();
        p.set("began", format_timestamp(self.began));
        p.set("ended", format_timestamp(SystemTime::now()));
        p.set("lost", lost);
        p.set("lost_by_type", by_type(&self.lost));
        p.set("refused", refused);
        p.set("refused_by_type", by_type(&self.refused));
        p.set("failed_writes", self.failed_writes);
        p.set("error", self.first_error.as_str());
        if self.last_error != self.first_error {
            p.set("last_error", self.last_error.as_str());
        }
        p.set(
            "reason",
            "the log could not take writes: the entries counted here are not in the chain \
             (lost: nobody waited on them; refused: their callers got an error)",
        );
        Entry::own("write_failure", p)
    }
}

/// Marks the log healthy again after `outage` was recorded.
pub(crate) fn recovered(cell: &HealthCell) {
    cell.set(None, None);
}

/// The type named by a laid-out entry's JSON string (`"decision"` -> `decision`).
pub(crate) fn kind_name(json: &str) -> String {
    match Value::parse(json) {
        Ok(Value::String(s)) => s,
        _ => json.to_owned(),
    }
}

/// Records that `dropped` entries never reached the chain.
pub(super) fn gap_entry(dropped: u64) -> Entry {
    let mut p = Map::new();
    p.set("dropped", dropped);
    p.set(
        "reason",
        "entries lost before reaching the chain (queue full, failed write or entry too large)",
    );
    Entry::own("gap", p)
}

pub(super) fn recovery_entry(r: &Recovery) -> Entry {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_counts_by_type_and_records_itself() {
        let mut o = Outage::new("EIO".into(), Reopen::CutBackTo(10), Duration::ZERO);
        o.lose("decision", 2, false);
        o.lose("llm_call", 1, false);
        o.lose("decision_record", 1, true);
        o.failed_write();
        o.again("EPERM".into(), Reopen::No, Duration::ZERO);
        assert_eq!(o.reopen, Reopen::CutBackTo(10), "a pending cut is kept");
        o.again("moved".into(), Reopen::Foreign, Duration::ZERO);
        o.again("EIO".into(), Reopen::No, Duration::ZERO);
        assert_eq!(o.reopen, Reopen::Foreign, "foreign stays foreign");
        let e = o.entry();
        assert_eq!(e.kind(), "write_failure");
        let p = e.payload();
        assert_eq!(p.get("lost").and_then(Value::as_u64), Some(3));
        assert_eq!(p.get("refused").and_then(Value::as_u64), Some(1));
        let by = p.get("lost_by_type").and_then(Value::as_object).unwrap();
        assert_eq!(by.get("decision").and_then(Value::as_u64), Some(2));
        assert_eq!(p.get("error").and_then(Value::as_str), Some("EIO"));
        assert_eq!(p.get("last_error").and_then(Value::as_str), None);
        assert_eq!(kind_name("\"llm_call\""), "llm_call");
    }

    #[test]
    fn health_reads_as_a_sentence() {
        let cell = HealthCell::default();
        assert_eq!(
            cell.get(2).to_string(),
            "healthy: 2 entries lost, 0 refused since the log was opened"
        );
        let o = Outage::new("disk gone".into(), Reopen::No, Duration::ZERO);
        o.publish(&cell);
        assert!(cell.is_failing());
        let h = cell.get(0);
        assert!(!h.is_healthy());
        assert!(h.to_string().contains("(last error: disk gone)"), "{h}");
        recovered(&cell);
        let h = cell.get(0);
        assert!(h.is_healthy());
        assert_eq!(h.last_error.as_deref(), Some("disk gone"));
    }
}

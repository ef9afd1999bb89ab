//! The auditor's report: one self-contained HTML file (no network, no script) that says
//! whether the log verifies and what that covered, then what it holds: decisions over time,
//! model calls and cost per model, policy flags and blocks, human oversight (who reviewed what,
//! and how soon), failed calls and write failures, and what each framework's controls rest
//! on, every claim linked to the entries behind it. Plots are inline SVG. Every value that
//! comes from a payload is escaped for HTML, and characters that could reorder or hide text
//! (controls, bidirectional overrides) are shown as escapes.
//!
//! ```
//! use acttrace::chain::Entry;
//! use acttrace::evidence::report::{ReportOptions, html_report};
//! use acttrace::json::Map;
//! use acttrace::store::AuditLog;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("acttrace-doc-report-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let log = AuditLog::open("loan-triage", dir.join("audit.jsonl")).await?;
//! let mut p = Map::new();
//! p.insert("note", "<script>alert(1)</script>");
//! log.append(Entry::new("decision", p)).await?;
//! log.shutdown().await?;
//!
//! let html = html_report(&dir.join("audit.jsonl"), &ReportOptions::new())?;
//! assert!(html.contains("Verified"));
//! assert!(!html.contains("<script>"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! The page lists the entries its claims link to, not every entry, so that a report of a large
//! log stays a page a browser opens (100,000 entries: about 40 KB, made in about a second).
//! Making it reads the log twice and keeps no entry's payload: what it holds grows with the
//! log's decisions (an id, a seq, a time and an outcome each), reviews and failures, not with
//! its entries. A [`Period`] (a quarter, say) cuts the sections, and what they hold, to the
//! entries of that span of time, while the verdict still covers the whole chain: a log kept
//! for years is reported one period at a time.
//!
//! Uses the format, the verifier and the pack's control mappings.

mod facts;
mod render;

use std::io::{BufRead as _, Read as _};
use std::path::Path;

use crate::chain::Framework;
use crate::chain::hash::SigningKey;
use crate::json::value::{Map, Value};
use crate::verify::{Report, VerifyOptions, verify_path};

use self::facts::Facts;
use crate::evidence::period::Period;

/// How to make a report with [`html_report`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ReportOptions {
    key: Option<SigningKey>,
    max_line_bytes: Option<usize>,
    #[cfg(feature = "ed25519")]
    checkpoint: Option<(
        crate::chain::checkpoint::Checkpoint,
        crate::chain::checkpoint::PublicKey,
    )>,
    #[cfg(feature = "ed25519")]
    tree_head: Option<(String, crate::evidence::note::NoteVerifier)>,
    #[cfg(feature = "ed25519")]
    seal_key: Option<crate::chain::checkpoint::PublicKey>,
    source: Option<String>,
    period: Period,
}

impl ReportOptions {
    /// Defaults: signatures not checked (no key).
    pub fn new() -> Self {
        Self::default()
    }

    /// The log's signing key: signatures are checked, and the report says so.
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// A signed checkpoint to check the log against (see [`VerifyOptions::checkpoint`]); the
    /// report says whether it holds.
    #[cfg(feature = "ed25519")]
    pub fn checkpoint(
        mut self,
        checkpoint: crate::chain::checkpoint::Checkpoint,
        key: crate::chain::checkpoint::PublicKey,
    ) -> Self {
        self.checkpoint = Some((checkpoint, key));
        self
    }

    /// A signed tree head (a C2SP note) and its verifier: the report says whether the log is,
    /// or extends, the tree it signs.
    #[cfg(feature = "ed25519")]
    pub fn tree_head(
        mut self,
        note: impl Into<String>,
        verifier: crate::evidence::note::NoteVerifier,
    ) -> Self {
        self.tree_head = Some((note.into(), verifier));
        self
    }

    /// The key a segmented log's seals (and retention record) are checked with, when the
    /// report is of a segment directory (see [`verify_segments`](crate::verify::segments::verify_segments)).
    #[cfg(feature = "ed25519")]
    pub fn seal_key(mut self, key: crate::chain::checkpoint::PublicKey) -> Self {
        self.seal_key = Some(key);
        self
    }

    /// What the page names as the log, instead of the path it was read from: where a chain
    /// pulled from a database to a temporary file really is, say.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The span of time the sections cover (default: the whole log). The verdict still
    /// covers the whole chain, and the page states the period and how many entries fall
    /// outside it; what making the report holds in memory grows with the period's decisions.
    pub fn period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }

    /// The longest line read (see [`VerifyOptions::max_line_bytes`]).
    pub fn max_line_bytes(mut self, max: usize) -> Self {
        self.max_line_bytes = Some(max);
        self
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The log could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The log's path.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A check that applies to one file (a plain checkpoint) was asked of a segmented log,
    /// whose segments' seals are its checkpoints.
    #[error("{path} is a segmented log: {what}")]
    Segmented {
        /// The segment directory.
        path: std::path::PathBuf,
        /// What cannot be done with it.
        what: String,
    },
    /// The report could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The report's path.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// One entry as the report uses it.
#[derive(Debug, Clone)]
struct Row {
    seq: u64,
    ts: String,
    kind: String,
    payload: Map,
    hash: String,
}

impl Row {
    fn text(&self, key: &str) -> Option<&str> {
        self.payload.get(key).and_then(Value::as_str)
    }

    fn decision(&self) -> Option<&str> {
        self.text("decision_id")
    }

    /// A model call that failed: an error, or an HTTP status of 400 or more.
    fn failed_call(&self) -> bool {
        self.kind == "llm_call"
            && (self.payload.get("error").is_some()
                || self
                    .payload
                    .get("status")
                    .and_then(Value::as_i64)
                    .is_some_and(|s| s >= 400))
    }
}

/// The verdict the page opens with: a log's or a pack's, or a segment directory's.
#[derive(Debug)]
struct Verdict {
    ok: bool,
    said: String,
    entries: u64,
    head: String,
    signatures_unchecked: bool,
}

impl From<&Report> for Verdict {
    fn from(r: &Report) -> Self {
        Self {
            ok: r.is_ok(),
            said: r.to_string(),
            entries: r.entries(),
            head: r.head().to_owned(),
            signatures_unchecked: r.signatures_unchecked(),
        }
    }
}

/// Calls `f` with each entry of the log (or pack) at `log`, in order; the pack's header goes
/// to `meta`. Lines that are not JSON objects are passed over (the verdict reports them).
fn read_rows(
    log: &Path,
    max_line: usize,
    mut meta: impl FnMut(Map),
    mut f: impl FnMut(Row),
) -> Result<(), ReportError> {
    let read = |source| ReportError::Read {
        path: log.to_owned(),
        source,
    };
    let mut reader = super::source::open_log(log).map_err(read)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(read)?;
        if n == 0 {
            break;
        }
        if line.len() > max_line && !line.ends_with(b"\n") {
            return Err(read(std::io::Error::other(format!(
                "a line longer than {max_line} bytes"
            ))));
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            continue; // the verdict reports it
        };
        let Ok(Value::Object(mut row)) = Value::parse(text.trim()) else {
            continue;
        };
        if let Some(Value::Object(m)) = row.remove("_meta") {
            meta(m);
            continue;
        }
        let payload = match row.remove("payload") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        let get = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        f(Row {
            seq: row.get("seq").and_then(Value::as_u64).unwrap_or(0),
            ts: get("ts"),
            kind: get("type"),
            hash: get("hash"),
            payload,
        });
    }
    Ok(())
}

/// The first pass: everything the sections show but the entries they link to.
fn gather(log: &Path, max_line: usize, period: &Period) -> Result<Facts, ReportError> {
    let mut facts = Facts::for_period(period.clone());
    let mut pack = None;
    read_rows(log, max_line, |m| pack = Some(m), |row| facts.add(&row))?;
    // What retention kept: the entry that named the system and its risk tier was deleted; a
    // pack's header names them, and a directory's retention record keeps them.
    let opened = match pack.as_ref().filter(|m| m.contains_key("after")) {
        Some(m) => Some(m.clone()),
        None => super::source::retained(log).map(|(_, opening)| opening),
    };
    if let Some(m) = opened {
        let text = |k| m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        facts.system = facts.system.take().or(text("system").map(str::to_owned));
        facts.risk_tier = facts
            .risk_tier
            .take()
            .or(text("risk_tier").map(str::to_owned));
    }
    facts.pack = pack;
    // Reviews in a period of decisions opened before it: when those opened, for the delay.
    // (Of the whole log, a decision not seen opening never opened.)
    let mut wanted: std::collections::BTreeSet<String> = facts
        .reviews
        .iter()
        .filter_map(|r| r.decision.clone())
        .filter(|id| facts.opened_at(id).is_none())
        .collect();
    if !period.is_all() && !wanted.is_empty() {
        let found = &mut facts.opened_before;
        read_rows(
            log,
            max_line,
            |_| {},
            |row| {
                if row.kind == "decision"
                    && let Some(id) = row.decision().filter(|id| wanted.contains(*id))
                {
                    let id = id.to_owned();
                    wanted.remove(&id);
                    found.insert(id, (row.seq, crate::chain::time::seconds(&row.ts)));
                }
            },
        )?;
    }
    Ok(facts)
}

/// The second pass: the entries whose seq is in `linked`, in the log's order.
fn linked_rows(
    log: &Path,
    max_line: usize,
    linked: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Row>, ReportError> {
    let mut rows = Vec::new();
    read_rows(
        log,
        max_line,
        |_| {},
        |row| {
            if linked.contains(&row.seq) {
                rows.push(row);
            }
        },
    )?;
    Ok(rows)
}

/// The report of the log at `log` (a file, an evidence pack, or a segmented log's directory,
/// read as the one chain its segments form), as one HTML document.
///
/// # Errors
///
/// [`ReportError::Read`] when the file cannot be read. A log that does not verify still gets a
/// report, which says so first.
pub fn html_report(log: &Path, opts: &ReportOptions) -> Result<String, ReportError> {
    let mut vopts = VerifyOptions::new();
    if let Some(key) = &opts.key {
        vopts = vopts.key(key.clone());
    }
    let max_line = opts.max_line_bytes.unwrap_or(64 << 20);
    vopts = vopts.max_line_bytes(max_line);
    #[cfg_attr(not(feature = "ed25519"), allow(unused_mut))]
    let mut checked = Vec::new();
    #[cfg(feature = "ed25519")]
    if let Some((cp, key)) = &opts.checkpoint {
        vopts = vopts.checkpoint(cp, key);
        checked.push((
            "Signed checkpoint",
            format!(
                "{} entries and head {}…, key {}: checked as part of the verdict",
                cp.entries,
                cp.head.get(..12).unwrap_or(&cp.head),
                key.key_id()
            ),
            true,
        ));
    }
    #[cfg(feature = "ed25519")]
    let verdict = if log.is_dir() {
        segments_verdict(log, opts, &vopts, &mut checked)?
    } else {
        file_verdict(log, opts, &vopts, &mut checked)
    };
    #[cfg(not(feature = "ed25519"))]
    let verdict = Verdict::from(&verify_path(log, &vopts));
    let facts = gather(log, max_line, &opts.period)?;
    let source = opts
        .source
        .clone()
        .unwrap_or_else(|| log.display().to_string());
    render::page(
        &source,
        &verdict,
        opts.key.is_some(),
        &checked,
        &facts,
        |linked| linked_rows(log, max_line, linked),
    )
}

/// A log's or pack's verdict, and whether the tree head given (if any) is its tree's.
#[cfg(feature = "ed25519")]
fn file_verdict(
    log: &Path,
    opts: &ReportOptions,
    vopts: &VerifyOptions,
    checked: &mut Vec<render::Checked>,
) -> Verdict {
    let verdict = Verdict::from(&verify_path(log, vopts));
    check_tree_head(log, opts, checked);
    verdict
}

/// Whether the tree head given (if any) is the log's tree's, for the page's checks. A
/// segmented log's is one tree across its segments, after retention too.
#[cfg(feature = "ed25519")]
fn check_tree_head(log: &Path, opts: &ReportOptions, checked: &mut Vec<render::Checked>) {
    if let Some((note, verifier)) = &opts.tree_head {
        use crate::evidence::note::TreeHead;
        let said = match TreeHead::open(note, verifier) {
            Err(e) => (format!("does not verify: {e}"), false),
            Ok(head) => match crate::evidence::proof::Tree::from_log(log) {
                Ok(tree) if head.is_head_of(&tree) => (
                    format!(
                        "verified: {}'s signed tree of {} entries is this log's first {}",
                        head.origin, head.size, head.size
                    ),
                    true,
                ),
                Ok(_) => (
                    format!(
                        "does not match: the log is not the tree of {} entries it signs",
                        head.size
                    ),
                    false,
                ),
                Err(e) => (format!("cannot be checked: {e}"), false),
            },
        };
        checked.push(("Signed tree head (C2SP)", said.0, said.1));
    }
}

/// A segment directory's verdict, its seals checked with the seal key (if given).
#[cfg(feature = "ed25519")]
fn segments_verdict(
    log: &Path,
    opts: &ReportOptions,
    vopts: &VerifyOptions,
    checked: &mut Vec<render::Checked>,
) -> Result<Verdict, ReportError> {
    if !checked.is_empty() {
        return Err(ReportError::Segmented {
            path: log.to_owned(),
            what: "its seals are its checkpoints: give the seal key instead of a checkpoint"
                .to_owned(),
        });
    }
    check_tree_head(log, opts, checked);
    let found = crate::verify::segments::verify_segments(log, vopts, opts.seal_key.as_ref());
    let seals = match &opts.seal_key {
        Some(key) => format!("checked with key {} as part of the verdict", key.key_id()),
        None => "NOT checked (no seal key given)".to_owned(),
    };
    checked.push((
        "Segment seals",
        format!(
            "{} segments, {} sealed: seals {seals}",
            found.segments, found.sealed
        ),
        true,
    ));
    Ok(Verdict {
        ok: found.is_ok(),
        said: found.to_string(),
        entries: found.entries,
        head: found.head,
        signatures_unchecked: found.signatures_unchecked,
    })
}

/// Writes [`html_report`] of `log` to `out` (a temporary file, synced, renamed into place,
/// mode `0644`: a report is for reading).
///
/// # Errors
///
/// As for [`html_report`], and [`ReportError::Write`].
pub fn write_report(log: &Path, out: &Path, opts: &ReportOptions) -> Result<(), ReportError> {
    let html = html_report(log, opts)?;
    crate::files::write_whole(out, 0o644, true, |f| {
        std::io::Write::write_all(f, html.as_bytes())
    })
    .map_err(|source| ReportError::Write {
        path: out.to_owned(),
        source,
    })
}

/// The frameworks a report covers, in the order it shows them.
const FRAMEWORKS: [Framework; 4] = [
    Framework::EuAiAct,
    Framework::NistRmf,
    Framework::Iso42001,
    Framework::Gdpr,
];

#[cfg(test)]
mod tests;

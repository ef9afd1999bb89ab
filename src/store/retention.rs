//! Retention for segmented logs: deleting the sealed segments older than a horizon is an
//! explicit act that leaves a signed record (`retention.json`) of what was deleted (names,
//! entry counts, heads, file digests), of the seal it ended at, so that what is kept still
//! verifies from that seal on, and of the Merkle frontier of the deleted entries, so that the
//! log's tree goes on across the kept segments.
//!
//! Uses the segment layout and verification, and the format's checkpoints.

use std::path::Path;

use crate::chain::checkpoint::{Checkpoint, CheckpointKey};
use crate::chain::hash::hex;
use crate::chain::merkle::{Frontier, entry_leaf};
use crate::chain::time::seconds;
use crate::json::value::{Map, Value};
use crate::verify::VerifyOptions;
use crate::verify::segments::{
    RETENTION_FORMAT, RetentionRecord, list, read_record, record_path, seal_path, segment_name,
    verify_segments,
};

/// Deletes the sealed segments of `dir` whose every entry is older than `horizon` (an RFC 3339
/// time stamp), oldest first and never the last segment, after checking the whole directory
/// verifies (`opts`, and the seals with `seal_key`). Writes the signed retention record before
/// deleting anything. Gives the deleted segments' names (none when nothing is old enough).
///
/// One run at a time: a run holds `DIR/retention.lock`, and another is refused while it does.
/// A run that stopped after writing its record (killed, or the machine down before the
/// deletions reached the disk) is finished by the next: what the record lists as deleted and
/// is still there, byte for byte as recorded (its SHA-256), is deleted first, with its seal.
///
/// ```
/// use acttrace::chain::Entry;
/// use acttrace::chain::checkpoint::CheckpointKey;
/// use acttrace::json::Map;
/// use acttrace::store::{AuditLog, Segments, retain};
/// use acttrace::verify::{VerifyOptions, segments::verify_segments};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("acttrace-doc-retain-{}", std::process::id()));
/// let seal = CheckpointKey::generate()?;
/// let log = AuditLog::builder("loan-triage")
///     .open_segments(&dir, Segments::new(seal.clone()).max_bytes(1_000))
///     .await?;
/// for _ in 0..20 {
///     log.append(Entry::new("decision", Map::new())).await?;
/// }
/// log.shutdown().await?;
///
/// // Everything before the year 3000 is old enough: all sealed segments but the last go.
/// let gone = retain(&dir, "3000-01-01T00:00:00Z", &seal, &VerifyOptions::new())?;
/// assert!(!gone.is_empty());
/// let report = verify_segments(&dir, &VerifyOptions::new(), Some(&seal.public()));
/// assert!(report.is_ok() && report.deleted == gone.len(), "{report}");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The directory does not verify, the horizon is not a time stamp, another run holds the
/// lock, what an earlier run left is not what its record lists, or a file cannot be read,
/// written or deleted (the record then already says what was to go; `acttrace verify DIR`
/// reports a segment that should be gone as present again, and the next run deletes it).
pub fn retain(
    dir: &Path,
    horizon: &str,
    seal_key: &CheckpointKey,
    opts: &VerifyOptions,
) -> Result<Vec<String>, String> {
    let limit = seconds(horizon).ok_or_else(|| {
        format!("the horizon {horizon:?} is not an RFC 3339 time stamp (2026-06-01T00:00:00Z)")
    })?;
    let _lock = lock(dir)?;
    let mut names = match read_record(dir)? {
        Some(record) => finish(dir, &record, seal_key)?,
        None => Vec::new(),
    };
    let verdict = verify_segments(dir, opts, Some(&seal_key.public()));
    if !verdict.is_ok() {
        return Err(format!(
            "refusing to delete from a log that does not verify: {verdict}"
        ));
    }
    let segments = list(dir).map_err(|e| e.to_string())?;
    let previous = read_record(dir)?;
    // The Merkle frontier of everything deleted, this time and before (a record written
    // before frontiers were kept leaves none to go on from).
    let mut frontier = match &previous {
        None => Some(Frontier::default()),
        Some(r) => r.frontier.clone(),
    };
    // The log's opening (its system and risk tier), kept from the record before or read from
    // the first segment when it goes: a pack of what is kept still names them.
    let mut opened = previous.as_ref().and_then(|r| r.opened.clone());
    let mut going = Vec::new();
    for (index, path) in segments.iter().take(segments.len().saturating_sub(1)) {
        let seal = seal_path(path);
        if !seal.exists() {
            break;
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let last_ts = text
            .lines()
            .rev()
            .find_map(|l| Value::parse(l).ok())
            .and_then(|v| v.get("ts").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        if seconds(&last_ts).is_none_or(|t| t >= limit) {
            break;
        }
        let cp = Checkpoint::read(&seal).map_err(|e| e.to_string())?;
        if previous.is_none() && going.is_empty() {
            opened = text
                .lines()
                .find_map(|l| Value::parse(l).ok())
                .filter(|v| v.get("type").and_then(Value::as_str) == Some("audit_open"))
                .and_then(|v| v.get("payload").and_then(Value::as_object).cloned());
        }
        if let Some(f) = frontier.as_mut() {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let leaf = Value::parse(line)
                    .ok()
                    .and_then(|v| v.get("hash").and_then(Value::as_str).and_then(entry_leaf))
                    .ok_or_else(|| format!("{}: a line without an entry hash", path.display()))?;
                f.push(leaf);
            }
            if f.size() != cp.entries {
                return Err(format!(
                    "{}: the segments up to it hold {} entries where its seal says {}",
                    path.display(),
                    f.size(),
                    cp.entries
                ));
            }
        }
        going.push((
            *index,
            path.clone(),
            cp,
            last_ts,
            crate::chain::hash::sha256_hex(text.as_bytes()),
        ));
    }
    let Some((last_index, _, last_seal, _, _)) = going.last() else {
        return Ok(names);
    };

    let mut deleted = match previous {
        Some(r) => match r.body().get("deleted") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    for (index, _, cp, last_ts, sha) in &going {
        let mut d = Map::new();
        d.insert("segment", segment_name(*index));
        d.insert("entries_through", cp.entries);
        d.insert("head", cp.head.as_str());
        d.insert("last_ts", last_ts.as_str());
        d.insert("sha256", sha.as_str());
        deleted.push(Value::Object(d));
    }
    let mut body = Map::new();
    body.insert("format", RETENTION_FORMAT);
    body.insert("horizon", horizon);
    body.insert("next_segment", last_index + 1);
    body.insert("checkpoint", last_seal.to_json());
    body.insert("deleted", Value::Array(deleted));
    if let Some(f) = &frontier {
        let mut tree = Map::new();
        tree.insert("size", f.size());
        let hashes = f.hashes().iter().map(|h| Value::from(hex(h))).collect();
        tree.insert("frontier", Value::Array(hashes));
        body.insert("tree", Value::Object(tree));
    }
    if let Some(opened) = opened {
        body.insert("opened", opened);
    }
    body.insert("key_id", seal_key.public().key_id());
    let sig = hex(&seal_key.sign_bytes(RetentionRecord::signed_text(&body).as_bytes()));
    let mut record = body;
    record.insert("sig", sig);
    let path = record_path(dir);
    crate::files::write_whole(&path, 0o644, true, |f| {
        std::io::Write::write_all(
            f,
            format!("{}\n", Value::Object(record).to_line_json()).as_bytes(),
        )
    })
    .map_err(|e| format!("{}: {e}", path.display()))?;
    for (index, segment, _, _, _) in &going {
        std::fs::remove_file(segment).map_err(|e| format!("{}: {e}", segment.display()))?;
        std::fs::remove_file(seal_path(segment))
            .map_err(|e| format!("{}: {e}", segment.display()))?;
        names.push(segment_name(*index));
    }
    tracing::info!(target: "acttrace", deleted = names.len(), "retention deleted old segments");
    Ok(names)
}

/// Takes `DIR/retention.lock`, which keeps two retention runs on one directory apart (two runs
/// at once could each write a record of their own and delete what the other's keeps).
fn lock(dir: &Path) -> Result<std::fs::File, String> {
    let path = dir.join("retention.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another retention run holds {}: refusing to run beside it",
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Finishes a run that stopped between writing `record` and deleting all it lists: each
/// segment the record says was deleted that is still there, if it is byte for byte the one
/// recorded, is deleted with its seal, and a seal left without its segment too. Anything else
/// before the first kept segment is refused, not deleted; and so is a record not signed with
/// `seal_key`, which is not the log's. Gives the names deleted.
fn finish(
    dir: &Path,
    record: &RetentionRecord,
    seal_key: &CheckpointKey,
) -> Result<Vec<String>, String> {
    let left: Vec<(u64, std::path::PathBuf)> = list(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .into_iter()
        .filter(|(index, _)| *index < record.next_segment)
        .collect();
    let seals_left = record
        .deleted
        .iter()
        .any(|name| seal_path(&dir.join(name)).exists());
    if left.is_empty() && !seals_left {
        return Ok(Vec::new());
    }
    if !record.is_signed_by(&seal_key.public()) {
        return Err(format!(
            "refusing to delete what {} lists: its signature does not verify",
            record_path(dir).display()
        ));
    }
    let recorded = |name: &str| {
        let Some(Value::Array(items)) = record.body().get("deleted") else {
            return None;
        };
        items
            .iter()
            .find(|d| d.get("segment").and_then(Value::as_str) == Some(name))
            .and_then(|d| d.get("sha256").and_then(Value::as_str).map(str::to_owned))
    };
    let mut names = Vec::new();
    for (index, path) in &left {
        let name = segment_name(*index);
        let Some(sha) = recorded(&name) else {
            return Err(format!(
                "refusing to delete {name}: it comes before the first segment the retention \
                 record keeps, which does not list it as deleted"
            ));
        };
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if crate::chain::hash::sha256_hex(&bytes) != sha {
            return Err(format!(
                "refusing to delete {name}: it was deleted under retention, and the file there \
                 now is not the one deleted (its SHA-256 differs)"
            ));
        }
        std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        names.push(name);
    }
    for name in &record.deleted {
        let seal = seal_path(&dir.join(name));
        if seal.exists() {
            std::fs::remove_file(&seal).map_err(|e| format!("{}: {e}", seal.display()))?;
        }
    }
    tracing::warn!(
        target: "acttrace",
        finished = names.len(),
        "an earlier retention run had stopped before deleting all it recorded; finished it"
    );
    Ok(names)
}

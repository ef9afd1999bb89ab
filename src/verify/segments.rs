//! A directory of segments verified as one chain: the segments must be numbered without a
//! hole from the first kept one, each must verify after its predecessor's head, each sealed
//! one must end where its signed seal says, and only the last may be unsealed. A retention
//! record, signed, says where the kept segments start.
//!
//! Uses the format (checkpoints) and the line verifier.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::{VerifyOptions, verify_path};
use crate::chain::checkpoint::{Checkpoint, PublicKey};
use crate::chain::merkle::{Frontier, hash_list};
use crate::json::value::{Map, Value};

/// The file name of segment `index`.
pub(crate) fn segment_name(index: u64) -> String {
    format!("segment-{index:06}.jsonl")
}

/// The seal beside a segment.
pub(crate) fn seal_path(segment: &Path) -> PathBuf {
    let mut p = segment.as_os_str().to_owned();
    p.push(".seal");
    PathBuf::from(p)
}

/// Whether `later`, the segments after an unsealed one, is what a rollover stopped before its
/// seal leaves: one new segment, empty (the writer removes it when it reopens the log).
fn rollover_begun(later: &[(u64, PathBuf)]) -> bool {
    matches!(later, [(_, next)] if fs::metadata(next).is_ok_and(|m| m.len() == 0))
}

/// The retention record's file in a segment directory.
pub(crate) fn record_path(dir: &Path) -> PathBuf {
    dir.join("retention.json")
}

/// The format name of retention records.
pub const RETENTION_FORMAT: &str = "acttrace-retention/1";

/// The segments in `dir`, by index.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    listing(dir).map(|(segments, _)| segments)
}

/// The segments of `dir` by index, for reading the chain: refused, naming it, when a segment
/// was compressed in place (`segment-N.jsonl.gz`, as log rotation leaves old files), which
/// would otherwise read as a segment missing.
pub(crate) fn readable(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let (segments, compressed) = listing(dir)?;
    match compressed {
        None => Ok(segments),
        Some((name, how)) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{name} is compressed: decompress the segments first ({how}), then read the \
                 directory"
            ),
        )),
    }
}

/// One pass over `dir`: its segments by index, and the first segment compressed in place,
/// with the command that decompresses it.
fn listing(dir: &Path) -> std::io::Result<(Vec<(u64, PathBuf)>, Option<(String, &'static str)>)> {
    let index = |name: &str| {
        name.strip_prefix("segment-")
            .and_then(|r| r.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok())
    };
    let (mut out, mut compressed) = (Vec::new(), None);
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = index(name) {
            out.push((n, entry.path()));
            continue;
        }
        let how = match name.rsplit_once('.') {
            Some((stem, "gz")) if index(stem).is_some() => "gunzip -k",
            Some((stem, "zst")) if index(stem).is_some() => "zstd -d",
            Some((stem, "xz")) if index(stem).is_some() => "xz -dk",
            Some((stem, "bz2")) if index(stem).is_some() => "bunzip2 -k",
            _ => continue,
        };
        compressed.get_or_insert_with(|| (name.to_owned(), how));
    }
    out.sort();
    Ok((out, compressed))
}

/// Why a segment directory does not hold its chain from the first entry.
#[derive(Debug)]
pub(crate) enum Partial {
    /// The directory cannot be listed.
    Unreadable(std::io::Error),
    /// It holds no segment.
    Empty,
    /// Retention deleted its oldest segments: it starts at `first` (and, for a tree, its
    /// record keeps no frontier of them).
    Retained { first: String },
    /// The retention record cannot be read.
    Record(String),
    /// A segment between the first and the last is missing.
    Missing(String),
}

impl fmt::Display for Partial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(e) => write!(f, "{e}"),
            Self::Empty => write!(f, "no segment-N.jsonl in the directory"),
            Self::Retained { first } => write!(
                f,
                "it starts at {first}, after segments deleted under retention: the chain's \
                 first entries are gone"
            ),
            Self::Missing(name) => write!(f, "{name} is missing"),
            Self::Record(e) => write!(f, "{e}"),
        }
    }
}

/// The segments of `dir` in order, when they hold the whole chain from its first entry: none
/// deleted under retention, none missing. (Whether they verify is for [`verify_segments`].)
pub(crate) fn whole_chain(dir: &Path) -> Result<Vec<PathBuf>, Partial> {
    let listed = readable(dir).map_err(Partial::Unreadable)?;
    let Some((first, _)) = listed.first() else {
        return Err(Partial::Empty);
    };
    if *first != 1 || record_path(dir).exists() {
        return Err(Partial::Retained {
            first: segment_name(*first),
        });
    }
    numbered_from(1, listed)
}

/// The listed segments' files, when they are numbered without a hole from `from`.
fn numbered_from(from: u64, listed: Vec<(u64, PathBuf)>) -> Result<Vec<PathBuf>, Partial> {
    if let Some(n) = (from..)
        .zip(&listed)
        .find_map(|(n, (i, _))| (n != *i).then_some(n))
    {
        return Err(Partial::Missing(segment_name(n)));
    }
    Ok(listed.into_iter().map(|(_, p)| p).collect())
}

/// The segments of `dir` in order from the first kept one, and, when retention deleted the
/// oldest, its record (whose seal is the chain's count and head before the first kept entry),
/// when no kept segment is missing. (Whether they verify is for the caller.)
pub(crate) fn kept_files(dir: &Path) -> Result<(Option<RetentionRecord>, Vec<PathBuf>), Partial> {
    let Some(record) = read_record(dir).map_err(Partial::Record)? else {
        return whole_chain(dir).map(|files| (None, files));
    };
    let listed = readable(dir).map_err(Partial::Unreadable)?;
    if listed.is_empty() {
        return Err(Partial::Empty);
    }
    let files = numbered_from(record.next_segment, listed)?;
    Ok((Some(record), files))
}

/// The segments of `dir` in order from the first kept one, and the Merkle frontier of the
/// entries retention deleted before it (an empty one when none were), when no kept segment is
/// missing and the retention record keeps that frontier: what a tree across the set needs.
/// (Whether they verify is for [`verify_segments`].)
pub(crate) fn kept_chain(dir: &Path) -> Result<(Vec<PathBuf>, Frontier), Partial> {
    kept_chain_from(dir).map(|(_, files, frontier)| (files, frontier))
}

/// As [`kept_chain`], with the index of the first segment kept.
pub(crate) fn kept_chain_from(dir: &Path) -> Result<(u64, Vec<PathBuf>, Frontier), Partial> {
    let (record, files) = kept_files(dir)?;
    let Some(record) = record else {
        return Ok((1, files, Frontier::default()));
    };
    match record.frontier {
        Some(frontier) => Ok((record.next_segment, files, frontier)),
        None => Err(Partial::Retained {
            first: segment_name(record.next_segment),
        }),
    }
}

/// What retention deleted and where the kept chain starts: a signed record.
#[derive(Debug, Clone)]
pub struct RetentionRecord {
    /// The first segment kept.
    pub next_segment: u64,
    /// The seal of the last deleted segment: the chain's count and head where the kept
    /// segments start.
    pub checkpoint: Checkpoint,
    /// The deleted segments' names, oldest first.
    pub deleted: Vec<String>,
    /// The Merkle frontier of the deleted entries (`tree` in the record): what a tree across
    /// the kept segments starts from. Records written before it was kept have none.
    pub(crate) frontier: Option<Frontier>,
    /// The payload of the log's `audit_open` (its system and risk tier), deleted with the
    /// first segment (`opened` in the record). Records written before it was kept have none.
    pub(crate) opened: Option<Map>,
    body: Map,
    sig: String,
}

impl RetentionRecord {
    /// The record's signed text: its JSON without `sig`, canonical.
    pub(crate) fn signed_text(body: &Map) -> String {
        Value::Object(body.clone()).to_canonical()
    }

    /// Whether the record and the checkpoint in it are signed by `key`.
    pub fn is_signed_by(&self, key: &PublicKey) -> bool {
        let Some(sig) = hex64(&self.sig) else {
            return false;
        };
        key.verifies(Self::signed_text(&self.body).as_bytes(), &sig)
            && self.checkpoint.is_signed_by(key)
    }

    /// Reads a record's JSON.
    ///
    /// # Errors
    ///
    /// Why it is not a retention record.
    pub fn parse(text: &str) -> Result<Self, String> {
        match Value::parse(text.trim()) {
            Ok(Value::Object(record)) => Self::from_map(record),
            _ => Err(format!(
                "not an {RETENTION_FORMAT} record: not a JSON object"
            )),
        }
    }

    /// Reads a record's JSON object (as an evidence pack's header carries it).
    pub(crate) fn from_map(mut body: Map) -> Result<Self, String> {
        let bad = |why: &str| format!("not an {RETENTION_FORMAT} record: {why}");
        if body.get("format").and_then(Value::as_str) != Some(RETENTION_FORMAT) {
            return Err(bad("wrong or missing format"));
        }
        let Some(Value::String(sig)) = body.remove("sig") else {
            return Err(bad("no signature"));
        };
        let next_segment = body
            .get("next_segment")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("no next_segment"))?;
        let checkpoint = body
            .get("checkpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no checkpoint"))
            .and_then(|c| Checkpoint::parse(c).map_err(|e| bad(&e.to_string())))?;
        let deleted = match body.get("deleted") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|d| d.get("segment").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => return Err(bad("no deleted list")),
        };
        let frontier = match body.get("tree") {
            None => None,
            Some(tree) => {
                let size = tree
                    .get("size")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("a tree without its size"))?;
                let hashes = hash_list(tree.get("frontier"))
                    .ok_or_else(|| bad("a tree frontier that is not a list of hashes"))?;
                let frontier = Frontier::from_parts(size, hashes)
                    .ok_or_else(|| bad("a tree frontier of the wrong length for its size"))?;
                if size != checkpoint.entries {
                    return Err(bad(
                        "a tree frontier that does not end where the checkpoint does",
                    ));
                }
                Some(frontier)
            }
        };
        let opened = match body.get("opened") {
            None => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => return Err(bad("an opening that is not an object")),
        };
        Ok(Self {
            next_segment,
            checkpoint,
            deleted,
            frontier,
            opened,
            body,
            sig,
        })
    }

    /// The retention record of the segment directory `dir` (`DIR/retention.json`), if it
    /// has one.
    ///
    /// # Errors
    ///
    /// The record cannot be read, or is not one.
    pub fn of_dir(dir: &Path) -> Result<Option<Self>, String> {
        read_record(dir)
    }

    /// The record's JSON fields, `sig` aside.
    pub(crate) fn body(&self) -> &Map {
        &self.body
    }

    /// The record as it was signed and saved: its fields and `sig`.
    pub(crate) fn to_map(&self) -> Map {
        let mut record = self.body.clone();
        record.insert("sig", self.sig.as_str());
        record
    }
}

fn hex64(text: &str) -> Option<[u8; 64]> {
    if text.len() != 128 {
        return None;
    }
    let mut out = [0u8; 64];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The directory's retention record, if it has one.
pub(crate) fn read_record(dir: &Path) -> Result<Option<RetentionRecord>, String> {
    let path = record_path(dir);
    match fs::read_to_string(&path) {
        Ok(text) => RetentionRecord::parse(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The verdict on a segment directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentsReport {
    /// Segments kept in the directory.
    pub segments: usize,
    /// How many of them are sealed.
    pub sealed: usize,
    /// Segments deleted by retention, as its record says.
    pub deleted: usize,
    /// Entries of the whole chain, deleted ones included.
    pub entries: u64,
    /// The chain's head.
    pub head: String,
    /// Whether seals (and the retention record) were checked with the seal key.
    pub seals_checked: bool,
    /// Whether some segment is signed and its signatures were not checked (no signing key
    /// was given).
    pub signatures_unchecked: bool,
    /// Why the directory does not verify, if it does not.
    pub failure: Option<String>,
    /// Whether the failure is that the directory could not be read (listed, or a segment
    /// compressed in place): no verdict on the chain, as `acttrace verify` exits 2, not 1.
    pub unreadable: bool,
}

impl SegmentsReport {
    /// Whether the directory verifies as one chain.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

impl fmt::Display for SegmentsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Some(why) => write!(f, "{why}"),
            None => write!(
                f,
                "ok: {} entries in {} segments ({} sealed{}{}), head {}…",
                self.entries,
                self.segments,
                self.sealed,
                if self.seals_checked {
                    ", seals verified"
                } else {
                    ", seals NOT checked: no seal key given"
                },
                if self.deleted > 0 {
                    format!(
                        ", {} older deleted under a signed retention record",
                        self.deleted
                    )
                } else {
                    String::new()
                },
                self.head.get(..12).unwrap_or(&self.head)
            ),
        }
    }
}

/// Verifies the segments in `dir` as one chain (see [the module](self)), checking seals and
/// the retention record with `seal_key` when given. `opts` applies to every segment (its
/// signing key, line limit), but its expected head and count to the chain as a whole: where
/// the last segment ends, and how many entries the log has held. A checkpoint
/// ([`VerifyOptions::checkpoint`]) or a start ([`VerifyOptions::after`]) is for one file: with
/// either, the directory is not verified and the report says why.
pub fn verify_segments(
    dir: &Path,
    opts: &VerifyOptions,
    seal_key: Option<&PublicKey>,
) -> SegmentsReport {
    let mut report = SegmentsReport {
        segments: 0,
        sealed: 0,
        deleted: 0,
        entries: 0,
        head: crate::chain::hash::GENESIS.to_owned(),
        seals_checked: seal_key.is_some(),
        signatures_unchecked: false,
        failure: None,
        unreadable: false,
    };
    let mut each = opts.clone();
    let (head, entries) = (each.expected_head.take(), each.expected_entries.take());
    if each.checkpoint.is_some() || each.after.is_some() {
        report.failure = Some(
            "a segment directory's seals are its checkpoints, and its retention record says \
             where it starts: a checkpoint or a start given is for one file"
                .to_owned(),
        );
        return report;
    }
    let result = walk(dir, &each, seal_key, &mut report).and_then(|()| {
        if head.as_ref().is_some_and(|h| *h != report.head) {
            return Err(format!(
                "incomplete log: head {}… != expected {}… (trailing entries removed?)",
                report.head.get(..12).unwrap_or(&report.head),
                head.as_deref().map_or("", |h| h.get(..12).unwrap_or(h))
            ));
        }
        match entries {
            Some(n) if n != report.entries => Err(format!(
                "incomplete log: found {} entries, expected {n} (entries removed?)",
                report.entries
            )),
            _ => Ok(()),
        }
    });
    if let Err(why) = result {
        report.failure = Some(why);
    }
    report
}

fn walk(
    dir: &Path,
    opts: &VerifyOptions,
    seal_key: Option<&PublicKey>,
    report: &mut SegmentsReport,
) -> Result<(), String> {
    let segments = readable(dir).map_err(|e| {
        report.unreadable = true;
        format!("cannot read {}: {e}", dir.display())
    })?;
    let record = read_record(dir)?;
    let mut expect = 1;
    let mut after = None;
    if let Some(r) = &record {
        if let Some(key) = seal_key
            && !r.is_signed_by(key)
        {
            return Err("the retention record's signature does not verify: it was altered".into());
        }
        expect = r.next_segment;
        after = Some((r.checkpoint.entries, r.checkpoint.head.clone()));
        report.deleted = r.deleted.len();
    }
    if segments.is_empty() {
        return Err(format!("{} holds no segment", dir.display()));
    }
    report.segments = segments.len();
    for (at, (index, path)) in segments.iter().enumerate() {
        let name = segment_name(*index);
        if *index != expect {
            return Err(if *index > expect {
                format!(
                    "{} is missing (the next segment kept is {name})",
                    segment_name(expect)
                )
            } else {
                format!(
                    "{name} was deleted by retention but is present again (a retention run \
                     that stopped before deleting it: `acttrace retain` finishes it)"
                )
            });
        }
        let mut seg_opts = opts.clone();
        if let Some((entries, head)) = &after {
            seg_opts = seg_opts.after(*entries, head.clone());
        }
        let verdict = verify_path(path, &seg_opts);
        report.signatures_unchecked |= verdict.signatures_unchecked();
        if !verdict.is_ok() {
            return Err(format!("{name}: {verdict}"));
        }
        let seal = seal_path(path);
        if seal.exists() {
            let cp = Checkpoint::read(&seal).map_err(|e| format!("{name}'s seal: {e}"))?;
            if let Some(key) = seal_key
                && !cp.is_signed_by(key)
            {
                return Err(format!(
                    "{name}'s seal does not verify: it was forged or altered"
                ));
            }
            if cp.entries != verdict.entries() || cp.head != verdict.head() {
                return Err(format!(
                    "{name} was changed after it was sealed: its seal says {} entries ending at \
                     {}, it holds {} ending at {}",
                    cp.entries,
                    cp.head,
                    verdict.entries(),
                    verdict.head()
                ));
            }
            report.sealed += 1;
        } else if at + 1 < segments.len() && !rollover_begun(&segments[at + 1..]) {
            return Err(format!(
                "{name} is not sealed, yet later segments follow it"
            ));
        }
        report.entries = verdict.entries();
        report.head = verdict.head().to_owned();
        after = Some((report.entries, report.head.clone()));
        expect = index + 1;
    }
    Ok(())
}

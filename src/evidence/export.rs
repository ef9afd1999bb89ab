//! Evidence packs: a `_meta` header (system, risk tier, framework, the controls covered, a
//! summary, the head and entry count) followed by every entry of the chain, each annotated with
//! the controls of the chosen framework it is evidence for.
//!
//! The layout and the mappings are the reference's (`cendor-acttrace` 1.14.0), so a pack made
//! here from a reference-compatible log is byte-identical to the reference's and verifies there.
//! This crate's own entry types are mapped too: `gap` (entries lost before they were written)
//! and `recovery` (a torn tail cut on reopening) are record-keeping and integrity evidence.
//! `guardrail_decision` and free-form types get no controls, as in the reference (mapping
//! `guardrail_decision` here would make honest reference packs fail the header check).
//!
//! A segmented log (a directory of `segment-N.jsonl`) is packed as the one chain its segments
//! form, read in order; the pack is a single file like any other. Its seals are not needed for
//! that (the chain's hashes are checked entry by entry): `acttrace verify DIR --public-key`
//! checks them.
//!
//! A directory whose oldest segments were deleted under retention (`acttrace retain`) is packed
//! from its first kept entry: the header's `after` (ours) says how many entries came before it
//! and the head they ended at, from the signed retention record, and the verifier starts the
//! chain there (the first entry must link to that head and carry that `seq`; with the key, the
//! header's own signature covers `after`). `after` also carries the retention record itself,
//! signed with the log's Ed25519 seal key, which [`VerifyOptions::seal_key`] checks, and that
//! it names that start: an auditor holding only the public key can tell that no kept entry was
//! cut off the front, and that the entries before the start went by a retention run, not by a
//! hand that deleted segments and wrote a record of its own. Such a pack verifies here; the
//! reference, which knows no retention, reports a broken link at its first entry.
//!
//! ```
//! use acttrace::chain::{Entry, Framework};
//! use acttrace::json::Map;
//! use acttrace::store::AuditLog;
//! use acttrace::verify::{verify_path, VerifyOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("acttrace-doc-export-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let log = AuditLog::open("loan-triage", dir.join("audit.jsonl")).await?;
//! log.append(Entry::new("decision", Map::new())).await?;
//!
//! let pack = dir.join("evidence.jsonl");
//! let report = log.export(&pack, Some(Framework::EuAiAct)).await?;
//! assert_eq!(report.entries, 2); // audit_open + decision
//! assert!(report.controls_covered.iter().any(|c| c == "Art.12 record-keeping"));
//!
//! // A pack carries its own completeness claim: it verifies against its header.
//! assert!(verify_path(&pack, &VerifyOptions::new()).is_ok());
//! # log.shutdown().await?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::chain::hash::SigningKey;
use crate::chain::pack::{
    ControlsDigest, Framework, Tally, controls_value, header_signed_body, pack_row, row_controls,
};
use crate::files::Concat;
use crate::json::value::{Map, Value};
use crate::store::AuditLog;
use crate::verify::{self, VerifyOptions};

/// The reference's disclaimer, written into every header.
const DISCLAIMER: &str = "Evidence to support compliance \u{2014} not legal advice.";

/// How to make a pack with [`export_log`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ExportOptions {
    framework: Option<Framework>,
    system: Option<String>,
    risk_tier: Option<String>,
    key: Option<SigningKey>,
    upto: Option<u64>,
    expect: Option<(u64, String)>,
    file_mode: Option<u32>,
}

impl ExportOptions {
    /// No framework, system and risk tier from the log's `audit_open`, unsigned.
    pub fn new() -> Self {
        Self::default()
    }

    /// The permissions the pack is created with (before the process's umask). Defaults to
    /// `0o600`, readable by its owner alone: a pack holds what the service decided about
    /// people.
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.file_mode = Some(mode);
        self
    }

    /// Annotates entries with this framework's controls.
    pub fn framework(mut self, framework: Option<Framework>) -> Self {
        self.framework = framework;
        self
    }

    /// The header's `system` (by default the log's `audit_open` says it).
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// The header's `risk_tier` (by default the log's `audit_open` says it).
    pub fn risk_tier(mut self, tier: impl Into<String>) -> Self {
        self.risk_tier = Some(tier.into());
        self
    }

    /// The log's signing key: the log is verified with it before export, and the header is
    /// signed.
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Exports only the first `len` bytes of the log (a snapshot while it is being written).
    pub(crate) fn upto(mut self, len: u64, entries: u64, head: String) -> Self {
        self.upto = Some(len);
        self.expect = Some((entries, head));
        self
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportReport {
    /// Entries in the pack.
    pub entries: u64,
    /// The chain's head at the snapshot: the header's `head_hash`.
    pub head: String,
    /// Every control some entry is evidence for, sorted.
    pub controls_covered: Vec<String>,
    /// Whether the header is signed.
    pub signed: bool,
    /// How many entries came before the pack's first (deleted under retention); 0 for a
    /// whole chain.
    pub starts_after: u64,
}

/// Why an export failed. Nothing is left at the pack's path when it does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The log could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The log.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The log does not verify; a pack of it would vouch for tampered entries.
    #[error("refusing to export {path}: it does not verify ({detail})")]
    DoesNotVerify {
        /// The log.
        path: PathBuf,
        /// The verifier's finding.
        detail: String,
    },
    /// The source is itself a pack.
    #[error("{path} is an evidence pack already; export the log it was made from")]
    NotALog {
        /// The source.
        path: PathBuf,
    },
    /// The pack could not be written.
    #[error("cannot write the pack {path}: {source}")]
    Write {
        /// The pack's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The pack would be written over the log it is made from (the same path, a link to it,
    /// or the same file by another name): refused, the log untouched.
    #[error("refusing to write the pack {pack} over its own log {path}")]
    Overwrite {
        /// The log.
        path: PathBuf,
        /// The pack's path.
        pack: PathBuf,
    },
    /// The segmented log's first segments are gone and no retention record says where the
    /// chain stood before the first kept one: a pack could not say where it starts, so none
    /// is made.
    #[error(
        "cannot pack {path}: it starts at {first}, and no retention record (retention.json) \
         says where the chain stood before it"
    )]
    Retained {
        /// The segment directory.
        path: PathBuf,
        /// The first segment kept.
        first: String,
    },
    /// The segmented log's `audit_open`, which names its risk tier, was deleted under
    /// retention, its retention record does not keep it (records written before it was kept),
    /// and no risk tier was given: the header's would be a guess, so no pack is made.
    #[error(
        "cannot pack {path}: the entry naming its risk tier (audit_open) was deleted under \
         retention and the retention record does not keep it; give it (--risk-tier, \
         ExportOptions::risk_tier)"
    )]
    RiskTierUnknown {
        /// The segment directory.
        path: PathBuf,
    },
    /// The log's writer failed to give a snapshot.
    #[error(transparent)]
    Log(#[from] crate::store::Error),
}

impl AuditLog {
    /// Writes an evidence pack of the chain as it stands when called (entries appended
    /// meanwhile are left out, so the pack is one consistent snapshot), annotated with
    /// `framework`'s controls, with this log's system and risk tier, signed with its key if it
    /// has one. The pack is written to a temporary file, synced and renamed into place.
    ///
    /// See [the module](self) for an example.
    ///
    /// # Errors
    ///
    /// [`ExportError`]: the writer stopped, the log no longer verifies, or the pack could not
    /// be written.
    pub async fn export(
        &self,
        pack: impl AsRef<Path>,
        framework: Option<Framework>,
    ) -> Result<ExportReport, ExportError> {
        let snap = self.snapshot().await?;
        let (system, risk_tier, key) = self.pack_identity();
        let mut opts = ExportOptions::new()
            .framework(framework)
            .system(system)
            .risk_tier(risk_tier)
            .upto(snap.len, snap.head.entries, snap.head.hash);
        if let Some(key) = key {
            opts = opts.key(key.clone());
        }
        let (log, pack) = (self.path().to_owned(), pack.as_ref().to_owned());
        #[cfg(feature = "postgres")]
        if let Some((url, chain)) = self.database() {
            // A chain in the database: pulled as it stood at the snapshot, then packed.
            let (url, chain) = (url.to_owned(), chain.to_owned());
            let entries = snap.head.entries;
            opts.upto = Some(u64::MAX);
            return tokio::task::spawn_blocking(move || {
                let mut name = pack.as_os_str().to_owned();
                name.push(".pulling");
                let pulled = std::path::PathBuf::from(name);
                let upto = entries.checked_sub(1);
                let result = crate::store::postgres::pull(&url, &chain, upto, &pulled)
                    .map_err(|source| ExportError::Read {
                        path: log.clone(),
                        source,
                    })
                    .and_then(|_| export_log(&pulled, &pack, &opts));
                let _ = std::fs::remove_file(&pulled);
                result
            })
            .await
            .map_err(|e| ExportError::Write {
                path: self.path().to_owned(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        tokio::task::spawn_blocking(move || export_log(log, pack, &opts))
            .await
            .map_err(|e| ExportError::Write {
                path: self.path().to_owned(),
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

/// Writes an evidence pack of the log at `log` to `pack`: checks the log (with the key, if
/// given), then writes the header and the annotated entries to a temporary file beside `pack`,
/// syncs it and renames it into place, so `pack` is either absent, the old pack, or whole.
///
/// # Errors
///
/// [`ExportError`]: the log unreadable or not verifying, or the pack not writable.
pub fn export_log(
    log: impl AsRef<Path>,
    pack: impl AsRef<Path>,
    opts: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let (log, pack) = (log.as_ref(), pack.as_ref());
    let source = Source::of(log, opts)?;
    if source
        .files()
        .iter()
        .any(|f| crate::files::same_file(f, pack))
    {
        return Err(ExportError::Overwrite {
            path: log.to_owned(),
            pack: pack.to_owned(),
        });
    }
    let read_err = |source| ExportError::Read {
        path: log.to_owned(),
        source,
    };
    let open = || source.open().map_err(read_err);

    // 1. The chain must verify (as far as the snapshot goes).
    let mut vopts = VerifyOptions::new();
    if let Some(key) = &opts.key {
        vopts = vopts.key(key.clone());
    }
    if let Some((entries, head)) = &opts.expect {
        vopts = vopts.expected_entries(*entries).expected_head(head.clone());
    }
    if let Some(start) = source.start() {
        vopts = vopts.after(start.entries, start.head.clone());
    }
    let report = verify::verify_reader(open()?, &log.display().to_string(), &vopts);
    if report.has_meta() {
        return Err(ExportError::NotALog {
            path: log.to_owned(),
        });
    }
    // A file that is no log (a compressed copy, a directory) cannot be read: not a verdict.
    if let Some(verify::Failure::Unreadable { reason }) = report.failure() {
        return Err(ExportError::Read {
            path: log.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidData, reason.clone()),
        });
    }
    if !report.is_ok() {
        return Err(ExportError::DoesNotVerify {
            path: log.to_owned(),
            detail: report.detail(),
        });
    }

    // 2. What the header says: counts, controls, system and tier.
    let mut tally = Tally::default();
    let mut digest = ControlsDigest::default();
    for_each_entry(open()?, |row| {
        tally.add_row(&row, opts.framework);
        if let Some(fw) = opts.framework {
            digest.add(&controls_value(row_controls(fw, &row)));
        }
        Ok(())
    })
    .map_err(read_err)?;
    let covered: Vec<String> = tally.covered.iter().map(|c| (*c).to_owned()).collect();
    let mut meta = Map::new();
    // After retention, the log's first `audit_open` is gone: its record keeps what it said.
    let opened = |field: &str| {
        source
            .start()
            .and_then(|s| s.opened.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let system = opts
        .system
        .clone()
        .or(opened("system"))
        .or(tally.system.clone());
    let system = system.or(source.start().map(|s| s.origin.clone()));
    let risk_tier = opts.risk_tier.clone().or(opened("risk_tier"));
    let risk_tier = match risk_tier.or(tally.risk_tier.clone()) {
        Some(tier) => tier,
        // Not said, and not to be guessed for a log whose opening was deleted.
        None if source.start().is_some() => {
            return Err(ExportError::RiskTierUnknown {
                path: log.to_owned(),
            });
        }
        None => "limited".to_owned(),
    };
    meta.insert("system", system.unwrap_or_default());
    meta.insert("risk_tier", risk_tier);
    meta.insert(
        "framework",
        opts.framework
            .map_or(Value::Null, |f| Value::from(f.as_str())),
    );
    meta.insert(
        "controls_covered",
        Value::Array(covered.iter().map(Value::from).collect()),
    );
    meta.insert("summary", tally.summary());
    meta.insert("head_hash", report.head());
    meta.insert("entries", report.entries());
    if let Some(start) = source.start() {
        let mut after = Map::new();
        after.insert("entries", start.entries);
        after.insert("head", start.head.as_str());
        if let Some(frontier) = &start.frontier {
            let hashes = frontier.iter().map(|h| Value::from(h.as_str()));
            after.insert("frontier", Value::Array(hashes.collect()));
        }
        after.insert("record", start.record.clone());
        meta.insert("after", after);
    }
    meta.insert("disclaimer", DISCLAIMER);
    if let Some(key) = &opts.key {
        // Ours, beside the reference's: the per-entry controls as a digest, and a signature
        // over the whole header (the reference's covers only four fields).
        meta.insert("controls_digest", digest.hex());
        let sig = key.sign(verify::meta_signed_body(&meta).as_bytes());
        meta.insert("sig", sig);
        let header_sig = key.sign(header_signed_body(&meta).as_bytes());
        meta.insert("header_sig", header_sig);
    }
    let mut header = Map::new();
    header.insert("_meta", meta);

    // 3. The pack, written whole or not at all.
    let mut failed_read = None;
    let written = crate::files::write_whole(pack, opts.file_mode.unwrap_or(0o600), true, |file| {
        let mut out = io::BufWriter::new(file);
        writeln!(out, "{}", Value::from(header).to_line_json())?;
        let mut failed_write = None;
        let rows = open().map_err(|e| {
            let what = io::Error::other(e.to_string());
            failed_read = Some(e);
            what
        })?;
        let walked = for_each_entry(rows, |row| {
            let line = pack_row(row, opts.framework);
            writeln!(out, "{line}").map_err(|e| {
                failed_write = Some(e);
                io::Error::other("write failed")
            })
        });
        if let Err(e) = walked {
            return Err(match failed_write.take() {
                Some(w) => w,
                None => {
                    let what = io::Error::new(e.kind(), e.to_string());
                    failed_read = Some(read_err(e));
                    what
                }
            });
        }
        out.flush()
    });
    if let Err(e) = written {
        return Err(failed_read.unwrap_or(ExportError::Write {
            path: pack.to_owned(),
            source: e,
        }));
    }
    Ok(ExportReport {
        entries: report.entries(),
        head: report.head().to_owned(),
        controls_covered: covered,
        signed: opts.key.is_some(),
        starts_after: source.start().map_or(0, |s| s.entries),
    })
}

/// Where a segmented log's kept chain starts, after retention: from its record.
struct Start {
    entries: u64,
    head: String,
    origin: String,
    opened: Map,
    /// The retention record, signed with the log's seal key: what says where the chain stood
    /// and that the entries before it were deleted under retention.
    record: Map,
    /// The Merkle frontier of the deleted entries, when the record keeps it: what the tree
    /// of the whole chain goes on from, so that a pack's tree heads are the log's.
    frontier: Option<Vec<String>>,
}

/// Where a pack's entries are read from: one log file (up to a snapshot's length), or the
/// segments of a segmented log in order, as one chain (up to a snapshot's entry count).
enum Source {
    File {
        path: PathBuf,
        upto: u64,
    },
    #[cfg_attr(not(feature = "ed25519"), allow(dead_code))]
    Segments {
        files: Vec<PathBuf>,
        entries: Option<u64>,
        /// Where the chain stood before the first kept segment, when retention deleted the
        /// oldest: its entry count and head, the log's origin, and its `audit_open` payload
        /// as the retention record kept it.
        start: Option<Start>,
    },
}

impl Source {
    fn of(log: &Path, opts: &ExportOptions) -> Result<Self, ExportError> {
        if !log.is_dir() {
            return Ok(Self::File {
                path: log.to_owned(),
                upto: opts.upto.unwrap_or(u64::MAX),
            });
        }
        Self::segments(log, opts)
    }

    #[cfg(not(feature = "ed25519"))]
    fn segments(log: &Path, _: &ExportOptions) -> Result<Self, ExportError> {
        Err(ExportError::Read {
            path: log.to_owned(),
            source: io::Error::other("a segmented log needs acttrace's `ed25519` feature"),
        })
    }

    #[cfg(feature = "ed25519")]
    fn segments(log: &Path, opts: &ExportOptions) -> Result<Self, ExportError> {
        use crate::verify::segments::{Partial, kept_files};
        let (record, files) = kept_files(log).map_err(|partial| match partial {
            Partial::Unreadable(source) => ExportError::Read {
                path: log.to_owned(),
                source,
            },
            Partial::Empty => ExportError::Read {
                path: log.to_owned(),
                source: io::Error::new(io::ErrorKind::NotFound, Partial::Empty.to_string()),
            },
            Partial::Retained { first } => ExportError::Retained {
                path: log.to_owned(),
                first,
            },
            Partial::Record(e) => ExportError::Read {
                path: log.to_owned(),
                source: io::Error::other(e),
            },
            missing @ Partial::Missing(_) => ExportError::DoesNotVerify {
                path: log.to_owned(),
                detail: missing.to_string(),
            },
        })?;
        let start = record.map(|r| Start {
            record: r.to_map(),
            entries: r.checkpoint.entries,
            head: r.checkpoint.head,
            origin: r.checkpoint.origin.clone(),
            opened: r.opened.unwrap_or_default(),
            frontier: r.frontier.map(|f| {
                f.hashes()
                    .iter()
                    .map(|h| crate::chain::hash::hex(h))
                    .collect()
            }),
        });
        let before = start.as_ref().map_or(0, |s| s.entries);
        Ok(Self::Segments {
            files,
            // A snapshot of a live log: the segments hold its entries, one a line, from the
            // first kept; what was appended (or rolled over into a new segment) after it is
            // left.
            entries: opts.expect.as_ref().map(|(n, _)| n.saturating_sub(before)),
            start,
        })
    }

    /// Where the chain stood before the first entry read: `None` from its first entry.
    fn start(&self) -> Option<&Start> {
        match self {
            Self::File { .. } => None,
            Self::Segments { start, .. } => start.as_ref(),
        }
    }

    /// The files the entries come from.
    fn files(&self) -> &[PathBuf] {
        match self {
            Self::File { path, .. } => std::slice::from_ref(path),
            Self::Segments { files, .. } => files,
        }
    }

    fn open(&self) -> io::Result<Box<dyn BufRead>> {
        Ok(match self {
            Self::File { path, upto } => Box::new(BufReader::new(File::open(path)?.take(*upto))),
            Self::Segments { files, entries, .. } => {
                Box::new(BufReader::new(Concat::new(files.clone(), *entries)))
            }
        })
    }
}

/// Calls `f` with each entry line of `reader` parsed (blank lines skipped). The log was just
/// verified, so every line parses; one that does not (the file changed under us) is an error.
fn for_each_entry(
    reader: impl BufRead,
    mut f: impl FnMut(Map) -> io::Result<()>,
) -> io::Result<()> {
    for line in reader.split(b'\n') {
        let line = line?;
        let text = std::str::from_utf8(&line)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "invalid UTF-8"))?;
        let text = verify::py_strip(text);
        if text.is_empty() {
            continue;
        }
        match Value::parse(text) {
            Ok(Value::Object(row)) => f(row)?,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the log changed while it was exported",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::chain::Framework;

    /// A snapshot of a segmented log reads its segments in order, as one stream, and stops
    /// after the snapshot's entries, whichever segment they end in.
    #[cfg(feature = "ed25519")]
    #[test]
    fn a_snapshot_of_segments_stops_after_its_entries() {
        use std::io::Read as _;
        let dir = std::env::temp_dir().join(format!("acttrace-concat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("segment-000001.jsonl"), "a\nb\n").unwrap();
        std::fs::write(dir.join("segment-000002.jsonl"), "c\nd\ne\n").unwrap();
        std::fs::write(dir.join("segment-000003.jsonl"), "f\n").unwrap();
        let read = |opts: &super::ExportOptions| {
            let mut out = String::new();
            super::Source::of(&dir, opts)
                .unwrap()
                .open()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            out
        };
        let snapshot = |n| super::ExportOptions::new().upto(0, n, "head".to_owned());
        assert_eq!(read(&super::ExportOptions::new()), "a\nb\nc\nd\ne\nf\n");
        assert_eq!(read(&snapshot(4)), "a\nb\nc\nd\n");
        assert_eq!(read(&snapshot(2)), "a\nb\n");
        assert_eq!(read(&snapshot(6)), "a\nb\nc\nd\ne\nf\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn framework_names_round_trip() {
        for f in Framework::ALL {
            assert_eq!(f.as_str().parse::<Framework>(), Ok(f));
        }
        assert!("eu-ai-act".parse::<Framework>().is_err());
    }
}

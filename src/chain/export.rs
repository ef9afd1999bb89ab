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
//! ```
//! use acttrace::chain::{AuditLog, Entry, Framework, Map, verify_path, VerifyOptions};
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

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::hash::SigningKey;
use super::value::{Map, Value};
use super::verify::{self, VerifyOptions};

/// The reference's disclaimer, written into every header.
const DISCLAIMER: &str = "Evidence to support compliance \u{2014} not legal advice.";

/// A framework whose controls an evidence pack maps entries to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Framework {
    /// EU AI Act (Regulation 2024/1689).
    EuAiAct,
    /// GDPR (Regulation 2016/679).
    Gdpr,
    /// ISO/IEC 42001:2023, Annex A controls and management clauses.
    Iso42001,
    /// NIST AI RMF 1.0.
    NistRmf,
}

impl Framework {
    /// Every framework, in name order.
    pub const ALL: [Self; 4] = [Self::EuAiAct, Self::Gdpr, Self::Iso42001, Self::NistRmf];

    /// The framework's name in packs and on the command line (`eu_ai_act`, `gdpr`,
    /// `iso_42001`, `nist_rmf`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EuAiAct => "eu_ai_act",
            Self::Gdpr => "gdpr",
            Self::Iso42001 => "iso_42001",
            Self::NistRmf => "nist_rmf",
        }
    }

    /// The controls an entry of type `kind` is evidence for (before any category-specific
    /// pointers of a `policy_flag`).
    pub fn controls(self, kind: &str) -> &'static [&'static str] {
        use Framework::*;
        match (self, kind) {
            (EuAiAct, "audit_open") => &[
                "Art.12 record-keeping",
                "Art.19 automatically generated logs",
            ],
            (EuAiAct, "decision" | "decision_record") => {
                &["Art.12 record-keeping", "Art.13 transparency"]
            }
            (EuAiAct, "decision_end" | "compression") => &["Art.12 record-keeping"],
            (EuAiAct, "llm_call") => &[
                "Art.12 logging",
                "Art.19 automatically generated logs",
                "Art.72 post-market monitoring",
            ],
            (EuAiAct, "tool_call") => &["Art.12 logging", "Art.19 automatically generated logs"],
            (EuAiAct, "context_assembly") => &["Art.12 logging", "Art.13 transparency"],
            (EuAiAct, "human_oversight") => {
                &["Art.14 human oversight", "Art.26(5) deployer oversight"]
            }
            (EuAiAct, "policy_flag") => &["Art.10 data governance", "Art.12 record-keeping"],
            (EuAiAct, "budget_event") => {
                &["Art.12 record-keeping", "Art.72 post-market monitoring"]
            }
            (EuAiAct, "gap" | "recovery") => &[
                "Art.12 record-keeping",
                "Art.19 automatically generated logs",
            ],

            (NistRmf, "audit_open") => &["GOVERN-1.1"],
            (NistRmf, "decision") => &["MAP-1.1", "MEASURE-2.1"],
            (
                NistRmf,
                "decision_record" | "decision_end" | "llm_call" | "tool_call" | "context_assembly"
                | "compression",
            ) => &["MEASURE-2.1"],
            (NistRmf, "human_oversight") => &["MANAGE-2.1"],
            (NistRmf, "policy_flag" | "budget_event") => &["MANAGE-2.1", "MEASURE-2.1"],
            (NistRmf, "gap" | "recovery") => &["MANAGE-2.1"],

            (Iso42001, "audit_open" | "decision_record" | "decision_end") => {
                &["A.6.2.8 event logs"]
            }
            (Iso42001, "decision") => &["A.6.2.8 event logs", "A.5.2 AI system impact assessment"],
            (Iso42001, "llm_call") => &[
                "A.6.2.8 event logs",
                "A.6.2.6 operation & monitoring",
                "Cl.9.1 monitoring & measurement",
            ],
            (Iso42001, "tool_call" | "context_assembly") => {
                &["A.6.2.8 event logs", "A.6.2.6 operation & monitoring"]
            }
            (Iso42001, "human_oversight") => &["A.9.2 responsible use", "A.9.4 intended use"],
            (Iso42001, "policy_flag") => &[
                "A.7 data for AI systems",
                "A.6.2.8 event logs",
                "A.9.2 responsible use",
            ],
            (Iso42001, "budget_event") => &["A.6.2.6 operation & monitoring", "A.6.2.8 event logs"],
            (Iso42001, "compression") => &["A.6.2.6 operation & monitoring"],
            (Iso42001, "gap" | "recovery") => &["A.6.2.8 event logs"],

            (Gdpr, "audit_open") => &["Art.30 records of processing", "Art.5(2) accountability"],
            (Gdpr, "decision") => &[
                "Art.22 automated decision-making",
                "Art.5(2) accountability",
            ],
            (Gdpr, "decision_record") => &["Art.22 automated decision-making"],
            (
                Gdpr,
                "decision_end" | "llm_call" | "tool_call" | "context_assembly" | "budget_event",
            ) => &["Art.30 records of processing"],
            (Gdpr, "human_oversight") => &["Art.22(3) right to human intervention"],
            (Gdpr, "gap" | "recovery") => &[
                "Art.30 records of processing",
                "Art.32 security of processing",
            ],
            (Gdpr, "compression") => &["Art.5(1)(c) data minimisation"],
            (Gdpr, "policy_flag") => &[
                "Art.9 special-category data",
                "Art.5(1)(c) data minimisation",
                "Art.30 records of processing",
            ],
            _ => &[],
        }
    }

    /// The extra controls a `policy_flag` naming `key` (a detector category or group) in its
    /// `data` points at.
    fn category_controls(self, key: &str) -> &'static [&'static str] {
        const PCI: &str = "PCI-DSS 3.3/3.4 (payment-card data \u{2014} cross-reference)";
        match (self, key) {
            (Self::Gdpr, "special_category") => &["Art.9 special-category data"],
            (Self::EuAiAct, "special_category") => {
                &["Art.10(5) special categories for bias detection"]
            }
            (Self::Gdpr, "gov_id") => &["Art.87 processing of national identification numbers"],
            (Self::Gdpr | Self::EuAiAct, "financial") => &[PCI],
            (Self::Gdpr, "pii") => &["Art.4(1) personal data", "Art.5(1)(c) data minimisation"],
            (Self::Gdpr, "secret" | "credential") => &["Art.32 security of processing"],
            _ => &[],
        }
    }

    /// The controls `entry_kind` with `payload` is evidence for: the type's controls, then, for
    /// a `policy_flag`, the pointers of each category (and its group) named in `data`, without
    /// repeats.
    pub fn controls_for(self, entry_kind: &str, payload: &Map) -> Vec<&'static str> {
        let mut out = self.controls(entry_kind).to_vec();
        if entry_kind != "policy_flag" {
            return out;
        }
        let cats: Vec<&str> = match payload.get("data") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => vec![s.as_str()],
            _ => Vec::new(),
        };
        for cat in cats {
            for key in [Some(cat), group_of(cat)].into_iter().flatten() {
                for c in self.category_controls(key) {
                    if !out.contains(c) {
                        out.push(c);
                    }
                }
            }
        }
        out
    }
}

/// The group of a detector category: this crate's detectors, and the reference's names for
/// the same things, so flags written by either map alike.
fn group_of(category: &str) -> Option<&'static str> {
    if let Some(d) = super::detect::DETECTORS
        .iter()
        .find(|d| d.category == category)
    {
        return Some(d.group);
    }
    Some(match category {
        "email" | "phone" | "ipv4" | "ipv6" | "mac_address" => "pii",
        "api_key" | "aws_key" | "google_api_key" | "jwt" | "bearer_token" | "github_token"
        | "slack_token" | "private_key" => "secret",
        "password" => "credential",
        "credit_card" | "iban" | "us_routing" | "swift_bic" => "financial",
        "us_ssn" => "gov_id",
        "special_category" => "special_category",
        _ => return None,
    })
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A framework name that is not one of [`Framework::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown framework {0:?}; available: eu_ai_act, gdpr, iso_42001, nist_rmf")]
pub struct UnknownFramework(pub String);

impl FromStr for Framework {
    type Err = UnknownFramework;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFramework(s.to_owned()))
    }
}

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
    /// The log's writer failed to give a snapshot.
    #[error(transparent)]
    Log(#[from] super::Error),
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
    if super::files::same_file(log, pack) {
        return Err(ExportError::Overwrite {
            path: log.to_owned(),
            pack: pack.to_owned(),
        });
    }
    let read_err = |source| ExportError::Read {
        path: log.to_owned(),
        source,
    };
    let open = || -> Result<BufReader<io::Take<File>>, ExportError> {
        let file = File::open(log).map_err(read_err)?;
        Ok(BufReader::new(file.take(opts.upto.unwrap_or(u64::MAX))))
    };

    // 1. The chain must verify (as far as the snapshot goes).
    let mut vopts = VerifyOptions::new();
    if let Some(key) = &opts.key {
        vopts = vopts.key(key.clone());
    }
    if let Some((entries, head)) = &opts.expect {
        vopts = vopts.expected_entries(*entries).expected_head(head.clone());
    }
    let report = verify::verify_reader(open()?, &log.display().to_string(), &vopts);
    if report.has_meta() {
        return Err(ExportError::NotALog {
            path: log.to_owned(),
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
    meta.insert(
        "system",
        opts.system
            .clone()
            .or(tally.system.clone())
            .unwrap_or_default(),
    );
    meta.insert(
        "risk_tier",
        opts.risk_tier
            .clone()
            .or(tally.risk_tier.clone())
            .unwrap_or_else(|| "limited".to_owned()),
    );
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
    let written = super::files::write_whole(pack, opts.file_mode.unwrap_or(0o600), true, |file| {
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
    })
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

/// An entry as the reference writes it into a pack: its fields in the entry's order, then its
/// controls when a framework is chosen.
fn pack_row(mut row: Map, framework: Option<Framework>) -> String {
    let mut out = Map::new();
    for k in ["seq", "ts", "type", "payload", "prev_hash", "hash", "sig"] {
        if let Some(v) = row.remove(k) {
            out.insert(k, v);
        }
    }
    for (k, v) in row.iter() {
        out.insert(k, v.clone());
    }
    if let Some(fw) = framework {
        let controls = controls_value(row_controls(fw, &out));
        out.insert("controls", controls);
    }
    Value::from(out).to_line_json()
}

/// An entry row's `type` and `payload` (empty when missing or not an object).
fn kind_and_payload(row: &Map) -> (&str, &Map) {
    static EMPTY: Map = Map::new();
    let kind = row.get("type").and_then(Value::as_str).unwrap_or("");
    let payload = row
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY);
    (kind, payload)
}

/// The controls `fw` maps an entry row to.
fn row_controls(fw: Framework, row: &Map) -> Vec<&'static str> {
    let (kind, payload) = kind_and_payload(row);
    fw.controls_for(kind, payload)
}

fn controls_value(controls: Vec<&'static str>) -> Value {
    Value::Array(controls.into_iter().map(Value::from).collect())
}

/// `sha256` over each entry's `controls`, canonical JSON and a line break each, in order: what
/// a signed header's `controls_digest` holds, binding the annotations to the signature.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControlsDigest(sha2::Sha256);

impl ControlsDigest {
    pub(crate) fn add(&mut self, controls: &Value) {
        use sha2::Digest as _;
        self.0.update(controls.to_canonical().as_bytes());
        self.0.update(b"\n");
    }

    pub(crate) fn hex(&self) -> String {
        use sha2::Digest as _;
        super::hash::hex(&self.0.clone().finalize())
    }
}

/// The body our header signature (`header_sig`) covers: the canonical header without its two
/// signatures, so every field (summary, framework, controls covered, controls digest) counts.
pub(crate) fn header_signed_body(meta: &Map) -> String {
    let mut body = meta.clone();
    body.remove("sig");
    body.remove("header_sig");
    Value::from(body).to_canonical()
}

/// The header's counts, gathered in one pass (also by the verifier, to check a pack's header
/// against its entries).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    system: Option<String>,
    risk_tier: Option<String>,
    decisions: u64,
    llm_calls: u64,
    tool_calls: u64,
    context_assemblies: u64,
    human_oversight: u64,
    policy_flags: u64,
    /// Python `Counter`s: keys in first-seen order.
    by_action: Vec<(String, u64)>,
    by_severity: Vec<(String, u64)>,
    covered: BTreeSet<&'static str>,
}

impl Tally {
    fn add_row(&mut self, row: &Map, framework: Option<Framework>) {
        let (kind, payload) = kind_and_payload(row);
        self.add(kind, payload);
        if let Some(fw) = framework {
            self.covered.extend(fw.controls_for(kind, payload));
        }
    }

    /// Counts one entry.
    pub(crate) fn add(&mut self, kind: &str, payload: &Map) {
        match kind {
            "audit_open" if self.system.is_none() => {
                self.system = payload
                    .get("system")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.risk_tier = payload
                    .get("risk_tier")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            "decision" => self.decisions += 1,
            "llm_call" => self.llm_calls += 1,
            "tool_call" => self.tool_calls += 1,
            "context_assembly" => self.context_assemblies += 1,
            "human_oversight" => self.human_oversight += 1,
            "policy_flag" => {
                self.policy_flags += 1;
                count(&mut self.by_action, payload.get("action"));
                count(&mut self.by_severity, payload.get("severity"));
            }
            _ => {}
        }
    }

    /// The header's `summary`.
    pub(crate) fn summary(&self) -> Map {
        let counter = |c: &[(String, u64)]| {
            let mut m = Map::new();
            for (k, n) in c {
                m.insert(k.clone(), *n);
            }
            m
        };
        let mut s = Map::new();
        s.insert("decisions", self.decisions);
        s.insert("llm_calls", self.llm_calls);
        s.insert("tool_calls", self.tool_calls);
        s.insert("context_assemblies", self.context_assemblies);
        s.insert("human_oversight", self.human_oversight);
        s.insert("policy_flags", self.policy_flags);
        s.insert("flags_by_action", counter(&self.by_action));
        s.insert("flags_by_severity", counter(&self.by_severity));
        s
    }
}

/// Counts `value` under the key Python's `json.dumps` would give it (`null` when missing).
fn count(counter: &mut Vec<(String, u64)>, value: Option<&Value>) {
    let key = match value {
        None | Some(Value::Null) => "null".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_line_json(),
    };
    match counter.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counter.push((key, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_names_round_trip() {
        for f in Framework::ALL {
            assert_eq!(f.as_str().parse::<Framework>(), Ok(f));
        }
        assert!("eu-ai-act".parse::<Framework>().is_err());
    }

    #[test]
    fn flags_point_at_category_controls_without_repeats() {
        let mut p = Map::new();
        p.insert(
            "data",
            Value::Array(vec!["email".into(), "pii".into(), "openai_key".into()]),
        );
        assert_eq!(
            Framework::Gdpr.controls_for("policy_flag", &p),
            [
                "Art.9 special-category data",
                "Art.5(1)(c) data minimisation",
                "Art.30 records of processing",
                "Art.4(1) personal data",
                "Art.32 security of processing",
            ]
        );
        assert_eq!(
            Framework::NistRmf.controls_for("policy_flag", &p),
            ["MANAGE-2.1", "MEASURE-2.1"]
        );
        assert!(
            Framework::EuAiAct
                .controls_for("guardrail_decision", &p)
                .is_empty()
        );
        for fw in Framework::ALL {
            assert!(!fw.controls("gap").is_empty() && !fw.controls("recovery").is_empty());
        }
    }
}

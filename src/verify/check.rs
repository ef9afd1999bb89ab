//! Checking lines: parsing and hashing each one (the fused fast path for ordinary lines, the
//! general path for everything else), walking the links, the signatures, a pack's header
//! against its entries, and completeness against what the caller expects.
//!
//! Uses the format ([`chain`](crate::chain)) and the JSON model.

use std::collections::BTreeSet;

use crate::chain::hash::{self, GENESIS, SigningKey};
use crate::chain::line;
use crate::chain::pack::{self, ControlsDigest, Framework, Tally};
use crate::json::canonical;
use crate::json::parse::{Node, Tape};
use crate::json::value::{Map, Value};

use super::read::py_strip;
use super::{Failure, Report, VerifyOptions};

/// What a fed line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    Blank,
    Meta,
    Entry,
}

/// A lowercase-hex SHA-256 as ASCII bytes.
type Hex64 = [u8; 64];

/// What one line holds, as far as can be told without the lines before it.
#[derive(Debug)]
pub(crate) enum LineCheck {
    Blank,
    Meta(Map),
    Entry(EntryCheck),
    Fail(Failure),
    /// Longer than the limit: not read (the batch reader says after which entry).
    TooLong {
        line: u64,
    },
}

/// An entry line's findings, to be checked against the chain's running head.
#[derive(Debug)]
pub(crate) struct EntryCheck {
    /// `prev_hash` as the line has it; `None` when it is not a 64-byte string (so it cannot
    /// match any head).
    prev_hash: Option<Hex64>,
    /// `hex(sha256(prev_hash + body))`: the entry's hash, if its link holds.
    hash: Hex64,
    seq: Seq,
    /// Whether `sig` was missing or empty.
    unsigned: bool,
    /// The first failure among the checks that come after the link (the `hash` field, the
    /// signature), in the reference's order.
    after_link: Option<Failure>,
    /// For an entry of an evidence pack (it has `controls`): what the header is checked
    /// against.
    pack: Option<Box<PackRow>>,
}

/// An evidence pack entry's type, payload and controls.
#[derive(Debug)]
pub(crate) struct PackRow {
    kind: String,
    payload: Map,
    controls: Value,
}

/// An entry's `seq`: usually a small integer, kept as text otherwise for messages.
#[derive(Debug, Clone)]
enum Seq {
    Index(u64),
    Other(String),
}

impl Seq {
    fn text(&self) -> String {
        match self {
            Self::Index(n) => n.to_string(),
            Self::Other(s) => s.clone(),
        }
    }
}

/// The per-line checks that need no knowledge of earlier lines: decoding, parsing,
/// canonicalizing, hashing, the signature. Runs on any thread.
#[derive(Debug, Clone)]
pub(crate) struct Analyzer {
    key: Option<SigningKey>,
    tape: Tape,
    scratch: line::CanonScratch,
    body: String,
}

impl Analyzer {
    pub(crate) fn new(key: Option<SigningKey>) -> Self {
        Self {
            key,
            tape: Tape::default(),
            scratch: line::CanonScratch::default(),
            body: String::new(),
        }
    }

    /// Checks one physical line (without its line break).
    pub(crate) fn check(&mut self, raw: &[u8], line: u64) -> LineCheck {
        match std::str::from_utf8(raw) {
            Ok(text) => self.check_text(text, line),
            Err(_) => LineCheck::Fail(Failure::InvalidUtf8 { line }),
        }
    }

    /// Checks one physical line already known to be UTF-8.
    pub(super) fn check_text(&mut self, text: &str, line: u64) -> LineCheck {
        match self.check_inner(text, line) {
            Ok(c) => c,
            Err(f) => LineCheck::Fail(f),
        }
    }

    fn check_inner(&mut self, text: &str, line: u64) -> Result<LineCheck, Failure> {
        let text = py_strip(text);
        if text.is_empty() {
            return Ok(LineCheck::Blank);
        }
        // The ordinary line, in one pass. Everything else (and a non-ASCII `sig` to check,
        // which is a `corrupt` verdict with its line number) takes the general path below.
        if let Some(entry) = line::canonical_entry(text, &mut self.scratch)
            && (self.key.is_none() || entry.sig.is_none_or(str::is_ascii))
        {
            return Ok(LineCheck::Entry(self.check_ordinary(&entry)));
        }
        let corrupt = |reason: String| Failure::Corrupt { line, reason };
        let row = self.tape.parse(text).map_err(|e| corrupt(e.to_string()))?;
        if row.is_array() {
            return Err(corrupt("a JSON array, not an object".to_owned()));
        }
        if !row.is_object() {
            return Err(corrupt("not a JSON object".to_owned()));
        }
        // One pass over the top-level members; the last duplicate wins, as in Python.
        let mut f: [Option<Node<'_>>; 9] = [None; 9];
        const NAMES: [&str; 9] = [
            "seq",
            "ts",
            "type",
            "payload",
            "prev_hash",
            "hash",
            "sig",
            "_meta",
            "controls",
        ];
        for (k, v) in row.members() {
            let i = match k.decode().as_ref() {
                "seq" => 0,
                "ts" => 1,
                "type" => 2,
                "payload" => 3,
                "prev_hash" => 4,
                "hash" => 5,
                "sig" => 6,
                "_meta" => 7,
                "controls" => 8,
                _ => continue,
            };
            f[i] = Some(v);
        }
        if let Some(meta) = f[7] {
            // The reference treats a header that is not an object as an empty one.
            return Ok(LineCheck::Meta(match meta.to_value() {
                Value::Object(m) => m,
                _ => Map::new(),
            }));
        }
        let field = |i: usize| f[i].ok_or_else(|| corrupt(format!("missing '{}'", NAMES[i])));
        let (seq, ts, kind, payload) = (field(0)?, field(1)?, field(2)?, field(3)?);
        let prev_hash = field(4)?;
        // JSON `-0` is the integer 0, as in Python.
        let seq_val = match seq
            .int_text()
            .map(|t| if t == "-0" { "0" } else { t })
            .and_then(|t| t.parse().ok())
        {
            Some(n) => Seq::Index(n),
            None => Seq::Other(seq.py_str()),
        };
        let prev_hash = prev_hash
            .as_str()
            .and_then(|p| <Hex64>::try_from(p.as_bytes()).ok());
        let Some(prev) = prev_hash else {
            // Cannot match any head: a broken link, whatever follows.
            return Ok(LineCheck::Entry(EntryCheck {
                prev_hash: None,
                hash: [0; 64],
                seq: seq_val,
                unsigned: true,
                after_link: None,
                pack: None,
            }));
        };
        self.body.clear();
        hash::write_body_node(&mut self.body, seq, ts, kind, payload);
        let hash = hash::link_hash_hex(&prev, self.body.as_bytes());
        let sig = f[6].map(|s| s.as_str());
        let unsigned = match &sig {
            None => true,
            Some(Some(s)) => s.is_empty(),
            Some(None) => false,
        };
        let after_link = (|| {
            let stored = field(5)?;
            if stored.as_str().is_none_or(|h| h.as_bytes() != hash) {
                return Err(Failure::HashMismatch {
                    seq: seq_val.text(),
                });
            }
            let sig = match sig {
                None => std::borrow::Cow::Borrowed(""),
                Some(Some(s)) => s,
                Some(None) => return Err(corrupt("'sig' is not a string".to_owned())),
            };
            if let Some(key) = &self.key {
                if !sig.is_ascii() {
                    return Err(corrupt("'sig' is not ASCII".to_owned()));
                }
                if !key.verify(&hash, &sig) {
                    return Err(Failure::BadSignature {
                        seq: seq_val.text(),
                    });
                }
            }
            Ok(())
        })()
        .err();
        let pack = f[8].map(|controls| {
            Box::new(PackRow {
                kind: kind.as_str().map(|k| k.into_owned()).unwrap_or_default(),
                payload: match payload.to_value() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                controls: controls.to_value(),
            })
        });
        Ok(LineCheck::Entry(EntryCheck {
            prev_hash: Some(prev),
            hash,
            seq: seq_val,
            unsigned,
            after_link,
            pack,
        }))
    }
}

impl Analyzer {
    /// The checks of [`Analyzer::check`] for a line the fused scanner handled: its body is in
    /// `self.scratch`, its link fields are plain strings (an ASCII `sig` when a key is checked),
    /// its `seq` a non-negative integer. Same findings, same order, as the general path.
    fn check_ordinary(&self, e: &line::EntryLine<'_>) -> EntryCheck {
        let seq = Seq::Index(e.seq);
        let Ok(prev) = <Hex64>::try_from(e.prev_hash.as_bytes()) else {
            return EntryCheck {
                prev_hash: None,
                hash: [0; 64],
                seq,
                unsigned: true,
                after_link: None,
                pack: None,
            };
        };
        let hash = hash::link_hash_hex_parts(&prev, &self.scratch.body_parts());
        let sig = e.sig.unwrap_or("");
        let after_link = if e.hash.as_bytes() != hash {
            Some(Failure::HashMismatch { seq: seq.text() })
        } else {
            match &self.key {
                Some(key) if !key.verify(&hash, sig) => {
                    Some(Failure::BadSignature { seq: seq.text() })
                }
                _ => None,
            }
        };
        EntryCheck {
            prev_hash: Some(prev),
            hash,
            seq,
            unsigned: sig.is_empty(),
            after_link,
            pack: None,
        }
    }
}

/// The chain walk: the running head, counts and what was seen. Strictly sequential.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub(crate) prev: Hex64,
    pub(crate) seen: u64,
    pub(crate) meta: Option<Map>,
    /// `seq` of the last entry when it is a non-negative integer.
    pub(crate) last_seq: Option<u64>,
    /// Whether any entry carried a non-empty `sig`.
    pub(crate) saw_signed: bool,
    /// Whether the entry just applied had an empty or missing `sig`.
    pub(crate) last_unsigned: bool,
    /// What the entries of an evidence pack say, to check its header against.
    pub(crate) pack: PackState,
    /// A signed checkpoint's entry count, and the head the chain had at that count.
    pub(crate) watch: Option<u64>,
    pub(crate) watched: Option<Hex64>,
    /// For an evidence pack of a log whose first entries were deleted under retention (its
    /// header's `after`): how many entries came before its first one, which must be that
    /// `seq`.
    pub(crate) start: Option<u64>,
}

/// Gathered from the entries that carry `controls`, in chain order.
#[derive(Debug, Clone, Default)]
pub(crate) struct PackState {
    rows: u64,
    digest: ControlsDigest,
    tally: Tally,
    /// Per framework (in [`Framework::ALL`] order): the controls the entries are evidence
    /// for, and the first entry whose `controls` are not its mapping.
    covered: [BTreeSet<&'static str>; 4],
    mismatch: [Option<String>; 4],
}

impl PackState {
    fn add(&mut self, seq: &Seq, row: &PackRow) {
        self.rows += 1;
        self.digest.add(&row.controls);
        self.tally.add(&row.kind, &row.payload);
        for (i, fw) in Framework::ALL.into_iter().enumerate() {
            let want = fw.controls_for(&row.kind, &row.payload);
            let same = matches!(&row.controls, Value::Array(items)
                if items.len() == want.len()
                    && items.iter().zip(&want).all(|(a, b)| a.as_str() == Some(*b)));
            if !same && self.mismatch[i].is_none() {
                self.mismatch[i] = Some(seq.text());
            }
            self.covered[i].extend(want);
        }
    }
}

impl Chain {
    fn new() -> Self {
        let mut prev = [0; 64];
        prev.copy_from_slice(GENESIS.as_bytes());
        Self {
            prev,
            seen: 0,
            meta: None,
            last_seq: None,
            saw_signed: false,
            last_unsigned: false,
            pack: PackState::default(),
            watch: None,
            watched: None,
            start: None,
        }
    }

    /// Checks a line's findings against the running head and advances it.
    pub(crate) fn apply(&mut self, check: LineCheck) -> Result<Seen, Failure> {
        let e = match check {
            LineCheck::Blank => return Ok(Seen::Blank),
            LineCheck::Meta(m) => {
                // A pack that starts where retention left the log: its header says after how
                // many entries, ending at which head (before any entry, as its first line).
                if let Some(after) = m.get("after")
                    && self.seen == 0
                    && self.prev == *GENESIS.as_bytes()
                {
                    let (entries, head) =
                        pack_start(after).ok_or_else(|| Failure::PackMismatch {
                            what: "after: not {entries, head}".to_owned(),
                        })?;
                    self.prev = head;
                    self.seen = entries;
                    self.start = Some(entries);
                }
                self.meta = Some(m);
                return Ok(Seen::Meta);
            }
            LineCheck::Fail(f) => return Err(f),
            LineCheck::TooLong { line } => {
                return Err(Failure::Corrupt {
                    line,
                    reason: "line longer than the limit".to_owned(),
                });
            }
            LineCheck::Entry(e) => e,
        };
        if e.prev_hash != Some(self.prev) {
            return Err(Failure::BrokenLink { seq: e.seq.text() });
        }
        if let Some(start) = self.start
            && self.seen == start
            && !matches!(e.seq, Seq::Index(n) if n == start)
        {
            return Err(Failure::PackMismatch {
                what: format!(
                    "after: the first entry is seq {}, not {start}",
                    e.seq.text()
                ),
            });
        }
        self.last_unsigned = e.unsigned;
        self.saw_signed |= !e.unsigned;
        if let Some(f) = e.after_link {
            return Err(f);
        }
        self.last_seq = match e.seq {
            Seq::Index(n) => Some(n),
            Seq::Other(_) => None,
        };
        if let Some(row) = &e.pack {
            self.pack.add(&e.seq, row);
        }
        self.prev = e.hash;
        // A start given from outside (a seal, a pack's header) may claim any count.
        self.seen = self.seen.saturating_add(1);
        if self.watch == Some(self.seen) {
            self.watched = Some(self.prev);
        }
        Ok(Seen::Entry)
    }

    fn head(&self) -> &str {
        // Always ASCII hex: GENESIS or a computed digest.
        std::str::from_utf8(&self.prev).unwrap_or(GENESIS)
    }
}

/// Whether a pack's start after retention is the one its retention record (`after.record`)
/// names, the record signed with the seal key: its checkpoint at the start's count and head,
/// its Merkle frontier the header's.
#[cfg(feature = "ed25519")]
fn sealed_start(
    meta: &Map,
    start: u64,
    key: &crate::chain::checkpoint::PublicKey,
) -> Option<Failure> {
    use super::segments::RetentionRecord;
    let mismatch = |what: String| Some(Failure::PackMismatch { what });
    let after = meta.get("after");
    let record = match after.and_then(|a| a.get("record")) {
        Some(Value::Object(record)) => RetentionRecord::from_map(record.clone()),
        _ => return mismatch("after: no retention record to check its start against".into()),
    };
    let record = match record {
        Ok(record) => record,
        Err(why) => return mismatch(format!("after: {why}")),
    };
    if !record.is_signed_by(key) {
        return Some(Failure::RetentionForged);
    }
    let head = after.and_then(|a| a.get("head")).and_then(Value::as_str);
    if record.checkpoint.entries != start || head != Some(record.checkpoint.head.as_str()) {
        return mismatch(format!(
            "after: the retention record says the chain held {} entries there, not {start}",
            record.checkpoint.entries
        ));
    }
    let frontier = after.and_then(|a| a.get("frontier"));
    let recorded = record.frontier.as_ref().map(|f| f.hashes().to_vec());
    (crate::chain::merkle::hash_list(frontier) != recorded).then(|| Failure::PackMismatch {
        what: "after: its frontier is not the retention record's".to_owned(),
    })
}

/// A pack header's `after`: `{"entries": N, "head": H}`, H a SHA-256 in lowercase hex and N
/// a count a chain can reach (below 2^53, the integers every JSON reader keeps exact).
fn pack_start(after: &Value) -> Option<(u64, Hex64)> {
    let head = after.get("head")?.as_str()?;
    let entries = after.get("entries")?.as_u64().filter(|n| *n < 1 << 53)?;
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let head: Hex64 = head.as_bytes().try_into().ok()?;
    head.iter()
        .all(|&b| lower_hex(b))
        .then_some((entries, head))
}

/// Line-at-a-time verification on the calling thread; the writer's resume path uses it.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    pub(crate) analyzer: Analyzer,
    pub(crate) chain: Chain,
}

impl Verifier {
    pub(crate) fn new(key: Option<SigningKey>) -> Self {
        Self {
            analyzer: Analyzer::new(key),
            chain: Chain::new(),
        }
    }

    pub(crate) fn entries(&self) -> u64 {
        self.chain.seen
    }

    /// Starts the walk after `entries` entries ending at `head` (a continuing segment). A head
    /// that is not 64 hex digits leaves the walk at the genesis, where the first link fails.
    pub(crate) fn continue_after(&mut self, entries: u64, head: &str) {
        if head.len() == 64 && head.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.chain.prev.copy_from_slice(head.as_bytes());
            self.chain.seen = entries;
        }
    }

    pub(crate) fn head(&self) -> &str {
        self.chain.head()
    }

    pub(crate) fn has_meta(&self) -> bool {
        self.chain.meta.is_some()
    }

    /// Whether every entry so far carries `controls`: an evidence pack without its header.
    pub(crate) fn is_stripped_pack(&self) -> bool {
        self.chain.pack.rows > 0 && self.chain.pack.rows == self.chain.seen
    }

    /// Checks one physical line (without its line break).
    pub(crate) fn feed(&mut self, raw: &[u8], line: u64) -> Result<Seen, Failure> {
        let check = self.analyzer.check(raw, line);
        self.chain.apply(check)
    }

    /// The completeness checks after the last line, then the report.
    pub(crate) fn finish_with(
        self,
        label: &str,
        opts: &VerifyOptions,
        failure: Option<Failure>,
    ) -> Report {
        let mut report = Report {
            label: label.to_owned(),
            entries: self.chain.seen,
            head: self.chain.head().to_owned(),
            failure,
            signatures_checked: false,
            signed: self.chain.saw_signed,
            meta_present: self.chain.meta.is_some(),
            meta_trusted: false,
            out_of_band: opts.expected_head.is_some() || opts.expected_entries.is_some(),
            starts_after: self.chain.start.unwrap_or(0),
            start_sealed: false,
        };
        if report.failure.is_none() {
            report.failure = completeness(&mut report, self.chain.meta.as_ref(), opts);
        }
        if report.failure.is_none() {
            report.failure = pack_checks(&report, &self.chain, opts);
        }
        #[cfg(feature = "ed25519")]
        if report.failure.is_none()
            && let (Some(key), Some(start), Some(meta)) =
                (&opts.seal_key, self.chain.start, &self.chain.meta)
        {
            report.failure = sealed_start(meta, start, key);
            report.start_sealed = report.failure.is_none();
        }
        if report.failure.is_none()
            && let Some(claim) = &opts.checkpoint
        {
            let at = match claim.entries {
                0 => Some(GENESIS),
                _ => self
                    .chain
                    .watched
                    .as_ref()
                    .and_then(|h| std::str::from_utf8(h).ok()),
            };
            report.failure = if !claim.signature_ok {
                Some(Failure::CheckpointForged)
            } else if at != Some(claim.head.as_str()) {
                Some(Failure::CheckpointMismatch {
                    signed: claim.entries,
                })
            } else {
                None
            };
        }
        if report.failure.is_none() {
            report.signatures_checked = opts.key.is_some();
        }
        report
    }
}

fn completeness(report: &mut Report, meta: Option<&Map>, opts: &VerifyOptions) -> Option<Failure> {
    // With a key, the header's completeness claim must itself be authenticated.
    if let (Some(key), Some(meta)) = (&opts.key, meta) {
        let sig = meta.get("sig");
        let falsy = match sig {
            None | Some(Value::Null | Value::Bool(false)) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Int(i)) => i.as_i64() == Some(0),
            Some(Value::Float(f)) => *f == 0.0,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(Value::Bool(true)) => false,
        };
        if falsy {
            return Some(Failure::MetaUnauthenticated);
        }
        let ok = match sig {
            Some(Value::String(s)) => key.verify(meta_signed_body(meta).as_bytes(), s),
            _ => false,
        };
        if !ok {
            return Some(Failure::MetaForged);
        }
        report.meta_trusted = true;
    }
    let meta_head = meta
        .and_then(|m| m.get("head_hash"))
        .filter(|v| !v.is_null());
    let want_head = match (&opts.expected_head, meta_head) {
        (Some(h), _) => Some(h.clone()),
        (None, Some(Value::String(h))) => Some(h.clone()),
        (None, Some(other)) => Some(py_str_value(other)),
        (None, None) => None,
    };
    let head_matches = match (&opts.expected_head, meta_head) {
        (Some(h), _) => *h == report.head,
        (None, Some(Value::String(h))) => *h == report.head,
        (None, Some(_)) => false,
        (None, None) => true,
    };
    if !head_matches {
        return Some(Failure::IncompleteHead {
            expected: want_head.unwrap_or_default(),
        });
    }
    let meta_n = meta.and_then(|m| m.get("entries")).filter(|v| !v.is_null());
    let seen = report.entries;
    let (count_matches, shown) = match (opts.expected_entries, meta_n) {
        (Some(n), _) => (n == seen, n.to_string()),
        (None, Some(v)) => {
            // Python's `seen != want_n`: ints exactly, floats and bools by numeric value.
            let equal = match v {
                Value::Int(i) => i.to_string() == seen.to_string(),
                Value::Float(f) => *f == seen as f64,
                Value::Bool(b) => u64::from(*b) == seen,
                _ => false,
            };
            (equal, py_str_value(v))
        }
        (None, None) => (true, String::new()),
    };
    if !count_matches {
        return Some(Failure::IncompleteCount { expected: shown });
    }
    None
}

/// Our checks of an evidence pack's header against its entries, after the reference's: a pack
/// keeps its header, the header's own signature holds, and what the header says about the
/// entries (controls digest, each entry's controls, controls covered, summary) is what they
/// give.
fn pack_checks(report: &Report, chain: &Chain, opts: &VerifyOptions) -> Option<Failure> {
    let pack = &chain.pack;
    let Some(meta) = &chain.meta else {
        // Every entry annotated, no header: a pack whose header was deleted. (One line with a
        // stray unhashed `controls` is just an extra field, as the reference treats it.)
        let stripped = pack.rows > 0 && pack.rows == chain.seen;
        return stripped.then_some(Failure::PackWithoutHeader);
    };
    let mismatch = |what: &str| {
        Some(Failure::PackMismatch {
            what: what.to_owned(),
        })
    };
    if let Some(key) = &opts.key {
        match meta.get("header_sig") {
            Some(sig) => {
                let body = pack::header_signed_body(meta);
                if !sig.as_str().is_some_and(|s| key.verify(body.as_bytes(), s)) {
                    return Some(Failure::MetaForged);
                }
            }
            // Our packs carry both; a digest without its signature is a stripped header_sig
            // (a downgrade to the reference's four-field signature). So is a start after
            // retention, which that signature does not cover: the first entries cut off, the
            // count it signs would still hold.
            None if meta.contains_key("controls_digest") || meta.contains_key("after") => {
                return Some(Failure::MetaForged);
            }
            None => {}
        }
    }
    if let Some(d) = meta.get("controls_digest")
        && d.as_str() != Some(pack.digest.hex().as_str())
    {
        return mismatch("controls_digest");
    }
    let framework = meta
        .get("framework")
        .and_then(Value::as_str)
        .and_then(|f| f.parse::<Framework>().ok());
    let fw = framework?;
    let i = Framework::ALL.iter().position(|f| *f == fw).unwrap_or(0);
    if pack.rows != report.entries - chain.start.unwrap_or(0) {
        return mismatch("entries without controls");
    }
    if let Some(seq) = &pack.mismatch[i] {
        return mismatch(&format!("controls of seq {seq}"));
    }
    let covered = Value::Array(pack.covered[i].iter().map(|c| Value::from(*c)).collect());
    if meta.get("controls_covered") != Some(&covered) {
        return mismatch("controls_covered");
    }
    if let Some(summary) = meta.get("summary")
        && *summary != Value::Object(pack.tally.summary())
    {
        return mismatch("summary");
    }
    None
}

/// The body the reference's header signature covers:
/// `canonical({system, risk_tier, head_hash, entries})`, absent fields as `null`.
pub(crate) fn meta_signed_body(meta: &Map) -> String {
    let mut body = Map::new();
    for k in ["system", "risk_tier", "head_hash", "entries"] {
        body.insert(k, meta.get(k).cloned().unwrap_or(Value::Null));
    }
    let mut out = String::new();
    canonical::write_map(&mut out, &body, canonical::Style::Canonical);
    out
}

fn py_str_value(v: &Value) -> String {
    let text = v.to_line_json();
    let mut tape = Tape::default();
    match tape.parse(&text) {
        Ok(node) => node.py_str(),
        Err(_) => text,
    }
}

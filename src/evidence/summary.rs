//! A reader's view of a log: each decision with its model calls, cost, oversight and flags
//! ([`Summary::decisions`]), and totals by provider and model ([`Summary::models`]). What
//! `acttrace show` and `acttrace stats` print.
//!
//! Costs are summed exactly, as decimals per currency, never as binary floats.
//!
//! ```
//! use acttrace::chain::{DecisionId, Entry, LlmCall, Usage};
//! use acttrace::evidence::Summary;
//! use acttrace::json::Map;
//! use acttrace::store::AuditLog;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("acttrace-doc-summary-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.jsonl");
//! let log = AuditLog::open("loan-triage", &path).await?;
//! let id = DecisionId::random();
//! log.append(Entry::decision(&id, "application A-1", "agent")).await?;
//! for _ in 0..2 {
//!     let call = LlmCall::new("openai", "gpt-4o")
//!         .decision(Some(&id))
//!         .usage(Usage::new(1200, 300))
//!         .cost("0.004750000 USD");
//!     log.append(Entry::llm_call(call)).await?;
//! }
//! log.shutdown().await?;
//!
//! let summary = Summary::read(&path)?;
//! let d = &summary.decisions[0];
//! assert_eq!((d.llm_calls, d.input_tokens, d.output_tokens), (2, 2400, 600));
//! assert_eq!(d.cost(), "0.009500000 USD");
//! assert_eq!(summary.models[0].model, "gpt-4o");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::path::Path;

use crate::evidence::answers::Short;
use crate::evidence::period::{Falls, Period};
use crate::json::value::{Map, Value};
use crate::verify::{DEFAULT_MAX_LINE_BYTES, LineError, Lines, py_strip};

mod costs;
mod tables;

pub use self::costs::Costs;

/// Everything `show` and `stats` print about one log.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Summary {
    /// The system the log's `audit_open` names.
    pub system: Option<String>,
    /// Entries read.
    pub entries: u64,
    /// For a segment directory whose first entries retention deleted, or an evidence pack of
    /// one, how many came before its first (its retention record, its header's `after`); 0
    /// otherwise.
    pub deleted_before: u64,
    /// Decisions, in the order they opened.
    pub decisions: Vec<DecisionSummary>,
    /// Model calls by provider and model, most calls first.
    pub models: Vec<ModelTotals>,
    /// Calls, tokens and cost of model calls that belong to no decision.
    pub unattributed: ModelTotals,
    /// Flags by action (`flagged`, `redacted`, `blocked`), in first-seen order.
    pub flags_by_action: Vec<(String, u64)>,
    /// Total cost per currency.
    pub cost: Costs,
    /// Model calls that failed (an error, or a status of 400 or more), in order.
    pub failed_calls: Vec<FailedCall>,
    /// Read for a period ([`Summary::read_period`]): the entries outside it, which the rest
    /// leaves out, and those whose time cannot be read to place them (left out too).
    pub outside_period: u64,
    /// See [`outside_period`](Self::outside_period).
    pub untimed: u64,
    /// Read for a period: its model calls whose decision opened before it (and so is not in
    /// [`decisions`](Self::decisions)).
    pub earlier_decisions: ModelTotals,
    /// Reviews (`human_oversight`) of decisions not in [`decisions`](Self::decisions): opened
    /// before the period read or before the entries retention kept, or opened in no entry of
    /// this log (a mistyped id). With no row of theirs to show them on, they are listed apart.
    pub other_reviews: Vec<Review>,
    /// Records, ends, tool calls and flags naming a decision not in
    /// [`decisions`](Self::decisions), as for [`other_reviews`](Self::other_reviews): counted.
    pub other_entries: u64,
}

/// A review (`human_oversight`) of a decision not in [`Summary::decisions`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Review {
    /// The decision's id, as the entry names it.
    pub decision: String,
    /// When the review was recorded (the entry's `ts`).
    pub at: String,
    /// Who reviewed.
    pub reviewer: String,
    /// What they did (`approved`, `overridden`, ...).
    pub action: String,
}

/// A model call that failed, as `acttrace show` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedCall {
    /// The decision it belongs to, if any.
    pub decision: Option<String>,
    /// When it was recorded.
    pub at: String,
    /// Its provider and model.
    pub provider: String,
    /// The model asked for.
    pub model: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<i64>,
    /// The error (`http_429`, `timeout`, `connect`, `cancelled`, ...).
    pub error: String,
    /// The provider's message, when it gave one.
    pub message: Option<String>,
}

/// One decision as a reader wants it.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DecisionSummary {
    /// The decision's id.
    pub id: String,
    /// When it opened.
    pub opened: String,
    /// Who acted (`actor`).
    pub actor: String,
    /// `METHOD route` when the inbound layer opened it.
    pub route: Option<String>,
    /// The HTTP status it ended with, if it ended.
    pub status: Option<i64>,
    /// How long it took, if it ended.
    pub latency_ms: Option<f64>,
    /// The `outcome` recorded for it (the last `decision_record` one, else how its span
    /// ended), if any.
    pub outcome: Option<String>,
    /// Model calls made for it.
    pub llm_calls: u64,
    /// Models called, in first-call order.
    pub models: Vec<String>,
    /// Input tokens over its calls.
    pub input_tokens: u64,
    /// Output tokens over its calls.
    pub output_tokens: u64,
    /// Tool calls made for it.
    pub tool_calls: u64,
    /// Reviews: `(reviewer, action)`.
    pub oversight: Vec<(String, String)>,
    /// Flags: `(action, categories or reason)`.
    pub flags: Vec<(String, String)>,
    /// Its model calls' cost.
    pub cost: Costs,
    /// Whether a policy blocked it.
    pub blocked: bool,
}

impl DecisionSummary {
    /// The cost as text (`0.009500000 USD`, currencies joined by ` + `, `-` for none).
    pub fn cost(&self) -> String {
        self.cost.to_string()
    }
}

/// Model calls to one provider and model.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ModelTotals {
    /// The provider (`openai`, `anthropic`, …).
    pub provider: String,
    /// The model.
    pub model: String,
    /// Calls.
    pub calls: u64,
    /// Calls that failed (an `error` recorded, or a status of 400 and above).
    pub failed: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost per currency.
    pub cost: Costs,
    /// Calls to endpoints the recorder did not know (`recognized: false`): recorded, but
    /// their usage and cost may be missing.
    pub unrecognized: u64,
    /// Calls whose answer was not given whole: refused or filtered by the provider
    /// (`content_filter`, `refusal`, `SAFETY`, ...), stopped at the length limit (`length`,
    /// `max_tokens`, ...), broken off by an error the provider reported (`error_in_response`,
    /// `ERROR`), or not read to its end (`cut_short`).
    pub not_whole: u64,
}

/// Where each decision, model and flag action already seen is, so that every entry is added
/// in constant time, however many there are.
#[derive(Default)]
struct Index {
    decisions: std::collections::HashMap<String, usize>,
    /// Decisions that opened outside the period read.
    outside: std::collections::HashSet<String>,
    models: std::collections::HashMap<(String, String), usize>,
    actions: std::collections::HashMap<String, usize>,
}

impl Summary {
    /// Reads the log (or pack) at `path`, or the segment directory (its kept segments as one
    /// chain). Lines that are not entries are skipped; this is a view, not a verification: run
    /// [`verify_path`](crate::verify::verify_path) (or, for a directory,
    /// [`verify_segments`](crate::verify::segments::verify_segments)) for that.
    ///
    /// # Errors
    ///
    /// The file cannot be opened or read.
    pub fn read(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::read_with_limit(path, DEFAULT_MAX_LINE_BYTES)
    }

    /// [`read`](Self::read), refusing a line longer than `max_line_bytes` (an input without
    /// line breaks, such as `/dev/zero`, must not be read into memory whole).
    ///
    /// # Errors
    ///
    /// The file cannot be opened or read, or a line is longer than the cap
    /// ([`io::ErrorKind::InvalidData`]).
    pub fn read_with_limit(path: impl AsRef<Path>, max_line_bytes: usize) -> io::Result<Self> {
        Self::read_period(path, max_line_bytes, &Period::all())
    }

    /// Reads a log from `reader`. See [`read`](Self::read).
    ///
    /// # Errors
    ///
    /// Reading fails, or a line is longer than [`DEFAULT_MAX_LINE_BYTES`].
    pub fn from_reader(reader: impl BufRead) -> io::Result<Self> {
        Self::from_reader_with_limit(reader, DEFAULT_MAX_LINE_BYTES)
    }

    /// [`from_reader`](Self::from_reader) with a cap on a line's length.
    ///
    /// # Errors
    ///
    /// Reading fails, or a line is longer than `max_line_bytes`.
    pub fn from_reader_with_limit(reader: impl BufRead, max_line_bytes: usize) -> io::Result<Self> {
        Self::from_reader_in(reader, max_line_bytes, &Period::all())
    }

    /// [`read_with_limit`](Self::read_with_limit), of the entries in `period` only: the
    /// decisions that opened in it, the model calls, flags and reviews made in it. The rest is
    /// counted in [`outside_period`](Self::outside_period), and the period's calls of decisions
    /// that opened before it in [`earlier_decisions`](Self::earlier_decisions).
    ///
    /// # Errors
    ///
    /// As for [`read_with_limit`](Self::read_with_limit).
    pub fn read_period(
        path: impl AsRef<Path>,
        max_line_bytes: usize,
        period: &Period,
    ) -> io::Result<Self> {
        let path = path.as_ref();
        let mut s = Self::from_reader_in(super::source::open_log(path)?, max_line_bytes, period)?;
        // A segment directory after retention: the entries before its first kept segment, and
        // the system its deleted opening named, as its retention record keeps them.
        if let Some((deleted, opening)) = super::source::retained(path) {
            s.starts_after(deleted, &opening);
        }
        Ok(s)
    }

    fn from_reader_in(
        reader: impl BufRead,
        max_line_bytes: usize,
        period: &Period,
    ) -> io::Result<Self> {
        let mut s = Self::default();
        let mut index = Index::default();
        let mut lines = Lines::new(reader, max_line_bytes);
        let mut line = Vec::new();
        loop {
            line.clear();
            match lines.next_segment(&mut line) {
                Ok(None) => break,
                Ok(Some(_)) => {}
                Err(LineError::Io(e)) => return Err(e),
                Err(LineError::TooLong) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {} is longer than {max_line_bytes} bytes",
                            lines.line_no()
                        ),
                    ));
                }
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                continue;
            };
            let Ok(Value::Object(row)) = Value::parse(py_strip(text)) else {
                continue;
            };
            if let Some(meta) = row.get("_meta") {
                // A pack of what retention kept: its header names the system whose opening
                // was deleted.
                if let (Some(after), Value::Object(meta)) = (meta.get("after"), meta) {
                    let deleted = after.get("entries").and_then(Value::as_u64).unwrap_or(0);
                    s.starts_after(deleted, meta);
                }
                continue;
            }
            match period.place(row.get("ts").and_then(Value::as_str).unwrap_or("")) {
                Falls::Inside => {}
                outside => {
                    s.outside(&row, &mut index, outside);
                    continue;
                }
            }
            s.entries += 1;
            s.add(&row, &mut index);
        }
        s.models.sort_by_key(|m| std::cmp::Reverse(m.calls));
        Ok(s)
    }

    /// A log read from where retention left it: `deleted` entries came before, and `named`
    /// (a pack's header, a retention record's kept opening) names the system whose opening
    /// entry went with them.
    fn starts_after(&mut self, deleted: u64, named: &Map) {
        self.deleted_before = deleted;
        if self.system.is_none() {
            self.system = named
                .get("system")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
        }
    }

    /// Takes note of an entry outside the period: the system's name still holds, and a
    /// decision opened there is known as one.
    fn outside(&mut self, row: &Map, index: &mut Index, place: Falls) {
        match place {
            Falls::Unknown => self.untimed += 1,
            _ => self.outside_period += 1,
        }
        let p = row.get("payload").and_then(Value::as_object);
        let text = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str);
        match row.get("type").and_then(Value::as_str) {
            Some("audit_open") if self.system.is_none() => {
                self.system = text("system").map(str::to_owned);
            }
            Some("decision") => {
                if let Some(id) = text("decision_id") {
                    index.outside.insert(id.to_owned());
                }
            }
            _ => {}
        }
    }

    fn add(&mut self, row: &Map, index: &mut Index) {
        let kind = row.get("type").and_then(Value::as_str).unwrap_or("");
        let empty = Map::new();
        let p = row
            .get("payload")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let text = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = text("decision_id");
        if kind == "audit_open" && self.system.is_none() {
            self.system = text("system");
        }
        if kind == "decision"
            && let Some(id) = &id
        {
            let route = match (text("method"), text("route")) {
                (Some(m), Some(r)) => Some(format!("{m} {r}")),
                (None, Some(r)) => Some(r),
                _ => None,
            };
            // A later decision with the same id takes it over, as it did in a scan from the end.
            index.decisions.insert(id.clone(), self.decisions.len());
            self.decisions.push(DecisionSummary {
                id: id.clone(),
                opened: row
                    .get("ts")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                actor: text("actor").unwrap_or_default(),
                route,
                ..DecisionSummary::default()
            });
            return;
        }
        let at = id.as_ref().and_then(|id| index.decisions.get(id).copied());
        // About a decision the table does not hold: shown apart, not passed over.
        let elsewhere = at.is_none() && id.is_some();
        let decision = at.map(|at| &mut self.decisions[at]);
        match kind {
            "llm_call" => {
                let provider = text("provider").unwrap_or_default();
                let model = match p.get("model") {
                    Some(Value::String(m)) => m.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_line_json(),
                };
                let usage = p.get("usage").and_then(Value::as_object);
                let tokens = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64);
                let (input, output) = (
                    tokens("input_tokens").unwrap_or(0),
                    tokens("output_tokens").unwrap_or(0),
                );
                let mut cost = Costs::default();
                let priced = text("cost").is_some_and(|c| cost.add_text(&c));
                // Tokens used, or a cost given that is no amount: a cost the sum leaves out.
                if !priced && (input + output > 0 || p.get("cost").is_some_and(|c| !c.is_null())) {
                    cost.unpriced = 1;
                }
                let status = p.get("status").and_then(Value::as_i64);
                let failed = p.contains_key("error") || status.is_some_and(|s| s >= 400);
                let unrecognized = p.get("recognized") == Some(&Value::Bool(false));
                let not_whole = !Short::of_call(p).is_empty();
                let earlier = id.as_ref().is_some_and(|id| index.outside.contains(id));
                if failed {
                    self.failed_calls.push(FailedCall {
                        decision: id,
                        at: row
                            .get("ts")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        provider: provider.clone(),
                        model: model.clone(),
                        status,
                        error: p.get("error").map_or_else(
                            || "failed".to_owned(),
                            |e| e.as_str().map_or_else(|| e.to_line_json(), str::to_owned),
                        ),
                        message: text("error_message"),
                    });
                }
                self.cost.merge(&cost);
                let next = self.models.len();
                let at = *index
                    .models
                    .entry((provider.clone(), model.clone()))
                    .or_insert(next);
                if at == next {
                    self.models.push(ModelTotals {
                        provider,
                        model: model.clone(),
                        ..ModelTotals::default()
                    });
                }
                let call = |t: &mut ModelTotals| {
                    t.calls += 1;
                    t.failed += u64::from(failed);
                    t.unrecognized += u64::from(unrecognized);
                    t.not_whole += u64::from(not_whole);
                    t.input_tokens += input;
                    t.output_tokens += output;
                    t.cost.merge(&cost);
                };
                call(&mut self.models[at]);
                match decision {
                    Some(d) => {
                        d.llm_calls += 1;
                        d.input_tokens += input;
                        d.output_tokens += output;
                        d.cost.merge(&cost);
                        if !model.is_empty() && !d.models.contains(&model) {
                            d.models.push(model);
                        }
                    }
                    None if earlier => call(&mut self.earlier_decisions),
                    None => call(&mut self.unattributed),
                }
            }
            "tool_call" => {
                if let Some(d) = decision {
                    d.tool_calls += 1;
                }
            }
            "decision_record" => {
                if let (Some(d), Some(o)) = (decision, p.get("outcome")) {
                    d.outcome = Some(o.as_str().map_or_else(|| o.to_line_json(), str::to_owned));
                }
            }
            "decision_end" => {
                if let Some(d) = decision {
                    d.status = p.get("status").and_then(Value::as_i64);
                    d.latency_ms = match p.get("latency_ms") {
                        Some(Value::Float(f)) => Some(*f),
                        Some(Value::Int(i)) => i.as_i64().map(|n| n as f64),
                        _ => None,
                    };
                    // The handler's recorded outcome, or a block, says more than how the span
                    // ended.
                    if d.outcome.is_none() {
                        d.outcome = if d.blocked {
                            Some("blocked".to_owned())
                        } else {
                            text("outcome")
                        };
                    }
                }
            }
            "human_oversight" => {
                let (reviewer, action) = (
                    text("reviewer").unwrap_or_default(),
                    text("action").unwrap_or_default(),
                );
                match (decision, id) {
                    (Some(d), _) => d.oversight.push((reviewer, action)),
                    (None, Some(decision)) => self.other_reviews.push(Review {
                        decision,
                        at: row
                            .get("ts")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        reviewer,
                        action,
                    }),
                    (None, None) => {}
                }
            }
            "policy_flag" => {
                let action = text("action").unwrap_or_else(|| "flagged".to_owned());
                let next = self.flags_by_action.len();
                let at = *index.actions.entry(action.clone()).or_insert(next);
                if at == next {
                    self.flags_by_action.push((action.clone(), 0));
                }
                self.flags_by_action[at].1 += 1;
                if let Some(d) = decision {
                    if action == "blocked" {
                        d.blocked = true;
                    }
                    let what = match p.get("data") {
                        Some(Value::Array(items)) if !items.is_empty() => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_line_json(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(", "),
                        Some(Value::String(s)) => s.clone(),
                        _ => text("reason").unwrap_or_default(),
                    };
                    d.flags.push((action, what));
                }
            }
            _ => {}
        }
        if elsewhere
            && matches!(
                kind,
                "decision_record" | "decision_end" | "tool_call" | "policy_flag"
            )
        {
            self.other_entries += 1;
        }
    }
}

/// The most characters a table cell shows; a longer value is cut and ends in `…`.
pub const MAX_CELL_CHARS: usize = 80;

/// Whether `c` could steer a terminal or hide from its reader: a control character (C0, DEL,
/// C1), a line or paragraph separator, or an invisible format character: bidirectional marks,
/// embeddings, overrides and isolates; zero-width spaces, joiners and the byte order mark;
/// the soft hyphen; invisible operators; and the tag characters and supplementary variation
/// selectors that text smuggled past a reader (a prompt injection, say) is hidden in.
fn steers_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
                | '\u{e0100}'..='\u{e01ef}'
        )
}

/// `text` as a terminal may show it: every character that could steer the terminal or hide
/// from its reader (control characters, escape sequences among them; bidirectional overrides;
/// line separators; zero-width and other invisible characters) written as a `\u{..}` escape,
/// so that a payload or a file name cannot move the cursor, clear the screen, recolour or
/// reorder what follows, print a line of its own, or pass unseen. Used by every table here
/// and by the `acttrace` command's human-readable output ([`printable_json`] for `--json`).
///
/// ```
/// use acttrace::evidence::summary::printable;
///
/// assert_eq!(printable("plain, caf\u{e9} \u{1f600}"), "plain, caf\u{e9} \u{1f600}");
/// assert_eq!(printable("\x1b[2Jok: 3 entries\n"), "\\u{1b}[2Jok: 3 entries\\u{a}");
/// assert_eq!(printable("\u{202e}txt.exe"), "\\u{202e}txt.exe");
/// assert_eq!(printable("appr\u{200b}oved"), "appr\\u{200b}oved");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(steers_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if steers_terminal(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text as a terminal may show it: the same JSON, with every character [`printable`]
/// escapes written as a JSON `\uXXXX` escape (a surrogate pair beyond the first plane). JSON
/// text holds such characters only inside its strings, and a JSON reader reads the escapes
/// back as the same characters, so the data is exact; only the raw characters (DEL, C1
/// controls, bidirectional overrides, invisible characters), which JSON writers pass through,
/// never reach the terminal.
///
/// ```
/// use acttrace::evidence::summary::printable_json;
///
/// let json = "{\"route\":\"/a\u{9b}2J\u{202e}b\u{e0041}\"}";
/// assert_eq!(printable_json(json), r#"{"route":"/a\u009b2J\u202eb\udb40\udc41"}"#);
/// assert_eq!(printable_json("{\n  \"ok\": true\n}"), "{\n  \"ok\": true\n}");
/// ```
pub fn printable_json(json: &str) -> Cow<'_, str> {
    // JSON's own whitespace between tokens stays; inside strings, writers escape it.
    let escaped = |c: char| steers_terminal(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if escaped(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_add_exactly_per_currency() {
        let mut c = Costs::default();
        for t in ["0.004750000 USD", "0.1 USD", "3 EUR", "0.000000001 USD"] {
            assert!(c.add_text(t), "{t}");
        }
        assert!(!c.add_text("0.1"));
        assert!(!c.add_text("1e-3 USD"));
        assert_eq!(c.to_string(), "0.104750001 USD + 3 EUR");
        // 0.1 + 0.2 is 0.3 here.
        let mut d = Costs::default();
        d.add_text("0.1 USD");
        d.add_text("0.2 USD");
        assert_eq!(d.to_string(), "0.3 USD");
        assert_eq!(Costs::default().to_string(), "-");
    }
}

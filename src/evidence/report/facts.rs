//! What the report shows, gathered from the log in one pass: counts and sums, the first few
//! entries behind each claim, where each decision opened and how it ended, and the reviews
//! and failures the page lists. No entry's payload is kept, so memory grows with the log's
//! decisions (an id, a seq, a time and an outcome each), reviews and failures, not with its
//! entries; the few entries the page shows are read again in a second pass. With a period,
//! only its entries are taken in (a chain's `audit_open` always is, for the system's name).
//!
//! Uses the format's time stamps and the pack's control mappings.

use std::collections::BTreeMap;

use super::{FRAMEWORKS, Row};
use crate::chain::time::seconds;
use crate::evidence::answers::Short;
use crate::evidence::period::{Falls, Period};
use crate::json::value::{Map, Value};

/// Entries linked per claim before "and N more".
pub(super) const LINKS: usize = 12;
/// Recorded reasons listed per group of [`Short`] answers; further ones are counted together.
pub(super) const MAX_SHORT: usize = 16;

/// A claim's evidence: how many entries, and the first [`LINKS`] of them.
#[derive(Debug, Default, Clone)]
pub(super) struct Links {
    pub(super) first: Vec<u64>,
    pub(super) count: u64,
}

impl Links {
    pub(super) fn add(&mut self, seq: u64) {
        if self.first.len() < LINKS {
            self.first.push(seq);
        }
        self.count += 1;
    }
}

/// A decision's id as the report keeps it, small for a log of millions: the 32 lowercase hex
/// digits [`DecisionId::random`](crate::chain::DecisionId::random) writes as their 16 bytes,
/// any other id as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum DecisionKey {
    Hex([u8; 16]),
    Text(Box<str>),
}

impl DecisionKey {
    pub(super) fn of(id: &str) -> Self {
        let hex = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        let bytes = id.as_bytes();
        let mut raw = [0u8; 16];
        let parsed = bytes.len() == 32
            && raw.iter_mut().zip(bytes.chunks(2)).all(|(out, pair)| {
                match (hex(pair[0]), hex(pair[1])) {
                    (Some(hi), Some(lo)) => {
                        *out = hi << 4 | lo;
                        true
                    }
                    _ => false,
                }
            });
        match parsed {
            true => Self::Hex(raw),
            false => Self::Text(id.into()),
        }
    }
}

/// One decision: where it opened (its `decision` entry's seq and time) and how it ended, in
/// 24 bytes.
#[derive(Debug)]
pub(super) struct Decision {
    /// The `decision` entry's seq; `u64::MAX` until it is seen.
    seq: u64,
    /// When it opened, in seconds since the epoch; NaN when unknown.
    at: f64,
    /// Its outcome, as an index into [`Facts::outcomes`]; `u32::MAX` for none yet.
    outcome: u32,
}

impl Default for Decision {
    fn default() -> Self {
        Self {
            seq: u64::MAX,
            at: f64::NAN,
            outcome: u32::MAX,
        }
    }
}

impl Decision {
    /// Where and when it opened, once its `decision` entry was seen.
    pub(super) fn opened(&self) -> Option<(u64, Option<f64>)> {
        (self.seq != u64::MAX).then(|| (self.seq, (!self.at.is_nan()).then_some(self.at)))
    }
}

/// One model's calls.
#[derive(Debug, Default)]
pub(super) struct ModelRow {
    pub(super) calls: u64,
    pub(super) failed: u64,
    pub(super) input: u64,
    pub(super) output: u64,
    pub(super) cost: BTreeMap<String, f64>,
    pub(super) unknown_cost: u64,
    pub(super) links: Links,
    /// Calls to endpoints the recorder did not know (`recognized: false`), by URL path (at
    /// most [`ModelRow::MAX_PATHS`] paths; the rest counted under the empty one).
    pub(super) unrecognized: BTreeMap<String, u64>,
}

impl ModelRow {
    pub(super) const MAX_PATHS: usize = 32;
}

/// One tool, by name: how many model calls offered it, the calls whose model asked for it, and
/// the `tool_call` entries that record it running.
#[derive(Debug, Default)]
pub(super) struct ToolRow {
    pub(super) offered: u64,
    pub(super) asked: Links,
    pub(super) ran: Links,
}

impl ToolRow {
    /// Tools listed by name; the entries of further ones are counted under the empty name.
    pub(super) const MAX: usize = 64;
}

/// One `human_oversight` entry, as the page lists it.
#[derive(Debug)]
pub(super) struct Review {
    pub(super) seq: u64,
    pub(super) ts: String,
    pub(super) reviewer: String,
    pub(super) action: String,
    pub(super) note: String,
    pub(super) decision: Option<String>,
}

/// One failed model call or write failure, as the page lists it.
#[derive(Debug)]
pub(super) struct Failed {
    pub(super) seq: u64,
    pub(super) ts: String,
    pub(super) what: String,
    /// The detail as JSON, cut to 400 characters.
    pub(super) detail: String,
}

/// The most entry types the report counts one by one: a log of a type an entry would
/// otherwise grow the count without bound.
pub(super) const MAX_TYPES: usize = 256;

/// Whether a section of the report covers entries of type `kind` (the log's opening, the
/// decisions, model calls, flags, reviews and failures).
pub(super) fn covered(kind: &str) -> bool {
    matches!(
        kind,
        "audit_open"
            | "decision"
            | "decision_end"
            | "decision_record"
            | "llm_call"
            | "policy_flag"
            | "human_oversight"
            | "write_failure"
            | "gap"
            | "recovery"
    )
}

/// What the report shows. See [the module](self).
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// What the sections cover; the counts below are of its entries.
    pub(super) period: Period,
    /// Entries outside the period, and entries whose time could not be read to place them.
    pub(super) outside: u64,
    pub(super) unplaced: u64,
    pub(super) system: Option<String>,
    pub(super) risk_tier: Option<String>,
    pub(super) pack: Option<Map>,
    pub(super) entries: u64,
    /// The entries by type (at most [`MAX_TYPES`] types; entries of further ones counted in
    /// `other_types`).
    pub(super) types: BTreeMap<String, u64>,
    pub(super) other_types: u64,
    pub(super) first_ts: Option<String>,
    pub(super) last_ts: Option<String>,
    pub(super) any_hash: bool,
    /// By decision id.
    pub(super) decisions: BTreeMap<DecisionKey, Decision>,
    /// The outcomes decisions ended with, each once (the decisions hold their index), and
    /// where each is.
    outcomes: Vec<String>,
    outcome_index: BTreeMap<String, u32>,
    /// Decisions reviewed in the period that opened before it: where and when they opened.
    pub(super) opened_before: BTreeMap<String, (u64, Option<f64>)>,
    pub(super) models: BTreeMap<(String, String), ModelRow>,
    /// Model answers not given whole: by why, and the reason as recorded (at most
    /// [`MAX_SHORT`] reasons a group; the rest under the empty one).
    pub(super) short: BTreeMap<(Short, String), Links>,
    /// By tool name (at most [`ToolRow::MAX`]).
    pub(super) tools: BTreeMap<String, ToolRow>,
    /// By action and what was found.
    pub(super) flags: BTreeMap<(String, String), Links>,
    pub(super) reviews: Vec<Review>,
    pub(super) failures: Vec<Failed>,
    /// Per framework of [`FRAMEWORKS`], in its order: by control.
    pub(super) controls: Vec<BTreeMap<&'static str, Links>>,
}

impl Facts {
    /// Gathers what `period` holds.
    pub(super) fn for_period(period: Period) -> Self {
        Self {
            period,
            ..Self::default()
        }
    }

    /// Takes in the log's next entry.
    pub(super) fn add(&mut self, r: &Row) {
        self.any_hash |= !r.hash.is_empty();
        // Who the system is holds whenever the chain was opened.
        if r.kind == "audit_open" {
            if self.system.is_none() {
                self.system = r.text("system").map(str::to_owned);
            }
            if self.risk_tier.is_none() {
                self.risk_tier = r.text("risk_tier").map(str::to_owned);
            }
        }
        match self.period.place(&r.ts) {
            Falls::Inside => {}
            Falls::Outside => {
                self.outside += 1;
                return;
            }
            Falls::Unknown => {
                self.unplaced += 1;
                return;
            }
        }
        self.entries += 1;
        let room = self.types.len() < MAX_TYPES;
        match self.types.get_mut(&r.kind) {
            Some(n) => *n += 1,
            None if room => _ = self.types.insert(r.kind.clone(), 1),
            None => self.other_types += 1,
        }
        if self.first_ts.is_none() {
            self.first_ts = Some(r.ts.clone());
        }
        self.last_ts = Some(r.ts.clone());
        self.add_decision(r);
        match r.kind.as_str() {
            "llm_call" => self.add_call(r),
            "tool_call" => {
                let name = r.text("name").unwrap_or("?");
                self.tool(name).ran.add(r.seq);
            }
            "policy_flag" => self.add_flag(r),
            "human_oversight" => self.reviews.push(Review {
                seq: r.seq,
                ts: r.ts.clone(),
                reviewer: r.text("reviewer").unwrap_or("?").to_owned(),
                action: r.text("action").unwrap_or("?").to_owned(),
                note: cut(r.text("note").unwrap_or(""), 120),
                decision: r.decision().map(str::to_owned),
            }),
            _ => {}
        }
        self.add_failure(r);
        if self.controls.is_empty() {
            self.controls = vec![BTreeMap::new(); FRAMEWORKS.len()];
        }
        for (fw, controls) in FRAMEWORKS.iter().zip(&mut self.controls) {
            for c in fw.controls_for(&r.kind, &r.payload) {
                controls.entry(c).or_default().add(r.seq);
            }
        }
    }

    /// Where a decision opened, and its outcome: a `decision_record`'s, else its
    /// `decision_end`'s, and `blocked` when a policy blocked it (the later of a record and a
    /// block wins).
    fn add_decision(&mut self, r: &Row) {
        let Some(id) = r.decision() else { return };
        let outcome = match r.kind.as_str() {
            "decision" => {
                let d = self.decisions.entry(DecisionKey::of(id)).or_default();
                if d.opened().is_none() {
                    d.seq = r.seq;
                    d.at = seconds(&r.ts).unwrap_or(f64::NAN);
                }
                return;
            }
            "decision_record" => r.text("outcome").map(|o| (o, true)),
            "decision_end" => r.text("outcome").map(|o| (o, false)),
            "policy_flag" if matches!(r.text("action"), Some("block" | "blocked")) => {
                Some(("blocked", true))
            }
            _ => None,
        };
        if let Some((outcome, overrides)) = outcome {
            let index = match self.outcome_index.get(outcome) {
                Some(&i) => i,
                None => {
                    // Fewer than 2^32 - 1 outcomes fit in memory: the index never saturates.
                    let i = u32::try_from(self.outcomes.len()).unwrap_or(u32::MAX - 1);
                    self.outcomes.push(outcome.to_owned());
                    self.outcome_index.insert(outcome.to_owned(), i);
                    i
                }
            };
            let d = self.decisions.entry(DecisionKey::of(id)).or_default();
            if overrides || d.outcome == u32::MAX {
                d.outcome = index;
            }
        }
    }

    fn add_call(&mut self, r: &Row) {
        self.add_short(r);
        let names = |key: &str| -> Vec<String> {
            let Some(Value::Array(items)) = r.payload.get(key) else {
                return Vec::new();
            };
            let mut names: Vec<String> = items
                .iter()
                .filter_map(|t| match t {
                    Value::String(name) => Some(name.clone()),
                    Value::Object(call) => {
                        call.get("name").and_then(Value::as_str).map(str::to_owned)
                    }
                    _ => None,
                })
                .collect();
            names.sort();
            names.dedup();
            names
        };
        for name in names("tools_offered") {
            self.tool(&name).offered += 1;
        }
        for name in names("tool_calls") {
            self.tool(&name).asked.add(r.seq);
        }
        let key = (
            r.text("provider").unwrap_or("?").to_owned(),
            r.text("model").unwrap_or("?").to_owned(),
        );
        let m = self.models.entry(key).or_default();
        m.calls += 1;
        m.links.add(r.seq);
        if r.failed_call() {
            m.failed += 1;
        }
        if let Some(Value::Object(u)) = r.payload.get("usage") {
            m.input += u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0);
            m.output += u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
        }
        match amount(r.payload.get("cost")) {
            Some((n, cur)) => *m.cost.entry(cur).or_default() += n,
            None => m.unknown_cost += 1,
        }
        if r.payload.get("recognized") == Some(&Value::Bool(false)) {
            let path = r.text("url_path").unwrap_or("").to_owned();
            let path = if m.unrecognized.len() < ModelRow::MAX_PATHS
                || m.unrecognized.contains_key(&path)
            {
                path
            } else {
                String::new()
            };
            *m.unrecognized.entry(path).or_default() += 1;
        }
    }

    /// Whether the call's answer was not given whole, and why: each reason once a call.
    fn add_short(&mut self, r: &Row) {
        for (why, reason) in Short::of_call(&r.payload) {
            let kept = self.short.keys().filter(|(w, _)| *w == why).count();
            let key = if kept < MAX_SHORT || self.short.contains_key(&(why, reason.clone())) {
                (why, reason)
            } else {
                (why, String::new())
            };
            self.short.entry(key).or_default().add(r.seq);
        }
    }

    /// The row of the tool named `name`, or of the empty name once [`ToolRow::MAX`] are listed.
    fn tool(&mut self, name: &str) -> &mut ToolRow {
        let name = if self.tools.len() < ToolRow::MAX || self.tools.contains_key(name) {
            name
        } else {
            ""
        };
        self.tools.entry(name.to_owned()).or_default()
    }

    fn add_flag(&mut self, r: &Row) {
        let data = match r.payload.get("data") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| text_of(Some(v)))
                .collect::<Vec<_>>()
                .join(", "),
            other => text_of(other),
        };
        self.flags
            .entry((r.text("action").unwrap_or("flag").to_owned(), data))
            .or_default()
            .add(r.seq);
    }

    fn add_failure(&mut self, r: &Row) {
        let failed_call = r.failed_call();
        let detail = match r.kind.as_str() {
            "write_failure" | "gap" | "recovery" => Value::Object(r.payload.clone()),
            _ if failed_call => {
                let mut m = Map::new();
                for k in ["provider", "model", "status", "error", "error_message"] {
                    if let Some(v) = r.payload.get(k) {
                        m.insert(k, v.clone());
                    }
                }
                Value::Object(m)
            }
            _ => return,
        };
        self.failures.push(Failed {
            seq: r.seq,
            ts: r.ts.clone(),
            what: if failed_call {
                "failed model call".to_owned()
            } else {
                r.kind.clone()
            },
            detail: cut(&detail.to_line_json(), 400),
        });
    }

    /// The decisions that opened, with their seq.
    pub(super) fn opened(&self) -> impl Iterator<Item = (&Decision, u64)> {
        self.decisions
            .values()
            .filter_map(|d| d.opened().map(|(seq, _)| (d, seq)))
    }

    /// A decision's outcome, if it has one.
    pub(super) fn outcome(&self, d: &Decision) -> Option<&str> {
        self.outcomes.get(d.outcome as usize).map(String::as_str)
    }

    /// Where and when the decision `id` opened, if it did in what was read.
    pub(super) fn opened_at(&self, id: &str) -> Option<(u64, Option<f64>)> {
        self.decisions
            .get(&DecisionKey::of(id))
            .and_then(Decision::opened)
    }
}

/// At most `n` characters of `text`, with an ellipsis when cut.
pub(super) fn cut(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

pub(super) fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_line_json(),
    }
}

/// A cost string's amount and currency (`"0.0000201 USD"`).
fn amount(cost: Option<&Value>) -> Option<(f64, String)> {
    let (n, cur) = cost?.as_str()?.split_once(' ')?;
    Some((n.parse().ok()?, cur.to_owned()))
}

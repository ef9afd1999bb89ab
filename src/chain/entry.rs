//! Entries: what callers append, and the records the writer makes of them.
//!
//! Each constructor builds the payload the reference writes for that type, with the same keys
//! in the same order, so a chain written here reads like one written by the reference.

use std::fmt;

use crate::json::value::{Map, Value};

/// The identifier of a decision: 32 lowercase hex characters, like the reference's
/// `uuid4().hex`.
///
/// ```
/// use acttrace::chain::DecisionId;
///
/// let id = DecisionId::random();
/// assert_eq!(id.as_str().len(), 32);
/// assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// let same: DecisionId = id.as_str().parse().unwrap();
/// assert_eq!(same, id);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DecisionId(String);

impl DecisionId {
    /// A new random identifier: 128 bits, unique in the process and unpredictable across
    /// processes, as 32 lowercase hex characters (the shape of the reference's `uuid4().hex`).
    ///
    /// Cheap enough for every request: SipHash under two keys the standard library draws from
    /// the operating system once, applied to a counter; no system call per id.
    pub fn random() -> Self {
        use std::hash::BuildHasher;
        use std::sync::OnceLock;
        use std::sync::atomic::{AtomicU64, Ordering};

        static KEYS: OnceLock<(std::hash::RandomState, std::hash::RandomState)> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let (a, b) =
            KEYS.get_or_init(|| (std::hash::RandomState::new(), std::hash::RandomState::new()));
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // 32 lowercase hex digits, as `{:016x}{:016x}` writes them, without the formatter.
        let mut id = String::with_capacity(32);
        for half in [a.hash_one(n), b.hash_one(n)] {
            for shift in (0..16).rev() {
                id.push(char::from(DIGITS[(half >> (shift * 4) & 0xf) as usize]));
            }
        }
        Self(id)
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The error returned when text is not a decision id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a decision id is 1 to 128 characters of [A-Za-z0-9._:-]")]
pub struct ParseDecisionIdError(());

impl std::str::FromStr for DecisionId {
    type Err = ParseDecisionIdError;

    /// Accepts the reference's 32-hex form and other short opaque ids (e.g. from an upstream
    /// system), but nothing that could smuggle markup or whitespace into a record.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseDecisionIdError(()))
        }
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecisionId({})", self.0)
    }
}

impl From<&DecisionId> for Value {
    fn from(id: &DecisionId) -> Self {
        Self::String(id.0.clone())
    }
}

impl From<DecisionId> for Value {
    fn from(id: DecisionId) -> Self {
        Self::String(id.0)
    }
}

/// One entry to append: a type and a payload. The writer gives it its `seq`, `ts`,
/// `prev_hash`, `hash` and `sig`.
///
/// ```
/// use acttrace::chain::{DecisionId, Entry};
/// use acttrace::json::Map;
///
/// let id = DecisionId::random();
/// let e = Entry::human_oversight(&id, "reviewer-42", "approved", "checked income docs");
/// assert_eq!(e.kind(), "human_oversight");
/// assert_eq!(
///     e.payload().keys().collect::<Vec<_>>(),
///     ["decision_id", "reviewer", "action", "note"]
/// );
///
/// // Any other type is free-form.
/// let mut p = Map::new();
/// p.insert("technique", "json-minify");
/// let e = Entry::new("compression", p);
/// assert_eq!(e.kind(), "compression");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    kind: std::borrow::Cow<'static, str>,
    payload: Map,
}

impl Entry {
    /// An entry of any type with the given payload.
    pub fn new(kind: impl Into<String>, payload: Map) -> Self {
        Self {
            kind: std::borrow::Cow::Owned(kind.into()),
            payload,
        }
    }

    /// [`new`](Self::new) for this crate's own entry types, without copying the type's name.
    pub(crate) fn own(kind: &'static str, payload: Map) -> Self {
        Self {
            kind: std::borrow::Cow::Borrowed(kind),
            payload,
        }
    }

    /// The first entry of every new chain: `{system, risk_tier, format, producer}`.
    pub(crate) fn audit_open(system: &str, risk_tier: &str) -> Self {
        let mut p = Map::with_capacity(4);
        p.set("system", system);
        p.set("risk_tier", risk_tier);
        p.set("format", super::FORMAT);
        p.set("producer", super::PRODUCER);
        Self::own("audit_open", p)
    }

    /// A decision opens: `{decision_id, input, actor}`.
    ///
    /// `input` is whatever summary of the input the caller chooses to keep (the inbound layer
    /// keeps a digest by default, never the raw body).
    pub fn decision(id: &DecisionId, input: impl Into<Value>, actor: &str) -> Self {
        // Room for the route and method the inbound layer adds.
        let mut p = Map::with_capacity(5);
        p.set("decision_id", id);
        p.set("input", input);
        p.set("actor", actor);
        Self::own("decision", p)
    }

    /// Facts about a decision (model, score, outcome, …): `{decision_id, **fields}`.
    pub fn decision_record(id: &DecisionId, fields: Map) -> Self {
        let mut p = Map::with_capacity(1 + fields.len());
        p.set("decision_id", id);
        p.extend(fields);
        Self::own("decision_record", p)
    }

    /// A decision closes: `{decision_id, **fields}` (the reference writes no fields; the
    /// inbound layer adds status and latency).
    pub fn decision_end(id: &DecisionId, fields: Map) -> Self {
        let mut p = Map::with_capacity(1 + fields.len());
        p.set("decision_id", id);
        p.extend(fields);
        Self::own("decision_end", p)
    }

    /// A person reviewed a decision (EU AI Act Art. 14): `{decision_id, reviewer, action,
    /// note}`.
    pub fn human_oversight(id: &DecisionId, reviewer: &str, action: &str, note: &str) -> Self {
        let mut p = Map::new();
        p.set("decision_id", id);
        p.set("reviewer", reviewer);
        p.set("action", action);
        p.set("note", note);
        Self::own("human_oversight", p)
    }

    /// A policy fired: `{decision_id, reason, action, severity, data, **fields}`.
    pub fn policy_flag(flag: PolicyFlag) -> Self {
        let mut p = Map::with_capacity(5 + flag.fields.len());
        p.set("decision_id", flag.decision_id);
        p.set("reason", flag.reason);
        p.set("action", flag.action.to_lowercase());
        p.set("severity", flag.severity.to_lowercase());
        p.set("data", flag.data);
        p.extend(flag.fields);
        Self::own("policy_flag", p)
    }

    /// A model call: `{decision_id, provider, model, usage, cost, latency_ms, replayed,
    /// **fields}`.
    pub fn llm_call(call: LlmCall) -> Self {
        let mut p = Map::with_capacity(7 + call.fields.len());
        p.set("decision_id", call.decision_id);
        p.set("provider", call.provider);
        p.set("model", call.model);
        p.set("usage", call.usage.to_map());
        p.set("cost", call.cost);
        p.set("latency_ms", call.latency_ms);
        p.set("replayed", call.replayed);
        p.extend(call.fields);
        Self::own("llm_call", p)
    }

    /// A tool ran: `{decision_id, name, arguments}`.
    pub fn tool_call(decision_id: Option<&DecisionId>, name: &str, arguments: Value) -> Self {
        let mut p = Map::new();
        p.set("decision_id", decision_id);
        p.set("name", name);
        p.set("arguments", arguments);
        Self::own("tool_call", p)
    }

    /// The entry's type.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The entry's payload.
    pub fn payload(&self) -> &Map {
        &self.payload
    }

    /// The payload, mutably.
    pub fn payload_mut(&mut self) -> &mut Map {
        &mut self.payload
    }
}

/// The fields of a `policy_flag` entry.
///
/// ```
/// use acttrace::chain::{Entry, PolicyFlag};
///
/// let flag = PolicyFlag::new("api key in input")
///     .action("blocked")
///     .severity("critical")
///     .data(vec!["openai_key"]);
/// let e = Entry::policy_flag(flag);
/// assert_eq!(e.payload().get("action").and_then(|v| v.as_str()), Some("blocked"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFlag {
    decision_id: Option<DecisionId>,
    reason: String,
    action: String,
    severity: String,
    data: Value,
    fields: Map,
}

impl PolicyFlag {
    /// A flag with the given reason, action `flagged`, severity `warning`, no data and no
    /// decision.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            decision_id: None,
            reason: reason.into(),
            action: "flagged".to_owned(),
            severity: "warning".to_owned(),
            data: Value::Null,
            fields: Map::new(),
        }
    }

    /// The decision this flag belongs to. Defaults to none (`null`).
    pub fn decision(mut self, id: &DecisionId) -> Self {
        self.decision_id = Some(id.clone());
        self
    }

    /// What was done: `flagged`, `redacted` or `blocked` (stored lowercase). Defaults to
    /// `flagged`.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = action.into();
        self
    }

    /// How serious: `info`, `warning` or `critical` (stored lowercase). Defaults to `warning`.
    pub fn severity(mut self, severity: impl Into<String>) -> Self {
        self.severity = severity.into();
        self
    }

    /// A summary or the categories of what fired, never the sensitive value itself. Defaults to
    /// `null`.
    pub fn data(mut self, data: impl Into<Value>) -> Self {
        self.data = data.into();
        self
    }

    /// An extra payload field, after the standard ones.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key, value);
        self
    }

    /// [`field`](Self::field) for this crate's own literal keys.
    pub(crate) fn set(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.fields.set(key, value);
        self
    }
}

/// Token counts of a model call, as the reference records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache.
    pub cached_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Input tokens written to the provider's prompt cache.
    pub cache_write: u64,
}

impl Usage {
    /// Usage with the given input and output tokens and nothing else.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            ..Self::default()
        }
    }

    fn to_map(self) -> Map {
        let mut m = Map::with_capacity(5);
        m.set("input_tokens", self.input_tokens);
        m.set("output_tokens", self.output_tokens);
        m.set("cached_tokens", self.cached_tokens);
        m.set("reasoning_tokens", self.reasoning_tokens);
        m.set("cache_write", self.cache_write);
        m
    }
}

/// The fields of an `llm_call` entry.
///
/// ```
/// use acttrace::chain::{Entry, LlmCall, Usage};
///
/// let call = LlmCall::new("openai", "gpt-4o")
///     .usage(Usage::new(1200, 300))
///     .cost("0.004750000 USD")
///     .latency_ms(12.5);
/// let e = Entry::llm_call(call);
/// assert_eq!(e.kind(), "llm_call");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCall {
    decision_id: Option<DecisionId>,
    provider: String,
    model: Value,
    usage: Usage,
    cost: Option<String>,
    latency_ms: f64,
    replayed: bool,
    fields: Map,
}

impl LlmCall {
    /// A call to `model` at `provider`, with no usage, cost or latency yet.
    pub fn new(provider: impl Into<String>, model: impl Into<Value>) -> Self {
        Self {
            decision_id: None,
            provider: provider.into(),
            model: model.into(),
            usage: Usage::default(),
            cost: None,
            latency_ms: 0.0,
            replayed: false,
            fields: Map::new(),
        }
    }

    /// The decision the call was made for. Defaults to none (`null`).
    pub fn decision(mut self, id: Option<&DecisionId>) -> Self {
        self.decision_id = id.cloned();
        self
    }

    /// Token counts. Defaults to all zero.
    pub fn usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Cost as a decimal string with its currency, e.g. `"0.004750000 USD"` (never a binary
    /// float). Defaults to `null` (unknown).
    pub fn cost(mut self, cost: impl Into<String>) -> Self {
        self.cost = Some(cost.into());
        self
    }

    /// Wall-clock latency in milliseconds. Defaults to `0.0`.
    pub fn latency_ms(mut self, latency_ms: f64) -> Self {
        self.latency_ms = latency_ms;
        self
    }

    /// Whether the response was replayed from a cache rather than computed. Defaults to `false`.
    pub fn replayed(mut self, replayed: bool) -> Self {
        self.replayed = replayed;
        self
    }

    /// An extra payload field, after the standard ones (e.g. `status`, `streamed`).
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key, value);
        self
    }

    /// [`field`](Self::field) for this crate's own literal keys.
    #[cfg(feature = "client")]
    pub(crate) fn set(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.fields.set(key, value);
        self
    }
}

/// Where an appended entry landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash, the chain's head right after it.
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_layouts_match_reference() {
        let id: DecisionId = "acc00000000000000000000000000001".parse().unwrap();
        let flag = Entry::policy_flag(
            PolicyFlag::new("manual policy flag")
                .action("BLOCKED")
                .severity("Critical")
                .data(vec!["credit_card"])
                .field("ticket", "T-1"),
        );
        assert_eq!(
            Value::from(flag.payload().clone()).to_line_json(),
            r#"{"decision_id": null, "reason": "manual policy flag", "action": "blocked", "severity": "critical", "data": ["credit_card"], "ticket": "T-1"}"#
        );
        let call = Entry::llm_call(
            LlmCall::new("openai", "gpt-4o")
                .decision(Some(&id))
                .usage(Usage {
                    input_tokens: 1200,
                    output_tokens: 300,
                    cached_tokens: 1000,
                    reasoning_tokens: 128,
                    cache_write: 0,
                })
                .cost("0.004750000 USD")
                .latency_ms(12.500000000045475),
        );
        assert_eq!(
            Value::from(call.payload().clone()).to_line_json(),
            r#"{"decision_id": "acc00000000000000000000000000001", "provider": "openai", "model": "gpt-4o", "usage": {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 1000, "reasoning_tokens": 128, "cache_write": 0}, "cost": "0.004750000 USD", "latency_ms": 12.500000000045475, "replayed": false}"#
        );
    }

    #[test]
    fn decision_ids_refuse_markup() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| DecisionId::random()).collect();
        assert_eq!(ids.len(), 1000, "random ids are distinct");
        assert!(
            ids.iter()
                .all(|id| id.as_str().parse::<DecisionId>().is_ok())
        );
        assert!("abc-123:x.y_z".parse::<DecisionId>().is_ok());
        assert!("".parse::<DecisionId>().is_err());
        assert!("a b".parse::<DecisionId>().is_err());
        assert!("<script>".parse::<DecisionId>().is_err());
        assert!("x".repeat(129).parse::<DecisionId>().is_err());
    }
}

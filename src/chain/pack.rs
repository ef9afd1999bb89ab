//! The evidence-pack format: which controls of which framework each entry is evidence for,
//! what a pack's `_meta` header counts and which of its fields are signed. The verifier checks
//! a pack's header against its entries with it; the exporter writes packs with it.
//!
//! The layout and the mappings are the reference's (`cendor-acttrace` 1.14.0), so a pack made
//! here from a reference-compatible log is byte-identical to the reference's and verifies there.
//! This crate's own entry types are mapped too: `gap` (entries lost before they were written),
//! `write_failure` (entries lost to a failed write) and `recovery` (a torn tail cut on
//! reopening) are record-keeping and integrity evidence. `guardrail_decision` and free-form
//! types get no controls, as in the reference.
//!
//! Uses the JSON model and the entry hash's key type only.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::json::value::{Map, Value};

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
            (EuAiAct, "gap" | "recovery" | "write_failure") => &[
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
            (NistRmf, "gap" | "recovery" | "write_failure") => &["MANAGE-2.1"],

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
            (Iso42001, "gap" | "recovery" | "write_failure") => &["A.6.2.8 event logs"],

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
            (Gdpr, "gap" | "recovery" | "write_failure") => &[
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
    if let Some(d) = crate::redact::detect::DETECTORS
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

/// An entry as the reference writes it into a pack: its fields in the entry's order, then its
/// controls when a framework is chosen.
pub(crate) fn pack_row(mut row: Map, framework: Option<Framework>) -> String {
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
pub(crate) fn kind_and_payload(row: &Map) -> (&str, &Map) {
    static EMPTY: Map = Map::new();
    let kind = row.get("type").and_then(Value::as_str).unwrap_or("");
    let payload = row
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY);
    (kind, payload)
}

/// The controls `fw` maps an entry row to.
pub(crate) fn row_controls(fw: Framework, row: &Map) -> Vec<&'static str> {
    let (kind, payload) = kind_and_payload(row);
    fw.controls_for(kind, payload)
}

pub(crate) fn controls_value(controls: Vec<&'static str>) -> Value {
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
        crate::chain::hash::hex(&self.0.clone().finalize())
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
    pub(crate) system: Option<String>,
    pub(crate) risk_tier: Option<String>,
    pub(crate) decisions: u64,
    pub(crate) llm_calls: u64,
    pub(crate) tool_calls: u64,
    pub(crate) context_assemblies: u64,
    pub(crate) human_oversight: u64,
    pub(crate) policy_flags: u64,
    /// Python `Counter`s: keys in first-seen order.
    pub(crate) by_action: Vec<(String, u64)>,
    pub(crate) by_severity: Vec<(String, u64)>,
    pub(crate) covered: BTreeSet<&'static str>,
}

impl Tally {
    pub(crate) fn add_row(&mut self, row: &Map, framework: Option<Framework>) {
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
            assert!(
                ["gap", "recovery", "write_failure"]
                    .iter()
                    .all(|k| !fw.controls(k).is_empty())
            );
        }
    }
}

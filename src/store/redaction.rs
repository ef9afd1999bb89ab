//! Redaction applied to an entry on its way into the chain: the payload scrubbed by the log's
//! policy, and the `policy_flag` entries that follow it, naming what was found and done.
//!
//! Uses the format and the redaction policies.

use crate::chain::entry::{DecisionId, Entry, PolicyFlag};
use crate::json::value::Value;
use crate::redact::{Action, Detection, RedactionPolicy};

/// Applies the policy to an entry about to be appended: scrubs it, and gives the
/// `policy_flag` entries (one per action taken, most severe first) that should follow it.
/// A `policy_flag` is scrubbed but not followed by another.
pub(crate) fn apply(policy: &RedactionPolicy, entry: &mut Entry) -> Vec<Entry> {
    let found = policy.redact(entry.payload_mut());
    if found.is_empty() || entry.kind() == "policy_flag" {
        return Vec::new();
    }
    let decision = entry
        .payload()
        .get("decision_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<DecisionId>().ok());
    let mut flags = Vec::new();
    for action in [Action::Block, Action::Redact, Action::Flag] {
        let items: Vec<&Detection> = found.iter().filter(|d| d.action == action).collect();
        if items.is_empty() {
            continue;
        }
        let cats: Vec<&str> = items.iter().map(|d| d.category).collect();
        let severity = if action == Action::Redact {
            "info"
        } else {
            items
                .iter()
                .map(|d| d.severity)
                .max_by_key(|s| severity_rank(s))
                .unwrap_or("warning")
        };
        let mut flag = PolicyFlag::new(format!(
            "{} {} from {}",
            action.verb(),
            cats.join(", "),
            entry.kind()
        ))
        .action(action.verb())
        .severity(severity)
        .data(Value::Array(cats.iter().map(|c| Value::from(*c)).collect()))
        .set("auto", true);
        if let Some(id) = &decision {
            flag = flag.decision(id);
        }
        flags.push(Entry::policy_flag(flag));
    }
    flags
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Map;

    fn payload(text: &str) -> Map {
        let mut m = Map::new();
        m.insert("text", text);
        m
    }

    #[test]
    fn an_entry_is_followed_by_one_flag_per_action() {
        let p = RedactionPolicy::pci();
        let id = DecisionId::random();
        let mut m = payload("card 4111 1111 1111 1111, mail a@b.io, ip 10.0.0.1");
        m.insert("decision_id", id.to_string());
        let mut e = Entry::new("decision_record", m);
        let flags = apply(&p, &mut e);
        let summary: Vec<(String, String, String)> = flags
            .iter()
            .map(|f| {
                let g = |k| {
                    f.payload()
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_owned()
                };
                (g("action"), g("severity"), g("reason"))
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "blocked".to_owned(),
                    "critical".to_owned(),
                    "blocked credit_card from decision_record".to_owned()
                ),
                (
                    "redacted".to_owned(),
                    "info".to_owned(),
                    "redacted email, ipv4 from decision_record".to_owned()
                ),
            ]
        );
        for f in &flags {
            assert_eq!(
                f.payload().get("decision_id").and_then(Value::as_str),
                Some(id.to_string().as_str())
            );
        }
        // A flag is scrubbed, never followed by another flag.
        let mut flag = Entry::new("policy_flag", payload("reported by a@b.io"));
        assert!(apply(&p, &mut flag).is_empty());
        assert_eq!(
            flag.payload().get("text").and_then(Value::as_str),
            Some("reported by <redacted>")
        );
    }
}

//! Both directions against the Python reference (`cendor-acttrace`), run for real in a venv.

use std::path::Path;

use acttrace::chain::{DecisionId, Entry, LlmCall, PolicyFlag, SigningKey, Usage};
use acttrace::json::{Map, Value};
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};

use crate::support::{Scratch, reference_run, reference_verify};

const KEY: &str = "interop-key-ü🔑";

/// Payloads chosen to trip a careless canonicalizer.
fn hazards() -> Vec<Map> {
    let v = |j: serde_json::Value| match Value::from(j) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    vec![
        v(
            serde_json::json!({"text": "naïve café — 中文 😀 \u{2028}\u{2029}\u{85} \"q\" \\ / \t\n\u{1}\u{7f}", "Ω": 1, "a": 2, "Z": 3}),
        ),
        v(
            serde_json::json!({"floats": [0.1, 1.0, 1e16, 1.5e300, 1e-7, -0.0, 123456789.12345679, 5e-324], "ints": [0, -1, 9007199254740993i64, u64::MAX]}),
        ),
        {
            let mut m = Map::new();
            m.insert(
                "big",
                Value::Int("340282366920938463463374607431768211457".parse().unwrap()),
            );
            m.insert(
                "neg_big",
                Value::Int("-99999999999999999999999".parse().unwrap()),
            );
            m.insert("nan", f64::NAN);
            m.insert("inf", f64::INFINITY);
            m.insert("ninf", f64::NEG_INFINITY);
            m
        },
        v(
            serde_json::json!({"nested": {"deep": [[[{"k": [1, {"x": null, "y": true, "z": false}]}]]], "empty": {}, "arr": []}}),
        ),
    ]
}

async fn write_hazard_chain(path: &Path) -> String {
    let log = AuditLog::builder("interop")
        .risk_tier("high")
        .signing_key(KEY)
        .open(path)
        .await
        .unwrap();
    let id = DecisionId::random();
    log.append(Entry::decision(&id, "application A-17", "agent"))
        .await
        .unwrap();
    for payload in hazards() {
        log.append(Entry::decision_record(&id, payload))
            .await
            .unwrap();
    }
    log.append(Entry::llm_call(
        LlmCall::new("openai", "gpt-4o")
            .decision(Some(&id))
            .usage(Usage::new(1200, 300))
            .cost("0.004750000 USD")
            .latency_ms(12.500000000045475),
    ))
    .await
    .unwrap();
    log.append(Entry::tool_call(
        Some(&id),
        "search_kb",
        serde_json::json!({"args": ["refund"], "kwargs": {"top_k": 5}}).into(),
    ))
    .await
    .unwrap();
    log.append(Entry::policy_flag(
        PolicyFlag::new("near threshold")
            .decision(&id)
            .data(vec!["score"]),
    ))
    .await
    .unwrap();
    log.append(Entry::human_oversight(&id, "reviewer-1", "approved", "ok"))
        .await
        .unwrap();
    log.append(Entry::decision_end(&id, Map::new()))
        .await
        .unwrap();
    let head = log.head();
    log.shutdown().await.unwrap();
    head.hash
}

#[tokio::test]
async fn our_chain_verifies_in_the_reference_and_tampering_fails_both() {
    let scratch = Scratch::new("interop-ours");
    let path = scratch.join("ours.jsonl");
    let head = write_hazard_chain(&path).await;

    let (ok, detail) = reference_verify(&path, Some(KEY), Some(&head));
    assert!(ok, "reference: {detail}");
    assert!(detail.contains("signatures verified"), "{detail}");
    let ours = verify_path(
        &path,
        &VerifyOptions::new()
            .key(SigningKey::from(KEY))
            .expected_head(&head),
    );
    assert!(ours.is_ok(), "{ours}");
    assert_eq!(ours.detail(), detail, "same verdict text in both");

    // Flip one byte in several places: inside a payload string, a number, a hash, a seq.
    let original = std::fs::read(&path).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let targets = [
        text.find("naïve").unwrap(),
        text.find("1.5e+300").unwrap() + 2,
        text.find("\"hash\": \"").unwrap() + 12,
        text.find("\"seq\": 3").unwrap() + 7,
        text.rfind("reviewer-1").unwrap(),
    ];
    for at in targets {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        let tampered = scratch.join("tampered.jsonl");
        std::fs::write(&tampered, &bytes).unwrap();
        let (ref_ok, ref_detail) = reference_verify(&tampered, Some(KEY), Some(&head));
        let ours = verify_path(
            &tampered,
            &VerifyOptions::new()
                .key(SigningKey::from(KEY))
                .expected_head(&head),
        );
        assert!(
            !ref_ok,
            "reference accepted a flip at byte {at}: {ref_detail}"
        );
        assert!(!ours.is_ok(), "we accepted a flip at byte {at}: {ours}");
        assert_eq!(ours.detail(), ref_detail, "flip at byte {at}");
    }
}

const REFERENCE_WRITER: &str = r#"
import sys
from cendor.acttrace import AuditLog
log = AuditLog(system="ref-writer", risk_tier="high", path=sys.argv[1], signing_key=sys.argv[2], mirror=False)
with log.decision(input={"applicant": "A-17", "amount": 25000}, actor="agent") as d:
    d.record(model="gpt-4o", score=0.82, note="ünïcödé ✓", big=2**70, ratio=1e-7)
    d.flag("near threshold", severity="info", data="borderline")
    d.human_oversight("reviewer-1", "approved", "ok")
log.flag("manual", action="blocked", severity="critical", data=["credit_card"])
print(log.head)
log.detach()
"#;

#[tokio::test]
async fn a_reference_chain_is_continued_here_and_verifies_in_both() {
    let scratch = Scratch::new("interop-theirs");
    let path = scratch.join("theirs.jsonl");
    let ref_head = reference_run(REFERENCE_WRITER, &[path.to_str().unwrap(), KEY]);
    let ref_head = ref_head.trim();
    let before = verify_path(
        &path,
        &VerifyOptions::new()
            .key(SigningKey::from(KEY))
            .expected_head(ref_head),
    );
    assert!(before.is_ok(), "{before}");

    let log = AuditLog::builder("continuing")
        .signing_key(KEY)
        .open(&path)
        .await
        .unwrap();
    assert_eq!(log.head().hash, ref_head);
    assert_eq!(log.head().entries, before.entries());
    let id = DecisionId::random();
    let first = log
        .append(Entry::decision(&id, "continued in Rust", "agent"))
        .await
        .unwrap();
    assert_eq!(
        first.seq,
        before.entries(),
        "seq continues from the reference's last entry"
    );
    log.append(Entry::human_oversight(&id, "reviewer-2", "approved", "ü"))
        .await
        .unwrap();
    log.append(Entry::decision_end(&id, Map::new()))
        .await
        .unwrap();
    let head = log.head();
    log.shutdown().await.unwrap();

    let (ok, detail) = reference_verify(&path, Some(KEY), Some(&head.hash));
    assert!(ok, "reference: {detail}");
    let ours = verify_path(
        &path,
        &VerifyOptions::new()
            .key(SigningKey::from(KEY))
            .expected_head(&head.hash),
    );
    assert!(ours.is_ok(), "{ours}");
    assert_eq!(ours.detail(), detail);
    assert_eq!(ours.entries(), before.entries() + 3);

    // And back again: the reference continues what we wrote.
    let cont = r#"
import sys
from cendor.acttrace import AuditLog
log = AuditLog(system="x", path=sys.argv[1], signing_key=sys.argv[2], mirror=False)
log.flag("back in Python", severity="info")
print(log.head)
log.detach()
"#;
    let final_head = reference_run(cont, &[path.to_str().unwrap(), KEY]);
    let ours = verify_path(
        &path,
        &VerifyOptions::new()
            .key(SigningKey::from(KEY))
            .expected_head(final_head.trim()),
    );
    assert!(ours.is_ok(), "{ours}");
}

/// Secrets under every key name the redactor once skipped (`decision_id`, `cost`, names ending
/// in `hash`, `digest`, `sha256`), at the top, nested, in arrays and in keys: the log never
/// holds a secret that the reference's redactor removes from the same payload, and holds none
/// that sits in a key (which the reference leaves).
#[tokio::test]
async fn no_secret_the_reference_removes_reaches_our_log() {
    let secrets = [
        "sk-live-4eC39HqLyjWDarjtT1zdp7dc",
        "sk-proj-abcdefghijklmnop1234",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "bob@example.com",
        "xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    ];
    let names = [
        "decision_id",
        "cost",
        "hash",
        "prev_hash",
        "sha256",
        "input_sha256",
        "digest",
        "body_digest",
        "note",
    ];
    let mut payloads = Vec::new();
    for secret in secrets {
        for name in names {
            payloads.push(serde_json::json!({ name: secret }));
            payloads.push(serde_json::json!({"input": { name: secret }}));
            payloads.push(serde_json::json!({"items": [{ name: [secret] }]}));
            payloads
                .push(serde_json::json!({"deep": {"deeper": { name: format!("x {secret} y") }}}));
        }
        payloads.push(serde_json::json!({ secret: 1 }));
        payloads.push(serde_json::json!({"input": { format!("k {secret}"): {"sha256": secret} }}));
    }
    let corpus = serde_json::Value::Array(payloads.clone()).to_string();
    let script = r#"
import json, sys
from cendor.acttrace import redact, Policy
payloads = json.loads(sys.argv[1])
secrets = json.loads(sys.argv[2])
out = []
for p in payloads:
    cleaned, _ = redact(p, Policy.default())
    before, after = json.dumps(p), json.dumps(cleaned)
    out.append([s for s in secrets if s in before and s not in after])
print(json.dumps(out))
"#;
    let secrets_json = serde_json::to_string(&secrets).unwrap();
    let removed: Vec<Vec<String>> =
        serde_json::from_str(&reference_run(script, &[&corpus, &secrets_json])).unwrap();
    assert_eq!(removed.len(), payloads.len());
    assert!(
        removed.iter().filter(|r| !r.is_empty()).count() >= secrets.len() * names.len() * 4,
        "the reference removes each secret from every value"
    );

    let scratch = Scratch::new("interop-redact");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("t", &path).await.unwrap();
    for p in &payloads {
        let Value::Object(m) = Value::from(p.clone()) else {
            unreachable!()
        };
        log.append(Entry::new("probe", m)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("\"probe\"")).collect();
    assert_eq!(lines.len(), payloads.len());
    for ((line, gone), payload) in lines.iter().zip(&removed).zip(&payloads) {
        for secret in gone {
            assert!(
                !line.contains(secret.as_str()),
                "{payload}: {secret} kept in {line}"
            );
        }
    }
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
    let (ok, detail) = reference_verify(&path, None, None);
    assert!(ok, "{detail}");
}

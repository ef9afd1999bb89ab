//! Write a signed audit chain, verify it, then watch the verifier catch three kinds of
//! tampering.
//!
//! ```text
//! cargo run --example quickstart
//! ```

#![forbid(unsafe_code)]

use std::path::Path;

use acttrace::chain::{DecisionId, Entry, LlmCall, PolicyFlag, SigningKey, Usage};
use acttrace::json::Map;
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};

const KEY: &str = "demo-key-keep-me-in-a-vault";

fn check(label: &str, path: &Path, opts: &VerifyOptions) {
    let report = verify_path(path, opts);
    let mark = if report.is_ok() {
        "verifies"
    } else {
        "REJECTED"
    };
    println!("  {mark:<8}  {label:<28} {report}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), acttrace::BoxError> {
    let dir = Path::new("target/quickstart");
    std::fs::create_dir_all(dir)?;
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);

    println!("1. Recording a loan decision in {}", path.display());
    let log = AuditLog::builder("loan-triage")
        .risk_tier("high")
        .signing_key(KEY)
        .open(&path)
        .await?;
    let id = DecisionId::random();
    log.append(Entry::decision(
        &id,
        "application A-17 (digest only)",
        "triage-agent",
    ))
    .await?;
    log.append(Entry::llm_call(
        LlmCall::new("openai", "gpt-4o")
            .decision(Some(&id))
            .usage(Usage::new(1200, 300))
            .cost("0.004750000 USD")
            .latency_ms(412.3),
    ))
    .await?;
    let mut outcome = Map::new();
    outcome.insert("outcome", "approved");
    outcome.insert("score", 0.82);
    log.append(Entry::decision_record(&id, outcome)).await?;
    log.append(Entry::policy_flag(
        PolicyFlag::new("score near threshold")
            .decision(&id)
            .severity("info"),
    ))
    .await?;
    log.append(Entry::human_oversight(
        &id,
        "reviewer-42",
        "approved",
        "checked income docs",
    ))
    .await?;
    log.append(Entry::decision_end(&id, Map::new())).await?;
    let head = log.head();
    log.shutdown().await?;
    println!(
        "   {} entries, head {} (keep this somewhere else: it proves completeness)",
        head.entries, head.hash
    );

    let opts = VerifyOptions::new()
        .key(SigningKey::from(KEY))
        .expected_head(head.hash.clone())
        .expected_entries(head.entries);
    let text = std::fs::read_to_string(&path)?;

    println!("2. Verifying");
    check("untouched log", &path, &opts);

    println!("3. Tampering with copies");
    let edited = dir.join("edited.jsonl");
    std::fs::write(
        &edited,
        text.replace("\"approved\", \"score\"", "\"declined\", \"score\""),
    )?;
    check("outcome edited", &edited, &opts);

    let deleted = dir.join("deleted.jsonl");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"policy_flag\""))
        .collect();
    std::fs::write(&deleted, kept.join("\n") + "\n")?;
    check("policy flag deleted", &deleted, &opts);

    let truncated = dir.join("truncated.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&truncated, lines[..lines.len() - 2].join("\n") + "\n")?;
    check("last two entries cut off", &truncated, &opts);
    check(
        "cut off, no expected head",
        &truncated,
        &VerifyOptions::new().key(SigningKey::from(KEY)),
    );

    println!(
        "Check any file yourself: cargo run --features cli --bin acttrace -- verify {} --expect-head {}",
        path.display(),
        head.hash
    );
    Ok(())
}

//! A loan-triage agent on axum with acttrace wired in as a user would wire it: `AuditLayer`,
//! `GuardLayer`, and the audited reqwest client. Offline by default: with no provider key set
//! it talks to a local OpenAI-compatible model that it starts beside itself.
//!
//! ```text
//! cargo run --example axum_agent -- --demo     # the scripted tour, then exits
//! cargo run --example axum_agent               # serve on 127.0.0.1:3000
//! ```
//!
//! Environment (see the README's table): `OPENAI_BASE_URL` and/or `OPENAI_API_KEY` for any
//! OpenAI-compatible server or gateway, or `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY` for an
//! Anthropic-compatible one (HTTPS needs the `tls` feature:
//! `cargo run --features tls --example axum_agent`), `ACTTRACE_MODEL` to pick the model,
//! `ACTTRACE_KEY` for the log's signing key, `ACTTRACE_CHECKPOINT_KEY_FILE` (a key from
//! `acttrace keygen`) to publish signed tree heads beside the log while it serves.

#![forbid(unsafe_code)]

mod agent;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use acttrace::chain::SigningKey;
use acttrace::store::AuditLog;

fn usage() -> ExitCode {
    eprintln!("usage: axum_agent [--demo] [--dir DIR] [--addr HOST:PORT]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut demo = false;
    let mut dir = PathBuf::from("target/axum_agent");
    let mut addr = "127.0.0.1:3000".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--demo" => demo = true,
            "--dir" => match args.next() {
                Some(d) => dir = d.into(),
                None => return usage(),
            },
            "--addr" => match args.next() {
                Some(v) => addr = v,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let result = if demo {
        agent::demo(&dir, true).await.map(|run| {
            println!(
                "\nDone: {} decisions{}. Log {} (head {}…), pack {}.\nTry: cargo run --features cli --bin acttrace -- show {}",
                run.decisions.len(),
                if run.offline { ", offline model" } else { "" },
                run.log.display(),
                run.head.get(..12).unwrap_or(&run.head),
                run.pack.display(),
                run.log.display()
            );
            println!("Auditor's report: {}", run.report.display());
            if let Some((note, proof, _)) = &run.proof {
                println!("Tree head {}, proof of one decision {}.", note.display(), proof.display());
            }
        })
    } else {
        serve(&dir, &addr).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum_agent: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    dir: &std::path::Path,
    addr: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(dir)?;
    let model = match agent::ModelConfig::from_env() {
        Some(m) => m,
        None => {
            let local = agent::start_local_model().await?;
            println!(
                "model: OFFLINE local OpenAI-compatible model at http://{local}/v1 (no provider key set)"
            );
            agent::ModelConfig::local(local)
        }
    };
    let key = std::env::var("ACTTRACE_KEY").unwrap_or_else(|_| agent::DEMO_KEY.to_owned());
    let path = dir.join("audit.jsonl");
    let log = AuditLog::builder("loan-triage")
        .risk_tier("high")
        .signing_key(SigningKey::from(key.as_str()))
        .open(&path)
        .await?;
    // With a checkpoint key (from `acttrace keygen`), signed tree heads of the log are
    // published beside it every 1,000 entries or minute, and when the agent stops.
    #[cfg(feature = "ed25519")]
    let heads = match std::env::var_os("ACTTRACE_CHECKPOINT_KEY_FILE") {
        Some(file) => {
            use acttrace::chain::checkpoint::CheckpointKey;
            use acttrace::evidence::publish::TreeHeads;
            let key = CheckpointKey::read(file)?;
            let origin = "loan-triage";
            let verifier = acttrace::evidence::note::NoteVerifier::new(origin, &key.public())?;
            let note = dir.join("audit.jsonl.note");
            let heads = log
                .publish_tree_heads(
                    TreeHeads::new(origin, key)
                        .every_entries(1_000)
                        .every(std::time::Duration::from_secs(60))
                        .save_to(&note),
                )
                .await?;
            println!("tree heads: {} (verifier key {verifier})", note.display());
            Some(heads)
        }
        None => None,
    };
    let (local, server) = agent::serve(
        Arc::new(agent::Agent::new(log.clone(), model)),
        addr.parse()?,
    )
    .await?;
    println!("agent: http://{local} (audit log {})", path.display());
    println!(
        "  curl -s http://{local}/applications -H 'content-type: application/json' \\\n    -d '{{\"applicant\":\"A-1\",\"amount\":20000,\"income\":85000,\"purpose\":\"car\"}}'"
    );
    println!("  Ctrl-C to stop.");
    tokio::select! {
        _ = server => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    log.shutdown().await?;
    #[cfg(feature = "ed25519")]
    if let Some(heads) = heads
        && let Some(last) = heads.closed().await.latest
    {
        println!("last tree head: {} entries", last.head.size);
    }
    Ok(())
}

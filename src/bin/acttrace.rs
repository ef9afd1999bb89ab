//! `acttrace`: offline tools for `acttrace-chain/1` audit logs.
//!
//! Thin over the library: parse arguments, call it, print, pick the exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::chain::{Failure, SigningKey, VerifyOptions, verify_path};
use clap::{Args, Parser, Subcommand};

/// Offline tools for acttrace-chain/1 audit logs.
#[derive(Debug, Parser)]
#[command(name = "acttrace", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Re-walk a log's hash chain and report the first entry that was edited, inserted,
    /// deleted or reordered.
    ///
    /// Prints one line (the reference verifier's wording) and exits 0 if the log verifies, 1 if
    /// it does not, 2 on a usage error or when the file cannot be read. A hash chain cannot see
    /// its own tail cut off: pass --expect-head and/or --expect-entries, recorded elsewhere when
    /// the log was written, for a completeness check.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The log or evidence pack (.jsonl).
    path: PathBuf,

    /// HMAC signing key, to check every entry's signature. Prefer --key-file or the
    /// ACTTRACE_KEY environment variable: a key on the command line is visible to other users
    /// of the machine.
    #[arg(long, value_name = "KEY", conflicts_with = "key_file")]
    key: Option<String>,

    /// Read the signing key from this file (one trailing line break is ignored).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,

    /// The head hash the log must end on.
    #[arg(long, value_name = "HASH")]
    expect_head: Option<String>,

    /// The number of entries the log must hold.
    #[arg(long, value_name = "N")]
    expect_entries: Option<u64>,

    /// Print the verdict as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Where the key comes from: the flag, the file, or `ACTTRACE_KEY`, in that order.
fn signing_key(args: &VerifyArgs) -> Result<Option<SigningKey>, String> {
    if let Some(k) = &args.key {
        return Ok(Some(SigningKey::from(k.as_str())));
    }
    if let Some(path) = &args.key_file {
        let mut bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        return Ok(Some(SigningKey::new(bytes)));
    }
    match std::env::var_os("ACTTRACE_KEY") {
        Some(k) if !k.is_empty() => Ok(Some(SigningKey::new(k.into_encoded_bytes()))),
        _ => Ok(None),
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let key = match signing_key(args) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("acttrace: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = VerifyOptions::new();
    if let Some(k) = key {
        opts = opts.key(k);
    }
    if let Some(h) = &args.expect_head {
        opts = opts.expected_head(h.clone());
    }
    if let Some(n) = args.expect_entries {
        opts = opts.expected_entries(n);
    }
    let report = verify_path(&args.path, &opts);
    if args.json {
        let out = serde_json::json!({
            "ok": report.is_ok(),
            "class": report.class(),
            "detail": report.detail(),
            "entries": report.entries(),
            "head": report.head(),
            "path": args.path.display().to_string(),
        });
        println!("{out}");
    } else {
        println!("{report}");
    }
    match report.failure() {
        None => ExitCode::SUCCESS,
        Some(Failure::Unreadable { .. }) => ExitCode::from(2),
        Some(_) => ExitCode::from(1),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Verify(args) => verify(args),
    }
}

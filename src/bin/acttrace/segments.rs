//! Segmented logs and the keys that check them: `verify DIR` (the segments as one chain, and
//! with `--note` as one tree), `checkpoint --note DIR`, `verify SEGMENT --after SEAL` (one
//! segment alone), `retain DIR --before TS`, and the public key and checkpoint `verify`
//! checks against.

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::chain::checkpoint::{Checkpoint, CheckpointKey, PublicKey};
use acttrace::evidence::summary::printable;
use acttrace::store::retain as retain_old;
use acttrace::verify::VerifyOptions;
use acttrace::verify::segments::verify_segments;
use clap::Args;

use crate::{KeyArgs, VerifyArgs, verify_options, with_suffix};

#[derive(Debug, Args)]
pub(crate) struct RetainArgs {
    /// The segmented log's directory.
    dir: PathBuf,

    /// Delete the sealed segments whose every entry is older than this RFC 3339 time
    /// (`2026-06-01T00:00:00Z`).
    #[arg(long, value_name = "TIME")]
    before: String,

    /// The log's seal key (`acttrace keygen`): checks the seals, signs the record.
    #[arg(long, value_name = "FILE")]
    signing_key_file: PathBuf,

    /// Refuse a --before less than this many days ago. The default, 183 (about six months),
    /// is the least the EU AI Act asks a high-risk system's logs be kept (Art. 19(1), 26(6));
    /// 0 sets no floor.
    #[arg(long, value_name = "DAYS", default_value_t = 183)]
    min_age: u64,

    #[command(flatten)]
    key: KeyArgs,
}

/// Why `before` is too recent a horizon for a floor of `min_age` days, if it is.
fn too_recent(before: &str, min_age: u64) -> Option<String> {
    if min_age == 0 {
        return None;
    }
    let horizon = acttrace::chain::parse_timestamp(before)?;
    let floor = std::time::SystemTime::now().checked_sub(std::time::Duration::from_secs(
        min_age.saturating_mul(86_400),
    ))?;
    if horizon <= floor {
        return None;
    }
    let age = match std::time::SystemTime::now().duration_since(horizon) {
        Ok(age) => format!("is only {} days ago", age.as_secs() / 86_400),
        Err(_) => "is in the future".to_owned(),
    };
    Some(format!(
        "refusing to delete entries younger than {min_age} days (--min-age; by default about \
         six months, the least the EU AI Act asks a high-risk system's logs be kept, Art. \
         19(1) and 26(6)): --before {before} {age}"
    ))
}

/// The public key `verify` was given (`--public-key` or `ACTTRACE_PUBLIC_KEY`), if any.
fn public_key(args: &VerifyArgs) -> Result<Option<PublicKey>, String> {
    let env_key = std::env::var("ACTTRACE_PUBLIC_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    match (&args.public_key, env_key) {
        (Some(path), _) => Ok(Some(PublicKey::read(path).map_err(|e| e.to_string())?)),
        (None, Some(hex)) => Ok(Some(
            PublicKey::from_hex(&hex).map_err(|e| format!("ACTTRACE_PUBLIC_KEY: {e}"))?,
        )),
        (None, None) => Ok(None),
    }
}

/// The checkpoint and public key `verify` was asked to check against, if any. For an evidence
/// pack that starts after retention, the public key checks the seal its start came from (see
/// [`sealed_start`]), and a checkpoint is read only when one is named or lies beside the pack.
pub(crate) fn checkpoint_claim(
    args: &VerifyArgs,
) -> Result<Option<(Checkpoint, PublicKey)>, String> {
    let Some(key) = public_key(args)? else {
        return match &args.checkpoint {
            Some(_) => Err("--checkpoint needs --public-key or ACTTRACE_PUBLIC_KEY".to_owned()),
            None => Ok(None),
        };
    };
    let beside = with_suffix(&args.path, ".checkpoint");
    if args.checkpoint.is_none() && !beside.exists() && starts_after_retention(&args.path) {
        return Ok(None);
    }
    let path = args.checkpoint.clone().unwrap_or(beside);
    let cp = Checkpoint::read(&path).map_err(|e| e.to_string())?;
    Ok(Some((cp, key)))
}

/// The public key to check a retained pack's start with: given, and the file a pack whose
/// header says it starts after retention.
pub(crate) fn sealed_start(args: &VerifyArgs) -> Result<Option<PublicKey>, String> {
    if !starts_after_retention(&args.path) {
        return Ok(None);
    }
    public_key(args)
}

/// Whether `path` is an evidence pack whose header says it starts after retention (`after`).
fn starts_after_retention(path: &std::path::Path) -> bool {
    use std::io::{BufRead as _, Read as _};
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // A header is a few KiB, or after years of retention a few MiB (its record lists every
    // deleted segment); a longer first line is no header.
    let mut first = String::new();
    let read = std::io::BufReader::new(file.take(64 << 20)).read_line(&mut first);
    read.is_ok()
        && acttrace::json::Value::parse(first.trim())
            .is_ok_and(|row| row.get("_meta").and_then(|m| m.get("after")).is_some())
}

/// `--after SEAL`: where the segment's chain starts, from its predecessor's seal, checked.
pub(crate) fn after_seal(args: &VerifyArgs) -> Result<Option<(u64, String)>, String> {
    let Some(seal) = &args.after else {
        return Ok(None);
    };
    let key = public_key(args)?.ok_or("--after needs --public-key or ACTTRACE_PUBLIC_KEY")?;
    let cp = Checkpoint::read(seal).map_err(|e| e.to_string())?;
    if !cp.is_signed_by(&key) {
        return Err(format!(
            "the seal {} is not signed by that key: refusing to start from it",
            seal.display()
        ));
    }
    Ok(Some((cp.entries, cp.head)))
}

/// Whether `path` is a directory of segments (or what retention left of one).
pub(crate) fn is_segment_dir(path: &std::path::Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            // A segment compressed in place (`segment-3.jsonl.gz`) counts too, so that reading
            // the directory says so rather than take it for no log at all.
            name == "retention.json" || (name.starts_with("segment-") && name.contains(".jsonl"))
        })
    })
}

/// `verify DIR`: the segments as one chain.
pub(crate) fn verify_dir(args: &VerifyArgs, opts: &VerifyOptions) -> ExitCode {
    if args.checkpoint.is_some() || args.after.is_some() {
        complain!(
            "{} is a segmented log: its seals are its checkpoints and its retention record says \
             where it starts (verify DIR --public-key); --checkpoint and --after are for one file",
            args.path.display()
        );
        return ExitCode::from(2);
    }
    let key = match public_key(args) {
        Ok(k) => k,
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    };
    let report = verify_segments(&args.path, opts, key.as_ref());
    // One tree across the segments, as they are one chain.
    let tree_head = match crate::proofs::tree_head_verdict(args, report.is_ok()) {
        Ok(verdict) => verdict,
        Err(code) => return code,
    };
    if args.json {
        let out = serde_json::json!({
            "ok": report.is_ok(),
            "detail": report.to_string(),
            "entries": report.entries,
            "head": report.head,
            "segments": report.segments,
            "sealed": report.sealed,
            "deleted": report.deleted,
            "seals_checked": report.seals_checked,
            "path": args.path.display().to_string(),
            "tree_head": tree_head.as_ref().map(|t| serde_json::json!({
                "ok": t.is_ok(),
                "detail": match t { Ok(s) | Err(s) => s },
            })),
        });
        say_json!(out);
    } else {
        say!("{report}");
        if let Some(Ok(line) | Err(line)) = &tree_head {
            say!("{line}");
        }
    }
    if report.unreadable {
        ExitCode::from(2)
    } else if report.is_ok() && !matches!(tree_head, Some(Err(_))) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `checkpoint --note DIR`: a segmented log verified as one chain, then its tree head (one
/// tree across the segments) signed. A plain checkpoint of a directory is refused: its seals
/// are its checkpoints.
pub(crate) fn checkpoint_dir(
    args: &crate::CheckpointArgs,
    secret: &CheckpointKey,
    opts: &VerifyOptions,
) -> ExitCode {
    if !args.note {
        complain!(
            "{} is a segmented log: its seals are its checkpoints (verify DIR --public-key); \
             --note signs one tree head across all its segments",
            args.log.display()
        );
        return ExitCode::from(2);
    }
    let report = verify_segments(&args.log, opts, None);
    if !report.is_ok() {
        complain!("refusing to sign a log that does not verify: {report}");
        return ExitCode::from(1);
    }
    let origin = match &args.origin {
        Some(o) => o.clone(),
        None => first_segment_system(&args.log).unwrap_or_default(),
    };
    crate::proofs::checkpoint_note(args, secret, &origin)
}

/// The system the first segment's `audit_open` names or, once retention deleted it, the
/// retention record's checkpoint.
fn first_segment_system(dir: &std::path::Path) -> Option<String> {
    let first = dir.join("segment-000001.jsonl");
    if !first.exists()
        && let Ok(Some(record)) = acttrace::verify::segments::RetentionRecord::of_dir(dir)
    {
        return Some(record.checkpoint.origin);
    }
    acttrace::evidence::summary::Summary::read(first)
        .ok()?
        .system
}

pub(crate) fn retain(args: &RetainArgs) -> ExitCode {
    if let Some(why) = too_recent(&args.before, args.min_age) {
        complain!("{why}");
        return ExitCode::from(2);
    }
    let seal = match CheckpointKey::read(&args.signing_key_file) {
        Ok(k) => k,
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    };
    let opts = match verify_options(&args.key) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match retain_old(&args.dir, &args.before, &seal, &opts) {
        Ok(gone) if gone.is_empty() => {
            say!(
                "nothing to delete: no sealed segment is wholly older than {}",
                printable(&args.before)
            );
            ExitCode::SUCCESS
        }
        Ok(gone) => {
            // Years of daily segments make a long list: the oldest and newest say enough.
            let which = match gone.as_slice() {
                [first, .., last] if gone.len() > 2 => format!("oldest {first}, newest {last}"),
                _ => gone.join(", "),
            };
            say!(
                "deleted {} segments ({which}); the signed record is {}",
                gone.len(),
                args.dir.join("retention.json").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.starts_with("refusing") => {
            complain!("{e}");
            ExitCode::from(1)
        }
        Err(e) => {
            complain!("{e}");
            ExitCode::from(2)
        }
    }
}

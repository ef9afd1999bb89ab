//! `acttrace`: offline tools for `acttrace-chain/1` audit logs.
//!
//! Thin over the library: parse arguments, call it, print, pick the exit code.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::chain::SigningKey;
use acttrace::chain::checkpoint::CheckpointKey;
use acttrace::evidence::Summary;
use acttrace::evidence::summary::printable;
use acttrace::verify::DEFAULT_MAX_LINE_BYTES;
use acttrace::verify::{Failure, VerifyOptions, verify_path, verify_reader};
use clap::{Args, Parser, Subcommand};

/// `println!` for people: every character that could steer a terminal escaped ([`printable`]).
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", printable(&format!($($arg)*)))
    };
}

/// `println!` for `--json` output: the same JSON, with what [`say!`] escapes written as JSON
/// escapes ([`printable_json`](acttrace::evidence::summary::printable_json)).
macro_rules! say_json {
    ($json:expr) => {
        println!(
            "{}",
            acttrace::evidence::summary::printable_json(&$json.to_string())
        )
    };
}

/// An error for people, on standard error, escaped as [`say!`] escapes.
macro_rules! complain {
    ($($arg:tt)*) => {
        eprintln!("acttrace: {}", printable(&format!($($arg)*)))
    };
}

mod export;
mod proofs;
#[cfg(feature = "postgres")]
mod pull;
mod report;
mod segments;
mod stamp;
mod view;
use proofs::{CheckProofArgs, ProveArgs, check_proof, checkpoint_note, prove};

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

    /// Write an evidence pack: a `_meta` header (system, risk tier, framework, the controls
    /// covered, a summary, head and entry count; signed when a key is given) followed by every
    /// entry annotated with the framework's controls.
    ///
    /// The log is verified first (with the key, if given) and a log that does not verify is
    /// refused. The pack is written to a temporary file, synced and renamed into place. Exits 0
    /// when written, 1 when the log does not verify, 2 on a usage, read or write error.
    Export(export::ExportArgs),

    /// Write a chain kept in PostgreSQL (or a prefix of it, --upto) to a JSONL log, read in one
    /// snapshot, and verify it. The file verifies here and in the reference like any log.
    /// Exits 0 when written and verified, 1 when it does not verify, 2 on a usage, database
    /// or write error. (With the `postgres` feature.)
    #[cfg(feature = "postgres")]
    Pull {
        #[command(flatten)]
        args: pull::PullArgs,
        #[command(flatten)]
        key: KeyArgs,
    },

    /// Show the decisions in a log as a table: when each opened, its route and actor, outcome,
    /// status and latency, model calls with tokens and cost, reviews and flags.
    ///
    /// The chain is verified first and the verdict printed above the table. Exits 0 when the
    /// chain verifies, 1 when it does not (the table is still shown), 2 when the file cannot be
    /// read.
    Show(view::ViewArgs),

    /// Totals by provider and model (calls, failures, tokens, cost), with the decision and
    /// flag counts. Exit codes as for `show`.
    Stats(view::ViewArgs),

    /// Write the auditor's report: one self-contained HTML file (no network, no script) with
    /// the verdict and what it covered, decisions over time, model calls and cost, flags and
    /// blocks, human oversight, failures, and each framework's controls linked to the
    /// entries behind them. Exits 0 when written (a log that does not verify gets a report
    /// that says so first), 2 on a read or write error.
    Report(report::ReportArgs),

    /// Delete the sealed segments of a segmented log whose every entry is older than a
    /// horizon, after checking the whole log verifies, leaving a signed record of what was
    /// deleted and the seal it ended at (DIR/retention.json), so that the rest still
    /// verifies. A horizon less than six months ago is refused unless --min-age says
    /// otherwise. One run at a time (DIR/retention.lock); a run that stopped before deleting
    /// all it recorded is finished by the next. Exits 0 when done (also when nothing is old enough), 1 when the log does not
    /// verify, 2 on a usage or file error.
    Retain(segments::RetainArgs),

    /// Make an Ed25519 key pair for signed checkpoints: NAME.key (secret, mode 0600) and
    /// NAME.pub (public, for auditors). Refuses to overwrite either.
    Keygen(KeygenArgs),

    /// Verify a log, then sign its state (origin, entry count, head) with an Ed25519 key:
    /// a checkpoint an auditor checks with `verify --public-key`, holding no secret.
    ///
    /// The secret key comes from --signing-key-file or the ACTTRACE_CHECKPOINT_KEY environment
    /// variable (64 hex digits), never from the command line. Exits 0 when written, 1 when the
    /// log does not verify, 2 on a usage, key, read or write error.
    Checkpoint(CheckpointArgs),

    /// Write a Merkle proof against a signed tree head (`checkpoint --note`): with --seq, that
    /// the entry is in the tree; with --from OLD_NOTE, that the tree extends the older one.
    ///
    /// The heads' roots are checked against the log first: a log that is not the signed tree
    /// is refused. Exits 0 when written, 1 when the log does not match a head, 2 on a usage or
    /// read error.
    Prove(ProveArgs),

    /// Check a proof from `prove` without the log: its signed tree heads with the verifier
    /// key, then the proof against their roots. Exits 0 when valid, 1 when not (saying why), 2
    /// on a usage or read error.
    CheckProof(CheckProofArgs),
}

#[derive(Debug, Args)]
struct KeygenArgs {
    /// Path prefix of the two files (NAME.key and NAME.pub).
    #[arg(
        long,
        short = 'o',
        value_name = "NAME",
        default_value = "acttrace-checkpoint"
    )]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// The audit log (.jsonl), or with --note a segmented log's directory (one tree across
    /// its segments).
    pub(crate) log: PathBuf,

    /// The Ed25519 secret key file written by `acttrace keygen`.
    #[arg(long, value_name = "FILE")]
    signing_key_file: Option<PathBuf>,

    /// Where to write the checkpoint (default: LOG.checkpoint).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// The origin to sign (default: the system the log's audit_open names).
    #[arg(long)]
    origin: Option<String>,

    /// Write a C2SP tlog-checkpoint in a signed note instead (origin, entry count and the
    /// RFC 9162 Merkle root of the entries; default output LOG.note), the format transparency
    /// logs and their witnesses exchange. The origin is also the key name; the verifier key
    /// line auditors need is printed.
    #[arg(long)]
    note: bool,

    /// With --note: also ask this RFC 3161 time-stamping authority (`http://...`) for a
    /// timestamp token over the note, written beside it as NOTE.tst.
    #[arg(long, value_name = "URL", requires = "note")]
    pub(crate) tsa: Option<String>,

    #[command(flatten)]
    key: KeyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Refuse a line longer than this many bytes, read no further, and say where it is (a file
    /// without line breaks must not be read into memory whole).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub(crate) max_line_bytes: usize,
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// HMAC signing key. Prefer --key-file or the ACTTRACE_KEY environment variable: a key on
    /// the command line is visible to other users of the machine.
    #[arg(long, value_name = "KEY", conflicts_with = "key_file")]
    key: Option<String>,

    /// Read the signing key from this file (one trailing line break is ignored).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The log or evidence pack (.jsonl), `-` to read it from standard input (`zcat
    /// audit.jsonl.gz | acttrace verify -`), or a PostgreSQL database URL (`postgres://...`,
    /// with the `postgres` feature) whose chain is read in one snapshot.
    path: PathBuf,

    /// A segment verified alone: the seal of the segment before it (`segment-N.jsonl.seal`),
    /// whose chain it continues. Needs --public-key. (A directory of segments is verified
    /// whole: pass the directory.)
    #[arg(long, value_name = "SEAL")]
    after: Option<PathBuf>,

    /// With a database URL: the chain to verify (default: the database's only chain).
    #[arg(long)]
    chain: Option<String>,

    #[command(flatten)]
    key: KeyArgs,

    /// The head hash the log must end on.
    #[arg(long, value_name = "HASH")]
    expect_head: Option<String>,

    /// The number of entries the log must hold.
    #[arg(long, value_name = "N")]
    expect_entries: Option<u64>,

    /// Print the verdict as one JSON object.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    limit: LimitArgs,

    /// Parse and hash on this many threads (1: the calling thread alone; default: the
    /// machine's cores, at most 8). The verdict is the same either way.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Check the log against a signed checkpoint with this Ed25519 public key file (from
    /// `acttrace keygen`), or the key in the ACTTRACE_PUBLIC_KEY environment variable (hex).
    /// For an evidence pack of a segmented log after retention, it also checks the seal the
    /// pack starts from (and a checkpoint only when one is named or lies beside the pack).
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,

    /// The checkpoint to check against (default: PATH.checkpoint). Implies a public key.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,

    /// Check the log against a signed tree head (`checkpoint --note`): its signature, then
    /// that the log's first SIZE entries have its Merkle root. Needs --verifier.
    #[arg(long, value_name = "FILE", requires = "verifier")]
    note: Option<PathBuf>,

    /// The verifier key line for --note (`name+keyid+base64`, as `checkpoint --note` prints
    /// it), or a file holding it.
    #[arg(long, value_name = "KEY", requires = "note")]
    verifier: Option<String>,

    #[command(flatten)]
    tsa: stamp::TsaCheckArgs,
}

/// Where the key comes from: the flag, the file, or `ACTTRACE_KEY`, in that order. An empty
/// key given by the flag or a file is refused: it is a mistake (an unfilled variable, a file
/// not yet written), and checked against, it would call every signature forged.
pub(crate) fn signing_key(args: &KeyArgs) -> Result<Option<SigningKey>, String> {
    if let Some(k) = &args.key {
        if k.is_empty() {
            return Err("--key is empty".to_owned());
        }
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
        if bytes.is_empty() {
            return Err(format!("key file {} is empty", path.display()));
        }
        return Ok(Some(SigningKey::new(bytes)));
    }
    match std::env::var_os("ACTTRACE_KEY") {
        Some(k) if !k.is_empty() => Ok(Some(SigningKey::new(k.into_encoded_bytes()))),
        _ => Ok(None),
    }
}

/// The signing key from `args`, or the usage exit code once the reason is printed.
pub(crate) fn key_or_usage(args: &KeyArgs) -> Result<Option<SigningKey>, ExitCode> {
    signing_key(args).map_err(|e| {
        complain!("{e}");
        ExitCode::from(2)
    })
}

/// Verification options with the key from `args`, if any.
pub(crate) fn verify_options(args: &KeyArgs) -> Result<VerifyOptions, ExitCode> {
    let mut opts = VerifyOptions::new();
    if let Some(k) = key_or_usage(args)? {
        opts = opts.key(k);
    }
    Ok(opts)
}

/// A file mode given in octal (`600`, `0640`).
pub(crate) fn octal_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?} is not a file mode in octal, such as 600 or 640"))
}

/// Whether two paths name one file (the same inode, or the same path once resolved).
pub(crate) fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => false,
    }
}

/// Where an output made from `input` goes: `output`, or `input` with `suffix`; refused (a
/// complaint, exit code 2) when it names `input` itself, whatever the spelling.
pub(crate) fn output_for(
    input: &std::path::Path,
    output: Option<&PathBuf>,
    suffix: &str,
    what: &str,
) -> Result<PathBuf, ExitCode> {
    let out = output
        .cloned()
        .unwrap_or_else(|| with_suffix(input, suffix));
    if same_file(input, &out) {
        complain!(
            "refusing to write the {what} {} over its own log {}",
            out.display(),
            input.display()
        );
        return Err(ExitCode::from(2));
    }
    Ok(out)
}

/// Whether a `verify` path is a database URL.
pub(crate) fn is_database(path: &std::path::Path) -> bool {
    let p = path.to_string_lossy();
    p.starts_with("postgres://") || p.starts_with("postgresql://")
}

/// Refuses `--chain` with a log that is not a database: it would name nothing, and be
/// passed over.
pub(crate) fn chain_only_for_a_database(
    path: &std::path::Path,
    chain: Option<&str>,
) -> Result<(), ExitCode> {
    if chain.is_some() && !is_database(path) {
        complain!(
            "--chain names a chain in a PostgreSQL database; {} is not one",
            path.display()
        );
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// Refuses a database URL where a command reads files only, saying how to get the chain out.
pub(crate) fn a_file_not_a_database(path: &std::path::Path) -> Result<(), ExitCode> {
    if is_database(path) {
        complain!(
            "{} is a database: pull its chain to a file first (acttrace pull URL --chain NAME -o \
             FILE), and give the file",
            shown(path)
        );
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// How a log is named in what the CLI prints: a file as its path, a database as where it is,
/// without the URL's password or TLS parameters (`postgres://auditor@db:5432/audit`).
pub(crate) fn shown(path: &std::path::Path) -> String {
    if !is_database(path) {
        return path.display().to_string();
    }
    #[cfg(feature = "postgres")]
    let shown = acttrace::store::postgres::describe(&path.to_string_lossy(), "")
        .display()
        .to_string()
        .trim_end_matches('#')
        .to_owned();
    #[cfg(not(feature = "postgres"))]
    let shown = "a PostgreSQL database".to_owned();
    shown
}

/// `path` with `suffix` appended to its file name (`audit.jsonl` -> `audit.jsonl.checkpoint`).
pub(crate) fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    // A directory named with a trailing `/` gets its file beside it, not in it.
    let mut p = path.components().as_path().as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

fn verify(args: &VerifyArgs) -> ExitCode {
    if let Err(code) = chain_only_for_a_database(&args.path, args.chain.as_deref()) {
        return code;
    }
    let mut opts = match verify_options(&args.key) {
        Ok(o) => o,
        Err(code) => return code,
    };
    opts = opts.max_line_bytes(args.limit.max_line_bytes);
    if let Some(h) = &args.expect_head {
        opts = opts.expected_head(h.clone());
    }
    if let Some(n) = args.expect_entries {
        opts = opts.expected_entries(n);
    }
    if let Some(n) = args.threads {
        opts = opts.threads(n);
    }
    if segments::is_segment_dir(&args.path) {
        return segments::verify_dir(args, &opts);
    }
    match segments::after_seal(args) {
        Ok(Some((entries, head))) => opts = opts.after(entries, head),
        Ok(None) => {}
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    }
    match segments::checkpoint_claim(args) {
        Ok(Some((cp, key))) => opts = opts.checkpoint(&cp, &key),
        Ok(None) => {}
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    }
    match segments::sealed_start(args) {
        Ok(Some(key)) => opts = opts.seal_key(&key),
        Ok(None) => {}
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    }
    let report = if is_database(&args.path) {
        #[cfg(feature = "postgres")]
        let read =
            pull::verify_database(&args.path.to_string_lossy(), args.chain.as_deref(), &opts);
        #[cfg(not(feature = "postgres"))]
        let read: Result<acttrace::verify::Report, String> =
            Err("this acttrace is built without the postgres feature".to_owned());
        if args.note.is_some() {
            complain!("--note checks a file: pull the chain first (acttrace pull)");
            return ExitCode::from(2);
        }
        match read {
            Ok(report) => report,
            Err(e) => {
                complain!("{e}");
                return ExitCode::from(2);
            }
        }
    } else if args.path.as_os_str() == "-" {
        if args.note.is_some() {
            complain!("--note reads the log a second time: give it as a file, not `-`");
            return ExitCode::from(2);
        }
        let stdin = std::io::stdin();
        if std::io::IsTerminal::is_terminal(&stdin) {
            // Not a wait on a terminal that says nothing.
            complain!("`-` reads the log from standard input, which is a terminal: pipe it in");
            return ExitCode::from(2);
        }
        verify_reader(stdin.lock(), "-", &opts)
    } else {
        verify_path(&args.path, &opts)
    };
    let tree_head = match proofs::tree_head_verdict(args, report.is_ok()) {
        Ok(verdict) => verdict,
        Err(code) => return code,
    };
    if args.json {
        let out = serde_json::json!({
            "ok": report.is_ok(),
            "class": report.class(),
            "detail": report.detail(),
            "entries": report.entries(),
            "head": report.head(),
            "signatures_unchecked": report.signatures_unchecked(),
            "path": shown(&args.path),
            "tree_head": tree_head.as_ref().map(|t| serde_json::json!({
                "ok": t.is_ok(),
                "detail": match t { Ok(s) | Err(s) => s },
            })),
        });
        say_json!(out);
    } else {
        say!("{report}");
        match &tree_head {
            Some(Ok(s)) => say!("{s}"),
            Some(Err(s)) => say!("{s}"),
            None => {}
        }
        if report.signatures_unchecked() {
            complain!(
                "note: {} is signed, and its signatures were not checked: pass --key, --key-file \
                 or ACTTRACE_KEY to check who wrote it",
                shown(&args.path)
            );
        }
    }
    match (report.failure(), tree_head) {
        (Some(Failure::Unreadable { .. }), _) => ExitCode::from(2),
        (Some(_), _) | (None, Some(Err(_))) => ExitCode::from(1),
        (None, _) => ExitCode::SUCCESS,
    }
}

fn keygen(args: &KeygenArgs) -> ExitCode {
    let written = CheckpointKey::generate().and_then(|key| {
        let paths = key.save_pair(&args.out)?;
        Ok((key, paths))
    });
    match written {
        Ok((key, (secret, public))) => {
            say!(
                "wrote {} (secret: keep it with the service) and {} (public: give it to \
                 auditors), key id {}",
                secret.display(),
                public.display(),
                key.public().key_id()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            complain!("{e}");
            ExitCode::from(2)
        }
    }
}

fn checkpoint(args: &CheckpointArgs) -> ExitCode {
    if let Err(code) = a_file_not_a_database(&args.log) {
        return code;
    }
    let secret = match (
        &args.signing_key_file,
        std::env::var("ACTTRACE_CHECKPOINT_KEY"),
    ) {
        (Some(path), _) => CheckpointKey::read(path).map_err(|e| e.to_string()),
        (None, Ok(hex)) if !hex.is_empty() => {
            CheckpointKey::from_hex(&hex).map_err(|e| format!("ACTTRACE_CHECKPOINT_KEY: {e}"))
        }
        _ => {
            Err("no signing key: pass --signing-key-file or set ACTTRACE_CHECKPOINT_KEY".to_owned())
        }
    };
    let secret = match secret {
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
    if segments::is_segment_dir(&args.log) {
        return segments::checkpoint_dir(args, &secret, &opts);
    }
    let report = verify_path(&args.log, &opts);
    if !report.is_ok() {
        complain!("refusing to sign a log that does not verify: {report}");
        return match report.failure() {
            Some(Failure::Unreadable { .. }) => ExitCode::from(2),
            _ => ExitCode::from(1),
        };
    }
    let origin = match &args.origin {
        Some(o) => o.clone(),
        None => match Summary::read(&args.log) {
            Ok(s) => s.system.unwrap_or_default(),
            Err(e) => {
                complain!("{e}");
                return ExitCode::from(2);
            }
        },
    };
    if args.note {
        return checkpoint_note(args, &secret, &origin);
    }
    if origin.is_empty() {
        complain!(
            "{} names no system (no audit_open): say whose log it is with --origin",
            args.log.display()
        );
        return ExitCode::from(2);
    }
    let cp = secret.sign(&origin, report.entries(), report.head());
    let out = match output_for(&args.log, args.output.as_ref(), ".checkpoint", "checkpoint") {
        Ok(out) => out,
        Err(code) => return code,
    };
    if let Err(e) = cp.save(&out) {
        complain!("{e}");
        return ExitCode::from(2);
    }
    say!(
        "wrote {}: {origin}, {} entries, head {}, key id {}",
        out.display(),
        cp.entries,
        cp.head,
        cp.key_id
    );
    ExitCode::SUCCESS
}

/// Verifies and reads a log for `show` and `stats`.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Verify(args) => verify(args),
        Command::Export(args) => export::export(args),
        #[cfg(feature = "postgres")]
        Command::Pull { args, key } => match verify_options(key) {
            Ok(opts) => pull::pull_chain(args, &opts),
            Err(code) => code,
        },
        Command::Show(args) => view::show(args),
        Command::Stats(args) => view::stats(args),
        Command::Report(args) => report::report(args),
        Command::Retain(args) => segments::retain(args),
        Command::Keygen(args) => keygen(args),
        Command::Checkpoint(args) => checkpoint(args),
        Command::Prove(args) => prove(args),
        Command::CheckProof(args) => check_proof(args),
    }
}

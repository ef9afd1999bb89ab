//! Signed tree heads and Merkle proofs: `checkpoint --note`, `verify --note`, `prove` and
//! `check-proof`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use acttrace::chain::checkpoint::CheckpointKey;
use acttrace::evidence::note::{NoteVerifier, TreeHead, save_note};
use acttrace::evidence::proof::{ConsistencyProof, InclusionProof, ProofFile, Tree, find_entry};
use acttrace::evidence::summary::printable;
use clap::Args;

use crate::{CheckpointArgs, same_file, with_suffix};

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The audit log (.jsonl), or a segmented log's directory.
    log: PathBuf,

    /// The signed tree head to prove against (default: LOG.note).
    #[arg(long, value_name = "FILE")]
    note: Option<PathBuf>,

    /// Prove that the entry with this seq is in the tree.
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "from",
        required_unless_present = "from"
    )]
    seq: Option<u64>,

    /// Prove that the tree extends the one this older signed tree head names.
    #[arg(long, value_name = "OLD_NOTE")]
    from: Option<PathBuf>,

    /// Where to write the proof (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckProofArgs {
    /// The proof (from `acttrace prove`).
    proof: PathBuf,

    /// The signed tree head the proof is against.
    #[arg(long, value_name = "FILE")]
    note: PathBuf,

    /// For a consistency proof: the older signed tree head.
    #[arg(long, value_name = "OLD_NOTE")]
    from: Option<PathBuf>,

    /// The verifier key line (`name+keyid+base64`), or a file holding it.
    #[arg(long, value_name = "KEY")]
    verifier: String,

    /// For an inclusion proof: the entry hash the auditor holds; the proof must be for it.
    #[arg(long, value_name = "HASH")]
    entry_hash: Option<String>,

    #[command(flatten)]
    tsa: crate::stamp::TsaCheckArgs,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub(crate) fn read_verifier(arg: &str) -> Result<NoteVerifier, String> {
    let line = if arg.contains('+') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg)
            .map_err(|e| format!("cannot read verifier key file {arg}: {e}"))?
    };
    NoteVerifier::parse(line.trim()).map_err(|e| e.to_string())
}

/// The leaf index and hash of the entry with `seq` (`_meta` headers are not leaves).
fn entry_with_seq(log: &Path, seq: u64) -> Result<(u64, String), String> {
    find_entry(log, seq)
        .map_err(|e| format!("{}: {e}", log.display()))?
        .ok_or_else(|| {
            // A segmented log's entries before its first kept segment are not lost: deleted.
            let kept_from = acttrace::verify::segments::RetentionRecord::of_dir(log)
                .ok()
                .flatten()
                .map(|r| r.checkpoint.entries);
            match kept_from {
                Some(first) if seq < first => format!(
                    "entry {seq} of {} was deleted under retention: the kept segments start \
                     at entry {first}",
                    log.display()
                ),
                _ => format!("{} has no entry with seq {seq}", log.display()),
            }
        })
}

/// Reads a tree head the log must be: `Err((code, why))` otherwise.
fn head_of_log(tree: &Tree, note: &Path) -> Result<TreeHead, (u8, String)> {
    let head = read(note)
        .and_then(|t| TreeHead::parse_note(&t).map_err(|e| format!("{}: {e}", note.display())))
        .map_err(|e| (2, e))?;
    if !head.is_head_of(tree) {
        return Err((
            1,
            format!(
                "the log is not the tree {} signs ({} entries): refusing to prove against it",
                note.display(),
                head.size
            ),
        ));
    }
    Ok(head)
}

pub(crate) fn prove(args: &ProveArgs) -> ExitCode {
    if let Err(code) = crate::a_file_not_a_database(&args.log) {
        return code;
    }
    match make_proof(args) {
        Ok((proof, said)) => {
            let line = proof.to_json();
            let written = match &args.output {
                Some(out) if same_file(&args.log, out) => Err(format!(
                    "refusing to write the proof over its own log {}",
                    out.display()
                )),
                Some(out) => save_note(out, &format!("{line}\n"))
                    .map_err(|e| format!("{}: {e}", out.display())),
                None => {
                    say_json!(line);
                    Ok(())
                }
            };
            match written {
                Ok(()) => {
                    complain!("{said}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    complain!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        Err((code, e)) => {
            complain!("{e}");
            ExitCode::from(code)
        }
    }
}

fn make_proof(args: &ProveArgs) -> Result<(ProofFile, String), (u8, String)> {
    let note = args
        .note
        .clone()
        .unwrap_or_else(|| with_suffix(&args.log, ".note"));
    let tree = Tree::from_log(&args.log).map_err(|e| (2, e.to_string()))?;
    let head = head_of_log(&tree, &note)?;
    if let Some(seq) = args.seq {
        let (index, hash) = entry_with_seq(&args.log, seq).map_err(|e| (2, e))?;
        if index >= head.size {
            return Err((
                1,
                format!(
                    "entry {seq} came after the signed tree of {} entries",
                    head.size
                ),
            ));
        }
        let proof = InclusionProof::new(&tree, seq, index, head.size, &hash)
            .map_err(|e| (1, e.to_string()))?;
        let said = format!(
            "entry {seq} is leaf {index} of the signed tree of {}",
            head.size
        );
        return Ok((ProofFile::Inclusion(proof), said));
    }
    let Some(from) = &args.from else {
        return Err((2, "pass --seq N or --from OLD_NOTE".to_owned()));
    };
    let old = head_of_log(&tree, from)?;
    let proof =
        ConsistencyProof::new(&tree, old.size, head.size).map_err(|e| (1, e.to_string()))?;
    let said = format!("the tree of {} extends the tree of {}", head.size, old.size);
    Ok((ProofFile::Consistency(proof), said))
}

pub(crate) fn check_proof(args: &CheckProofArgs) -> ExitCode {
    let verdict = checked(args).and_then(|v| {
        Ok(crate::stamp::join(
            v,
            crate::stamp::check(&args.note, &args.tsa)?,
        ))
    });
    match verdict {
        Ok(Ok(line)) => {
            say!("{line}");
            ExitCode::SUCCESS
        }
        Ok(Err(line)) => {
            say!("{line}");
            ExitCode::from(1)
        }
        Err(e) => {
            complain!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(Ok(verdict))` for a valid proof, `Ok(Err(why))` for one that is not, `Err` for usage
/// and read errors.
fn checked(args: &CheckProofArgs) -> Result<Result<String, String>, String> {
    let verifier = read_verifier(&args.verifier)?;
    let proof = ProofFile::parse(&read(&args.proof)?).map_err(|e| e.to_string())?;
    let open = |path: &Path| -> Result<Result<TreeHead, String>, String> {
        let text = read(path)?;
        Ok(TreeHead::open(&text, &verifier)
            .map_err(|e| format!("invalid: {}: {e}", path.display())))
    };
    let head = match open(&args.note)? {
        Ok(h) => h,
        Err(why) => return Ok(Err(why)),
    };
    match &proof {
        ProofFile::Inclusion(p) => {
            if let Some(h) = &args.entry_hash
                && !h.eq_ignore_ascii_case(&p.entry_hash)
            {
                return Ok(Err(format!(
                    "invalid: the proof is for entry hash {}, not {h}",
                    p.entry_hash
                )));
            }
            Ok(match p.verify(head.size, &head.root) {
                Ok(()) => Ok(format!(
                    "valid: entry {} (hash {}) is in {}'s signed tree of {} entries",
                    p.seq, p.entry_hash, head.origin, head.size
                )),
                Err(e) => Err(format!("invalid: {e}")),
            })
        }
        ProofFile::Consistency(p) => {
            let Some(from) = &args.from else {
                return Err("a consistency proof needs --from OLD_NOTE".to_owned());
            };
            let old = match open(from)? {
                Ok(h) => h,
                Err(why) => return Ok(Err(why)),
            };
            if old.origin != head.origin {
                return Ok(Err(format!(
                    "invalid: the tree heads are of two logs ({} and {})",
                    old.origin, head.origin
                )));
            }
            Ok(
                match p.verify((old.size, &old.root), (head.size, &head.root)) {
                    Ok(()) => Ok(format!(
                        "valid: {}'s tree of {} entries extends its tree of {}",
                        head.origin, head.size, old.size
                    )),
                    Err(e) => Err(format!("invalid: {e}")),
                },
            )
        }
    }
}

/// `verify --note`: on a log that verified, whether it is (or extends) the signed tree head,
/// and whether the head's timestamp holds; `None` without a note. Its verdict is a line of its
/// own.
pub(crate) fn tree_head_verdict(
    args: &crate::VerifyArgs,
    verified: bool,
) -> Result<Option<Result<String, String>>, ExitCode> {
    let (Some(note), Some(verifier), true) = (&args.note, &args.verifier, verified) else {
        return Ok(None);
    };
    check_tree_head(&args.path, note, verifier)
        .and_then(|v| Ok(crate::stamp::join(v, crate::stamp::check(note, &args.tsa)?)))
        .map(Some)
        .map_err(|e| {
            complain!("{e}");
            ExitCode::from(2)
        })
}

/// Checks a verified log against a signed tree head: `Ok(Ok(line))` when the log is (or
/// extends) the signed tree, `Ok(Err(line))` when it is not or the signature fails, `Err` for
/// files that cannot be read and malformed verifier keys.
fn check_tree_head(
    log: &Path,
    note: &Path,
    verifier: &str,
) -> Result<Result<String, String>, String> {
    let verifier = read_verifier(verifier)?;
    let text = read(note)?;
    let head = match TreeHead::open(&text, &verifier) {
        Ok(head) => head,
        Err(e) => return Ok(Err(format!("forged tree head: {e}"))),
    };
    let tree = Tree::from_log(log).map_err(|e| e.to_string())?;
    Ok(if head.is_head_of(&tree) {
        Ok(format!(
            "tree head verified: the signed tree of {} entries by {} is this log's first {}",
            head.size,
            verifier.name(),
            head.size
        ))
    } else if tree.size() < head.size {
        Err(format!(
            "tree head mismatch: signed for {} entries, the log holds {} (its tail was cut)",
            head.size,
            tree.size()
        ))
    } else {
        Err(format!(
            "tree head mismatch: the log's first {} entries do not have the signed root (the \
             log was rewritten)",
            head.size
        ))
    })
}

/// `checkpoint --note`: the log's Merkle tree head as a C2SP signed note.
pub(crate) fn checkpoint_note(
    args: &CheckpointArgs,
    secret: &CheckpointKey,
    origin: &str,
) -> ExitCode {
    let signed = Tree::from_log(&args.log)
        .map_err(|e| e.to_string())
        .and_then(|tree| {
            let head = TreeHead::of(&tree, origin).map_err(|e| e.to_string())?;
            let note = head.sign(origin, secret).map_err(|e| e.to_string())?;
            let verifier =
                NoteVerifier::new(origin, &secret.public()).map_err(|e| e.to_string())?;
            Ok((head, note, verifier))
        });
    let (head, note, verifier) = match signed {
        Ok(s) => s,
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    };
    let out = match crate::output_for(&args.log, args.output.as_ref(), ".note", "tree head") {
        Ok(out) => out,
        Err(code) => return code,
    };
    if let Err(e) = save_note(&out, &note) {
        complain!("{}: {e}", out.display());
        return ExitCode::from(2);
    }
    say!(
        "wrote {}: {}, {} entries; verifier key {verifier}",
        out.display(),
        origin,
        head.size
    );
    if let Some(url) = &args.tsa {
        match crate::stamp::stamp(&out, url) {
            Ok(said) => say!("{said}"),
            Err(e) => {
                complain!("the tree head is written, but not timestamped: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

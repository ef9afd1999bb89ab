//! A chain in PostgreSQL (feature `postgres`): `pull` writes it to a file; `verify` reads it
//! straight from the database.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::evidence::summary::printable;
use acttrace::store::postgres::{ChainReader, pull};
use acttrace::verify::{Report, VerifyOptions, verify_path, verify_reader};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// The database (`postgres://user@host:port/db`).
    url: String,

    /// The chain to pull (default: the database's only chain).
    #[arg(long)]
    chain: Option<String>,

    /// Pull entries up to this seq (inclusive) only: a prefix of the chain.
    #[arg(long, value_name = "SEQ")]
    upto: Option<u64>,

    /// Where to write the chain (a JSONL log).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
}

/// The chain named, or the database's only one.
pub(crate) fn chain_of(url: &str, chain: Option<&str>) -> Result<String, String> {
    if let Some(c) = chain {
        return Ok(c.to_owned());
    }
    let chains = ChainReader::chains(url).map_err(|e| e.to_string())?;
    match chains.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err("the database holds no chain".to_owned()),
        many => Err(format!(
            "the database holds {} chains: pass --chain (one of: {})",
            many.len(),
            printable(&many.join(", "))
        )),
    }
}

/// Verifies a chain as it stands in the database, streamed in one snapshot.
pub(crate) fn verify_database(
    url: &str,
    chain: Option<&str>,
    opts: &VerifyOptions,
) -> Result<Report, String> {
    let chain = chain_of(url, chain)?;
    let reader = ChainReader::open(url, &chain, None).map_err(|e| e.to_string())?;
    Ok(verify_reader(BufReader::new(reader), &chain, opts))
}

pub(crate) fn pull_chain(args: &PullArgs, opts: &VerifyOptions) -> ExitCode {
    let chain = match chain_of(&args.url, args.chain.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    };
    match pull(&args.url, &chain, args.upto, &args.output) {
        Ok(n) => {
            let report = verify_path(&args.output, opts);
            say!(
                "wrote {}: chain {}, {n} entries; {report}",
                args.output.display(),
                printable(&chain)
            );
            if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            complain!("{e}");
            ExitCode::from(2)
        }
    }
}

/// Pulls `chain` (or the database's only one) in one snapshot to a private temporary file,
/// gives `f` the file and where the chain is (the URL without its password, and the chain),
/// then removes the file: for `report` and `export` of a database chain.
pub(crate) fn with_pulled<T>(
    url: &str,
    chain: Option<&str>,
    f: impl FnOnce(&std::path::Path, String) -> T,
) -> Result<T, String> {
    use std::os::unix::fs::DirBuilderExt as _;

    let chain = chain_of(url, chain)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("acttrace-pull-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let pulled = dir.join("chain.jsonl");
    let done = pull(url, &chain, None, &pulled)
        .map_err(|e| e.to_string())
        .map(|_| {
            let source = acttrace::store::postgres::describe(url, &chain);
            f(&pulled, source.display().to_string())
        });
    let _ = std::fs::remove_dir_all(&dir);
    done
}

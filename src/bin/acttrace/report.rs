//! `report`: the auditor's HTML report of a log or an evidence pack.

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::chain::checkpoint::{Checkpoint, PublicKey};
use acttrace::evidence::report::{ReportOptions, write_report};
use acttrace::evidence::summary::printable;
use clap::Args;

use crate::{KeyArgs, signing_key};

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The log or evidence pack (.jsonl), a segmented log's directory, or a PostgreSQL
    /// database URL (`postgres://...`, with the `postgres` feature) whose chain is reported as
    /// it stands, in one snapshot.
    path: PathBuf,

    /// With a database URL: the chain to report (default: the database's only chain).
    #[arg(long)]
    chain: Option<String>,

    /// Where to write the report (default: PATH.html).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// A signed tree head (`checkpoint --note`) the report checks the log against. Needs
    /// --verifier.
    #[arg(long, value_name = "FILE", requires = "verifier")]
    note: Option<PathBuf>,

    /// The verifier key line for --note, or a file holding it.
    #[arg(long, value_name = "KEY", requires = "note")]
    verifier: Option<String>,

    /// A signed checkpoint (`acttrace checkpoint`) the report checks the log against. Needs
    /// --public-key.
    #[arg(long, value_name = "FILE", requires = "public_key")]
    checkpoint: Option<PathBuf>,

    /// The public key for --checkpoint; for a segmented log, the key its seals are checked
    /// with.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,

    #[command(flatten)]
    period: crate::view::PeriodArgs,

    #[command(flatten)]
    key: KeyArgs,
}

pub(crate) fn report(args: &ReportArgs) -> ExitCode {
    if let Err(code) = crate::chain_only_for_a_database(&args.path, args.chain.as_deref()) {
        return code;
    }
    let opts = (|| -> Result<ReportOptions, String> {
        let mut o = ReportOptions::new().period(args.period.period()?);
        if let Some(key) = signing_key(&args.key)? {
            o = o.key(key);
        }
        match (&args.checkpoint, &args.public_key) {
            (Some(cp), Some(key)) => {
                o = o.checkpoint(
                    Checkpoint::read(cp).map_err(|e| e.to_string())?,
                    PublicKey::read(key).map_err(|e| e.to_string())?,
                );
            }
            (None, Some(key)) if args.path.is_dir() => {
                o = o.seal_key(PublicKey::read(key).map_err(|e| e.to_string())?);
            }
            (None, Some(_)) => {
                return Err(
                    "--public-key needs --checkpoint (or PATH a segmented log's \
                            directory, whose seals it checks)"
                        .to_owned(),
                );
            }
            _ => {}
        }
        if let (Some(note), Some(verifier)) = (&args.note, &args.verifier) {
            let text = std::fs::read_to_string(note)
                .map_err(|e| format!("cannot read {}: {e}", note.display()))?;
            o = o.tree_head(text, crate::proofs::read_verifier(verifier)?);
        }
        Ok(o)
    })();
    let opts = match opts {
        Ok(o) => o,
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    };
    let written = if crate::is_database(&args.path) {
        #[cfg(feature = "postgres")]
        let written = database(args, opts);
        #[cfg(not(feature = "postgres"))]
        let written = Err("this acttrace is built without the postgres feature".to_owned());
        written
    } else {
        let out = match crate::output_for(&args.path, args.output.as_ref(), ".html", "report") {
            Ok(out) => out,
            Err(code) => return code,
        };
        write_report(&args.path, &out, &opts)
            .map(|()| out)
            .map_err(|e| e.to_string())
    };
    match written {
        Ok(out) => {
            say!("wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            complain!("{e}");
            ExitCode::from(2)
        }
    }
}

/// The report of a database chain, pulled in one snapshot and named as the chain; where it
/// was written.
#[cfg(feature = "postgres")]
fn database(args: &ReportArgs, opts: ReportOptions) -> Result<PathBuf, String> {
    let out = args
        .output
        .clone()
        .ok_or("the report of a database chain needs --output FILE")?;
    let url = args.path.to_string_lossy();
    crate::pull::with_pulled(&url, args.chain.as_deref(), |pulled, source| {
        write_report(pulled, &out, &opts.source(source)).map_err(|e| e.to_string())
    })??;
    Ok(out)
}

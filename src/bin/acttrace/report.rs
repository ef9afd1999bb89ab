//! `report`: the auditor's HTML report of a log or an evidence pack.

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::evidence::report::{ReportOptions, write_report};
use acttrace::evidence::summary::printable;
use clap::Args;

use crate::{KeyArgs, same_file, signing_key, with_suffix};

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The log or evidence pack (.jsonl).
    path: PathBuf,

    /// Where to write the report (default: PATH.html).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    key: KeyArgs,
}

pub(crate) fn report(args: &ReportArgs) -> ExitCode {
    let mut opts = ReportOptions::new();
    match signing_key(&args.key) {
        Ok(Some(key)) => opts = opts.key(key),
        Ok(None) => {}
        Err(e) => {
            complain!("{e}");
            return ExitCode::from(2);
        }
    }
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| with_suffix(&args.path, ".html"));
    if same_file(&args.path, &out) {
        complain!(
            "refusing to write the report {} over its own log {}",
            out.display(),
            args.path.display()
        );
        return ExitCode::from(2);
    }
    match write_report(&args.path, &out, &opts) {
        Ok(()) => {
            say!("wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            complain!("{e}");
            ExitCode::from(2)
        }
    }
}

//! `export`: an evidence pack of a log, a segmented log's directory or a database chain.

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::chain::Framework;
use acttrace::evidence::summary::printable;
use acttrace::evidence::{ExportError, ExportOptions, export_log};
use clap::Args;

use crate::{KeyArgs, is_database, key_or_usage, octal_mode};

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The audit log (.jsonl), a segmented log's directory (packed as one chain), or a
    /// PostgreSQL database URL (with the `postgres` feature) whose chain is packed as it
    /// stands, in one snapshot.
    log: PathBuf,

    /// With a database URL: the chain to pack (default: the database's only chain).
    #[arg(long)]
    chain: Option<String>,

    /// Map entries to this framework's controls: eu_ai_act, gdpr, iso_42001 or nist_rmf.
    #[arg(long, short = 'f', value_name = "FRAMEWORK")]
    framework: Option<Framework>,

    /// Where to write the pack.
    #[arg(long, short = 'o', value_name = "PACK")]
    output: PathBuf,

    /// The header's system (by default, the one the log's audit_open names).
    #[arg(long)]
    system: Option<String>,

    /// The header's risk tier (by default, the one the log's audit_open names).
    #[arg(long)]
    risk_tier: Option<String>,

    /// The pack's permissions, in octal (default 600: its owner alone reads it).
    #[arg(long, value_name = "OCTAL", value_parser = octal_mode)]
    file_mode: Option<u32>,

    #[command(flatten)]
    key: KeyArgs,
}

pub(crate) fn export(args: &ExportArgs) -> ExitCode {
    if let Err(code) = crate::chain_only_for_a_database(&args.log, args.chain.as_deref()) {
        return code;
    }
    let mut opts = ExportOptions::new().framework(args.framework);
    match key_or_usage(&args.key) {
        Ok(Some(k)) => opts = opts.key(k),
        Ok(None) => {}
        Err(code) => return code,
    }
    if let Some(s) = &args.system {
        opts = opts.system(s.clone());
    }
    if let Some(t) = &args.risk_tier {
        opts = opts.risk_tier(t.clone());
    }
    if let Some(mode) = args.file_mode {
        opts = opts.file_mode(mode);
    }
    let exported = if is_database(&args.log) {
        #[cfg(feature = "postgres")]
        let pulled = crate::pull::with_pulled(
            &args.log.to_string_lossy(),
            args.chain.as_deref(),
            |log, _| export_log(log, &args.output, &opts),
        );
        #[cfg(not(feature = "postgres"))]
        let pulled: Result<_, String> =
            Err("this acttrace is built without the postgres feature".to_owned());
        match pulled {
            Ok(exported) => exported,
            Err(e) => {
                complain!("{e}");
                return ExitCode::from(2);
            }
        }
    } else {
        export_log(&args.log, &args.output, &opts)
    };
    match exported {
        Ok(report) => {
            let retained = match report.starts_after {
                0 => String::new(),
                n => format!(
                    " (from seq {n}: the {n} before were deleted under retention; the pack \
                     verifies here, not in the Python reference)"
                ),
            };
            say!(
                "wrote {}: {} entries, head {}, {} controls covered{}{retained}",
                args.output.display(),
                report.entries,
                report.head,
                report.controls_covered.len(),
                if report.signed { ", header signed" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            complain!("{e}");
            match e {
                ExportError::DoesNotVerify { .. } => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    }
}

//! `show` and `stats`: a reader's view of a log, whole or for a period (`--since`,
//! `--until`), after its verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use acttrace::evidence::summary::printable;
use acttrace::evidence::{Period, Summary};
use acttrace::verify::segments::{SegmentsReport, verify_segments};
use acttrace::verify::{Failure, Report, verify_path};
use clap::Args;

use crate::{KeyArgs, LimitArgs, verify_options};

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// The log or evidence pack (.jsonl), a segmented log's directory, or a PostgreSQL URL
    /// (postgres://...).
    path: PathBuf,

    /// With a database URL: the chain (default: the database's only chain).
    #[arg(long)]
    chain: Option<String>,

    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    limit: LimitArgs,

    #[command(flatten)]
    period: PeriodArgs,

    #[command(flatten)]
    key: KeyArgs,
}

/// The span of time `show`, `stats` and `report` cover.
#[derive(Debug, Args)]
pub(crate) struct PeriodArgs {
    /// Cover only the entries at or after this time: the decisions opened, the calls, flags
    /// and reviews made from then on (RFC 3339, or a date for its midnight UTC:
    /// `2026-07-01`). The verdict still covers the whole log.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,

    /// Cover only the entries before this time (as --since reads it).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

impl PeriodArgs {
    /// The period asked for (the whole log without --since and --until).
    pub(crate) fn period(&self) -> Result<Period, String> {
        let mut period = Period::all();
        if let Some(since) = &self.since {
            period = period.since(since).map_err(|e| format!("--since: {e}"))?;
        }
        if let Some(until) = &self.until {
            period = period.until(until).map_err(|e| format!("--until: {e}"))?;
        }
        Ok(period)
    }
}

/// The verdict `show` and `stats` print first: a file's, or a segment directory's as one
/// chain (its seals are for `verify DIR --public-key`).
enum Verdict {
    File(Report),
    Dir(SegmentsReport),
}

impl Verdict {
    fn is_ok(&self) -> bool {
        match self {
            Self::File(r) => r.is_ok(),
            Self::Dir(r) => r.is_ok(),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::File(r) => r.detail(),
            Self::Dir(r) => r.to_string(),
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(r) => r.fmt(f),
            Self::Dir(r) => r.fmt(f),
        }
    }
}

fn view(args: &ViewArgs) -> Result<(Verdict, Summary, Period), ExitCode> {
    crate::chain_only_for_a_database(&args.path, args.chain.as_deref())?;
    let period = args.period.period().map_err(|e| {
        complain!("{e}");
        ExitCode::from(2)
    })?;
    let opts = verify_options(&args.key)?.max_line_bytes(args.limit.max_line_bytes);
    let max_line = args.limit.max_line_bytes;
    if args.path.as_os_str() == "-" {
        complain!(
            "`-`: show and stats read a file (the log twice: its verdict, then its tables); \
             write the log to a file first (zcat audit.jsonl.gz > audit.jsonl)"
        );
        return Err(ExitCode::from(2));
    }
    if !crate::is_database(&args.path) {
        let (verdict, summary) = read(
            &args.path,
            &crate::shown(&args.path),
            &opts,
            max_line,
            &period,
        )?;
        return Ok((verdict, summary, period));
    }
    // A database chain, pulled in one snapshot.
    #[cfg(feature = "postgres")]
    let pulled = crate::pull::with_pulled(
        &args.path.to_string_lossy(),
        args.chain.as_deref(),
        |file, source| read(file, &source, &opts, max_line, &period),
    );
    #[cfg(not(feature = "postgres"))]
    let pulled: Result<Result<(Verdict, Summary), ExitCode>, String> =
        Err("this acttrace is built without the postgres feature".to_owned());
    match pulled {
        Ok(read) => read.map(|(verdict, summary)| (verdict, summary, period)),
        Err(e) => {
            complain!("{e}");
            Err(ExitCode::from(2))
        }
    }
}

/// The verdict on the log at `path` (named `shown`), and what it holds in `period`.
fn read(
    path: &std::path::Path,
    shown: &str,
    opts: &acttrace::verify::VerifyOptions,
    max_line: usize,
    period: &Period,
) -> Result<(Verdict, Summary), ExitCode> {
    let report = if crate::segments::is_segment_dir(path) {
        let report = verify_segments(path, opts, None);
        if report.unreadable {
            complain!("{report}");
            return Err(ExitCode::from(2));
        }
        Verdict::Dir(report)
    } else {
        let report = verify_path(path, opts);
        if let Some(Failure::Unreadable { .. }) = report.failure() {
            complain!("{report}");
            return Err(ExitCode::from(2));
        }
        Verdict::File(report)
    };
    match Summary::read_period(path, max_line, period) {
        Ok(summary) => Ok((report, summary)),
        Err(e) => {
            complain!("cannot read {shown}: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// What a period left out, for `--json` (`null` for the whole log).
fn period_json(summary: &Summary, period: &Period) -> serde_json::Value {
    if period.is_all() {
        return serde_json::Value::Null;
    }
    let earlier = &summary.earlier_decisions;
    serde_json::json!({
        "covers": period.to_string(),
        "entries_outside": summary.outside_period,
        "entries_untimed": summary.untimed,
        "calls_of_earlier_decisions": earlier.calls,
        "cost_of_earlier_decisions": (!earlier.cost.is_empty()).then(|| earlier.cost.to_string()),
    })
}

/// What a period left out, as a line after the tables (none for the whole log).
fn say_period(summary: &Summary, period: &Period) {
    if period.is_all() {
        return;
    }
    say!(
        "period: {period}: {} entries in it, {} outside it (the verdict covers them all)",
        summary.entries,
        summary.outside_period
    );
    if summary.untimed > 0 {
        say!(
            "{} entries have a time that cannot be read, and are left out",
            summary.untimed
        );
    }
    let earlier = &summary.earlier_decisions;
    if earlier.calls > 0 {
        say!(
            "{} model calls in the period belong to decisions opened before it (cost {})",
            earlier.calls,
            earlier.cost
        );
    }
}

fn verdict_code(report: &Verdict) -> ExitCode {
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub(crate) fn show(args: &ViewArgs) -> ExitCode {
    let (report, summary, period) = match view(args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if args.json {
        let decisions: Vec<_> = summary
            .decisions
            .iter()
            .map(|d| {
                serde_json::json!({
                    "id": d.id,
                    "opened": d.opened,
                    "actor": d.actor,
                    "route": d.route,
                    "outcome": d.outcome,
                    "status": d.status,
                    "latency_ms": d.latency_ms,
                    "llm_calls": d.llm_calls,
                    "models": d.models,
                    "input_tokens": d.input_tokens,
                    "output_tokens": d.output_tokens,
                    "tool_calls": d.tool_calls,
                    "cost": (!d.cost.is_empty()).then(|| d.cost()),
                    "unpriced_calls": d.cost.unpriced(),
                    "oversight": d.oversight.iter()
                        .map(|(r, a)| serde_json::json!({"reviewer": r, "action": a}))
                        .collect::<Vec<_>>(),
                    "flags": d.flags.iter()
                        .map(|(a, w)| serde_json::json!({"action": a, "what": w}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let failed: Vec<_> = summary
            .failed_calls
            .iter()
            .map(|f| {
                serde_json::json!({
                    "decision": f.decision,
                    "at": f.at,
                    "provider": f.provider,
                    "model": f.model,
                    "status": f.status,
                    "error": f.error,
                    "error_message": f.message,
                })
            })
            .collect();
        let other_reviews: Vec<_> = summary
            .other_reviews
            .iter()
            .map(|r| {
                serde_json::json!({
                    "decision": r.decision,
                    "at": r.at,
                    "reviewer": r.reviewer,
                    "action": r.action,
                })
            })
            .collect();
        let out = serde_json::json!({
            "verified": report.is_ok(),
            "verdict": report.detail(),
            "system": summary.system,
            "entries": summary.entries,
            "decisions": decisions,
            "failed_calls": failed,
            "other_reviews": other_reviews,
            "other_entries": summary.other_entries,
            "period": period_json(&summary, &period),
        });
        say_json!(out);
        return verdict_code(&report);
    }
    say!("{report}");
    print!("{}", summary.decisions_table());
    say!("{}", summary.totals());
    if !summary.failed_calls.is_empty() {
        println!();
        say!("{} failed model calls:", summary.failed_calls.len());
        print!("{}", summary.failed_calls_table());
    }
    if !summary.other_reviews.is_empty() {
        println!();
        say!(
            "{} reviews of decisions not in the table (opened before what was read, or in no \
             entry of this log):",
            summary.other_reviews.len()
        );
        print!("{}", summary.other_reviews_table());
    }
    if summary.other_entries > 0 {
        say!(
            "{} more entries (records, ends, tool calls, flags) name decisions not in the table",
            summary.other_entries
        );
    }
    say_period(&summary, &period);
    verdict_code(&report)
}

pub(crate) fn stats(args: &ViewArgs) -> ExitCode {
    let (report, summary, period) = match view(args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let calls: u64 = summary.models.iter().map(|m| m.calls).sum();
    if args.json {
        let models: Vec<_> = summary
            .models
            .iter()
            .map(|m| {
                serde_json::json!({
                    "provider": m.provider,
                    "model": m.model,
                    "calls": m.calls,
                    "failed": m.failed,
                    "unrecognized": m.unrecognized,
                    "not_whole": m.not_whole,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "cost": (!m.cost.is_empty()).then(|| m.cost.to_string()),
                    "unpriced_calls": m.cost.unpriced(),
                })
            })
            .collect();
        let flags: serde_json::Map<_, _> = summary
            .flags_by_action
            .iter()
            .map(|(a, n)| (a.clone(), serde_json::json!(n)))
            .collect();
        let out = serde_json::json!({
            "verified": report.is_ok(),
            "verdict": report.detail(),
            "entries": summary.entries,
            "decisions": summary.decisions.len(),
            "llm_calls": calls,
            "models": models,
            "cost": (!summary.cost.is_empty()).then(|| summary.cost.to_string()),
            "unpriced_calls": summary.cost.unpriced(),
            "flags_by_action": flags,
            "period": period_json(&summary, &period),
        });
        say_json!(out);
        return verdict_code(&report);
    }
    say!("{report}");
    print!("{}", summary.models_table());
    say!(
        "{} decisions, {calls} model calls ({} outside any decision), total cost {}",
        summary.decisions.len(),
        summary.unattributed.calls,
        summary.cost
    );
    let unrecognized: u64 = summary.models.iter().map(|m| m.unrecognized).sum();
    if unrecognized > 0 {
        say!(
            "model calls to endpoints the recorder does not know (recognized: false): \
             {unrecognized}; their usage and cost may be missing"
        );
    }
    let not_whole: u64 = summary.models.iter().map(|m| m.not_whole).sum();
    if not_whole > 0 {
        say!(
            "model answers not given whole (refused or filtered, cut at the length limit, broken \
             off by an error, or not read to the end): {not_whole}; the report lists them"
        );
    }
    if !summary.flags_by_action.is_empty() {
        let flags: Vec<String> = summary
            .flags_by_action
            .iter()
            .map(|(a, n)| format!("{n} {a}"))
            .collect();
        say!("flags: {}", flags.join(", "));
    }
    say_period(&summary, &period);
    verdict_code(&report)
}

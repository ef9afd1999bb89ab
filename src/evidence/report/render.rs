//! The report's HTML: sections, tables and inline SVG plots, every payload value escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::facts::{Facts, LINKS, Links, covered, cut, text_of};
use super::{FRAMEWORKS, ReportError, Row, Verdict};
use crate::chain::time::seconds;
use crate::evidence::summary::printable;
use crate::json::value::Value;

/// `text` safe in HTML text and attribute values, with characters that could hide or reorder
/// text shown as escapes.
pub(super) fn esc(text: &str) -> String {
    let shown = printable(text);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn duration(secs: f64) -> String {
    match secs {
        s if s < 0.0 => "before the decision".to_owned(),
        s if s < 120.0 => format!("{s:.1} s"),
        s if s < 7_200.0 => format!("{:.1} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

fn link(seq: u64) -> String {
    format!("<a href=\"#e{seq}\">#{seq}</a>")
}

fn links(links: &Links) -> String {
    let mut out: Vec<String> = links.first.iter().map(|s| link(*s)).collect();
    if links.count > LINKS as u64 {
        out.push(format!("and {} more", links.count - LINKS as u64));
    }
    out.join(" ")
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d0d4da;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}
.muted{color:#59636e}.verdict{padding:14px 18px;border-radius:8px;margin:16px 0;font-size:17px}
.ok{background:#dff3e4;border:1px solid #7cc08c}.bad{background:#fbe1e1;border:1px solid #d77}
.warn{background:#fff4d6;border:1px solid #d8b04a;padding:6px 10px;border-radius:6px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px;font-size:14px}
th,td{border:1px solid #d9dde3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:13px ui-monospace,monospace;word-break:break-all}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{color:#59636e}
svg{background:#fff;border:1px solid #d9dde3}
";

/// What else was checked: a label, what was found, and whether it holds.
pub(super) type Checked = (&'static str, String, bool);

/// The page; `linked_rows` reads the entries the sections link to.
pub(super) fn page(
    log: &str,
    verdict: &Verdict,
    key_checked: bool,
    checked: &[Checked],
    facts: &Facts,
    linked_rows: impl FnOnce(&BTreeSet<u64>) -> Result<Vec<Row>, ReportError>,
) -> Result<String, ReportError> {
    let mut h = String::with_capacity(64 * 1024);
    let system = facts.system.as_deref().unwrap_or("(unnamed system)");
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>Audit report: {}</title><style>{STYLE}</style></head><body><main>\
         <h1>Audit report: {}</h1><p class=\"muted\">{} · risk tier {} · acttrace-chain/1 \
         log <code>{}</code></p>",
        esc(system),
        esc(system),
        if facts.pack.is_some() {
            "evidence pack"
        } else {
            "audit log"
        },
        esc(facts.risk_tier.as_deref().unwrap_or("not stated")),
        esc(log),
    );
    verdict_section(&mut h, verdict, key_checked, checked, facts);
    decisions_section(&mut h, facts);
    models_section(&mut h, facts);
    tools_section(&mut h, facts);
    flags_section(&mut h, facts);
    oversight_section(&mut h, facts);
    failures_section(&mut h, facts);
    frameworks_section(&mut h, facts);
    entries_section(&mut h, facts, linked_rows)?;
    h.push_str("<p class=\"muted\">Evidence to support compliance, not legal advice. Made by acttrace from the log alone; check it with <code>acttrace verify</code>.</p></main></body></html>\n");
    Ok(h)
}

fn verdict_section(
    h: &mut String,
    verdict: &Verdict,
    key_checked: bool,
    checked: &[Checked],
    facts: &Facts,
) {
    let ok = verdict.ok && checked.iter().all(|c| c.2);
    let _ = write!(
        h,
        "<div class=\"verdict {}\"><strong>{}</strong> {}</div><dl>",
        if ok { "ok" } else { "bad" },
        match (ok, verdict.ok) {
            (true, _) => "Verified:",
            (false, true) => "A check failed (see below):",
            (false, false) => "Does not verify:",
        },
        esc(&verdict.said)
    );
    let first = facts.first_ts.as_deref().unwrap_or("");
    let last = facts.last_ts.as_deref().unwrap_or("");
    let signed = facts.any_hash && verdict.signatures_unchecked;
    let signatures = match (key_checked, signed) {
        (true, _) => "checked with the signing key",
        (false, true) => "present, NOT checked (no key given)",
        (false, false) => "the log is not signed",
    };
    let rows = [
        ("Entries", verdict.entries.to_string()),
        ("Entry types", types(facts)),
        ("Time span", format!("{} to {}", esc(first), esc(last))),
        ("Head hash", format!("<code>{}</code>", esc(&verdict.head))),
        ("Entry signatures", signatures.to_owned()),
        (
            "What verification covers",
            "every entry's hash and its link to the one before, from the first entry to the \
             head: an edited, inserted, deleted or reordered entry fails it. A cut tail is \
             found only against a head or checkpoint recorded elsewhere \
             (<code>acttrace verify --expect-head</code>, signed checkpoints and tree heads)."
                .to_owned(),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(h, "<dt>{k}</dt><dd>{v}</dd>");
    }
    if !facts.period.is_all() {
        let mut said = format!(
            "{}: the sections below count and list its {} entries; {} of the log's entries \
             fall outside it (verification above covers them all)",
            esc(&facts.period.to_string()),
            facts.entries,
            facts.outside
        );
        if facts.unplaced > 0 {
            let _ = write!(
                said,
                "; {} entries have a time that cannot be read, and are left out",
                facts.unplaced
            );
        }
        let _ = write!(h, "<dt>Period</dt><dd>{said}</dd>");
    }
    if checked.is_empty() {
        h.push_str(
            "<dt>Checkpoints</dt><dd>none given: the log was checked against itself alone</dd>",
        );
    }
    for (label, said, _) in checked {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(label), esc(said));
    }
    if let Some(meta) = &facts.pack {
        let signed_header = meta.get("header_sig").is_some();
        let _ = write!(
            h,
            "<dt>Pack header</dt><dd>framework {}, {} entries claimed, header {}</dd>",
            esc(&text_of(meta.get("framework"))),
            esc(&text_of(meta.get("entries"))),
            if signed_header { "signed" } else { "unsigned" }
        );
    }
    h.push_str("</dl>");
}

/// The entries counted by type, each type that no section covers said so, so that nothing
/// the log holds goes unmentioned.
fn types(facts: &Facts) -> String {
    let mut said: Vec<String> = facts
        .types
        .iter()
        .map(|(kind, n)| match covered(kind) {
            true => format!("{} {n}", esc(kind)),
            false => format!("{} {n} <em>(in no section below)</em>", esc(kind)),
        })
        .collect();
    if facts.other_types > 0 {
        said.push(format!(
            "{} more of other types <em>(in no section below)</em>",
            facts.other_types
        ));
    }
    let said = match said.is_empty() {
        true => "none".to_owned(),
        false => said.join(" · "),
    };
    match facts.period.is_all() {
        true => said,
        false => format!("in the period: {said}"),
    }
}

/// A bar chart: `bars` of (label, value), values drawn to scale.
fn bars(h: &mut String, title: &str, bars: &[(String, f64)], unit: &str) {
    let max = bars
        .iter()
        .map(|b| b.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let (width, row) = (860.0, 22.0);
    let height = row * bars.len() as f64 + 30.0;
    let _ = write!(
        h,
        "<svg role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\"><text x=\"8\" y=\"18\" font-size=\"13\">{}</text>",
        esc(title),
        esc(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 28.0 + i as f64 * row;
        let w = (value / max) * 420.0;
        let _ = write!(
            h,
            "<text x=\"8\" y=\"{:.0}\" font-size=\"12\">{}</text>\
             <rect x=\"250\" y=\"{:.0}\" width=\"{w:.1}\" height=\"15\" fill=\"#4a7fc1\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\">{} {}</text>",
            y + 12.0,
            esc(&cut(label, 36)),
            y,
            255.0 + w,
            y + 12.0,
            trim_number(*value),
            esc(unit)
        );
    }
    h.push_str("</svg>");
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn decisions_section(h: &mut String, facts: &Facts) {
    let _ = write!(h, "<h2 id=\"decisions\">Decisions</h2>");
    let mut by_outcome: BTreeMap<&str, Links> = BTreeMap::new();
    let mut opened = 0;
    for (d, seq) in facts.opened() {
        opened += 1;
        by_outcome
            .entry(facts.outcome(d).unwrap_or("open"))
            .or_default()
            .add(seq);
    }
    let _ = write!(
        h,
        "<p>{opened} decisions opened.</p><table><tr><th>Outcome</th><th>Decisions</th><th>Entries</th></tr>",
    );
    for (o, seqs) in &by_outcome {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(o),
            seqs.count,
            links(seqs)
        );
    }
    h.push_str("</table>");
    // Over time: buckets of a minute, an hour or a day, whichever gives at most 48.
    let times: Vec<f64> = facts
        .decisions
        .values()
        .filter_map(|d| d.opened().and_then(|(_, at)| at))
        .collect();
    if let (Some(lo), Some(hi)) = (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) {
        let step = [60.0, 3600.0, 86_400.0, 604_800.0]
            .into_iter()
            .find(|s| (hi - lo) / s < 48.0)
            .unwrap_or(2_592_000.0);
        let start = (lo / step).floor() * step;
        let n = (((hi - start) / step).floor() as usize) + 1;
        let mut counts = vec![0.0; n.min(400)];
        for t in &times {
            let i = (((t - start) / step).floor() as usize).min(counts.len() - 1);
            counts[i] += 1.0;
        }
        let label = |i: usize| {
            let t = start + i as f64 * step;
            let secs = t as i64;
            let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
            let (y, m, d) = civil(days);
            if step >= 86_400.0 {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!(
                    "{y:04}-{m:02}-{d:02} {:02}:{:02}",
                    rem / 3600,
                    rem % 3600 / 60
                )
            }
        };
        let bars_data: Vec<(String, f64)> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| (label(i), *c))
            .collect();
        let unit = match step as u64 {
            60 => "per minute",
            3600 => "per hour",
            86_400 => "per day",
            _ => "per period",
        };
        bars(
            h,
            &format!("Decisions opened, {unit} (UTC)"),
            &bars_data,
            "",
        );
    }
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The calls that went to endpoints the recorder did not know: recorded, but their usage and
/// cost may be missing, which the reader must be told.
fn unrecognized_calls(h: &mut String, facts: &Facts) {
    let mut items = Vec::new();
    let mut total = 0;
    for ((provider, _), m) in &facts.models {
        for (path, n) in &m.unrecognized {
            total += n;
            let path = if path.is_empty() {
                "other paths".to_owned()
            } else {
                format!("<code>{}</code>", esc(path))
            };
            items.push(format!("<li>{}: {path}, {n}</li>", esc(provider)));
        }
    }
    if total == 0 {
        return;
    }
    let _ = write!(
        h,
        "<p class=\"warn\">{total} of these model calls went to endpoints the recorder does not \
         know (<code>recognized: false</code>): they are recorded, but their usage and cost may \
         be missing. By provider and path:</p><ul>{}</ul>",
        items.join("")
    );
}

/// The model answers not given whole (refused, truncated, broken off, abandoned): a decision
/// may rest on one, which the reader must be able to find.
fn short_answers(h: &mut String, facts: &Facts) {
    if facts.short.is_empty() {
        return;
    }
    h.push_str(
        "<p class=\"warn\">Model answers not given whole: a decision that rests on one rests on \
         less than the model would have said.</p><table><tr><th>Why</th><th>As recorded</th>\
         <th>Calls</th><th>Entries</th></tr>",
    );
    for ((why, reason), seqs) in &facts.short {
        let reason = if reason.is_empty() {
            "other reasons".to_owned()
        } else {
            format!("<code>{}</code>", esc(reason))
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{reason}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            why.says(),
            seqs.count,
            links(seqs)
        );
    }
    h.push_str("</table>");
}

fn models_section(h: &mut String, facts: &Facts) {
    let _ = write!(
        h,
        "<h2 id=\"models\">Model calls</h2><table><tr><th>Provider</th><th>Model</th>\
         <th>Calls</th><th>Failed</th><th>Input tokens</th><th>Output tokens</th><th>Cost</th>\
         <th>Entries</th></tr>"
    );
    let mut cost_bars = Vec::new();
    for ((provider, model), m) in &facts.models {
        let mut cost: Vec<String> = m
            .cost
            .iter()
            .map(|(cur, n)| format!("{} {}", trim_number(*n), esc(cur)))
            .collect();
        if m.unknown_cost > 0 {
            cost.push(format!("{} unknown", m.unknown_cost));
        }
        if let Some(usd) = m.cost.get("USD") {
            cost_bars.push((format!("{provider} {model}"), *usd));
        }
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(provider),
            esc(model),
            m.calls,
            m.failed,
            m.input,
            m.output,
            cost.join(", "),
            links(&m.links)
        );
    }
    h.push_str("</table>");
    if facts.models.is_empty() {
        h.push_str("<p>No model calls are recorded.</p>");
    }
    unrecognized_calls(h, facts);
    short_answers(h, facts);
    if !cost_bars.is_empty() {
        bars(h, "Cost per model (USD)", &cost_bars, "USD");
    }
}

/// Which tools the model was offered and asked for, and which are recorded as run: a tool asked
/// for more often than it is recorded as run either was declined or ran without a record.
fn tools_section(h: &mut String, facts: &Facts) {
    if facts.tools.is_empty() {
        return;
    }
    h.push_str(
        "<h2 id=\"tools\">Tools</h2><table><tr><th>Tool</th><th>Offered to the model</th>\
         <th>Asked for by the model</th><th>Recorded as run</th><th>Asked in</th>\
         <th>Run in</th></tr>",
    );
    let mut unrecorded = Vec::new();
    for (name, t) in &facts.tools {
        let shown = if name.is_empty() {
            "other tools".to_owned()
        } else {
            format!("<code>{}</code>", esc(name))
        };
        if t.asked.count > t.ran.count {
            unrecorded.push(shown.clone());
        }
        let _ = write!(
            h,
            "<tr><td>{shown}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            t.offered,
            t.asked.count,
            t.ran.count,
            links(&t.asked),
            links(&t.ran)
        );
    }
    h.push_str("</table>");
    if !unrecorded.is_empty() {
        let _ = write!(
            h,
            "<p class=\"warn\">Asked for by the model more often than recorded as run: {}. \
             Each time, the agent either declined the call or ran the tool without recording \
             it (a <code>tool_call</code> entry).</p>",
            unrecorded.join(", ")
        );
    }
}

fn flags_section(h: &mut String, facts: &Facts) {
    let _ = write!(
        h,
        "<h2 id=\"flags\">Policy flags and blocks</h2><table><tr><th>Action</th>\
         <th>What was found</th><th>Count</th><th>Entries</th></tr>"
    );
    for ((action, data), seqs) in &facts.flags {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(action),
            esc(&cut(data, 120)),
            seqs.count,
            links(seqs)
        );
    }
    h.push_str("</table>");
    if facts.flags.is_empty() {
        h.push_str("<p>No policy flags are recorded.</p>");
    }
}

fn oversight_section(h: &mut String, facts: &Facts) {
    let _ = write!(
        h,
        "<h2 id=\"oversight\">Human oversight</h2><table><tr><th>Reviewer</th><th>Action</th>\
         <th>Note</th><th>Decision</th><th>Reviewed</th><th>After the decision opened</th>\
         <th>Entry</th></tr>"
    );
    for r in &facts.reviews {
        let opened = r.decision.as_deref().and_then(|id| {
            let here = facts.opened_at(id);
            here.or_else(|| facts.opened_before.get(id).copied())
        });
        let delay = opened
            .and_then(|(_, at)| Some(seconds(&r.ts)? - at?))
            .map_or_else(|| "unknown".to_owned(), duration);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.reviewer),
            esc(&r.action),
            esc(&r.note),
            opened.map_or_else(
                || esc(r.decision.as_deref().unwrap_or("none")),
                |(seq, _)| format!(
                    "{} {}",
                    esc(&cut(r.decision.as_deref().unwrap_or(""), 12)),
                    link(seq)
                )
            ),
            esc(&r.ts),
            delay,
            link(r.seq)
        );
    }
    h.push_str("</table>");
    let reviewed = facts.reviews.len();
    let _ = write!(
        h,
        "<p>{reviewed} {} of {} decisions.</p>",
        if reviewed == 1 { "review" } else { "reviews" },
        facts.opened().count()
    );
}

fn failures_section(h: &mut String, facts: &Facts) {
    h.push_str("<h2 id=\"failures\">Failed calls and write failures</h2>");
    if facts.failures.is_empty() {
        h.push_str("<p>None recorded: no failed model call, no lost or refused entry.</p>");
        return;
    }
    h.push_str("<table><tr><th>Entry</th><th>When</th><th>What</th><th>Detail</th></tr>");
    for f in &facts.failures {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            link(f.seq),
            esc(&f.ts),
            esc(&f.what),
            esc(&f.detail)
        );
    }
    h.push_str("</table>");
}

fn frameworks_section(h: &mut String, facts: &Facts) {
    h.push_str("<h2 id=\"frameworks\">What each framework's controls rest on</h2>");
    for (i, fw) in FRAMEWORKS.iter().enumerate() {
        let title = match fw.as_str() {
            "eu_ai_act" => {
                "EU AI Act (Art. 12 record-keeping, Art. 14 human oversight, Art. 19 logs)"
            }
            "nist_rmf" => "NIST AI RMF 1.0",
            "iso_42001" => "ISO/IEC 42001",
            "gdpr" => "GDPR (incl. Art. 22 automated decisions)",
            other => other,
        };
        let _ = write!(
            h,
            "<h3>{}</h3><table><tr><th>Control</th><th>Entries</th><th>Evidence</th></tr>",
            esc(title)
        );
        let controls = facts.controls.get(i);
        for (control, seqs) in controls.into_iter().flatten() {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(control),
                seqs.count,
                links(seqs)
            );
        }
        h.push_str("</table>");
        if controls.is_none_or(BTreeMap::is_empty) {
            h.push_str("<p>No entry is evidence for this framework's controls.</p>");
        }
    }
}

/// The entries the sections above link to (a log of years would make a page no browser
/// opens whole if it listed every entry; the log file holds them all), read from the log
/// again.
fn entries_section(
    h: &mut String,
    facts: &Facts,
    linked_rows: impl FnOnce(&BTreeSet<u64>) -> Result<Vec<Row>, ReportError>,
) -> Result<(), ReportError> {
    let mut linked = BTreeSet::new();
    let mut rest = h.as_str();
    const LINK: &str = "href=\"#e";
    while let Some(at) = rest.find(LINK) {
        rest = &rest[at + LINK.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        if let Ok(seq) = rest[..end].parse::<u64>() {
            linked.insert(seq);
        }
    }
    let rows = linked_rows(&linked)?;
    let _ = write!(
        h,
        "<h2 id=\"entries\">Entries</h2><p>The {} entries the sections above link to, of the \
         {} the {} holds.</p><table><tr><th>seq</th><th>Time</th><th>Type</th>\
         <th>Decision</th><th>Payload</th><th>Hash</th></tr>",
        linked.len(),
        facts.entries,
        if facts.period.is_all() {
            "log"
        } else {
            "period"
        }
    );
    for r in &rows {
        let _ = write!(
            h,
            "<tr id=\"e{}\"><td class=\"n\">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>\
             <td><code>{}</code></td><td><code>{}</code></td></tr>",
            r.seq,
            r.seq,
            esc(&r.ts),
            esc(&r.kind),
            esc(&cut(r.decision().unwrap_or(""), 12)),
            esc(&cut(&Value::Object(r.payload.clone()).to_line_json(), 240)),
            esc(&cut(&r.hash, 16))
        );
    }
    h.push_str("</table>");
    Ok(())
}

/// A row for tests: its time in seconds.
#[cfg(test)]
pub(super) fn seconds_of(row: &Row) -> Option<f64> {
    seconds(&row.ts)
}

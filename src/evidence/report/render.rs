//! The report's HTML: sections, tables and inline SVG plots, every payload value escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[cfg(test)]
use super::Row;
use super::{FRAMEWORKS, Facts};
use crate::chain::time::seconds;
use crate::evidence::summary::printable;
use crate::json::value::{Map, Value};
use crate::verify::Report;

/// Links shown per claim before "and N more".
const LINKS: usize = 12;

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

/// At most `n` characters of `text`, with an ellipsis when cut.
fn cut(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().nth(n).is_some() {
        out.push('…');
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

fn links(seqs: &[u64]) -> String {
    let mut out: Vec<String> = seqs.iter().take(LINKS).map(|s| link(*s)).collect();
    if seqs.len() > LINKS {
        out.push(format!("and {} more", seqs.len() - LINKS));
    }
    out.join(" ")
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_line_json(),
    }
}

/// A cost string's amount and currency (`"0.0000201 USD"`).
fn amount(cost: Option<&Value>) -> Option<(f64, String)> {
    let (n, cur) = cost?.as_str()?.split_once(' ')?;
    Some((n.parse().ok()?, cur.to_owned()))
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d0d4da;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}
.muted{color:#59636e}.verdict{padding:14px 18px;border-radius:8px;margin:16px 0;font-size:17px}
.ok{background:#dff3e4;border:1px solid #7cc08c}.bad{background:#fbe1e1;border:1px solid #d77}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px;font-size:14px}
th,td{border:1px solid #d9dde3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:13px ui-monospace,monospace;word-break:break-all}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{color:#59636e}
svg{background:#fff;border:1px solid #d9dde3}
";

/// What else was checked: a label, what was found, and whether it holds.
pub(super) type Checked = (&'static str, String, bool);

pub(super) fn page(
    log: &Path,
    verdict: &Report,
    key_checked: bool,
    checked: &[Checked],
    facts: &Facts,
) -> String {
    let mut h = String::with_capacity(64 * 1024 + facts.rows.len() * 200);
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
        esc(&log.display().to_string()),
    );
    verdict_section(&mut h, verdict, key_checked, checked, facts);
    decisions_section(&mut h, facts);
    models_section(&mut h, facts);
    flags_section(&mut h, facts);
    oversight_section(&mut h, facts);
    failures_section(&mut h, facts);
    frameworks_section(&mut h, facts);
    entries_section(&mut h, facts);
    h.push_str("<p class=\"muted\">Evidence to support compliance, not legal advice. Made by acttrace from the log alone; check it with <code>acttrace verify</code>.</p></main></body></html>\n");
    h
}

fn verdict_section(
    h: &mut String,
    verdict: &Report,
    key_checked: bool,
    checked: &[Checked],
    facts: &Facts,
) {
    let ok = verdict.is_ok() && checked.iter().all(|c| c.2);
    let _ = write!(
        h,
        "<div class=\"verdict {}\"><strong>{}</strong> {}</div><dl>",
        if ok { "ok" } else { "bad" },
        match (ok, verdict.is_ok()) {
            (true, _) => "Verified:",
            (false, true) => "A check failed (see below):",
            (false, false) => "Does not verify:",
        },
        esc(&verdict.to_string())
    );
    let first = facts.rows.first().map_or("", |r| r.ts.as_str());
    let last = facts.rows.last().map_or("", |r| r.ts.as_str());
    let signed = facts.rows.iter().any(|r| !r.hash.is_empty()) && verdict.signatures_unchecked();
    let signatures = match (key_checked, signed) {
        (true, _) => "checked with the signing key",
        (false, true) => "present, NOT checked (no key given)",
        (false, false) => "the log is not signed",
    };
    let rows = [
        ("Entries", verdict.entries().to_string()),
        ("Time span", format!("{} to {}", esc(first), esc(last))),
        ("Head hash", format!("<code>{}</code>", esc(verdict.head()))),
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
    let mut outcome: BTreeMap<&str, String> = BTreeMap::new();
    for r in &facts.rows {
        if let (Some(id), "decision_record" | "decision_end") = (r.decision(), r.kind.as_str())
            && let Some(o) = r.text("outcome")
            && (r.kind == "decision_record" || !outcome.contains_key(id))
        {
            outcome.insert(id, o.to_owned());
        }
        if r.kind == "policy_flag"
            && matches!(r.text("action"), Some("block" | "blocked"))
            && let Some(id) = r.decision()
        {
            outcome.insert(id, "blocked".to_owned());
        }
    }
    let mut by_outcome: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (id, at) in &facts.opened {
        let o = outcome
            .get(id.as_str())
            .cloned()
            .unwrap_or_else(|| "open".to_owned());
        by_outcome.entry(o).or_default().push(facts.rows[*at].seq);
    }
    let _ = write!(
        h,
        "<p>{} decisions opened.</p><table><tr><th>Outcome</th><th>Decisions</th><th>Entries</th></tr>",
        facts.opened.len()
    );
    for (o, seqs) in &by_outcome {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(o),
            seqs.len(),
            links(seqs)
        );
    }
    h.push_str("</table>");
    // Over time: buckets of a minute, an hour or a day, whichever gives at most 48.
    let times: Vec<f64> = facts
        .opened
        .values()
        .filter_map(|at| seconds(&facts.rows[*at].ts))
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

#[derive(Default)]
struct ModelRow {
    calls: u64,
    failed: u64,
    input: u64,
    output: u64,
    cost: BTreeMap<String, f64>,
    unknown_cost: u64,
    seqs: Vec<u64>,
}

fn models_section(h: &mut String, facts: &Facts) {
    let mut models: BTreeMap<(String, String), ModelRow> = BTreeMap::new();
    for r in facts.rows.iter().filter(|r| r.kind == "llm_call") {
        let key = (
            r.text("provider").unwrap_or("?").to_owned(),
            r.text("model").unwrap_or("?").to_owned(),
        );
        let m = models.entry(key).or_default();
        m.calls += 1;
        m.seqs.push(r.seq);
        if r.failed_call() {
            m.failed += 1;
        }
        if let Some(Value::Object(u)) = r.payload.get("usage") {
            m.input += u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0);
            m.output += u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
        }
        match amount(r.payload.get("cost")) {
            Some((n, cur)) => *m.cost.entry(cur).or_default() += n,
            None => m.unknown_cost += 1,
        }
    }
    let _ = write!(
        h,
        "<h2 id=\"models\">Model calls</h2><table><tr><th>Provider</th><th>Model</th>\
         <th>Calls</th><th>Failed</th><th>Input tokens</th><th>Output tokens</th><th>Cost</th>\
         <th>Entries</th></tr>"
    );
    let mut cost_bars = Vec::new();
    for ((provider, model), m) in &models {
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
            links(&m.seqs)
        );
    }
    h.push_str("</table>");
    if models.is_empty() {
        h.push_str("<p>No model calls are recorded.</p>");
    }
    if !cost_bars.is_empty() {
        bars(h, "Cost per model (USD)", &cost_bars, "USD");
    }
}

fn flags_section(h: &mut String, facts: &Facts) {
    let mut by: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for r in facts.rows.iter().filter(|r| r.kind == "policy_flag") {
        let data = match r.payload.get("data") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| text_of(Some(v)))
                .collect::<Vec<_>>()
                .join(", "),
            other => text_of(other),
        };
        by.entry((r.text("action").unwrap_or("flag").to_owned(), data))
            .or_default()
            .push(r.seq);
    }
    let _ = write!(
        h,
        "<h2 id=\"flags\">Policy flags and blocks</h2><table><tr><th>Action</th>\
         <th>What was found</th><th>Count</th><th>Entries</th></tr>"
    );
    for ((action, data), seqs) in &by {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(action),
            esc(&cut(data, 120)),
            seqs.len(),
            links(seqs)
        );
    }
    h.push_str("</table>");
    if by.is_empty() {
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
    let mut reviewed = 0;
    for r in facts.rows.iter().filter(|r| r.kind == "human_oversight") {
        reviewed += 1;
        let opened = r
            .decision()
            .and_then(|id| facts.opened.get(id))
            .map(|at| &facts.rows[*at]);
        let delay = opened
            .and_then(|o| Some(seconds(&r.ts)? - seconds(&o.ts)?))
            .map_or_else(|| "unknown".to_owned(), duration);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r.text("reviewer").unwrap_or("?")),
            esc(r.text("action").unwrap_or("?")),
            esc(&cut(r.text("note").unwrap_or(""), 120)),
            opened.map_or_else(
                || esc(r.decision().unwrap_or("none")),
                |o| format!(
                    "{} {}",
                    esc(&cut(r.decision().unwrap_or(""), 12)),
                    link(o.seq)
                )
            ),
            esc(&r.ts),
            delay,
            link(r.seq)
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<p>{reviewed} {} of {} decisions.</p>",
        if reviewed == 1 { "review" } else { "reviews" },
        facts.opened.len()
    );
}

fn failures_section(h: &mut String, facts: &Facts) {
    h.push_str("<h2 id=\"failures\">Failed calls and write failures</h2>");
    let mut table =
        String::from("<table><tr><th>Entry</th><th>When</th><th>What</th><th>Detail</th></tr>");
    let mut any = false;
    for r in &facts.rows {
        let failed_call = r.failed_call();
        let detail = match r.kind.as_str() {
            "write_failure" | "gap" | "recovery" => Some(r.payload.clone()),
            _ if failed_call => {
                let mut m = Map::new();
                for k in ["provider", "model", "status", "error", "error_message"] {
                    if let Some(v) = r.payload.get(k) {
                        m.insert(k, v.clone());
                    }
                }
                Some(m)
            }
            _ => None,
        };
        if let Some(d) = detail {
            any = true;
            let _ = write!(
                table,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                link(r.seq),
                esc(&r.ts),
                esc(if failed_call {
                    "failed model call"
                } else {
                    &r.kind
                }),
                esc(&cut(&Value::Object(d).to_line_json(), 400))
            );
        }
    }
    if any {
        h.push_str(&table);
        h.push_str("</table>");
    } else {
        h.push_str("<p>None recorded: no failed model call, no lost or refused entry.</p>");
    }
}

fn frameworks_section(h: &mut String, facts: &Facts) {
    h.push_str("<h2 id=\"frameworks\">What each framework's controls rest on</h2>");
    for fw in FRAMEWORKS {
        let mut controls: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for r in &facts.rows {
            for c in fw.controls_for(&r.kind, &r.payload) {
                controls.entry(c).or_default().push(r.seq);
            }
        }
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
        for (control, seqs) in &controls {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(control),
                seqs.len(),
                links(seqs)
            );
        }
        h.push_str("</table>");
        if controls.is_empty() {
            h.push_str("<p>No entry is evidence for this framework's controls.</p>");
        }
    }
}

/// The entries the sections above link to (a log of years would make a page no browser
/// opens whole if it listed every entry; the log file holds them all).
fn entries_section(h: &mut String, facts: &Facts) {
    let mut linked = std::collections::BTreeSet::new();
    let mut rest = h.as_str();
    const LINK: &str = "href=\"#e";
    while let Some(at) = rest.find(LINK) {
        rest = &rest[at + LINK.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        if let Ok(seq) = rest[..end].parse::<u64>() {
            linked.insert(seq);
        }
    }
    let _ = write!(
        h,
        "<h2 id=\"entries\">Entries</h2><p>The {} entries the sections above link to, of the \
         {} the log holds.</p><table><tr><th>seq</th><th>Time</th><th>Type</th>\
         <th>Decision</th><th>Payload</th><th>Hash</th></tr>",
        linked.len(),
        facts.rows.len()
    );
    for r in facts.rows.iter().filter(|r| linked.contains(&r.seq)) {
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
}

/// A row for tests: its time in seconds.
#[cfg(test)]
pub(super) fn seconds_of(row: &Row) -> Option<f64> {
    seconds(&row.ts)
}

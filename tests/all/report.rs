//! The auditor's report in a real browser: payloads that try to inject markup or steer the
//! text are shown as text, whatever field they sit in.

use acttrace::chain::{DecisionId, Entry};
use acttrace::evidence::report::{ReportOptions, write_report};
use acttrace::json::Map;
use acttrace::store::AuditLog;

use crate::support::{Scratch, chromium, rendered_dom};

const HOSTILE: &[&str] = &[
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(2)>",
    "</td></tr></table><h1>forged verdict</h1>",
    "a\u{202e}desrever\u{202c}b",
    "\u{1b}[2Jcleared",
];

#[tokio::test]
async fn hostile_payloads_are_shown_as_text_in_a_browser() {
    let scratch = Scratch::new("report-hostile");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("<b>system</b>", &path).await.unwrap();
    for (i, bad) in HOSTILE.iter().enumerate() {
        let id = DecisionId::random();
        log.append(Entry::decision(&id, *bad, bad)).await.unwrap();
        let mut fields = Map::new();
        fields.insert("outcome", *bad);
        log.append(Entry::decision_record(&id, fields))
            .await
            .unwrap();
        log.append(Entry::human_oversight(&id, bad, bad, bad))
            .await
            .unwrap();
        let mut call = Map::new();
        call.insert("decision_id", id.as_str());
        call.insert("provider", *bad);
        call.insert("model", *bad);
        call.insert("error", *bad);
        call.insert("status", 500 + i as i64);
        log.append(Entry::new("llm_call", call)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    let page = scratch.join("report.html");
    write_report(&path, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    for bad in [
        "<script",
        "<img",
        "<svg onload",
        "<h1>forged",
        "\u{202e}",
        "\u{1b}",
    ] {
        assert!(!html.contains(bad), "the report holds {bad:?} raw");
    }
    assert!(html.contains("&lt;script&gt;"), "shown as text");

    let Some(chromium) = chromium() else { return };
    let dom = rendered_dom(&chromium, &page);
    assert!(!dom.contains("<script"), "no script element");
    assert!(!dom.contains("<img"), "no image element");
    // As attributes the browser would serialize them quoted; as text they are not.
    assert!(
        !dom.contains("onload=\"") && !dom.contains("onerror=\""),
        "no handler attribute"
    );
    assert!(!dom.contains("<h1>forged"), "no forged heading");
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "shown as text"
    );
    assert!(
        dom.contains("failed model call"),
        "the failed calls are listed"
    );
    assert!(dom.contains("<title>Audit report: &lt;b&gt;system&lt;/b&gt;</title>"));
}

/// The report says which checkpoints it checked, and a checkpoint that does not hold turns
/// its verdict red; `acttrace report` writes it with a tree head checked.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_report_states_the_checkpoints_it_checked() {
    use acttrace::chain::checkpoint::CheckpointKey;

    let scratch = Scratch::new("report-checkpoints");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("loan-triage", &path).await.unwrap();
    for _ in 0..3 {
        log.append(Entry::new("decision", Map::new()))
            .await
            .unwrap();
    }
    log.shutdown().await.unwrap();
    let key = CheckpointKey::generate().unwrap();
    let (secret, public) = key.save_pair(scratch.join("ops")).unwrap();

    let page = scratch.join("plain.html");
    write_report(&path, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Checkpoints</dt><dd>none given"),
        "says none were given"
    );

    // A checkpoint whose head is not the log's.
    let forged = key.sign("loan-triage", 2, &"ab".repeat(32));
    let page = scratch.join("forged.html");
    write_report(
        &path,
        &page,
        &ReportOptions::new().checkpoint(forged, key.public()),
    )
    .unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("verdict bad"),
        "a failing checkpoint turns the verdict red"
    );

    // The CLI, with a signed tree head.
    let bin = env!("CARGO_BIN_EXE_acttrace");
    let out = std::process::Command::new(bin)
        .args([
            "checkpoint",
            path.to_str().unwrap(),
            "--note",
            "--signing-key-file",
        ])
        .arg(&secret)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    let verifier = crate::support::verifier_key(&said);
    let out = std::process::Command::new(bin)
        .args(["report", path.to_str().unwrap(), "--note"])
        .arg(scratch.join("audit.jsonl.note"))
        .args(["--verifier", &verifier, "--checkpoint"])
        .arg(scratch.join("audit.jsonl.note"))
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    // A note is not a JSON checkpoint: a clear error, nothing written.
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin)
        .args(["report", path.to_str().unwrap(), "--note"])
        .arg(scratch.join("audit.jsonl.note"))
        .args(["--verifier", &verifier])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(scratch.join("audit.jsonl.html")).unwrap();
    assert!(html.contains("verdict ok"));
    assert!(
        html.contains("signed tree of 4 entries is this log&#39;s first 4"),
        "{html}"
    );
}

/// A large log's report lists the entries its claims link to, not every entry: it stays a
/// page a browser opens, and every link has its target.
#[tokio::test]
async fn a_large_log_makes_a_page_of_bounded_size() {
    let scratch = Scratch::new("report-large");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::builder("loan-triage")
        .durability(acttrace::store::Durability::None)
        .open(&path)
        .await
        .unwrap();
    for i in 0..5_000u64 {
        let id = DecisionId::random();
        log.append(Entry::decision(&id, "application", "agent"))
            .await
            .unwrap();
        let mut fields = Map::new();
        fields.insert("outcome", if i % 3 == 0 { "declined" } else { "approved" });
        log.append(Entry::decision_record(&id, fields))
            .await
            .unwrap();
    }
    log.shutdown().await.unwrap();
    let page = scratch.join("report.html");
    write_report(&path, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("of the 10001 the log holds"),
        "the page says what it lists"
    );
    assert!(html.len() < 200_000, "{} bytes", html.len());
    for target in html.split("href=\"#e").skip(1) {
        let seq = &target[..target.find('"').unwrap()];
        assert!(
            html.contains(&format!("id=\"e{seq}\"")),
            "the link to #{seq} has its target"
        );
    }
}

/// A log of system `period` at `path` whose entries are 6 hours apart, from 2026-01-01 (the
/// genesis).
async fn every_six_hours(path: &std::path::Path) -> AuditLog {
    use std::time::{Duration, UNIX_EPOCH};

    let start = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    AuditLog::builder("period")
        .clock(acttrace::chain::SteppingClock::new(
            start,
            Duration::from_secs(6 * 3600),
        ))
        .open(path)
        .await
        .unwrap()
}

/// A report of one period (a few days of a longer log) counts and lists that period's entries
/// and states how many fall outside it, while its verdict still covers the whole chain: an
/// entry edited outside the period turns it red. `acttrace report --since --until` writes it,
/// and refuses a time that is not one or a period that ends before it starts.
#[tokio::test]
async fn a_period_cuts_the_sections_and_the_verdict_still_covers_the_whole_chain() {
    use acttrace::evidence::Period;
    use acttrace::evidence::report::html_report;

    let scratch = Scratch::new("report-period");
    let path = scratch.join("audit.jsonl");
    // Seq k at day k / 4.
    let log = every_six_hours(&path).await;
    // Decision i opens at seq 2i + 1 and is recorded at 2i + 2, approved when i is even, but
    // for a review of decision 0 after decision 4's record (seq 11), which moves the later
    // ones by one.
    let first = DecisionId::random();
    for i in 0..20 {
        let id = if i == 0 {
            first.clone()
        } else {
            DecisionId::random()
        };
        log.append(Entry::decision(&id, "input", "agent"))
            .await
            .unwrap();
        let mut fields = Map::new();
        fields.insert("outcome", if i % 2 == 0 { "approve" } else { "deny" });
        log.append(Entry::decision_record(&id, fields))
            .await
            .unwrap();
        if i == 4 {
            log.append(Entry::human_oversight(&first, "j.doe", "confirmed", ""))
                .await
                .unwrap();
        }
    }
    log.shutdown().await.unwrap();

    // 2026-01-03 (seq 8) up to 2026-01-06 (seq 20, not included): decisions 4 to 8 opened,
    // at seqs 9, 12, 14, 16 and 18; 9's (seq 20) opens after it. Decision 0, opened at seq
    // 1, was reviewed in the period, 60 hours after it opened.
    let period = Period::all()
        .since("2026-01-03")
        .unwrap()
        .until("2026-01-06T00:00:00Z")
        .unwrap();
    let html = html_report(&path, &ReportOptions::new().period(period)).unwrap();
    for expected in [
        "Verified:",
        "<dt>Period</dt><dd>from 2026-01-03 until 2026-01-06T00:00:00Z (not included): the \
         sections below count and list its 12 entries; 30 of the log's entries fall outside it",
        "<p>5 decisions opened.</p>",
        "<td>approve</td><td class=\"n\">3</td>",
        "<td>deny</td><td class=\"n\">2</td>",
        "2026-01-03T00:00:00+00:00 to 2026-01-05T18:00:00+00:00",
        // The review, with its decision's opening (before the period) and the delay.
        "<a href=\"#e1\">#1</a></td><td>2026-01-03T18:00:00+00:00</td><td>2.5 days</td>",
        "<p>1 review of 5 decisions.</p>",
    ] {
        assert!(html.contains(expected), "{expected}\n{html}");
    }
    assert!(!html.contains("<td>open</td>"), "none still open");
    assert!(
        !html.contains("href=\"#e7\""),
        "no entry before the period but the opening"
    );
    assert!(!html.contains("href=\"#e20\""), "no entry after it");
    let whole = html_report(&path, &ReportOptions::new()).unwrap();
    assert!(whole.contains("<p>20 decisions opened.</p>"));
    assert!(!whole.contains("<dt>Period</dt>"));

    // An entry edited outside the period: the period's report says the log does not verify.
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"deny\"", "\"approve\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let period = Period::all().until("2026-01-06").unwrap();
    let html = html_report(&path, &ReportOptions::new().period(period)).unwrap();
    assert!(html.contains("Does not verify:"), "{html}");

    #[cfg(feature = "cli")]
    {
        use crate::support::run_acttrace;

        std::fs::write(&path, text).unwrap();
        let page = scratch.join("q.html");
        let (code, said) = run_acttrace(&[
            "report".as_ref(),
            path.as_os_str(),
            "--since".as_ref(),
            "2026-01-03".as_ref(),
            "--until".as_ref(),
            "2026-01-06".as_ref(),
            "-o".as_ref(),
            page.as_os_str(),
        ]);
        assert_eq!(code, Some(0), "{said}");
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains("<p>5 decisions opened.</p>"), "{html}");
        for (args, says) in [
            (
                ["--since", "2026-02-30x"],
                "--since: \"2026-02-30x\" is not an RFC 3339 time",
            ),
            (
                ["--until", "2026-01-01T25:00:00Z"],
                "--until: \"2026-01-01T25:00:00Z\"",
            ),
        ] {
            let (code, said) = run_acttrace(&[
                "report".as_ref(),
                path.as_os_str(),
                args[0].as_ref(),
                args[1].as_ref(),
            ]);
            assert_eq!(code, Some(2), "{said}");
            assert!(said.contains(says), "{said}");
        }
        let (code, said) = run_acttrace(&[
            "report".as_ref(),
            path.as_os_str(),
            "--since".as_ref(),
            "2026-01-06".as_ref(),
            "--until".as_ref(),
            "2026-01-03".as_ref(),
        ]);
        assert_eq!(code, Some(2), "{said}");
        assert!(
            said.contains("ends (2026-01-03) before it starts"),
            "{said}"
        );
    }
}

/// `show` and `stats` of a period, as the report: the decisions opened in it and the calls
/// made in it, with the calls of decisions opened before it counted apart, and what was left
/// out stated; the verdict is the whole log's.
#[tokio::test]
async fn show_and_stats_of_a_period_count_its_entries() {
    use acttrace::chain::{LlmCall, Usage};
    use acttrace::evidence::{Period, Summary};

    let scratch = Scratch::new("summary-period");
    let path = scratch.join("audit.jsonl");
    let log = every_six_hours(&path).await;
    let (a, b, c) = (
        DecisionId::random(),
        DecisionId::random(),
        DecisionId::random(),
    );
    let call = |id: Option<&DecisionId>| {
        Entry::llm_call(
            LlmCall::new("openai", "gpt-4o")
                .decision(id)
                .usage(Usage::new(100, 10))
                .cost("0.001 USD"),
        )
    };
    for entry in [
        Entry::decision(&a, "input", "agent"), // seq 1, 06:00 on the 1st
        call(Some(&a)),                        // 2
        Entry::decision(&b, "input", "agent"), // 3
        call(Some(&b)),                        // 4, 00:00 on the 2nd: the period starts
        call(Some(&a)),                        // 5
        Entry::decision(&c, "input", "agent"), // 6
        call(Some(&c)),                        // 7
        call(None),                            // 8, 00:00 on the 3rd: the period has ended
    ] {
        log.append(entry).await.unwrap();
    }
    log.shutdown().await.unwrap();

    let period = Period::all()
        .since("2026-01-02")
        .unwrap()
        .until("2026-01-03")
        .unwrap();
    let s = Summary::read_period(&path, 1 << 20, &period).unwrap();
    assert_eq!((s.entries, s.outside_period, s.untimed), (4, 5, 0));
    let ids: Vec<&str> = s.decisions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [c.as_str()], "only the decision opened in the period");
    assert_eq!(s.decisions[0].llm_calls, 1);
    assert_eq!(s.models[0].calls, 3, "every call made in the period");
    assert_eq!((s.earlier_decisions.calls, s.unattributed.calls), (2, 0));
    assert_eq!(
        s.system.as_deref(),
        Some("period"),
        "named before the period"
    );
    let whole = Summary::read(&path).unwrap();
    assert_eq!((whole.decisions.len(), whole.models[0].calls), (3, 5));
    assert_eq!(
        (whole.unattributed.calls, whole.earlier_decisions.calls),
        (1, 0)
    );

    #[cfg(feature = "cli")]
    {
        use crate::support::run_acttrace;

        let run = |cmd: &str, extra: &[&str]| {
            let mut args = vec![cmd, path.to_str().unwrap()];
            args.extend_from_slice(extra);
            run_acttrace(&args)
        };
        let quarter = ["--since", "2026-01-02", "--until", "2026-01-03"];
        let (code, said) = run("stats", &[&quarter[..], &["--json"]].concat());
        assert_eq!(code, Some(0), "{said}");
        let stats: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
        assert_eq!(stats["verified"], true);
        assert_eq!(
            (stats["entries"].as_u64(), stats["llm_calls"].as_u64()),
            (Some(4), Some(3))
        );
        assert_eq!(stats["period"]["entries_outside"], 5);
        assert_eq!(stats["period"]["calls_of_earlier_decisions"], 2);
        let (code, said) = run("show", &quarter);
        assert_eq!(code, Some(0), "{said}");
        assert!(said.contains(&c.as_str()[..12]), "{said}");
        assert!(!said.contains(&a.as_str()[..12]), "{said}");
        assert!(
            said.contains(
                "period: from 2026-01-02 until 2026-01-03 (not included): 4 entries in it, 5 \
                 outside it"
            ),
            "{said}"
        );
        assert!(said.contains("2 model calls in the period belong to decisions opened before it"));
        let (code, said) = run("stats", &["--json"]);
        assert_eq!(code, Some(0), "{said}");
        assert!(said.contains("\"period\":null"), "{said}");
        let (code, said) = run("show", &["--until", "2026-02-30"]);
        assert_eq!(code, Some(2), "{said}");
        assert!(
            said.contains("--until: \"2026-02-30\" is not an RFC 3339 time"),
            "{said}"
        );
    }
}

/// The report counts every entry by type in its verdict, and says of each type that no
/// section covers (a service's own `tool_call`, an unknown type) that it is in none, so that
/// nothing the log holds goes unmentioned; type names are shown as text.
#[tokio::test]
async fn every_entry_type_is_counted_and_the_uncovered_ones_named() {
    let scratch = Scratch::new("report-types");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("types", &path).await.unwrap();
    let id = DecisionId::random();
    log.append(Entry::decision(&id, "in", "agent"))
        .await
        .unwrap();
    for kind in [
        "tool_call",
        "tool_call",
        "tool_call",
        "agent_step",
        "<b>odd</b>",
    ] {
        let mut p = Map::new();
        p.insert("decision_id", id.as_str());
        log.append(Entry::new(kind, p)).await.unwrap();
    }
    log.append(Entry::human_oversight(&id, "r-1", "approved", ""))
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let page = scratch.join("report.html");
    write_report(&path, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let at = html
        .find("<dt>Entry types</dt><dd>")
        .expect("an entry-types row");
    let row = &html[at..at + html[at..].find("</dd>").unwrap()];
    let none = "<em>(in no section below)</em>";
    for said in [
        format!("tool_call 3 {none}"),
        format!("agent_step 1 {none}"),
        format!("&lt;b&gt;odd&lt;/b&gt; 1 {none}"),
        "audit_open 1 ·".to_owned(),
        "decision 1 ·".to_owned(),
        "human_oversight 1 ·".to_owned(),
    ] {
        assert!(row.contains(&said), "{said:?} not in {row}");
    }
    assert_eq!(row.matches(none).count(), 3, "{row}");
}

/// Model answers not given whole (refused, truncated, broken off, abandoned) are listed by why
/// and by the reason as recorded, with the entries behind each; whole answers are not.
#[tokio::test]
async fn answers_not_given_whole_are_listed() {
    use acttrace::json::Value;

    let scratch = Scratch::new("report-short-answers");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("lending", &path).await.unwrap();
    let id = DecisionId::random();
    log.append(Entry::decision(&id, "POST /loan", "A-17"))
        .await
        .unwrap();
    let calls: [(&[&str], Option<(&str, Value)>); 8] = [
        (&["stop"], None),
        (&["content_filter"], None),
        (&["SAFETY", "STOP"], None),
        (&["length"], None),
        (&["length"], None),
        (&[], Some(("error", Value::from("error_in_response")))),
        (&["ERROR"], None),
        (&["stop"], Some(("cut_short", Value::Bool(true)))),
    ];
    for (reasons, extra) in calls {
        let mut call = Map::new();
        call.insert("decision_id", id.as_str());
        call.insert("provider", "openai");
        call.insert("model", "gpt-4o");
        call.insert("status", 200);
        let reasons: Vec<Value> = reasons.iter().map(|r| Value::from(*r)).collect();
        call.insert("finish_reasons", Value::Array(reasons));
        if let Some((k, v)) = extra {
            call.insert(k, v);
        }
        log.append(Entry::new("llm_call", call)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    let page = scratch.join("report.html");
    write_report(&path, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let row = |why: &str, reason: &str, n: u64| {
        format!("<tr><td>{why}</td><td><code>{reason}</code></td><td class=\"n\">{n}</td>")
    };
    for expected in [
        row("refused or filtered by the provider", "SAFETY", 1),
        row("refused or filtered by the provider", "content_filter", 1),
        row("stopped at the length limit", "length", 2),
        row(
            "broken off by an error the provider reported",
            "error_in_response",
            1,
        ),
        row("not read to its end by the caller", "cut_short", 1),
        row("broken off by an error the provider reported", "ERROR", 1),
    ] {
        assert!(html.contains(&expected), "{expected}\n{html}");
    }
    assert!(html.contains("Model answers not given whole"));
    assert!(
        !html.contains("<code>stop</code>"),
        "a whole answer is not listed"
    );
    // `show` and `stats` count them too: 7 of the 8 calls (SAFETY and STOP are one call).
    let summary = acttrace::evidence::summary::Summary::read(&path).unwrap();
    assert_eq!(summary.models[0].not_whole, 7);
    #[cfg(feature = "cli")]
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_acttrace"))
            .arg("stats")
            .arg(&path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("model answers not given whole"), "{said}");
        assert!(said.contains("): 7; the report lists them"), "{said}");
    }

    // A log whose answers were all whole says nothing of them.
    let whole = scratch.join("whole.jsonl");
    let log = AuditLog::open("lending", &whole).await.unwrap();
    let mut call = Map::new();
    call.insert("provider", "openai");
    call.insert("model", "gpt-4o");
    call.insert("finish_reasons", Value::Array(vec![Value::from("stop")]));
    log.append(Entry::new("llm_call", call)).await.unwrap();
    log.shutdown().await.unwrap();
    write_report(&whole, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("not given whole"));
}

/// The tools the model was offered and asked for, and the ones recorded as run: a tool asked
/// for more often than it is recorded as run is named, since either the agent declined it or
/// it ran without a record.
#[tokio::test]
async fn tools_asked_for_and_run_are_set_side_by_side() {
    use acttrace::json::Value;

    let scratch = Scratch::new("report-tools");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("lending", &path).await.unwrap();
    let tool = |id: &str, name: &str| {
        let mut m = Map::new();
        m.insert("id", id);
        m.insert("name", name);
        Value::Object(m)
    };
    for (asked, ran) in [
        (vec![tool("call_1", "credit_score")], Some("credit_score")),
        (
            vec![
                tool("call_2", "credit_score"),
                tool("call_3", "income_check"),
            ],
            Some("credit_score"),
        ),
        (vec![tool("call_4", "income_check")], None),
    ] {
        let id = DecisionId::random();
        log.append(Entry::decision(&id, "POST /loan", "A-17"))
            .await
            .unwrap();
        let mut call = Map::new();
        call.insert("decision_id", id.as_str());
        call.insert("provider", "openai");
        call.insert("model", "gpt-4o");
        call.insert(
            "tools_offered",
            Value::Array(vec![
                Value::from("credit_score"),
                Value::from("income_check"),
                Value::from("<b>send_email</b>"),
            ]),
        );
        call.insert("tool_calls", Value::Array(asked));
        log.append(Entry::new("llm_call", call)).await.unwrap();
        if let Some(name) = ran {
            let mut args = Map::new();
            args.insert("applicant", "A-17");
            let decision = acttrace::decision::Decision::for_id(log.clone(), id.clone());
            decision.tool_call(name, Value::Object(args)).await.unwrap();
        }
    }
    log.shutdown().await.unwrap();
    let page = scratch.join("report.html");
    write_report(&path, &page, &ReportOptions::new()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let row = |name: &str, offered: u64, asked: u64, ran: u64| {
        format!(
            "<tr><td><code>{name}</code></td><td class=\"n\">{offered}</td>\
             <td class=\"n\">{asked}</td><td class=\"n\">{ran}</td>"
        )
    };
    for expected in [
        row("credit_score", 3, 2, 2),
        row("income_check", 3, 2, 0),
        row("&lt;b&gt;send_email&lt;/b&gt;", 3, 0, 0),
    ] {
        assert!(html.contains(&expected), "{expected}\n{html}");
    }
    assert!(
        html.contains("more often than recorded as run: <code>income_check</code>."),
        "{html}"
    );
    assert!(!html.contains("<b>send_email"), "escaped");
}

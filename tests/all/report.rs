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
    let verifier = said
        .split("verifier key ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
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

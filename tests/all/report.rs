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

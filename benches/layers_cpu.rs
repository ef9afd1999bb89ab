//! CPU per audited request, in process: the layers' own work without sockets, for a profiler
//! or an instruction counter (timings on a shared virtual machine drift; instruction counts
//! do not).
//!
//! ```text
//! cargo bench --bench layers_cpu -- [plain|guard|audit|both|both-separately] [REQUESTS] [FILE_KIB [base64|text]]
//! valgrind --tool=callgrind --separate-threads=yes target/release/deps/layers_cpu-* both 5000
//! ```
//!
//! Sends REQUESTS (default 20,000) requests one after another through `oneshot` on the same
//! small axum app as `benches/layers.rs`, bare or behind `GuardLayer` and/or `AuditLayer`
//! (`both` applies the two in one `ServiceBuilder`, `both-separately` in two `Router::layer`
//! calls), writing with `Durability::None` (the writer thread still links and hashes every
//! entry), and prints the wall time per request on the calling thread. With FILE_KIB, each
//! request carries a text file of that many KiB as a document block, bare base64 as
//! Anthropic's API takes one (which the guard and the redactor decode and read), or with
//! `text` the same text as a JSON string, for comparison. Under callgrind, with
//! `--separate-threads=yes`, the caller's and the writer's instructions come out separately.

use acttrace::layer::guard::policy;
use acttrace::layer::{AuditLayer, GuardLayer};
use axum::Router;
use axum::body::Body;
use axum::routing::post;
use tower::{ServiceBuilder, ServiceExt};

#[path = "../tests/all/support/base64.rs"]
mod base64;
#[path = "support/cpu_log.rs"]
mod cpu_log;

const BODY: &str = r#"{"applicant":"A-17","amount":25000,"income":52000,"notes":"steady employment, no defaults"}"#;

async fn handler(body: String) -> String {
    format!(r#"{{"score":{}}}"#, body.len() % 100)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mode = args.next().unwrap_or_else(|| "both".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let body = match args.next().and_then(|s| s.parse::<usize>().ok()) {
        Some(kib) => document(kib, args.next().as_deref() == Some("text")),
        None => BODY.to_owned(),
    };
    let log = cpu_log::cpu_log("bench-layers-cpu").await;
    let app = Router::new().route("/agent/triage", post(handler));
    let guard = GuardLayer::new(log.clone(), (policy::secrets(), policy::personal_data()));
    let audit = AuditLayer::new(log.clone());
    let app = match mode.as_str() {
        "plain" => app,
        "audit" => app.layer(audit),
        "guard" => app.layer(guard),
        "both-separately" => app.layer(guard).layer(audit),
        _ => app.layer(ServiceBuilder::new().layer(audit).layer(guard)),
    };
    // As `axum::serve` does: turn every handler into a route once, not on each request.
    let app = app.with_state::<()>(());
    let start = std::time::Instant::now();
    for _ in 0..n {
        let req = http::Request::post("/agent/triage")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .expect("request");
        let res = app.clone().oneshot(req).await.expect("infallible");
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("body");
        std::hint::black_box(body);
    }
    let took = start.elapsed();
    log.sync().await.expect("sync");
    assert_eq!(log.pending_gap(), 0, "no entry was dropped");
    println!(
        "{mode}: {:.2} us per request on the calling thread ({n} requests)",
        took.as_secs_f64() * 1e6 / n as f64
    );
    log.shutdown().await.expect("shutdown");
}

/// A request carrying `kib` KiB of prose as a document block, its base64 bare, or as a JSON
/// string when `as_text`.
fn document(kib: usize, as_text: bool) -> String {
    let mut text = String::new();
    for line in 0.. {
        if text.len() >= kib * 1024 {
            break;
        }
        text.push_str(&format!(
            "Line {line}: revenue rose 4% in the quarter while costs stayed flat.\n"
        ));
    }
    let source = if as_text {
        format!(
            r#"{{"type": "text", "media_type": "text/plain", "data": "{}"}}"#,
            text.replace('\n', "\\n")
        )
    } else {
        format!(
            r#"{{"type": "base64", "media_type": "text/plain", "data": "{}"}}"#,
            base64::base64(text.as_bytes())
        )
    };
    format!(
        r#"{{"messages": [{{"role": "user", "content": [{{"type": "document", "source": {source}}}, {{"type": "text", "text": "Summarise the file."}}]}}]}}"#
    )
}

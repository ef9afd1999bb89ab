//! AuditLayer and GuardLayer on a real axum `Router` (and on loopback).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acttrace::decision::{self, Decision};
use acttrace::json::{Map, Value};
use acttrace::layer::guard::{Finding, GuardRequest, Verdict, policy};
use acttrace::layer::{AuditLayer, GuardLayer};
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::Scratch;

fn entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| Value::parse(l).unwrap())
        .collect()
}

fn kind(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("payload").and_then(|p| p.get(name))
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    field(v, name).and_then(Value::as_str)
}

/// The status `app` answers a `POST` to `uri` carrying `body` with.
async fn post_status(app: &Router, uri: &str, body: impl Into<Body>) -> StatusCode {
    let req = Request::post(uri).body(body.into()).unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

/// Each `policy_flag` entry's action and data (the categories), in order.
fn flag_actions(path: &Path) -> Vec<(String, Value)> {
    entries(path)
        .iter()
        .filter(|e| kind(e) == "policy_flag")
        .map(|e| {
            (
                str_field(e, "action").unwrap().to_owned(),
                field(e, "data").cloned().unwrap(),
            )
        })
        .collect()
}

async fn body_text(res: http::Response<Body>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// A `POST /agent` route that echoes its body and counts how often its handler ran.
fn counting_route() -> (Router, Arc<AtomicUsize>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let router = Router::new().route(
        "/agent",
        post(move |body: String| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { body }
        }),
    );
    (router, ran)
}

async fn record_outcome(decision: Decision, body: String) -> String {
    let mut fields = Map::new();
    fields.insert(
        "outcome",
        if body.contains("income") {
            "approved"
        } else {
            "declined"
        },
    );
    decision.record(fields).await.unwrap();
    format!("decided {}", decision.id())
}

#[tokio::test]
async fn a_request_is_one_decision_opened_and_closed_in_order() {
    let scratch = Scratch::new("layer-span");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("triage", &path).await.unwrap();
    let app = Router::new()
        .route("/agent/{kind}", post(record_outcome))
        .layer(AuditLayer::new(log.clone()).actor("triage-agent"));

    let req = Request::post("/agent/loan")
        .header("content-type", "text/plain")
        .header("authorization", "Bearer secret-token-never-logged")
        .body(Body::from("income: 52000"))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = body_text(res).await;
    log.sync().await.unwrap();

    let all = entries(&path);
    let kinds: Vec<&str> = all.iter().map(kind).collect();
    assert_eq!(
        kinds,
        ["audit_open", "decision", "decision_record", "decision_end"]
    );
    let id = str_field(&all[1], "decision_id").unwrap();
    assert!(text.ends_with(id), "the handler saw the same decision");
    for e in &all[1..] {
        assert_eq!(str_field(e, "decision_id"), Some(id));
    }
    let d = &all[1];
    assert_eq!(str_field(d, "actor"), Some("triage-agent"));
    assert_eq!(str_field(d, "method"), Some("POST"));
    assert_eq!(
        str_field(d, "route"),
        Some("/agent/{kind}"),
        "the route template, not the path"
    );
    let input = field(d, "input").unwrap();
    assert_eq!(input.get("bytes").and_then(Value::as_u64), Some(13));
    let want = {
        use sha2::{Digest, Sha256};
        Sha256::digest(b"income: 52000")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(
        input.get("sha256").and_then(Value::as_str),
        Some(want.as_str())
    );
    assert_eq!(
        input.get("content_type").and_then(Value::as_str),
        Some("text/plain")
    );
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(!raw.contains("52000"), "no raw body in the log");
    assert!(!raw.contains("secret-token"), "no auth header in the log");
    assert_eq!(str_field(&all[2], "outcome"), Some("approved"));
    let end = &all[3];
    assert_eq!(field(end, "status").and_then(Value::as_u64), Some(200));
    assert_eq!(str_field(end, "outcome"), Some("completed"));
    assert!(
        field(end, "latency_ms")
            .and_then(Value::as_f64)
            .is_some_and(|ms| ms >= 0.0)
    );
    log.shutdown().await.unwrap();
    assert!(verify_path(&path, &VerifyOptions::new()).is_ok());
}

#[tokio::test]
async fn the_input_digest_is_the_sha256_of_the_body() {
    let scratch = Scratch::new("layer-digest");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("digest", &path).await.unwrap();
    let app = Router::new()
        .route("/x", post(|body: Bytes| async move { body }))
        .layer(AuditLayer::new(log.clone()).body_limit(8));
    // Longer than the limit: the handler still gets every byte.
    let body = "0123456789abcdef".repeat(10);
    let res = app
        .oneshot(Request::post("/x").body(Body::from(body.clone())).unwrap())
        .await
        .unwrap();
    assert_eq!(
        body_text(res).await,
        body,
        "the body reaches the handler intact"
    );
    log.shutdown().await.unwrap();
    let all = entries(&path);
    let input = field(&all[1], "input").unwrap();
    assert_eq!(input.get("complete"), Some(&Value::Bool(false)));
    let read = input.get("bytes").and_then(Value::as_u64).unwrap() as usize;
    assert!(read > 8 && read <= body.len());
    let want = {
        use sha2::{Digest, Sha256};
        Sha256::digest(&body.as_bytes()[..read])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(
        input.get("sha256").and_then(Value::as_str),
        Some(want.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_decision() {
    let scratch = Scratch::new("layer-concurrent");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("concurrent", &path).await.unwrap();
    let app = Router::new()
        .route(
            "/agent",
            post(|decision: Decision, body: String| async move {
                // Work spawned onto another task carries the decision explicitly.
                let handle = tokio::spawn(decision::bind(async move {
                    let d = Decision::current().expect("bound");
                    let mut f = Map::new();
                    f.insert("request", body.as_str());
                    d.record(f).await.unwrap();
                    d.id().clone()
                }));
                let spawned_id = handle.await.unwrap();
                assert_eq!(&spawned_id, decision.id());
                assert_eq!(Decision::current().unwrap().id(), decision.id());
                decision.id().to_string()
            }),
        )
        .layer(AuditLayer::new(log.clone()));

    let mut tasks = Vec::new();
    for i in 0..500 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let req = Request::post("/agent")
                .body(Body::from(format!("req-{i}")))
                .unwrap();
            let res = app.oneshot(req).await.unwrap();
            assert_eq!(res.status(), 200);
            (i, body_text(res).await)
        }));
    }
    let mut ids = HashMap::new();
    for t in tasks {
        let (i, id) = t.await.unwrap();
        ids.insert(id, i);
    }
    assert_eq!(ids.len(), 500, "500 distinct decisions");
    log.shutdown().await.unwrap();

    let all = entries(&path);
    let mut opened = HashSet::new();
    let mut closed = HashSet::new();
    for e in &all {
        let id = str_field(e, "decision_id").map(str::to_owned);
        match kind(e) {
            "decision" => assert!(opened.insert(id.unwrap())),
            "decision_end" => {
                let id = id.unwrap();
                assert!(opened.contains(&id), "end after open");
                assert!(closed.insert(id));
            }
            "decision_record" => {
                let id = id.unwrap();
                assert!(
                    opened.contains(&id) && !closed.contains(&id),
                    "record inside its span"
                );
                let want = format!("req-{}", ids[&id]);
                assert_eq!(
                    str_field(e, "request"),
                    Some(want.as_str()),
                    "tagged with its own decision"
                );
            }
            _ => {}
        }
    }
    assert_eq!(opened.len(), 500);
    assert_eq!(closed.len(), 500);
    let report = verify_path(&path, &VerifyOptions::new().expected_entries(1 + 500 * 3));
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn the_filter_chooses_which_requests_are_decisions() {
    let scratch = Scratch::new("layer-filter");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("filter", &path).await.unwrap();
    let app = Router::new()
        .route("/agent/run", post(|| async { "ran" }))
        .route("/health", get(|| async { "ok" }))
        .layer(
            AuditLayer::new(log.clone())
                .filter(|p: &http::request::Parts| p.uri.path().starts_with("/agent")),
        );
    let res = app
        .clone()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(body_text(res).await, "ok");
    let res = app
        .oneshot(Request::post("/agent/run").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(body_text(res).await, "ran");
    log.shutdown().await.unwrap();
    let all = entries(&path);
    assert_eq!(all.iter().filter(|e| kind(e) == "decision").count(), 1);
    assert_eq!(str_field(&all[1], "route"), Some("/agent/run"));
}

/// A response body fed by a channel, to stream on the test's schedule.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|c| c.map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[tokio::test]
async fn a_streamed_response_ends_the_decision_when_the_body_ends() {
    let scratch = Scratch::new("layer-stream");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("stream", &path).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let rx = Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let rx = rx.clone();
                async move { Body::new(ChannelBody(rx.lock().await.take().unwrap())) }
            }),
        )
        .layer(AuditLayer::new(log.clone()));
    let res = app
        .oneshot(Request::get("/stream").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = res.into_body();
    tx.send(Bytes::from("chunk-1 ")).await.unwrap();
    assert_eq!(
        body.frame().await.unwrap().unwrap().into_data().unwrap(),
        "chunk-1 "
    );
    log.sync().await.unwrap();
    assert!(
        !entries(&path).iter().any(|e| kind(e) == "decision_end"),
        "still streaming"
    );
    tx.send(Bytes::from("chunk-2")).await.unwrap();
    drop(tx);
    assert!(body.frame().await.unwrap().is_ok());
    assert!(body.frame().await.is_none());
    log.sync().await.unwrap();
    let ends: Vec<Value> = entries(&path)
        .into_iter()
        .filter(|e| kind(e) == "decision_end")
        .collect();
    assert_eq!(ends.len(), 1);
    assert_eq!(str_field(&ends[0], "outcome"), Some("completed"));
    log.shutdown().await.unwrap();
}

#[tokio::test]
async fn panics_and_vanished_clients_still_close_the_decision() {
    let scratch = Scratch::new("layer-panic");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("panic", &path).await.unwrap();
    let app = Router::new()
        .route(
            "/panic",
            post(|| async {
                if true {
                    panic!("handler bug");
                }
                "unreachable"
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "never"
            }),
        )
        .layer(AuditLayer::new(log.clone()));

    let panicked = tokio::spawn(
        app.clone()
            .oneshot(Request::post("/panic").body(Body::empty()).unwrap()),
    )
    .await;
    assert!(panicked.unwrap_err().is_panic());
    let gone = tokio::time::timeout(
        Duration::from_millis(100),
        app.oneshot(Request::post("/slow").body(Body::empty()).unwrap()),
    )
    .await;
    assert!(gone.is_err(), "the client gave up");
    log.shutdown().await.unwrap();

    let all = entries(&path);
    let outcomes: Vec<&str> = all
        .iter()
        .filter(|e| kind(e) == "decision_end")
        .filter_map(|e| str_field(e, "outcome"))
        .collect();
    assert_eq!(outcomes, ["panicked", "cancelled"]);
    assert!(verify_path(&path, &VerifyOptions::new()).is_ok());
}

#[tokio::test]
async fn a_blocked_request_never_runs_and_its_flag_is_on_disk_first() {
    let scratch = Scratch::new("guard-block");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("guard", &path).await.unwrap();
    let (route, ran) = counting_route();
    let app = route
        .layer(GuardLayer::new(
            log.clone(),
            (policy::secrets(), policy::personal_data()),
        ))
        .layer(AuditLayer::new(log.clone()));

    let req = Request::post("/agent")
        .body(Body::from(
            "please use sk-proj-0123456789abcdefghijklmn for it",
        ))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the handler never ran");
    // The flag is durable before the response exists: read the file now, no sync.
    let on_disk = entries(&path);
    let flag = on_disk
        .iter()
        .find(|e| kind(e) == "policy_flag")
        .expect("flag already on disk");
    assert_eq!(str_field(flag, "action"), Some("blocked"));
    assert_eq!(str_field(flag, "severity"), Some("critical"));
    assert_eq!(field(flag, "data"), Some(&Value::from(vec!["openai_key"])));
    let decision_id = str_field(flag, "decision_id")
        .expect("belongs to the request's decision")
        .to_owned();
    let body: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    assert_eq!(body["error"], "blocked by policy");
    assert_eq!(body["reason"], "secret in input");
    assert_eq!(body["categories"], serde_json::json!(["openai_key"]));
    assert_eq!(body["decision_id"], decision_id.as_str());
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(
        !raw.contains("sk-proj-0123456789"),
        "the secret itself is never logged"
    );

    // Flag: recorded, and the request goes on with its body intact.
    let req = Request::post("/agent")
        .body(Body::from("reply to alice@example.com"))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "reply to alice@example.com");
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    log.shutdown().await.unwrap();
    let flags: Vec<Value> = entries(&path)
        .into_iter()
        .filter(|e| kind(e) == "policy_flag")
        .collect();
    assert_eq!(flags.len(), 2);
    assert_eq!(str_field(&flags[1], "action"), Some("flagged"));
    assert_eq!(field(&flags[1], "data"), Some(&Value::from(vec!["email"])));
    assert!(verify_path(&path, &VerifyOptions::new()).is_ok());
}

#[tokio::test]
async fn closures_compose_and_choose_their_status() {
    let scratch = Scratch::new("guard-closure");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("guard", &path).await.unwrap();
    let no_delete = |req: &GuardRequest<'_>| {
        if req.uri().path().contains("delete") {
            Verdict::Block(
                Finding::new("deletes are manual")
                    .severity("warning")
                    .category("delete"),
            )
        } else {
            Verdict::Allow
        }
    };
    let app = Router::new()
        .route("/{op}", post(|| async { "ran" }))
        .layer(
            GuardLayer::new(
                log.clone(),
                (
                    no_delete,
                    policy::max_body_bytes(16),
                    policy::deny_list(["DROP TABLE"]),
                ),
            )
            .block_status(StatusCode::UNPROCESSABLE_ENTITY),
        );
    let send = |uri: &'static str, body: &'static str| post_status(&app, uri, body);
    assert_eq!(send("/delete", "").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        send("/run", "0123456789abcdefXYZ").await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        send("/run", "DROP table x").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(send("/run", "fine").await, StatusCode::OK);
    log.shutdown().await.unwrap();
    let cats: Vec<Value> = entries(&path)
        .iter()
        .filter(|e| kind(e) == "policy_flag")
        .filter_map(|e| field(e, "data").cloned())
        .collect();
    assert_eq!(
        cats,
        [
            Value::from(vec!["delete"]),
            Value::from(vec!["body_too_large"]),
            Value::from(vec!["deny_list[0]"])
        ]
    );
}

/// Composed content policies all judge the same text, the query string with the body: a key
/// in the query alone is blocked, an e-mail in the query alone flagged, a denied word in the
/// query alone blocked; a clean request reaches the handler.
#[tokio::test]
async fn composed_policies_all_read_the_query_and_the_body() {
    let scratch = Scratch::new("guard-query");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("guard", &path).await.unwrap();
    let (route, ran) = counting_route();
    let app = route.layer(GuardLayer::new(
        log.clone(),
        (
            policy::secrets(),
            policy::personal_data(),
            policy::deny_list(["drop_table"]),
        ),
    ));
    for (uri, status) in [
        (
            "/agent?key=sk-proj-abcdefghijklmnopqrstuvwx",
            StatusCode::FORBIDDEN,
        ),
        ("/agent?cc=bob@example.com", StatusCode::OK),
        ("/agent?q=DROP_TABLE", StatusCode::FORBIDDEN),
        ("/agent?page=2", StatusCode::OK),
    ] {
        assert_eq!(post_status(&app, uri, "{}").await, status, "{uri}");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    log.shutdown().await.unwrap();
    let flags = flag_actions(&path);
    assert_eq!(
        flags,
        [
            ("blocked".to_owned(), Value::from(vec!["openai_key"])),
            ("flagged".to_owned(), Value::from(vec!["email"])),
            ("blocked".to_owned(), Value::from(vec!["deny_list[0]"])),
        ]
    );
    assert!(!std::fs::read_to_string(&path).unwrap().contains("sk-proj"));
}

/// The guard judges with the same redaction policies the log applies: under GDPR a JWT in
/// the body is blocked, a phone number flagged and let through; the flags name categories only.
#[tokio::test]
async fn the_guard_applies_a_redaction_policy() {
    let scratch = Scratch::new("guard-redaction");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("guard", &path).await.unwrap();
    let (route, ran) = counting_route();
    let app = route.layer(GuardLayer::new(
        log.clone(),
        policy::redaction(acttrace::redact::RedactionPolicy::gdpr()),
    ));
    let jwt = "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let send = |body: String| post_status(&app, "/agent", body);
    assert_eq!(send(jwt.to_owned()).await, StatusCode::FORBIDDEN);
    assert_eq!(
        send("call me at (415) 555-0123".to_owned()).await,
        StatusCode::OK
    );
    assert_eq!(send("nothing to see".to_owned()).await, StatusCode::OK);
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    log.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("eyJhbGci") && !text.contains("555-0123"),
        "{text}"
    );
    let flags = flag_actions(&path);
    assert_eq!(
        flags,
        [
            ("blocked".to_owned(), Value::from(vec!["jwt"])),
            ("flagged".to_owned(), Value::from(vec!["phone"])),
        ]
    );
}

#[tokio::test]
async fn the_guard_fails_closed_when_the_flag_cannot_be_written() {
    let scratch = Scratch::new("guard-closed");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("guard", &path).await.unwrap();
    let (route, ran) = counting_route();
    let app = route.layer(GuardLayer::new(
        log.clone(),
        (policy::secrets(), policy::personal_data()),
    ));
    log.shutdown().await.unwrap(); // the writer is gone: nothing can be recorded

    for body in [
        "key sk-proj-0123456789abcdefghijklmn",
        "mail bob@example.org",
    ] {
        let res = app
            .clone()
            .oneshot(Request::post("/agent").body(Body::from(body)).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{body}");
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "neither a block nor a flag lets it through unrecorded"
    );
    let res = app
        .oneshot(Request::post("/agent").body(Body::from("plain")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a clean request needs no write"
    );
}

#[tokio::test]
async fn a_durable_audit_layer_refuses_when_it_cannot_record() {
    let scratch = Scratch::new("audit-durable");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("durable", &path).await.unwrap();
    let app = Router::new()
        .route("/agent", post(|| async { "ran" }))
        .layer(AuditLayer::new(log.clone()).durable(true));
    let res = app
        .clone()
        .oneshot(Request::post("/agent").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Durable: the decision is on disk by the time the handler has run.
    assert!(entries(&path).iter().any(|e| kind(e) == "decision"));
    log.shutdown().await.unwrap();
    let res = app
        .oneshot(Request::post("/agent").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_reviewer_records_oversight_for_a_past_decision() {
    let scratch = Scratch::new("oversight");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("oversight", &path).await.unwrap();
    let app = Router::new()
        .route(
            "/agent",
            post(|d: Decision| async move { d.id().to_string() }),
        )
        .route(
            "/review/{id}",
            post({
                let log = log.clone();
                move |axum::extract::Path(id): axum::extract::Path<String>| {
                    let log = log.clone();
                    async move {
                        let Ok(id) = id.parse() else {
                            return StatusCode::BAD_REQUEST;
                        };
                        let past = Decision::for_id(log, id);
                        match past
                            .human_oversight("reviewer-42", "approved", "income verified")
                            .await
                        {
                            Ok(_) => StatusCode::NO_CONTENT,
                            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
                        }
                    }
                }
            }),
        )
        .layer(
            AuditLayer::new(log.clone())
                .filter(|p: &http::request::Parts| p.uri.path() == "/agent"),
        );
    let res = app
        .clone()
        .oneshot(Request::post("/agent").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let id = body_text(res).await;
    let res = app
        .oneshot(
            Request::post(format!("/review/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    log.shutdown().await.unwrap();
    let all = entries(&path);
    let review = all.iter().find(|e| kind(e) == "human_oversight").unwrap();
    assert_eq!(str_field(review, "decision_id"), Some(id.as_str()));
    assert_eq!(str_field(review, "reviewer"), Some("reviewer-42"));
}

/// One request over a real socket: axum::serve on 127.0.0.1, HTTP/1.1 by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let scratch = Scratch::new("layer-socket");
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("socket", &path).await.unwrap();
    let app = Router::new()
        .route("/agent", post(record_outcome))
        .layer(GuardLayer::new(log.clone(), policy::secrets()))
        .layer(AuditLayer::new(log.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = "income: 1";
    let req = format!(
        "POST /agent HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    server.abort();
    log.sync().await.unwrap();
    let kinds: Vec<String> = entries(&path).iter().map(|e| kind(e).to_owned()).collect();
    assert_eq!(
        kinds,
        ["audit_open", "decision", "decision_record", "decision_end"]
    );
}

/// Requests that match no route (404 probes) open no decision by default, once the layer has
/// seen a routed request; `audit_unmatched(true)` records them too.
#[tokio::test]
async fn requests_that_match_no_route_are_not_decisions_by_default() {
    for audit_unmatched in [false, true] {
        let scratch = Scratch::new("unmatched");
        let path = scratch.join("audit.jsonl");
        let log = AuditLog::open("t", &path).await.unwrap();
        let app = Router::new()
            .route("/agent", post(|| async { "ran" }))
            .layer(AuditLayer::new(log.clone()).audit_unmatched(audit_unmatched));
        assert_eq!(post_status(&app, "/agent", "hello").await, StatusCode::OK);
        for probe in ["/wp-login.php", "/.env", "/agent/../admin"] {
            assert_eq!(post_status(&app, probe, "").await, StatusCode::NOT_FOUND);
        }
        log.sync().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        log.shutdown().await.unwrap();
        let decisions = entries(&path)
            .iter()
            .filter(|e| kind(e) == "decision")
            .count();
        assert_eq!(
            decisions,
            if audit_unmatched { 4 } else { 1 },
            "{audit_unmatched}"
        );
    }
}

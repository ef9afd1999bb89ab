//! AuditMiddleware end to end: a fixture server on 127.0.0.1 answers in each provider's
//! documented shapes; the audited reqwest client reaches it under the providers' real host
//! names (DNS pinned with `ClientBuilder::resolve`), so the built-in table is what matches.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use acttrace::chain::DecisionId;
use acttrace::client::{Api, AuditMiddleware, Call, Providers, SkipAudit};
use acttrace::decision::{self, Decision};
use acttrace::json::{Map, Value};
use acttrace::layer::AuditLayer;
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tower::ServiceExt;

use crate::support::{Scratch, base64};

const HOSTS: &[&str] = &[
    "api.openai.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "bedrock-runtime.us-east-1.amazonaws.com",
    "api.mistral.ai",
    "api.groq.com",
    "openrouter.ai",
    "api.deepseek.com",
    "api.x.ai",
    "api.together.xyz",
    "acme.openai.azure.com",
    "us-east5-aiplatform.googleapis.com",
    "api.cohere.com",
];

/// A body served in small pieces, one frame each; optionally never ending.
struct Pieces {
    pieces: VecDeque<Bytes>,
    hang: bool,
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.pieces.pop_front() {
            Some(p) => Poll::Ready(Some(Ok(http_body::Frame::data(p)))),
            None if self.hang => Poll::Pending,
            None => Poll::Ready(None),
        }
    }
}

/// A body sent as the test hands it pieces, ending when the test drops its sender.
struct Fed(tokio::sync::mpsc::UnboundedReceiver<Bytes>);

impl http_body::Body for Fed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|piece| piece.map(|p| Ok(http_body::Frame::data(p))))
    }
}

fn chunked(content_type: &str, body: &[u8], piece: usize, hang: bool) -> Response {
    let pieces = body.chunks(piece).map(Bytes::copy_from_slice).collect();
    let mut res = Body::new(Pieces { pieces, hang }).into_response();
    res.headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    res
}

fn json(v: serde_json::Value) -> Response {
    axum::Json(v).into_response()
}

fn sse(events: &[(&str, serde_json::Value)], done: bool) -> Vec<u8> {
    let mut out = String::new();
    for (name, data) in events {
        if !name.is_empty() {
            out.push_str(&format!("event: {name}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out.into_bytes()
}

/// One AWS event-stream message (CRCs left zero: the reader does not check them).
fn event_stream_message(event_type: &str, payload: &serde_json::Value) -> Vec<u8> {
    let mut headers = Vec::new();
    for (name, value) in [
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ] {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7);
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let payload = payload.to_string().into_bytes();
    let total = 12 + headers.len() + payload.len() + 4;
    let mut out = Vec::new();
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&headers);
    out.extend_from_slice(&payload);
    out.extend_from_slice(&[0; 4]);
    out
}

async fn misbehave(headers: &HeaderMap) -> Option<Response> {
    match headers.get("x-fixture").and_then(|v| v.to_str().ok()) {
        Some("429") => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})),
            )
                .into_response(),
        ),
        // A stream the provider breaks off: `200`, and an `error` event (Anthropic's form).
        Some("overloaded") => {
            let events = [
                ("message_start", serde_json::json!({"type": "message_start", "message": {"id": "msg_o",
                    "model": "claude-sonnet-4-5-20250929", "content": [], "usage": {"input_tokens": 50, "output_tokens": 1}}})),
                ("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "Appro"}})),
                ("error", serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
            ];
            Some(chunked("text/event-stream", &sse(&events, false), 6, false))
        }
        Some("slow") => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Some(StatusCode::OK.into_response())
        }
        _ => None,
    }
}

async fn chat(headers: HeaderMap, body: String) -> Response {
    if let Some(r) = misbehave(&headers).await {
        return r;
    }
    let req: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let model = req["model"].as_str().unwrap_or("gpt-4o").to_owned();
    let usage = serde_json::json!({"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 1000}, "completion_tokens_details": {"reasoning_tokens": 128}});
    if req["stream"] == true {
        let chunk = |content: &str| {
            serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": format!("{model}-2024-08-06"),
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}], "usage": null})
        };
        let events = [
            ("", chunk("Approved")),
            ("", chunk(" with conditions.")),
            (
                "",
                serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": format!("{model}-2024-08-06"), "choices": [], "usage": usage}),
            ),
        ];
        return chunked("text/event-stream", &sse(&events, true), 7, false);
    }
    json(
        serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion", "model": format!("{model}-2024-08-06"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Approved."}, "finish_reason": "stop"}],
        "usage": usage}),
    )
}

async fn responses(body: String) -> Response {
    let req: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let usage = serde_json::json!({"input_tokens": 900, "input_tokens_details": {"cached_tokens": 100},
        "output_tokens": 200, "output_tokens_details": {"reasoning_tokens": 150}, "total_tokens": 1100});
    let response = serde_json::json!({"id": "resp_1", "object": "response", "model": "o3-2025-04-16", "status": "completed", "usage": usage});
    if req["stream"] == true {
        let events = [
            (
                "response.created",
                serde_json::json!({"type": "response.created", "response": {"id": "resp_1", "model": "o3-2025-04-16", "usage": null}}),
            ),
            (
                "response.output_text.delta",
                serde_json::json!({"type": "response.output_text.delta", "delta": "Declined"}),
            ),
            (
                "response.completed",
                serde_json::json!({"type": "response.completed", "response": response}),
            ),
        ];
        return chunked("text/event-stream", &sse(&events, false), 5, false);
    }
    json(response)
}

async fn embeddings() -> Response {
    json(
        serde_json::json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}}),
    )
}

async fn messages(headers: HeaderMap, body: String) -> Response {
    if let Some(r) = misbehave(&headers).await {
        return r;
    }
    let req: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let usage = serde_json::json!({"input_tokens": 50, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 300, "output_tokens": 70});
    if req["stream"] == true {
        let events = [
            (
                "message_start",
                serde_json::json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [],
                "usage": {"input_tokens": 50, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 300, "output_tokens": 1}}}),
            ),
            (
                "content_block_start",
                serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            (
                "content_block_delta",
                serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Approved"}}),
            ),
            (
                "content_block_stop",
                serde_json::json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                "message_delta",
                serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 70}}),
            ),
            ("message_stop", serde_json::json!({"type": "message_stop"})),
        ];
        let hang = headers.contains_key("x-hang");
        let body = sse(&events, false);
        // For the abandoned-stream test: stop after the first event and hang.
        let body = if hang {
            body[..body.iter().position(|&b| b == b'\n').unwrap() + 400.min(body.len())].to_vec()
        } else {
            body
        };
        return chunked("text/event-stream", &body, 3, hang);
    }
    json(
        serde_json::json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Approved."}], "stop_reason": "end_turn", "usage": usage}),
    )
}

async fn gemini(UrlPath(rest): UrlPath<String>) -> Response {
    let usage = serde_json::json!({"promptTokenCount": 400, "candidatesTokenCount": 60, "thoughtsTokenCount": 40,
        "cachedContentTokenCount": 100, "totalTokenCount": 500});
    let chunk = |text: &str, usage: Option<&serde_json::Value>| {
        let mut v = serde_json::json!({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}], "modelVersion": "gemini-2.5-flash"});
        if let Some(u) = usage {
            v["usageMetadata"] = u.clone();
        }
        v
    };
    if rest.ends_with(":streamGenerateContent") {
        let partial = serde_json::json!({"promptTokenCount": 400, "candidatesTokenCount": 5, "totalTokenCount": 405});
        let events = [
            ("", chunk("Appr", Some(&partial))),
            ("", chunk("oved", Some(&usage))),
        ];
        return chunked("text/event-stream", &sse(&events, false), 11, false);
    }
    json(chunk("Approved", Some(&usage)))
}

/// Bedrock's `InvokeModel` stream: each of the model's `events` in a `chunk`, base64 in
/// `bytes`.
fn invoke_stream(events: &[serde_json::Value]) -> Response {
    let body: Vec<u8> = events
        .iter()
        .flat_map(|e| {
            let chunk = serde_json::json!({"bytes": base64(e.to_string().as_bytes())});
            event_stream_message("chunk", &chunk)
        })
        .collect();
    chunked("application/vnd.amazon.eventstream", &body, 17, false)
}

/// Bedrock's `InvokeModel`: the model's own answer (Claude's is Anthropic's, Llama's names its
/// counts), with the token counts in the headers as Bedrock sends them; its stream, Claude's
/// events in base64 `chunk`s, the last with Bedrock's own counts.
fn bedrock_invoke(model: &str, stream: bool) -> Response {
    if stream && model.starts_with("meta.") {
        // Llama's stream counts what it has generated; only Bedrock's last word has the input.
        let events = [
            serde_json::json!({"generation": "Appro", "prompt_token_count": null, "generation_token_count": 1, "stop_reason": null}),
            serde_json::json!({"generation": "ved.", "prompt_token_count": null, "generation_token_count": 2, "stop_reason": "stop",
                "amazon-bedrock-invocationMetrics": {"inputTokenCount": 30, "outputTokenCount": 12, "invocationLatency": 300, "firstByteLatency": 90}}),
        ];
        return invoke_stream(&events);
    }
    if stream {
        let events = [
            serde_json::json!({"type": "message_start", "message": {"id": "msg_s1", "type": "message", "role": "assistant",
                "model": "claude-3-5-sonnet-20241022", "content": [],
                "usage": {"input_tokens": 40, "cache_read_input_tokens": 100, "output_tokens": 1}}}),
            serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Approved."}}),
            serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}),
            serde_json::json!({"type": "message_stop", "amazon-bedrock-invocationMetrics":
                {"inputTokenCount": 40, "outputTokenCount": 9, "invocationLatency": 310, "firstByteLatency": 120}}),
        ];
        return invoke_stream(&events);
    }
    let mut res = if model.starts_with("meta.") {
        json(serde_json::json!({"generation": "Approved.", "stop_reason": "stop"}))
    } else {
        json(
            serde_json::json!({"id": "msg_b1", "type": "message", "role": "assistant",
            "model": "claude-3-5-sonnet-20241022", "content": [{"type": "text", "text": "Approved."}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 40, "cache_read_input_tokens": 100, "output_tokens": 9}}),
        )
    };
    for (name, value) in [
        ("x-amzn-bedrock-input-token-count", "30"),
        ("x-amzn-bedrock-output-token-count", "12"),
    ] {
        res.headers_mut().insert(name, value.parse().unwrap());
    }
    res
}

async fn bedrock(UrlPath(rest): UrlPath<String>) -> Response {
    if let Some((model, method)) = rest.rsplit_once('/')
        && method.starts_with("invoke")
    {
        return bedrock_invoke(model, method == "invoke-with-response-stream");
    }
    let usage = serde_json::json!({"inputTokens": 10, "outputTokens": 5, "totalTokens": 15});
    if rest.ends_with("/converse-stream") {
        let mut body = Vec::new();
        body.extend(event_stream_message(
            "messageStart",
            &serde_json::json!({"role": "assistant"}),
        ));
        body.extend(event_stream_message(
            "contentBlockDelta",
            &serde_json::json!({"contentBlockIndex": 0, "delta": {"text": "Approved"}}),
        ));
        body.extend(event_stream_message(
            "messageStop",
            &serde_json::json!({"stopReason": "end_turn"}),
        ));
        body.extend(event_stream_message(
            "metadata",
            &serde_json::json!({"usage": usage, "metrics": {"latencyMs": 300}}),
        ));
        return chunked("application/vnd.amazon.eventstream", &body, 13, false);
    }
    json(
        serde_json::json!({"output": {"message": {"role": "assistant", "content": [{"text": "Approved"}]}}, "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 300}}),
    )
}

async fn ollama_chat(headers: HeaderMap) -> Response {
    let lines = [
        serde_json::json!({"model": "llama3.2", "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant", "content": "Appro"}, "done": false}),
        serde_json::json!({"model": "llama3.2", "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant", "content": "ved"}, "done": false}),
        serde_json::json!({"model": "llama3.2", "created_at": "2026-01-01T00:00:01Z", "message": {"role": "assistant", "content": ""}, "done": true,
            "total_duration": 1000, "prompt_eval_count": 26, "eval_count": 12}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut res = chunked("application/x-ndjson", body.as_bytes(), 9, false);
    if headers.get("x-fixture").is_some_and(|v| v == "untyped") {
        res.headers_mut().remove("content-type");
    }
    res
}

/// Cohere's own chat, v2 (SSE when the body asks for a stream) and v1 (its NDJSON stream);
/// a bad key is refused as Cohere refuses it, its message at the top.
async fn cohere_chat(
    UrlPath(version): UrlPath<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if headers
        .get("authorization")
        .is_some_and(|v| v == "Bearer bad")
    {
        let refusal = serde_json::json!({"id": "f-1", "message": "invalid api token"});
        return (StatusCode::UNAUTHORIZED, axum::Json(refusal)).into_response();
    }
    let stream = body.contains("\"stream\":true");
    let billed = serde_json::json!({"billed_units": {"input_tokens": 9, "output_tokens": 40},
        "tokens": {"input_tokens": 71, "output_tokens": 40}});
    match (version.as_str(), stream) {
        ("v2", false) => json(
            serde_json::json!({"id": "co-1", "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant", "tool_plan": "Look up the score.",
                "tool_calls": [{"id": "tc_1", "type": "function",
                    "function": {"name": "credit_score", "arguments": "{\"applicant\":\"A-17\"}"}}]},
            "usage": billed}),
        ),
        ("v2", true) => {
            let body = sse(
                &[
                    (
                        "message-start",
                        serde_json::json!({"id": "co-2", "type": "message-start",
                        "delta": {"message": {"role": "assistant", "content": []}}}),
                    ),
                    (
                        "content-delta",
                        serde_json::json!({"type": "content-delta", "index": 0,
                        "delta": {"message": {"content": {"text": "Approved"}}}}),
                    ),
                    (
                        "message-end",
                        serde_json::json!({"type": "message-end",
                        "delta": {"finish_reason": "COMPLETE", "usage": billed}}),
                    ),
                ],
                false,
            );
            chunked("text/event-stream", &body, 11, false)
        }
        (_, true) => {
            let lines = [
                serde_json::json!({"is_finished": false, "event_type": "stream-start", "generation_id": "g-1"}),
                serde_json::json!({"is_finished": false, "event_type": "text-generation", "text": "Approved"}),
                serde_json::json!({"is_finished": true, "event_type": "stream-end", "finish_reason": "COMPLETE",
                    "response": {"response_id": "r-1", "text": "Approved", "meta": billed}}),
            ];
            let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
            chunked("application/stream+json", body.as_bytes(), 7, false)
        }
        (_, false) => json(serde_json::json!({"response_id": "r-2", "text": "Approved",
            "finish_reason": "COMPLETE", "meta": billed})),
    }
}

fn fixture() -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        // Moved: a temporary redirect, which reqwest follows with the same method and body.
        .route(
            "/v0/chat/completions",
            post(|| async { axum::response::Redirect::temporary("/v1/chat/completions") }),
        )
        .route("/openai/v1/chat/completions", post(chat))
        .route("/api/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat))
        .route("/openai/deployments/{d}/chat/completions", post(chat))
        .route("/v1/responses", post(responses))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/messages", post(messages))
        .route("/v1beta/models/{*rest}", post(gemini))
        .route("/model/{*rest}", post(bedrock))
        .route("/api/chat", post(ollama_chat))
        // Claude on Vertex AI: Anthropic's Messages API under Google's URL.
        .route(
            "/v1/projects/{*rest}",
            post(|headers: HeaderMap, body: String| messages(headers, body)),
        )
        .route(
            "/v1/audio/transcriptions",
            post(|| async {
                json(serde_json::json!({"text": "The applicant asks for a review.",
                    "usage": {"type": "tokens", "input_tokens": 120, "output_tokens": 9, "total_tokens": 129}}))
            }),
        )
        .route("/{version}/chat", post(cohere_chat))
        .route(
            "/v2/embed",
            post(|| async {
                json(serde_json::json!({"id": "e-1", "embeddings": {"float": [[0.1, 0.2]]}, "texts": ["A-17"],
                    "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3}}}))
            }),
        )
        .route(
            "/v2/rerank",
            post(|| async {
                json(serde_json::json!({"id": "rr-1", "results": [{"index": 0, "relevance_score": 0.9}],
                    "meta": {"billed_units": {"search_units": 1}}}))
            }),
        )
        .route("/health", get(|| async { "ok" }))
}

struct Env {
    _scratch: Scratch,
    path: std::path::PathBuf,
    log: AuditLog,
    client: ClientWithMiddleware,
    addr: SocketAddr,
}

impl Env {
    async fn new(name: &str) -> Self {
        Self::serving(name, fixture()).await
    }

    /// An environment whose hosts are answered by `app` instead of the fixture.
    async fn serving(name: &str, app: Router) -> Self {
        let scratch = Scratch::new(name);
        let path = scratch.join("audit.jsonl");
        let log = AuditLog::open("client-tests", &path).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = Self::client(&log, addr, ClientBuilder::new);
        Self {
            _scratch: scratch,
            path,
            log,
            client,
            addr,
        }
    }

    /// A client on `log` whose calls to the fixture's hosts reach `addr`: what `start` makes
    /// of the bare client (the middleware that come before the audit's), then the audit.
    fn client(
        log: &AuditLog,
        addr: SocketAddr,
        start: impl FnOnce(reqwest::Client) -> ClientBuilder,
    ) -> ClientWithMiddleware {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_millis(1500));
        for host in HOSTS {
            builder = builder.resolve(host, addr);
        }
        let providers = Providers::new().endpoint(
            "ollama",
            &format!("http://127.0.0.1:{}/api", addr.port()),
            Api::OllamaNative,
        );
        start(builder.build().unwrap())
            .with(AuditMiddleware::new(log.clone()).recognize_with(providers))
            .build()
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    async fn post(&self, host: &str, path: &str, body: serde_json::Value) -> (StatusCode, String) {
        let res = self
            .client
            .post(self.url(host, path))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    async fn calls(&self) -> Vec<Value> {
        self.log.sync().await.unwrap();
        std::fs::read_to_string(&self.path)
            .unwrap()
            .lines()
            .map(|l| Value::parse(l).unwrap())
            .filter(|v| v.get("type").and_then(Value::as_str) == Some("llm_call"))
            .map(|v| v.get("payload").cloned().unwrap())
            .collect()
    }

    async fn done(self) {
        self.log.shutdown().await.unwrap();
        let report = verify_path(&self.path, &VerifyOptions::new());
        assert!(report.is_ok(), "{report}");
    }
}

fn usage_of(call: &Value) -> [u64; 5] {
    let u = call.get("usage").unwrap();
    [
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "cache_write",
    ]
    .map(|k| u.get(k).and_then(Value::as_u64).unwrap())
}

fn s<'a>(call: &'a Value, k: &str) -> Option<&'a str> {
    call.get(k).and_then(Value::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_shape_is_recorded_with_usage_and_cost() {
    let env = Env::new("client-shapes").await;
    let cases: Vec<(
        &str,
        &str,
        serde_json::Value,
        &str,
        &str,
        [u64; 5],
        Option<&str>,
        bool,
    )> = vec![
        (
            "api.openai.com",
            "/v1/chat/completions",
            serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "secret prompt text"}]}),
            "openai",
            "gpt-4o",
            [1200, 300, 1000, 128, 0],
            Some("0.00475 USD"),
            false,
        ),
        (
            "api.openai.com",
            "/v1/chat/completions",
            serde_json::json!({"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true}}),
            "openai",
            "gpt-4o",
            [1200, 300, 1000, 128, 0],
            Some("0.00475 USD"),
            true,
        ),
        (
            "api.openai.com",
            "/v1/responses",
            serde_json::json!({"model": "o3", "stream": true, "input": "secret prompt text"}),
            "openai",
            "o3",
            [900, 200, 100, 150, 0],
            Some("0.00325 USD"),
            true,
        ),
        (
            "api.openai.com",
            "/v1/embeddings",
            serde_json::json!({"model": "text-embedding-3-small", "input": "secret prompt text"}),
            "openai",
            "text-embedding-3-small",
            [8, 0, 0, 0, 0],
            Some("0.00000016 USD"),
            false,
        ),
        (
            "api.anthropic.com",
            "/v1/messages",
            serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 100}),
            "anthropic",
            "claude-sonnet-4-5",
            [2350, 70, 2000, 0, 300],
            Some("0.002925 USD"),
            false,
        ),
        (
            "api.anthropic.com",
            "/v1/messages",
            serde_json::json!({"model": "claude-sonnet-4-5", "stream": true}),
            "anthropic",
            "claude-sonnet-4-5",
            [2350, 70, 2000, 0, 300],
            Some("0.002925 USD"),
            true,
        ),
        (
            "generativelanguage.googleapis.com",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            serde_json::json!({"contents": []}),
            "gemini",
            "gemini-2.5-flash",
            [400, 100, 100, 40, 0],
            Some("0.0003475 USD"),
            false,
        ),
        (
            "generativelanguage.googleapis.com",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            serde_json::json!({"contents": []}),
            "gemini",
            "gemini-2.5-flash",
            [400, 100, 100, 40, 0],
            Some("0.0003475 USD"),
            true,
        ),
        (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
            serde_json::json!({"messages": []}),
            "bedrock",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            [10, 5, 0, 0, 0],
            Some("0.000028 USD"),
            false,
        ),
        (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream",
            serde_json::json!({"messages": []}),
            "bedrock",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            [10, 5, 0, 0, 0],
            Some("0.000028 USD"),
            true,
        ),
        (
            "api.mistral.ai",
            "/v1/chat/completions",
            serde_json::json!({"model": "mistral-large-latest"}),
            "mistral",
            "mistral-large-latest",
            [1200, 300, 1000, 128, 0],
            Some("0.0042 USD"),
            false,
        ),
        (
            "api.groq.com",
            "/openai/v1/chat/completions",
            serde_json::json!({"model": "llama-3.3-70b-versatile"}),
            "groq",
            "llama-3.3-70b-versatile",
            [1200, 300, 1000, 128, 0],
            Some("0.000945 USD"),
            false,
        ),
        (
            "openrouter.ai",
            "/api/v1/chat/completions",
            serde_json::json!({"model": "openai/gpt-4o-mini"}),
            "openrouter",
            "openai/gpt-4o-mini",
            [1200, 300, 1000, 128, 0],
            Some("0.000285 USD"),
            false,
        ),
        (
            "api.deepseek.com",
            "/chat/completions",
            serde_json::json!({"model": "deepseek-chat"}),
            "deepseek",
            "deepseek-chat",
            [1200, 300, 1000, 128, 0],
            Some("0.000454 USD"),
            false,
        ),
        (
            "api.x.ai",
            "/v1/chat/completions",
            serde_json::json!({"model": "grok-3", "stream": true}),
            "xai",
            "grok-3",
            [1200, 300, 1000, 128, 0],
            Some("0.00585 USD"),
            true,
        ),
        (
            "api.together.xyz",
            "/v1/chat/completions",
            serde_json::json!({"model": "unpriced/model"}),
            "together",
            "unpriced/model",
            [1200, 300, 1000, 128, 0],
            None,
            false,
        ),
        (
            "acme.openai.azure.com",
            "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
            serde_json::json!({"messages": []}),
            "azure_openai",
            "gpt4o-prod",
            [1200, 300, 1000, 128, 0],
            None,
            false,
        ),
        (
            "127.0.0.1",
            "/api/chat",
            serde_json::json!({"model": "llama3.2", "messages": []}),
            "ollama",
            "llama3.2",
            [26, 12, 0, 0, 0],
            None,
            true,
        ),
    ];
    for (host, path, body, ..) in &cases {
        let (status, text) = env.post(host, path, body.clone()).await;
        assert_eq!(status, 200, "{host}{path}: {text}");
        assert!(
            text.len() > 40,
            "{host}{path}: the caller gets the whole body: {text}"
        );
    }
    let calls = env.calls().await;
    assert_eq!(calls.len(), cases.len());
    for (call, (host, path, _, provider, model, usage, cost, streamed)) in calls.iter().zip(&cases)
    {
        let what = format!("{host}{path}");
        assert_eq!(s(call, "provider"), Some(*provider), "{what}");
        assert_eq!(s(call, "model"), Some(*model), "{what}");
        assert_eq!(usage_of(call), *usage, "{what}");
        assert_eq!(s(call, "cost"), *cost, "{what}");
        assert_eq!(
            call.get("streamed"),
            Some(&Value::Bool(*streamed)),
            "{what}"
        );
        assert_eq!(
            call.get("status").and_then(Value::as_u64),
            Some(200),
            "{what}"
        );
        assert!(
            call.get("latency_ms")
                .and_then(Value::as_f64)
                .is_some_and(|ms| ms > 0.0),
            "{what}"
        );
        assert!(
            call.get("cut_short").is_none() && call.get("error").is_none(),
            "{what}"
        );
        assert_eq!(
            call.get("decision_id"),
            Some(&Value::Null),
            "{what}: no decision here"
        );
    }
    assert_eq!(
        s(&calls[0], "response_model"),
        Some("gpt-4o-2024-08-06"),
        "the response's model when it differs"
    );
    let raw = std::fs::read_to_string(&env.path).unwrap();
    assert!(
        !raw.contains("secret prompt text") && !raw.contains("Approved"),
        "no message content in the log"
    );
    env.done().await;
}

/// An answer that names no media type leaves the request to tell whether it streams: Ollama's
/// own API streams unless the body says `"stream": false`. The body is read for that after the
/// answer's head has come, and for the model after the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untyped_answer_is_read_as_the_request_asked() {
    let env = Env::new("client-untyped").await;
    for body in [
        serde_json::json!({"model": "llama3.2", "messages": []}),
        serde_json::json!({"model": "llama3.2:1b", "messages": [], "stream": false}),
    ] {
        let res = env
            .client
            .post(env.url("127.0.0.1", "/api/chat"))
            .header("x-fixture", "untyped")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("content-type").is_none());
        assert!(res.text().await.unwrap().contains("\"done\":true"));
    }
    let calls = env.calls().await;
    assert_eq!(calls.len(), 2);
    // No `stream` in the body: read as the stream of lines it is.
    assert_eq!(s(&calls[0], "model"), Some("llama3.2"));
    assert_eq!(calls[0].get("streamed"), Some(&Value::Bool(true)));
    assert_eq!(usage_of(&calls[0]), [26, 12, 0, 0, 0]);
    // `"stream": false`: read as one JSON answer, and the model is the body's.
    assert_eq!(s(&calls[1], "model"), Some("llama3.2:1b"));
    assert_eq!(calls[1].get("streamed"), Some(&Value::Bool(false)));
    env.done().await;
}

/// A recognizer of the user's own, a closure, routes by a header that no base URL expresses;
/// its calls are recorded like the built-in ones, and what it turns down passes unrecorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closure_recognizes_calls_the_table_cannot() {
    let env = Env::new("client-closure").await;
    let gateway = |req: &reqwest::Request| -> Option<Call> {
        let model = req.headers().get("x-upstream-model")?.to_str().ok()?;
        Some(Call::new("header-gateway", Api::OpenAiChat).model(model))
    };
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(AuditMiddleware::new(env.log.clone()).recognize_with(gateway))
        .build();
    let url = format!("http://{}/chat/completions", env.addr);
    for header in [Some("llama-3.3-70b"), None] {
        let mut req = client
            .post(&url)
            .body(serde_json::json!({"messages": []}).to_string());
        if let Some(model) = header {
            req = req.header("x-upstream-model", model);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Approved."));
    }
    let calls = env.calls().await;
    assert_eq!(
        calls.len(),
        1,
        "only the call the closure recognized: {calls:?}"
    );
    let call = &calls[0];
    assert_eq!(s(call, "provider"), Some("header-gateway"));
    assert_eq!(s(call, "model"), Some("llama-3.3-70b"));
    // The response names another model; it is kept beside the one asked for.
    assert_eq!(s(call, "response_model"), Some("gpt-4o-2024-08-06"));
    assert_eq!(usage_of(call), [1200, 300, 1000, 128, 0]);
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_and_other_calls_pass_untouched() {
    let env = Env::new("client-failures").await;
    // 429.
    let res = env
        .client
        .post(env.url("api.openai.com", "/v1/chat/completions"))
        .header("x-fixture", "429")
        .header("authorization", "Bearer sk-proj-not-a-real-key-0123456789")
        .body(serde_json::json!({"model": "gpt-4o"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Rate limit"));
    // Broken off mid-stream, under a `200`.
    let res = env
        .client
        .post(env.url("api.anthropic.com", "/v1/messages"))
        .header("x-fixture", "overloaded")
        .body(serde_json::json!({"model": "claude-sonnet-4-5", "stream": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("overloaded_error"));
    // Timeout.
    let err = env
        .client
        .post(env.url("api.anthropic.com", "/v1/messages"))
        .header("x-fixture", "slow")
        .header("x-api-key", "sk-ant-not-a-real-key-0123456789")
        .body(serde_json::json!({"model": "claude-sonnet-4-5"}).to_string())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Connection refused: a registered provider on a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refusing = ClientBuilder::new(reqwest::Client::new())
        .with(AuditMiddleware::new(env.log.clone()).recognize_with(
            Providers::new().openai_compatible("gateway", &format!("http://{closed}")),
        ))
        .build();
    let err = refusing
        .post(format!("http://{closed}/v1/chat/completions"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err}");
    // Not a model call, and an opted-out call: untouched, unrecorded.
    let health = env
        .client
        .get(env.url("api.openai.com", "/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let skipped = env
        .client
        .post(env.url("api.openai.com", "/v1/embeddings"))
        .with_extension(SkipAudit)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.status(), 200);

    let calls = env.calls().await;
    let errors: Vec<(Option<&str>, Option<u64>)> = calls
        .iter()
        .map(|c| (s(c, "error"), c.get("status").and_then(Value::as_u64)))
        .collect();
    assert_eq!(
        errors,
        [
            (Some("http_429"), Some(429)),
            (Some("error_in_response"), Some(200)),
            (Some("timeout"), None),
            (Some("connect"), None)
        ]
    );
    assert_eq!(s(&calls[0], "error_message"), Some("Rate limit reached"));
    assert_eq!(s(&calls[1], "error_message"), Some("Overloaded"));
    assert_eq!(s(&calls[3], "provider"), Some("gateway"));
    // The auditor's tables count it failed, with its message.
    let summary = acttrace::evidence::summary::Summary::read(&env.path).unwrap();
    let failed: Vec<(&str, Option<&str>)> = summary
        .failed_calls
        .iter()
        .map(|f| (f.error.as_str(), f.message.as_deref()))
        .collect();
    assert_eq!(failed[1], ("error_in_response", Some("Overloaded")));
    let raw = std::fs::read_to_string(&env.path).unwrap();
    assert!(
        !raw.contains("not-a-real-key"),
        "no API key or auth header in the log"
    );
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_stream_is_recorded_as_cut_short() {
    let env = Env::new("client-abandoned").await;
    let mut res = env
        .client
        .post(env.url("api.anthropic.com", "/v1/messages"))
        .header("x-hang", "1")
        .body(serde_json::json!({"model": "claude-sonnet-4-5", "stream": true}).to_string())
        .send()
        .await
        .unwrap();
    // Read until the first event is through, then walk away. The server never ends this
    // stream, so the events can only arrive if the middleware hands each byte on as it comes
    // (holding any back to wait for more would time out here).
    let mut seen = Vec::new();
    let first_events = async {
        while !String::from_utf8_lossy(&seen).contains("content_block_start") {
            seen.extend_from_slice(&res.chunk().await.unwrap().unwrap());
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), first_events)
        .await
        .expect("the events the server sent reach the caller while the stream is open");
    drop(res);
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].get("cut_short"), Some(&Value::Bool(true)));
    // What was seen before the cut: message_start's input and cache counts.
    assert_eq!(usage_of(&calls[0]), [2350, 1, 2000, 0, 300]);
    env.done().await;
}

/// An environment whose one call to `path` streams what the test sends, as it sends it, and
/// ends when the test drops its sender.
async fn fed_stream(name: &str, path: &str) -> (Env, tokio::sync::mpsc::UnboundedSender<Bytes>) {
    let (send, feed) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let feed = std::sync::Arc::new(std::sync::Mutex::new(Some(Fed(feed))));
    let app = Router::new().route(
        path,
        post(move || {
            let body = feed.lock().unwrap().take();
            async move {
                let Some(body) = body else {
                    return StatusCode::CONFLICT.into_response(); // one call only
                };
                let mut res = Body::new(body).into_response();
                let sse = "text/event-stream".parse().unwrap();
                res.headers_mut().insert("content-type", sse);
                res
            }
        }),
    );
    (Env::serving(name, app).await, send)
}

/// A stream sent event by event, each read by the caller before the next is sent (as a
/// model's tokens come): the tap reads what it holds while the caller waits, in batches, and
/// the rest at the end; every byte passes unchanged, and the usage (Anthropic's: input and
/// cache at the start, output at the end) and the answering model are recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_sent_event_by_event_is_read_while_the_caller_waits() {
    let (env, send) = fed_stream("client-event-by-event", "/v1/messages").await;
    let mut res = env
        .client
        .post(env.url("api.anthropic.com", "/v1/messages"))
        .body(serde_json::json!({"model": "claude-sonnet-4-5", "stream": true}).to_string())
        .send()
        .await
        .unwrap();
    let event = |name: &str, data: serde_json::Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![
        event(
            "message_start",
            serde_json::json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null, "usage": {"input_tokens": 300, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 0, "output_tokens": 1}}}),
        ),
        event(
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    events.extend((0..40).map(|i| {
        event(
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": format!("token {i} ")}}),
        )
    }));
    events.push(event(
        "content_block_stop",
        serde_json::json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(event(
        "message_delta",
        serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 40}}),
    ));
    events.push(event(
        "message_stop",
        serde_json::json!({"type": "message_stop"}),
    ));
    let mut seen = Vec::new();
    for event in &events {
        send.send(Bytes::from(event.clone())).unwrap();
        let want = seen.len() + event.len();
        while seen.len() < want {
            seen.extend_from_slice(&res.chunk().await.unwrap().expect("more to come"));
        }
    }
    drop(send);
    assert_eq!(res.chunk().await.unwrap(), None);
    assert_eq!(seen, events.concat().as_bytes(), "every byte, unchanged");
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(usage_of(call), [2300, 40, 2000, 0, 0]);
    assert_eq!(
        (s(call, "model"), s(call, "response_model")),
        (
            Some("claude-sonnet-4-5"),
            Some("claude-sonnet-4-5-20250929")
        )
    );
    assert_eq!(call.get("streamed"), Some(&Value::Bool(true)));
    env.done().await;
}

/// The tap holds no byte back, not even to finish an event: the first half of an event reaches
/// the caller while its second half has not been sent, and the event, read across the two,
/// still gives the call's usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_an_event_reaches_the_caller_before_the_rest_is_sent() {
    let (env, send) = fed_stream("client-half-event", "/v1/chat/completions").await;
    let mut res = env
        .client
        .post(env.url("api.openai.com", "/v1/chat/completions"))
        .body(serde_json::json!({"model": "gpt-4o-mini", "stream": true}).to_string())
        .send()
        .await
        .unwrap();
    let (first, rest) = (
        r#"data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":41,"#,
        "\"completion_tokens\":9,\"total_tokens\":50}}\n\ndata: [DONE]\n\n",
    );
    send.send(Bytes::from_static(first.as_bytes())).unwrap();
    let mut seen = Vec::new();
    let half = async {
        while seen.len() < first.len() {
            seen.extend_from_slice(&res.chunk().await.unwrap().expect("more to come"));
        }
    };
    // Within the client's own timeout (1.5 s), so that a byte held back fails here.
    tokio::time::timeout(Duration::from_secs(1), half)
        .await
        .expect("the first half of the event reaches the caller before the rest is sent");
    assert_eq!(seen, first.as_bytes());
    send.send(Bytes::from_static(rest.as_bytes())).unwrap();
    drop(send);
    while let Some(chunk) = res.chunk().await.unwrap() {
        seen.extend_from_slice(&chunk);
    }
    assert_eq!(
        seen,
        [first, rest].concat().as_bytes(),
        "every byte, unchanged"
    );
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(usage_of(&calls[0]), [41, 9, 0, 0, 0]);
    assert_eq!(calls[0].get("streamed"), Some(&Value::Bool(true)));
    assert_eq!(calls[0].get("cut_short"), None);
    env.done().await;
}

/// A caller's own deadline around a call (shorter than the client's timeout) drops the call's
/// future while the provider still works on it: the call is recorded all the same.
#[tokio::test]
async fn a_call_given_up_before_its_answer_is_recorded_as_cancelled() {
    let env = Env::new("client-cancelled").await;
    let send = env
        .client
        .post(env.url("api.openai.com", "/v1/chat/completions"))
        .header("x-fixture", "slow")
        .body(serde_json::json!({"model": "gpt-4o-mini", "stream": true}).to_string())
        .send();
    let given_up = tokio::time::timeout(Duration::from_millis(200), send).await;
    assert!(given_up.is_err(), "the fixture answers only after 5 s");
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (s(call, "error"), s(call, "model"), s(call, "provider")),
        (Some("cancelled"), Some("gpt-4o-mini"), Some("openai"))
    );
    assert_eq!(call.get("status"), Some(&Value::Null));
    assert_eq!(call.get("streamed"), Some(&Value::Bool(false)));
    // Counted from the call's first poll, a moment after the caller's 200 ms began (longer
    // on a loaded machine); never the 5 s the answer would have taken.
    let latency = call.get("latency_ms").and_then(Value::as_f64).unwrap();
    assert!((150.0..5000.0).contains(&latency), "{latency} ms");
    env.done().await;
}

/// A middleware before the audit's that hands a call on and then drops it unsent (a circuit
/// breaker that trips, a budget that runs out): the call is recorded as `cancelled`, not lost.
#[tokio::test]
async fn a_call_dropped_unsent_by_an_outer_middleware_is_recorded_as_cancelled() {
    fn trip<'a>(
        req: reqwest::Request,
        ext: &'a mut axum::http::Extensions,
        next: reqwest_middleware::Next<'a>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<reqwest::Response>> + Send + 'a>>
    {
        drop(next.run(req, ext));
        Box::pin(async {
            Err(reqwest_middleware::Error::middleware(
                std::io::Error::other("breaker open"),
            ))
        })
    }
    let env = Env::new("client-dropped-unsent").await;
    let client = Env::client(&env.log, env.addr, |c| ClientBuilder::new(c).with(trip));
    let res = client
        .post(env.url("api.openai.com", "/v1/chat/completions"))
        .body(serde_json::json!({"model": "gpt-4o-mini"}).to_string())
        .send()
        .await;
    assert!(res.is_err(), "the breaker refuses the call");
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (s(&calls[0], "error"), s(&calls[0], "model")),
        (Some("cancelled"), Some("gpt-4o-mini"))
    );
    assert_eq!(calls[0].get("status"), Some(&Value::Null));
    env.done().await;
}

/// The caller gets the response as reqwest made it, only its body tapped: status, headers,
/// `url()` (the final one after a redirect) and `remote_addr()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tapped_response_keeps_its_status_headers_and_url() {
    let env = Env::new("client-response").await;
    for asked in ["/v1/chat/completions", "/v0/chat/completions"] {
        let res = env
            .client
            .post(env.url("api.openai.com", asked))
            .body(serde_json::json!({"model": "gpt-4o"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.url().as_str(),
            env.url("api.openai.com", "/v1/chat/completions"),
            "asked {asked}"
        );
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.remote_addr(), Some(env.addr));
        assert!(res.text().await.unwrap().contains("Approved."));
    }
    let calls = env.calls().await;
    assert_eq!(calls.len(), 2, "one entry per call, its redirect included");
    for call in &calls {
        assert_eq!(usage_of(call), [1200, 300, 1000, 128, 0]);
        assert_eq!(call.get("status").and_then(Value::as_u64), Some(200));
    }
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_tagged_with_their_decision() {
    let env = Env::new("client-tagging").await;
    let body = serde_json::json!({"model": "gpt-4o-mini"}).to_string();
    // In a decision's scope (the task-local the inbound layer sets).
    let id_scope = DecisionId::random();
    Decision::for_id(env.log.clone(), id_scope.clone())
        .scope(async {
            env.client
                .post(env.url("api.openai.com", "/v1/chat/completions"))
                .body(body.clone())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        })
        .await;
    // Explicitly, through the request's extensions (off-task work).
    let id_ext = DecisionId::random();
    env.client
        .post(env.url("api.openai.com", "/v1/chat/completions"))
        .with_extension(Decision::for_id(env.log.clone(), id_ext.clone()))
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let calls = env.calls().await;
    assert_eq!(s(&calls[0], "decision_id"), Some(id_scope.as_str()));
    assert_eq!(s(&calls[1], "decision_id"), Some(id_ext.as_str()));
    env.done().await;
}

/// The inbound layer and the outbound middleware together: a handler's model calls, in the
/// handler and in a task it spawns with the decision bound, carry the request's decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_calls_inside_a_handler_carry_the_request_decision() {
    let env = Env::new("client-inbound").await;
    let client = env.client.clone();
    let url = env.url("api.openai.com", "/v1/chat/completions");
    let app = Router::new()
        .route(
            "/agent",
            post(move |decision: Decision| {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    let body = serde_json::json!({"model": "gpt-4o", "stream": true}).to_string();
                    client
                        .post(&url)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                    let spawned = tokio::spawn(decision::bind(async move {
                        client
                            .post(&url)
                            .body(body)
                            .send()
                            .await
                            .unwrap()
                            .text()
                            .await
                            .unwrap();
                    }));
                    spawned.await.unwrap();
                    let mut f = Map::new();
                    f.insert("outcome", "approved");
                    decision.record(f).await.unwrap();
                    decision.id().to_string()
                }
            }),
        )
        .layer(AuditLayer::new(env.log.clone()));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let res = app
            .clone()
            .oneshot(http::Request::post("/agent").body(Body::empty()).unwrap())
            .await
            .unwrap();
        ids.push(
            String::from_utf8(
                http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            )
            .unwrap(),
        );
    }
    let calls = env.calls().await;
    assert_eq!(calls.len(), 6);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            s(&calls[2 * i], "decision_id"),
            Some(id.as_str()),
            "the handler's own call"
        );
        assert_eq!(
            s(&calls[2 * i + 1], "decision_id"),
            Some(id.as_str()),
            "the spawned task's call"
        );
    }
    env.done().await;
}

/// A call of no known shape is recorded with its path, and a path can hold a secret: a Slack
/// or Discord webhook's, a Telegram bot's token. Recorded without its host, the path is still
/// known for one, and redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_an_unrecognized_calls_path_stay_out() {
    let env = Env::new("client-path-secrets").await;
    let discord = format!(
        "/api/webhooks/123456789012345678/{}",
        "AbCd-EfGh_Ij".repeat(6)
    );
    let paths = [
        "/services/T0123ABCD/B0456EFGH/Ab12Cd34Ef56Gh78Ij90Kl12".to_owned(),
        discord,
        "/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage".to_owned(),
    ];
    let body = serde_json::json!({"model": "gpt-4o", "input": "Review application A-17"});
    for path in &paths {
        // The fixture knows no such path (404): the call is recorded all the same.
        env.post("localhost", path, body.clone()).await;
    }
    let calls = env.calls().await;
    assert_eq!(calls.len(), 3, "{calls:?}");
    for (call, path) in calls.iter().zip(&paths) {
        assert_eq!(
            call.get("recognized"),
            Some(&Value::Bool(false)),
            "{call:?}"
        );
        let recorded = call.get("url_path").and_then(Value::as_str).unwrap();
        assert!(recorded.contains("<redacted>"), "{recorded}");
        let secret = path.rsplit(['/', ':']).find(|s| s.len() >= 20).unwrap();
        assert!(!call.to_string().contains(secret), "{call:?}");
    }
    env.done().await;
}

/// What the table does not know is recorded, not passed: a transcription sent as multipart to
/// OpenAI's host (recorded as an unrecognized `openai` call with its path and usage, its
/// operation not guessed), Bedrock's `InvokeModel` (Claude's answer read as Anthropic's, a
/// Llama answer by Bedrock's token-count headers, a stream by the events in its base64
/// chunks), and Claude on Vertex AI (`rawPredict`, `streamRawPredict`). A `GET` there is not a
/// call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_the_table_does_not_know_are_recorded_not_passed() {
    let env = Env::new("client-unknown-paths").await;
    let multipart = "--b0\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-4o-transcribe\r\n\
                     --b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\
                     Content-Type: audio/wav\r\n\r\nRIFF....WAVE\r\n--b0--\r\n";
    let res = env
        .client
        .post(env.url("api.openai.com", "/v1/audio/transcriptions"))
        .header("content-type", "multipart/form-data; boundary=b0")
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("asks for a review"));
    let health = env.client.get(env.url("api.openai.com", "/health")).send();
    assert_eq!(health.await.unwrap().text().await.unwrap(), "ok");
    let bedrock = "bedrock-runtime.us-east-1.amazonaws.com";
    let claude = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke";
    let body = serde_json::json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
        "messages": [{"role": "user", "content": "Review application A-17"}]});
    assert_eq!(env.post(bedrock, claude, body.clone()).await.0, 200);
    let llama = "/model/meta.llama3-70b-instruct-v1:0/invoke";
    let prompt = serde_json::json!({"prompt": "Review application A-17", "max_gen_len": 64});
    assert_eq!(env.post(bedrock, llama, prompt).await.0, 200);
    let streamed = "/model/anthropic.claude-3-5-sonnet-20241022-v2:0/invoke-with-response-stream";
    let (status, text) = env.post(bedrock, streamed, body).await;
    assert_eq!(status, 200);
    assert!(
        text.contains(":event-type"),
        "the stream reaches the caller whole"
    );
    let llama_stream = "/model/meta.llama3-70b-instruct-v1:0/invoke-with-response-stream";
    let prompt = serde_json::json!({"prompt": "Review application A-17", "max_gen_len": 64});
    assert_eq!(env.post(bedrock, llama_stream, prompt).await.0, 200);
    let vertex = "us-east5-aiplatform.googleapis.com";
    let publisher = "/v1/projects/p/locations/us-east5/publishers/anthropic/models";
    let ask = |stream: bool| {
        serde_json::json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 64,
            "stream": stream, "messages": [{"role": "user", "content": "Review A-17"}]})
    };
    let raw = format!("{publisher}/claude-sonnet-4@20250514:rawPredict");
    assert_eq!(env.post(vertex, &raw, ask(false)).await.0, 200);
    let raw_stream = format!("{publisher}/claude-sonnet-4@20250514:streamRawPredict");
    assert_eq!(env.post(vertex, &raw_stream, ask(true)).await.0, 200);

    let calls = env.calls().await;
    assert_eq!(calls.len(), 7, "{calls:?}");
    let transcription = &calls[0];
    assert_eq!(s(transcription, "provider"), Some("openai"));
    assert_eq!(transcription.get("recognized"), Some(&Value::Bool(false)));
    assert_eq!(
        s(transcription, "url_path"),
        Some("/v1/audio/transcriptions")
    );
    assert_eq!(transcription.get("operation"), None, "not guessed");
    assert_eq!(usage_of(transcription), [120, 9, 0, 0, 0]);
    let expect = [
        // Bedrock, Claude: the body's counts (cache reads counted in), over the headers'.
        (
            "bedrock",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            [140, 9, 100, 0, 0],
            false,
        ),
        // Bedrock, Llama: the headers' counts.
        (
            "bedrock",
            "meta.llama3-70b-instruct-v1:0",
            [30, 12, 0, 0, 0],
            false,
        ),
        // Bedrock, Claude streamed: its events, then Bedrock's own counts.
        (
            "bedrock",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            [140, 9, 100, 0, 0],
            true,
        ),
        // Bedrock, Llama streamed: Bedrock's counts in the last chunk.
        (
            "bedrock",
            "meta.llama3-70b-instruct-v1:0",
            [30, 12, 0, 0, 0],
            true,
        ),
        (
            "vertex_ai",
            "claude-sonnet-4@20250514",
            [2350, 70, 2000, 0, 300],
            false,
        ),
        (
            "vertex_ai",
            "claude-sonnet-4@20250514",
            [2350, 70, 2000, 0, 300],
            true,
        ),
    ];
    for (call, (provider, model, usage, streamed)) in calls[1..].iter().zip(expect) {
        assert_eq!(s(call, "provider"), Some(provider), "{call:?}");
        assert_eq!(s(call, "model"), Some(model), "{call:?}");
        assert_eq!(usage_of(call), usage, "{call:?}");
        assert_eq!(
            call.get("streamed"),
            Some(&Value::Bool(streamed)),
            "{call:?}"
        );
        assert_eq!(call.get("recognized"), None, "{call:?}");
        assert_eq!(s(call, "operation"), Some("chat"), "{call:?}");
    }
    assert_eq!(s(&calls[3], "response_id"), Some("msg_s1"));
    assert_eq!(calls[3].get("usage_reported"), None);
    // The auditor's report and `stats` say what was not recognized, and where it went.
    let page = env.path.with_extension("html");
    acttrace::evidence::report::write_report(
        &env.path,
        &page,
        &acttrace::evidence::report::ReportOptions::new(),
    )
    .unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("1 of these model calls went to endpoints the recorder does not know")
            && html.contains("<li>openai: <code>/v1/audio/transcriptions</code>, 1</li>"),
        "{html}"
    );
    let summary = acttrace::evidence::summary::Summary::read(&env.path).unwrap();
    let unrecognized: Vec<(&str, u64)> = summary
        .models
        .iter()
        .map(|m| (m.provider.as_str(), m.unrecognized))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(unrecognized, [("openai", 1)]);
    #[cfg(feature = "cli")]
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_acttrace"))
            .arg("stats")
            .arg(&env.path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("endpoints the recorder does not know (recognized: false): 1;"),
            "{said}"
        );
    }
    env.done().await;
}

/// Cohere's own API is read, not only recorded: v2 chat whole (its tool call) and streamed
/// (SSE), v1 chat streamed (NDJSON), embeddings; the billed units, not the tokens processed;
/// a refused key's message. Its rerank is recorded as a call the table does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohere_s_own_api_is_read() {
    let env = Env::new("client-cohere").await;
    let co = "api.cohere.com";
    let ask = |stream: bool| {
        serde_json::json!({"model": "command-a-03-2025", "stream": stream,
            "messages": [{"role": "user", "content": "Review application A-17"}]})
    };
    assert_eq!(env.post(co, "/v2/chat", ask(false)).await.0, 200);
    let (status, text) = env.post(co, "/v2/chat", ask(true)).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("event: message-end"),
        "the stream reaches the caller whole"
    );
    let (status, text) = env.post(co, "/v1/chat", ask(true)).await;
    assert_eq!(status, 200);
    assert!(text.contains("stream-end"), "{text}");
    let texts = serde_json::json!({"model": "embed-v4.0", "texts": ["A-17"], "input_type": "search_document"});
    assert_eq!(env.post(co, "/v2/embed", texts).await.0, 200);
    let query = serde_json::json!({"model": "rerank-v3.5", "query": "A-17", "documents": ["A-17"]});
    assert_eq!(env.post(co, "/v2/rerank", query).await.0, 200);
    let refused = env
        .client
        .post(env.url(co, "/v2/chat"))
        .bearer_auth("bad")
        .body(ask(false).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("invalid api token"));

    let calls = env.calls().await;
    assert_eq!(calls.len(), 6, "{calls:?}");
    assert!(
        calls.iter().all(|c| s(c, "provider") == Some("cohere")),
        "{calls:?}"
    );
    let expect = [
        ("command-a-03-2025", "chat", [9, 40], false, "TOOL_CALL"),
        ("command-a-03-2025", "chat", [9, 40], true, "COMPLETE"),
        ("command-a-03-2025", "chat", [9, 40], true, "COMPLETE"),
    ];
    for (call, (model, operation, usage, streamed, reason)) in calls.iter().zip(expect) {
        assert_eq!(s(call, "model"), Some(model), "{call:?}");
        assert_eq!(s(call, "operation"), Some(operation), "{call:?}");
        assert_eq!(usage_of(call), [usage[0], usage[1], 0, 0, 0], "{call:?}");
        assert_eq!(
            call.get("streamed"),
            Some(&Value::Bool(streamed)),
            "{call:?}"
        );
        let reasons = call.get("finish_reasons").and_then(Value::as_array);
        assert_eq!(reasons.map(|r| r.len()), Some(1), "{call:?}");
        assert_eq!(
            reasons.and_then(|r| r[0].as_str()),
            Some(reason),
            "{call:?}"
        );
        assert_eq!(call.get("recognized"), None, "{call:?}");
        assert_eq!(call.get("usage_reported"), None, "{call:?}");
    }
    assert_eq!(s(&calls[0], "response_id"), Some("co-1"));
    // Priced on the billed units: 9 input tokens at 2.50 USD and 40 output at 10 a million.
    assert_eq!(s(&calls[0], "cost"), Some("0.0004225 USD"));
    assert_eq!(
        s(&calls[3], "cost"),
        Some("0.00000036 USD"),
        "3 tokens at 0.12"
    );
    let tool = calls[0]
        .get("tool_calls")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(tool.len(), 1);
    assert_eq!(
        (s(&tool[0], "id"), s(&tool[0], "name")),
        (Some("tc_1"), Some("credit_score"))
    );
    assert!(
        !calls[0].to_string().contains("A-17"),
        "a tool's arguments never enter the log: {}",
        calls[0]
    );
    let embed = &calls[3];
    assert_eq!(
        (s(embed, "model"), s(embed, "operation")),
        (Some("embed-v4.0"), Some("embeddings"))
    );
    assert_eq!(usage_of(embed), [3, 0, 0, 0, 0]);
    let rerank = &calls[4];
    assert_eq!(
        rerank.get("recognized"),
        Some(&Value::Bool(false)),
        "{rerank:?}"
    );
    assert_eq!(s(rerank, "url_path"), Some("/v2/rerank"));
    assert_eq!(
        rerank.get("usage_reported"),
        Some(&Value::Bool(false)),
        "no tokens: said so"
    );
    let refused = &calls[5];
    assert_eq!(s(refused, "error"), Some("http_401"));
    assert_eq!(s(refused, "error_message"), Some("invalid api token"));
    env.done().await;
}

/// A streamed answer's tool calls and reason to stop are recorded as a whole answer's are:
/// OpenAI's chat (the reason in an event of its own, neither the first nor the usage's),
/// Anthropic's and Bedrock's `converse-stream`. The calls' arguments never enter the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_tool_calls_and_finish_reasons_are_recorded() {
    let openai = || async {
        let chunk = |choice: serde_json::Value| {
            serde_json::json!({"id": "chatcmpl-t", "object": "chat.completion.chunk",
                "model": "gpt-4o-2024-08-06", "choices": [choice], "usage": null})
        };
        let call = |index: u32, id: &str, name: &str| {
            chunk(
                serde_json::json!({"index": 0, "finish_reason": null, "delta": {"tool_calls": [
                {"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}}),
            )
        };
        let arguments = chunk(
            serde_json::json!({"index": 0, "finish_reason": null, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": "{\"applicant\": \"SECRET-A-17\"}"}}]}}),
        );
        let events = [
            ("", call(0, "call_a", "credit_score")),
            ("", arguments),
            ("", call(1, "call_b", "income_check")),
            (
                "",
                chunk(serde_json::json!({"index": 0, "delta": {}, "finish_reason": "tool_calls"})),
            ),
            (
                "",
                serde_json::json!({"id": "chatcmpl-t", "object": "chat.completion.chunk",
                "model": "gpt-4o-2024-08-06", "choices": [],
                "usage": {"prompt_tokens": 80, "completion_tokens": 30, "total_tokens": 110}}),
            ),
        ];
        chunked("text/event-stream", &sse(&events, true), 9, false)
    };
    let anthropic = || async {
        let events = [
            (
                "message_start",
                serde_json::json!({"type": "message_start", "message": {"id": "msg_t",
                "model": "claude-sonnet-4-5-20250929", "content": [], "usage": {"input_tokens": 60, "output_tokens": 1}}}),
            ),
            (
                "content_block_start",
                serde_json::json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_t", "name": "credit_score", "input": {}}}),
            ),
            (
                "content_block_delta",
                serde_json::json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "{\"applicant\": \"SECRET-A-17\"}"}}),
            ),
            (
                "content_block_stop",
                serde_json::json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                "message_delta",
                serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 25}}),
            ),
            ("message_stop", serde_json::json!({"type": "message_stop"})),
        ];
        chunked("text/event-stream", &sse(&events, false), 5, false)
    };
    let converse = || async {
        let mut body =
            event_stream_message("messageStart", &serde_json::json!({"role": "assistant"}));
        body.extend(event_stream_message(
            "contentBlockStart",
            &serde_json::json!({"contentBlockIndex": 0,
            "start": {"toolUse": {"toolUseId": "tooluse_t", "name": "credit_score"}}}),
        ));
        body.extend(event_stream_message(
            "contentBlockDelta",
            &serde_json::json!({"contentBlockIndex": 0,
            "delta": {"toolUse": {"input": "{\"applicant\": \"SECRET-A-17\"}"}}}),
        ));
        body.extend(event_stream_message(
            "messageStop",
            &serde_json::json!({"stopReason": "tool_use"}),
        ));
        body.extend(event_stream_message(
            "metadata",
            &serde_json::json!({
            "usage": {"inputTokens": 70, "outputTokens": 20}, "metrics": {"latencyMs": 100}}),
        ));
        chunked("application/vnd.amazon.eventstream", &body, 13, false)
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .route("/model/{*rest}", post(converse));
    let env = Env::serving("client-streamed-tools", app).await;
    let ask = serde_json::json!({"model": "gpt-4o", "stream": true,
        "messages": [{"role": "user", "content": "Review application A-17"}],
        "tools": [{"type": "function", "function": {"name": "credit_score",
            "description": "SECRET-A-17 is how it scores", "parameters": {}}},
            {"type": "function", "function": {"name": "income_check"}}]});
    assert_eq!(
        env.post("api.openai.com", "/v1/chat/completions", ask.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        env.post("api.anthropic.com", "/v1/messages", ask.clone())
            .await
            .0,
        200
    );
    let bedrock = "bedrock-runtime.us-east-1.amazonaws.com";
    let path = "/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse-stream";
    assert_eq!(env.post(bedrock, path, ask).await.0, 200);

    let calls = env.calls().await;
    assert_eq!(calls.len(), 3, "{calls:?}");
    let tools = |call: &Value| -> Vec<(String, String)> {
        let list = call.get("tool_calls").and_then(Value::as_array);
        list.unwrap_or_else(|| panic!("no tool calls: {call:?}"))
            .iter()
            .map(|t| {
                (
                    s(t, "id").unwrap().to_owned(),
                    s(t, "name").unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |id: &str, name: &str| (id.to_owned(), name.to_owned());
    let reason = |call: &Value| {
        let reasons = call.get("finish_reasons").and_then(Value::as_array);
        reasons
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tools(&calls[0]),
        [
            pair("call_a", "credit_score"),
            pair("call_b", "income_check")
        ]
    );
    assert_eq!(reason(&calls[0]), ["tool_calls"]);
    assert_eq!(usage_of(&calls[0]), [80, 30, 0, 0, 0]);
    assert_eq!(tools(&calls[1]), [pair("toolu_t", "credit_score")]);
    assert_eq!(reason(&calls[1]), ["tool_use"]);
    assert_eq!(tools(&calls[2]), [pair("tooluse_t", "credit_score")]);
    assert_eq!(usage_of(&calls[2]), [70, 20, 0, 0, 0]);
    assert_eq!(reason(&calls[2]), ["tool_use"]);
    for call in &calls {
        assert_eq!(call.get("streamed"), Some(&Value::Bool(true)), "{call:?}");
        // The tools the request offered, by name.
        assert_eq!(
            call.get("tools_offered")
                .map(Value::to_line_json)
                .as_deref(),
            Some(r#"["credit_score", "income_check"]"#),
            "{call:?}"
        );
    }
    let log = std::fs::read_to_string(&env.path).unwrap();
    assert!(
        !log.contains("SECRET-A-17"),
        "a tool's arguments never enter the log"
    );
    env.done().await;
}

/// An answer too large to keep whole (a batch of embeddings, 9 MiB) reaches the caller whole,
/// has its usage read from its end, and says that it went unread (not that the provider
/// reported no usage).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_too_large_to_keep_has_its_usage_read_from_its_end() {
    fn batch() -> Vec<u8> {
        let mut body = br#"{"object":"list","data":["#.to_vec();
        let vector = br#"{"object":"embedding","index":0,"embedding":[0.0123456789,-0.0123456789,0.0123456789]},"#;
        while body.len() < 9 << 20 {
            body.extend_from_slice(vector);
        }
        body.pop();
        body.extend_from_slice(
            br#"],"model":"text-embedding-3-small","usage":{"prompt_tokens":512000,"total_tokens":512000}}"#,
        );
        body
    }
    let app = Router::new().route(
        "/v1/embeddings",
        post(|| async { chunked("application/json", &batch(), 64 << 10, false) }),
    );
    let env = Env::serving("client-large-answer", app).await;
    let texts = serde_json::json!({"model": "text-embedding-3-small", "input": ["A-17"]});
    let res = env
        .client
        .post(env.url("api.openai.com", "/v1/embeddings"))
        .body(texts.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.bytes().await.unwrap().len(),
        batch().len(),
        "the caller gets it whole"
    );
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(usage_of(&calls[0]), [512_000, 0, 0, 0, 0]);
    assert_eq!(
        calls[0].get("unread_events").and_then(Value::as_u64),
        Some(1)
    );
    assert_eq!(calls[0].get("usage_reported"), None);
    assert!(s(&calls[0], "cost").is_some(), "priced from the usage read");
    env.done().await;
}

/// An endpoint registered with a base URL that is not one (no scheme) is reported at warn
/// level, naming the provider, not dropped in silence; one with space around it is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_cannot_be_registered_is_reported() {
    crate::outage::logs::install();
    let env = Env::new("client-bad-endpoint").await;
    let providers = Providers::new()
        .endpoint("typo-gateway", "llm.internal.example/v1", Api::OpenAiChat)
        .endpoint(
            "spaced-gateway",
            &format!("  http://{}/v1  ", env.addr),
            Api::OpenAiChat,
        );
    let warned = crate::outage::logs::warnings_about("typo-gateway");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("not registered"), "{warned:?}");
    assert!(crate::outage::logs::warnings_about("spaced-gateway").is_empty());
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(AuditMiddleware::new(env.log.clone()).recognize_with(providers))
        .build();
    let res = client
        .post(format!("http://{}/v1/chat/completions", env.addr))
        .body(serde_json::json!({"model": "gpt-4o", "messages": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The call is recorded when its answer has been read.
    assert!(res.text().await.unwrap().contains("Approved."));
    let calls = env.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(s(&calls[0], "provider"), Some("spaced-gateway"));
    env.done().await;
}

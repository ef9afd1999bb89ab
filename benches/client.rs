//! What `AuditMiddleware` adds to a model call, measured against a local server.
//!
//! ```text
//! cargo bench --bench client -- [--calls N] [--rounds R]
//! ```
//!
//! An axum server on 127.0.0.1 answers OpenAI-shaped chat completions (JSON with usage) and
//! streams (the first event at once, the rest 20 ms later). One keep-alive reqwest client
//! without middleware and one with `AuditMiddleware` (writing with `Durability::Fsync`) call it
//! in alternating rounds. Reported: mean time per non-streamed call (body read), and mean time
//! to the first streamed byte, each with and without the middleware.

use std::time::{Duration, Instant};

use acttrace::chain::{AuditLog, VerifyOptions, verify_path};
use acttrace::client::AuditMiddleware;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use axum::routing::post;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

const JSON: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Approved."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1000},"completion_tokens_details":{"reasoning_tokens":128}}}"#;

async fn chat(body: String) -> axum::response::Response {
    if body.contains("\"stream\":true") {
        // First event now, the rest later: time to first byte is what is measured.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        tokio::spawn(async move {
            let _ = tx.send(Bytes::from_static(b"data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n")).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx
                .send(Bytes::from_static(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"))
                .await;
        });
        let mut res = Body::new(Chan(rx)).into_response();
        res.headers_mut()
            .insert("content-type", "text/event-stream".parse().expect("static"));
        return res;
    }
    ([("content-type", "application/json")], JSON).into_response()
}

struct Chan(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for Chan {
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

async fn timed_calls(client: &ClientWithMiddleware, url: &str, n: u32) -> Duration {
    let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}"#;
    let start = Instant::now();
    for _ in 0..n {
        let res = client.post(url).body(body).send().await.expect("send");
        let _ = res.bytes().await.expect("body");
    }
    start.elapsed() / n
}

/// Time from sending a streamed call to its first byte.
async fn first_byte(client: &ClientWithMiddleware, url: &str) -> Duration {
    let body = r#"{"model":"gpt-4o","stream":true}"#;
    let start = Instant::now();
    let mut res = client.post(url).body(body).send().await.expect("send");
    let _ = res.chunk().await.expect("first chunk");
    let took = start.elapsed();
    while res.chunk().await.expect("chunk").is_some() {}
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let (mut calls, mut rounds) = (5000u32, 3u32);
    let mut redaction = Some(acttrace::chain::RedactionPolicy::default_preset());
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--calls" => calls = value().parse().unwrap_or(calls),
            "--rounds" => rounds = value().parse().unwrap_or(rounds),
            "--redaction" => redaction = acttrace::chain::RedactionPolicy::preset(&value()),
            _ => {}
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use axum::serve::ListenerExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Small SSE writes must leave at once, not wait on Nagle's algorithm.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, Router::new().route("/v1/chat/completions", post(chat))).await });

        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-client");
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        let log = AuditLog::builder("bench")
            .redaction(redaction)
            .open(&path)
            .await
            .expect("open");
        let inner = || reqwest::Client::builder().resolve("api.openai.com", addr).build().expect("client");
        let plain = ClientBuilder::new(inner()).build();
        let audited = ClientBuilder::new(inner()).with(AuditMiddleware::new(log.clone())).build();
        // The middleware in place but recognizing nothing: what the middleware stack costs
        // before any of our work.
        let passthrough = ClientBuilder::new(inner())
            .with(AuditMiddleware::new(log.clone()).recognize_with(|_: &reqwest::Request| None))
            .build();
        let url = format!("http://api.openai.com:{}/v1/chat/completions", addr.port());

        // Warm up connections and caches.
        timed_calls(&plain, &url, 200).await;
        timed_calls(&audited, &url, 200).await;
        let (mut best_plain, mut best_audited) = (Duration::MAX, Duration::MAX);
        for round in 1..=rounds {
            let p = timed_calls(&plain, &url, calls).await;
            let a = timed_calls(&audited, &url, calls).await;
            println!("round {round}: non-streamed call {:.1} us without, {:.1} us with", micros(p), micros(a));
            best_plain = best_plain.min(p);
            best_audited = best_audited.min(a);
        }
        println!(
            "non-streamed: {:.1} us without, {:.1} us with, added {:.1} us per call (best of {rounds} rounds of {calls})",
            micros(best_plain),
            micros(best_audited),
            micros(best_audited) - micros(best_plain)
        );

        // Interleaved, so both see the same machine; medians, as single streams are noisy.
        let n = 300;
        let (mut fb_plain, mut fb_audited, mut fb_pass) = (Vec::new(), Vec::new(), Vec::new());
        timed_calls(&passthrough, &url, 200).await;
        for i in 0..n {
            fb_pass.push(first_byte(&passthrough, &url).await);
            // Alternate which goes first, so neither always follows the other's stream end.
            if i % 2 == 0 {
                fb_plain.push(first_byte(&plain, &url).await);
                fb_audited.push(first_byte(&audited, &url).await);
            } else {
                fb_audited.push(first_byte(&audited, &url).await);
                fb_plain.push(first_byte(&plain, &url).await);
            }
        }
        let (fb_plain, fb_audited) = (median(fb_plain), median(fb_audited));
        println!("streamed through the middleware recognizing nothing: median {:.1} us", micros(median(fb_pass)));
        println!(
            "streamed, time to first byte: median {:.1} us without, {:.1} us with, difference {:.1} us ({n} interleaved streams each)",
            micros(fb_plain),
            micros(fb_audited),
            micros(fb_audited) - micros(fb_plain)
        );

        log.sync().await.expect("sync");
        let head = log.head();
        log.shutdown().await.expect("shutdown");
        let report = verify_path(&path, &VerifyOptions::new().expected_entries(head.entries));
        assert!(report.is_ok(), "{report}");
        println!("audit log: {} entries ({} llm_call), verifies", head.entries, head.entries - 1);
    });
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

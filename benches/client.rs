//! What `AuditMiddleware` adds to a model call, measured against a local server.
//!
//! ```text
//! cargo bench --bench client -- [--calls N] [--rounds R] [--streams N] [--prompt-bytes N]
//!                                [--redaction default|gdpr|pci|strict|none] [--stream-gap-us N]
//!                                [--idle-us N] [--block-on] [--current-thread]
//! ```
//!
//! An axum server on 127.0.0.1 answers OpenAI-shaped chat completions (JSON with usage) and
//! streams (the first event at once, the rest `--stream-gap-us` later: by default at once too,
//! so that no thread has gone to sleep between one measured stream and the next; a long gap
//! puts a wake-up of every thread into each time to first byte, and its noise swamps a
//! difference of microseconds). `--idle-us` pauses before each measured call instead, for the
//! cost of a call that comes after a quiet spell (threads asleep, caches cold), as an agent's
//! model calls do. One keep-alive reqwest client
//! (one connection pool) is used bare, with `AuditMiddleware` (writing with
//! `Durability::Fsync`), and with the middleware recognizing nothing.
//!
//! The calls are made from a task on the runtime's workers, as an agent's handler makes them;
//! `--block-on` makes them from the thread that blocks on the runtime instead (where the
//! connection tasks always run on other threads). `--current-thread` runs everything (server,
//! connections, calls) on one thread: no wake-up of another worker is in any call, which tells
//! the middleware's own cost apart from what it does to the scheduling of several threads.
//!
//! Reported for non-streamed calls (send and read the body) and for the time to the first
//! streamed byte (split at the response head), then to the second event, sent right after the
//! first (whether reading the first stands in its way); and for a stream shaped as a model's,
//! whose first event the server holds until the caller has the head and waits for it (as a
//! model's first token comes once the model has thought), the time from letting it go to the
//! caller having it: what the middleware adds to a real stream's first byte besides its work
//! before the send (which `benches/client_cpu.rs` times alone). Each as the median with and
//! without the middleware, and the median of the paired
//! differences with a bootstrap 95% interval. Calls are made in pairs, one through each client,
//! alternating which goes first, so both see the same moment of a machine whose speed drifts;
//! the means of whole rounds are printed too. `--prompt-bytes` pads the request with a user
//! message of that size (an agent's prompt and history), which the middleware reads `model`
//! and `stream` from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acttrace::client::AuditMiddleware;
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use axum::routing::post;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

#[path = "support/floor.rs"]
mod floor;
#[path = "support/stats.rs"]
mod stats;

const JSON: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Approved."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1000},"completion_tokens_details":{"reasoning_tokens":128}}}"#;

/// How long the server waits between a stream's first event and the rest (`--stream-gap-us`).
static STREAM_GAP_US: AtomicU64 = AtomicU64::new(0);

/// How long the client pauses before each measured call (`--idle-us`): calls spaced out, as an
/// agent's are, meet sleeping threads and cold caches.
static IDLE_US: AtomicU64 = AtomicU64::new(0);

/// Lets a held stream's first event go (see `model_shaped`).
static RELEASE: tokio::sync::Notify = tokio::sync::Notify::const_new();

async fn chat(headers: http::HeaderMap, body: String) -> axum::response::Response {
    if body.contains("\"stream\":true") {
        // First event now, the rest later: time to first byte is what is measured.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let hold = headers.contains_key("x-bench-hold-first-event");
        tokio::spawn(async move {
            if hold {
                RELEASE.notified().await;
            }
            let _ = tx.send(Bytes::from_static(b"data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n")).await;
            let gap = STREAM_GAP_US.load(Ordering::Relaxed);
            if gap > 0 {
                tokio::time::sleep(Duration::from_micros(gap)).await;
            }
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

/// A chat request with a user message of `prompt` bytes, streamed or not.
fn request_body(prompt: usize, stream: bool) -> Bytes {
    let content = "lorem ipsum dolor sit amet, ".repeat(prompt / 28 + 1);
    let content = if prompt == 0 {
        "hello"
    } else {
        &content[..prompt]
    };
    let stream = if stream { r#","stream":true"# } else { "" };
    Bytes::from(format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"system","content":"You are a careful assistant."}},{{"role":"user","content":"{content}"}}]{stream}}}"#
    ))
}

async fn timed_calls(client: &ClientWithMiddleware, url: &str, n: u32, body: &Bytes) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        one_call(client, url, body).await;
    }
    start.elapsed() / n
}

/// One non-streamed call, body read.
async fn one_call(client: &ClientWithMiddleware, url: &str, body: &Bytes) -> Duration {
    let start = Instant::now();
    let res = client
        .post(url)
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let _ = res.bytes().await.expect("body");
    start.elapsed()
}

/// A streamed call: time from sending it to its response head, from there to its first
/// byte, and from that to the second event (sent right after the first: whether the first
/// one's reading stands in the second's way).
async fn first_byte(
    client: &ClientWithMiddleware,
    url: &str,
    body: &Bytes,
) -> (Duration, Duration, Duration) {
    let start = Instant::now();
    let mut res = client
        .post(url)
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let head = start.elapsed();
    let _ = res.chunk().await.expect("first chunk");
    let first = start.elapsed();
    let _ = res.chunk().await.expect("second chunk");
    let second = start.elapsed();
    while res.chunk().await.expect("chunk").is_some() {}
    (head, first - head, second - first)
}

/// A streamed call shaped as a model's: the head comes at once, the first event only after
/// the model has thought. Here the server holds it until the caller has the head (so the
/// middleware's work on the head is done, as it is while a model thinks) and is waiting for
/// the body: the time from letting it go to the caller having it.
async fn model_shaped(client: &ClientWithMiddleware, url: &str, body: &Bytes) -> Duration {
    let mut res = client
        .post(url)
        .header("x-bench-hold-first-event", "1")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let start = Instant::now();
    RELEASE.notify_one();
    let _ = res.chunk().await.expect("first chunk");
    let took = start.elapsed();
    while res.chunk().await.expect("chunk").is_some() {}
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// The median of `with[i] - without[i]` in microseconds, and a bootstrap 95% interval for it.
fn paired(with: &[Duration], without: &[Duration]) -> (f64, f64, f64) {
    let diffs: Vec<f64> = with
        .iter()
        .zip(without)
        .map(|(a, b)| micros(*a) - micros(*b))
        .collect();
    stats::median_interval(&diffs).unwrap_or((f64::NAN, f64::NAN, f64::NAN))
}

/// Times `pairs` calls through each client, alternating which goes first.
async fn interleaved<F, Fut, T>(pairs: usize, mut call: F) -> (Vec<T>, Vec<T>)
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let idle = Duration::from_micros(IDLE_US.load(Ordering::Relaxed));
    let (mut with, mut without) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for i in 0..pairs {
        for audit in [i % 2 == 1, i % 2 == 0] {
            if !idle.is_zero() {
                tokio::time::sleep(idle).await;
            }
            let took = call(audit).await;
            if audit {
                with.push(took);
            } else {
                without.push(took);
            }
        }
    }
    (with, without)
}

/// What the command line asks for.
struct Options {
    calls: u32,
    rounds: u32,
    streams: usize,
    prompt: usize,
    redaction: Option<acttrace::redact::RedactionPolicy>,
    block_on: bool,
    current_thread: bool,
}

fn main() {
    let mut o = Options {
        calls: 5000,
        rounds: 3,
        streams: 400,
        prompt: 0,
        redaction: Some(acttrace::redact::RedactionPolicy::default_preset()),
        block_on: false,
        current_thread: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--calls" => o.calls = value().parse().unwrap_or(o.calls),
            "--rounds" => o.rounds = value().parse().unwrap_or(o.rounds),
            "--streams" => o.streams = value().parse().unwrap_or(o.streams),
            "--prompt-bytes" => o.prompt = value().parse().unwrap_or(o.prompt),
            "--redaction" => o.redaction = acttrace::redact::RedactionPolicy::preset(&value()),
            "--idle-us" => IDLE_US.store(value().parse().unwrap_or(0), Ordering::Relaxed),
            "--stream-gap-us" => {
                STREAM_GAP_US.store(value().parse().unwrap_or(0), Ordering::Relaxed);
            }
            "--block-on" => o.block_on = true,
            "--current-thread" => o.current_thread = true,
            _ => {}
        }
    }
    let rt = if o.current_thread {
        println!("one thread: server, connections and calls");
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .expect("runtime");
    if o.block_on {
        println!("calls made from the thread blocking on the runtime");
        rt.block_on(run(o));
    } else {
        println!("calls made from a task on a runtime worker");
        rt.block_on(async { tokio::spawn(run(o)).await.expect("the bench's task") });
    }
}

async fn run(o: Options) {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Small SSE writes must leave at once, not wait on Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/v1/chat/completions", post(chat)),
        )
        .await
    });

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-client");
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("audit.jsonl");
    let log = AuditLog::builder("bench")
        .redaction(o.redaction)
        .open(&path)
        .await
        .expect("open");
    // One reqwest client (one connection pool) under all three, so that calls with and
    // without the middleware travel the same keep-alive connections.
    let shared = reqwest::Client::builder()
        .resolve("api.openai.com", addr)
        .build()
        .expect("client");
    let plain = ClientBuilder::new(shared.clone()).build();
    let audited = ClientBuilder::new(shared.clone())
        .with(AuditMiddleware::new(log.clone()))
        .build();
    // The middleware in place but recognizing nothing: what the middleware stack costs before
    // any of our work.
    let passthrough = ClientBuilder::new(shared.clone())
        .with(AuditMiddleware::new(log.clone()).recognize_with(|_: &reqwest::Request| None))
        .build();
    // The floor: a middleware that only replaces each response's body with one passing it
    // through, as any middleware that reads a response's body must with reqwest's API.
    let floor = ClientBuilder::new(shared.clone())
        .with(floor::Floor)
        .build();
    let url = format!("http://api.openai.com:{}/v1/chat/completions", addr.port());

    let (json_body, sse_body) = (request_body(o.prompt, false), request_body(o.prompt, true));
    println!(
        "request body: {} bytes ({} of prompt)",
        json_body.len(),
        o.prompt
    );

    // Warm up connections and caches.
    for client in [&plain, &audited, &passthrough] {
        timed_calls(client, &url, 200, &json_body).await;
    }
    let calls = o.calls;
    for round in 1..=o.rounds {
        let p = timed_calls(&plain, &url, calls, &json_body).await;
        let a = timed_calls(&audited, &url, calls, &json_body).await;
        println!(
            "round {round}: non-streamed call, mean of {calls}: {:.1} us without, {:.1} us with",
            micros(p),
            micros(a)
        );
    }
    let n = calls as usize;
    let (with, without) = interleaved(n, |audit| {
        one_call(if audit { &audited } else { &plain }, &url, &json_body)
    })
    .await;
    let (d, lo, hi) = paired(&with, &without);
    println!(
        "non-streamed: median {:.1} us without, {:.1} us with; added {d:.1} us per call (95% interval {lo:.1} to {hi:.1}, {n} interleaved pairs)",
        micros(median(without)),
        micros(median(with)),
    );

    // Streams: time to the first byte, interleaved the same way, in two parts: to the
    // response head (the request's way out and the answer's way back, the middleware's work
    // before the send and on the head included), then to the first chunk of the body (what
    // the tap and the rewrapped response add to the stream itself).
    let streams = o.streams;
    let (with, without) = interleaved(streams, |audit| {
        first_byte(if audit { &audited } else { &plain }, &url, &sse_body)
    })
    .await;
    type Timed = (Duration, Duration, Duration);
    let total = |v: &[Timed]| v.iter().map(|(h, r, _)| *h + *r).collect::<Vec<_>>();
    let head = |v: &[Timed]| v.iter().map(|(h, _, _)| *h).collect::<Vec<_>>();
    let body = |v: &[Timed]| v.iter().map(|(_, r, _)| *r).collect::<Vec<_>>();
    let second = |v: &[Timed]| v.iter().map(|(_, _, s)| *s).collect::<Vec<_>>();
    let (d, lo, hi) = paired(&total(&with), &total(&without));
    println!(
        "streamed, time to first byte: median {:.1} us without, {:.1} us with; difference {d:.1} us (95% interval {lo:.1} to {hi:.1}, {streams} interleaved pairs)",
        micros(median(total(&without))),
        micros(median(total(&with))),
    );
    let (dh, loh, hih) = paired(&head(&with), &head(&without));
    let (db, lob, hib) = paired(&body(&with), &body(&without));
    println!(
        "  of which to the response head: {dh:.1} us ({loh:.1} to {hih:.1}); from the head to the first byte: {db:.1} us ({lob:.1} to {hib:.1}; median {:.1} us without, {:.1} us with)",
        micros(median(body(&without))),
        micros(median(body(&with))),
    );
    let (ds, los, his) = paired(&second(&with), &second(&without));
    println!(
        "  from the first event to the second, sent right after it: {ds:.1} us ({los:.1} to {his:.1}; median {:.1} us without, {:.1} us with)",
        micros(median(second(&without))),
        micros(median(second(&with))),
    );
    // The floor's stream, the same way: what replacing the body costs these two bytes.
    let (with, without) = interleaved(streams, |floored| {
        first_byte(if floored { &floor } else { &plain }, &url, &sse_body)
    })
    .await;
    let (db, lob, hib) = paired(&body(&with), &body(&without));
    let (ds, los, his) = paired(&second(&with), &second(&without));
    println!(
        "  the floor, from the head to the first byte: {db:.1} us ({lob:.1} to {hib:.1}); from the first event to the second: {ds:.1} us ({los:.1} to {his:.1})"
    );
    // Shaped as a model's stream: the first event after the head, once the caller waits.
    for (name, client) in [
        ("the middleware", &audited),
        ("the middleware recognizing nothing", &passthrough),
        ("the floor", &floor),
    ] {
        let (with, without) = interleaved(streams, |audit| {
            model_shaped(if audit { client } else { &plain }, &url, &sse_body)
        })
        .await;
        let (d, lo, hi) = paired(&with, &without);
        println!(
            "streamed as a model does (the first event after the head), from its release to the caller, through {name}: median {:.1} us without, {:.1} us with; difference {d:.1} us (95% interval {lo:.1} to {hi:.1})",
            micros(median(without)),
            micros(median(with)),
        );
    }
    // The same pairing with a client whose middleware recognizes nothing: how far apart two
    // clients are with none of this crate's work in the way.
    let (with, without) = interleaved(streams, |pass| {
        first_byte(if pass { &passthrough } else { &plain }, &url, &sse_body)
    })
    .await;
    let (d, lo, hi) = paired(&total(&with), &total(&without));
    println!(
        "streamed, first byte through the middleware recognizing nothing: median {:.1} us; difference {d:.1} us (95% interval {lo:.1} to {hi:.1})",
        micros(median(total(&with))),
    );

    log.sync().await.expect("sync");
    let head = log.head();
    log.shutdown().await.expect("shutdown");
    let report = verify_path(&path, &VerifyOptions::new().expected_entries(head.entries));
    assert!(report.is_ok(), "{report}");
    println!(
        "audit log: {} entries ({} llm_call), verifies",
        head.entries,
        head.entries - 1
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

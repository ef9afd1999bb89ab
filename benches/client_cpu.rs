//! Where a model call waits on `AuditMiddleware`, phase by phase, in process: no sockets, so
//! what is left is the middleware's own work on the caller's path, in nanoseconds.
//!
//! ```text
//! cargo bench --bench client_cpu -- [CALLS] [ROUNDS]
//! valgrind --tool=callgrind --separate-threads=yes target/release/deps/client_cpu-* 2000 1
//! ```
//!
//! The client's stack ends in a terminal middleware that answers at once, as a provider would,
//! with an OpenAI chat-completions stream (`text/event-stream`, three events, each a frame of
//! its own). Each call (one thread, one after another) is timed in four phases, each of which
//! the caller waits on:
//!
//! - **send**: from `send()` to the request reaching the end of the stack (where a real call
//!   goes onto its connection);
//! - **head**: from the answer leaving the end of the stack to `send()` returning it;
//! - **first byte**: the first `chunk()` of the body, already there;
//! - **end**: reading the rest of the body and dropping the response (where the middleware
//!   hands the call's record to the writer).
//!
//! A model's stream sends its head at once and its first token only once the model has
//! thought, so the head's work is done while the caller waits for the model anyway: the time
//! a real first byte waits on the middleware is **send + first byte**. (In `benches/client.rs`,
//! where the local server sends the first event with the head, all of send, head and first
//! byte come before it.)
//!
//! Four clients take turns, call by call: bare (the terminal alone); audited; a control whose
//! `AuditMiddleware` recognizes nothing (what being one more reqwest middleware costs); and a
//! floor, a middleware that does only what any middleware that sees a response's body must do
//! with reqwest's API: replace the body (here with one that passes every frame through) by the
//! round trip through `http::Response`, keeping `url()`. Reported: each phase's median per
//! client, and the median of the per-call differences against the bare client, with a
//! bootstrap 95% interval.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use acttrace::client::AuditMiddleware;
use bytes::Bytes;
use http::Extensions;
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

#[path = "support/cpu_log.rs"]
mod cpu_log;
#[path = "support/floor.rs"]
mod floor;
#[path = "support/stats.rs"]
mod stats;

use floor::Floor;

const EVENTS: [&[u8]; 3] = [
    b"data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Appro\"}}]}\n\n",
    b"data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ved.\"},\"finish_reason\":\"stop\"}]}\n\n",
    b"data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":300,\"total_tokens\":1500}}\n\ndata: [DONE]\n\n",
];

const REQUEST: &str = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are a careful assistant."},{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true}}"#;

thread_local! {
    /// When the request reached the terminal, and when its answer left it.
    static REACHED: Cell<Option<Instant>> = const { Cell::new(None) };
    static ANSWERED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The end of every stack: answers at once with the stream, without a connection.
struct Provider;

impl Middleware for Provider {
    fn handle<'this, 'ext, 'next, 'fut>(
        &'this self,
        req: Request,
        _ext: &'ext mut Extensions,
        _next: Next<'next>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'fut>>
    where
        'this: 'fut,
        'ext: 'fut,
        'next: 'fut,
        Self: 'fut,
    {
        REACHED.set(Some(Instant::now()));
        let res = http::Response::builder()
            .header("content-type", "text/event-stream")
            .url(req.url().clone())
            .body(reqwest::Body::wrap(Frames(
                EVENTS.iter().map(|e| Bytes::from_static(e)).collect(),
            )))
            .expect("a valid response");
        let res = Response::from(res);
        ANSWERED.set(Some(Instant::now()));
        Box::pin(std::future::ready(Ok(res)))
    }
}

/// A body whose frames are all there: one a poll.
struct Frames(VecDeque<Bytes>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// One call's phases: send, head, first byte, end.
type Phases = [Duration; 4];

const NAMES: [&str; 4] = ["send", "head", "first byte", "end"];

async fn call(client: &ClientWithMiddleware, url: &str) -> Phases {
    let start = Instant::now();
    let mut res = client
        .post(url)
        .header("content-type", "application/json")
        .body(REQUEST)
        .send()
        .await
        .expect("the terminal answers");
    let head = Instant::now();
    let first = res.chunk().await.expect("a frame");
    let byte = Instant::now();
    std::hint::black_box(first);
    while res.chunk().await.expect("a frame").is_some() {}
    drop(res);
    let end = Instant::now();
    let reached = REACHED.take().expect("the request reached the terminal");
    let answered = ANSWERED.take().expect("the terminal answered");
    [reached - start, head - answered, byte - head, end - byte]
}

fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let calls: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let log = cpu_log::cpu_log("bench-client-cpu").await;
    let reqwest = reqwest::Client::new();
    let bare = ClientBuilder::new(reqwest.clone()).with(Provider).build();
    let audited = ClientBuilder::new(reqwest.clone())
        .with(AuditMiddleware::new(log.clone()))
        .with(Provider)
        .build();
    let control = ClientBuilder::new(reqwest.clone())
        .with(AuditMiddleware::new(log.clone()).recognize_with(|_: &Request| None))
        .with(Provider)
        .build();
    let floor = ClientBuilder::new(reqwest)
        .with(Floor)
        .with(Provider)
        .build();
    let url = "https://api.openai.com/v1/chat/completions";
    let clients = [
        ("bare", &bare),
        ("audited", &audited),
        ("control", &control),
        ("floor", &floor),
    ];

    for _ in 0..1000 {
        for (_, client) in clients {
            call(client, url).await;
        }
    }
    for round in 1..=rounds {
        let mut phases: [Vec<Phases>; 4] = Default::default();
        for i in 0..calls {
            // Each client first in turn, so no one always follows another.
            for k in 0..4 {
                let k = (i + k) % 4;
                phases[k].push(call(clients[k].1, url).await);
            }
        }
        println!(
            "round {round}, {calls} calls per client, ns (median; added against bare, 95% interval):"
        );
        // One figure per call: a phase, or a real stream's first byte (send + first byte).
        let report = |label: &str, figure: &dyn Fn(&Phases) -> Duration| {
            let [bare, rest @ ..] = &phases;
            let bare: Vec<f64> = bare.iter().map(|c| nanos(figure(c))).collect();
            let mut line = format!("  {label}: bare {:.0}", median(&bare));
            for ((name, _), calls) in clients[1..].iter().zip(rest) {
                let of: Vec<f64> = calls.iter().map(|c| nanos(figure(c))).collect();
                let added: Vec<f64> = of.iter().zip(&bare).map(|(a, b)| a - b).collect();
                let (d, lo, hi) = stats::median_interval(&added).expect("calls");
                line += &format!("; {name} {:.0} (+{d:.0}, {lo:.0} to {hi:.0})", median(&of));
            }
            println!("{line}");
        };
        for (p, name) in NAMES.iter().enumerate() {
            report(&format!("{name:>10}"), &|c| c[p]);
        }
        report("a real stream's first byte (send + first byte)", &|c| {
            c[0] + c[2]
        });
    }
    log.sync().await.expect("sync");
    assert_eq!(log.pending_gap(), 0, "no call's record was dropped");
    let entries = log.head().entries;
    log.shutdown().await.expect("shutdown");
    println!("audit log: {entries} entries");
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Body as _;

use http::{Extensions, StatusCode};
use pin_project_lite::pin_project;
use reqwest::{Request, Response, ResponseBuilderExt, Url};
use reqwest_middleware::{Middleware, Next};

use super::cost::PriceTable;
use super::recognize::{Api, Call, Providers, Recognize};
use super::request::{request_fields, request_params};
use super::tap::{End, Held, Observe, UsageTap};
use super::usage::{Format, Observed, Scanner};
use crate::chain::{Entry, LlmCall, Usage};
use crate::decision::Decision;
use crate::json::Value;
use crate::store::AuditLog;

/// Put in a request's extensions (`.with_extension(SkipAudit)`) to leave that call out of the
/// log.
#[derive(Debug, Clone, Copy, Default)]
pub struct SkipAudit;

/// reqwest-middleware that records every model-provider call as an `llm_call` entry. See the
/// [module docs](super) for an example.
///
/// Where it sits in the chain matters: placed inside a retry middleware (added after it), it
/// records every attempt; placed outside (added before it), one entry per logical call.
#[derive(Clone)]
#[must_use]
pub struct AuditMiddleware<R = Providers> {
    log: AuditLog,
    recognize: Arc<R>,
    prices: PriceTable,
}

impl<R> fmt::Debug for AuditMiddleware<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditMiddleware")
            .field("log", &self.log)
            .field("prices", &self.prices)
            .finish_non_exhaustive()
    }
}

impl AuditMiddleware {
    /// Records calls recognized by the built-in [`Providers`] table in `log`, priced with
    /// [`PriceTable::bundled`].
    pub fn new(log: AuditLog) -> Self {
        Self {
            log,
            recognize: Arc::new(Providers::new()),
            prices: PriceTable::bundled(),
        }
    }
}

impl<R> AuditMiddleware<R> {
    /// Recognizes calls with `recognize` instead (e.g. [`Providers`] with your gateways
    /// registered). Defaults to [`Providers::new`].
    pub fn recognize_with<R2: Recognize>(self, recognize: R2) -> AuditMiddleware<R2> {
        AuditMiddleware {
            log: self.log,
            recognize: Arc::new(recognize),
            prices: self.prices,
        }
    }

    /// Prices calls with `prices`. Defaults to [`PriceTable::bundled`].
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }
}

/// What a recognized call takes before it is sent, because it cannot be had later.
struct Outgoing {
    call: Call,
    // The handle, not a copy of its id: cloning it is a reference count, not an allocation.
    decision: Option<Decision>,
    /// The request's body, shared (not copied), read for `model` and `stream` only when they
    /// are needed: after the call, off its path. (So the body's memory is held until the call
    /// ends, a stream's end included.)
    body: Option<Bytes>,
    started: Instant,
    /// An unrecognized call's URL path, what tells what it was (`recognized: false`).
    url_path: Option<Box<str>>,
}

/// A call's record: made while its request is out (see [`Sent`]), then kept in its response's
/// body, which shows it every chunk, and handed to the writer thread when that body is over.
struct Record {
    log: AuditLog,
    prices: PriceTable,
    call: Call,
    decision: Option<Decision>,
    body: Option<Bytes>,
    started: Instant,
    status: StatusCode,
    format: Format,
    scanner: Scanner,
    /// What a gateway said of the call in its response's head (a cost, the upstream model),
    /// when it said anything.
    gateway: Option<Box<Gateway>>,
    /// When the response's first bytes reached the caller, from the start.
    first_data: Option<Duration>,
    url_path: Option<Box<str>>,
}

/// A gateway's own account of a call, from its response headers (LiteLLM's
/// `x-litellm-response-cost` and `x-litellm-model-name`).
#[derive(Debug, Default)]
struct Gateway {
    cost: Option<String>,
    upstream_model: Option<String>,
}

impl Gateway {
    const COST: &'static str = "x-litellm-response-cost";
    const MODEL: &'static str = "x-litellm-model-name";

    /// What the headers say, if they say anything.
    fn read(headers: &http::HeaderMap) -> Option<Box<Self>> {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let cost = text(Self::COST)
            .and_then(|c| c.parse::<f64>().ok())
            .filter(|c| c.is_finite() && *c >= 0.0)
            .map(|c| format!("{} USD", crate::json::canonical::plain_decimal(c)));
        let upstream_model = text(Self::MODEL).map(str::to_owned);
        (cost.is_some() || upstream_model.is_some()).then(|| {
            Box::new(Self {
                cost,
                upstream_model,
            })
        })
    }
}

impl Record {
    fn new(log: &AuditLog, prices: &PriceTable, out: Outgoing) -> Box<Self> {
        Box::new(Self {
            log: log.clone(),
            prices: prices.clone(),
            scanner: Scanner::new(out.call.api, Format::Json),
            call: out.call,
            decision: out.decision,
            body: out.body,
            started: out.started,
            status: StatusCode::OK,
            format: Format::Json,
            gateway: None,
            first_data: None,
            url_path: out.url_path,
        })
    }

    /// The model asked for: the body's `model`, else the recognizer's.
    fn asked_model(&self) -> Option<String> {
        self.body_fields().0.or_else(|| self.call.model.clone())
    }

    /// Whether a stream was asked for, by the recognizer or by the body's `stream` (for Ollama's
    /// own API, which streams unless told not to, by its absence too).
    fn asked_stream(&self) -> bool {
        self.call.stream
            || match (self.call.api, self.body_fields().1) {
                (Api::OllamaNative, asked) => asked.unwrap_or(true),
                (_, asked) => asked.unwrap_or(false),
            }
    }

    fn body_fields(&self) -> (Option<String>, Option<bool>) {
        self.body
            .as_deref()
            .and_then(request_fields)
            .unwrap_or((None, None))
    }

    /// The response's head has come: hands it on with its body tapped, this record inside.
    fn tap(mut self: Box<Self>, res: Response) -> Response {
        self.status = res.status();
        self.gateway = Gateway::read(res.headers());
        let content_type = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(http::HeaderValue::as_bytes);
        let format = Format::from_content_type(content_type, self.call.api, || self.asked_stream());
        self.format = format;
        self.scanner.frame_as(format);
        let api = self.call.api;
        self.scanner.observed.read_headers(api, res.headers());
        rewrap(res, |body| reqwest::Body::wrap(UsageTap::new(body, self)))
    }

    /// The entry's common part. Its cost is what the answer reported, else what its usage costs
    /// at the known prices; `null` when neither can be known (no usage in the answer, no
    /// answer at all, a model without a price), never a made-up zero.
    fn entry(
        &self,
        asked: Option<String>,
        usage: Usage,
        observed: Option<&Observed>,
        latency: Duration,
    ) -> LlmCall {
        let model = asked.or_else(|| observed.and_then(|o| o.response_model.clone()));
        let mut call = LlmCall::new(self.call.provider.as_str(), model.clone())
            .decision(self.decision.as_ref().map(Decision::id))
            .usage(usage)
            .latency_ms(latency.as_micros() as f64 / 1000.0);
        let reported = observed.and_then(|o| o.reported_cost.clone());
        let usage_known = observed.is_some_and(Observed::saw_usage);
        let priced = model
            .as_deref()
            .filter(|_| usage_known)
            .and_then(|m| self.prices.cost(m, &usage));
        let source = match (&reported, &priced) {
            (Some(_), _) => Some("usage.cost"),
            (None, Some(_)) => Some("price_table"),
            (None, None) => None,
        };
        if let Some(cost) = reported.or(priced) {
            call = call.cost(cost);
        }
        if let Some(source) = source {
            call = call.set("cost_source", source);
        }
        if let Some(g) = self.gateway.as_deref() {
            // A gateway's cost of a failed call (often 0) is not a known cost.
            if let Some(cost) = g.cost.as_ref().filter(|_| self.status.is_success()) {
                call = call
                    .set("gateway_cost", cost.as_str())
                    .set("gateway_cost_source", Gateway::COST);
            }
            if let Some(m) = &g.upstream_model {
                call = call.set("upstream_model", m.as_str());
            }
        }
        if self.call.unrecognized {
            // What it was is told by where it went, not by a guessed operation.
            call = call
                .set("recognized", false)
                .set("url_path", self.url_path.as_deref());
        } else {
            call = call.set("operation", operation(self.call.api));
        }
        if let Some(body) = self.body.as_deref() {
            for (name, value) in request_params(body) {
                call = call.set(name, value);
            }
        }
        call
    }

    /// The response's body is over: time the call now, and leave reading the rest of the
    /// body's usage (`rest`, the chunks the tap still held) and writing the entry to the
    /// writer thread, so the caller gets its last bytes without that work in between. Never
    /// blocks (it runs in a body's `poll_frame` or `Drop`): a full queue becomes a counted
    /// `gap` in the chain.
    fn finish(self: Box<Self>, rest: Held, end: End) {
        self.record_later(move |mut record, latency| {
            for chunk in rest.into_chunks() {
                record.scanner.feed(&chunk);
            }
            record.scanner.finish();
            record.answered(end, latency)
        });
    }

    /// Times the call now and leaves making its entry (`make`, given the record and the
    /// latency) to the writer thread. Never blocks: a full queue becomes a counted `gap`.
    fn record_later(
        self: Box<Self>,
        make: impl FnOnce(Box<Self>, Duration) -> Entry + Send + 'static,
    ) {
        let latency = self.started.elapsed();
        let log = self.log.clone();
        log.try_record_with(move || make(self, latency));
    }

    fn answered(&self, end: End, latency: Duration) -> Entry {
        let (status, observed) = (self.status, &self.scanner.observed);
        let usage = observed.usage(self.call.api);
        let asked = self.asked_model();
        let differs = observed
            .response_model
            .as_deref()
            .filter(|rm| asked.as_deref() != Some(*rm));
        let mut call = self
            .entry(asked.clone(), usage, Some(observed), latency)
            .set("status", status.as_u16())
            .set("streamed", self.format.is_stream());
        if let Some(rm) = differs {
            call = call.set("response_model", rm);
        }
        if let Some(id) = &observed.response_id {
            call = call.set("response_id", id.as_str());
        }
        if !observed.finish_reasons.is_empty() {
            let reasons: Vec<Value> = observed
                .finish_reasons
                .iter()
                .map(|r| Value::from(r.as_str()))
                .collect();
            call = call.set("finish_reasons", Value::Array(reasons));
        }
        if !observed.tool_calls.is_empty() {
            let calls: Vec<Value> = observed
                .tool_calls
                .iter()
                .map(|(id, name)| {
                    let mut m = crate::json::Map::new();
                    m.insert("id", id.as_deref().map_or(Value::Null, Value::from));
                    m.insert("name", name.as_str());
                    Value::Object(m)
                })
                .collect();
            call = call.set("tool_calls", Value::Array(calls));
        }
        if self.format.is_stream()
            && let Some(ttft) = self.first_data
        {
            call = call.set("time_to_first_chunk_ms", ttft.as_micros() as f64 / 1000.0);
        }
        if !status.is_success() {
            call = call.set("error", format!("http_{}", status.as_u16()));
        } else if observed.failed_in_body {
            // A success status, and an error in the answer: a stream the provider broke off
            // (overloaded, throttled) still answered 200.
            call = call.set("error", "error_in_response");
        }
        if (!status.is_success() || observed.failed_in_body)
            && let Some(message) = &observed.error_message
        {
            call = call.set("error_message", message.as_str());
        }
        match end {
            End::Completed => {}
            End::Failed => call = call.set("error", "body_failed"),
            End::Abandoned => call = call.set("cut_short", true),
        }
        if observed.oversized > 0 {
            // Too large to read whole: what they said (usage, a reason to stop) may be
            // missing, which is not the same as the provider not saying it.
            call = call.set("unread_events", observed.oversized);
        } else if status.is_success() && !observed.saw_usage() {
            call = call.set("usage_reported", false);
        }
        Entry::llm_call(call)
    }

    /// A call that got no response, for the reason `error` names.
    fn unanswered(&self, error: &str, latency: Duration) -> Entry {
        let call = self
            .entry(self.asked_model(), Usage::default(), None, latency)
            .set("status", None::<u16>)
            .set("streamed", false)
            .set("error", error);
        Entry::llm_call(call)
    }

    /// The call ended without a response: it failed (timeout, connection, another
    /// middleware), or the caller gave up on it (`cancelled`, from a `Drop`). Never blocks: the
    /// entry is made on the writer thread, and a full queue becomes a counted `gap`.
    fn unanswered_now(self: Box<Self>, error: &'static str) {
        self.record_later(move |record, latency| record.unanswered(error, latency));
    }
}

/// How a call that got no response failed, as recorded.
/// The operation, as OpenTelemetry's GenAI conventions name it (`gen_ai.operation.name`).
fn operation(api: Api) -> &'static str {
    match api {
        Api::OpenAiEmbeddings | Api::CohereEmbed => "embeddings",
        Api::GeminiGenerate => "generate_content",
        _ => "chat",
    }
}

fn failure_kind(err: &reqwest_middleware::Error) -> &'static str {
    match err {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_body() || e.is_decode() => "body",
        reqwest_middleware::Error::Reqwest(_) => "request",
        reqwest_middleware::Error::Middleware(_) => "middleware",
    }
}

impl Observe for Box<Record> {
    fn feed(&mut self, chunk: &[u8]) {
        self.scanner.feed(chunk);
    }

    fn end(self, rest: Held, end: End) {
        self.finish(rest, end);
    }

    fn first_data(&mut self) {
        self.first_data = Some(self.started.elapsed());
    }
}

/// Where a call's record stands while the call is out.
enum State {
    /// Sent, the record not yet made.
    Outgoing(Outgoing),
    Made(Box<Record>),
    /// Handed on: the response (or the failure) has it.
    Done,
}

impl State {
    fn make(&mut self, log: &AuditLog, prices: &PriceTable) {
        if let Self::Outgoing(_) = self
            && let Self::Outgoing(out) = std::mem::replace(self, Self::Done)
        {
            *self = Self::Made(Record::new(log, prices, out));
        }
    }

    fn take(&mut self, log: &AuditLog, prices: &PriceTable) -> Option<Box<Record>> {
        match std::mem::replace(self, Self::Done) {
            Self::Outgoing(out) => Some(Record::new(log, prices, out)),
            Self::Made(record) => Some(record),
            Self::Done => None,
        }
    }
}

pin_project! {
    /// A recognized call while it is out, and the future `handle` returns for it: the rest of
    /// the stack's future, and the call's record, which goes into the response's body when the
    /// head comes (or is written at once when the call fails).
    ///
    /// The record is made once the request has been handed to its connection: at the first
    /// poll, after the rest of the stack has been polled. So the work before the send is only
    /// what cannot wait ([`Outgoing`]); where the connection's task runs on another thread,
    /// the record is made while it writes the request.
    ///
    /// Dropped before the response comes (the caller gave up: a timeout around the call, a
    /// `select!`; or a middleware before this one dropped it unsent), the call is recorded as
    /// `cancelled`. Polled again once it has completed, it stays pending, as a fused future
    /// does.
    struct Sent<'a, F> {
        #[pin]
        response: F,
        log: &'a AuditLog,
        prices: &'a PriceTable,
        state: State,
    }

    impl<'a, F> PinnedDrop for Sent<'a, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(record) = this.state.take(this.log, this.prices) {
                record.unanswered_now("cancelled");
            }
        }
    }
}

impl<F: Future<Output = reqwest_middleware::Result<Response>>> Future for Sent<'_, F> {
    type Output = reqwest_middleware::Result<Response>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = this.response.poll(cx);
        this.state.make(this.log, this.prices);
        let Poll::Ready(res) = polled else {
            return Poll::Pending;
        };
        let Some(record) = this.state.take(this.log, this.prices) else {
            return Poll::Pending;
        };
        Poll::Ready(match res {
            Ok(res) => Ok(record.tap(res)),
            Err(err) => {
                record.unanswered_now(failure_kind(&err));
                Err(err)
            }
        })
    }
}

/// The future [`Middleware::handle`] returns.
type Handled<'a> = Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>;

// Written out rather than with `#[async_trait]` (this is the signature it expands to, its
// lifetimes renamed): the call is recognized as soon as it is handed over; a call that is not a
// model's goes on as the rest of the stack's own future, untouched and without a second box;
// and a model call's future is [`Sent`] alone, with no `async` state machine around it to move
// the request into.
impl<R: Recognize> Middleware for AuditMiddleware<R> {
    fn handle<'this, 'ext, 'next, 'fut>(
        &'this self,
        mut req: Request,
        ext: &'ext mut Extensions,
        next: Next<'next>,
    ) -> Handled<'fut>
    where
        'this: 'fut,
        'ext: 'fut,
        'next: 'fut,
        Self: 'fut,
    {
        let recognized = match ext.get::<SkipAudit>() {
            Some(SkipAudit) => None,
            None => self.recognize.recognize(&req),
        };
        let Some(call) = recognized else {
            return next.run(req, ext); // left out, or not a model call: untouched
        };
        let out = Outgoing {
            decision: ext.get::<Decision>().cloned().or_else(Decision::current),
            body: shared_body(&mut req),
            started: Instant::now(),
            url_path: call.unrecognized.then(|| req.url().path().into()),
            call,
        };
        Box::pin(Sent {
            response: next.run(req, ext),
            log: &self.log,
            prices: &self.prices,
            state: State::Outgoing(out),
        })
    }
}

/// The request's body as shared bytes (a reference count, not a copy) when it is held in
/// memory, as a JSON request's is; `None` for a streamed body, which is left as it was.
///
/// reqwest gives an in-memory body's bytes only by reference, so the body is taken, polled once
/// (it yields all of itself at once, without waiting) and put back built on the same bytes.
/// Whatever that poll gives, the body sent is the body given.
fn shared_body(req: &mut Request) -> Option<Bytes> {
    // Only a body in memory is touched; a stream is left to go out as it is.
    req.body().and_then(reqwest::Body::as_bytes)?;
    let mut body = req.body_mut().take()?;
    let (put_back, shared) =
        match Pin::new(&mut body).poll_frame(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(None) => (reqwest::Body::from(Bytes::new()), Some(Bytes::new())),
            Poll::Ready(Some(Ok(frame))) if frame.is_data() && body.is_end_stream() => {
                let bytes = frame.into_data().unwrap_or_default();
                (reqwest::Body::from(bytes.clone()), Some(bytes))
            }
            Poll::Pending => (body, None),
            // Not what a body in memory does; kept as it was all the same.
            Poll::Ready(Some(first)) => (
                reqwest::Body::wrap(Prefixed {
                    first: Some(first),
                    rest: body,
                }),
                None,
            ),
        };
    *req.body_mut() = Some(put_back);
    shared
}

/// A body's first frame, already taken, then the rest of it.
struct Prefixed {
    first: Option<Result<http_body::Frame<Bytes>, reqwest::Error>>,
    rest: reqwest::Body,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(first));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }
}

/// Replaces a response's body, keeping its status, headers, extensions and `url()`.
///
/// reqwest replaces a body only through a round trip through `http::Response`, which keeps
/// the URL only in an extension that reqwest alone can name: its response builder puts it in,
/// here straight into the response's own extensions (no second map to merge).
fn rewrap(res: Response, f: impl FnOnce(reqwest::Body) -> reqwest::Body) -> Response {
    let url = res.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(res).into_parts();
    parts.extensions = with_url(std::mem::take(&mut parts.extensions), url);
    Response::from(http::Response::from_parts(parts, f(body)))
}

/// `extensions` with reqwest's carrier of `url` added: `Response::from(http::Response)` takes
/// the response's URL from it.
fn with_url(extensions: Extensions, url: Url) -> Extensions {
    let mut builder = http::Response::builder();
    let Some(slot) = builder.extensions_mut() else {
        return extensions; // a fresh builder always has them
    };
    *slot = extensions;
    let mut builder = builder.url(url);
    // Adding an extension cannot fail a builder that has not failed: they are all still here.
    builder
        .extensions_mut()
        .map(std::mem::take)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn request(body: Option<reqwest::Body>) -> Request {
        let mut req = Request::new(
            reqwest::Method::POST,
            "https://api.openai.com/v1/chat/completions"
                .parse()
                .unwrap(),
        );
        *req.body_mut() = body;
        req
    }

    async fn sent(req: &mut Request) -> Vec<u8> {
        let body = req.body_mut().take().expect("a body");
        body.collect().await.unwrap().to_bytes().to_vec()
    }

    /// An in-memory body is shared, not copied, and goes out whole and still in memory (so
    /// reqwest still knows its length); anything else goes out as it came.
    #[tokio::test]
    async fn a_request_body_is_shared_and_left_whole() {
        let json = r#"{"model":"gpt-4o","messages":[]}"#;
        let mut req = request(Some(reqwest::Body::from(json)));
        let shared = shared_body(&mut req).expect("in memory");
        assert_eq!(&shared[..], json.as_bytes());
        assert_eq!(
            req.body().and_then(reqwest::Body::as_bytes),
            Some(json.as_bytes())
        );
        assert_eq!(sent(&mut req).await, json.as_bytes());

        let mut empty = request(Some(reqwest::Body::from(Vec::new())));
        assert_eq!(shared_body(&mut empty).as_deref(), Some(&b""[..]));
        assert_eq!(sent(&mut empty).await, b"");

        assert!(shared_body(&mut request(None)).is_none());

        let streamed = http_body_util::Full::new(Bytes::from_static(b"streamed body"));
        let mut req = request(Some(reqwest::Body::wrap(streamed)));
        assert!(shared_body(&mut req).is_none());
        assert_eq!(sent(&mut req).await, b"streamed body");
    }

    #[tokio::test]
    async fn a_prefixed_body_gives_its_prefix_then_the_rest() {
        let body = Prefixed {
            first: Some(Ok(http_body::Frame::data(Bytes::from_static(
                b"{\"model\":",
            )))),
            rest: reqwest::Body::from("\"o3\"}"),
        };
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"{\"model\":\"o3\"}");
    }
}

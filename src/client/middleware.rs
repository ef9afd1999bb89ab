use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use http::Extensions;
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};

use super::cost::PriceTable;
use super::recognize::{Call, Providers, Recognize};
use super::tap::{End, UsageTap};
use super::usage::{Format, Observed, Scanner};
use crate::chain::{AuditLog, Entry, LlmCall, Usage};
use crate::decision::Decision;

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

/// Everything needed to write the call's entry once its response is over.
struct Recorder {
    log: AuditLog,
    prices: PriceTable,
    call: Call,
    // The handle, not a copy of its id: cloning it is a reference count, not an allocation.
    decision: Option<Decision>,
    started: Instant,
}

impl Recorder {
    fn entry(&self, usage: Usage, observed: Option<&Observed>, latency: Duration) -> LlmCall {
        let model = self
            .call
            .model
            .clone()
            .or_else(|| observed.and_then(|o| o.response_model.clone()));
        let mut call = LlmCall::new(self.call.provider.as_str(), model.clone())
            .decision(self.decision.as_ref().map(Decision::id))
            .usage(usage)
            .latency_ms(latency.as_micros() as f64 / 1000.0);
        let reported = observed.and_then(|o| o.reported_cost.clone());
        let priced = model.as_deref().and_then(|m| self.prices.cost(m, &usage));
        if let Some(cost) = reported.or(priced) {
            call = call.cost(cost);
        }
        call
    }

    /// The response's body is over: time the call now, and leave reading the rest of the
    /// body's usage and writing the entry to the writer thread, so the caller gets its last
    /// bytes without that work in between. Never blocks (it runs in a body's `poll_frame` or
    /// `Drop`): a full queue becomes a counted `gap` in the chain.
    fn finish(
        self,
        status: http::StatusCode,
        format: Format,
        mut scanner: Scanner,
        rest: Option<Bytes>,
        end: End,
    ) {
        let latency = self.started.elapsed();
        let log = self.log.clone();
        log.try_record_with(move || {
            if let Some(chunk) = rest {
                scanner.feed(&chunk);
            }
            scanner.finish();
            self.build(status, format, &scanner.observed, end, latency)
        });
    }

    fn build(
        &self,
        status: http::StatusCode,
        format: Format,
        observed: &Observed,
        end: End,
        latency: Duration,
    ) -> Entry {
        let usage = observed.usage(self.call.api);
        let mut call = self
            .entry(usage, Some(observed), latency)
            .set("status", status.as_u16())
            .set("streamed", format.is_stream());
        if let Some(rm) = &observed.response_model
            && self.call.model.as_deref() != Some(rm.as_str())
        {
            call = call.set("response_model", rm.as_str());
        }
        if !status.is_success() {
            call = call.set("error", format!("http_{}", status.as_u16()));
        }
        match end {
            End::Completed => {}
            End::Failed => call = call.set("error", "body_failed"),
            End::Abandoned => call = call.set("cut_short", true),
        }
        if status.is_success() && !observed.saw_usage() {
            call = call.set("usage_reported", false);
        }
        Entry::llm_call(call)
    }

    /// The call failed before any response: timeout, connection, or another middleware.
    async fn failure(self, err: &reqwest_middleware::Error) {
        let kind = match err {
            reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
            reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
            reqwest_middleware::Error::Reqwest(e) if e.is_body() || e.is_decode() => "body",
            reqwest_middleware::Error::Reqwest(_) => "request",
            reqwest_middleware::Error::Middleware(_) => "middleware",
        };
        let call = self
            .entry(Usage::default(), None, self.started.elapsed())
            .set("status", None::<u16>)
            .set("streamed", false)
            .set("error", kind);
        // Queued in order, never failing the caller's request.
        let _ = self.log.enqueue(Entry::llm_call(call)).await;
    }
}

#[async_trait::async_trait]
impl<R: Recognize> Middleware for AuditMiddleware<R> {
    async fn handle(
        &self,
        req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if ext.get::<SkipAudit>().is_some() {
            return next.run(req, ext).await;
        }
        let Some(call) = self.recognize.recognize(&req) else {
            return next.run(req, ext).await; // not a model call: untouched
        };
        let decision = ext.get::<Decision>().cloned().or_else(Decision::current);
        let recorder = Recorder {
            log: self.log.clone(),
            prices: self.prices.clone(),
            decision,
            started: Instant::now(),
            call,
        };
        match next.run(req, ext).await {
            Err(err) => {
                recorder.failure(&err).await;
                Err(err)
            }
            Ok(res) => {
                let status = res.status();
                let content_type = res
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let format = Format::from_content_type(
                    content_type,
                    recorder.call.api,
                    recorder.call.stream,
                );
                let scanner = Scanner::new(recorder.call.api, format);
                let on_end = Box::new(move |scanner: Scanner, rest: Option<Bytes>, end: End| {
                    recorder.finish(status, format, scanner, rest, end);
                });
                Ok(map_body(res, |body| {
                    reqwest::Body::wrap(UsageTap::new(body, scanner, on_end))
                }))
            }
        }
    }
}

/// Replaces a response's body, keeping its status, headers, extensions and `url()` (which the
/// round trip through `http::Response` would otherwise lose).
fn map_body(res: Response, f: impl FnOnce(reqwest::Body) -> reqwest::Body) -> Response {
    let url = res.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(res).into_parts();
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    Response::from(http::Response::from_parts(parts, f(body)))
}

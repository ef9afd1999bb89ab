use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::request::Parts;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{AuditBody, Span};
use super::summarize::{BodyDigest, Summarize};
use crate::chain::{DecisionId, Entry};
use crate::decision::Decision;
use crate::json::Map;
use crate::layer::OnLogFailure;
use crate::layer::input::{ReplayBody, read_ahead};
use crate::store::AuditLog;

/// Which requests open a decision.
type Filter = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

#[derive(Clone)]
struct Config {
    actor: String,
    filter: Option<Filter>,
    body_limit: usize,
    durable: bool,
    on_log_failure: OnLogFailure,
    audit_unmatched: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("actor", &self.actor)
            .field("filter", &self.filter.as_ref().map(|_| ".."))
            .field("body_limit", &self.body_limit)
            .field("durable", &self.durable)
            .field("on_log_failure", &self.on_log_failure)
            .field("audit_unmatched", &self.audit_unmatched)
            .finish()
    }
}

/// [`Layer`] that opens an audit decision for each request. See the
/// [module docs](super) for an example.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuditLayer<M = BodyDigest> {
    log: AuditLog,
    config: Arc<Config>,
    summarize: M,
    /// Whether a request has matched a route: then the layer sits inside a router, and a
    /// request that matches none is a 404 probe, not a decision.
    routed: Arc<std::sync::atomic::AtomicBool>,
}

impl AuditLayer {
    /// Records each request's decision in `log`.
    pub fn new(log: AuditLog) -> Self {
        Self {
            log,
            config: Arc::new(Config {
                actor: "agent".to_owned(),
                filter: None,
                body_limit: 1 << 20,
                durable: false,
                on_log_failure: OnLogFailure::Serve,
                audit_unmatched: false,
            }),
            summarize: BodyDigest,
            routed: Arc::default(),
        }
    }
}

impl<M> AuditLayer<M> {
    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Who decides: the `actor` recorded on each decision (a service or agent name). Defaults
    /// to `agent`.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.config().actor = actor.into();
        self
    }

    /// Opens decisions only for requests `f` accepts (e.g. `POST` under `/agent`); the others
    /// pass through unrecorded. Defaults to every request.
    ///
    /// ```
    /// # async fn f(log: acttrace::AuditLog) {
    /// use acttrace::layer::AuditLayer;
    ///
    /// let layer = AuditLayer::new(log).filter(|parts: &http::request::Parts| {
    ///     parts.method == http::Method::POST && parts.uri.path().starts_with("/agent")
    /// });
    /// # let _ = layer; }
    /// ```
    pub fn filter(mut self, f: impl Fn(&Parts) -> bool + Send + Sync + 'static) -> Self {
        self.config().filter = Some(Arc::new(f));
        self
    }

    /// How many bytes of the request body are read to summarize it; the rest streams through
    /// unread. Defaults to 1 MiB.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config().body_limit = bytes;
        self
    }

    /// Wait until each `decision` entry is on disk before the handler runs, and answer 503
    /// without running the handler when it cannot be written. Defaults to `false`: the entry is
    /// queued in order and the request goes on.
    pub fn durable(mut self, durable: bool) -> Self {
        self.config().durable = durable;
        self
    }

    /// What to do while the log cannot take writes: serve (the default; the lost decisions are
    /// counted and recorded afterwards) or answer 503 without running the handler. See
    /// [`OnLogFailure`].
    pub fn on_log_failure(mut self, policy: OnLogFailure) -> Self {
        self.config().on_log_failure = policy;
        self
    }

    /// Whether requests that match no route (404 probes, scanners) open decisions too.
    /// Defaults to `false`: on a `Router`, once a request has matched a route, one that
    /// matches none passes through unrecorded. Applied around a whole `Router` from outside,
    /// where no route has matched yet, the layer cannot tell, and records every request.
    pub fn audit_unmatched(mut self, audit: bool) -> Self {
        self.config().audit_unmatched = audit;
        self
    }

    /// Records the request's input with `summarize` instead of [`BodyDigest`].
    pub fn summarize_with<M2: Summarize>(self, summarize: M2) -> AuditLayer<M2> {
        AuditLayer {
            log: self.log,
            config: self.config,
            summarize,
            routed: self.routed,
        }
    }
}

impl<S, M: Clone> Layer<S> for AuditLayer<M> {
    type Service = Audit<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            log: self.log.clone(),
            config: Arc::clone(&self.config),
            summarize: self.summarize.clone(),
            routed: Arc::clone(&self.routed),
        }
    }
}

/// Middleware that opens an audit decision for each request. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct Audit<S, M = BodyDigest> {
    inner: S,
    log: AuditLog,
    config: Arc<Config>,
    summarize: M,
    routed: Arc<std::sync::atomic::AtomicBool>,
}

impl<S, M, ReqBody, ResBody> Service<Request<ReqBody>> for Audit<S, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    M: Summarize,
    ReqBody: ReplayBody,
    ResBody: http_body::Body + Default + Send + 'static,
{
    type Response = Response<AuditBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let matched = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .is_some();
        if matched && !self.routed.load(std::sync::atomic::Ordering::Relaxed) {
            self.routed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let probe = !matched
            && !self.config.audit_unmatched
            && self.routed.load(std::sync::atomic::Ordering::Relaxed);
        let audited = !probe && self.config.filter.as_ref().is_none_or(|f| f(&parts));
        let req = Request::from_parts(parts, body);
        if !audited {
            return ResponseFuture {
                kind: Kind::Passthrough {
                    future: self.inner.call(req),
                },
            };
        }
        // The body must be read before the handler runs: keep the service that was made ready
        // for this call, leave the clone behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let future = run(
            inner,
            req,
            self.log.clone(),
            Arc::clone(&self.config),
            self.summarize.clone(),
        );
        ResponseFuture {
            kind: Kind::Audited {
                future: Box::pin(future),
            },
        }
    }
}

async fn run<S, M, ReqBody, ResBody>(
    mut inner: S,
    req: Request<ReqBody>,
    log: AuditLog,
    config: Arc<Config>,
    summarize: M,
) -> Result<Response<AuditBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: Summarize,
    ReqBody: ReplayBody,
    ResBody: http_body::Body + Default,
{
    if config.on_log_failure == OnLogFailure::Refuse && !log.is_healthy() {
        return Ok(empty(StatusCode::SERVICE_UNAVAILABLE));
    }
    let started = Instant::now();
    let decision = Decision::for_id(log.clone(), DecisionId::random());
    let (mut parts, body) = req.into_parts();
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    // Only whether reading failed matters, not the body's own error type.
    let read = read_ahead(body, config.body_limit).await.ok();
    let input = match &read {
        Some(read) => summarize.summarize(&parts, &read.bytes, read.complete()),
        None => {
            let mut m = Map::new();
            m.set("error", "the request body could not be read");
            m.into()
        }
    };
    let mut entry = Entry::decision(decision.id(), input, &config.actor);
    entry.payload_mut().set("method", parts.method.as_str());
    entry.payload_mut().set("route", route);
    let mut span = Span::new(decision.clone(), started);
    if config.durable {
        if log.append(entry).await.is_err() {
            span.finish(
                Some(StatusCode::SERVICE_UNAVAILABLE),
                "refused: decision not recorded",
            );
            return Ok(empty(StatusCode::SERVICE_UNAVAILABLE));
        }
    } else {
        // Auditing never fails a request unless asked to; a lost entry becomes a `gap`.
        let _ = log.enqueue(entry).await;
    }
    let Some(read) = read else {
        span.finish(Some(StatusCode::BAD_REQUEST), "error");
        return Ok(empty(StatusCode::BAD_REQUEST));
    };
    parts.extensions.insert(decision.clone());
    let req = Request::from_parts(parts, read.into_body());
    // The synchronous part of `call` runs in the decision too, not only the future.
    let future = decision.clone().sync_scope(|| inner.call(req));
    match decision.clone().scope(future).await {
        Ok(res) => {
            span.set_status(res.status());
            Ok(res.map(|body| AuditBody::new(body, span, decision)))
        }
        Err(e) => {
            span.finish(None, "error");
            Err(e)
        }
    }
}

fn empty<B: Default>(status: StatusCode) -> Response<AuditBody<B>> {
    let mut res = Response::new(AuditBody::passthrough(B::default()));
    *res.status_mut() = status;
    res
}

pin_project! {
    /// Response future for [`Audit`].
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

/// The request half of an audited call: reading the body, recording the decision, calling the
/// handler. Boxed: it awaits several steps, and one allocation is small beside the entries it
/// writes.
type AuditedFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<AuditBody<B>>, E>> + Send>>;

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Passthrough { #[pin] future: F },
        Audited { future: AuditedFuture<B, E> },
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<AuditBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { future } => future
                .poll(cx)
                .map(|r| r.map(|res| res.map(AuditBody::passthrough))),
            KindProj::Audited { future } => future.as_mut().poll(cx),
        }
    }
}

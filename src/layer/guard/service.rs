use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use super::policy::{Finding, GuardRequest, Policy, Scanned, Verdict};
use crate::chain::{Entry, PolicyFlag};
use crate::decision::Decision;
use crate::layer::OnLogFailure;
use crate::layer::input::{ReplayBody, read_ahead};
use crate::redact::detect;
use crate::store::AuditLog;

#[derive(Debug, Clone, Copy)]
struct Config {
    body_limit: usize,
    block_status: StatusCode,
    on_log_failure: OnLogFailure,
}

/// [`Layer`] that checks each request against a [`Policy`] before it reaches the handler.
/// See the [module docs](super) for an example.
#[must_use]
pub struct GuardLayer<P> {
    log: AuditLog,
    policy: Arc<P>,
    config: Config,
}

impl<P> Clone for GuardLayer<P> {
    fn clone(&self) -> Self {
        Self {
            log: self.log.clone(),
            policy: Arc::clone(&self.policy),
            config: self.config,
        }
    }
}

impl<P> fmt::Debug for GuardLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer")
            .field("log", &self.log)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<P: Policy> GuardLayer<P> {
    /// Checks requests with `policy`, recording its flags and blocks in `log`.
    pub fn new(log: AuditLog, policy: P) -> Self {
        Self {
            log,
            policy: Arc::new(policy),
            config: Config {
                body_limit: 1 << 20,
                block_status: StatusCode::FORBIDDEN,
                on_log_failure: OnLogFailure::Serve,
            },
        }
    }

    /// How many bytes of the body the policy sees; the rest streams to the handler unread.
    /// Defaults to 1 MiB.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// The status a blocked request gets (unless its finding names one). Defaults to 403.
    pub fn block_status(mut self, status: StatusCode) -> Self {
        self.config.block_status = status;
        self
    }

    /// What to do while the log cannot take writes: let requests through to the policy (the
    /// default; a request the policy flags or blocks is still refused with 503 when its flag
    /// cannot be written) or block every request with 503. See [`OnLogFailure`].
    pub fn on_log_failure(mut self, policy: OnLogFailure) -> Self {
        self.config.on_log_failure = policy;
        self
    }
}

impl<S, P> Layer<S> for GuardLayer<P> {
    type Service = Guard<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            log: self.log.clone(),
            policy: Arc::clone(&self.policy),
            config: self.config,
        }
    }
}

/// Middleware that checks each request against a [`Policy`]. See the [module docs](super).
pub struct Guard<S, P> {
    inner: S,
    log: AuditLog,
    policy: Arc<P>,
    config: Config,
}

impl<S: Clone, P> Clone for Guard<S, P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            log: self.log.clone(),
            policy: Arc::clone(&self.policy),
            config: self.config,
        }
    }
}

impl<S: fmt::Debug, P> fmt::Debug for Guard<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    P: Policy,
    ReqBody: ReplayBody,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The policy needs the body first: keep the service made ready for this call, leave
        // the clone behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let future = run(
            inner,
            req,
            self.log.clone(),
            Arc::clone(&self.policy),
            self.config,
        );
        ResponseFuture {
            future: Box::pin(future),
        }
    }
}

async fn run<S, P, ReqBody, ResBody>(
    mut inner: S,
    req: Request<ReqBody>,
    log: AuditLog,
    policy: Arc<P>,
    config: Config,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: Policy,
    ReqBody: ReplayBody,
    ResBody: From<String>,
{
    if config.on_log_failure == OnLogFailure::Refuse && !log.is_healthy() {
        return Ok(unavailable());
    }
    let (parts, body) = req.into_parts();
    let Some(read) = read_ahead(body, config.body_limit).await.ok() else {
        return Ok(json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "the request body could not be read"}),
        ));
    };
    let Some((verdict, parts)) = check(&policy, parts, &read.bytes, read.complete()).await else {
        return Ok(json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"error": "the request could not be checked; request refused"}),
        ));
    };
    let decision = parts
        .extensions
        .get::<Decision>()
        .cloned()
        .or_else(Decision::current);
    let (finding, blocked) = match verdict {
        Verdict::Allow => {
            return inner
                .call(Request::from_parts(parts, read.into_body()))
                .await;
        }
        Verdict::Flag(f) => (f, false),
        Verdict::Block(f) => (f, true),
    };
    let status = finding.status.unwrap_or(config.block_status);
    let entry = flag_entry(&finding, blocked, decision.as_ref(), &parts, status);
    // Write first, then act: the flag is durable before the handler runs or the client hears
    // anything. If it cannot be written, refuse the request (fail closed).
    if log.append(entry).await.is_err() {
        return Ok(unavailable());
    }
    if !blocked {
        return inner
            .call(Request::from_parts(parts, read.into_body()))
            .await;
    }
    Ok(json(
        status,
        &serde_json::json!({
            "error": "blocked by policy",
            "reason": finding.reason,
            "categories": finding.categories,
            "decision_id": decision.as_ref().map(|d| d.id().as_str()),
        }),
    ))
}

/// A body at least this long is checked on tokio's blocking pool, not on the request's task:
/// reading a body through every detector takes about a millisecond per 32 KiB of text, which
/// on the task would hold the runtime's worker thread, and every request queued on it. So is a
/// shorter body that may hold a compressed file (`may_inflate`), whose
/// text may be many times the body.
const CHECK_OFF_TASK: usize = 32 * 1024;

/// The policy's verdict on a request, with its parts given back; `None` if the check could not
/// run (the runtime shut down while it waited), so that the request is refused, not passed.
async fn check<P: Policy>(
    policy: &Arc<P>,
    parts: http::request::Parts,
    bytes: &bytes::Bytes,
    complete: bool,
) -> Option<(Verdict, http::request::Parts)> {
    fn judge<P: Policy>(
        policy: &P,
        parts: &http::request::Parts,
        bytes: &[u8],
        complete: bool,
    ) -> Verdict {
        let scanned = Scanned::new();
        policy.check(&GuardRequest::new(parts, bytes, complete, &scanned))
    }
    if bytes.len() < CHECK_OFF_TASK && !detect::may_inflate(bytes) {
        return Some((judge(&**policy, &parts, bytes, complete), parts));
    }
    let policy = Arc::clone(policy);
    let bytes = bytes.clone();
    let checked =
        crate::blocking::off_task(move || (judge(&*policy, &parts, &bytes, complete), parts)).await;
    if checked.is_none() {
        tracing::warn!(
            target: "acttrace",
            "GuardLayer: a request's check was cancelled (the runtime is shutting down); \
             request refused"
        );
    }
    checked
}

fn flag_entry(
    finding: &Finding,
    blocked: bool,
    decision: Option<&Decision>,
    parts: &http::request::Parts,
    status: StatusCode,
) -> Entry {
    let mut flag = PolicyFlag::new(finding.reason.as_str())
        .action(if blocked { "blocked" } else { "flagged" })
        .severity(finding.severity.as_str())
        .data(finding.categories.clone())
        .set("stage", "input")
        .set("method", parts.method.as_str())
        .set(
            "route",
            parts
                .extensions
                .get::<axum::extract::MatchedPath>()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        );
    if blocked {
        flag = flag.set("status", status.as_u16());
    }
    if let Some(d) = decision {
        flag = flag.decision(d.id());
    }
    Entry::policy_flag(flag)
}

fn unavailable<B: From<String>>() -> Response<B> {
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &serde_json::json!({"error": "the audit log is unavailable; request refused"}),
    )
}

fn json<B: From<String>>(status: StatusCode, body: &serde_json::Value) -> Response<B> {
    let mut res = Response::new(B::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

/// Response future for [`Guard`]. Boxed: it reads the body, consults the policy and may write
/// to the log before calling the handler.
pub struct ResponseFuture<B, E> {
    future: Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>,
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<B>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

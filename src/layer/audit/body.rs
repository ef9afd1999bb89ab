use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::StatusCode;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::chain::Entry;
use crate::decision::Decision;
use crate::json::Map;

/// A decision in progress: writes its `decision_end` exactly once, when the response is done,
/// or from `Drop` if it never gets there (client gone, handler panicked).
pub(crate) struct Span {
    decision: Decision,
    started: Instant,
    status: Option<StatusCode>,
    finished: bool,
}

impl Span {
    pub(crate) fn new(decision: Decision, started: Instant) -> Self {
        Self {
            decision,
            started,
            status: None,
            finished: false,
        }
    }

    pub(crate) fn set_status(&mut self, status: StatusCode) {
        self.status = Some(status);
    }

    /// Writes `decision_end` (once). Never blocks and never panics: from a body's
    /// `poll_frame` or a `Drop` the entry is handed over with `try_record`, and a full queue
    /// becomes a counted `gap` in the chain.
    pub(crate) fn finish(&mut self, status: Option<StatusCode>, outcome: &str) {
        if self.finished {
            return;
        }
        self.finished = true;
        if status.is_some() {
            self.status = status;
        }
        let mut fields = Map::with_capacity(3);
        fields.set("status", self.status.map(|s| s.as_u16()));
        let micros = self.started.elapsed().as_micros();
        fields.set("latency_ms", micros as f64 / 1000.0);
        fields.set("outcome", outcome);
        let entry = Entry::decision_end(self.decision.id(), fields);
        self.decision.log().try_record(entry);
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if !self.finished {
            let outcome = if std::thread::panicking() {
                "panicked"
            } else {
                "cancelled"
            };
            self.finish(None, outcome);
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("decision", &self.decision)
            .field("status", &self.status)
            .field("finished", &self.finished)
            .finish()
    }
}

pin_project! {
    /// Response body for [`Audit`](super::Audit): passes every frame through unchanged, keeps
    /// the decision current while the body is produced, and closes the decision when the body
    /// ends, fails or is dropped.
    pub struct AuditBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
        decision: Option<Decision>,
    }
}

impl<B> AuditBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        Self {
            inner,
            span: None,
            decision: None,
        }
    }
}

impl<B: Body> AuditBody<B> {
    pub(crate) fn new(inner: B, span: Span, decision: Decision) -> Self {
        let mut body = Self {
            inner,
            span: Some(span),
            decision: Some(decision),
        };
        // A body that is already over (an empty one) may never be polled.
        if body.inner.is_end_stream() {
            body.close("completed");
        }
        body
    }

    fn close(&mut self, outcome: &str) {
        if let Some(mut span) = self.span.take() {
            span.finish(None, outcome);
        }
        self.decision = None;
    }
}

impl<B: Default> Default for AuditBody<B> {
    fn default() -> Self {
        Self::passthrough(B::default())
    }
}

impl<B> fmt::Debug for AuditBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditBody")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for AuditBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        // Code producing the body (a stream calling a model, say) still runs in the decision.
        let poll = match this.decision.clone() {
            Some(d) => d.sync_scope(|| this.inner.as_mut().poll_frame(cx)),
            None => this.inner.as_mut().poll_frame(cx),
        };
        let result = ready!(poll);
        let outcome = match &result {
            None => Some("completed"),
            Some(Err(_)) => Some("error"),
            // With a known length, the consumer may never poll again after the last frame.
            Some(Ok(_)) => this.inner.is_end_stream().then_some("completed"),
        };
        if let Some(outcome) = outcome {
            if let Some(mut span) = this.span.take() {
                span.finish(None, outcome);
            }
            *this.decision = None;
        }
        Poll::Ready(result)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

//! A response body that reads usage from the bytes passing through it.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// How a tapped body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Every byte was read.
    Completed,
    /// The body failed mid-way.
    Failed,
    /// The caller dropped it before the end (an abandoned stream).
    Abandoned,
}

/// What a tapped body reports to: the bytes the caller has been handed, then how the body
/// ended.
pub(crate) trait Observe {
    /// A chunk the caller already has.
    fn feed(&mut self, chunk: &[u8]);

    /// The body is over, in the way `end` says; `rest` is the last chunk, not yet fed.
    /// Reading it is left to the observer, so that it can do that off the caller's path.
    fn end(self, rest: Option<Bytes>, end: End);
}

pin_project! {
    /// Passes every frame through unchanged and at once; shows the data to an [`Observe`]r;
    /// reports the end exactly once: at the end of the stream, on error, or from `Drop` if the
    /// caller gives up.
    ///
    /// A chunk is handed to the caller first and shown to the observer afterwards: it is kept
    /// (a reference count, not a copy) and fed at the next poll, which for a stream comes while
    /// the next bytes are on their way, or at the end. Parsing never stands between a byte and
    /// the caller.
    pub(crate) struct UsageTap<B, O>
    where
        O: Observe,
    {
        #[pin]
        inner: B,
        // Taken when the body ends.
        observer: Option<O>,
        unscanned: Option<Bytes>,
    }

    impl<B, O> PinnedDrop for UsageTap<B, O>
    where
        O: Observe,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(observer) = this.observer.take() {
                observer.end(this.unscanned.take(), End::Abandoned);
            }
        }
    }
}

impl<B, O: Observe> UsageTap<B, O> {
    pub(crate) fn new(inner: B, observer: O) -> Self {
        Self {
            inner,
            observer: Some(observer),
            unscanned: None,
        }
    }
}

impl<B, O: Observe> fmt::Debug for UsageTap<B, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsageTap")
            .field("ended", &self.observer.is_none())
            .finish_non_exhaustive()
    }
}

impl<B: Body<Data = Bytes>, O: Observe> Body for UsageTap<B, O> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        // The chunk handed out last time, shown now that the caller has it.
        if let (Some(chunk), Some(observer)) = (this.unscanned.take(), this.observer.as_mut()) {
            observer.feed(&chunk);
        }
        let result = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(data) = result
            .as_ref()
            .and_then(|r| r.as_ref().ok())
            .and_then(Frame::data_ref)
        {
            *this.unscanned = Some(data.clone());
        }
        let end = match &result {
            None => Some(End::Completed),
            Some(Err(_)) => Some(End::Failed),
            // With a known length the consumer may never poll again after the last frame.
            Some(Ok(_)) => this.inner.is_end_stream().then_some(End::Completed),
        };
        if let Some(end) = end
            && let Some(observer) = this.observer.take()
        {
            observer.end(this.unscanned.take(), end);
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

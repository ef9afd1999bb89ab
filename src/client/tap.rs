//! A response body that reads usage from the bytes passing through it.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::usage::Scanner;

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

pin_project! {
    /// Passes every frame through unchanged and at once; feeds data to a [`Scanner`]; reports
    /// exactly once, at the end of the stream, on error, or from `Drop` if the caller gives up.
    ///
    /// A chunk is handed to the caller first and scanned afterwards: it is kept (a reference
    /// count, not a copy) and fed to the scanner at the next poll, which for a stream comes
    /// while the next bytes are on their way, or at the end. Parsing never stands between a
    /// byte and the caller.
    ///
    /// `on_end` is called exactly once, when the body ends in any way, with the scanner and the
    /// last chunk it has not yet been fed: reading that chunk and finishing the scan is left to
    /// it, so that it can do that off the caller's path.
    pub(crate) struct UsageTap<B, F>
    where
        F: FnOnce(Scanner, Option<Bytes>, End),
    {
        #[pin]
        inner: B,
        // Taken, with `on_end`, when the body ends.
        scanner: Option<Scanner>,
        unscanned: Option<Bytes>,
        on_end: Option<F>,
    }

    impl<B, F> PinnedDrop for UsageTap<B, F>
    where
        F: FnOnce(Scanner, Option<Bytes>, End),
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(on_end), Some(scanner)) = (this.on_end.take(), this.scanner.take()) {
                on_end(scanner, this.unscanned.take(), End::Abandoned);
            }
        }
    }
}

impl<B, F: FnOnce(Scanner, Option<Bytes>, End)> UsageTap<B, F> {
    pub(crate) fn new(inner: B, scanner: Scanner, on_end: F) -> Self {
        Self {
            inner,
            scanner: Some(scanner),
            unscanned: None,
            on_end: Some(on_end),
        }
    }
}

impl<B, F: FnOnce(Scanner, Option<Bytes>, End)> fmt::Debug for UsageTap<B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsageTap")
            .field("scanner", &self.scanner)
            .finish_non_exhaustive()
    }
}

impl<B: Body<Data = Bytes>, F: FnOnce(Scanner, Option<Bytes>, End)> Body for UsageTap<B, F> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        // The chunk handed out last time, scanned now that the caller has it.
        if let (Some(chunk), Some(scanner)) = (this.unscanned.take(), this.scanner.as_mut()) {
            scanner.feed(&chunk);
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
            && let (Some(on_end), Some(scanner)) = (this.on_end.take(), this.scanner.take())
        {
            on_end(scanner, this.unscanned.take(), end);
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

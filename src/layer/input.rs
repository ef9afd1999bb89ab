//! Reading a request body up to a limit and handing it on intact.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;

use crate::BoxError;

/// Request bodies the layers can read ahead and then hand to the handler unchanged.
///
/// The layers read up to a configured number of bytes to digest or inspect them, then rebuild a
/// body of the same type from what they read and the rest of the stream, so the handler sees
/// every byte and `Router::layer` sees the body type it expects. Implemented for axum's
/// [`Body`](axum::body::Body), [`Full<Bytes>`](http_body_util::Full) and `String`; implement it
/// for another body type to use the layers with it.
pub trait ReplayBody: Body<Data = Bytes> + Send + Unpin + Sized + 'static {
    /// A body yielding `read` and then, if any, the rest of the original body.
    fn replay(read: Bytes, rest: Option<Self>) -> Self;
}

impl ReplayBody for axum::body::Body {
    fn replay(read: Bytes, rest: Option<Self>) -> Self {
        match rest {
            None => Self::from(read),
            Some(rest) => Self::new(Prefixed {
                prefix: Some(read),
                rest,
            }),
        }
    }
}

impl ReplayBody for http_body_util::Full<Bytes> {
    /// A `Full` body arrives in one frame, so nothing is ever left over.
    fn replay(read: Bytes, _rest: Option<Self>) -> Self {
        Self::new(read)
    }
}

impl ReplayBody for String {
    /// A `String` body arrives in one frame, so nothing is ever left over.
    fn replay(read: Bytes, _rest: Option<Self>) -> Self {
        Self::from_utf8(read.to_vec())
            .unwrap_or_else(|e| Self::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

pin_project! {
    /// Bytes already read, then the rest of the original body.
    struct Prefixed<B> {
        prefix: Option<Bytes>,
        #[pin]
        rest: B,
    }
}

impl<B: Body<Data = Bytes>> Body for Prefixed<B>
where
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        this.rest.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let extra = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let inner = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + extra);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + extra);
        }
        hint
    }
}

/// What was read of a request body.
pub(crate) struct ReadAhead<B> {
    /// The bytes read (the whole body when `rest` is `None`).
    pub(crate) bytes: Bytes,
    /// The unread remainder, when the body was longer than the limit.
    pub(crate) rest: Option<B>,
}

impl<B: ReplayBody> ReadAhead<B> {
    pub(crate) fn complete(&self) -> bool {
        self.rest.is_none()
    }

    pub(crate) fn into_body(self) -> B {
        B::replay(self.bytes, self.rest)
    }
}

/// Reads `body` until it ends or more than `limit` bytes have been read.
///
/// A body that arrives in one frame (most of them) is kept as that frame, not copied; the
/// bytes are copied only when a second frame has to be joined to the first.
pub(crate) async fn read_ahead<B: ReplayBody>(
    mut body: B,
    limit: usize,
) -> Result<ReadAhead<B>, B::Error> {
    let mut read = Read::default();
    loop {
        if read.len() > limit {
            return Ok(ReadAhead {
                bytes: read.into_bytes(),
                rest: Some(body),
            });
        }
        // A body that knows it is over need not be polled again.
        if body.is_end_stream() {
            break;
        }
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Err(e),
            // Request trailers are rare; they are not passed on.
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read.push(data);
                }
            }
        }
    }
    Ok(ReadAhead {
        bytes: read.into_bytes(),
        rest: None,
    })
}

/// The frames read so far: the first as it came, then, once there is a second, all of them
/// joined.
#[derive(Default)]
struct Read {
    first: Bytes,
    joined: Option<BytesMut>,
}

impl Read {
    fn len(&self) -> usize {
        self.joined.as_ref().map_or(self.first.len(), BytesMut::len)
    }

    fn push(&mut self, data: Bytes) {
        match &mut self.joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if self.first.is_empty() => self.first = data,
            None => {
                let mut joined = BytesMut::with_capacity(self.first.len() + data.len());
                joined.extend_from_slice(&self.first);
                joined.extend_from_slice(&data);
                self.joined = Some(joined);
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match self.joined {
            Some(joined) => joined.freeze(),
            None => self.first,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;

    use super::*;

    /// A body sent as the given frames.
    struct Frames(VecDeque<Bytes>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn frames(parts: &[&'static str]) -> axum::body::Body {
        axum::body::Body::new(Frames(parts.iter().map(|p| Bytes::from(*p)).collect()))
    }

    async fn all(body: axum::body::Body) -> Bytes {
        body.collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn one_frame_is_kept_as_it_came_and_frames_are_joined() {
        let one = Bytes::from_static(b"{\"applicant\":\"A-17\"}");
        let read = read_ahead(axum::body::Body::from(one.clone()), 1024)
            .await
            .expect("a body that cannot fail");
        assert!(read.complete());
        assert_eq!(read.bytes, one);
        assert_eq!(
            read.bytes.as_ptr(),
            one.as_ptr(),
            "no copy of a one-frame body"
        );

        let read = read_ahead(frames(&["ab", "cd", "ef"]), 1024)
            .await
            .expect("a body that cannot fail");
        assert!(read.complete());
        assert_eq!(&read.bytes[..], b"abcdef");
        assert_eq!(&all(read.into_body()).await[..], b"abcdef");
    }

    #[tokio::test]
    async fn reading_stops_past_the_limit_and_the_rest_follows() {
        let read = read_ahead(frames(&["abcd", "efgh", "ijkl", "mnop"]), 5)
            .await
            .expect("a body that cannot fail");
        assert!(!read.complete());
        assert_eq!(
            &read.bytes[..],
            b"abcdefgh",
            "two frames: the first past the limit"
        );
        assert_eq!(&all(read.into_body()).await[..], b"abcdefghijklmnop");

        let read = read_ahead(frames(&[]), 5).await.expect("an empty body");
        assert!(read.complete() && read.bytes.is_empty());
    }
}

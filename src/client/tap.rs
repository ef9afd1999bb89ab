//! A response body that reads usage from the bytes passing through it.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// Chunks the caller already has are held (shared, not copied) and read when it next waits for
/// the network once this many have gathered; fewer are held on, so that a few chunks that come
/// together are never read between one another.
const READ_AT: Limit = Limit {
    chunks: 8,
    bytes: 16 << 10,
};
/// The most a tap holds: a caller that reads further ahead of the network than this (and so
/// never waits) has what is held read before its next chunk instead.
const HOLD_CAP: Limit = Limit {
    chunks: 32,
    bytes: 64 << 10,
};

/// A number of chunks or of bytes, whichever comes first.
#[derive(Debug, Clone, Copy)]
struct Limit {
    chunks: usize,
    bytes: usize,
}

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

    /// The body is over, in the way `end` says; `rest` are its last chunks, not yet fed.
    /// Reading them is left to the observer, so that it can do that off the caller's path.
    fn end(self, rest: Held, end: End);

    /// The body's first bytes have reached the caller (a stream's time to first token).
    fn first_data(&mut self) {}
}

pin_project! {
    /// Passes every frame through unchanged and at once; shows the data to an [`Observe`]r;
    /// reports the end exactly once: at the end of the stream, on error, or from `Drop` if the
    /// caller gives up.
    ///
    /// No byte waits on reading another: a chunk goes to the caller as soon as it has come, and
    /// is shown to the observer only when the caller next has to wait for the network (the
    /// body is pending) and [`READ_AT`] chunks have gathered, or with the end, which the
    /// observer reads off the caller's path. Until then the tap holds the chunk (a reference
    /// count, not a copy); once it holds [`HOLD_CAP`], they are read before the next.
    pub(crate) struct UsageTap<B, O>
    where
        O: Observe,
    {
        #[pin]
        inner: B,
        // Taken when the body ends.
        observer: Option<O>,
        held: Held,
        // Whether data has come yet.
        started: bool,
    }

    impl<B, O> PinnedDrop for UsageTap<B, O>
    where
        O: Observe,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(observer) = this.observer.take() {
                observer.end(std::mem::take(this.held), End::Abandoned);
            }
        }
    }
}

impl<B, O: Observe> UsageTap<B, O> {
    pub(crate) fn new(inner: B, observer: O) -> Self {
        Self {
            inner,
            observer: Some(observer),
            held: Held::default(),
            started: false,
        }
    }
}

/// The chunks a tap holds unread, oldest first, and their length. The first is held in place:
/// a body that comes in one chunk (most answers that are not streamed) is held without an
/// allocation, and so is a stream's first chunk.
#[derive(Debug, Default)]
pub(crate) struct Held {
    first: Option<Bytes>,
    /// Empty while `first` is.
    more: Vec<Bytes>,
    len: usize,
}

impl Held {
    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        if self.first.is_none() {
            self.first = Some(chunk);
        } else {
            self.more.push(chunk);
        }
    }

    fn count(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    fn reaches(&self, limit: Limit) -> bool {
        self.count() >= limit.chunks || self.len >= limit.bytes
    }

    /// Shows what is held to `observer`, oldest first. (The room made for more is kept.)
    fn show<O: Observe>(&mut self, observer: &mut Option<O>) {
        if let Some(observer) = observer {
            (self.first.iter().chain(&self.more)).for_each(|chunk| observer.feed(chunk));
        }
        self.first = None;
        self.more.clear();
        self.len = 0;
    }

    /// The chunks, oldest first.
    pub(crate) fn into_chunks(self) -> impl Iterator<Item = Bytes> {
        self.first.into_iter().chain(self.more)
    }
}

impl<B, O: Observe> fmt::Debug for UsageTap<B, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsageTap")
            .field("ended", &self.observer.is_none())
            .field("held", &self.held.count())
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
        if this.held.reaches(HOLD_CAP) {
            this.held.show(this.observer);
        }
        let Poll::Ready(result) = this.inner.as_mut().poll_frame(cx) else {
            // Nothing new has come: the caller waits for the network anyway. (Bytes that come
            // meanwhile wake it as usual: the inner body has its waker.)
            if this.held.reaches(READ_AT) {
                this.held.show(this.observer);
            }
            return Poll::Pending;
        };
        if let Some(data) = result
            .as_ref()
            .and_then(|r| r.as_ref().ok())
            .and_then(Frame::data_ref)
            .filter(|data| !data.is_empty())
        {
            if !*this.started {
                *this.started = true;
                if let Some(observer) = this.observer.as_mut() {
                    observer.first_data();
                }
            }
            this.held.push(data.clone());
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
            observer.end(std::mem::take(this.held), end);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::task::Waker;

    /// What the network does at each poll of the inner body.
    enum Step {
        Chunk(Vec<u8>),
        Pending,
        Fail,
    }

    /// A body that plays `steps`, then ends; with `known_length`, it says it has ended as soon
    /// as its last step is out (as a body with a content length does).
    struct Script {
        steps: VecDeque<Step>,
        known_length: bool,
    }

    impl Body for Script {
        type Data = Bytes;
        type Error = &'static str;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.steps.pop_front() {
                Some(Step::Chunk(b)) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(b))))),
                Some(Step::Pending) => Poll::Pending,
                Some(Step::Fail) => Poll::Ready(Some(Err("reset"))),
                None => Poll::Ready(None),
            }
        }

        fn is_end_stream(&self) -> bool {
            self.known_length && self.steps.is_empty()
        }
    }

    /// Writes down what it is shown, in order, into a log the test keeps.
    struct Log(Rc<RefCell<Vec<String>>>);

    impl Observe for Log {
        fn feed(&mut self, chunk: &[u8]) {
            self.0
                .borrow_mut()
                .push(format!("feed {}", String::from_utf8_lossy(chunk)));
        }

        fn end(self, rest: Held, end: End) {
            let rest: Vec<_> = rest
                .into_chunks()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect();
            self.0
                .borrow_mut()
                .push(format!("end {end:?} [{}]", rest.join(",")));
        }
    }

    fn tapped(
        steps: Vec<Step>,
        known_length: bool,
    ) -> (UsageTap<Script, Log>, Rc<RefCell<Vec<String>>>) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let script = Script {
            steps: steps.into(),
            known_length,
        };
        (UsageTap::new(script, Log(log.clone())), log)
    }

    /// One poll: the chunk handed out (`pending`, `end`, `error`), and what the observer was
    /// shown during it.
    fn poll(
        tap: &mut Pin<&mut UsageTap<Script, Log>>,
        log: &RefCell<Vec<String>>,
    ) -> (String, Vec<String>) {
        let mut cx = Context::from_waker(Waker::noop());
        let out = match tap.as_mut().poll_frame(&mut cx) {
            Poll::Pending => "pending".to_owned(),
            Poll::Ready(None) => "end".to_owned(),
            Poll::Ready(Some(Err(_))) => "error".to_owned(),
            Poll::Ready(Some(Ok(frame))) => {
                String::from_utf8_lossy(&frame.into_data().unwrap_or_default()).into_owned()
            }
        };
        (out, log.borrow_mut().drain(..).collect())
    }

    fn chunk(s: &str) -> Step {
        Step::Chunk(s.as_bytes().to_vec())
    }

    fn chunks(prefix: &str, n: usize) -> Vec<Step> {
        (0..n).map(|i| chunk(&format!("{prefix}{i}"))).collect()
    }

    /// Chunks that have come are handed on one after another with nothing read in between.
    /// Once enough have gathered they are read when the caller next waits; fewer are held on;
    /// the last ones are handed over with the end, unread.
    #[test]
    fn chunks_are_read_only_while_the_caller_waits_or_after_the_end() {
        let mut steps = chunks("c", READ_AT.chunks);
        steps.extend([
            Step::Pending,
            chunk("a"),
            chunk("b"),
            Step::Pending,
            chunk("d"),
        ]);
        let (tap, log) = tapped(steps, false);
        let mut tap = std::pin::pin!(tap);
        for i in 0..READ_AT.chunks {
            assert_eq!(poll(&mut tap, &log), (format!("c{i}"), vec![]));
        }
        let fed: Vec<String> = (0..READ_AT.chunks).map(|i| format!("feed c{i}")).collect();
        assert_eq!(poll(&mut tap, &log), ("pending".into(), fed));
        assert_eq!(poll(&mut tap, &log), ("a".into(), vec![]));
        assert_eq!(poll(&mut tap, &log), ("b".into(), vec![]));
        // Two chunks are not worth reading while a third may be on its way.
        assert_eq!(poll(&mut tap, &log), ("pending".into(), vec![]));
        assert_eq!(poll(&mut tap, &log), ("d".into(), vec![]));
        assert_eq!(
            poll(&mut tap, &log),
            ("end".into(), vec!["end Completed [a,b,d]".into()])
        );
        // Polled again after its end, it reports nothing more.
        assert_eq!(poll(&mut tap, &log), ("end".into(), vec![]));
    }

    /// A body that knows its length ends with its last chunk: the end is reported then, with
    /// that chunk, though the caller never polls again.
    #[test]
    fn a_known_length_ends_with_its_last_chunk() {
        let (tap, log) = tapped(vec![chunk("{\"usage\":"), chunk("{}}")], true);
        let mut tap = std::pin::pin!(tap);
        assert_eq!(poll(&mut tap, &log), ("{\"usage\":".into(), vec![]));
        assert_eq!(
            poll(&mut tap, &log),
            ("{}}".into(), vec!["end Completed [{\"usage\":,{}}]".into()])
        );
    }

    #[test]
    fn a_failure_or_a_drop_hands_over_what_is_held() {
        let (tap, log) = tapped(vec![chunk("a"), Step::Fail], false);
        let mut tap = std::pin::pin!(tap);
        assert_eq!(poll(&mut tap, &log), ("a".into(), vec![]));
        assert_eq!(
            poll(&mut tap, &log),
            ("error".into(), vec!["end Failed [a]".into()])
        );

        let (tap, log) = tapped(vec![chunk("a"), Step::Pending, chunk("b")], false);
        {
            let mut tap = std::pin::pin!(tap);
            assert_eq!(poll(&mut tap, &log), ("a".into(), vec![]));
            assert_eq!(poll(&mut tap, &log), ("pending".into(), vec![]));
            assert_eq!(poll(&mut tap, &log), ("b".into(), vec![]));
        }
        assert_eq!(*log.borrow(), ["end Abandoned [a,b]"]);
    }

    /// A caller that reads further ahead of the network than the cap (in bytes, or in
    /// chunks) has what is held read before its next chunk: the tap never holds more.
    #[test]
    fn a_reader_far_ahead_has_held_chunks_read_before_the_next() {
        let big = "x".repeat(HOLD_CAP.bytes);
        let (tap, log) = tapped(vec![chunk(&big), chunk("a"), chunk("b")], false);
        let mut tap = std::pin::pin!(tap);
        assert_eq!(poll(&mut tap, &log), (big.clone(), vec![]));
        assert_eq!(
            poll(&mut tap, &log),
            ("a".into(), vec![format!("feed {big}")])
        );
        assert_eq!(poll(&mut tap, &log), ("b".into(), vec![]));
        assert_eq!(
            poll(&mut tap, &log),
            ("end".into(), vec!["end Completed [a,b]".into()])
        );

        let (tap, log) = tapped(chunks("c", HOLD_CAP.chunks + 1), false);
        let mut tap = std::pin::pin!(tap);
        for i in 0..HOLD_CAP.chunks {
            assert_eq!(poll(&mut tap, &log), (format!("c{i}"), vec![]));
        }
        let (last, fed) = poll(&mut tap, &log);
        assert_eq!(last, format!("c{}", HOLD_CAP.chunks));
        assert_eq!(fed.len(), HOLD_CAP.chunks);
        assert_eq!(fed.last(), Some(&format!("feed c{}", HOLD_CAP.chunks - 1)));
    }
}

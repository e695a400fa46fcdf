//! The request body on its way upstream, passed through frame by frame (no buffering), telling
//! the proxy when it has ended so the response timeout can start then: a 16 GiB upload takes as
//! long as it takes, and only the wait for the answer after it is timed.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use tokio::sync::oneshot;

/// A request body that drops its `ended` sender once it has ended, failed or been dropped.
#[derive(Debug)]
pub struct WatchedBody {
    /// The client's body.
    inner: Body,
    /// Dropped when the body is over; the receiver then resolves.
    ended: Option<oneshot::Sender<()>>,
}

impl WatchedBody {
    /// Wraps `inner`; the receiver resolves (with an error, as nothing is ever sent) once the
    /// body is over. An empty body is over at once.
    pub fn new(inner: Body) -> (Self, oneshot::Receiver<()>) {
        let (sender, receiver) = oneshot::channel();
        let ended = (!hyper::body::Body::is_end_stream(&inner)).then_some(sender);
        (Self { inner, ended }, receiver)
    }
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if matches!(frame, None | Some(Err(_))) || self.inner.is_end_stream() {
            self.ended = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;

    use http_body_util::BodyExt;
    use tokio::sync::oneshot::error::TryRecvError;

    use super::*;

    /// A body of fixed chunks, yielded one frame at a time.
    struct Chunks(VecDeque<&'static str>);

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(Bytes::from_static(chunk.as_bytes())))))
        }
    }

    fn chunks(items: &[&'static str]) -> Body {
        Body::new(Chunks(items.iter().copied().collect()))
    }

    #[tokio::test]
    async fn empty_body_has_ended_at_once() {
        let (_body, ended) = WatchedBody::new(Body::empty());
        assert!(ended.await.is_err(), "the sender is gone: the body is over");
    }

    #[tokio::test]
    async fn streamed_body_ends_after_its_last_frame() {
        let (mut body, mut ended) = WatchedBody::new(chunks(&["ab", "cd"]));
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "ab");
        assert_eq!(ended.try_recv(), Err(TryRecvError::Empty), "not over yet");
        let rest = body.collect().await.unwrap().to_bytes();
        assert_eq!(rest, "cd");
        assert_eq!(ended.try_recv(), Err(TryRecvError::Closed));
    }

    #[tokio::test]
    async fn dropped_body_counts_as_ended() {
        let (body, ended) = WatchedBody::new(chunks(&["ab"]));
        drop(body);
        assert!(ended.await.is_err());
    }
}

//! A body passed through frame by frame, adding the size of each data frame to a counter (the
//! proxy's `regent_proxy_bytes_total`).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;

/// A body counting its data bytes into `counter` as they pass.
#[derive(Debug)]
pub struct CountedBody<B> {
    /// The body.
    inner: B,
    /// Where the bytes are counted.
    counter: Counter,
}

impl<B> CountedBody<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, counter: Counter) -> Self {
        Self { inner, counter }
    }
}

impl<B> hyper::body::Body for CountedBody<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            self.counter.inc_by(data.len() as u64);
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

/// `body` counted into `counter`, as an axum [`Body`].
pub fn counted(body: Body, counter: Counter) -> Body {
    Body::new(CountedBody::new(body, counter))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn counts_the_data_bytes_that_pass() {
        let counter = Counter::default();
        let body = counted(Body::from("hello world"), counter.clone());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello world");
        assert_eq!(counter.get(), 11);
    }
}

//! Whether a connection is idle: requests in flight are counted from the moment hyper hands
//! one to the router until its response body is finished or dropped, so a long upload or
//! download is never idle, and a connection with nothing in flight is, however many bytes of
//! an unfinished request head it has sent.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use tokio::sync::watch;

/// The requests in flight on one connection.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Their number; watchers wake when it changes.
    in_flight: Arc<watch::Sender<usize>>,
}

/// One request in flight; dropping it ends it.
#[derive(Debug)]
pub struct InFlight {
    /// Where it is counted.
    in_flight: Arc<watch::Sender<usize>>,
}

impl Default for Activity {
    fn default() -> Self {
        Self { in_flight: Arc::new(watch::Sender::new(0)) }
    }
}

impl Activity {
    /// Counts a request until the returned guard is dropped.
    pub fn begin(&self) -> InFlight {
        self.in_flight.send_modify(|count| *count += 1);
        InFlight { in_flight: self.in_flight.clone() }
    }

    /// Resolves once nothing has been in flight for `timeout` in a row.
    pub async fn idle_for(&self, timeout: Duration) {
        let mut count = self.in_flight.subscribe();
        loop {
            if count.wait_for(|count| *count == 0).await.is_err() {
                return;
            }
            if tokio::time::timeout(timeout, count.wait_for(|count| *count > 0)).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.in_flight.send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// A response body that keeps its request in flight until it is finished or dropped.
#[derive(Debug)]
pub struct TrackedBody {
    /// The router's body.
    inner: Body,
    /// Released with the body.
    _in_flight: InFlight,
}

impl TrackedBody {
    /// `inner`, keeping `in_flight` alive as long as it is.
    pub fn new(inner: Body, in_flight: InFlight) -> Self {
        Self { inner, _in_flight: in_flight }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
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
    use tokio::time::Instant;

    use super::*;

    #[tokio::test]
    async fn idle_only_after_the_last_request_ended_for_the_timeout() {
        let activity = Activity::default();
        let timeout = Duration::from_millis(200);
        let started = Instant::now();
        activity.idle_for(timeout).await;
        assert!(started.elapsed() >= timeout, "no request at all: idle after the timeout");

        let request = activity.begin();
        let watcher = activity.clone();
        let idle = tokio::spawn(async move { watcher.idle_for(timeout).await });
        tokio::time::sleep(timeout * 3).await;
        assert!(!idle.is_finished(), "a request in flight for 3 timeouts is not idle");
        let body = TrackedBody::new(Body::from("x"), request);
        tokio::time::sleep(timeout * 3).await;
        assert!(!idle.is_finished(), "its response body is still being sent");
        let ended = Instant::now();
        drop(body);
        idle.await.unwrap();
        assert!(ended.elapsed() >= timeout, "idle only a timeout after the body was dropped");
    }
}

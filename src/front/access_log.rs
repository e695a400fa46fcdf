//! The access log: one line per request a listener serves, proxied or answered by regent
//! (target [`TARGET`]), written when the response body has been sent (or the client went
//! away): method, path (never the query), status, body bytes sent and received, duration,
//! the user, the client address and, from a trusted proxy, the forwarded one, and the
//! upstream for proxied requests. Probes (`/healthz`, `/readyz`, `/metrics`) log at DEBUG.
//!
//! The user is the `sub` of a bearer token, read without verifying it (only the registry
//! checks the token; this is a log line, not a decision) and never logged itself.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::body::{Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;

use super::counted::counted;
use crate::http::ForwardedClient;

/// The `tracing` target of access lines (`RUST_LOG=regent=info,regent::access=off` hides them).
pub const TARGET: &str = "regent::access";

/// Paths polled by probes and scrapers: their lines are DEBUG, not INFO.
const PROBE_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The largest bearer-token payload decoded for its `sub`, in base64 characters.
const MAX_PAYLOAD_CHARS: usize = 16 * 1024;

/// Set on a response by the proxy's caller: the upstream it came from (`scheme://authority`).
#[derive(Debug, Clone)]
pub struct ProxiedTo(pub String);

/// The middleware (`axum::middleware::from_fn`): counts the request body, and logs the line
/// once the response body is over.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let received = Counter::default();
    let line = Line::new(&request, received.clone());
    let request = request.map(|body| counted(body, received));
    let mut response = next.run(request).await;
    let upstream = response.extensions_mut().remove::<ProxiedTo>().map(|proxied| proxied.0);
    let line = Line { status: response.status(), upstream, ..line };
    response.map(|body| Body::new(LoggedBody { inner: body, sent: 0, line: Some(line) }))
}

/// What the line says, gathered while the request is answered.
#[derive(Debug)]
struct Line {
    /// The request method.
    method: Method,
    /// The request path, without the query.
    path: String,
    /// The response status.
    status: StatusCode,
    /// The bearer token's `sub`.
    user: Option<String>,
    /// The TCP peer.
    client: Option<SocketAddr>,
    /// The client a trusted proxy forwarded.
    forwarded: Option<std::net::IpAddr>,
    /// Where a proxied request went.
    upstream: Option<String>,
    /// Request body bytes received.
    received: Counter,
    /// When the request arrived.
    started: Instant,
}

impl Line {
    fn new(request: &Request, received: Counter) -> Self {
        Self {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            status: StatusCode::OK,
            user: bearer_subject(request.headers()),
            client: request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0),
            forwarded: request.extensions().get::<ForwardedClient>().map(|client| client.0),
            upstream: None,
            received,
            started: Instant::now(),
        }
    }

    /// Writes the line: `sent` body bytes went out, `complete` when the body ended normally.
    fn write(self, sent: u64, complete: bool) {
        let duration_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let (method, path, status) = (self.method.as_str(), self.path.as_str(), self.status.as_u16());
        let (user, upstream) = (self.user.as_deref(), self.upstream.as_deref());
        let client = self.client.map(|addr| tracing::field::display(addr.ip()));
        let forwarded = self.forwarded.map(tracing::field::display);
        let received = self.received.get();
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: TARGET, method, path, status, bytes_sent = sent, bytes_received = received,
                    duration_ms, user, client, forwarded, upstream, complete, "request"
                )
            };
        }
        if PROBE_PATHS.contains(&path) {
            line!(debug);
        } else {
            line!(info);
        }
    }
}

/// The `sub` claim of an `Authorization: Bearer` JWT, unverified; none when absent, empty or
/// unreadable.
fn bearer_subject(headers: &HeaderMap) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Subject {
        sub: Option<String>,
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let payload = token.trim().split('.').nth(1)?;
    if payload.len() > MAX_PAYLOAD_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let subject: Subject = serde_json::from_slice(&bytes).ok()?;
    subject.sub.filter(|sub| !sub.is_empty())
}

/// The response body, counting its bytes; the line is written when it ends or is dropped.
struct LoggedBody {
    /// The response body.
    inner: Body,
    /// Data bytes passed on so far.
    sent: u64,
    /// The line, until written.
    line: Option<Line>,
}

impl LoggedBody {
    fn finish(&mut self, complete: bool) {
        if let Some(line) = self.line.take() {
            line.write(self.sent, complete);
        }
    }
}

impl hyper::body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    self.sent += data.len() as u64;
                }
                if self.inner.is_end_stream() {
                    self.finish(true);
                }
            }
            Some(Err(_)) => self.finish(false),
            None => self.finish(true),
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

impl Drop for LoggedBody {
    fn drop(&mut self) {
        let complete = hyper::body::Body::is_end_stream(&self.inner);
        self.finish(complete);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(payload: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(payload));
        headers.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        headers
    }

    #[test]
    fn the_user_is_the_bearer_tokens_sub_when_readable() {
        assert_eq!(bearer_subject(&bearer(r#"{"sub":"alice","access":[]}"#)).as_deref(), Some("alice"));
        assert_eq!(bearer_subject(&bearer(r#"{"sub":""}"#)), None, "anonymous tokens have an empty sub");
        assert_eq!(bearer_subject(&bearer(r#"{"iss":"regent"}"#)), None);
        assert_eq!(bearer_subject(&bearer(r#"{"sub":42}"#)), None);
        assert_eq!(bearer_subject(&bearer("not json")), None);
        let mut basic = HeaderMap::new();
        basic.insert(header::AUTHORIZATION, "Basic YWxpY2U6cHc=".parse().unwrap());
        assert_eq!(bearer_subject(&basic), None);
        let mut garbage = HeaderMap::new();
        garbage.insert(header::AUTHORIZATION, "Bearer no-dots-here".parse().unwrap());
        assert_eq!(bearer_subject(&garbage), None);
        assert_eq!(bearer_subject(&HeaderMap::new()), None);
    }
}

//! The streaming reverse proxy: one pooled HTTP/1.1 client; request and response bodies pass
//! through frame by frame, so memory stays constant whatever their size and however long they
//! take. Only two waits are timed: connecting, and the upstream's response head after the
//! request body has ended.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Uri, Version};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::WatchedBody;
use super::counted::counted;
use super::headers::{Forwarding, add_api_version, client_host, set_forwarded, strip_hop_by_hop};
use crate::http::ApiError;
use crate::metrics::{Direction, Metrics};

/// How long an idle upstream connection stays in the pool.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pooled client to the upstreams, cheap to clone.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// HTTP/1.1 over TCP, with the connect timeout.
    client: Client<HttpConnector, WatchedBody>,
    /// How long the upstream may take to start answering once the request body has ended.
    response_timeout: Duration,
    /// Where requests, bytes and upstream errors are counted, when metered.
    metrics: Option<Arc<Metrics>>,
}

impl Proxy {
    /// A proxy with these timeouts (see [`crate::config::FrontConfig`]). Needs a tokio runtime
    /// when used, not when built.
    pub fn new(connect_timeout: Duration, response_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self { client, response_timeout, metrics: None }
    }

    /// This proxy, counting requests, body bytes and upstream errors in `metrics`.
    pub fn metered(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics: Some(metrics), ..self }
    }

    /// Sends `request` to `upstream` (an `http://host:port` URL) keeping its path and query,
    /// and streams the answer back. `registry`: the upstream is a registry, so its answers (and
    /// the proxy's own 502/504) carry `Docker-Distribution-Api-Version`.
    pub async fn forward(
        &self,
        request: Request,
        upstream: &Uri,
        forwarding: Forwarding,
        registry: bool,
    ) -> Response {
        let mut response = match self.try_forward(request, upstream, forwarding).await {
            Ok(response) => response,
            Err(error) => {
                if let Some(metrics) = &self.metrics {
                    let timeout = matches!(error, ApiError::GatewayTimeout(_));
                    metrics.record_upstream_error(&upstream_label(upstream), timeout);
                }
                error.into_response()
            }
        };
        if let Some(metrics) = &self.metrics {
            metrics.record_proxy_request(&upstream_label(upstream), response.status().as_u16());
        }
        if registry {
            add_api_version(response.headers_mut());
        }
        response
    }

    async fn try_forward(
        &self,
        request: Request,
        upstream: &Uri,
        forwarding: Forwarding,
    ) -> Result<Response, ApiError> {
        let (mut parts, body) = request.into_parts();
        let host = client_host(&parts.uri, &parts.headers);
        strip_hop_by_hop(&mut parts.headers);
        set_forwarded(&mut parts.headers, host.as_ref(), forwarding);
        parts.uri = upstream_uri(upstream, &parts.uri)?;
        parts.version = Version::HTTP_11;
        let body = match &self.metrics {
            Some(metrics) => counted(body, metrics.proxy_bytes(&upstream_label(upstream), Direction::Sent)),
            None => body,
        };
        let (body, ended) = WatchedBody::new(body);
        let timeout = self.response_timeout;
        let answer_deadline = async move {
            let _ = ended.await;
            tokio::time::sleep(timeout).await;
        };
        let response = tokio::select! {
            result = self.client.request(Request::from_parts(parts, body)) => {
                result.map_err(|error| upstream_error(upstream, &error))?
            }
            () = answer_deadline => {
                return Err(ApiError::GatewayTimeout(format!(
                    "{upstream}: no answer within {timeout:?} after the request"
                )));
            }
        };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = Body::new(body);
        let body = match &self.metrics {
            Some(metrics) => {
                counted(body, metrics.proxy_bytes(&upstream_label(upstream), Direction::Received))
            }
            None => body,
        };
        Ok(Response::from_parts(parts, body))
    }
}

/// The metrics and access-log label naming `upstream`: `scheme://authority`, as configured.
pub(super) fn upstream_label(upstream: &Uri) -> String {
    let scheme = upstream.scheme_str().unwrap_or("http");
    let authority = upstream.authority().map_or("", |authority| authority.as_str());
    format!("{scheme}://{authority}")
}

/// `upstream`'s scheme and authority with `original`'s path and query.
fn upstream_uri(upstream: &Uri, original: &Uri) -> Result<Uri, ApiError> {
    let path = original.path_and_query().map_or("/", |path| path.as_str());
    let mut builder = Uri::builder().path_and_query(path);
    if let Some(scheme) = upstream.scheme() {
        builder = builder.scheme(scheme.clone());
    }
    if let Some(authority) = upstream.authority() {
        builder = builder.authority(authority.clone());
    }
    builder
        .build()
        .map_err(|error| ApiError::Internal(format!("upstream URL from {upstream} and {path}: {error}")))
}

/// 504 when connecting timed out, 502 for everything else (refused, reset, bad answer).
fn upstream_error(upstream: &Uri, error: &hyper_util::client::legacy::Error) -> ApiError {
    let mut detail = format!("{upstream}: {error}");
    let mut timed_out = false;
    let mut source = error.source();
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        timed_out |= cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        source = cause.source();
    }
    if error.is_connect() && timed_out {
        ApiError::GatewayTimeout(detail)
    } else {
        ApiError::BadGateway(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_uri_keeps_path_and_query() {
        let upstream: Uri = "http://127.0.0.1:5000".parse().unwrap();
        let cases = [
            ("/v2/", "http://127.0.0.1:5000/v2/"),
            (
                "/v2/team/app/blobs/uploads/?digest=sha256%3Aab",
                "http://127.0.0.1:5000/v2/team/app/blobs/uploads/?digest=sha256%3Aab",
            ),
            ("https://registry.test:8443/v2/_catalog?n=10", "http://127.0.0.1:5000/v2/_catalog?n=10"),
        ];
        for (original, expected) in cases {
            let uri = upstream_uri(&upstream, &original.parse().unwrap()).unwrap();
            assert_eq!(uri.to_string(), expected, "{original}");
        }
    }
}

//! Request heads within `[limits]`: the HTTP/1.1 and HTTP/2 settings (hyper's read buffer and
//! field cap, h2's header-list size, timers, pings, streams), and the check every request
//! passes before routing: a target over `max_uri_bytes` is answered 414, a head over
//! `max_header_bytes` or with more than `max_headers` fields 431, each with a registry-style
//! JSON body (`{"errors":[{"code":...}]}`), whether it is for `/token` or the registry.
//!
//! hyper's buffer and field cap are set above these limits (4 x and 2 x), so that regent sees
//! and answers the heads just over them; heads larger still are refused by hyper while it
//! reads them (431, no body, connection closed) and HTTP/2 header lists over
//! `http2_max_header_list_size` by h2 (431, no body, stream reset): neither is ever buffered.

use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;

use crate::config::LimitsConfig;
use crate::http::ApiError;

/// HTTP/1.1 and HTTP/2 with timers (HTTP/1.1's header read timeout and HTTP/2's keep-alive
/// need one), `limits`'s header timeout, buffer and field caps, pings, stream cap and
/// header-list size.
pub fn http_builder(limits: &LimitsConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.http1_max_buf_size())
        .max_headers(limits.http1_max_headers());
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout)
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(limits.http2_max_header_list_size);
    builder
}

/// Why `request`'s head is over `limits` (414 or 431), or `None` when it is within them.
pub fn refusal<B>(request: &Request<B>, limits: &LimitsConfig) -> Option<ApiError> {
    let target = target_bytes(request);
    if target > limits.max_uri_bytes {
        return Some(ApiError::UriTooLong { limit: limits.max_uri_bytes });
    }
    let fields = request.headers().len();
    if fields > limits.max_headers {
        return Some(ApiError::HeadersTooLarge(format!(
            "{fields} header fields; the limit is {}",
            limits.max_headers
        )));
    }
    let bytes = head_bytes(request);
    if bytes > limits.max_header_bytes {
        return Some(ApiError::HeadersTooLarge(format!(
            "the request head is {bytes} bytes; the limit is {}",
            limits.max_header_bytes
        )));
    }
    None
}

/// The request target's length: path and query (an HTTP/2 request's too, without scheme and
/// authority).
fn target_bytes<B>(request: &Request<B>) -> usize {
    request.uri().path_and_query().map_or(1, |target| target.as_str().len())
}

/// The head's size as HTTP/1.1 sends it: `METHOD TARGET HTTP/1.1\r\n`, each `name: value\r\n`,
/// and the empty line (an HTTP/2 request is counted the same way from its decoded fields).
fn head_bytes<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len() + 1 + target_bytes(request) + " HTTP/1.1\r\n".len();
    let fields: usize =
        request.headers().iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum();
    line + fields + 2
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn request(target: &str, headers: &[(&str, String)]) -> Request<()> {
        let mut builder = Request::get(target);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        builder.body(()).unwrap()
    }

    fn status(request: &Request<()>, limits: &LimitsConfig) -> Option<StatusCode> {
        refusal(request, limits).map(|error| error.status())
    }

    #[test]
    fn head_bytes_count_as_http1_sends_them() {
        let request = request("/v2/", &[("host", "a.test".to_owned())]);
        assert_eq!(head_bytes(&request), "GET /v2/ HTTP/1.1\r\nhost: a.test\r\n\r\n".len());
    }

    #[test]
    fn target_fields_and_bytes_each_have_their_answer() {
        let limits = LimitsConfig {
            max_uri_bytes: 1024,
            max_headers: 3,
            max_header_bytes: 2048,
            ..LimitsConfig::default()
        };
        let within = request(&format!("/v2/{}", "a".repeat(1000)), &[("x-a", "b".repeat(900))]);
        assert_eq!(status(&within, &limits), None);
        let long = request(&format!("/v2/?q={}", "a".repeat(1020)), &[]);
        assert_eq!(status(&long, &limits), Some(StatusCode::URI_TOO_LONG));
        let many: Vec<_> = (0..4).map(|n| ("x-n", n.to_string())).collect();
        assert_eq!(status(&request("/", &many), &limits), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        let big = request("/", &[("x-a", "b".repeat(1100)), ("x-b", "c".repeat(1000))]);
        assert_eq!(status(&big, &limits), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    }
}

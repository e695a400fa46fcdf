//! Requests the front end refuses before routing, because forwarding them would let a client
//! choose what the upstream sees: two `Host` headers (the upstream may read the other one),
//! `CONNECT` (a tunnel, never a registry request), and HTTP/1.x absolute-form targets
//! (`GET http://evil/v2/ HTTP/1.1`, a forward-proxy request). HTTP/2 requests always carry
//! scheme and authority (`:scheme`, `:authority`), so only HTTP/1.x targets are checked.

use axum::extract::Request;
use axum::http::{Method, Version, header};

use crate::http::ApiError;

/// Why `request` must not be served, or `None` when it may be.
pub fn refusal(request: &Request) -> Option<ApiError> {
    if request.headers().get_all(header::HOST).iter().nth(1).is_some() {
        return Some(ApiError::BadRequest("more than one Host header".into()));
    }
    if request.method() == Method::CONNECT {
        return Some(ApiError::BadRequest("CONNECT is not supported: this is not a forward proxy".into()));
    }
    let http1 = matches!(request.version(), Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11);
    let uri = request.uri();
    if http1 && (uri.scheme().is_some() || uri.authority().is_some()) {
        return Some(ApiError::BadRequest(
            "absolute-form request targets are not accepted: send the path and a Host header".into(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn request(method: Method, version: Version, uri: &str, hosts: &[&str]) -> Request {
        let mut builder = Request::builder().method(method).version(version).uri(uri);
        for host in hosts {
            builder = builder.header(header::HOST, *host);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn refuses_double_host_connect_and_http1_absolute_form() {
        let refused = [
            request(Method::GET, Version::HTTP_11, "/v2/", &["a.test", "evil.example"]),
            request(Method::CONNECT, Version::HTTP_11, "evil.example:443", &["evil.example:443"]),
            request(Method::CONNECT, Version::HTTP_2, "https://evil.example:443", &[]),
            request(Method::GET, Version::HTTP_11, "http://evil.example/v2/", &["a.test"]),
            request(Method::GET, Version::HTTP_10, "http://evil.example/v2/", &[]),
        ];
        for request in &refused {
            let error = refusal(request).map(|error| error.status());
            assert_eq!(error, Some(axum::http::StatusCode::BAD_REQUEST), "{request:?}");
        }
    }

    #[test]
    fn accepts_origin_form_and_http2_targets() {
        let accepted = [
            request(Method::GET, Version::HTTP_11, "/v2/", &["registry.test"]),
            request(Method::PUT, Version::HTTP_2, "https://registry.test:8443/v2/", &[]),
            request(Method::GET, Version::HTTP_2, "https://registry.test/v2/", &["registry.test"]),
            request(Method::OPTIONS, Version::HTTP_11, "*", &["registry.test"]),
        ];
        for request in &accepted {
            assert!(refusal(request).is_none(), "{request:?}");
        }
    }
}

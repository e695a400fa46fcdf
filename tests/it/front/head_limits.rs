//! Request heads over `[limits]` get clear answers over real TCP: a 70 KB header field and too
//! many fields are 431, a 10 KB target 414, each with a registry-style JSON body (for `/token`
//! and proxied paths alike); heads beyond what hyper buffers (4 x `max_header_bytes`, 2 x
//! `max_headers`) still get a 431 from hyper; over HTTP/2 a header list over the limit is 431
//! (JSON when regent sees it, bare from h2 past `http2_max_header_list_size`) and the
//! connection keeps serving.

use std::net::SocketAddr;
use std::time::Duration;

use regent::config::{FrontConfig, LimitsConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{self, H2, json};
use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use super::upstream::{Behaviour, Upstream};
use crate::env::{SERVICE, TestEnv};

/// How long one exchange may take.
const BOUND: Duration = Duration::from_secs(15);

/// Writes `head` on a fresh connection (ignoring a write cut short) and reads until the server
/// closes: the status code and the body.
async fn exchange(addr: SocketAddr, head: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(head).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => answer.extend_from_slice(&buffer[..read]),
            }
        }
    });
    read.await.unwrap_or_else(|_| panic!("no end of the answer within {BOUND:?}"));
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// `GET target` with `fields` (and `Host`, `Connection: close`) as HTTP/1.1 bytes.
fn head(addr: SocketAddr, target: &str, fields: &[(String, String)]) -> Vec<u8> {
    let mut text = format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in fields {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// `count` distinct small header fields.
fn many_fields(count: usize) -> Vec<(String, String)> {
    (0..count).map(|n| (format!("x-field-{n}"), "v".to_owned())).collect()
}

/// The registry-style error code of a JSON body.
fn error_code(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    value["errors"][0]["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_http1_heads_are_answered_431_and_414_with_registry_bodies() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let echo = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let limits = LimitsConfig::default();
    let spec = ListenerSpec::new(None, Some(echo.url()));
    let server = FrontServer::start_with_limits(&env, vec![spec], FrontConfig::default(), limits);
    let addr = server.addr();
    let token = format!("/token?service={SERVICE}");
    let big = |bytes: usize| vec![("x-big".to_owned(), "a".repeat(bytes))];

    let (status, body) = exchange(addr, &head(addr, &token, &big(30_000))).await;
    assert_eq!(status, 200, "a 30 KB field is within the default 32 KiB: {body}");
    for target in [token.as_str(), "/v2/team/app/manifests/v1"] {
        let (status, body) = exchange(addr, &head(addr, target, &big(70_000))).await;
        assert_eq!((status, error_code(&body).as_str()), (431, "HEADERS_TOO_LARGE"), "{target}: {body}");
        assert!(body.contains("the limit is 32768"), "{body}");
        let (status, body) = exchange(addr, &head(addr, target, &many_fields(150))).await;
        assert_eq!((status, error_code(&body).as_str()), (431, "HEADERS_TOO_LARGE"), "{target}: {body}");
        assert!(body.contains("the limit is 100"), "{body}");
        let long =
            format!("{target}{}x={}", if target.contains('?') { "&" } else { "?" }, "a".repeat(10_000));
        let (status, body) = exchange(addr, &head(addr, &long, &[])).await;
        assert_eq!((status, error_code(&body).as_str()), (414, "URI_TOO_LONG"), "{target}: {body}");
    }
    assert!(echo.seen().is_empty(), "nothing refused reached the upstream: {:?}", echo.seen().len());
    let (status, _) = exchange(addr, &head(addr, "/v2/team/app/manifests/v1", &many_fields(80))).await;
    assert_eq!(status, 201, "80 fields are within the limit and proxied (the echo answers 201)");
    assert_eq!(echo.seen().len(), 1);

    // Past hyper's own caps: more fields than it parses, or a head as large as its buffer that
    // has not ended yet. hyper answers 431 itself (no body) without regent seeing the request.
    let (status, body) = exchange(addr, &head(addr, &token, &many_fields(250))).await;
    assert_eq!((status, body.as_str()), (431, ""), "over 2 x max_headers");
    let mut unfinished = format!("GET {token} HTTP/1.1\r\nhost: {addr}\r\nx-big: ").into_bytes();
    unfinished.resize(limits.http1_max_buf_size(), b'a');
    let (status, body) = exchange(addr, &unfinished).await;
    assert_eq!((status, body.as_str()), (431, ""), "a head filling hyper's buffer");
    assert_eq!(echo.seen().len(), 1, "none of them reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smaller_configured_limits_apply() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let limits = LimitsConfig {
        max_header_bytes: 4096,
        max_headers: 10,
        max_uri_bytes: 1024,
        ..LimitsConfig::default()
    };
    let server = FrontServer::start_with_limits(
        &env,
        vec![ListenerSpec::new(None, None)],
        FrontConfig::default(),
        limits,
    );
    let addr = server.addr();
    let token = format!("/token?service={SERVICE}");
    let (status, _) = exchange(addr, &head(addr, &token, &many_fields(8))).await;
    assert_eq!(status, 200, "8 fields and Host and Connection are 10");
    let (status, body) = exchange(addr, &head(addr, &token, &many_fields(9))).await;
    assert_eq!(status, 431, "{body}");
    let field = vec![("x-big".to_owned(), "a".repeat(5000))];
    let (status, body) = exchange(addr, &head(addr, &token, &field)).await;
    assert_eq!(status, 431, "{body}");
    let (status, body) = exchange(addr, &head(addr, &format!("{token}&x={}", "a".repeat(1100)), &[])).await;
    assert_eq!(status, 414, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_header_lists_over_the_limits_are_refused_and_the_connection_keeps_serving() {
    let (certs, env) = (TestCerts::new(), TestEnv::new("https://127.0.0.1:1/token"));
    let spec = ListenerSpec::new(Some(certs.tls.clone()), None);
    let server = FrontServer::start(&env, vec![spec], FrontConfig::default());
    let mut h2 = client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, H2)).await;
    assert_eq!(h2.alpn.as_deref(), Some(&b"h2"[..]));
    let token = format!("/token?service={SERVICE}");

    // Within h2's 64 KiB header list but over max_header_bytes: regent's JSON answer.
    let big = "a".repeat(40_000);
    let (status, _, body) = h2.get(&token, &[("x-big", &big)]).await;
    assert_eq!(status, 431);
    assert_eq!(json(&body)["errors"][0]["code"], "HEADERS_TOO_LARGE");
    // Over http2_max_header_list_size: h2 refuses the stream (431 without a body).
    let huge = "a".repeat(100_000);
    let refused = h2.send(hyper::Method::GET, &token, &[("x-huge", &huge)], super::bodies::empty()).await;
    match refused {
        Ok(response) => assert_eq!(response.status(), 431),
        Err(error) => panic!("expected h2's 431, got {error}"),
    }
    let (status, _, body) = h2.get(&token, &[]).await;
    assert_eq!(status, 200, "the same connection still serves: {}", String::from_utf8_lossy(&body));
}

//! Requests the front end refuses and never forwards: two `Host` headers, `CONNECT`, and
//! HTTP/1.1 absolute-form targets, written by hand over plain TCP and over TLS.

use std::net::SocketAddr;

use regent::config::FrontConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{self, HTTP11};
use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use super::upstream::{Behaviour, Upstream};
use crate::env::TestEnv;

/// Writes `request` and reads the answer until the server closes (requests say `close`).
async fn exchange(mut stream: impl AsyncRead + AsyncWrite + Unpin, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut answer));
    let _ = read.await.expect("the server answers and closes");
    String::from_utf8_lossy(&answer).into_owned()
}

fn attacks(addr: SocketAddr) -> Vec<(&'static str, String)> {
    let host = format!("127.0.0.1:{}", addr.port());
    vec![
        (
            "two Host headers",
            format!("GET /v2/ HTTP/1.1\r\nhost: {host}\r\nhost: evil.example\r\nconnection: close\r\n\r\n"),
        ),
        (
            "CONNECT",
            "CONNECT evil.example:443 HTTP/1.1\r\nhost: evil.example:443\r\nconnection: close\r\n\r\n".into(),
        ),
        (
            "absolute-form",
            format!("GET http://evil.example/v2/ HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"),
        ),
        (
            "absolute-form to a token path",
            format!("GET http://evil.example/healthz HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"),
        ),
    ]
}

fn assert_refused(what: &str, answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 400 "), "{what}: expected 400, got {answer:?}");
    assert!(answer.contains("\"code\":\"INVALID_REQUEST\""), "{what}: registry-style body: {answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_host_connect_and_absolute_form_are_400_and_never_forwarded() {
    let (certs, env) = (TestCerts::new(), TestEnv::new("https://127.0.0.1:1/token"));
    let upstream = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let server = FrontServer::start(
        &env,
        vec![
            ListenerSpec::new(None, Some(upstream.url())),
            ListenerSpec::new(Some(certs.tls.clone()), Some(upstream.url())),
        ],
        FrontConfig::default(),
    );
    let (plain, tls) = (server.addrs[0], server.addrs[1]);
    for (what, request) in attacks(plain) {
        let answer = exchange(TcpStream::connect(plain).await.unwrap(), &request).await;
        assert_refused(&format!("plain, {what}"), &answer);
    }
    let config = client::config(&certs.pki.ca_pem, HTTP11);
    for (what, request) in attacks(tls) {
        let answer = exchange(client::raw(tls, "127.0.0.1", config.clone()).await, &request).await;
        assert_refused(&format!("TLS, {what}"), &answer);
    }
    assert!(upstream.seen().is_empty(), "nothing was forwarded: {:?}", upstream.seen());

    // The same listener still forwards an ordinary request.
    let host = format!("127.0.0.1:{}", plain.port());
    let request = format!("GET /v2/ HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    let answer = exchange(TcpStream::connect(plain).await.unwrap(), &request).await;
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer:?}");
    assert_eq!(upstream.only().uri, "/v2/");
}

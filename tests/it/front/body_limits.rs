//! `max_form_bytes` caps `POST /token` forms (413, announced or streamed) and nothing else: a
//! proxied body many times the form limit streams through, and under tight head and form
//! limits skopeo pushes a 40 MiB layer through the TLS front end to the real registry 2.8 and
//! pulls it back intact.

use std::net::SocketAddr;
use std::time::Duration;

use regent::config::{FrontConfig, LimitsConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::server::{FrontServer, ListenerSpec, RegistryBehindTls};
use super::upstream::{Behaviour, BodyEnd, Upstream};
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{Skopeo, assert_ok, oci};

/// Limits far below what a registry transfer needs, were they applied to it.
fn tight_limits() -> LimitsConfig {
    LimitsConfig {
        max_form_bytes: 2048,
        max_header_bytes: 4096,
        max_uri_bytes: 2048,
        ..LimitsConfig::default()
    }
}

/// Writes `request` and reads the answer until the server closes (at most 30 s).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer));
    let _ = read.await.expect("the server answers and closes");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A `POST /token` password-grant form padded to `len` bytes.
fn form(len: usize) -> String {
    let form = format!("grant_type=password&service={SERVICE}&username=alice&password=alice-pw&pad=");
    let pad = len.saturating_sub(form.len());
    format!("{form}{}", "a".repeat(pad))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_forms_are_capped_and_proxied_bodies_are_not() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let echo = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let spec = ListenerSpec::new(None, Some(echo.url()));
    let server = FrontServer::start_with_limits(&env, vec![spec], FrontConfig::default(), tight_limits());
    let addr = server.addr();
    let post = |body: &str, chunked: bool| {
        let framing = if chunked {
            format!("transfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len())
        } else {
            format!("content-length: {}\r\n\r\n{body}", body.len())
        };
        format!(
            "POST /token HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
             content-type: application/x-www-form-urlencoded\r\n{framing}"
        )
    };

    let answer = exchange(addr, post(&form(2000), false).as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "a form within max_form_bytes: {answer}");
    for chunked in [false, true] {
        let answer = exchange(addr, post(&form(3000), chunked).as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 413 "), "chunked {chunked}: {answer}");
        assert!(answer.contains(r#""error":"invalid_request""#), "an OAuth2 body: {answer}");
    }

    // The same listener streams a proxied body 500 times the form limit.
    let body = vec![b'x'; 1 << 20];
    let mut request = format!(
        "PATCH /v2/team/app/blobs/uploads/u1 HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let answer = exchange(addr, &request).await;
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    let arrived = echo.only().body;
    assert!(matches!(arrived, BodyEnd::Complete(len, _) if len == body.len() as u64), "{arrived:?}");
}

/// `len` bytes that gzip cannot shrink (a xorshift stream), so the layer stays this large.
fn incompressible(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn a_large_layer_pushes_through_tight_limits_to_registry_2_8() {
    let stack = RegistryBehindTls::start(tight_limits());
    let (certs, host) = (&stack.certs, stack.host.clone());
    let images = tempfile::tempdir().unwrap();
    let payload = incompressible(40 << 20);
    let image = oci::write_layout(&images.path().join("big"), "v1", &payload);

    let skopeo = Skopeo::trusting(&certs.pki.ca_pem);
    let remote = format!("docker://{host}/alice/big:v1");
    let started = std::time::Instant::now();
    assert_ok("skopeo push", &skopeo.copy(&image.reference(), &remote, Some(("alice", "alice-pw"))));
    let pushed = started.elapsed();
    let back = images.path().join("back");
    let out = format!("oci:{}:v1", back.display());
    assert_ok("skopeo pull", &skopeo.copy(&remote, &out, Some(("alice", "alice-pw"))));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(back.join("blobs/sha256").join(manifest_digest)).unwrap())
            .unwrap();
    let size = manifest["layers"][0]["size"].as_u64().unwrap();
    assert!(size > 40 << 20, "the layer came back whole ({size} bytes)");
    eprintln!("40 MiB layer pushed through max_form_bytes=2048, max_header_bytes=4096 in {pushed:?}");
}

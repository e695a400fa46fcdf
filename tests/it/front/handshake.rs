//! TLS handshakes: the certificate by SNI (default without), ALPN `h2` and `http/1.1` both
//! serving regent's own paths, TLS 1.2 and 1.3 only.

use std::time::Duration;

use rustls::ProtocolVersion;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{self, H2, HTTP11, json};
use super::pki::{OTHER_NAME, TestCerts};
use super::server::{FrontServer, ListenerSpec};
use crate::env::{SERVICE, TestEnv};
use regent::config::FrontConfig;

fn tls_server(certs: &TestCerts, env: &TestEnv) -> FrontServer {
    FrontServer::start(env, vec![ListenerSpec::new(Some(certs.tls.clone()), None)], FrontConfig::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_certificate_and_no_sni_gets_the_default() {
    let certs = TestCerts::new();
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let server = tls_server(&certs, &env);
    let config = client::config(&certs.pki.ca_pem, HTTP11);
    // An IP address as the server name: rustls sends no SNI, as docker does for `IP:PORT`.
    let cases = [
        ("127.0.0.1", &certs.default, "no SNI"),
        ("localhost", &certs.default, "SNI without an entry of its own"),
        ("registry.test", &certs.default, "SNI without an entry of its own"),
        (OTHER_NAME, &certs.other, "SNI with its own certificate"),
    ];
    for (name, expected, why) in cases {
        let connection = client::connect(server.addr(), name, config.clone()).await;
        assert!(connection.peer == expected.der(), "{name}: {why}: the wrong certificate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_and_http11_both_answer_healthz_and_token() {
    let certs = TestCerts::new();
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let server = tls_server(&certs, &env);
    for (alpn, expected) in [(H2, b"h2".as_slice()), (HTTP11, b"http/1.1".as_slice())] {
        let mut connection =
            client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, alpn)).await;
        assert_eq!(connection.alpn.as_deref(), Some(expected));
        assert_eq!(connection.version, ProtocolVersion::TLSv1_3);
        let (status, _, body) = connection.get("/healthz", &[]).await;
        assert_eq!((status.as_u16(), &body[..]), (200, &b"ok\n"[..]));
        // Two requests on one connection: keep-alive / multiplexing work.
        let path = format!("/token?service={SERVICE}&scope=repository:public/tool:pull");
        let (status, _, body) = connection.get(&path, &[]).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert!(json(&body)["token"].as_str().is_some_and(|t| t.split('.').count() == 3));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_is_accepted() {
    let certs = TestCerts::new();
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let server = tls_server(&certs, &env);
    let config = client::config_with(&certs.pki.ca_pem, H2, &[&rustls::version::TLS12]);
    let mut connection = client::connect(server.addr(), "127.0.0.1", config).await;
    assert_eq!(connection.version, ProtocolVersion::TLSv1_2);
    assert_eq!(connection.get("/healthz", &[]).await.0, 200);
}

/// A ClientHello with `version` as its highest version (TLS 1.0 = 0x0301, 1.1 = 0x0302,
/// 1.2 = 0x0303) and no supported_versions extension; otherwise what a TLS 1.2 server accepts
/// (ECDHE-ECDSA with AES-GCM, P-256 and X25519, ECDSA and RSA-PSS signatures).
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut hello = Vec::new();
    hello.extend_from_slice(&version);
    hello.extend_from_slice(&[7u8; 32]); // random
    hello.push(0); // session id
    let suites: [u8; 4] = [0xc0, 0x2b, 0xc0, 0x2f];
    hello.extend_from_slice(&(suites.len() as u16).to_be_bytes());
    hello.extend_from_slice(&suites);
    hello.extend_from_slice(&[1, 0]); // compression: null
    let extensions: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // supported_groups
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
    ];
    hello.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    hello.extend_from_slice(extensions);
    let mut handshake = vec![1u8]; // client_hello
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends `hello` and returns the first five bytes of the answer plus two more (an alert's
/// level and description, or the start of a handshake message).
async fn first_answer(addr: std::net::SocketAddr, hello: &[u8]) -> [u8; 7] {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(hello).await.unwrap();
    let mut answer = [0u8; 7];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_exact(&mut answer)).await;
    read.expect("an answer in time").expect("seven bytes of answer");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_and_tls11_are_refused() {
    let certs = TestCerts::new();
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let server = tls_server(&certs, &env);
    // The same hello at TLS 1.2 gets a ServerHello: the hello is sound, only its version is not.
    let answer = first_answer(server.addr(), &client_hello([3, 3])).await;
    assert_eq!((answer[0], answer[5]), (22, 2), "TLS 1.2: a handshake record with ServerHello: {answer:?}");
    for (name, version) in [("TLS 1.0", [3, 1]), ("TLS 1.1", [3, 2])] {
        let answer = first_answer(server.addr(), &client_hello(version)).await;
        // An alert record (21), fatal (2), protocol_version (70).
        assert_eq!((answer[0], answer[5], answer[6]), (21, 2, 70), "{name}: answer {answer:?}");
    }
}

//! Connection exhaustion (`[limits]`): connections that never send a byte (plain, after the
//! TLS handshake, after an HTTP/2 preface), a request head or a `POST /token` form that trickles
//! in, are all closed within the timeouts while other clients are served; the per-client cap
//! refuses one address's next connection while another address is still served; an HTTP/2
//! client that stops answering pings is closed even with a request in flight.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use regent::config::{FrontConfig, LimitsConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

use super::client::{self, H2, HTTP11};
use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::http_get;

/// The idle, header and body timeouts of these tests.
const TIMEOUT: Duration = Duration::from_secs(1);
/// The most a connection may stay open: the timeout, a second to close, and a lot of slack.
const BOUND: Duration = Duration::from_secs(15);
/// The HTTP/2 client preface without its SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty HTTP/2 SETTINGS frame: with it the preface is complete.
const H2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

fn short_limits() -> LimitsConfig {
    LimitsConfig {
        idle_timeout: TIMEOUT,
        header_read_timeout: TIMEOUT,
        body_read_timeout: TIMEOUT,
        ..LimitsConfig::default()
    }
}

/// What a connection was, how long it stayed open, and what the server sent on it.
type Closed = (&'static str, Duration, Vec<u8>);

/// Reads until the server closes (or resets) connection `what`; how long that took and what it
/// sent.
async fn until_closed(what: &'static str, mut reader: impl AsyncRead + Unpin) -> Closed {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => seen.extend_from_slice(&buffer[..read]),
            }
        }
    });
    if closed.await.is_err() {
        panic!("{what}: still open after {BOUND:?}");
    }
    (what, started.elapsed(), seen)
}

/// Writes `head`, then one byte of `drop` every 100 ms until writing fails (or a minute passed).
async fn trickle(mut writer: impl AsyncWrite + Unpin, head: String, drop: u8) {
    if writer.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if writer.write_all(&[drop]).await.is_err() || writer.flush().await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_closed_while_others_are_served() {
    let (certs, env) = (TestCerts::new(), TestEnv::new("https://127.0.0.1:1/token"));
    let server = FrontServer::start_with_limits(
        &env,
        vec![ListenerSpec::new(None, None), ListenerSpec::new(Some(certs.tls.clone()), None)],
        FrontConfig::default(),
        short_limits(),
    );
    let (plain, tls) = (server.addrs[0], server.addrs[1]);
    let mut open: JoinSet<Closed> = JoinSet::new();
    for _ in 0..5 {
        let silent = TcpStream::connect(plain).await.unwrap();
        open.spawn(until_closed("plain, silent", silent));
        let mut preface = TcpStream::connect(plain).await.unwrap();
        preface.write_all(H2_PREFACE).await.unwrap();
        open.spawn(until_closed("plain, HTTP/2 preface", preface));
        let handshaken = client::raw(tls, "127.0.0.1", client::config(&certs.pki.ca_pem, HTTP11)).await;
        open.spawn(until_closed("TLS, silent after the handshake", handshaken));
        let mut h2 = client::raw(tls, "127.0.0.1", client::config(&certs.pki.ca_pem, H2)).await;
        h2.write_all(H2_PREFACE).await.unwrap();
        h2.flush().await.unwrap();
        open.spawn(until_closed("TLS, HTTP/2 preface", h2));
        let mut settled = client::raw(tls, "127.0.0.1", client::config(&certs.pki.ca_pem, H2)).await;
        settled.write_all(&[H2_PREFACE, H2_SETTINGS].concat()).await.unwrap();
        settled.flush().await.unwrap();
        open.spawn(until_closed("TLS, HTTP/2 preface and SETTINGS", settled));
    }
    let host = format!("127.0.0.1:{}", plain.port());
    let mut kept_alive = TcpStream::connect(plain).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {host}\r\n\r\n");
    kept_alive.write_all(request.as_bytes()).await.unwrap();
    open.spawn(until_closed("plain, HTTP/1.1 kept alive after a request", kept_alive));
    let (reader, writer) = TcpStream::connect(plain).await.unwrap().into_split();
    tokio::spawn(trickle(writer, format!("GET /healthz HTTP/1.1\r\nhost: {host}\r\nx-slow: "), b'a'));
    open.spawn(until_closed("a request head, trickling", reader));
    let (reader, writer) = TcpStream::connect(plain).await.unwrap().into_split();
    let form = format!(
        "POST /token HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: 1000\r\n\r\ngrant_type=password&service={SERVICE}&username=alice&password="
    );
    tokio::spawn(trickle(writer, form, b'a'));
    open.spawn(until_closed("POST /token, trickling", reader));

    // Meanwhile a token request is answered.
    let url = format!("http://{plain}/token?service={SERVICE}");
    let answer = tokio::task::spawn_blocking(move || http_get(&url, &[])).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);

    while let Some(joined) = open.join_next().await {
        let (what, open_for, answer) = joined.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        eprintln!("{what}: closed after {open_for:?}");
        assert!(open_for >= TIMEOUT / 2, "{what}: closed after {open_for:?}, before the timeout");
        if what.contains("kept alive") {
            assert!(answer.starts_with("HTTP/1.1 200 "), "{what}: its request was answered: {answer:?}");
        }
        if what.starts_with("POST") {
            assert!(answer.starts_with("HTTP/1.1 408 "), "{what}: answered {answer:?}");
            assert!(answer.contains("\"error\":\"invalid_request\""), "{what}: an OAuth2 body: {answer:?}");
        }
    }
}

/// A TCP connection to `server` from `client` (any port).
async fn connect_from(client: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{client}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// `GET /healthz` over `stream`: the whole answer (empty when the server closed at once).
async fn healthz(mut stream: TcpStream, server: SocketAddr) -> String {
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {server}\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    String::from_utf8_lossy(&until_closed("GET /healthz", stream).await.2).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_client_cap_refuses_one_address_and_serves_another() {
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let limits = LimitsConfig { max_connections_per_client: 3, ..LimitsConfig::default() };
    let mut behind_balancer = ListenerSpec::new(None, None);
    behind_balancer.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let specs = vec![ListenerSpec::new(None, None), behind_balancer];
    let server = FrontServer::start_with_limits(&env, specs, FrontConfig::default(), limits);
    let (addr, balanced) = (server.addrs[0], server.addrs[1]);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", addr).await);
    }
    // Let the server accept (and count) them before the fourth.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = healthz(connect_from("127.0.0.1", addr).await, addr).await;
    assert_eq!(refused, "", "the 4th connection from 127.0.0.1 is closed without an answer");
    let other = healthz(connect_from("127.0.0.2", addr).await, addr).await;
    assert!(other.starts_with("HTTP/1.1 200 "), "127.0.0.2 is served: {other:?}");
    let trusted = healthz(connect_from("127.0.0.1", balanced).await, balanced).await;
    assert!(trusted.starts_with("HTTP/1.1 200 "), "a listener trusting 127.0.0.1 serves it: {trusted:?}");

    drop(held.pop());
    let deadline = Instant::now() + BOUND;
    loop {
        let answer = healthz(connect_from("127.0.0.1", addr).await, addr).await;
        if answer.starts_with("HTTP/1.1 200 ") {
            break;
        }
        assert!(Instant::now() < deadline, "127.0.0.1 is never served again after closing one: {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HPACK header block of literal fields without indexing (RFC 7541 section 6.2.2), for
/// names and values shorter than 127 bytes.
fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    block
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_stops_answering_pings_is_closed_mid_request() {
    let (certs, env) = (TestCerts::new(), TestEnv::new("https://127.0.0.1:1/token"));
    let upstream = super::upstream::Upstream::start(super::upstream::Behaviour::Hang).await;
    let limits = LimitsConfig {
        http2_keep_alive_interval: TIMEOUT,
        http2_keep_alive_timeout: TIMEOUT,
        ..LimitsConfig::default()
    };
    let spec = ListenerSpec::new(Some(certs.tls.clone()), Some(upstream.url()));
    let server = FrontServer::start_with_limits(&env, vec![spec], FrontConfig::default(), limits);
    let mut stream = client::raw(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, H2)).await;
    // A PUT whose body never ends: in flight for good, so only the pings can end it.
    let authority = format!("127.0.0.1:{}", server.addr().port());
    let block = header_block(&[
        (":method", "PUT"),
        (":scheme", "https"),
        (":path", "/v2/team/app/blobs/uploads/u1"),
        (":authority", &authority),
    ]);
    let mut frames = [H2_PREFACE, H2_SETTINGS].concat();
    frames.extend_from_slice(&(block.len() as u32).to_be_bytes()[1..]);
    frames.extend_from_slice(&[1, 0x4, 0, 0, 0, 1]); // HEADERS, END_HEADERS, stream 1
    frames.extend_from_slice(&block);
    stream.write_all(&frames).await.unwrap();
    stream.flush().await.unwrap();
    let deadline = Instant::now() + BOUND;
    while upstream.seen().is_empty() {
        assert!(Instant::now() < deadline, "the request never reached the upstream");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Read what the server sends (its SETTINGS, then PINGs) and answer nothing.
    let (_, open_for, _) = until_closed("HTTP/2 with a stalled PUT", stream).await;
    assert!(open_for >= TIMEOUT, "closed after {open_for:?}, before a ping was due");
}

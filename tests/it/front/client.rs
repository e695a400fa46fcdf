//! A test client: rustls (trusting a given CA, with a chosen ALPN, SNI and TLS versions) under
//! hyper's HTTP/1.1 or HTTP/2 client, whichever ALPN picked.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::{http1, http2};
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore, SupportedProtocolVersion};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::bodies::{TestBody, empty};

/// ALPN `h2` only.
pub const H2: &[&[u8]] = &[b"h2"];
/// ALPN `http/1.1` only.
pub const HTTP11: &[&[u8]] = &[b"http/1.1"];

/// A client configuration trusting `ca_pem`, offering `alpn` and TLS 1.3 and 1.2.
pub fn config(ca_pem: &str, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    config_with(ca_pem, alpn, &[&rustls::version::TLS13, &rustls::version::TLS12])
}

/// [`config`] offering only `versions`.
pub fn config_with(
    ca_pem: &str,
    alpn: &[&[u8]],
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

enum Sender {
    H1(http1::SendRequest<TestBody>),
    H2(http2::SendRequest<TestBody>),
}

/// One TLS connection carrying HTTP requests.
pub struct Connection {
    /// The ALPN protocol the server chose.
    pub alpn: Option<Vec<u8>>,
    /// The TLS version negotiated.
    pub version: ProtocolVersion,
    /// The server's leaf certificate.
    pub peer: CertificateDer<'static>,
    /// `name:port`, for `Host` / `:authority`.
    authority: String,
    sender: Sender,
}

/// Connects to `addr` verifying the server as `server_name` (an IP name sends no SNI).
pub async fn connect(addr: SocketAddr, server_name: &str, config: Arc<ClientConfig>) -> Connection {
    try_connect(addr, server_name, config)
        .await
        .unwrap_or_else(|error| panic!("TLS to {addr} as {server_name}: {error}"))
}

/// [`connect`], returning the handshake error.
pub async fn try_connect(
    addr: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<Connection> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let tls = TlsConnector::from(config).connect(name, tcp).await?;
    let (_, session) = tls.get_ref();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let version = session.protocol_version().unwrap();
    let peer = session.peer_certificates().unwrap()[0].clone().into_owned();
    let io = TokioIo::new(tls);
    let sender = if alpn.as_deref() == Some(b"h2") {
        let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.unwrap();
        tokio::spawn(connection);
        Sender::H2(sender)
    } else {
        let (sender, connection) = http1::handshake(io).await.unwrap();
        tokio::spawn(connection);
        Sender::H1(sender)
    };
    Ok(Connection { alpn, version, peer, authority: format!("{server_name}:{}", addr.port()), sender })
}

impl Connection {
    /// Sends a request for `path` (HTTP/2: `:authority` is `name:port`; HTTP/1.1: `Host`).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: TestBody,
    ) -> hyper::Result<Response<Incoming>> {
        let mut request = Request::builder().method(method);
        request = match self.sender {
            Sender::H2(_) => request.uri(format!("https://{}{path}", self.authority)),
            Sender::H1(_) => request.uri(path).header("host", &self.authority),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body).unwrap();
        match &mut self.sender {
            Sender::H1(sender) => {
                sender.ready().await?;
                sender.send_request(request).await
            }
            Sender::H2(sender) => {
                sender.ready().await?;
                sender.send_request(request).await
            }
        }
    }

    /// `GET path` with `headers`; the status, headers and whole body.
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Bytes) {
        let response = self.send(Method::GET, path, headers, empty()).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
    }
}

/// The JSON of a body.
pub fn json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// A bare TLS stream (for writing HTTP by hand).
pub async fn raw(
    addr: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    TlsConnector::from(config).connect(name, tcp).await.unwrap()
}

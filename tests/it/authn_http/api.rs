//! The in-test auth API (axum on 127.0.0.1:0) and a TLS variant with an rcgen CA.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// One request the API received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

/// What the API knows and has seen.
#[derive(Default)]
pub struct ApiState {
    /// Requests answered (or hung) so far.
    pub calls: AtomicUsize,
    /// Answer 500 to everything.
    pub down: AtomicBool,
    /// Every request, in order.
    pub seen: Mutex<Vec<Seen>>,
}

/// The in-test auth API, served by axum on 127.0.0.1:0 until dropped.
pub struct AuthApi {
    pub addr: SocketAddr,
    pub state: Arc<ApiState>,
    task: tokio::task::JoinHandle<()>,
}

impl AuthApi {
    pub async fn start() -> AuthApi {
        let state = Arc::new(ApiState::default());
        let app = axum::Router::new().fallback(answer).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        AuthApi { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for AuthApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The API: `/hang` never answers; `/fail` and a `down` API answer 500; `/json...` reads a JSON
/// body, anything else HTTP Basic. alice (alice-pw) has groups, carol (carol-pw) gets a bare
/// 204, forger and spacey get a 200 with a `name` breaking the name rule, eve is forbidden,
/// other names are unknown.
async fn answer(
    State(state): State<Arc<ApiState>>,
    uri: Uri,
    headers: HeaderMap,
    request: Request<Body>,
) -> Response {
    let method = request.method().to_string();
    let body = to_bytes(request.into_body(), 1 << 16).await.unwrap_or_default();
    let header = |name| headers.get(name).map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned());
    state.seen.lock().unwrap().push(Seen {
        method,
        authorization: header(header::AUTHORIZATION),
        content_type: header(header::CONTENT_TYPE),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    state.calls.fetch_add(1, Ordering::SeqCst);
    if uri.path() == "/hang" {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if uri.path() == "/fail" || state.down.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let credentials = if uri.path().starts_with("/json") {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (
            value["username"].as_str().unwrap_or("").to_owned(),
            value["password"].as_str().unwrap_or("").to_owned(),
        )
    } else {
        basic_credentials(header(header::AUTHORIZATION).as_deref())
    };
    match (credentials.0.as_str(), credentials.1.as_str()) {
        ("alice", "alice-pw") => {
            axum::Json(json!({"name": "alice", "groups": ["developers", "ops"]})).into_response()
        }
        ("carol", "carol-pw") => StatusCode::NO_CONTENT.into_response(),
        // Answers whose `name` forges a log line or hides a space: untrustworthy answers.
        ("forger", "forger-pw") => axum::Json(json!({
            "name": format!("admin\n{}\u{1b}[2K", crate::token_names::FORGED),
            "groups": ["admins"]
        }))
        .into_response(),
        ("spacey", "spacey-pw") => {
            axum::Json(json!({"name": "admin ", "groups": ["admins"]})).into_response()
        }
        ("alice" | "carol", _) => StatusCode::UNAUTHORIZED.into_response(),
        ("eve", _) => StatusCode::FORBIDDEN.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn basic_credentials(authorization: Option<&str>) -> (String, String) {
    let decoded = authorization
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let (user, password) = decoded.split_once(':').unwrap_or(("", ""));
    (user.to_owned(), password.to_owned())
}

/// A CA and a leaf certificate for 127.0.0.1 signed by it (PEM), plus the leaf's key (DER).
pub struct TestPki {
    pub ca_pem: String,
    pub leaf_der: Vec<u8>,
    pub leaf_key_der: Vec<u8>,
}

pub fn test_pki() -> TestPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "regent test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    TestPki { ca_pem: ca.pem(), leaf_der: leaf.der().to_vec(), leaf_key_der: leaf_key.serialize_der() }
}

/// A TLS API on 127.0.0.1 (std threads, rustls) answering every request 200 with groups.
pub fn start_tls_api(pki: &TestPki) -> SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(pki.leaf_key_der.clone().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf_der.clone().into()], key)
        .unwrap();
    let tls = Arc::new(tls);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming().map_while(Result::ok) {
            let tls = Arc::clone(&tls);
            std::thread::spawn(move || {
                let connection = rustls::ServerConnection::new(tls).unwrap();
                let mut stream = BufReader::new(rustls::StreamOwned::new(connection, tcp));
                let mut line = String::new();
                // A failed handshake (the client refused the certificate) ends here.
                while matches!(stream.read_line(&mut line), Ok(n) if n > 2) {
                    line.clear();
                }
                let body = r#"{"groups":["secure"]}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let mut stream = stream.into_inner();
                let _ = stream.write_all(response.as_bytes());
                stream.conn.send_close_notify();
                let _ = stream.flush();
            });
        }
    });
    addr
}

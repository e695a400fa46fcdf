//! The HTTP auth backend against a small in-test API on 127.0.0.1: answers, outages, caching,
//! `max_stale`, HTTPS with an rcgen CA, and the backend in a chain behind `/token`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::http::HttpBackend;
use regent::authn::{Authenticator, AuthnError, Identity, Outcome};
use regent::config::{AuthnConfig, BackendConfig, HttpAuthConfig, HttpCredentials};
use regent::http::router;
use regent::secret::Secret;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};

/// One request the API received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

/// What the API knows and has seen.
#[derive(Default)]
struct ApiState {
    /// Requests answered (or hung) so far.
    calls: AtomicUsize,
    /// Answer 500 to everything.
    down: AtomicBool,
    /// Every request, in order.
    seen: Mutex<Vec<Seen>>,
}

/// The in-test auth API, served by axum on 127.0.0.1:0 until dropped.
struct AuthApi {
    addr: SocketAddr,
    state: Arc<ApiState>,
    task: tokio::task::JoinHandle<()>,
}

impl AuthApi {
    async fn start() -> AuthApi {
        let state = Arc::new(ApiState::default());
        let app = axum::Router::new().fallback(answer).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        AuthApi { addr, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Seen> {
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
/// 204, eve is forbidden, other names are unknown.
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

fn config(url: &str) -> HttpAuthConfig {
    HttpAuthConfig {
        url: url.to_owned(),
        credentials: HttpCredentials::Basic,
        ca_file: None,
        timeout: Duration::from_secs(2),
        cache_ttl: Duration::from_secs(60),
        max_stale: None,
    }
}

fn backend(config: HttpAuthConfig) -> HttpBackend {
    HttpBackend::new("api", config).unwrap()
}

async fn login(backend: &HttpBackend, user: &str, password: &str) -> Result<Outcome, AuthnError> {
    backend.authenticate(user, &Secret::new(password)).await
}

fn alice() -> Outcome {
    Outcome::Authenticated(Identity {
        backend: "api".into(),
        name: "alice".into(),
        groups: vec!["developers".into(), "ops".into()],
    })
}

#[tokio::test]
async fn success_with_groups_and_basic_credentials() {
    let api = AuthApi::start().await;
    let backend = backend(config(&api.url("/check")));
    assert_eq!(login(&backend, "alice", "alice-pw").await.unwrap(), alice());
    let seen = &api.seen()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("Basic {}", STANDARD.encode("alice:alice-pw")).as_str())
    );
    let carol = login(&backend, "carol", "carol-pw").await.unwrap();
    let expected = Identity { backend: "api".into(), name: "carol".into(), groups: vec![] };
    assert_eq!(carol, Outcome::Authenticated(expected), "a 2xx without a body: the typed name, no groups");
}

#[tokio::test]
async fn denial_unknown_user_and_empty_password() {
    let api = AuthApi::start().await;
    let backend = backend(config(&api.url("/check")));
    assert_eq!(login(&backend, "alice", "wrong").await.unwrap(), Outcome::Denied, "401");
    assert_eq!(login(&backend, "eve", "any").await.unwrap(), Outcome::Denied, "403");
    assert_eq!(login(&backend, "nobody", "any").await.unwrap(), Outcome::UnknownUser, "404");
    let calls = api.calls();
    assert_eq!(login(&backend, "alice", "").await.unwrap(), Outcome::Denied);
    assert_eq!(api.calls(), calls, "an empty password is refused without a request");
}

#[tokio::test]
async fn json_mode_posts_username_and_password() {
    let api = AuthApi::start().await;
    let backend = backend(HttpAuthConfig { credentials: HttpCredentials::Json, ..config(&api.url("/json")) });
    assert_eq!(login(&backend, "alice", "alice-pw").await.unwrap(), alice());
    let seen = &api.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.authorization, None);
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body, json!({"username": "alice", "password": "alice-pw"}));
}

fn assert_unavailable(outcome: Result<Outcome, AuthnError>, reason_part: &str) {
    match outcome {
        Err(AuthnError::Unavailable { backend, reason }) => {
            assert_eq!(backend, "api");
            assert!(reason.contains(reason_part), "{reason:?} lacks {reason_part:?}");
        }
        other => panic!("expected an outage, got {other:?}"),
    }
}

#[tokio::test]
async fn outages_are_unavailable_never_denied() {
    let api = AuthApi::start().await;
    assert_unavailable(login(&backend(config(&api.url("/fail"))), "alice", "alice-pw").await, "500");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}/check", closed.local_addr().unwrap());
    drop(closed);
    let started = Instant::now();
    assert_unavailable(login(&backend(config(&refused_url)), "alice", "alice-pw").await, "");
    assert!(started.elapsed() < Duration::from_secs(2), "a refused connection fails at once");

    let timeout = Duration::from_millis(500);
    let hanging = backend(HttpAuthConfig { timeout, ..config(&api.url("/hang")) });
    let started = Instant::now();
    assert_unavailable(login(&hanging, "alice", "alice-pw").await, "no answer within 500ms");
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(3), "took {elapsed:?}");
}

#[tokio::test]
async fn successes_are_cached_and_failures_are_not() {
    let api = AuthApi::start().await;
    let backend = backend(config(&api.url("/check")));
    for _ in 0..3 {
        assert_eq!(login(&backend, "alice", "alice-pw").await.unwrap(), alice());
    }
    assert_eq!(api.calls(), 1, "a push's repeated token requests cost one API call");
    for _ in 0..2 {
        assert_eq!(login(&backend, "alice", "wrong").await.unwrap(), Outcome::Denied);
    }
    assert_eq!(api.calls(), 3, "a wrong password is asked every time");

    let uncached = self::backend(HttpAuthConfig { cache_ttl: Duration::ZERO, ..config(&api.url("/check")) });
    login(&uncached, "alice", "alice-pw").await.unwrap();
    login(&uncached, "alice", "alice-pw").await.unwrap();
    assert_eq!(api.calls(), 5, "cache_ttl = 0s disables the cache");
}

#[tokio::test]
async fn max_stale_serves_a_cached_identity_during_an_outage() {
    let api = AuthApi::start().await;
    let stale = HttpAuthConfig {
        cache_ttl: Duration::ZERO,
        max_stale: Some(Duration::from_secs(600)),
        ..config(&api.url("/check"))
    };
    let with_stale = backend(stale);
    let without = backend(HttpAuthConfig { cache_ttl: Duration::ZERO, ..config(&api.url("/check")) });
    assert_eq!(login(&with_stale, "alice", "alice-pw").await.unwrap(), alice());
    assert_eq!(login(&without, "alice", "alice-pw").await.unwrap(), alice());

    api.state.down.store(true, Ordering::SeqCst);
    let calls = api.calls();
    assert_eq!(login(&with_stale, "alice", "alice-pw").await.unwrap(), alice());
    assert_eq!(api.calls(), calls + 1, "the API is asked first; the stale identity answers its outage");
    assert_unavailable(login(&with_stale, "alice", "other-pw").await, "500");
    assert_unavailable(login(&without, "alice", "alice-pw").await, "500");
}

/// A CA and a leaf certificate for 127.0.0.1 signed by it (PEM), plus the leaf's key (DER).
struct TestPki {
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

fn test_pki() -> TestPki {
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
fn start_tls_api(pki: &TestPki) -> SocketAddr {
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

#[tokio::test]
async fn https_with_the_ca_file_and_refused_without_it() {
    let pki = test_pki();
    let addr = start_tls_api(&pki);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let url = format!("https://{addr}/check");

    let trusted = backend(HttpAuthConfig { ca_file: Some(ca_file), ..config(&url) });
    let expected = Identity { backend: "api".into(), name: "alice".into(), groups: vec!["secure".into()] };
    assert_eq!(login(&trusted, "alice", "pw").await.unwrap(), Outcome::Authenticated(expected));

    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, test_pki().ca_pem).unwrap();
    let untrusting = backend(HttpAuthConfig { ca_file: Some(other_ca), ..config(&url) });
    assert_unavailable(login(&untrusting, "alice", "pw").await, "certificate");

    // The system roots (when the machine has any) do not trust the test CA either.
    if let Ok(system) = HttpBackend::new("api", config(&url)) {
        assert_unavailable(login(&system, "alice", "pw").await, "certificate");
    }

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let error = HttpBackend::new("api", HttpAuthConfig { ca_file: Some(empty), ..config(&url) }).unwrap_err();
    assert!(error.to_string().contains("no PEM certificate"), "{error}");
}

/// `GET /token` with Basic credentials through the router; (status, JSON body).
async fn token_request(app: axum::Router, user: &str, password: &str) -> (StatusCode, Value) {
    let authorization = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let request = Request::get(format!("/token?service={SERVICE}&scope=repository:team/app:pull"))
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes: Bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn token_requests_through_a_chain_of_htpasswd_then_http() {
    let api = AuthApi::start().await;
    let mut env = TestEnv::new("http://127.0.0.1:5001/token");
    env.config.authn.push(AuthnConfig {
        name: "api".into(),
        backend: BackendConfig::Http {
            config: HttpAuthConfig { cache_ttl: Duration::ZERO, ..config(&api.url("/check")) },
        },
    });
    let app = router(env.state());

    let (status, body) = token_request(app.clone(), "carol", "carol-pw").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].is_string());
    let (status, _) = token_request(app.clone(), "bob", "bob-pw").await;
    assert_eq!(status, StatusCode::OK, "htpasswd answers first");
    let (status, _) = token_request(app.clone(), "carol", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    api.state.down.store(true, Ordering::SeqCst);
    let (status, body) = token_request(app.clone(), "carol", "carol-pw").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "an outage is never a 401: {body}");
    let (status, _) = token_request(app, "bob", "bob-pw").await;
    assert_eq!(status, StatusCode::OK, "htpasswd users still log in while the API is down");
}

#[tokio::test]
async fn traced_steps_show_the_request_and_answer_but_not_the_password() {
    let api = AuthApi::start().await;
    let backend = backend(config(&api.url("/check")));
    let mut trace = regent::authn::Trace::default();
    let outcome = backend.authenticate_traced("alice", &Secret::new("alice-pw"), &mut trace).await;
    assert_eq!(outcome.unwrap(), alice());
    let steps = trace.steps().join("\n");
    let expected = format!(
        "api: asking {} (GET with HTTP Basic credentials)\napi: answered 200 OK\n\
         api: canonical name \"alice\", groups [\"developers\", \"ops\"]\n\
         api: authenticated as \"alice\", groups [\"developers\", \"ops\"]",
        api.url("/check")
    );
    assert_eq!(steps, expected);
    assert!(!steps.contains("alice-pw"));
}

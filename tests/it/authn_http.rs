//! The HTTP auth backend against a small in-test API on 127.0.0.1: answers, outages, caching,
//! `max_stale`, HTTPS with an rcgen CA, and the backend in a chain behind `/token`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{Request, StatusCode, header};
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

mod api;

use api::{AuthApi, start_tls_api, test_pki};

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
    Outcome::Authenticated(Identity::person("api", "alice", vec!["developers".into(), "ops".into()]))
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
    let expected = Identity::person("api", "carol", vec![]);
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

#[tokio::test]
async fn https_with_the_ca_file_and_refused_without_it() {
    let pki = test_pki();
    let addr = start_tls_api(&pki);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let url = format!("https://{addr}/check");

    let trusted = backend(HttpAuthConfig { ca_file: Some(ca_file), ..config(&url) });
    let expected = Identity::person("api", "alice", vec!["secure".into()]);
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

#[tokio::test]
async fn a_name_with_control_characters_or_spaces_in_the_answer_is_an_outage_logged_escaped() {
    let api = AuthApi::start().await;
    let direct = backend(config(&api.url("/check")));
    assert_unavailable(login(&direct, "forger", "forger-pw").await, "\"admin\\n2020-01-01T00:00:00");
    assert_unavailable(
        login(&direct, "spacey", "spacey-pw").await,
        "\"admin \": the user name starts or ends",
    );

    let mut env = TestEnv::new("http://127.0.0.1:5001/token");
    env.config.authn.push(AuthnConfig {
        name: "api".into(),
        backend: BackendConfig::Http { config: config(&api.url("/check")) },
    });
    let app = router(env.state());
    let (log, _guard) = crate::fixtures::CapturedLog::start();
    for user in ["forger", "spacey"] {
        let (status, body) = token_request(app.clone(), user, &format!("{user}-pw")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{user}: never a token: {body}");
    }
    log.assert_clean();
    let text = log.text();
    assert!(text.contains("\"admin\\n2020-01-01T00:00:00.000000Z  INFO"), "{text}");
}

/// Users of an HTTP auth API (which cannot look a user up without a password) get no refresh
/// token: docker then stores their password, as without refresh tokens. htpasswd users do.
#[tokio::test]
async fn http_backend_users_get_no_refresh_token() {
    let api = AuthApi::start().await;
    let mut env = TestEnv::new("http://127.0.0.1:5001/token");
    env.config.authn.push(AuthnConfig {
        name: "api".into(),
        backend: BackendConfig::Http { config: config(&api.url("/check")) },
    });
    let app = router(env.state());
    for (user, password, refresh) in [("carol", "carol-pw", false), ("bob", "bob-pw", true)] {
        let request = Request::get(format!("/token?account={user}&offline_token=true&service={SERVICE}"))
            .header(header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{user}");
        let body: Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
        assert!(body["token"].is_string(), "{user}: {body}");
        assert_eq!(body.get("refresh_token").is_some(), refresh, "{user}: {body}");
    }
}

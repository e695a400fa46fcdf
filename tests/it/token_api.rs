//! The token endpoints in-process (axum router + `oneshot`): every answer and every error.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use regent::authn::{Authenticator, AuthnError, Chain, Outcome};
use regent::http::router;
use regent::secret::Secret;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::env::{ISSUER, SERVICE, TestEnv};
use crate::fixtures::{basic, claims, get, post};

/// Status, `WWW-Authenticate` (if any) and JSON body of one request.
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn send(env: &TestEnv, request: Request<Body>) -> Answer {
    send_to(router(env.state()), request).await
}

async fn send_to(app: axum::Router, request: Request<Body>) -> Answer {
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let challenge =
        response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, challenge, body }
}

fn access_of(answer: &Answer) -> Value {
    claims(answer.body["token"].as_str().expect("token"))["access"].clone()
}

fn env() -> TestEnv {
    TestEnv::new("http://127.0.0.1:5001/token")
}

#[tokio::test]
async fn login_without_scope_gets_a_token_with_empty_access() {
    let env = env();
    let a =
        send(&env, get(&format!("service={SERVICE}&account=alice"), Some(&basic("alice", "alice-pw")))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["token"], a.body["access_token"]);
    assert_eq!(a.body["expires_in"], 300);
    let issued_at = a.body["issued_at"].as_str().expect("issued_at is a string");
    time::OffsetDateTime::parse(issued_at, &time::format_description::well_known::Rfc3339).expect("rfc3339");
    let c = claims(a.body["token"].as_str().expect("token"));
    assert_eq!(c["access"], json!([]));
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["aud"], SERVICE);
    assert!(c["exp"].is_i64() && c["nbf"].is_i64() && c["iat"].is_i64());
    assert_eq!(c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"), 300);
}

#[tokio::test]
async fn partial_grants_carry_only_the_allowed_actions() {
    let env = env();
    let own = send(
        &env,
        get(
            &format!("service={SERVICE}&scope=repository:alice/app:pull,push"),
            Some(&basic("alice", "alice-pw")),
        ),
    )
    .await;
    assert_eq!(access_of(&own), json!([{"type":"repository","name":"alice/app","actions":["pull","push"]}]));
    let other = send(
        &env,
        get(
            &format!("service={SERVICE}&scope=repository:alice/app:pull,push"),
            Some(&basic("bob", "bob-pw")),
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(access_of(&other), json!([{"type":"repository","name":"alice/app","actions":["pull"]}]));
    // Several scopes, repeated and space-separated; an unknown type and action are dropped.
    let q = format!(
        "service={SERVICE}&scope=repository:bob/x:pull&scope=repository:bob/y:push+weird:thing:pull&scope=repository:bob/z:fly"
    );
    let many = send(&env, get(&q, Some(&basic("bob", "bob-pw")))).await;
    assert_eq!(
        access_of(&many),
        json!([
            {"type":"repository","name":"bob/x","actions":["pull"]},
            {"type":"repository","name":"bob/y","actions":["push"]}
        ])
    );
}

#[tokio::test]
async fn anonymous_may_pull_public_only() {
    let env = env();
    let a = send(&env, get(&format!("service={SERVICE}&scope=repository:public/tool:pull,push"), None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(access_of(&a), json!([{"type":"repository","name":"public/tool","actions":["pull"]}]));
    assert_eq!(claims(a.body["token"].as_str().expect("token"))["sub"], "");
    let b = send(&env, get(&format!("service={SERVICE}&scope=repository:alice/app:pull"), None)).await;
    assert_eq!(access_of(&b), json!([]));
}

#[tokio::test]
async fn catalog_is_for_admins() {
    let env = env();
    let q = format!("service={SERVICE}&scope=registry:catalog:*");
    let admin = send(&env, get(&q, Some(&basic("admin", "admin-pw")))).await;
    assert_eq!(access_of(&admin), json!([{"type":"registry","name":"catalog","actions":["*"]}]));
    let alice = send(&env, get(&q, Some(&basic("alice", "alice-pw")))).await;
    assert_eq!(access_of(&alice), json!([]));
}

#[tokio::test]
async fn every_token_is_fresh() {
    let env = env();
    let app = router(env.state());
    let q = format!("service={SERVICE}");
    let one = send_to(app.clone(), get(&q, None)).await;
    let two = send_to(app, get(&q, None)).await;
    let (c1, c2) =
        (claims(one.body["token"].as_str().expect("t")), claims(two.body["token"].as_str().expect("t")));
    assert_ne!(c1["jti"], c2["jti"]);
    assert!(URL_SAFE_NO_PAD.decode(c1["jti"].as_str().expect("jti")).expect("b64").len() >= 16);
}

#[tokio::test]
async fn auth_token_path_is_the_same_endpoint() {
    let env = env();
    let request = Request::get(format!("/auth/token?service={SERVICE}")).body(Body::empty()).expect("req");
    assert_eq!(send(&env, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_credentials_get_401_with_basic_challenge() {
    let env = env();
    for auth in [basic("alice", "wrong"), basic("nobody", "x"), basic("alice", "")] {
        let a = send(&env, get(&format!("service={SERVICE}"), Some(&auth))).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.challenge.as_deref(), Some("Basic realm=\"regent\""));
        assert_eq!(a.body["errors"][0]["code"], "UNAUTHORIZED");
        assert!(a.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn bad_requests_get_4xx_registry_errors() {
    let env = env();
    let alice = basic("alice", "alice-pw");
    let long = format!("service={SERVICE}&scope={}", "a".repeat(9000));
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        (get("", None), StatusCode::BAD_REQUEST),
        (get("service=other", None), StatusCode::BAD_REQUEST),
        (get(&format!("service={SERVICE}&scope=garbage"), None), StatusCode::BAD_REQUEST),
        (get(&format!("service={SERVICE}&scope=repository::pull"), None), StatusCode::BAD_REQUEST),
        (get(&format!("service={SERVICE}&account=bob"), Some(&alice)), StatusCode::BAD_REQUEST),
        (get(&long, None), StatusCode::URI_TOO_LONG),
        (get(&format!("service={SERVICE}"), Some("Basic !!notbase64")), StatusCode::BAD_REQUEST),
        (get(&format!("service={SERVICE}"), Some("Basic /w==")), StatusCode::BAD_REQUEST),
        (get(&format!("service={SERVICE}&scope=repository:%ff:pull"), None), StatusCode::BAD_REQUEST),
    ];
    for (request, status) in cases {
        let uri = request.uri().to_string();
        let a = send(&env, request).await;
        assert_eq!(a.status, status, "{uri}: {}", a.body);
        assert!(a.body["errors"][0]["code"].is_string(), "{uri}: {}", a.body);
    }
    let mut raw = get(&format!("service={SERVICE}"), None);
    raw.headers_mut()
        .insert(header::AUTHORIZATION, header::HeaderValue::from_bytes(b"Basic \xff\xfe").expect("hv"));
    assert_eq!(send(&env, raw).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oauth_post_password_grant() {
    let env = env();
    let form = format!(
        "grant_type=password&username=alice&password=alice-pw&service={SERVICE}&client_id=containerd-client&scope=repository:alice/app:pull,push+repository:bob/app:push"
    );
    let a = send(&env, post(&form)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["scope"], "repository:alice/app:pull,push");
    assert!(a.body["issued_at"].is_string() && a.body["expires_in"] == 300);
    let c = claims(a.body["access_token"].as_str().expect("access_token"));
    assert_eq!(c["access"], json!([{"type":"repository","name":"alice/app","actions":["pull","push"]}]));
}

#[tokio::test]
async fn oauth_post_errors_are_oauth_json_and_never_403() {
    let env = env();
    let big = format!("grant_type=password&username=a&password={}&service={SERVICE}", "x".repeat(64 * 1024));
    let cases = [
        (
            format!("grant_type=password&username=alice&password=nope&service={SERVICE}"),
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        ),
        (
            format!("grant_type=client_credentials&client_id=x&service={SERVICE}"),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            format!("grant_type=password&password=x&service={SERVICE}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("username=alice&password=alice-pw&service={SERVICE}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "grant_type=password&username=alice&password=alice-pw".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("grant_type=password&username=alice&password=alice-pw&service={SERVICE}&scope=:::"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (big, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
    ];
    for (form, status, code) in cases {
        let a = send(&env, post(&form)).await;
        assert_eq!(a.status, status, "{}", &form[..form.len().min(80)]);
        assert_eq!(a.body["error"], code);
        assert!(a.body["error_description"].is_string());
    }
}

/// A backend that is always down, to check the outage mapping.
pub struct DownBackend;

#[async_trait]
impl Authenticator for DownBackend {
    fn name(&self) -> &str {
        "down"
    }
    async fn authenticate(&self, _user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
        Err(AuthnError::Unavailable { backend: "down".into(), reason: "connection refused".into() })
    }
}

#[tokio::test]
async fn backend_outage_is_503_not_401() {
    let env = env();
    let state = env.state();
    state.update(|service| service.authn = Arc::new(Chain::new(vec![Arc::new(DownBackend)])));
    let a =
        send_to(router(state.clone()), get(&format!("service={SERVICE}"), Some(&basic("alice", "alice-pw"))))
            .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body["errors"][0]["code"], "UNAVAILABLE");
    let form = format!("grant_type=password&username=alice&password=alice-pw&service={SERVICE}");
    let p = send_to(router(state), post(&form)).await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(p.body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn unknown_paths_are_registry_style_404() {
    let env = env();
    let a = send(&env, Request::get("/nope").body(Body::empty()).expect("req")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["errors"][0]["code"], "NOT_FOUND");
    let h = send(&env, Request::get("/healthz").body(Body::empty()).expect("req")).await;
    assert_eq!(h.status, StatusCode::OK);
}

//! Refresh tokens of LDAP users against a real slapd: groups re-read at each refresh, a
//! directory outage answers 503 (never a logout: the same token works once slapd is back), and
//! a deleted entry ends the session.

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::config::BackendConfig;
use regent::http::{AppState, router};
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{LDAP_BACKEND, LdapGroupSource, LdapOrder, SERVICE, TestEnv};
use crate::fixtures::{Slapd, ldif};

/// The LDAP backend's cache lifetime in this test (short, so a change shows soon).
const CACHE_TTL: Duration = Duration::from_secs(1);
const TEAM_PUSH: &str = "repository:team/app:pull,push";

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(state.clone()).oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn refresh(state: &AppState, token: &str) -> (StatusCode, Value) {
    let form = format!(
        "grant_type=refresh_token&client_id=docker&refresh_token={token}&scope={TEAM_PUSH}&service={SERVICE}"
    );
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    send(state, request).await
}

/// Sends refreshes until the status is `wanted` (or 20 s pass); the last body.
async fn refresh_until(state: &AppState, token: &str, wanted: StatusCode) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = refresh(state, token).await;
        if status == wanted {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "wanted {wanted}, still {status}: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_refresh_rereads_groups_survives_an_outage_and_ends_with_the_entry() {
    let mut slapd = Slapd::start();
    let mut env =
        TestEnv::with_ldap("http://127.0.0.1:5001/token", &slapd, LdapOrder::Last, LdapGroupSource::MemberOf);
    for authn in &mut env.config.authn {
        if let BackendConfig::Ldap { config } = &mut authn.backend {
            config.cache_ttl = CACHE_TTL;
        }
    }
    let state = env.state();
    // carol is in the directory only (developers: team/** pull,push).
    let auth = format!("Basic {}", STANDARD.encode("carol:carolpw"));
    let login = Request::get(format!("/token?account=carol&offline_token=true&service={SERVICE}"))
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .expect("request");
    let (status, body) = send(&state, login).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["refresh_token"].as_str().expect("refresh_token for an LDAP user").to_owned();
    let (status, body) = refresh(&state, &token).await;
    assert_eq!((status, body["scope"].as_str()), (StatusCode::OK, Some(TEAM_PUSH)), "{body}");

    // The directory is down: 503 temporarily_unavailable, not invalid_grant.
    slapd.stop();
    let body = refresh_until(&state, &token, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    // Back up: the same refresh token works again, nobody was logged out.
    slapd.restart();
    refresh_until(&state, &token, StatusCode::OK).await;

    // carol's entry is deleted: the session ends.
    slapd.delete(&format!("uid=carol,{}", ldif::PEOPLE));
    let body = refresh_until(&state, &token, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(env.config.authn.iter().any(|authn| authn.name == LDAP_BACKEND));
}

//! Refresh tokens (docker's identity tokens) in-process: every request shape docker,
//! containers/image and containerd send, policies re-evaluated at each refresh, and every way a
//! refresh token is refused (400 `invalid_grant` on POST, 401 on GET).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use regent::authn::htpasswd::delete_user;
use regent::clock::{Clock, ShiftedClock, SystemClock};
use regent::http::{AppState, router};
use regent::token::refresh::{RefreshSubject, RefreshTokens, record_revocation};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{basic, claims, get, post};

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(state.clone()).oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn env() -> TestEnv {
    TestEnv::new("http://127.0.0.1:5001/token")
}

/// `docker login`: GET with `offline_token=true`; the answer's `refresh_token`.
async fn docker_login(state: &AppState, user: &str, password: &str) -> String {
    let query = format!("account={user}&client_id=docker&offline_token=true&service={SERVICE}");
    let (status, body) = send(state, get(&query, Some(&basic(user, password)))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["refresh_token"].as_str().expect("a refresh_token").to_owned()
}

/// docker's refresh: POST `grant_type=refresh_token&client_id=docker&scope=...&service=...`.
fn refresh_form(token: &str, scope: &str) -> Request<Body> {
    post(&format!(
        "grant_type=refresh_token&client_id=docker&refresh_token={token}&scope={scope}&service={SERVICE}"
    ))
}

const ALICE_APP: &str = "repository:alice/app:pull,push";

#[tokio::test]
async fn docker_login_then_post_refresh_grants_answer_access_tokens() {
    let env = env();
    let state = env.state();
    let refresh = docker_login(&state, "alice", "alice-pw").await;
    let c = claims(&refresh);
    assert_eq!((c["sub"].as_str(), c["backend"].as_str()), (Some("alice"), Some("local")));
    assert_eq!(c["aud"], format!("regent-refresh:{SERVICE}"));
    for client in ["docker", "containers/image", "containerd-client"] {
        let form = format!(
            "grant_type=refresh_token&client_id={client}&refresh_token={refresh}&scope={ALICE_APP}&service={SERVICE}"
        );
        let (status, body) = send(&state, post(&form)).await;
        assert_eq!(status, StatusCode::OK, "{client}: {body}");
        assert_eq!(body["scope"], ALICE_APP);
        let access = claims(body["access_token"].as_str().expect("access_token"));
        assert_eq!(access["sub"], "alice");
        assert_eq!(access["aud"], SERVICE);
        assert_eq!(
            access["access"],
            json!([{"type":"repository","name":"alice/app","actions":["pull","push"]}])
        );
        assert!(body.get("refresh_token").is_none(), "the same refresh token stays in use");
    }
    // Reusable: the same token again.
    assert_eq!(send(&state, refresh_form(&refresh, ALICE_APP)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn refresh_tokens_are_issued_only_when_asked_for() {
    let env = env();
    let state = env.state();
    let form = format!("grant_type=password&username=alice&password=alice-pw&service={SERVICE}");
    let (status, plain) = send(&state, post(&form)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain.get("refresh_token").is_none(), "{plain}");
    let (status, offline) = send(&state, post(&format!("{form}&access_type=offline"))).await;
    assert_eq!(status, StatusCode::OK, "{offline}");
    let token = offline["refresh_token"].as_str().expect("refresh_token with access_type=offline");
    assert_eq!(send(&state, refresh_form(token, ALICE_APP)).await.0, StatusCode::OK);
    let (_, no_offline) =
        send(&state, get(&format!("service={SERVICE}"), Some(&basic("alice", "alice-pw")))).await;
    assert!(no_offline.get("refresh_token").is_none(), "{no_offline}");
    let (_, anonymous) = send(&state, get(&format!("service={SERVICE}&offline_token=true"), None)).await;
    assert!(anonymous.get("refresh_token").is_none(), "{anonymous}");
}

#[tokio::test]
async fn get_with_an_empty_user_and_the_refresh_token_works_containerds_fallback() {
    let env = env();
    let state = env.state();
    let refresh = docker_login(&state, "alice", "alice-pw").await;
    let query = format!("scope={ALICE_APP}&service={SERVICE}");
    let (status, body) = send(&state, get(&query, Some(&basic("", &refresh)))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = claims(body["token"].as_str().expect("token"));
    assert_eq!(access["access"][0]["actions"], json!(["pull", "push"]));
    // An account naming someone else is refused.
    let other = format!("account=bob&{query}");
    assert_eq!(send(&state, get(&other, Some(&basic("", &refresh)))).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn scopes_are_evaluated_under_the_current_policies_and_groups() {
    let env = env();
    let state = env.state();
    let refresh = docker_login(&state, "alice", "alice-pw").await;
    let team = "repository:team/app:pull,push";
    let (_, before) = send(&state, refresh_form(&refresh, team)).await;
    assert_eq!(before["scope"], "repository:team/app:pull", "read-only before: {before}");
    // alice joins `developers` (team/** pull,push): the next refresh sees it, no new login.
    let groups = env.config_path().with_file_name("groups");
    std::fs::write(&groups, "admins: admin\ndevelopers: dev alice\n").unwrap();
    let app = wait_until(
        &state,
        Duration::from_secs(10),
        |body| body["scope"] == team,
        || refresh_form(&refresh, team),
    )
    .await;
    assert_eq!(claims(app["access_token"].as_str().unwrap())["access"][0]["name"], "team/app");
    // A policy change applies too: a deny-everything policy set leaves nothing.
    let policies = &env.config.policy.directory;
    for entry in std::fs::read_dir(policies).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    assert!(state.token_service().policies.reload_now());
    let (status, after) = send(&state, refresh_form(&refresh, team)).await;
    assert_eq!((status, &after["scope"]), (StatusCode::OK, &json!("")), "{after}");
}

/// Sends `request()` until `done(body)` (status 200) or `limit` passes; the last body.
async fn wait_until(
    state: &AppState,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
    request: impl Fn() -> Request<Body>,
) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = send(state, request()).await;
        if status == StatusCode::OK && done(&body) {
            return body;
        }
        assert!(started.elapsed() < limit, "not done after {limit:?}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// POST answers 400 `invalid_grant`, GET with Basic `":" + token` 401.
async fn assert_refused(state: &AppState, token: &str, why: &str) {
    let (status, body) = send(state, refresh_form(token, ALICE_APP)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
    assert_eq!(body["error"], "invalid_grant", "{why}: {body}");
    let query = format!("scope={ALICE_APP}&service={SERVICE}");
    let (status, body) = send(state, get(&query, Some(&basic("", token)))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
}

#[tokio::test]
async fn invalid_expired_wrong_service_and_access_tokens_are_invalid_grants() {
    let env = env();
    let state = env.state();
    let month = Duration::from_secs(31 * 86_400);
    let old = env.state_with_clock(Arc::new(ShiftedClock { behind: month }));
    let expired = docker_login(&old, "alice", "alice-pw").await;
    assert_refused(&state, &expired, "expired").await;
    let (_, access) =
        send(&state, get(&format!("service={SERVICE}"), Some(&basic("alice", "alice-pw")))).await;
    assert_refused(&state, access["token"].as_str().unwrap(), "an access token").await;
    let other_service = RefreshTokens::new(crate::env::ISSUER, "other.registry", month).unwrap();
    let subject = RefreshSubject { name: "alice".into(), backend: "local".into(), owns_name: true };
    let foreign =
        other_service.issue(&state.token_service().issuer.keys(), &subject, SystemClock.now()).unwrap();
    assert_refused(&state, foreign.expose(), "another service").await;
    let refresh = docker_login(&state, "alice", "alice-pw").await;
    let mut forged = claims(&refresh);
    forged["sub"] = json!("admin");
    let parts: Vec<&str> = refresh.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(forged.to_string()), parts[2]);
    assert_refused(&state, &forged, "a forged subject").await;
    assert_refused(&state, "not-a-token", "garbage").await;
    // A refresh grant without a token is a malformed request.
    let (status, body) = send(&state, post(&format!("grant_type=refresh_token&service={SERVICE}"))).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")));
}

#[tokio::test]
async fn revocation_and_a_deleted_user_end_refresh_within_seconds_and_a_new_login_works() {
    let env = env();
    let state = env.state();
    let alice = docker_login(&state, "alice", "alice-pw").await;
    let bob = docker_login(&state, "bob", "bob-pw").await;
    record_revocation(&env.config.refresh.revocations, Some("alice"), SystemClock.now()).unwrap();
    let started = Instant::now();
    loop {
        if send(&state, refresh_form(&alice, ALICE_APP)).await.0 == StatusCode::BAD_REQUEST {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still accepted after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "revocation took {took:?} (target: about 1 s)");
    assert_refused(&state, &alice, "revoked").await;
    assert_eq!(send(&state, refresh_form(&bob, ALICE_APP)).await.0, StatusCode::OK, "bob is not revoked");
    // Tokens issued in the revocation's second are revoked too; a login after it works.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = docker_login(&state, "alice", "alice-pw").await;
    assert_eq!(send(&state, refresh_form(&again, ALICE_APP)).await.0, StatusCode::OK);
    // bob is deleted from the htpasswd file: his refresh token stops working.
    assert!(delete_user(&env.config_path().with_file_name("htpasswd"), "bob").unwrap());
    let started = Instant::now();
    while send(&state, refresh_form(&bob, ALICE_APP)).await.0 == StatusCode::OK {
        assert!(started.elapsed() < Duration::from_secs(10), "a deleted user still refreshes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_refused(&state, &bob, "deleted").await;
    // `--all`: everyone's tokens.
    record_revocation(&env.config.refresh.revocations, None, SystemClock.now()).unwrap();
    assert!(state.token_service().revocations.reload_now());
    assert_refused(&state, &again, "revoked with --all").await;
}

#[tokio::test]
async fn refresh_ttl_zero_issues_no_refresh_tokens_and_refuses_the_grant() {
    let mut env = env();
    let enabled = env.state();
    let token = docker_login(&enabled, "alice", "alice-pw").await;
    env.config.refresh.ttl = Duration::ZERO;
    let state = env.state();
    let query = format!("account=alice&offline_token=true&service={SERVICE}");
    let (status, body) = send(&state, get(&query, Some(&basic("alice", "alice-pw")))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_refused(&state, &token, "refresh tokens turned off").await;
}

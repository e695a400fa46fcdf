//! `regent revoke` (the binary): it finds the revocations file through the usual config
//! lookup, and a server built from that config refuses the revoked refresh tokens within
//! about a second; and a full `regent serve` run at trace level logs the grant of each token
//! but never a password, a Basic header or a token.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::http::{AppState, router};
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::run_with_timeout;
use crate::served::{ConfigText, Served};

fn regent(args: &[&str], cwd: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.args(args).current_dir(cwd).env_remove("REGENT_CONFIG");
    run_with_timeout(command, Duration::from_secs(60), None)
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(state.clone()).oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn login(state: &AppState, user: &str, password: &str) -> String {
    let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let request = Request::get(format!("/token?account={user}&offline_token=true&service={SERVICE}"))
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .expect("request");
    let (status, body) = send(state, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["refresh_token"].as_str().expect("refresh_token").to_owned()
}

async fn refresh(state: &AppState, token: &str) -> StatusCode {
    let form = format!("grant_type=refresh_token&client_id=docker&refresh_token={token}&service={SERVICE}");
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    send(state, request).await.0
}

/// Waits until `token` is refused (400); how long that took.
async fn refused_after(state: &AppState, token: &str) -> Duration {
    let started = Instant::now();
    while refresh(state, token).await != StatusCode::BAD_REQUEST {
        assert!(started.elapsed() < Duration::from_secs(10), "still accepted after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn regent_revoke_user_and_all_reach_a_running_server_within_seconds() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let state = env.state();
    let (alice, bob) = (login(&state, "alice", "alice-pw").await, login(&state, "bob", "bob-pw").await);
    let dir = env.config_path().parent().expect("data dir").to_owned();
    // No --config: ./regent.toml in the data directory, as for every command.
    let out = regent(&["revoke", "alice"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"alice\""));
    let file = std::fs::read_to_string(dir.join("revocations.toml")).expect("revocations.toml");
    assert!(file.contains("alice = "), "{file}");
    let took = refused_after(&state, &alice).await;
    assert!(took < Duration::from_secs(5), "revocation took {took:?} (target: about 1 s)");
    assert_eq!(refresh(&state, &bob).await, StatusCode::OK);
    let config = env.config_path().to_str().expect("utf-8").to_owned();
    let out = regent(&["revoke", "--config", &config, "--all"], Path::new("/"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    refused_after(&state, &bob).await;
    // Bad invocations fail with a message and leave the file alone.
    for args in [&["revoke", "--config", &config][..], &["revoke", "--config", &config, " alice"]] {
        let out = regent(args, Path::new("/"));
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(!out.stderr.is_empty());
    }
    assert!(std::fs::read_to_string(dir.join("revocations.toml")).unwrap().contains("all = "));
}

/// `regent serve` (the binary, its real logging): the token lines say `grant=password` and
/// `grant=refresh`, a refused refresh token is logged with its reason, and no token appears.
#[test]
fn the_log_names_the_grant_and_never_a_password_or_token() {
    let config = ConfigText::new();
    let env = TestEnv::new(&format!("http://{}/token", config.listen));
    // The most verbose level regent has: no level may print a secret.
    let served = Served::start_with(env, config, &[("RUST_LOG", "regent=trace")]);
    let base = format!("http://{}", served.config.listen);
    let auth = format!("Basic {}", STANDARD.encode("alice:alice-pw"));
    let login = crate::fixtures::http_get(
        &format!("{base}/token?account=alice&offline_token=true&service={SERVICE}"),
        &[("Authorization", &auth)],
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.json()["refresh_token"].as_str().expect("refresh_token").to_owned();
    let access = login.json()["token"].as_str().expect("token").to_owned();
    let wrong = format!("Basic {}", STANDARD.encode("alice:not-alices-secret"));
    let refused =
        crate::fixtures::http_get(&format!("{base}/token?service={SERVICE}"), &[("Authorization", &wrong)]);
    assert_eq!(refused.status, 401, "{}", refused.body);
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let refresh = |token: &str| {
        let form =
            format!("grant_type=refresh_token&client_id=docker&refresh_token={token}&service={SERVICE}");
        crate::fixtures::http_request("POST", &format!("{base}/token"), &form_type, form.as_bytes())
    };
    assert_eq!(refresh(&token).status, 200);
    // One base64 character in the middle of the signature changed: still valid base64.
    let at = token.len() - 20;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    assert_eq!(refresh(&forged).status, 400);
    let started = Instant::now();
    let text = loop {
        let text = served.server.log();
        if text.contains("refresh token refused") || started.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let issued: Vec<&str> = text.lines().filter(|line| line.contains("token issued")).collect();
    assert!(
        issued.iter().any(|line| line.contains("grant=\"password\"") || line.contains("grant=password")),
        "{text}"
    );
    assert!(
        issued.iter().any(|line| line.contains("grant=\"refresh\"") || line.contains("grant=refresh")),
        "{text}"
    );
    assert!(
        text.lines().any(|line| line.contains("refresh token refused") && line.contains("signature")),
        "{text}"
    );
    let signature = token.rsplit('.').next().expect("signature");
    assert!(!text.contains(signature) && !text.contains(&token[..40]), "a token in the log:\n{text}");
    let access_signature = access.rsplit('.').next().expect("signature");
    assert!(!text.contains(access_signature), "an access token in the log:\n{text}");
    for secret in ["alice-pw", "not-alices-secret", &auth["Basic ".len()..], &wrong["Basic ".len()..]] {
        assert!(!text.contains(secret), "{secret:?} in the log:\n{text}");
    }
}

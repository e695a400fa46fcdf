//! The htpasswd backend behind the router: while every bcrypt slot is held by slow
//! verifications, a login that waits longer than `verify_queue_timeout` is a 503, not a 401.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::htpasswd::{BcryptLimits, HtpasswdBackend};
use regent::authn::{Authenticator, Chain};
use regent::config::{BackendConfig, Config};
use regent::http::router;
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};

/// A cost whose verification takes long enough (half a second or more) to be caught running.
const SLOW_COST: u32 = 13;

/// Answers `GET /token` for `user:password`: the status and the JSON body.
async fn token(app: axum::Router, user: &str, password: &str) -> (StatusCode, serde_json::Value) {
    let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let request = Request::get(format!("/token?service={SERVICE}"))
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_queued_behind_busy_bcrypt_slots_is_503() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let root = env.config_path().parent().expect("data dir").to_owned();
    // One slow user per slot (the backend runs one bcrypt per core); one hash serves them all.
    let slots = std::thread::available_parallelism().map_or(1, usize::from);
    let slow_hash = bcrypt::hash("slow-pw", SLOW_COST).expect("hash");
    let slow_users: Vec<String> = (0..slots).map(|i| format!("slow{i}")).collect();
    let lines: String = slow_users.iter().map(|user| format!("{user}:{slow_hash}\n")).collect();
    let htpasswd = root.join("htpasswd");
    let text = std::fs::read_to_string(&htpasswd).expect("htpasswd");
    std::fs::write(&htpasswd, format!("{text}{lines}")).expect("write htpasswd");

    // The real parser reads the key; the backend is opened with what it read.
    let config_text = std::fs::read_to_string(env.config_path()).expect("regent.toml");
    let config_text = config_text.replacen(
        "cache_ttl = \"30s\"\n",
        "cache_ttl = \"0s\"\nverify_queue_timeout = \"50ms\"\n",
        1,
    );
    std::fs::write(env.config_path(), config_text).expect("write regent.toml");
    let config = Config::load(env.config_path()).expect("config loads");
    let BackendConfig::Htpasswd { file, groups, cache_ttl, max_bcrypt_cost, verify_queue_timeout } =
        &config.authn[0].backend
    else {
        panic!("the first backend is htpasswd")
    };
    assert_eq!(*verify_queue_timeout, Duration::from_millis(50));
    let limits = BcryptLimits { max_cost: *max_bcrypt_cost, queue_timeout: *verify_queue_timeout };
    let backend = Arc::new(
        HtpasswdBackend::open("local", file.clone(), groups.clone(), *cache_ttl, limits).expect("open"),
    );
    let state = env.state();
    state.update(|service| {
        service.authn = Arc::new(Chain::new(vec![Arc::clone(&backend) as Arc<dyn Authenticator>]))
    });
    let app = router(state);

    let running: Vec<_> = slow_users
        .iter()
        .map(|user| {
            let (app, user) = (app.clone(), user.clone());
            tokio::spawn(async move { token(app, &user, "slow-pw").await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while backend.bcrypt_verifications() < slots as u64 {
        assert!(Instant::now() < deadline, "the slow verifications did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let started = Instant::now();
    let (status, body) = token(app.clone(), "alice", "alice-pw").await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "an outage, not a wrong password: {body}");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{body}");
    assert!(waited < Duration::from_secs(5), "a 50ms bound took {waited:?}");
    assert_eq!(backend.bcrypt_verifications(), slots as u64, "the refused login ran no bcrypt");

    for task in running {
        assert_eq!(task.await.expect("join").0, StatusCode::OK);
    }
    let (status, body) = token(app, "alice", "alice-pw").await;
    assert_eq!(status, StatusCode::OK, "free slots answer again: {body}");
}

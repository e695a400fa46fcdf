//! Brute-force protection end to end: a burst of parallel correct logins is never refused (nor
//! is a burst of one stale wrong password locked out),
//! repeated wrong passwords get `429` with `Retry-After` (GET and OAuth2 POST), an outage never
//! counts, lockouts are logged and counted, and a success resets the count.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use regent::config::{AuthnConfig, BackendConfig, HttpAuthConfig, HttpCredentials, LockoutConfig};
use regent::http::router;
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::basic;
use crate::fixtures::{http_get, http_request};

/// Small thresholds and delays so the tests run quickly.
fn quick() -> LockoutConfig {
    LockoutConfig {
        max_failures: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        ..LockoutConfig::default()
    }
}

fn get_token(regent: &RunningRegent, user: &str, password: &str) -> crate::fixtures::HttpResponse {
    let auth = basic(user, password);
    http_get(
        &format!("{}?service={SERVICE}&scope=repository:{user}/app:pull", regent.realm()),
        &[("Authorization", &auth)],
    )
}

#[test]
fn a_burst_of_parallel_correct_logins_is_never_refused() {
    let (listener, realm) = bind_realm();
    let mut env = TestEnv::new(&realm);
    env.config.lockout = quick();
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    for n in 0..2 {
        assert_eq!(get_token(&regent, "alice", &format!("typo-{n}")).status, 401, "two distinct typos");
    }
    std::thread::scope(|scope| {
        let pulls: Vec<_> =
            (0..20).map(|_| scope.spawn(|| get_token(&regent, "alice", "stale-password").status)).collect();
        for pull in pulls {
            assert_eq!(pull.join().unwrap(), 401, "a stale password in a burst of 20 pulls: 401, never 429");
        }
    });
    std::thread::scope(|scope| {
        let pulls: Vec<_> =
            (0..40).map(|_| scope.spawn(|| get_token(&regent, "alice", "alice-pw").status)).collect();
        for pull in pulls {
            assert_eq!(pull.join().unwrap(), 200, "a correct password in a burst of 40 pulls");
        }
    });
    for n in 0..4 {
        let status = get_token(&regent, "alice", &format!("other-typo-{n}")).status;
        assert_eq!(status, 401, "the success reset the count");
    }
}

#[test]
fn repeated_wrong_passwords_get_429_with_retry_after_on_get_and_post() {
    let (listener, realm) = bind_realm();
    let mut env = TestEnv::new(&realm);
    env.config.lockout = quick();
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    for n in 0..4 {
        assert_eq!(get_token(&regent, "bob", &format!("guess-{n}")).status, 401, "failure {n}");
    }
    let locked = get_token(&regent, "bob", "bob-pw");
    assert_eq!(locked.status, 429, "locked out: even the right password waits: {}", locked.body);
    let retry: u64 = locked.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((290..=300).contains(&retry), "{retry}");
    assert_eq!(locked.json()["errors"][0]["code"], "TOOMANYREQUESTS");
    let form = format!("grant_type=password&username=bob&password=bob-pw&service={SERVICE}");
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let post = http_request("POST", &regent.realm(), &headers, form.as_bytes());
    assert_eq!(post.status, 429, "{}", post.body);
    assert!(post.header("retry-after").is_some());
    assert_eq!(post.json()["error"], "temporarily_unavailable");
    assert_eq!(
        get_token(&regent, "alice", "alice-pw").status,
        200,
        "alice from the same address is not locked"
    );
    let metrics = http_get(&format!("http://{}/metrics", regent.addr), &[]).body;
    assert!(metrics.contains("regent_lockouts_total{scope=\"user_client\"} 1\n"), "{metrics}");
    let locked_requests =
        "regent_token_requests_total{outcome=\"locked\",grant_type=\"password\",backend=\"none\"} 2\n";
    assert!(metrics.contains(locked_requests), "{metrics}");
}

#[test]
fn a_directory_outage_never_counts_as_a_failure() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/check", closed.local_addr().unwrap());
    drop(closed);
    let (listener, realm) = bind_realm();
    let mut env = TestEnv::new(&realm);
    env.config.lockout =
        LockoutConfig { max_failures: 2, max_failures_per_client: 2, max_failures_per_user: 2, ..quick() };
    let config = HttpAuthConfig {
        url,
        credentials: HttpCredentials::Basic,
        ca_file: None,
        timeout: Duration::from_secs(2),
        cache_ttl: Duration::ZERO,
        max_stale: None,
    };
    env.config.authn.insert(0, AuthnConfig { name: "api".into(), backend: BackendConfig::Http { config } });
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    for n in 0..10 {
        assert_eq!(
            get_token(&regent, "carol", "carol-pw").status,
            503,
            "attempt {n}: an outage, not a failure"
        );
    }
    let metrics = http_get(&format!("http://{}/metrics", regent.addr), &[]).body;
    assert!(!metrics.contains("regent_lockouts_total{"), "{metrics}");
}

#[tokio::test]
async fn a_lockout_is_logged_with_the_user_and_address_never_the_password() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let mut env = env;
    env.config.lockout = quick();
    let app = router(env.state());
    let (log, _guard) = crate::fixtures::CapturedLog::start();
    let client: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    let mut statuses = Vec::new();
    for n in 0..5 {
        let mut request = Request::get(format!("/token?service={SERVICE}"))
            .header("authorization", basic("dev", &format!("hunter2-guess{n}")))
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(client));
        let response = app.clone().oneshot(request).await.unwrap();
        statuses.push(response.status());
        let body: Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert!(body["errors"][0]["code"].is_string());
    }
    let expected =
        [StatusCode::UNAUTHORIZED; 4].into_iter().chain([StatusCode::TOO_MANY_REQUESTS]).collect::<Vec<_>>();
    assert_eq!(statuses, expected);
    let text = log.text();
    let started = text.lines().find(|line| line.contains("lockout: too many failed logins")).expect(&text);
    assert!(
        started.contains("198.51.100.7") && started.contains("dev") && started.contains("user_client"),
        "{started}"
    );
    assert!(text.contains("login refused: locked out"), "{text}");
    assert!(!text.contains("hunter2"), "the password is never logged:\n{text}");
}

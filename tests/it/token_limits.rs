//! Bounded work per token request: a scope count limit (in-process), and hostile repository
//! patterns that cost microseconds, not seconds, so they cannot stall other requests (real TCP).

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use regent::http::router;
use regent::scope::{MAX_SCOPE_BYTES, MAX_SCOPES};
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::http_get;

/// Status and JSON body of one in-process request.
async fn send(env: &TestEnv, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(env.state()).oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn get(query: &str) -> Request<Body> {
    Request::get(format!("/token?service={SERVICE}&{query}")).body(Body::empty()).expect("request")
}

/// `scope=repository:rN:pull` for `count` distinct names, `&`-joined.
fn distinct_scopes(count: usize) -> String {
    (0..count).map(|n| format!("scope=repository:r{n}:pull")).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn more_than_max_scopes_is_a_clear_400() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let (status, body) = send(&env, get(&distinct_scopes(MAX_SCOPES))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = send(&env, get(&distinct_scopes(MAX_SCOPES + 1))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["code"], "INVALID_REQUEST");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains(&format!("at most {MAX_SCOPES} distinct")), "{message}");

    // Space-joined scopes in one parameter count one by one.
    let joined = (0..=MAX_SCOPES).map(|n| format!("repository:r{n}:pull")).collect::<Vec<_>>().join("+");
    let (status, _) = send(&env, get(&format!("scope={joined}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The same resource asked for many times is merged: one resource, not 200.
    let repeated = vec!["scope=repository:public/tool:pull"; 200].join("&");
    let (status, body) = send(&env, get(&repeated)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The OAuth2 POST answers in its own format.
    let form = format!(
        "grant_type=password&username=alice&password=alice-pw&service={SERVICE}&{}",
        distinct_scopes(MAX_SCOPES + 1)
    );
    let post = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let (status, body) = send(&env, post).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].as_str().is_some_and(|d| d.contains("too many scopes")), "{body}");
}

#[tokio::test]
async fn an_overlong_scope_is_a_clear_400() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let name = "a".repeat(MAX_SCOPE_BYTES);
    let (status, body) = send(&env, get(&format!("scope=repository:{name}:pull"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.ends_with(&format!("longer than {MAX_SCOPE_BYTES} bytes")), "{message}");
}

/// A valid 255-byte repository name: `nNN-a-a-...-a` (every `-` is a place the old
/// backtracking matcher tried for each `*` of `*-*-*-*-*-prod`) for even `n`, and
/// `nNN/a/a/.../a` (127 segments for the `**`s) for odd `n`.
fn hostile_name(n: usize) -> String {
    let unit = if n.is_multiple_of(2) { "-a" } else { "/a" };
    let mut name = format!("n{n:02}");
    while name.len() < 255 {
        name.push_str(unit);
    }
    name
}

#[test]
fn hostile_patterns_do_not_stall_healthz() {
    let (listener, realm) = bind_realm();
    let env = TestEnv::new(&realm);
    let hostile = "[[allow]]\nwho = [\"anonymous\"]\nrepositories = [\"*-*-*-*-*-prod\", \
                   \"**/**/**/**/**/**/**/**/**/**/x\", \"*a*a*a*a*a*a*a*a*a*a*a*a*b\"]\nactions = [\"pull\"]\n";
    std::fs::write(env.config.policy.directory.join("60-hostile.toml"), hostile).expect("write policy");
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);

    // Two anonymous requests, each as many 255-byte scopes as fit in the query string limit.
    let query = (0..24).map(|n| format!("scope=repository:{}:pull", hostile_name(n))).collect::<Vec<_>>();
    let url = format!("{}?service={SERVICE}&{}", regent.realm(), query.join("&"));
    let requests: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let answer = http_get(&url, &[]);
                (answer.status, started.elapsed())
            })
        })
        .collect();
    let base = format!("http://{}", regent.addr);
    let mut slowest = Duration::ZERO;
    while requests.iter().any(|request| !request.is_finished()) || slowest.is_zero() {
        let started = Instant::now();
        let health = http_get(&format!("{base}/healthz"), &[]);
        assert_eq!(health.status, 200);
        slowest = slowest.max(started.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    // Generous: /healthz answers in about a millisecond; the old matcher stalled it for seconds.
    assert!(slowest < Duration::from_secs(1), "/healthz took {slowest:?} while hostile scopes were matched");
    for request in requests {
        let (status, took) = request.join().expect("request thread");
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "a token request with hostile scopes took {took:?}");
    }
}

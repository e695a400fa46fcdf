//! User names at the HTTP layer (in-process router): names breaking the rule are refused with
//! 400 before any backend, two `Authorization` headers are refused, and untrusted text reaches
//! the log only escaped (captured with the same `tracing_subscriber::fmt` formatter `main` uses).

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, Request, StatusCode, header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use regent::http::router;
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::basic;

/// A forged log line, as `main`'s formatter writes a real one.
pub const FORGED: &str =
    "2020-01-01T00:00:00.000000Z  INFO regent::http::token: token issued client=- user=admin";

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn get(authorizations: &[&str]) -> Request<Body> {
    let mut request = Request::get(format!("/token?service={SERVICE}")).body(Body::empty()).expect("request");
    for value in authorizations {
        request.headers_mut().append(header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
    }
    request
}

fn post(user: &str, password: &str, authorizations: &[&str]) -> Request<Body> {
    let encode = |text| utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
    let form = format!(
        "grant_type=password&username={}&password={}&service={SERVICE}",
        encode(user),
        encode(password)
    );
    let mut request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    for value in authorizations {
        request.headers_mut().append(header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
    }
    request
}

/// Names the HTTP layer refuses, each with a password that would be right for `alice`.
fn refused_names() -> Vec<String> {
    vec![
        " alice".into(),
        "alice ".into(),
        "alice\t".into(),
        format!("alice\n{FORGED}"),
        "ali\x1b[2Jce".into(),
        "al\u{7f}ice".into(),
        "al\u{85}ice".into(),
        "ecila\u{202e}".into(),
        "a".repeat(257),
    ]
}

#[tokio::test]
async fn names_breaking_the_rule_are_400_on_get_and_invalid_request_on_post() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let app = router(env.state());
    for name in refused_names() {
        let (status, body) = send(&app, get(&[&basic(&name, "alice-pw")])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {body}");
        assert_eq!(body["errors"][0]["code"], "INVALID_REQUEST", "{name:?}: {body}");
        let (status, body) = send(&app, post(&name, "alice-pw", &[])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {body}");
        assert_eq!(body["error"], "invalid_request", "{name:?}: {body}");
    }
    // An empty name with an empty password: 400 too (GET; the POST form already required a
    // username). With a password it is containerd's refresh-token fallback: not a token, 401.
    let (status, _) = send(&app, get(&[&basic("", "")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = send(&app, get(&[&basic("", "alice-pw")])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The names around the limits still work.
    let (status, body) = send(&app, get(&[&basic("alice", "alice-pw")])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = send(&app, get(&[&basic(&"a".repeat(256), "x")])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "256 bytes is a name (an unknown one)");
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let app = router(env.state());
    let (alice, bob) = (basic("alice", "alice-pw"), basic("bob", "bob-pw"));
    for pair in [[&alice, &bob], [&alice, &alice]] {
        let (status, body) = send(&app, get(&[pair[0], pair[1]])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["code"], "INVALID_REQUEST", "{body}");
        let (status, body) = send(&app, post("alice", "alice-pw", &[pair[0], pair[1]])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    // One header is fine on either.
    assert_eq!(send(&app, get(&[&alice])).await.0, StatusCode::OK);
    assert_eq!(send(&app, post("alice", "alice-pw", &[&alice])).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_newline_or_escape_in_a_user_name_forges_no_log_line() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let app = router(env.state());
    let (log, _guard) = crate::fixtures::CapturedLog::start();
    // A Basic user name ends at the first `:`, so this forged line has none (the form's may).
    let forger = "mallory\n2020-01-01T00.00.00Z  INFO regent token issued client=- user=admin\x1b[2K";
    let (status, _) = send(&app, get(&[&basic(forger, "wrong")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&app, post(forger, "wrong", &[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let form_forger = format!("mallory\n{FORGED}\x1b[2K");
    let (status, _) = send(&app, post(&form_forger, "wrong", &[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A name that passes the rule but holds quotes cannot fake another field either.
    let (status, _) = send(&app, get(&[&basic("x\" user=\"admin", "wrong")])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let text = log.text();
    log.assert_clean();
    let issued = text.lines().filter(|line| line.contains("token issued")).count();
    assert_eq!(issued, 3, "only the three escaped names mention it:\n{text}");
    let escaped =
        "user=\"mallory\\n2020-01-01T00.00.00Z  INFO regent token issued client=- user=admin\\u{1b}[2K\"";
    assert_eq!(text.matches(escaped).count(), 2, "GET and POST refusals logged, escaped:\n{text}");
    let escaped = "user=\"mallory\\n2020-01-01T00:00:00.000000Z  INFO regent::http::token: token issued \
                   client=- user=admin\\u{1b}[2K\"";
    assert_eq!(text.matches(escaped).count(), 1, "the form's name logged, escaped:\n{text}");
    assert!(text.contains("user=\"x\\\" user=\\\"admin\""), "{text}");
}

//! The token endpoints over real TCP (`server::run` on 127.0.0.1:0), as clients reach them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::env::{RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{http_get, http_request};

#[test]
fn get_post_and_errors_over_tcp() {
    let (listener, realm) = bind_realm();
    let env = TestEnv::new(&realm);
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    let base = format!("http://{}", regent.addr);
    let alice = format!("Basic {}", STANDARD.encode("alice:alice-pw"));

    let ok = http_get(
        &format!("{}?service={SERVICE}&scope=repository:alice/app:pull,push&account=alice", regent.realm()),
        &[("Authorization", &alice)],
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    assert!(ok.json()["token"].is_string());

    let form = format!(
        "grant_type=password&username=alice&password=alice-pw&service={SERVICE}&scope=repository:alice/app:pull"
    );
    let post = http_request(
        "POST",
        &format!("{base}/auth/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(post.status, 200, "{}", post.body);
    assert_eq!(post.json()["scope"], "repository:alice/app:pull");

    let wrong = http_get(
        &format!("{}?service={SERVICE}", regent.realm()),
        &[("Authorization", "Basic YWxpY2U6bm8=")],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.header("www-authenticate"), Some("Basic realm=\"regent\""));
    assert_eq!(wrong.json()["errors"][0]["code"], "UNAUTHORIZED");

    let bad = http_get(&format!("{}?service=nope", regent.realm()), &[]);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errors"][0]["code"], "INVALID_REQUEST");

    let health = http_get(&format!("{base}/healthz"), &[]);
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
}

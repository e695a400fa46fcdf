//! `GET /.well-known/jwks.json`: the key set as a JWK Set, in-process and on a listener that
//! proxies everything else to a registry (regent answers it itself).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use regent::clock::SystemClock;
use regent::config::{FrontConfig, LimitsConfig};
use regent::http::router;
use regent::server::{BoundListener, build_state, run_listeners};
use regent::token::{KeyType, SigningKey};
use serde_json::Value;
use tower::ServiceExt;

use crate::env::TestEnv;
use crate::fixtures::{StubServer, http_get};

#[tokio::test]
async fn the_jwks_lists_the_signing_key_with_its_public_members_only() {
    let env = TestEnv::with_key_type("http://127.0.0.1:1/token", KeyType::Ec);
    let request = Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap();
    let response = router(env.state()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json");
    let jwks: Value =
        serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
    let key = SigningKey::load(&env.report.key, &env.report.certificate).unwrap();
    let entries = jwks["keys"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kid"], key.kid(), "libtrust kid: the default format");
    assert_eq!((entries[0]["kty"].as_str(), entries[0]["alg"].as_str()), (Some("EC"), Some("ES256")));
    assert!(entries[0].get("d").is_none() && entries[0].get("x5c").is_none(), "{jwks}");
}

#[test]
fn a_listener_with_an_upstream_answers_the_jwks_itself() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let upstream = StubServer::start(404, "{}");
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let config = env.config.clone();
    let upstream_url = upstream.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        runtime.block_on(async move {
            std_listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let bound = vec![BoundListener {
                address: listener.local_addr().unwrap(),
                listener,
                tls: None,
                upstream: Some(upstream_url.parse().unwrap()),
                trusted_proxies: Vec::new(),
            }];
            let state = build_state(&config, Arc::new(SystemClock)).unwrap();
            run_listeners(bound, &FrontConfig::default(), &LimitsConfig::default(), state, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let answer = loop {
        match std::panic::catch_unwind(|| http_get(&format!("http://{addr}/.well-known/jwks.json"), &[])) {
            Ok(answer) => break answer,
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => panic!("regent did not answer on {addr}"),
        }
    };
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["keys"].as_array().map(Vec::len), Some(1));
    // Anything else still goes to the registry.
    assert_eq!(http_get(&format!("http://{addr}/v2/"), &[]).status, 404);
    let lines: Vec<String> = upstream.requests().iter().map(|r| r.request_line.clone()).collect();
    assert_eq!(lines, ["GET /v2/ HTTP/1.1"], "the JWKS request reached the upstream");
    let _ = stop.send(());
    server.join().unwrap();
}

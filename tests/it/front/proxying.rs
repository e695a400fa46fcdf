//! The proxy: `Host` and `X-Forwarded-*`, the registry API version header, token paths kept
//! in-process, routes by host, chunked uploads, 502, 504 and a client that vanishes mid-upload.

use std::time::{Duration, Instant};

use hyper::Method;
use regent::config::{FrontConfig, RouteConfig};
use tokio::io::AsyncWriteExt;

use super::bodies::{Generated, PatternCheck, empty};
use super::client::{self, H2, HTTP11, json};
use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use super::upstream::{Behaviour, BodyEnd, Upstream};
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{free_port, http_get};

/// A TLS listener in front of `upstream`, with `front`'s routes and timeouts.
fn front_of(certs: &TestCerts, env: &TestEnv, upstream: &str, front: FrontConfig) -> FrontServer {
    FrontServer::start(
        env,
        vec![ListenerSpec::new(Some(certs.tls.clone()), Some(upstream.to_owned()))],
        front,
    )
}

fn env() -> TestEnv {
    TestEnv::new("https://127.0.0.1:1/token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_forwarded_headers_reach_the_upstream() {
    let (certs, env) = (TestCerts::new(), env());
    let upstream = Upstream::start(Behaviour::Echo { api_version: false }).await;
    let server = front_of(&certs, &env, &upstream.url(), FrontConfig::default());
    let authority = format!("registry.test:{}", server.addr().port());
    for alpn in [HTTP11, H2] {
        let mut connection =
            client::connect(server.addr(), "registry.test", client::config(&certs.pki.ca_pem, alpn)).await;
        let headers = [("x-forwarded-for", "10.9.8.7"), ("connection", "x-hop"), ("x-hop", "1")];
        let (status, answer, _) =
            connection.get("/v2/team/app/tags/list?n=1", &headers[..if alpn == H2 { 1 } else { 3 }]).await;
        assert_eq!(status, 201);
        assert_eq!(answer.get_all("docker-distribution-api-version").iter().count(), 1, "added once");
        let seen = upstream.seen().pop().unwrap();
        assert_eq!((seen.method.as_str(), seen.uri.as_str()), ("GET", "/v2/team/app/tags/list?n=1"));
        assert_eq!(
            seen.header("host"),
            [authority.as_str()],
            "{alpn:?}: the client's host, not the upstream's"
        );
        assert_eq!(seen.header("x-forwarded-host"), [authority.as_str()]);
        assert_eq!(seen.header("x-forwarded-proto"), ["https"]);
        assert_eq!(seen.header("x-forwarded-for"), ["127.0.0.1"], "a client's own value is dropped");
        let forwarded = format!("for=127.0.0.1;host=\"{authority}\";proto=https");
        assert_eq!(seen.header("forwarded"), [forwarded]);
        assert!(seen.header("x-hop").is_empty(), "a header named by Connection is hop-by-hop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_version_header_is_not_doubled() {
    let (certs, env) = (TestCerts::new(), env());
    let upstream = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let server = front_of(&certs, &env, &upstream.url(), FrontConfig::default());
    let mut connection =
        client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, HTTP11)).await;
    let (_, headers, _) = connection.get("/v2/", &[]).await;
    let values: Vec<_> = headers.get_all("docker-distribution-api-version").iter().collect();
    assert_eq!(values, ["registry/2.0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_paths_stay_in_process_and_routes_pick_upstreams() {
    let (certs, env) = (TestCerts::new(), env());
    let registry = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let nexus = Upstream::start(Behaviour::Echo { api_version: false }).await;
    let route = RouteConfig {
        host: Some("nexus.test".into()),
        listener: None,
        upstream: nexus.url().parse().unwrap(),
        registry: false,
    };
    let front = FrontConfig { routes: vec![route], ..FrontConfig::default() };
    let server = FrontServer::start(
        &env,
        vec![ListenerSpec::new(Some(certs.tls.clone()), Some(registry.url())), ListenerSpec::new(None, None)],
        front,
    );
    let config = client::config(&certs.pki.ca_pem, H2);
    let mut connection = client::connect(server.addr(), "registry.test", config.clone()).await;
    assert_eq!(connection.get("/healthz", &[]).await.0, 200);
    let (status, _, body) = connection.get(&format!("/token?service={SERVICE}"), &[]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(registry.seen().is_empty(), "token paths are answered by regent");
    assert_eq!(connection.get("/v2/", &[]).await.0, 201);
    assert_eq!(registry.seen().len(), 1);

    // A non-registry route gets everything, token paths included, and no registry header.
    let mut connection = client::connect(server.addr(), "nexus.test", config).await;
    let (status, headers, _) = connection.get("/token?x=1", &[]).await;
    assert_eq!(status, 201);
    assert!(headers.get("docker-distribution-api-version").is_none());
    assert_eq!(nexus.only().uri, "/token?x=1");

    // A plain listener without upstream: regent's token service alone, a registry-style 404.
    let plain = format!("http://{}", server.addrs[1]);
    assert_eq!(http_get(&format!("{plain}/healthz"), &[]).status, 200);
    let missing = http_get(&format!("{plain}/v2/"), &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_uploads_stream_through_intact() {
    let (certs, env) = (TestCerts::new(), env());
    let upstream = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let server = front_of(&certs, &env, &upstream.url(), FrontConfig::default());
    let len = 10 * 1024 * 1024 + 3;
    for alpn in [HTTP11, H2] {
        let mut connection =
            client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, alpn)).await;
        let response = connection
            .send(Method::PATCH, "/v2/team/app/blobs/uploads/u1", &[], Generated::boxed(len))
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
        assert_eq!(json(&body), serde_json::json!({"len": len, "intact": true}));
        let seen = upstream.seen().pop().unwrap();
        assert_eq!(seen.body, BodyEnd::Complete(len, true));
        assert_eq!(
            seen.header("transfer-encoding"),
            ["chunked"],
            "{alpn:?}: streamed, not buffered to a length"
        );
        assert!(seen.header("content-length").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_stream_back_intact() {
    let (certs, env) = (TestCerts::new(), env());
    let len = 5 * 1024 * 1024 + 7;
    let upstream = Upstream::start(Behaviour::Download(len)).await;
    let server = front_of(&certs, &env, &upstream.url(), FrontConfig::default());
    for alpn in [HTTP11, H2] {
        let mut connection =
            client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, alpn)).await;
        let response =
            connection.send(Method::GET, "/v2/team/app/blobs/sha256:x", &[], empty()).await.unwrap();
        assert_eq!(response.status(), 200);
        let check = super::bodies::check_body(response.into_body()).await.unwrap();
        assert_eq!(check, PatternCheck { len, intact: true });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_is_502_in_registry_style() {
    let (certs, env) = (TestCerts::new(), env());
    let server = front_of(&certs, &env, &format!("http://127.0.0.1:{}", free_port()), FrontConfig::default());
    let mut connection =
        client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, H2)).await;
    let (status, headers, body) = connection.get("/v2/", &[]).await;
    assert_eq!(status, 502);
    assert_eq!(json(&body)["errors"][0]["code"], "UNAVAILABLE");
    assert_eq!(headers.get("docker-distribution-api-version").unwrap(), "registry/2.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_upstream_is_504_after_the_response_timeout() {
    let (certs, env) = (TestCerts::new(), env());
    let upstream = Upstream::start(Behaviour::Hang).await;
    let front = FrontConfig { response_timeout: Duration::from_secs(1), ..FrontConfig::default() };
    let server = front_of(&certs, &env, &upstream.url(), front);
    let mut connection =
        client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, HTTP11)).await;
    let started = Instant::now();
    let (status, _, body) =
        tokio::time::timeout(Duration::from_secs(20), connection.get("/v2/", &[])).await.expect("an answer");
    let waited = started.elapsed();
    assert_eq!(status, 504);
    assert_eq!(json(&body)["errors"][0]["code"], "UNAVAILABLE");
    assert!(waited >= Duration::from_millis(900), "answered after {waited:?}, before the timeout");
    assert!(waited < Duration::from_secs(6), "answered after {waited:?}: timeout 1 s plus a generous margin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_vanishing_mid_upload_leaves_nothing_hung() {
    let (certs, env) = (TestCerts::new(), env());
    let upstream = Upstream::start(Behaviour::Echo { api_version: true }).await;
    let mut server = front_of(&certs, &env, &upstream.url(), FrontConfig::default());
    let mut stream = client::raw(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, HTTP11)).await;
    let head = format!(
        "PUT /v2/team/app/blobs/uploads/u1 HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-length: {}\r\n\r\n",
        server.addr().port(),
        100 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let sent = 1024 * 1024;
    let mut check = PatternCheck::new();
    let chunk: Vec<u8> = (0..sent).map(|i| (i % 251) as u8).collect();
    check.update(&chunk);
    stream.write_all(&chunk).await.unwrap();
    stream.flush().await.unwrap();
    wait_for("the upstream to see the request", || upstream.seen().len() == 1).await;
    drop(stream); // the client goes away with 99 MiB unsent

    wait_for("the upstream's body to end", || upstream.only().body != BodyEnd::Open).await;
    match upstream.only().body {
        BodyEnd::Failed(len) => assert!(len <= sent as u64, "{len} bytes arrived, {sent} were sent"),
        other => panic!("the upstream should see its body fail, saw {other:?}"),
    }
    // Graceful shutdown waits for every connection: it finishes only if none is left hanging.
    assert!(server.stop_within(Duration::from_secs(10)), "a connection was left hanging");
}

/// Polls `done` every 20 ms for up to 10 s.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

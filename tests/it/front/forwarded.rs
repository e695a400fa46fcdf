//! Forwarded-header spoofing, against the real registry (distribution 2.8, which builds upload
//! `Location` URLs from `Forwarded` first, then `X-Forwarded-Host`/`-Proto`): a client's own
//! forwarding headers do not steer them, a configured trusted proxy's do.

use base64::Engine;
use hyper::Method;
use regent::config::FrontConfig;

use super::bodies::empty;
use super::client::{self, HTTP11, json};
use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use crate::env::{SERVICE, TestEnv};
use crate::fixtures::Registry;

/// What a client sends to make the registry point its uploads elsewhere.
const SPOOFED: &[(&str, &str)] = &[
    ("forwarded", "for=10.0.0.1;host=evil.example;proto=http"),
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "http"),
    ("x-forwarded-for", "10.0.0.1"),
    ("x-real-ip", "10.0.0.1"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_locations_ignore_a_clients_forwarding_headers_but_honour_a_trusted_proxy() {
    let certs = TestCerts::new();
    let tls_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_host = tls_listener.local_addr().unwrap().to_string();
    let env = TestEnv::new(&format!("https://{tls_host}/token"));
    let registry = Registry::start(env.registry_auth(format!("https://{tls_host}/token")));
    let tls = ListenerSpec {
        listener: tls_listener,
        tls: Some(certs.tls.clone()),
        upstream: Some(registry.url()),
        trusted_proxies: Vec::new(),
    };
    let mut behind_balancer = ListenerSpec::new(None, Some(registry.url()));
    behind_balancer.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let server = FrontServer::start(
        &env,
        vec![tls, ListenerSpec::new(None, Some(registry.url())), behind_balancer],
        FrontConfig::default(),
    );

    let mut connection =
        client::connect(server.addr(), "127.0.0.1", client::config(&certs.pki.ca_pem, HTTP11)).await;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:alice-pw"));
    let scope = "repository:alice/app:pull,push";
    let (status, _, body) = connection
        .get(&format!("/token?service={SERVICE}&scope={scope}"), &[("authorization", &basic)])
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let bearer = format!("Bearer {}", json(&body)["token"].as_str().unwrap());

    // Over TLS, from an untrusted client: the Location is on the host the client connected to.
    let mut headers = vec![("authorization", bearer.as_str())];
    headers.extend_from_slice(SPOOFED);
    let response =
        connection.send(Method::POST, "/v2/alice/app/blobs/uploads/", &headers, empty()).await.unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("https://{tls_host}/v2/alice/app/blobs/uploads/")), "{location}");
    assert!(!location.contains("evil.example"), "{location}");

    // The same on a plain listener that trusts nobody.
    let plain = server.addrs[1];
    let upload = |addr: std::net::SocketAddr, headers: Vec<(&'static str, String)>| {
        let url = format!("http://{addr}/v2/alice/app/blobs/uploads/");
        let headers: Vec<(&str, &str)> =
            headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
        crate::fixtures::http_request("POST", &url, &headers, b"")
    };
    let spoofing: Vec<(&'static str, String)> = std::iter::once(("Authorization", bearer.clone()))
        .chain(SPOOFED.iter().map(|(name, value)| (*name, (*value).to_owned())))
        .collect();
    let answer = tokio::task::spawn_blocking({
        let spoofing = spoofing.clone();
        move || upload(plain, spoofing)
    })
    .await
    .unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let location = answer.header("location").unwrap();
    assert!(location.starts_with(&format!("http://{plain}/v2/alice/app/blobs/uploads/")), "{location}");

    // A listener trusting 127.0.0.0/8 (a load balancer there) keeps the balancer's headers.
    let balanced = server.addrs[2];
    let from_balancer = vec![
        ("Authorization", bearer.clone()),
        ("Forwarded", "for=203.0.113.9;host=registry.example.com;proto=https".to_owned()),
    ];
    let answer = tokio::task::spawn_blocking(move || upload(balanced, from_balancer)).await.unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let location = answer.header("location").unwrap();
    assert!(location.starts_with("https://registry.example.com/v2/alice/app/blobs/uploads/"), "{location}");
    let x_forwarded = vec![
        ("Authorization", bearer),
        ("X-Forwarded-Host", "registry.example.com".to_owned()),
        ("X-Forwarded-Proto", "https".to_owned()),
    ];
    let answer = tokio::task::spawn_blocking(move || upload(balanced, x_forwarded)).await.unwrap();
    assert_eq!(answer.status, 202, "{}", answer.body);
    let location = answer.header("location").unwrap();
    assert!(location.starts_with("https://registry.example.com/v2/alice/app/blobs/uploads/"), "{location}");
}

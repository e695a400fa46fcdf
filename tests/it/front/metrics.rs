//! The proxy's metrics: requests by status class, body bytes each way and upstream errors,
//! scraped from `/metrics` on a plain loopback listener (never proxied, never on TLS).

use regent::config::FrontConfig;

use super::pki::TestCerts;
use super::server::{FrontServer, ListenerSpec};
use super::upstream::{Behaviour, Upstream};
use crate::env::TestEnv;
use crate::fixtures::{http_get, http_request};

/// The value of the sample line starting with `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_bytes_and_upstream_errors_are_counted() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let upstream = Upstream::start(Behaviour::Echo { api_version: false }).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let certs = TestCerts::new();
    let specs = vec![
        ListenerSpec::new(None, Some(upstream.url())),
        ListenerSpec::new(None, Some(dead.clone())),
        ListenerSpec::new(Some(certs.tls.clone()), Some(upstream.url())),
    ];
    let server = FrontServer::start(&env, specs, FrontConfig::default());
    let (live, broken) = (server.addrs[0], server.addrs[1]);
    let (body, url) = (vec![b'x'; 1000], format!("http://{live}/v2/team/app/blobs/uploads/"));
    let received = tokio::task::spawn_blocking(move || {
        let answer = http_request("POST", &url, &[("Content-Type", "application/octet-stream")], &body);
        assert_eq!(answer.status, 201, "{}", answer.body);
        let failed = http_get(&format!("http://{broken}/v2/"), &[]);
        assert_eq!(failed.status, 502);
        answer.body.len()
    })
    .await
    .unwrap();
    let text = tokio::task::spawn_blocking(move || http_get(&format!("http://{live}/metrics"), &[]).body)
        .await
        .unwrap();
    let up = upstream.url();
    let requests = format!("regent_proxy_requests_total{{upstream=\"{up}\",status=\"2xx\"}}");
    assert_eq!(sample(&text, &requests), Some(1.0), "/metrics itself is not proxied:\n{text}");
    let sent = format!("regent_proxy_bytes_total{{upstream=\"{up}\",direction=\"sent\"}}");
    assert_eq!(sample(&text, &sent), Some(1000.0), "{text}");
    let got = format!("regent_proxy_bytes_total{{upstream=\"{up}\",direction=\"received\"}}");
    assert_eq!(sample(&text, &got), Some(received as f64), "{text}");
    let errors = format!("regent_proxy_upstream_errors_total{{upstream=\"{dead}\",kind=\"bad_gateway\"}}");
    assert_eq!(sample(&text, &errors), Some(1.0), "{text}");
    let bad = format!("regent_proxy_requests_total{{upstream=\"{dead}\",status=\"5xx\"}}");
    assert_eq!(sample(&text, &bad), Some(1.0), "{text}");
    let tls = server.addrs[2];
    let over_tls = super::client::connect(
        tls,
        "registry.test",
        super::client::config(&certs.pki.ca_pem, super::client::HTTP11),
    )
    .await;
    let mut over_tls = over_tls;
    let (status, _, _) = over_tls.get("/metrics", &[]).await;
    assert_eq!(status, 404, "no /metrics on a TLS listener");
}

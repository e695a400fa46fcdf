//! `/metrics`, `/healthz` and `/readyz` over real TCP: the exposition parsed strictly after
//! token requests, counters moved by the right amounts, and readiness following a backend
//! that is down.

use std::collections::BTreeMap;
use std::time::Duration;

use regent::config::{AuthnConfig, BackendConfig, HttpAuthConfig, HttpCredentials};

use crate::env::{RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::basic;
use crate::fixtures::http_get;

/// One sample: its metric name and labels.
type Key = (String, BTreeMap<String, String>);

/// Parses OpenMetrics text strictly: every line is `# HELP`, `# TYPE`, `# UNIT`, a sample
/// `name{label="value",...} number`, and the last line is `# EOF`. Panics on anything else.
fn parse_exposition(text: &str) -> BTreeMap<Key, f64> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the exposition ends with # EOF");
    let mut samples = BTreeMap::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("bad comment {line:?}"));
            assert!(["HELP", "TYPE", "UNIT"].contains(&keyword), "unknown comment {line:?}");
            assert!(rest.split(' ').next().is_some_and(is_metric_name), "bad name in {line:?}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value in {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels {line:?}"));
                (name, parse_labels(labels, line))
            }
        };
        assert!(is_metric_name(name), "bad metric name in {line:?}");
        assert!(samples.insert((name.to_owned(), labels), value).is_none(), "duplicate sample {line:?}");
    }
    samples
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `k="v",k2="v2"` (values without escapes: ours never need them).
fn parse_labels(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label in {line:?}"));
        let (value, after) = after.split_once('"').unwrap_or_else(|| panic!("unclosed value in {line:?}"));
        assert!(is_metric_name(key) && !value.contains('\\'), "bad label {key:?} in {line:?}");
        labels.insert(key.to_owned(), value.to_owned());
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    labels
}

/// The value of `name` with exactly `labels`, zero when absent.
fn value(samples: &BTreeMap<Key, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
}

fn scrape(regent: &RunningRegent) -> BTreeMap<Key, f64> {
    let response = http_get(&format!("http://{}/metrics", regent.addr), &[]);
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.header("content-type").is_some_and(|c| c.starts_with("application/openmetrics-text")));
    parse_exposition(&response.body)
}

#[test]
fn token_requests_move_the_counters_by_the_right_amounts() {
    let (listener, realm) = bind_realm();
    let env = TestEnv::new(&realm);
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    let before = scrape(&regent);
    let token = |auth: Option<String>, query: &str| {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http_get(&format!("{}?{query}", regent.realm()), &headers).status
    };
    let alice = Some(basic("alice", "alice-pw"));
    for _ in 0..3 {
        assert_eq!(token(alice.clone(), &format!("service={SERVICE}&scope=repository:alice/app:pull")), 200);
    }
    let foreign = format!("service={SERVICE}&scope=repository:bob/app:push");
    assert_eq!(token(alice.clone(), &foreign), 200, "a token with the refused action left out");
    assert_eq!(token(Some(basic("alice", "wrong")), &format!("service={SERVICE}")), 401);
    assert_eq!(token(Some(basic("alice", "wrong")), &format!("service={SERVICE}")), 401);
    assert_eq!(token(None, "service=unknown.test"), 400);
    assert_eq!(token(None, &format!("service={SERVICE}")), 200);

    let after = scrape(&regent);
    let moved =
        |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    let requests = "regent_token_requests_total";
    let by = |outcome, grant, backend| [("outcome", outcome), ("grant_type", grant), ("backend", backend)];
    assert_eq!(moved(requests, &by("issued", "password", "local")), 3.0, "{after:#?}");
    assert_eq!(moved(requests, &by("denied", "password", "local")), 1.0);
    assert_eq!(moved(requests, &by("unauthorized", "password", "none")), 2.0);
    assert_eq!(moved(requests, &by("bad_request", "none", "none")), 1.0);
    assert_eq!(moved(requests, &by("issued", "anonymous", "none")), 1.0);
    let latency = "regent_token_request_duration_seconds_count";
    assert_eq!(moved(latency, &[("outcome", "unauthorized")]), 2.0);
    let infinite = [("le", "+Inf"), ("outcome", "issued")];
    assert_eq!(moved("regent_token_request_duration_seconds_bucket", &infinite), 4.0);
    let calls = "regent_backend_requests_total";
    // The outcome cache answers repeated good logins: at least one call, at most one per login.
    let good = moved(calls, &[("backend", "local"), ("result", "authenticated")]);
    assert!((1.0..=4.0).contains(&good), "{good}");
    assert_eq!(moved(calls, &[("backend", "local"), ("result", "denied")]), 2.0);
    let hits = moved("regent_authn_cache_requests_total", &[("result", "hit")]);
    let misses = moved("regent_authn_cache_requests_total", &[("result", "miss")]);
    assert_eq!(hits + misses, 6.0, "every login looks in the cache once");
    assert_eq!(value(&after, "regent_backend_up", &[("backend", "local")]), 1.0);
    let loaded = value(&after, "regent_reload_last_success_timestamp_seconds", &[("what", "policies")]);
    assert!(loaded > 1.7e9, "the policies' load time is a Unix time: {loaded}");

    let ready = http_get(&format!("http://{}/readyz", regent.addr), &[]);
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["backends"][0]["state"], "up");
}

#[test]
fn readyz_names_a_backend_that_is_down_and_metrics_count_the_outage() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/check", closed.local_addr().unwrap());
    drop(closed);
    let (listener, realm) = bind_realm();
    let mut env = TestEnv::new(&realm);
    let config = HttpAuthConfig {
        url,
        credentials: HttpCredentials::Basic,
        ca_file: None,
        timeout: Duration::from_secs(2),
        cache_ttl: Duration::ZERO,
        max_stale: None,
    };
    env.config.authn.push(AuthnConfig { name: "api".into(), backend: BackendConfig::Http { config } });
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    let ready = http_get(&format!("http://{}/readyz", regent.addr), &[]);
    assert_eq!(ready.status, 200, "not asked yet is not down: {}", ready.body);

    let zed = basic("zed", "zed-pw");
    let answer = http_get(&format!("{}?service={SERVICE}", regent.realm()), &[("Authorization", &zed)]);
    assert_eq!(answer.status, 503, "htpasswd does not know zed and the API is down");
    let ready = http_get(&format!("http://{}/readyz", regent.addr), &[]);
    assert_eq!(ready.status, 503, "{}", ready.body);
    let body = ready.json();
    assert_eq!(body["ready"], false);
    assert_eq!(body["backends"][1], serde_json::json!({"name": "api", "state": "unavailable"}));
    assert!(!ready.body.contains("127.0.0.1"), "no error detail in the body: {}", ready.body);
    let health = http_get(&format!("http://{}/healthz", regent.addr), &[]);
    assert_eq!(health.status, 200, "alive while not ready");
    // The Kubernetes readiness probe leaves the shared backends out, and still names them.
    let probe = http_get(&format!("http://{}/readyz?exclude=backends", regent.addr), &[]);
    assert_eq!(probe.status, 200, "{}", probe.body);
    assert_eq!(probe.json()["ready"], true);
    assert_eq!(probe.json()["backends"][1], serde_json::json!({"name": "api", "state": "unavailable"}));
    for query in ["exclude=keys", "exclude=backends&verbose", "exclude"] {
        let answer = http_get(&format!("http://{}/readyz?{query}", regent.addr), &[]);
        assert_eq!(answer.status, 400, "?{query}: {}", answer.body);
    }

    let samples = scrape(&regent);
    let down = [("backend", "api"), ("result", "unavailable")];
    assert_eq!(value(&samples, "regent_backend_requests_total", &down), 1.0);
    assert_eq!(value(&samples, "regent_backend_up", &[("backend", "api")]), 0.0);
    let unavailable = [("outcome", "unavailable"), ("grant_type", "password"), ("backend", "none")];
    assert_eq!(value(&samples, "regent_token_requests_total", &unavailable), 1.0);
}

#[test]
fn a_separate_metrics_address_takes_metrics_off_the_other_listeners() {
    let (listener, realm) = bind_realm();
    let mut env = TestEnv::new(&realm);
    env.config.metrics.address = Some("127.0.0.1:0".parse().unwrap());
    let regent = RunningRegent::start(&env, listener, Duration::ZERO);
    let answer = http_get(&format!("http://{}/metrics", regent.addr), &[]);
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(http_get(&format!("http://{}/readyz", regent.addr), &[]).status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_address_serves_metrics_healthz_and_readyz() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(regent::server::serve_metrics(listener, env.state(), async move {
        let _ = stopped.await;
    }));
    let answers = tokio::task::spawn_blocking(move || {
        ["/metrics", "/healthz", "/readyz", "/token"]
            .map(|path| http_get(&format!("http://{addr}{path}"), &[]))
    })
    .await
    .unwrap();
    let samples = parse_exposition(&answers[0].body);
    assert!(samples.keys().any(|(name, _)| name == "regent_reload_last_success_timestamp_seconds"));
    assert_eq!((answers[1].status, answers[2].status), (200, 200));
    assert_eq!(answers[3].status, 404, "no token endpoint on the metrics address");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

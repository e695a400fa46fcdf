//! Token requests with LDAP authentication, against a real slapd and the real server.
//!
//! Starts Debian's slapd with a service account and 64 users in the group `developers`, and
//! regent in-process with an `[[authn]]` LDAP backend (search mode, groups from `memberOf`,
//! `pool_size = 4`) written into the `regent.toml` that `init` made. Prints token requests per
//! second and p50/p99 over loopback HTTP at concurrency 1 and 32, with a warm identity cache
//! and a cold one (`cache_ttl = "0s"`: every request searches and binds), and the LDAP
//! connections slapd accepted (its `stats` log) for 1,000 token requests, against the goal of
//! at most the pool size plus one bind connection per cache miss. Run with
//! `cargo bench --bench ldap_bench`; under `cargo test --all-targets` (no `--bench`) the same
//! code runs as a short smoke pass whose numbers mean nothing (the goal is still checked).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a benchmark program: failing loudly is right

mod slapd;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use regent::clock::{Clock, SystemClock};
use regent::config::{BackendConfig, Config};
use regent::init::{InitOptions, init};
use regent::policy::examples::EXAMPLE_POLICIES;
use regent::server::{build_state, run};
use slapd::Slapd;

/// Worker threads of the server runtime (the machine has 2 cores).
const SERVER_WORKERS: usize = 2;
/// The LDAP backend's service-account pool.
const POOL_SIZE: usize = 4;
/// Directory users the requests rotate over.
const USERS: usize = 64;
/// What every request asks for (40-teams.toml grants push to group:developers).
const SCOPE: &str = "repository:team/app:pull,push";

struct Row {
    name: String,
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let scale = |n: usize| if full { n } else { (n / 50).max(4) };
    let dir = tempfile::tempdir().expect("tempdir");
    let slapd = Slapd::start(&dir.path().join("slapd"), USERS);
    let config = regent_config(&dir.path().join("regent"), &slapd);
    let auths: Vec<String> = (0..USERS)
        .map(|index| {
            let (user, password) = slapd::user(index);
            format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
        })
        .collect();

    let mut rows = Vec::new();
    for (label, cache_ttl) in [("warm cache", Duration::from_secs(300)), ("cold cache", Duration::ZERO)] {
        let server = start_server(with_cache_ttl(&config, cache_ttl));
        let cold = cache_ttl.is_zero();
        // Warm: every user logs in once first, so the timed requests are all cache hits.
        let warm_up = if cold { &auths[..1] } else { &auths[..] };
        for concurrency in [1usize, 32] {
            let total = scale(match (cold, concurrency) {
                (true, 1) => 1_000,
                (true, _) => 3_000,
                (false, 1) => 3_000,
                (false, _) => 20_000,
            });
            let name = format!("LDAP, {label}, c={concurrency}");
            rows.push(drive(&server.0, &auths, warm_up, concurrency, total, &name));
        }
    }

    let counted = scale(1_000);
    let mut counts = Vec::new();
    for (label, cache_ttl) in [("cold cache", Duration::ZERO), ("warm cache", Duration::from_secs(300))] {
        // A fresh server: its pool starts empty and its cache knows nobody.
        let server = start_server(with_cache_ttl(&config, cache_ttl));
        let (connections, binds) = (slapd.connections(), slapd.user_binds());
        drive(&server.0, &auths, &[], 32, counted, "count");
        let opened = slapd.connections() - connections;
        let misses = slapd.user_binds() - binds;
        counts.push((label, opened, misses));
    }

    println!();
    println!("| scenario | requests | tokens/s | p50 | p99 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms |",
            r.name,
            r.requests,
            r.per_second,
            ms(r.p50),
            ms(r.p99)
        );
    }
    println!();
    println!(
        "| {counted} token requests, c=32, fresh server | LDAP connections (slapd ACCEPT) | user binds (cache misses) | goal: pool {POOL_SIZE} + misses |"
    );
    println!("| --- | ---: | ---: | ---: |");
    for (label, opened, misses) in &counts {
        let goal = POOL_SIZE + misses;
        let verdict = if *opened <= goal { "met" } else { "MISSED" };
        println!("| {label} | {opened} | {misses} | <= {goal} ({verdict}) |");
    }
    for (label, opened, misses) in counts {
        assert!(opened <= POOL_SIZE + misses, "{label}: {opened} connections for {misses} cache misses");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `init` into `root`, then an `[[authn]]` LDAP backend for `slapd` written into regent.toml
/// before the htpasswd one, and the file loaded with the real parser.
fn regent_config(root: &std::path::Path, slapd: &Slapd) -> Config {
    let opts = InitOptions { dir: root.to_owned(), ..InitOptions::default() };
    init(&opts, EXAMPLE_POLICIES, SystemClock.now()).expect("init");
    std::fs::write(root.join("ldap-password"), slapd::SERVICE_PASSWORD).expect("write ldap-password");
    let path = root.join("regent.toml");
    let text = std::fs::read_to_string(&path).expect("read regent.toml");
    let ldap = format!(
        "[[authn]]\nname = \"corp\"\nkind = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{bind_dn}\"\n\
         bind_password_file = \"ldap-password\"\nbase = \"{base}\"\n\
         filter = \"(&(objectClass=inetOrgPerson)(uid=${{user}}))\"\nlogin_attribute = \"uid\"\n\
         group_attribute = \"memberOf\"\npool_size = {POOL_SIZE}\ncache_ttl = \"60s\"\n\n",
        url = slapd.url(),
        bind_dn = slapd::SERVICE_DN,
        base = slapd::PEOPLE,
    );
    let at = text.find("\n[[authn]]\n").expect("init's [[authn]]") + 1;
    std::fs::write(&path, format!("{}{ldap}{}", &text[..at], &text[at..])).expect("write regent.toml");
    Config::load(&path).expect("regent.toml with LDAP loads")
}

/// `config` with the LDAP backend's cache TTL set to `ttl`.
fn with_cache_ttl(config: &Config, ttl: Duration) -> Config {
    let mut config = config.clone();
    let mut found = false;
    for authn in &mut config.authn {
        if let BackendConfig::Ldap { config } = &mut authn.backend {
            config.cache_ttl = ttl;
            found = true;
        }
    }
    assert!(found, "no LDAP backend in the config");
    config
}

/// A running server: its `/token` URL and the channel that stops it (on drop).
struct Server(String, std::sync::mpsc::Sender<()>);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.1.send(());
    }
}

fn start_server(config: Config) -> Server {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let service = config.token.service.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(SERVER_WORKERS)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addr_tx.send(listener.local_addr().expect("addr")).expect("send");
            let state = build_state(&config, Arc::new(SystemClock)).expect("state");
            let stop = async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            };
            run(vec![listener], state, stop).await.expect("run");
        });
    });
    let addr = addr_rx.recv().expect("addr");
    Server(format!("http://{addr}/token?service={service}&scope={SCOPE}"), stop_tx)
}

/// `total` requests from `concurrency` workers, rotating over `auths`, after one untimed
/// request per entry of `warm_up`.
fn drive(
    url: &str,
    auths: &[String],
    warm_up: &[String],
    concurrency: usize,
    total: usize,
    name: &str,
) -> Row {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    runtime.block_on(async {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        for auth in warm_up {
            request(&client, url, auth).await;
        }
        let auths = Arc::new(auths.to_vec());
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..concurrency {
            let (client, url, auths) = (client.clone(), url.to_owned(), Arc::clone(&auths));
            let count = total / concurrency + usize::from(worker < total % concurrency);
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(count);
                for i in 0..count {
                    let auth = &auths[(worker + i * concurrency) % auths.len()];
                    let t = Instant::now();
                    request(&client, &url, auth).await;
                    latencies.push(t.elapsed());
                }
                latencies
            });
        }
        let mut latencies = Vec::with_capacity(total);
        while let Some(done) = tasks.join_next().await {
            latencies.extend(done.expect("task"));
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
        Row {
            name: name.to_owned(),
            requests: latencies.len(),
            per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: pick(0.50),
            p99: pick(0.99),
        }
    })
}

/// One token request; the answer must be a token that grants the push (group developers).
async fn request(client: &Client<HttpConnector, Empty<Bytes>>, url: &str, auth: &str) {
    let req = hyper::Request::get(url).header("authorization", auth).body(Empty::new()).expect("request");
    let response = client.request(req).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body.starts_with(b"{\"token\""), "{}", String::from_utf8_lossy(&body));
}

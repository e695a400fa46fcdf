//! Token service throughput over loopback TCP, against the real server.
//!
//! Prints token requests per second and p50/p99 latency at concurrency 1 and 32 for an htpasswd
//! user (bcrypt cost 10) with a warm identity cache and with a cold one (cache off), and the
//! signing ceiling in the same run: signatures per second with the pre-parsed key on as many
//! threads as the server has workers. Run with `cargo bench --bench token_bench`.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a short smoke pass with the
//! same code, so the benchmark cannot rot; its numbers mean nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark program: failing loudly is right

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use regent::authn::htpasswd::set_password;
use regent::clock::{Clock, SystemClock};
use regent::config::{BackendConfig, Config};
use regent::init::{InitOptions, init};
use regent::policy::examples::EXAMPLE_POLICIES;
use regent::secret::Secret;
use regent::server::{build_state, run};
use regent::token::SigningKey;

/// Worker threads of the server runtime (the machine has 2 cores).
const SERVER_WORKERS: usize = 2;

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
    let root = dir.path().join("data");
    let opts = InitOptions { dir: root.clone(), ..InitOptions::default() };
    init(&opts, EXAMPLE_POLICIES, SystemClock.now()).expect("init");
    let config = Config::load(&root.join("regent.toml")).expect("config");
    set_password(&root.join("htpasswd"), "alice", &Secret::new("alice-pw"), 10).expect("passwd");
    let key = &config.token.keys[0];
    let signing = SigningKey::load(&key.key, &key.certificate).expect("key");

    let mut rows = Vec::new();
    for (label, cache_ttl) in [("warm cache", Duration::from_secs(300)), ("cold cache", Duration::ZERO)] {
        let mut config = config.clone();
        for authn in &mut config.authn {
            if let BackendConfig::Htpasswd { cache_ttl: ttl, .. } = &mut authn.backend {
                *ttl = cache_ttl;
            }
        }
        let server = start_server(config);
        let cold = cache_ttl.is_zero();
        for concurrency in [1usize, 32] {
            let total = scale(match (cold, concurrency) {
                (true, 1) => 30,
                (true, _) => 96,
                (false, 1) => 3_000,
                (false, _) => 20_000,
            });
            let row = drive(&server.0, concurrency, total, &format!("htpasswd, {label}, c={concurrency}"));
            rows.push(row);
        }
        drop(server);
    }
    let ceiling_time = if full { Duration::from_secs(3) } else { Duration::from_millis(100) };
    let ceiling = signing_ceiling(&signing, SERVER_WORKERS, ceiling_time);

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
    println!(
        "| signing ceiling ({} threads, {}) | - | {:.0} | - | - |",
        SERVER_WORKERS,
        signing.algorithm(),
        ceiling
    );
    for r in rows.iter().filter(|r| r.name.contains("warm")) {
        println!("{}: {:.0}% of the signing ceiling", r.name, 100.0 * r.per_second / ceiling);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A running server: its `/token` URL and the thread serving it (stopped at exit).
struct Server(String, std::sync::mpsc::Sender<()>);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.1.send(());
    }
}

fn start_server(config: Config) -> Server {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
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
    Server(
        format!("http://{addr}/token?service=registry.local&scope=repository:alice/app:pull,push"),
        stop_tx,
    )
}

fn drive(url: &str, concurrency: usize, total: usize, name: &str) -> Row {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    runtime.block_on(async {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let auth = format!("Basic {}", STANDARD.encode("alice:alice-pw"));
        // One request first: it warms the cache (when on) and the connection pool.
        request(&client, url, &auth).await;
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..concurrency {
            let (client, url, auth) = (client.clone(), url.to_owned(), auth.clone());
            let count = total / concurrency + usize::from(worker < total % concurrency);
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(count);
                for _ in 0..count {
                    let t = Instant::now();
                    request(&client, &url, &auth).await;
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

async fn request(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
    url: &str,
    auth: &str,
) {
    let req = hyper::Request::get(url).header("authorization", auth).body(Empty::new()).expect("request");
    let response = client.request(req).await.expect("response");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert!(body.starts_with(b"{\"token\""));
}

/// Signatures per second over `threads` threads for `duration`.
fn signing_ceiling(key: &SigningKey, threads: usize, duration: Duration) -> f64 {
    let message = vec![b'x'; 700];
    let started = Instant::now();
    let count: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0usize;
                    while started.elapsed() < duration {
                        key.sign_raw(&message).expect("sign");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    count as f64 / started.elapsed().as_secs_f64()
}

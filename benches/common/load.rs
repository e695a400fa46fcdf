//! The token-load driver shared by the token and LDAP benchmarks: a server on loopback built
//! from a config, keep-alive clients at a given concurrency, and the results table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use regent::clock::SystemClock;
use regent::config::Config;
use regent::server::{build_state, run};

/// Worker threads of the server runtime (the machine has 2 cores).
pub(crate) const SERVER_WORKERS: usize = 2;

/// One measured scenario.
pub(crate) struct Row {
    /// What was measured.
    pub(crate) name: String,
    /// Requests timed.
    pub(crate) requests: usize,
    /// Throughput.
    pub(crate) per_second: f64,
    /// Median latency.
    pub(crate) p50: Duration,
    /// 99th-percentile latency.
    pub(crate) p99: Duration,
    /// The slowest request.
    pub(crate) max: Duration,
}

/// Prints the rows as a Markdown table.
pub(crate) fn print_rows(rows: &[Row]) {
    println!();
    println!("| scenario | requests | tokens/s | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
            r.name,
            r.requests,
            r.per_second,
            ms(r.p50),
            ms(r.p99),
            ms(r.max)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A running server: its `/token` URL (with service and scope) and the channel that stops it.
pub(crate) struct Server(pub(crate) String, std::sync::mpsc::Sender<()>);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.1.send(());
    }
}

/// Serves `config` on 127.0.0.1:0 in its own runtime; requests will ask for `scope`.
pub(crate) fn start_server(config: Config, scope: &str) -> Server {
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
    Server(format!("http://{addr}/token?service={service}&scope={scope}"), stop_tx)
}

/// `total` requests from `concurrency` workers, rotating over `auths`, after one untimed
/// request per entry of `warm_up`.
pub(crate) fn drive(
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
        row(name, latencies, started.elapsed())
    })
}

/// One side of [`drive_interleaved`]: its row's name, the server's token URL and the
/// `Authorization` header.
#[allow(dead_code)] // only the token benchmark compares two kinds of request
pub(crate) struct Turn<'a> {
    /// The row's name.
    pub(crate) name: &'a str,
    /// The token URL (the same server as the other side's, or another one).
    pub(crate) url: &'a str,
    /// The `Authorization` header.
    pub(crate) auth: &'a str,
}

/// `total` requests of each of `a` and `b` from one worker, taking turns (a, b, a, b, ...), after
/// one untimed request of each: both see the same machine, so noise from other processes
/// falls on both alike. Each row's rate is its requests over the time spent in them.
#[allow(dead_code)] // only the token benchmark compares two kinds of request
pub(crate) fn drive_interleaved(a: Turn<'_>, b: Turn<'_>, total: usize) -> (Row, Row) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    runtime.block_on(async {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        request(&client, a.url, a.auth).await;
        request(&client, b.url, b.auth).await;
        let (mut a_latencies, mut b_latencies) = (Vec::with_capacity(total), Vec::with_capacity(total));
        for _ in 0..total {
            for (turn, latencies) in [(&a, &mut a_latencies), (&b, &mut b_latencies)] {
                let t = Instant::now();
                request(&client, turn.url, turn.auth).await;
                latencies.push(t.elapsed());
            }
        }
        let a_time = a_latencies.iter().sum();
        let b_time = b_latencies.iter().sum();
        (row(a.name, a_latencies, a_time), row(b.name, b_latencies, b_time))
    })
}

/// For each entry of `rounds` (the credentials of a user nobody has logged in as yet),
/// `concurrency` simultaneous first logins; the row holds every request of every round, its
/// rate counts only the time spent inside rounds. The connections are opened before.
#[allow(dead_code)] // the LDAP benchmark has no burst scenario
pub(crate) fn burst(url: &str, warm_up: &str, rounds: &[String], concurrency: usize, name: &str) -> Row {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    runtime.block_on(async {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        // Open `concurrency` pooled connections first, so the rounds time logins, not connects.
        let mut opening = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (client, url, auth) = (client.clone(), url.to_owned(), warm_up.to_owned());
            opening.spawn(async move { request(&client, &url, &auth).await });
        }
        opening.join_all().await;
        let mut latencies = Vec::with_capacity(rounds.len() * concurrency);
        let mut busy = Duration::ZERO;
        for auth in rounds {
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..concurrency {
                let (client, url, auth) = (client.clone(), url.to_owned(), auth.clone());
                tasks.spawn(async move {
                    let t = Instant::now();
                    request(&client, &url, &auth).await;
                    t.elapsed()
                });
            }
            latencies.extend(tasks.join_all().await);
            busy += started.elapsed();
        }
        row(name, latencies, busy)
    })
}

/// The row for `latencies` measured over `elapsed`.
fn row(name: &str, mut latencies: Vec<Duration>, elapsed: Duration) -> Row {
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    Row {
        name: name.to_owned(),
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

/// One token request (anonymous when `auth` is empty); the answer must be 200 with a token.
async fn request(client: &Client<HttpConnector, Empty<Bytes>>, url: &str, auth: &str) {
    let mut req = hyper::Request::get(url);
    if !auth.is_empty() {
        req = req.header("authorization", auth);
    }
    let req = req.body(Empty::new()).expect("request");
    let response = client.request(req).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body.starts_with(b"{\"token\""), "{}", String::from_utf8_lossy(&body));
}

/// The JSON answer of one GET of `url` with `auth` (e.g. a login asking for a refresh token).
#[allow(dead_code)] // only the token benchmark asks for refresh tokens
pub(crate) fn get_json(url: &str, auth: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    runtime.block_on(async {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let req = hyper::Request::get(url).header("authorization", auth).body(Empty::new()).expect("request");
        let response = client.request(req).await.expect("response");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        serde_json::from_slice(&body).expect("JSON")
    })
}

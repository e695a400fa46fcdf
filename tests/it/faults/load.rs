//! The token load of the fault runs: `concurrency` tokio workers on keep-alive connections over
//! loopback, each cycling through the request kinds ([`Kind`]), every answer recorded with the
//! time it came, so a run can be cut into phases afterwards.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::env::SERVICE;

/// How long one request may take before it counts as timed out.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the proxied kind's bearer token is renewed (tokens live 5 minutes).
const BEARER_RENEWAL: Duration = Duration::from_secs(60);
/// The status recorded for a connection error.
pub const CONNECTION_ERROR: u16 = 0;
/// The status recorded for a request that timed out.
pub const TIMED_OUT: u16 = 1;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `/token` for alice (htpasswd, cached identity).
    Htpasswd,
    /// `/token` for carol or dave (LDAP, 1 s cache: most logins bind to slapd).
    Ldap,
    /// `GET /v2/` with a bearer token, proxied to the registry.
    Proxied,
}

/// Every kind, in the order the workers cycle through them (LDAP twice: two users).
pub const CYCLE: [Kind; 4] = [Kind::Htpasswd, Kind::Ldap, Kind::Ldap, Kind::Proxied];

impl Kind {
    /// Its name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Htpasswd => "token (htpasswd)",
            Kind::Ldap => "token (LDAP)",
            Kind::Proxied => "proxied /v2/",
        }
    }
}

/// One answered (or failed) request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When its answer (or the error) came.
    pub done: Instant,
    /// What it asked for.
    pub kind: Kind,
    /// The status, or [`CONNECTION_ERROR`] / [`TIMED_OUT`].
    pub status: u16,
}

/// A request of `kind` over `client`: its status (or [`CONNECTION_ERROR`] / [`TIMED_OUT`]).
pub async fn send(
    client: &Client<HttpConnector, Empty<Bytes>>,
    addr: SocketAddr,
    kind: Kind,
    variant: usize,
    bearer: &str,
) -> u16 {
    let (path, auth) = match kind {
        Kind::Htpasswd => (token_path("alice"), basic("alice", "alice-pw")),
        Kind::Ldap if variant.is_multiple_of(2) => (token_path("carol"), basic("carol", "carolpw")),
        Kind::Ldap => (token_path("dave"), basic("dave", "davepw")),
        Kind::Proxied => ("/v2/".to_owned(), format!("Bearer {bearer}")),
    };
    let request = hyper::Request::get(format!("http://{addr}{path}"))
        .header("authorization", auth)
        .body(Empty::new())
        .expect("request");
    let exchange = async {
        let response = client.request(request).await.ok()?;
        let status = response.status().as_u16();
        response.into_body().collect().await.ok()?;
        Some(status)
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(Some(status)) => status,
        Ok(None) => CONNECTION_ERROR,
        Err(_) => TIMED_OUT,
    }
}

/// `/token?service=...&scope=repository:USER/app:pull`.
fn token_path(user: &str) -> String {
    format!("/token?service={SERVICE}&scope=repository:{user}/app:pull")
}

/// `Basic base64(user:password)`.
fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// A token for alice to pull `alice/app` (what the proxied kind presents), `None` on failure.
pub async fn bearer(client: &Client<HttpConnector, Empty<Bytes>>, addr: SocketAddr) -> Option<String> {
    let request = hyper::Request::get(format!("http://{addr}{}", token_path("alice")))
        .header("authorization", basic("alice", "alice-pw"))
        .body(Empty::new())
        .ok()?;
    let response = client.request(request).await.ok()?;
    let body = response.into_body().collect().await.ok()?.to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some(json["token"].as_str()?.to_owned())
}

/// A keep-alive HTTP/1.1 client.
pub fn client() -> Client<HttpConnector, Empty<Bytes>> {
    Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1024).build_http()
}

/// Load running on its own thread until [`Load::stop`].
pub struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts `concurrency` workers against `addr`.
    pub fn start(addr: SocketAddr, concurrency: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("load runtime");
            runtime.block_on(run(addr, concurrency, stopping))
        });
        Self { stop, thread: Some(thread) }
    }

    /// Stops the workers; every sample, in no particular order.
    pub fn stop(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().expect("running").join().expect("the load thread panicked")
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The workers and the bearer renewal, until `stop`.
async fn run(addr: SocketAddr, concurrency: usize, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let client = client();
    let first = bearer(&client, addr).await.expect("a first token for the proxied requests");
    let token = Arc::new(RwLock::new(first));
    let renewal = {
        let (client, token, stop) = (client.clone(), Arc::clone(&token), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut renewed = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if renewed.elapsed() >= BEARER_RENEWAL
                    && let Some(fresh) = bearer(&client, addr).await
                {
                    *token.write().expect("bearer lock") = fresh;
                    renewed = Instant::now();
                }
            }
        })
    };
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (client, token, stop) = (client.clone(), Arc::clone(&token), Arc::clone(&stop));
        workers.spawn(async move {
            let mut samples = Vec::new();
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                let kind = CYCLE[i % CYCLE.len()];
                let bearer = token.read().expect("bearer lock").clone();
                let status = send(&client, addr, kind, i / CYCLE.len(), &bearer).await;
                samples.push(Sample { done: Instant::now(), kind, status });
                if status == CONNECTION_ERROR {
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                i += 1;
            }
            samples
        });
    }
    let mut samples = Vec::new();
    while let Some(done) = workers.join_next().await {
        samples.extend(done.expect("a load worker panicked"));
    }
    let _ = renewal.await;
    samples
}

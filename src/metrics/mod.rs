//! Prometheus metrics: one [`Metrics`] of families (prometheus-client, OpenMetrics text), shared
//! as an `Arc`, with one small `record_*` method per thing counted, each called from one place:
//!
//! - token requests by outcome, grant type and backend, and their latency
//!   (`crate::http::observe`, a layer on the token routes);
//! - each backend call's latency and result, and the backend's last state for `/readyz`
//!   (`crate::authn::Metered`, a wrapper around every backend of the chain);
//! - the chain's outcome cache hits and misses, the LDAP pools' connections in use, and which
//!   LDAP servers are in use or marked down;
//! - reloads, ok or failed, and the time of the last good one (an observer of
//!   [`crate::reload::Reloadable`]);
//! - proxied requests, bytes and upstream errors (`crate::front::proxy`);
//! - lockouts (`crate::http::lockout`).
//!
//! A leaf module: it imports nothing else of regent's.

mod health;
mod labels;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use self::health::{BackendReadiness, BackendState, Readiness};
pub use self::labels::{
    BackendCallLabels, BackendLabels, BackendResult, BytesLabels, CacheLabels, CacheResult, Direction,
    GrantType, LockoutLabels, LockoutScope, OutcomeLabels, ProxyLabels, ReloadLabels, ReloadResult,
    ServerLabels, TokenLabels, TokenOutcome, UpstreamErrorLabels, WhatLabels,
};

/// The content type of the exposition ([`Metrics::encode`]).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A histogram family whose histograms share one set of buckets.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// A function reading a gauge's current value at scrape time (e.g. an LDAP pool's connections
/// in use).
type Probe = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A function reading each server of an LDAP backend at scrape time: its URL and whether it is up.
type ServersProbe = Arc<dyn Fn() -> Vec<(String, bool)> + Send + Sync>;

/// Latency buckets from 1 ms to about 16 s (doubling).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Every metric family regent exports.
pub struct Metrics {
    /// The registry the families are encoded from.
    registry: Registry,
    /// `regent_token_requests_total`.
    token_requests: Family<TokenLabels, Counter>,
    /// `regent_token_request_duration_seconds`.
    token_latency: Histograms<OutcomeLabels>,
    /// `regent_backend_requests_total`.
    backend_requests: Family<BackendCallLabels, Counter>,
    /// `regent_backend_request_duration_seconds`.
    backend_latency: Histograms<BackendLabels>,
    /// `regent_backend_up`: 1 when the backend's last call got an answer, 0 after an outage.
    backend_up: Family<BackendLabels, Gauge>,
    /// `regent_authn_cache_requests_total`.
    cache: Family<CacheLabels, Counter>,
    /// `regent_ldap_pool_connections_in_use`, read from [`Metrics::pool_probes`] at scrape time.
    pool_in_use: Family<BackendLabels, Gauge>,
    /// The LDAP pools' probes, by backend.
    pool_probes: Mutex<Vec<(String, Probe)>>,
    /// `regent_ldap_server_up`, read from [`Metrics::server_probes`] at scrape time.
    server_up: Family<ServerLabels, Gauge>,
    /// The LDAP backends' server probes, by backend.
    server_probes: Mutex<Vec<(String, ServersProbe)>>,
    /// `regent_reloads_total`.
    reloads: Family<ReloadLabels, Counter>,
    /// `regent_reload_last_success_timestamp_seconds`.
    last_reload: Family<WhatLabels, Gauge>,
    /// `regent_proxy_requests_total`.
    proxy_requests: Family<ProxyLabels, Counter>,
    /// `regent_proxy_bytes_total`.
    proxy_bytes: Family<BytesLabels, Counter>,
    /// `regent_proxy_upstream_errors_total`.
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    /// `regent_lockouts_total`.
    lockouts: Family<LockoutLabels, Counter>,
    /// Each backend's last state, for `/readyz`.
    backends: health::BackendStates,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh families, registered under the `regent_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("regent");
        let token_requests = Family::default();
        let token_latency: Histograms<OutcomeLabels> = Family::new_with_constructor(latency_histogram);
        let backend_requests = Family::default();
        let backend_latency: Histograms<BackendLabels> = Family::new_with_constructor(latency_histogram);
        let (backend_up, cache, pool_in_use) = (Family::default(), Family::default(), Family::default());
        let server_up = Family::default();
        let (reloads, last_reload) = (Family::default(), Family::default());
        let (proxy_requests, proxy_bytes, upstream_errors) =
            (Family::default(), Family::default(), Family::default());
        let lockouts = Family::default();
        let r = &mut registry;
        r.register(
            "token_requests",
            "Token requests by outcome, grant type and backend",
            token_requests.clone(),
        );
        r.register("token_request_duration_seconds", "Token request latency", token_latency.clone());
        r.register("backend_requests", "Authentication backend calls by result", backend_requests.clone());
        r.register(
            "backend_request_duration_seconds",
            "Authentication backend call latency",
            backend_latency.clone(),
        );
        r.register(
            "backend_up",
            "1 when the backend's last call got an answer, 0 after an outage",
            backend_up.clone(),
        );
        r.register("authn_cache_requests", "Lookups in the chain's outcome cache by result", cache.clone());
        r.register(
            "ldap_pool_connections_in_use",
            "LDAP service-account connections in use",
            pool_in_use.clone(),
        );
        r.register(
            "ldap_server_up",
            "1 while an LDAP server is in use, 0 while it is marked down (until a probe answers)",
            server_up.clone(),
        );
        r.register("reloads", "Reloads of watched files by result", reloads.clone());
        r.register(
            "reload_last_success_timestamp_seconds",
            "Unix time of the last good load",
            last_reload.clone(),
        );
        r.register("proxy_requests", "Proxied requests by upstream and status class", proxy_requests.clone());
        r.register("proxy_bytes", "Proxied body bytes by upstream and direction", proxy_bytes.clone());
        r.register("proxy_upstream_errors", "Upstreams unreachable or too slow", upstream_errors.clone());
        r.register("lockouts", "Brute-force lockouts started, by what they are keyed by", lockouts.clone());
        Self {
            registry,
            token_requests,
            token_latency,
            backend_requests,
            backend_latency,
            backend_up,
            cache,
            pool_in_use,
            pool_probes: Mutex::new(Vec::new()),
            server_up,
            server_probes: Mutex::new(Vec::new()),
            reloads,
            last_reload,
            proxy_requests,
            proxy_bytes,
            upstream_errors,
            lockouts,
            backends: health::BackendStates::default(),
        }
    }

    /// The exposition, OpenMetrics text ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        for (backend, probe) in lock(&self.pool_probes).iter() {
            self.pool_in_use.get_or_create(&BackendLabels { backend: backend.clone() }).set(probe());
        }
        // Rebuilt at every scrape: a reload may have changed a backend's URLs.
        self.server_up.clear();
        for (backend, probe) in lock(&self.server_probes).iter() {
            for (url, up) in probe() {
                let labels = ServerLabels { backend: backend.clone(), url };
                self.server_up.get_or_create(&labels).set(i64::from(up));
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// One token request ended with `outcome` after `elapsed`.
    pub fn record_token(
        &self,
        outcome: TokenOutcome,
        grant_type: GrantType,
        backend: &str,
        elapsed: Duration,
    ) {
        let backend = if backend.is_empty() { "none" } else { backend }.to_owned();
        self.token_requests.get_or_create(&TokenLabels { outcome, grant_type, backend }).inc();
        self.token_latency.get_or_create(&OutcomeLabels { outcome }).observe(elapsed.as_secs_f64());
    }

    /// One call of `backend` answered `result` after `elapsed`; also its last state.
    pub fn record_backend_call(&self, backend: &str, result: BackendResult, elapsed: Duration) {
        let labels = BackendCallLabels { backend: backend.to_owned(), result };
        self.backend_requests.get_or_create(&labels).inc();
        let backend_labels = BackendLabels { backend: backend.to_owned() };
        self.backend_latency.get_or_create(&backend_labels).observe(elapsed.as_secs_f64());
        let up = result != BackendResult::Unavailable;
        self.backend_up.get_or_create(&backend_labels).set(i64::from(up));
        self.backends.set(backend, if up { BackendState::Up } else { BackendState::Unavailable });
    }

    /// Registers `backend` (state unknown until its first call), so `/readyz` names it.
    pub fn register_backend(&self, backend: &str) {
        self.backends.register(backend);
    }

    /// Each registered backend's last state, in registration order.
    pub fn backend_states(&self) -> Vec<(String, BackendState)> {
        self.backends.all()
    }

    /// The chain's outcome cache answered (`Hit`) or not.
    pub fn record_cache(&self, result: CacheResult) {
        self.cache.get_or_create(&CacheLabels { result }).inc();
    }

    /// Reads `backend`'s LDAP pool connections in use with `probe` at every scrape (instead of
    /// an earlier probe of that name: a backend rebuilt by a reload).
    pub fn register_pool(&self, backend: &str, probe: impl Fn() -> i64 + Send + Sync + 'static) {
        let mut probes = lock(&self.pool_probes);
        probes.retain(|(name, _)| name != backend);
        probes.push((backend.to_owned(), Arc::new(probe)));
    }

    /// Forgets every backend not in `backends` (removed from `regent.toml`): `/readyz` no
    /// longer names it, and its `up` and pool gauges go. Its counters stay, as counters do.
    pub fn keep_backends(&self, backends: &[&str]) {
        let removed = self.backends.retain(backends);
        lock(&self.pool_probes).retain(|(name, _)| backends.contains(&name.as_str()));
        lock(&self.server_probes).retain(|(name, _)| backends.contains(&name.as_str()));
        for backend in removed {
            let labels = BackendLabels { backend };
            self.backend_up.remove(&labels);
            self.pool_in_use.remove(&labels);
        }
    }

    /// Reads which servers of LDAP backend `backend` are up with `probe` at every scrape
    /// (instead of an earlier probe of that name: a backend rebuilt by a reload).
    pub fn register_ldap_servers(
        &self,
        backend: &str,
        probe: impl Fn() -> Vec<(String, bool)> + Send + Sync + 'static,
    ) {
        let mut probes = lock(&self.server_probes);
        probes.retain(|(name, _)| name != backend);
        probes.push((backend.to_owned(), Arc::new(probe)));
    }

    /// A reload of `what` worked or failed; a good one at Unix time `now_unix` seconds.
    pub fn record_reload(&self, what: &str, result: ReloadResult, now_unix: i64) {
        self.reloads.get_or_create(&ReloadLabels { what: what.to_owned(), result }).inc();
        if result == ReloadResult::Ok {
            self.last_reload.get_or_create(&WhatLabels { what: what.to_owned() }).set(now_unix);
        }
    }

    /// The counter of body bytes to or from `upstream` (bodies add to it as they stream).
    pub fn proxy_bytes(&self, upstream: &str, direction: Direction) -> Counter {
        self.proxy_bytes.get_or_create_owned(&BytesLabels { upstream: upstream.to_owned(), direction })
    }

    /// `what` loaded at start-up at Unix time `now_unix` (not a reload: only the timestamp).
    pub fn record_reload_loaded(&self, what: &str, now_unix: i64) {
        self.last_reload.get_or_create(&WhatLabels { what: what.to_owned() }).set(now_unix);
    }

    /// A proxied request to `upstream` was answered with `status`.
    pub fn record_proxy_request(&self, upstream: &str, status: u16) {
        let status = format!("{}xx", status / 100);
        self.proxy_requests.get_or_create(&ProxyLabels { upstream: upstream.to_owned(), status }).inc();
    }

    /// `upstream` could not be reached or was too slow (`timeout`).
    pub fn record_upstream_error(&self, upstream: &str, timeout: bool) {
        let kind = if timeout { "timeout" } else { "bad_gateway" }.to_owned();
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels { upstream: upstream.to_owned(), kind })
            .inc();
    }

    /// A lockout keyed by `scope` started.
    pub fn record_lockout(&self, scope: LockoutScope) {
        self.lockouts.get_or_create(&LockoutLabels { scope }).inc();
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Locks `mutex`, keeping on after a panic elsewhere (the data are counters and probes).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

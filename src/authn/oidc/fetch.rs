//! [`JwksFetcher`]: the issuer's JWKS URL, fetched on first use, cached, fetched again when the
//! cache is older than `jwks_max_age` or a token names a kid it lacks (key rollover), but never
//! more often than every `jwks_min_interval`, so tokens with made-up kids cannot hammer the
//! issuer. A failed fetch is logged; the cached keys keep serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, USER_AGENT};

use super::keys::{IssuerKeys, MAX_JWKS_BYTES};
use crate::authn::http::client::AuthClient;
use crate::authn::http::error_chain;

/// Keys fetched, and when.
#[derive(Debug)]
struct Fetched {
    /// The keys.
    keys: Arc<IssuerKeys>,
    /// When they were fetched.
    at: Instant,
}

/// The last fetch attempt.
#[derive(Debug, Clone)]
struct Attempt {
    /// When it started.
    at: Instant,
    /// Why it failed, if it did.
    failure: Option<String>,
}

/// Fetches and caches one JWKS URL.
#[derive(Debug)]
pub(super) struct JwksFetcher {
    /// The URL.
    uri: Uri,
    /// The pooled client.
    client: AuthClient,
    /// Time allowed for one fetch.
    timeout: Duration,
    /// The shortest time between two fetch attempts.
    min_interval: Duration,
    /// How long fetched keys serve before they are fetched again.
    max_age: Duration,
    /// The keys fetched last (lock-free to read).
    cached: ArcSwapOption<Fetched>,
    /// Held while fetching (one fetch at a time); the last attempt.
    attempt: tokio::sync::Mutex<Option<Attempt>>,
    /// How many fetches were attempted (for tests and `regent authn test`).
    fetches: std::sync::atomic::AtomicU64,
}

impl JwksFetcher {
    /// A fetcher of `uri`; nothing is fetched until a token needs keys.
    pub(super) fn new(
        uri: Uri,
        client: AuthClient,
        timeout: Duration,
        min_interval: Duration,
        max_age: Duration,
    ) -> Self {
        Self {
            uri,
            client,
            timeout,
            min_interval,
            max_age,
            cached: ArcSwapOption::empty(),
            attempt: tokio::sync::Mutex::new(None),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many fetches were attempted so far.
    pub(super) fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keys for a token naming `kid`: the cached ones when fresh and knowing `kid`, else fetched
    /// again (when the rate limit allows). `Err` (an outage) only when no cached key knows `kid`
    /// and the last fetch failed; a kid still unknown after a good fetch is the caller's refusal.
    pub(super) async fn keys(&self, kid: Option<&str>) -> Result<Arc<IssuerKeys>, String> {
        if let Some(keys) = self.usable(kid) {
            return Ok(keys);
        }
        let mut attempt = self.attempt.lock().await;
        if let Some(keys) = self.usable(kid) {
            return Ok(keys); // fetched while this request waited
        }
        let cached = self.cached.load_full().map(|fetched| Arc::clone(&fetched.keys));
        if let Some(last) = attempt.as_ref()
            && last.at.elapsed() < self.min_interval
        {
            return match (cached, &last.failure) {
                (Some(keys), _) if keys.knows(kid) => Ok(keys),
                (_, Some(failure)) => Err(format!("fetching {} failed: {failure}", self.uri)),
                (Some(keys), None) => Ok(keys),
                (None, None) => Err(format!("no keys fetched from {}", self.uri)),
            };
        }
        let started = Instant::now();
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = match tokio::time::timeout(self.timeout, self.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {}", humantime::format_duration(self.timeout))),
        };
        match result {
            Ok(keys) => {
                let keys = Arc::new(keys);
                tracing::info!(url = %self.uri, keys = ?keys, "JWKS fetched");
                self.cached.store(Some(Arc::new(Fetched { keys: Arc::clone(&keys), at: started })));
                *attempt = Some(Attempt { at: started, failure: None });
                Ok(keys)
            }
            Err(failure) => {
                tracing::warn!(url = %self.uri, reason = %failure, "JWKS fetch failed: the cached keys keep serving");
                *attempt = Some(Attempt { at: started, failure: Some(failure.clone()) });
                match cached {
                    Some(keys) if keys.knows(kid) => Ok(keys),
                    _ => Err(format!("fetching {} failed: {failure}", self.uri)),
                }
            }
        }
    }

    /// The cached keys, if fresh and knowing `kid`.
    fn usable(&self, kid: Option<&str>) -> Option<Arc<IssuerKeys>> {
        let fetched = self.cached.load_full()?;
        (fetched.at.elapsed() < self.max_age && fetched.keys.knows(kid)).then(|| Arc::clone(&fetched.keys))
    }

    /// One GET of the URL, its bounded body parsed.
    async fn fetch(&self) -> Result<IssuerKeys, String> {
        let request = hyper::Request::get(self.uri.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("regent/", env!("CARGO_PKG_VERSION")))
            .body(Full::<Bytes>::default())
            .map_err(|error| format!("building the request: {error}"))?;
        let response = self.client.request(request).await.map_err(|error| error_chain(&error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("answered {status}"));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading the answer: {error}"))?
            .to_bytes();
        IssuerKeys::parse(&body)
    }
}

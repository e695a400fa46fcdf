//! The HTTP auth backend: asks an external API whether a user's credentials are right (the
//! `auth_request` design).
//!
//! The credentials go as HTTP Basic on a `GET`, or as a JSON `POST` of
//! `{"username": ..., "password": ...}`. A 2xx answer authenticates (an optional JSON body
//! `{"name": ..., "groups": [...]}` names the user and its groups), 401 and 403 deny, 404 means
//! no such user; any other status, a connection error, a timeout, or a `name` breaking the
//! user-name rule ([`crate::untrusted::check_name`]) is an outage. Successes are
//! cached for `cache_ttl`; with `max_stale`, a cached identity also answers during an outage.

mod client;
mod error;
mod stale;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http_body_util::{BodyExt, Limited};
use hyper::Uri;

use self::client::{AuthClient, MAX_BODY_BYTES, Verdict, build_client, credentials_request, verdict};
pub use self::error::HttpBackendError;
use self::stale::IdentityCache;
use crate::authn::{Authenticator, AuthnError, Identity, Outcome, Trace};
use crate::config::{HttpAuthConfig, HttpCredentials};
use crate::secret::Secret;
use crate::untrusted::Escaped;

/// An external HTTP auth API.
#[derive(Debug)]
pub struct HttpBackend {
    /// The configured backend name (reported in [`Identity::backend`]).
    name: String,
    /// The settings.
    config: HttpAuthConfig,
    /// The parsed URL.
    uri: Uri,
    /// The pooled client.
    client: AuthClient,
    /// Recently verified credentials.
    cache: IdentityCache,
    /// How many answers came from the stale cache ([`Authenticator::generation`]: the chain
    /// caches none of them).
    stale_answers: AtomicU64,
}

impl HttpBackend {
    /// A backend asking `config.url`; fails on a bad URL or CA file. Its requests run on the
    /// caller's tokio runtime.
    pub fn new(name: &str, config: HttpAuthConfig) -> Result<Self, HttpBackendError> {
        let uri: Uri =
            config.url.parse().map_err(|error| HttpBackendError::Url { url: config.url.clone(), error })?;
        let client = build_client(&config)?;
        let cache = IdentityCache::new(config.cache_ttl, config.max_stale);
        Ok(Self { name: name.to_owned(), config, uri, client, cache, stale_answers: AtomicU64::new(0) })
    }

    /// Authenticates at `now`, recording steps in `trace` when given.
    async fn run(
        &self,
        user: &str,
        password: &Secret,
        now: Instant,
        mut trace: Option<&mut Trace>,
    ) -> Result<Outcome, AuthnError> {
        let mut step = |text: String| {
            if let Some(trace) = trace.as_deref_mut() {
                trace.step(format!("{}: {text}", self.name));
            }
        };
        if password.is_empty() {
            step("empty password: refused without asking the API".to_owned());
            return Ok(Outcome::Denied);
        }
        if self.config.credentials == HttpCredentials::Basic && user.contains(':') {
            step("a name with ':' cannot be sent as HTTP Basic: no such user".to_owned());
            return Ok(Outcome::UnknownUser);
        }
        let context = self.config.url.as_str();
        if let Some(identity) = self.cache.fresh(user, password, context, now) {
            step("credentials verified recently: answered from the cache".to_owned());
            return Ok(Outcome::Authenticated(identity));
        }
        let method = match self.config.credentials {
            HttpCredentials::Basic => "GET with HTTP Basic credentials",
            HttpCredentials::Json => "POST with a JSON {\"username\", \"password\"} body",
        };
        step(format!("asking {} ({method})", self.config.url));
        let answer = tokio::time::timeout(self.config.timeout, self.ask(user, password)).await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {}", humantime::format_duration(self.config.timeout))),
        };
        let verdict = match answer {
            Ok((status, body)) => {
                step(format!("answered {status}"));
                verdict(status, &body)
            }
            Err(reason) => Err(reason),
        };
        match verdict {
            Ok(Verdict::Accepted { name, groups }) => {
                let name = name.unwrap_or_else(|| user.to_owned());
                step(format!("canonical name {name:?}, groups {groups:?}"));
                let identity = Identity::person(self.name.clone(), name, groups);
                self.cache.insert(user, password, context, &identity, now);
                Ok(Outcome::Authenticated(identity))
            }
            Ok(Verdict::Denied) => Ok(Outcome::Denied),
            Ok(Verdict::UnknownUser) => Ok(Outcome::UnknownUser),
            Err(reason) => {
                if let Some(identity) = self.cache.stale(user, password, context, now) {
                    tracing::warn!(
                        backend = %self.name, user = %Escaped(user), %reason,
                        "auth API unavailable: using a cached identity (max_stale)"
                    );
                    step(format!(
                        "unavailable ({reason}): using the identity cached before the outage (max_stale)"
                    ));
                    self.stale_answers.fetch_add(1, Ordering::Relaxed);
                    return Ok(Outcome::Authenticated(identity));
                }
                Err(AuthnError::Unavailable { backend: self.name.clone(), reason })
            }
        }
    }

    /// Sends the request and reads the status and (bounded) body.
    async fn ask(&self, user: &str, password: &Secret) -> Result<(hyper::StatusCode, Vec<u8>), String> {
        let request = credentials_request(&self.uri, self.config.credentials, user, password)?;
        let response = self.client.request(request).await.map_err(|error| error_chain(&error))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading the answer: {error}"))?
            .to_bytes();
        Ok((status, body.to_vec()))
    }
}

/// An error and its sources on one line (hyper's top-level message alone says little).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait]
impl Authenticator for HttpBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn cache_ttl(&self) -> Duration {
        self.config.cache_ttl
    }

    fn generation(&self) -> u64 {
        self.stale_answers.load(Ordering::Relaxed)
    }

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        self.run(user, password, Instant::now(), None).await
    }

    async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<Outcome, AuthnError> {
        let outcome = self.run(user, password, Instant::now(), Some(trace)).await;
        trace.outcome(&self.name, outcome)
    }
}

//! The OIDC backend: workload identity, a JWT from GitHub Actions, GitLab CI (`id_tokens`) or a
//! Kubernetes projected service-account token sent as the password.
//!
//! A password that is not a JWT, or a JWT of another issuer, is [`Outcome::UnknownUser`] (the
//! chain asks the next backend). A JWT naming this `issuer` is checked: `alg` from `algorithms`
//! only (never `none`, never HMAC), the key its `kid` names (from `jwks_file` or `jwks_url`, see
//! the `fetch` module) of a type that fits that `alg`, the signature, `aud`, `exp` (required) and `nbf`
//! with the leeway at the clock's time, the required `claims` and the subject. Any failure is
//! [`Outcome::Denied`], logged with its [`Refusal`] and never the token. Keys that cannot be
//! fetched, with none cached that fits, are an outage ([`AuthnError`]).
//!
//! Nothing is cached by the chain for this backend ([`Authenticator::cache_ttl`] is zero): a
//! cached success could outlive the token's `exp`. Verifying costs one signature check.

mod claims;
mod error;
mod fetch;
mod keys;
mod peek;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hyper::Uri;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

pub use self::error::{OidcError, Refusal};
use self::fetch::JwksFetcher;
pub use self::keys::IssuerKeys;
use crate::authn::http::client::build_https_client;
use crate::authn::{Authenticator, AuthnError, Identity, Outcome, Trace};
use crate::clock::Clock;
use crate::config::{JwksSource, OidcConfig, OidcUserName};
use crate::reload::Reloadable;
use crate::secret::Secret;
use crate::untrusted::Escaped;

/// Where the backend's keys come from.
enum KeySource {
    /// A watched JWKS file.
    File(Arc<Reloadable<IssuerKeys>>),
    /// A fetched, cached JWKS URL.
    Url(Box<JwksFetcher>),
}

/// What the backend concluded about one password.
enum Verdict {
    /// Not a JWT, or another issuer's: the next backend's business.
    NotOurs(&'static str),
    /// A JWT of this issuer that fails a check.
    Refused(Refusal),
    /// A valid JWT.
    Valid(Identity),
}

/// JWTs of one OIDC issuer as passwords.
pub struct OidcBackend {
    /// The configured backend name (reported in [`Identity::backend`]).
    name: String,
    /// The settings.
    config: OidcConfig,
    /// The issuer's keys.
    source: KeySource,
    /// The time `exp` and `nbf` are compared with.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OidcBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcBackend").field("name", &self.name).field("issuer", &self.config.issuer).finish()
    }
}

impl OidcBackend {
    /// A backend for `config`, reading the time from `clock`. A `jwks_file` is read now (its
    /// errors returned); a `jwks_url` is fetched when the first token needs it.
    pub fn new(name: &str, config: OidcConfig, clock: Arc<dyn Clock>) -> Result<Self, OidcError> {
        let source = match &config.jwks {
            JwksSource::File(path) => KeySource::File(jwks_file(path)?),
            JwksSource::Url(url) => {
                let uri: Uri = url.parse().map_err(|error| OidcError::Url { url: url.clone(), error })?;
                let https = url.starts_with("https://");
                let client = build_https_client(config.ca_file.as_deref(), https, config.timeout)?;
                let (min, max) = (config.jwks_min_interval, config.jwks_max_age);
                KeySource::Url(Box::new(JwksFetcher::new(uri, client, config.timeout, min, max)))
            }
        };
        Ok(Self { name: name.to_owned(), config, source, clock })
    }

    /// Starts watching the JWKS file (nothing for a URL). Must be called inside a tokio runtime.
    pub fn spawn_watchers(&self, interval: Duration) {
        if let KeySource::File(keys) = &self.source {
            keys.spawn_watcher(interval);
        }
    }

    /// Tells `observer` of every reload of the JWKS file.
    pub fn set_reload_observer(&self, observer: crate::reload::ReloadObserver) {
        if let KeySource::File(keys) = &self.source {
            keys.set_observer(observer);
        }
    }

    /// Reloads a changed JWKS file now; returns whether new keys were swapped in.
    pub fn reload_now(&self) -> bool {
        matches!(&self.source, KeySource::File(keys) if keys.reload_now())
    }

    /// How many times the JWKS URL was fetched (0 for a file).
    pub fn jwks_fetches(&self) -> u64 {
        match &self.source {
            KeySource::File(_) => 0,
            KeySource::Url(fetcher) => fetcher.fetches(),
        }
    }

    /// The keys that may know `kid`.
    async fn keys(&self, kid: Option<&str>) -> Result<Arc<IssuerKeys>, AuthnError> {
        match &self.source {
            KeySource::File(keys) => Ok(keys.get()),
            KeySource::Url(fetcher) => fetcher
                .keys(kid)
                .await
                .map_err(|reason| AuthnError::Unavailable { backend: self.name.clone(), reason }),
        }
    }

    /// Checks one password.
    async fn check(&self, user: &str, password: &Secret) -> Result<Verdict, AuthnError> {
        let Some(peeked) = peek::peek(password.expose()) else {
            return Ok(Verdict::NotOurs("not a JWT"));
        };
        if peeked.iss.as_deref() != Some(self.config.issuer.as_str()) {
            return Ok(Verdict::NotOurs("a JWT of another issuer"));
        }
        if peeked.alg.eq_ignore_ascii_case("none") {
            return Ok(Verdict::Refused(Refusal::AlgNone));
        }
        let alg = match peeked.alg.parse::<Algorithm>() {
            Ok(alg) if self.config.algorithms.contains(&alg) => alg,
            _ => return Ok(Verdict::Refused(Refusal::AlgNotAllowed(Escaped(&peeked.alg).to_string()))),
        };
        let keys = self.keys(peeked.kid.as_deref()).await?;
        let candidates = match keys.candidates(peeked.kid.as_deref(), alg) {
            Ok(candidates) => candidates,
            Err(refusal) => return Ok(Verdict::Refused(refusal)),
        };
        let claims = match self.verify(password.expose(), alg, &candidates) {
            Ok(claims) => claims,
            Err(refusal) => return Ok(Verdict::Refused(refusal)),
        };
        let subject = match claims::check(&self.config, &claims, self.clock.now().unix_timestamp()) {
            Ok(subject) => subject,
            Err(refusal) => return Ok(Verdict::Refused(refusal)),
        };
        if self.config.user_name == OidcUserName::Subject && user != subject.name {
            return Ok(Verdict::Refused(Refusal::UserNameMismatch));
        }
        let identity = if self.config.robot {
            Identity::robot(self.name.clone(), subject.name, subject.groups)
        } else {
            Identity::person(self.name.clone(), subject.name, subject.groups)
        };
        Ok(Verdict::Valid(identity.with_claims(subject.claims)))
    }

    /// The claims of `token` once one of `keys` verified its signature, `iss` and `aud`.
    fn verify(
        &self,
        token: &str,
        alg: Algorithm,
        keys: &[&jsonwebtoken::DecodingKey],
    ) -> Result<Map<String, Value>, Refusal> {
        use jsonwebtoken::errors::ErrorKind;
        let mut validation = Validation::new(alg);
        validation.validate_exp = false; // checked with the clock, in `claims`
        validation.validate_nbf = false;
        validation.set_audience(&self.config.audiences);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["iss", "aud"]);
        for key in keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(error) => match error.kind() {
                    ErrorKind::InvalidSignature => continue,
                    ErrorKind::InvalidAudience => return Err(Refusal::WrongAudience),
                    ErrorKind::MissingRequiredClaim(claim) => {
                        return Err(Refusal::MissingClaim(claim.clone()));
                    }
                    kind => return Err(Refusal::Malformed(format!("{kind:?}"))),
                },
            }
        }
        Err(Refusal::BadSignature)
    }

    /// Authenticates, recording the steps in `trace` when given.
    async fn run(
        &self,
        user: &str,
        password: &Secret,
        trace: Option<&mut Trace>,
    ) -> Result<Outcome, AuthnError> {
        let verdict = self.check(user, password).await;
        let step = match &verdict {
            Ok(Verdict::NotOurs(what)) => format!("{what}: not for this backend"),
            Ok(Verdict::Refused(refusal)) => format!("JWT of {} refused: {refusal}", self.config.issuer),
            Ok(Verdict::Valid(identity)) => {
                format!("JWT of {} valid, subject {:?}", self.config.issuer, identity.name)
            }
            Err(error) => format!("{error}"),
        };
        if let Some(trace) = trace {
            trace.step(format!("{}: {step}", self.name));
        }
        match verdict? {
            Verdict::NotOurs(_) => Ok(Outcome::UnknownUser),
            Verdict::Refused(refusal) => {
                tracing::warn!(backend = %self.name, user = %Escaped(user), reason = %refusal, "OIDC token refused");
                Ok(Outcome::Denied)
            }
            Verdict::Valid(identity) => Ok(Outcome::Authenticated(identity)),
        }
    }
}

/// The watched JWKS file.
fn jwks_file(path: &std::path::Path) -> Result<Arc<Reloadable<IssuerKeys>>, OidcError> {
    let file: PathBuf = path.to_owned();
    let name = format!("jwks {}", path.display());
    let load = move || {
        let bytes = std::fs::read(&file).map_err(|error| error.to_string())?;
        IssuerKeys::parse(&bytes)
    };
    Reloadable::new(&name, vec![path.to_owned()], load)
        .map_err(|reason: String| OidcError::JwksFile { path: path.to_owned(), reason })
}

#[async_trait]
impl Authenticator for OidcBackend {
    fn name(&self) -> &str {
        &self.name
    }

    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        self.run(user, password, None).await
    }

    async fn authenticate_traced(
        &self,
        user: &str,
        password: &Secret,
        trace: &mut Trace,
    ) -> Result<Outcome, AuthnError> {
        let outcome = self.run(user, password, Some(trace)).await;
        trace.outcome(&self.name, outcome)
    }
}

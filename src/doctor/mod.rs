//! `regent doctor`: from outside the server, checks that regent and a registry fit together and
//! prints one line per check with a fix. A registry that refuses regent's tokens only says
//! `401` to docker; each check here names one reason it could have.
//!
//! Submodules: `report` ([`Check`], [`Report`]), `registry_config` (the registry's
//! `config.yml` and `REGISTRY_*` environment), `agree` (service, issuer, realm), `bundle` (the
//! `rootcertbundle` and JWKS), `access` (can the registry's user read its files), `clock`,
//! `challenge` (the `WWW-Authenticate` parser), `http` (the client) and `network` (the checks
//! that talk to the registry and the realm).

mod access;
mod agree;
mod bundle;
mod challenge;
mod clock;
mod http;
mod network;
mod registry_config;
mod report;

use std::path::{Path, PathBuf};

pub use access::Account;
pub use bundle::SigningIdentity;
pub use clock::{FAIL_SKEW, WARN_SKEW, clock_check};
pub use http::DoctorClient;
pub use registry_config::{RegistryConfigError, RegistrySettings};
pub use report::{Check, Report, Status};

use crate::clock::Clock;
use crate::config::Config;
use crate::token::{KeySet, TokenError, TokenIssuer};
use agree::{Setting, agree};
use network::Expected;

/// The subject of the probe token (it carries no access).
pub const PROBE_SUBJECT: &str = "regent-doctor";

/// Errors preparing the checks (the command exits with status 2).
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// The signing keys could not be used.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The signing certificate could not be read back.
    #[error("the signing key's certificate: {0}")]
    Certificate(String),
}

/// regent's side: what its configuration says and a signer with its keys.
#[derive(Debug)]
pub struct Regent {
    /// `[token] service`.
    pub service: String,
    /// `[token] issuer`.
    pub issuer: String,
    /// `[token] realm`.
    pub realm: String,
    /// What the registry must trust.
    pub signing: SigningIdentity,
    /// Signs the probe token with regent's keys, issuer, service and ttl.
    pub signer: TokenIssuer,
    /// The directories holding regent's private keys.
    pub key_dirs: Vec<PathBuf>,
}

impl Regent {
    /// regent's side from its configuration and its loaded keys.
    pub fn new(config: &Config, keys: KeySet, now: time::OffsetDateTime) -> Result<Self, DoctorError> {
        let leaf = |key: &crate::token::SigningKey| {
            pem::parse(key.certificates_pem())
                .map(pem::Pem::into_contents)
                .map_err(|error| DoctorError::Certificate(error.to_string()))
        };
        let certificate_der = leaf(keys.signing_key())?;
        let other_certificates = keys
            .keys()
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != keys.signing_index())
            .map(|(_, key)| leaf(key))
            .collect::<Result<Vec<_>, _>>()?;
        let signer = TokenIssuer::new(
            keys,
            config.token.issuer.clone(),
            config.token.service.clone(),
            config.token.ttl,
        );
        // The kid as the registry sees it: read back from a signed token's header.
        let sample = signer.issue(PROBE_SUBJECT, &[], now)?;
        let kid = network::jwt_header(sample.token.expose())
            .and_then(|header| header["kid"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let fixed_dirs =
            config.token.keys.iter().filter_map(|files| files.key.parent().map(Path::to_path_buf));
        let key_dirs = config.token.key_directory.iter().cloned().chain(fixed_dirs).collect();
        Ok(Self {
            service: config.token.service.clone(),
            issuer: config.token.issuer.clone(),
            realm: config.token.realm.clone(),
            signing: SigningIdentity { certificate_der, kid, other_certificates },
            signer,
            key_dirs,
        })
    }
}

/// The user whose permissions the `readable` check judges.
#[derive(Debug, Clone)]
pub enum RegistryUser {
    /// This account.
    Account(Account),
    /// Skip the check, for this reason.
    Unknown(String),
}

/// Everything the checks need.
#[derive(Debug)]
pub struct Setup {
    /// regent's side.
    pub regent: Regent,
    /// The registry's configuration (`--registry-config` and/or `REGISTRY_*`), if given.
    pub registry: Option<RegistrySettings>,
    /// The registry's URL (`--registry-url`, else from `http.addr`).
    pub registry_url: Option<String>,
    /// The registry's user.
    pub user: RegistryUser,
    /// The HTTP client.
    pub client: DoctorClient,
}

/// Runs every check, in order: configuration agreement, trust, permissions, then the network.
pub async fn diagnose(setup: &Setup, clock: &dyn Clock) -> Report {
    let mut report = Report::default();
    let regent = &setup.regent;
    file_checks(&mut report, setup);
    let url =
        setup.registry_url.clone().or_else(|| setup.registry.as_ref().and_then(RegistrySettings::local_url));
    let registry_realm = setup.registry.as_ref().and_then(|registry| registry.realm.clone());
    let Some(url) = url else {
        let why = "no --registry-url (and no http.addr in the registry's configuration)";
        for name in ["challenge", "clock", "token"] {
            report.push(Check::skip(name, why));
        }
        let realm = registry_realm.unwrap_or_else(|| regent.realm.clone());
        report.push(network::realm_check(&setup.client, &realm, &regent.service).await.0);
        return report;
    };
    let expected = Expected { realm: &regent.realm, service: &regent.service };
    let (challenge, answer) = network::challenge_check(&setup.client, &url, expected).await;
    let answered_at = clock.now();
    report.push(challenge);
    let challenge_realm =
        answer.as_ref().and_then(|(_, challenge)| challenge.as_ref()?.param("realm").map(str::to_owned));
    let realm = registry_realm.or(challenge_realm).unwrap_or_else(|| regent.realm.clone());
    let (reachable, iat) = network::realm_check(&setup.client, &realm, &regent.service).await;
    report.push(reachable);
    let Some((answer, _)) = answer else {
        report.push(Check::skip("clock", "the registry did not answer"));
        report.push(Check::skip("token", "the registry did not answer"));
        return report;
    };
    report.push(match network::date_of(&answer) {
        Some(date) => match iat.and_then(|iat| time::OffsetDateTime::from_unix_timestamp(iat).ok()) {
            // The realm's token was issued moments after the registry's answer.
            Some(issued) => clock_check(date, issued, "regent's clock (the iat of its realm's token)"),
            None => clock_check(date, answered_at, "this machine's clock (it signs the probe token)"),
        },
        None => Check::skip("clock", "the registry's answer has no Date header"),
    });
    let causes = report.failed_among(&["service", "issuer", "bundle", "jwks", "clock", "challenge"]);
    let check = match regent.signer.issue(PROBE_SUBJECT, &[], clock.now()) {
        Ok(probe) => network::token_check(&setup.client, &url, &probe.token, &causes).await,
        Err(error) => {
            Check::fail("token", format!("cannot sign a probe token: {error}"), "check [token] keys")
        }
    };
    report.push(check);
    report
}

/// The checks that read configuration and files: agreement, bundle, JWKS, permissions.
fn file_checks(report: &mut Report, setup: &Setup) {
    let regent = &setup.regent;
    let Some(registry) = &setup.registry else {
        let why = "no --registry-config (or REGISTRY_AUTH_TOKEN_* environment)";
        report.push(Check::skip("issuer", format!("{why}: only the registry's configuration names it")));
        for name in ["bundle", "readable"] {
            report.push(Check::skip(name, why));
        }
        return;
    };
    let no_token_auth = registry.service.is_none() && registry.issuer.is_none() && registry.realm.is_none();
    if no_token_auth && !registry.other_auth.is_empty() {
        report.push(Check::fail(
            "auth",
            format!("{} uses auth.{}, not token auth", registry.source, registry.other_auth.join(", auth.")),
            "replace the auth section of config.yml with the auth.token section regent init prints",
        ));
        return;
    }
    for (name, regent_value, registry_value) in [
        ("service", &regent.service, &registry.service),
        ("issuer", &regent.issuer, &registry.issuer),
        ("realm", &regent.realm, &registry.realm),
    ] {
        let setting =
            Setting { name, regent_key: name, regent: regent_value, registry: registry_value.as_deref() };
        report.push(agree(setting));
    }
    report.push(match (&registry.rootcertbundle, &registry.jwks) {
        (Some(path), _) => bundle::bundle_check(path, &regent.signing),
        (None, Some(_)) => Check::skip("bundle", "auth.token.rootcertbundle is not set: registry 3 trusts the JWKS alone"),
        (None, None) => Check::fail(
            "bundle",
            "the registry's configuration sets no auth.token.rootcertbundle",
            "point auth.token.rootcertbundle at a copy of regent's certificates (regent keys bundle --out FILE)",
        ),
    });
    report.push(match &registry.jwks {
        Some(path) => bundle::jwks_check(path, &regent.signing.kid),
        None => Check::skip("jwks", "auth.token.jwks is not set (registry 3 only)"),
    });
    report.push(match &setup.user {
        RegistryUser::Account(account) => {
            access::readable_check(&registry.files(), account, &regent.key_dirs)
        }
        RegistryUser::Unknown(why) => Check::skip("readable", why.clone()),
    });
}

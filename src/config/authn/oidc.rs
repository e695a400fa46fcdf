//! `kind = "oidc"`: OIDC JWTs (GitHub Actions, GitLab CI `id_tokens`, Kubernetes projected
//! service-account tokens) accepted as the password, checked against the issuer's keys.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use toml::Spanned;

use super::http::http_url;
use super::{AuthnContext, DEFAULT_HTTP_TIMEOUT};
use crate::config::error::ConfigError;
use crate::config::file::FileAuthn;
use crate::subject::Claim;

/// The optional keys of an `oidc` table.
pub(super) const OIDC_KEYS: &[&str] = &[
    "issuer",
    "audiences",
    "jwks_file",
    "jwks_url",
    "ca_file",
    "timeout",
    "algorithms",
    "subject_claim",
    "groups_claim",
    "claims",
    "policy_claims",
    "robot",
    "leeway",
    "user_name",
    "jwks_min_interval",
    "jwks_max_age",
];

/// The algorithms accepted when `algorithms` is not given.
pub const DEFAULT_OIDC_ALGORITHMS: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256];
/// The clock skew allowed for `exp` and `nbf` when `leeway` is not given.
pub const DEFAULT_OIDC_LEEWAY: Duration = Duration::from_secs(60);
/// The shortest time between two JWKS fetches caused by unknown kids, when not given.
pub const DEFAULT_JWKS_MIN_INTERVAL: Duration = Duration::from_secs(30);
/// How long fetched keys serve before they are fetched again, when not given.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(3600);

/// `kind = "oidc"`: validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The `iss` whose JWTs this backend checks (others go to the next backend).
    pub issuer: String,
    /// The accepted `aud` values (at least one).
    pub audiences: Vec<String>,
    /// Where the issuer's public keys come from.
    pub jwks: JwksSource,
    /// PEM CA certificate(s) to trust for an `https://` JWKS URL (else the system roots).
    pub ca_file: Option<PathBuf>,
    /// Time allowed for one JWKS fetch.
    pub timeout: Duration,
    /// The accepted signature algorithms (never `none`, never HS*).
    pub algorithms: Vec<Algorithm>,
    /// The claim whose value is the subject's name.
    pub subject_claim: String,
    /// The claim holding the groups (a string or a list of strings).
    pub groups_claim: Option<String>,
    /// Claims that must be present with exactly these values.
    pub required_claims: Vec<(String, String)>,
    /// The claims that become policy attributes (`claim:KEY:VALUE`).
    pub policy_claims: Vec<String>,
    /// Whether the subject is a robot (`robot:NAME`) rather than a person (`user:NAME`).
    pub robot: bool,
    /// The clock skew allowed for `exp` and `nbf`.
    pub leeway: Duration,
    /// What the user name sent with the JWT must be.
    pub user_name: OidcUserName,
    /// The shortest time between two JWKS fetches caused by unknown kids.
    pub jwks_min_interval: Duration,
    /// How long fetched keys serve before they are fetched again.
    pub jwks_max_age: Duration,
}

/// Where an OIDC backend reads the issuer's public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS file, watched and reloaded.
    File(PathBuf),
    /// The issuer's JWKS URL, fetched and cached.
    Url(String),
}

/// The user name a client must send with the JWT as its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcUserName {
    /// Any name (docker/login-action, kubelet pull secrets need some name; the JWT alone says who).
    Any,
    /// Exactly the subject (the value of `subject_claim`).
    Subject,
}

/// Checks an `oidc` table (its keys are already known to belong to the kind).
pub(super) fn oidc(context: &AuthnContext<'_>, table: &FileAuthn) -> Result<OidcConfig, ConfigError> {
    let Some(issuer) = &table.issuer else {
        return Err(context.missing("kind \"oidc\" needs `issuer` (the `iss` of the JWTs accepted)"));
    };
    let issuer = context.word(issuer, "issuer")?;
    let audiences = match &table.audiences {
        Some(list) if list.get_ref().is_empty() => {
            return Err(context.error(list.span(), "audiences must name at least one `aud`"));
        }
        Some(list) => {
            list.get_ref().iter().map(|aud| context.word(aud, "audience")).collect::<Result<_, _>>()?
        }
        None => return Err(context.missing("kind \"oidc\" needs `audiences` (the accepted `aud` values)")),
    };
    let jwks = match (&table.jwks_file, &table.jwks_url) {
        (Some(file), None) => JwksSource::File(context.path(file, "jwks_file")?),
        (None, Some(url)) => JwksSource::Url(http_url(context, url)?),
        (Some(_), Some(url)) => {
            return Err(context.error(url.span(), "give either `jwks_file` or `jwks_url`, not both"));
        }
        (None, None) => {
            return Err(context.missing("kind \"oidc\" needs `jwks_file` or `jwks_url` (the issuer's keys)"));
        }
    };
    let ca_file = match (&table.ca_file, &jwks) {
        (Some(ca_file), JwksSource::Url(url)) if url.starts_with("https://") => {
            Some(context.path(ca_file, "ca_file")?)
        }
        (Some(ca_file), _) => {
            return Err(context.error(ca_file.span(), "ca_file applies only to an https:// jwks_url"));
        }
        (None, _) => None,
    };
    Ok(OidcConfig {
        issuer,
        audiences,
        jwks,
        ca_file,
        timeout: context.positive_duration_or(&table.timeout, "timeout", DEFAULT_HTTP_TIMEOUT)?,
        algorithms: algorithms(context, &table.algorithms)?,
        subject_claim: claim_name(context, &table.subject_claim, "subject_claim")?
            .unwrap_or_else(|| "sub".to_owned()),
        groups_claim: claim_name(context, &table.groups_claim, "groups_claim")?,
        required_claims: required_claims(context, table)?,
        policy_claims: policy_claims(context, &table.policy_claims)?,
        robot: table.robot.as_ref().is_some_and(|robot| *robot.get_ref()),
        leeway: context.duration_or(&table.leeway, "leeway", DEFAULT_OIDC_LEEWAY)?,
        user_name: user_name(context, &table.user_name)?,
        jwks_min_interval: context.duration_or(
            &table.jwks_min_interval,
            "jwks_min_interval",
            DEFAULT_JWKS_MIN_INTERVAL,
        )?,
        jwks_max_age: context.positive_duration_or(
            &table.jwks_max_age,
            "jwks_max_age",
            DEFAULT_JWKS_MAX_AGE,
        )?,
    })
}

/// `algorithms`: asymmetric JWS algorithms only; `none` and HS* are refused at their value.
fn algorithms(
    context: &AuthnContext<'_>,
    value: &Option<Spanned<Vec<Spanned<String>>>>,
) -> Result<Vec<Algorithm>, ConfigError> {
    let Some(list) = value else {
        return Ok(DEFAULT_OIDC_ALGORITHMS.to_vec());
    };
    if list.get_ref().is_empty() {
        return Err(
            context.error(list.span(), "algorithms must name at least one algorithm, e.g. [\"RS256\"]")
        );
    }
    let mut algorithms = Vec::new();
    for name in list.get_ref() {
        let text = name.get_ref().as_str();
        let algorithm = match text.parse::<Algorithm>() {
            _ if text.eq_ignore_ascii_case("none") => {
                return Err(context.error(name.span(), "algorithm \"none\" is refused: JWTs must be signed"));
            }
            Ok(algorithm) if algorithm.family() == AlgorithmFamily::Hmac => {
                return Err(context.error(
                    name.span(),
                    format!("algorithm {text:?} is refused: a shared secret cannot come from a public JWKS"),
                ));
            }
            Ok(algorithm) => algorithm,
            Err(_) => {
                return Err(context.error(
                    name.span(),
                    format!("unknown algorithm {text:?} (known: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"),
                ));
            }
        };
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    Ok(algorithms)
}

/// A claim name usable as a policy attribute key (letters, digits, `_`, `-`, `.`).
fn claim_name(
    context: &AuthnContext<'_>,
    value: &Option<Spanned<String>>,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    let name = context.word(value, key)?;
    if !Claim::is_valid_key(&name) {
        return Err(
            context.error(value.span(), format!("{key} {name:?}: use letters, digits, `_`, `-` and `.`"))
        );
    }
    Ok(Some(name))
}

/// `claims = { KEY = "VALUE", ... }`: required exact values.
fn required_claims(
    context: &AuthnContext<'_>,
    table: &FileAuthn,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(claims) = &table.claims else { return Ok(Vec::new()) };
    let mut required = Vec::new();
    for (key, value) in claims.get_ref() {
        if !Claim::is_valid_key(key) {
            return Err(context
                .error(value.span(), format!("claims: key {key:?}: use letters, digits, `_`, `-` and `.`")));
        }
        if value.get_ref().is_empty() {
            return Err(context.error(value.span(), format!("claims: {key} must not be empty")));
        }
        required.push((key.clone(), value.get_ref().clone()));
    }
    Ok(required)
}

/// `policy_claims = ["repository", ...]`: claim names policies may use.
fn policy_claims(
    context: &AuthnContext<'_>,
    value: &Option<Spanned<Vec<Spanned<String>>>>,
) -> Result<Vec<String>, ConfigError> {
    let Some(list) = value else { return Ok(Vec::new()) };
    list.get_ref()
        .iter()
        .map(|name| Ok(claim_name(context, &Some(name.clone()), "policy_claims")?.unwrap_or_default()))
        .collect()
}

/// `user_name`: `any` (the default) or `subject`.
fn user_name(
    context: &AuthnContext<'_>,
    value: &Option<Spanned<String>>,
) -> Result<OidcUserName, ConfigError> {
    match value.as_ref().map(|value| (value, value.get_ref().as_str())) {
        None | Some((_, "any")) => Ok(OidcUserName::Any),
        Some((_, "subject")) => Ok(OidcUserName::Subject),
        Some((value, other)) => {
            Err(context.error(value.span(), format!("user_name {other:?}: expected \"any\" or \"subject\"")))
        }
    }
}

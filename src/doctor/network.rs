//! The checks that talk to the registry and the realm: the challenge, the realm's answer, the
//! clocks and the probe token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use time::OffsetDateTime;

use super::challenge::Challenge;
use super::http::{Answer, DoctorClient};
use super::report::Check;
use crate::secret::Secret;
use crate::untrusted::Escaped;

/// The most body text quoted in a line.
const QUOTED_BODY_CHARS: usize = 160;

/// What regent says the registry's challenge should hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expected<'a> {
    /// `[token] realm`.
    pub realm: &'a str,
    /// `[token] service`.
    pub service: &'a str,
}

/// `challenge`: `GET URL/v2/` without a token must answer 401 with a Bearer challenge naming
/// regent's realm and service. Returns the answer too (its `Date`, its realm).
pub(super) async fn challenge_check(
    client: &DoctorClient,
    base: &str,
    expected: Expected<'_>,
) -> (Check, Option<(Answer, Option<Challenge>)>) {
    let url = format!("{}/v2/", base.trim_end_matches('/'));
    let answer = match client.get(&url, None).await {
        Ok(answer) => answer,
        Err(error) => {
            let check = Check::fail(
                "challenge",
                format!("GET {url} failed from this machine: {error}"),
                "start the registry, or pass the --registry-url its clients use",
            );
            return (check, None);
        }
    };
    let challenge = answer.header("www-authenticate").and_then(Challenge::parse);
    let check = match (answer.status.as_u16(), &challenge) {
        (401, Some(challenge)) if challenge.scheme.eq_ignore_ascii_case("bearer") => {
            let realm = challenge.param("realm").unwrap_or_default();
            let service = challenge.param("service").unwrap_or_default();
            if realm == expected.realm && service == expected.service {
                Check::ok(
                    "challenge",
                    format!("GET {url} sends clients to {realm:?} for service {service:?}"),
                )
            } else {
                Check::fail(
                    "challenge",
                    format!(
                        "GET {url} sends clients to {realm:?} for service {service:?}; regent serves {:?} for {:?}",
                        expected.realm, expected.service
                    ),
                    "make auth.token.realm and auth.token.service in the registry's config.yml equal [token] realm and service in regent.toml, and restart the registry",
                )
            }
        }
        (200, _) => Check::fail(
            "challenge",
            format!("GET {url} answered 200 without a token: the registry does not use token auth"),
            "configure auth.token in the registry's config.yml (regent init prints the section) and restart it",
        ),
        (status, _) => Check::fail(
            "challenge",
            format!(
                "GET {url} answered {status} with WWW-Authenticate {}, not a Bearer challenge",
                Escaped(answer.header("www-authenticate").unwrap_or_default())
            ),
            "configure auth.token (not htpasswd) in the registry's config.yml, and check --registry-url",
        ),
    };
    (check, Some((answer, challenge)))
}

/// `reachable`: `GET REALM?service=SERVICE` without credentials answers as regent does (200
/// with a token, or 401 with a registry-style error), from this machine. Returns the `iat` of
/// the token it handed out, if any.
pub(super) async fn realm_check(client: &DoctorClient, realm: &str, service: &str) -> (Check, Option<i64>) {
    let separator = if realm.contains('?') { '&' } else { '?' };
    let url = format!("{realm}{separator}service={}", utf8_percent_encode(service, NON_ALPHANUMERIC));
    let fix = "start regent, and make auth.token.realm a URL of regent's /token that answers from where the \
               registry's clients run";
    let answer = match client.get(&url, None).await {
        Ok(answer) => answer,
        Err(error) => {
            return (
                Check::fail("reachable", format!("GET {realm} failed from this machine: {error}"), fix),
                None,
            );
        }
    };
    let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
    let token = json.as_ref().and_then(|json| json["token"].as_str());
    match (answer.status.as_u16(), token) {
        (200, Some(token)) => {
            let iat = jwt_claims(token).and_then(|claims| claims["iat"].as_i64());
            (
                Check::ok(
                    "reachable",
                    format!("{realm} answers from this machine (200, an anonymous token)"),
                ),
                iat,
            )
        }
        (401, _) if json.as_ref().is_some_and(|json| json["errors"].is_array()) => (
            Check::ok(
                "reachable",
                format!("{realm} answers from this machine (401 for anonymous, as regent does)"),
            ),
            None,
        ),
        (status, _) => (
            Check::fail(
                "reachable",
                format!("{realm} answered {status} {}: not regent's token endpoint", quote_body(&answer)),
                fix,
            ),
            None,
        ),
    }
}

/// `token`: `GET URL/v2/` with a token regent signed must answer 200. `causes` are the failed
/// checks that explain a refusal.
pub(super) async fn token_check(client: &DoctorClient, base: &str, token: &Secret, causes: &[&str]) -> Check {
    let url = format!("{}/v2/", base.trim_end_matches('/'));
    let answer = match client.get(&url, Some(token)).await {
        Ok(answer) => answer,
        Err(error) => {
            return Check::fail(
                "token",
                format!("GET {url} with a token failed: {error}"),
                "start the registry",
            );
        }
    };
    if answer.status.is_success() {
        return Check::ok(
            "token",
            format!("the registry accepts a token regent signs (GET {url}: {})", answer.status),
        );
    }
    let error = answer
        .header("www-authenticate")
        .and_then(Challenge::parse)
        .and_then(|challenge| challenge.param("error").map(str::to_owned))
        .unwrap_or_default();
    let fix = if causes.is_empty() {
        "the registry's log says why (\"token intended for another audience\", \"token signed by untrusted key\", \
         \"unable to verify certificate chain\"); it reads rootcertbundle only at start: restart it after changing the bundle"
            .to_owned()
    } else {
        format!("fix the failed {} check(s) above, then restart the registry", causes.join(", "))
    };
    Check::fail(
        "token",
        format!(
            "the registry refuses a token regent signs (GET {url}: {}, error={error:?}: {})",
            answer.status,
            quote_body(&answer)
        ),
        fix,
    )
}

/// The registry's `Date` header.
pub(super) fn date_of(answer: &Answer) -> Option<OffsetDateTime> {
    answer.header("date").and_then(super::clock::parse_http_date)
}

/// The claims of a compact JWT (unverified: only read for `iat`).
pub(super) fn jwt_claims(token: &str) -> Option<Value> {
    jwt_part(token, 1)
}

/// The JOSE header of a compact JWT.
pub(super) fn jwt_header(token: &str) -> Option<Value> {
    jwt_part(token, 0)
}

/// Part `index` of a compact JWT, decoded as JSON.
fn jwt_part(token: &str, index: usize) -> Option<Value> {
    let part = token.split('.').nth(index)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The start of a body, escaped, or the registry's first error message when it sent one.
fn quote_body(answer: &Answer) -> String {
    let text = String::from_utf8_lossy(&answer.body);
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if let Some(message) = json.as_ref().and_then(|json| json["errors"][0]["message"].as_str()) {
        return Escaped(message).to_string();
    }
    let short: String = text.chars().take(QUOTED_BODY_CHARS).collect();
    Escaped(short.trim()).to_string()
}

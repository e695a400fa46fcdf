//! The pooled hyper-util client (rustls on aws-lc-rs), the request carrying the credentials and
//! the reading of the API's answer.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::error::HttpBackendError;
use crate::config::{HttpAuthConfig, HttpCredentials};
use crate::secret::Secret;
use crate::untrusted::{Escaped, check_name};

/// The largest answer body read.
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// The pooled client.
pub(crate) type AuthClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pooled HTTP/1.1 client trusting `config.ca_file` (or the system roots for an `https://` URL).
pub(super) fn build_client(config: &HttpAuthConfig) -> Result<AuthClient, HttpBackendError> {
    build_https_client(config.ca_file.as_deref(), config.url.starts_with("https://"), config.timeout)
}

/// A pooled HTTP/1.1 client trusting `ca_file`, else the system roots when `https` (also used by
/// the OIDC backend to fetch JWKS); connecting may take up to `connect_timeout`.
pub(crate) fn build_https_client(
    ca_file: Option<&std::path::Path>,
    https: bool,
    connect_timeout: Duration,
) -> Result<AuthClient, HttpBackendError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()?;
    let tls = match ca_file {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|error| HttpBackendError::CaFile {
                    path: path.to_owned(),
                    error: error.to_string(),
                })?;
            if certificates.is_empty() {
                return Err(HttpBackendError::NoCertificate { path: path.to_owned() });
            }
            for certificate in certificates {
                roots.add(certificate)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None if https => {
            builder.with_native_roots().map_err(HttpBackendError::SystemRoots)?.with_no_client_auth()
        }
        // Plain http://: the TLS side is never used.
        None => builder.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth(),
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let connector =
        HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(POOL_IDLE).build(connector))
}

/// The request asking `uri` about `user` and `password`: Basic on a GET, or a JSON POST.
pub(super) fn credentials_request(
    uri: &Uri,
    credentials: HttpCredentials,
    user: &str,
    password: &Secret,
) -> Result<Request<Full<Bytes>>, String> {
    let builder = Request::builder()
        .uri(uri.clone())
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, concat!("regent/", env!("CARGO_PKG_VERSION")));
    let request = match credentials {
        HttpCredentials::Basic => {
            let encoded = STANDARD.encode(format!("{user}:{}", password.expose()));
            let mut value = HeaderValue::try_from(format!("Basic {encoded}")).map_err(|e| e.to_string())?;
            value.set_sensitive(true);
            builder.method(Method::GET).header(AUTHORIZATION, value).body(Full::default())
        }
        HttpCredentials::Json => {
            let body = serde_json::json!({ "username": user, "password": password.expose() });
            builder
                .method(Method::POST)
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
        }
    };
    request.map_err(|error| format!("building the request: {error}"))
}

/// What the API's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// 2xx: the credentials are right.
    Accepted {
        /// The canonical name, when the body gives one.
        name: Option<String>,
        /// The groups the body lists.
        groups: Vec<String>,
    },
    /// 401 or 403: wrong credentials.
    Denied,
    /// 404: no such user.
    UnknownUser,
}

/// The optional body of a 2xx answer.
#[derive(Debug, Default, serde::Deserialize)]
struct AcceptedBody {
    /// The canonical login name.
    name: Option<String>,
    /// The user's groups.
    #[serde(default)]
    groups: Vec<String>,
}

/// Reads an answer; `Err` (an outage) for any status other than 2xx, 401, 403, 404, for a
/// 2xx whose body is neither empty nor the expected JSON object (its groups could be wrong),
/// and for a `name` breaking the user-name rule (control characters, surrounding whitespace,
/// empty, too long): such an answer cannot be trusted either.
pub(super) fn verdict(status: StatusCode, body: &[u8]) -> Result<Verdict, String> {
    match status.as_u16() {
        200..=299 => {
            let body = if body.trim_ascii().is_empty() {
                AcceptedBody::default()
            } else {
                serde_json::from_slice::<AcceptedBody>(body)
                    .map_err(|error| format!("answered {status} with an unreadable body: {error}"))?
            };
            if let Some(name) = &body.name
                && let Err(error) = check_name(name)
            {
                return Err(format!("answered {status} with the \"name\" {}: {error}", Escaped(name)));
            }
            let name = body.name;
            Ok(Verdict::Accepted { name, groups: body.groups })
        }
        401 | 403 => Ok(Verdict::Denied),
        404 => Ok(Verdict::UnknownUser),
        _ => Err(format!("answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let accepted = |name: Option<&str>, groups: &[&str]| {
            Ok(Verdict::Accepted {
                name: name.map(str::to_owned),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            })
        };
        let cases: Vec<(u16, &str, Result<Verdict, String>)> = vec![
            (200, "", accepted(None, &[])),
            (204, "  \n", accepted(None, &[])),
            (200, r#"{"groups":["dev","ops"]}"#, accepted(None, &["dev", "ops"])),
            (200, r#"{"name":"Alice","groups":[],"extra":1}"#, accepted(Some("Alice"), &[])),
            (401, "nope", Ok(Verdict::Denied)),
            (403, "", Ok(Verdict::Denied)),
            (404, "", Ok(Verdict::UnknownUser)),
        ];
        for (status, body, expected) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(verdict(status, body.as_bytes()), expected, "{status} {body:?}");
        }
        let outages = [
            (500, ""),
            (302, ""),
            (400, ""),
            (200, "ok"),
            (200, r#"{"groups":"dev"}"#),
            (200, r#"{"name":" "}"#),
            (200, r#"{"name":""}"#),
            (200, r#"{"name":"admin\n2026-01-01 INFO token issued user=root"}"#),
            (200, r#"{"name":"\u001b[2Jadmin"}"#),
            (200, r#"{"name":" admin"}"#),
            (200, r#"{"name":"admin "}"#),
        ];
        for (status, body) in outages {
            let status = StatusCode::from_u16(status).unwrap();
            let reason = verdict(status, body.as_bytes()).expect_err(body);
            assert!(!reason.chars().any(crate::untrusted::is_control), "{reason:?} is escaped");
        }
    }

    #[test]
    fn requests_carry_the_credentials() {
        let uri: Uri = "http://127.0.0.1:1/check".parse().unwrap();
        let password = Secret::new("pa:ss");
        let basic = credentials_request(&uri, HttpCredentials::Basic, "alice", &password).unwrap();
        assert_eq!(basic.method(), Method::GET);
        let header = basic.headers()[AUTHORIZATION].to_str().unwrap();
        assert_eq!(header, format!("Basic {}", STANDARD.encode("alice:pa:ss")));
        assert!(basic.headers()[AUTHORIZATION].is_sensitive());
        let json = credentials_request(&uri, HttpCredentials::Json, "alice", &password).unwrap();
        assert_eq!(json.method(), Method::POST);
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
        assert!(!json.headers().contains_key(AUTHORIZATION));
    }
}

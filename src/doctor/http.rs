//! The doctor's HTTP client: hyper-util over rustls (aws-lc-rs), trusting a CA file or the
//! system roots, with a timeout on every request and a cap on the body read.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::secret::Secret;

/// The time allowed for one request, connecting included.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest body read.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// An answer: status, headers and (up to 64 KiB of) body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A client for the registry and the realm.
#[derive(Debug, Clone)]
pub struct DoctorClient {
    /// The pooled client.
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl DoctorClient {
    /// A client trusting the certificates in `ca_file`, or else the system roots.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?;
        let tls = match ca_file {
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                let certificates = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                if certificates.is_empty() {
                    return Err(format!("{}: no certificate in the CA file", path.display()));
                }
                for certificate in certificates {
                    roots.add(certificate).map_err(|error| format!("{}: {error}", path.display()))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            // No system roots (a minimal container) still leaves plain-http setups checkable.
            None => match builder.clone().with_native_roots() {
                Ok(builder) => builder.with_no_client_auth(),
                Err(_) => {
                    builder.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()
                }
            },
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(REQUEST_TIMEOUT));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self { client: Client::builder(TokioExecutor::new()).build(connector) })
    }

    /// `GET url`, with `Authorization: Bearer TOKEN` when `token` is given.
    pub async fn get(&self, url: &str, token: Option<&Secret>) -> Result<Answer, String> {
        let uri: Uri = url.parse().map_err(|error| format!("{url:?} is not a URL: {error}"))?;
        let mut request = Request::get(uri)
            .header(USER_AGENT, concat!("regent-doctor/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|error| error.to_string())?;
        if let Some(token) = token {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| "the token is not a header value".to_owned())?;
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| error_chain(&error))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|error| format!("reading the body: {error}"))?
                .to_bytes();
            Ok(Answer { status: parts.status, headers: parts.headers, body })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
        }
    }
}

/// An error and its sources (`connection refused` is in the source of hyper's error).
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

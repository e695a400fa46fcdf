//! TLS for a listener: certificates loaded from PEM files (reloaded when they change, or on
//! demand for SIGHUP), chosen by SNI with a default for clients that send none, and the rustls
//! server configuration (aws-lc-rs, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`).
//!
//! A reload swaps the certificate for new handshakes only: connections already open keep the
//! session they negotiated.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::FrontError;
use crate::config::TlsConfig;
use crate::reload::Reloadable;

/// The ALPN protocols offered, in order of preference.
pub const ALPN_PROTOCOLS: &[&[u8]] = &[b"h2", b"http/1.1"];

/// One certificate chain and key, reloaded when either file changes.
type WatchedKey = Arc<Reloadable<CertifiedKey>>;

/// The certificates of one TLS listener: a default and any chosen by SNI name.
#[derive(Debug)]
pub struct CertificateStore {
    /// Presented when the client sends no SNI or a name no entry lists.
    default: WatchedKey,
    /// `(names, certificate)` in file order; names are lower case, `*.` matches one label.
    by_name: Vec<(Vec<String>, WatchedKey)>,
}

impl CertificateStore {
    /// Loads every certificate and key named by `config`; any unusable file is an error.
    pub fn load(config: &TlsConfig) -> Result<Arc<Self>, FrontError> {
        let provider = Arc::new(provider());
        let default = watched_key(&provider, &config.certificate, &config.key)?;
        let by_name = config
            .sni
            .iter()
            .map(|entry| Ok((entry.names.clone(), watched_key(&provider, &entry.certificate, &entry.key)?)))
            .collect::<Result<_, FrontError>>()?;
        Ok(Arc::new(Self { default, by_name }))
    }

    /// The certificate for a client that asked for `server_name` (`None`: no SNI).
    pub fn resolve(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        let name = server_name.map(str::to_ascii_lowercase);
        let chosen = name.and_then(|name| {
            self.by_name.iter().find(|(names, _)| names.iter().any(|pattern| name_matches(pattern, &name)))
        });
        chosen.map_or(&self.default, |(_, key)| key).get()
    }

    /// Tells `observer` of every reload of every certificate.
    pub fn set_reload_observer(&self, observer: crate::reload::ReloadObserver) {
        for key in self.keys() {
            key.set_observer(observer.clone());
        }
    }

    /// Starts one watcher per certificate; they end when the store is dropped.
    pub fn spawn_watchers(&self, interval: Duration) {
        for key in self.keys() {
            key.spawn_watcher(interval);
        }
    }

    /// Reloads every certificate now (SIGHUP). Each one that fails keeps its last good
    /// version; the errors are returned together.
    pub fn force_reload(&self) -> Result<(), FrontError> {
        let errors: Vec<String> = self
            .keys()
            .filter_map(|key| key.force_reload().err().map(|error| format!("{}: {error}", key.name())))
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(FrontError::Reload(errors.join("; "))) }
    }

    fn keys(&self) -> impl Iterator<Item = &WatchedKey> {
        std::iter::once(&self.default).chain(self.by_name.iter().map(|(_, key)| key))
    }
}

/// Picks the certificate for each handshake from a [`CertificateStore`].
#[derive(Debug)]
struct SniResolver(Arc<CertificateStore>);

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.resolve(client_hello.server_name()))
    }
}

/// The rustls server configuration of a TLS listener: aws-lc-rs (not the process default, so
/// library users need not install one), TLS 1.3 and 1.2 only, ALPN `h2` then `http/1.1`.
pub fn server_config(store: Arc<CertificateStore>) -> Result<Arc<ServerConfig>, FrontError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .map_err(FrontError::Tls)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver(store)));
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Arc::new(config))
}

fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// Whether `name` (lower case) matches `pattern`: equal, or `*.rest` with one label before `rest`.
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(rest) => name.split_once('.').is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
        None => pattern == name,
    }
}

fn watched_key(
    provider: &Arc<CryptoProvider>,
    certificate: &Path,
    key: &Path,
) -> Result<WatchedKey, FrontError> {
    let name = format!("TLS certificate {}", certificate.display());
    let (certificate, key, provider) = (certificate.to_path_buf(), key.to_path_buf(), provider.clone());
    let paths = vec![certificate.clone(), key.clone()];
    Reloadable::new(&name, paths, move || load_certified_key(&provider, &certificate, &key))
}

/// Reads a PEM certificate chain (leaf first) and its PEM private key, and checks they match.
pub fn load_certified_key(
    provider: &CryptoProvider,
    certificate: &Path,
    key: &Path,
) -> Result<CertifiedKey, FrontError> {
    let pem_error = |path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |error| FrontError::Pem { path, error }
    };
    let chain = CertificateDer::pem_file_iter(certificate)
        .map_err(pem_error(certificate))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(certificate))?;
    if chain.is_empty() {
        return Err(FrontError::NoCertificate { path: certificate.to_path_buf() });
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(pem_error(key))?;
    CertifiedKey::from_der(chain, private_key, provider).map_err(|error| FrontError::Key {
        certificate: certificate.to_path_buf(),
        key: key.to_path_buf(),
        error,
    })
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;

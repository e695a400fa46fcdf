//! TLS for a listener: certificates loaded from PEM files (reloaded when they change, or on
//! demand for SIGHUP), chosen by SNI with a default for clients that send none, and the rustls
//! server configuration (aws-lc-rs, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`).
//!
//! A reload swaps the certificate for new handshakes only: connections already open keep the
//! session they negotiated.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
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

/// The certificates of one TLS listener: a default and any chosen by SNI name. A changed
/// `[listen.tls]` replaces them whole ([`CertificateStore::replace`]).
pub struct CertificateStore {
    /// The certificates new handshakes get.
    current: ArcSwap<Certificates>,
    /// Told of every reload, also of certificates that replace these later.
    observer: OnceLock<crate::reload::ReloadObserver>,
    /// How often the files are polled, once watching has started.
    watch_interval: OnceLock<Duration>,
}

impl std::fmt::Debug for CertificateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateStore").field("current", &self.current).finish_non_exhaustive()
    }
}

/// One version of a listener's `[listen.tls]`, loaded.
#[derive(Debug)]
struct Certificates {
    /// Presented when the client sends no SNI or a name no entry lists.
    default: WatchedKey,
    /// `(names, certificate)` in file order; names are lower case, `*.` matches one label.
    by_name: Vec<(Vec<String>, WatchedKey)>,
}

impl Certificates {
    fn load(config: &TlsConfig) -> Result<Self, FrontError> {
        let provider = Arc::new(provider());
        let default = watched_key(&provider, &config.certificate, &config.key)?;
        let by_name = config
            .sni
            .iter()
            .map(|entry| Ok((entry.names.clone(), watched_key(&provider, &entry.certificate, &entry.key)?)))
            .collect::<Result<_, FrontError>>()?;
        Ok(Self { default, by_name })
    }

    fn keys(&self) -> impl Iterator<Item = &WatchedKey> {
        std::iter::once(&self.default).chain(self.by_name.iter().map(|(_, key)| key))
    }
}

impl CertificateStore {
    /// Loads every certificate and key named by `config`; any unusable file is an error.
    pub fn load(config: &TlsConfig) -> Result<Arc<Self>, FrontError> {
        Ok(Arc::new(Self {
            current: ArcSwap::from_pointee(Certificates::load(config)?),
            observer: OnceLock::new(),
            watch_interval: OnceLock::new(),
        }))
    }

    /// The certificate for a client that asked for `server_name` (`None`: no SNI).
    pub fn resolve(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        let certificates = self.current.load();
        let name = server_name.map(str::to_ascii_lowercase);
        let chosen = name.and_then(|name| {
            certificates
                .by_name
                .iter()
                .find(|(names, _)| names.iter().any(|pattern| name_matches(pattern, &name)))
        });
        chosen.map_or(&certificates.default, |(_, key)| key).get()
    }

    /// Tells `observer` of every reload of every certificate. Only the first observer counts.
    pub fn set_reload_observer(&self, observer: crate::reload::ReloadObserver) {
        if self.observer.set(observer.clone()).is_ok() {
            for key in self.current.load().keys() {
                key.set_observer(observer.clone());
            }
        }
    }

    /// Starts one watcher per certificate (and per certificate that replaces these later);
    /// they end when their certificate is dropped. Only the first call counts.
    pub fn spawn_watchers(&self, interval: Duration) {
        if self.watch_interval.set(interval).is_ok() {
            for key in self.current.load().keys() {
                key.spawn_watcher(interval);
            }
        }
    }

    /// Reloads every certificate now (SIGHUP). Each one that fails keeps its last good
    /// version; the errors are returned together.
    pub fn force_reload(&self) -> Result<(), FrontError> {
        let certificates = self.current.load();
        let errors: Vec<String> = certificates
            .keys()
            .filter_map(|key| key.force_reload().err().map(|error| format!("{}: {error}", key.name())))
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(FrontError::Reload(errors.join("; "))) }
    }

    /// Loads the certificates `config` names, for [`CertificateStore::replace`].
    pub fn prepare(config: &TlsConfig) -> Result<NewCertificates, FrontError> {
        Certificates::load(config).map(NewCertificates)
    }

    /// Presents `certificates` (other files than before: a changed `[listen.tls]`) to the next
    /// handshakes, and watches their files instead. Open connections keep theirs.
    pub fn replace(&self, certificates: NewCertificates) {
        let NewCertificates(certificates) = certificates;
        for key in certificates.keys() {
            if let Some(observer) = self.observer.get() {
                key.set_observer(observer.clone());
            }
            if let Some(interval) = self.watch_interval.get() {
                key.spawn_watcher(*interval);
            }
        }
        self.current.store(Arc::new(certificates));
    }
}

/// A listener's certificates loaded from a changed `[listen.tls]`, not presented yet: loading
/// every listener's before replacing any keeps a reload all-or-nothing.
#[derive(Debug)]
pub struct NewCertificates(Certificates);

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

//! The rustls client settings trusting the configured CA file.

use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::error::LdapError;

/// Client settings trusting exactly the certificates in the PEM file `path`.
pub(super) fn client_config(backend: &str, path: &Path) -> Result<Arc<ClientConfig>, LdapError> {
    let pem = std::fs::read(path).map_err(|error| LdapError::ReadCa {
        backend: backend.to_owned(),
        path: path.to_owned(),
        error,
    })?;
    let bad_ca =
        |reason: String| LdapError::BadCa { backend: backend.to_owned(), path: path.to_owned(), reason };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|error| bad_ca(error.to_string()))?;
        roots.add(certificate).map_err(|error| bad_ca(error.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad_ca("no CERTIFICATE block".to_owned()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| LdapError::Tls { backend: backend.to_owned(), reason: error.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

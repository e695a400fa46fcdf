//! `regent init --host NAME`: a local CA and a server certificate for regent's TLS listener.
//!
//! ```text
//! DIR/certs/ca.crt      the local CA, 0644: what docker/podman/skopeo must trust (certs.d)
//! DIR/certs/ca.key      its key, 0600 (only needed to issue another server certificate)
//! DIR/certs/server.crt  the server certificate (leaf only), every --host as a SAN, 0644
//! DIR/certs/server.key  its key, 0600
//! ```
//!
//! Certificates already in place (for example from a real CA) are used as they are; they are
//! replaced only with `--force`. Keys are ECDSA P-256.

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use super::InitError;
use super::files::{self, Outcome};
pub use super::tls_report::TlsReport;
use crate::secret::Secret;

/// The certificate directory, relative to the data directory.
pub const CERTS_DIR: &str = "certs";
/// The local CA's certificate, relative to the data directory.
pub const CA_CERTIFICATE_FILE: &str = "certs/ca.crt";
/// The local CA's key, relative to the data directory.
pub const CA_KEY_FILE: &str = "certs/ca.key";
/// The server certificate, relative to the data directory.
pub const SERVER_CERTIFICATE_FILE: &str = "certs/server.crt";
/// The server certificate's key, relative to the data directory.
pub const SERVER_KEY_FILE: &str = "certs/server.key";

/// How far before `now` the certificates become valid (absorbs small clock differences).
const BACKDATE: Duration = Duration::minutes(1);
/// The local CA's lifetime.
const CA_VALIDITY: Duration = Duration::days(3653);
/// The server certificate's lifetime: 825 days, the most Apple platforms accept from a CA the
/// user installed.
const SERVER_VALIDITY: Duration = Duration::days(825);

/// A name the server certificate is valid for: a DNS name or an IP address (an IP SAN: clients
/// that connect to an address send no SNI and match the certificate's IP SANs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsHost {
    /// A DNS name, e.g. `registry.example.com` (a leading `*.` label is a wildcard).
    Dns(String),
    /// An IP address, e.g. `127.0.0.1`.
    Ip(IpAddr),
}

impl TlsHost {
    /// Parses `--host`: an IPv4/IPv6 address (brackets allowed) or a DNS name.
    pub fn parse(text: &str) -> Result<Self, InitError> {
        let unbracketed = text.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(text);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let label_ok = |(index, label): (usize, &&str)| {
            (index == 0 && **label == *"*" && labels.len() > 2)
                || (!label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        };
        if name.is_empty() || name.len() > 253 || !labels.iter().enumerate().all(label_ok) {
            return Err(InitError::InvalidOption {
                message: format!(
                    "--host {text:?} is neither an IP address nor a DNS name (no port, no scheme), \
                     e.g. registry.example.com or 127.0.0.1"
                ),
            });
        }
        Ok(Self::Dns(name))
    }

    /// The name as a SAN.
    fn san(&self) -> Result<SanType, InitError> {
        match self {
            Self::Dns(name) => Ok(SanType::DnsName(name.as_str().try_into().map_err(certificate_error)?)),
            Self::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        }
    }
}

impl std::fmt::Display for TlsHost {
    /// The DNS name, or the address (IPv6 in brackets, as in `HOST:PORT`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A new local CA and a server certificate it signed, as PEM.
pub struct GeneratedTls {
    /// The CA's self-signed certificate.
    pub ca_cert_pem: String,
    /// The CA's PKCS#8 key.
    pub ca_key_pem: Secret,
    /// The server certificate (the leaf alone).
    pub server_cert_pem: String,
    /// The server certificate's PKCS#8 key.
    pub server_key_pem: Secret,
}

/// Generates a local CA and a server certificate naming every host in `hosts` (which must not
/// be empty), valid from one minute before `now`.
pub fn generate_tls(hosts: &[TlsHost], now: OffsetDateTime) -> Result<GeneratedTls, InitError> {
    let Some(first) = hosts.first() else {
        return Err(InitError::InvalidOption { message: "no --host for the server certificate".to_owned() });
    };
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(certificate_error)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = common_name(&format!("regent local CA for {first}"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = now - BACKDATE;
    ca_params.not_after = now + CA_VALIDITY;
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(certificate_error)?;

    let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(certificate_error)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(&first.to_string());
    params.subject_alt_names = hosts.iter().map(TlsHost::san).collect::<Result<_, _>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - BACKDATE;
    params.not_after = now + SERVER_VALIDITY;
    let server = params.signed_by(&server_key, &ca).map_err(certificate_error)?;
    Ok(GeneratedTls {
        ca_cert_pem: ca.pem(),
        ca_key_pem: Secret::new(ca.key().serialize_pem()),
        server_cert_pem: server.pem(),
        server_key_pem: Secret::new(server_key.serialize_pem()),
    })
}

fn common_name(name: &str) -> DistinguishedName {
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, name);
    subject
}

fn certificate_error(error: rcgen::Error) -> InitError {
    InitError::Certificate { message: error.to_string() }
}

/// What `init` does about the TLS files.
pub(crate) enum TlsPlan {
    /// A server certificate and key are in place: use them as they are.
    Keep,
    /// Write these new files (replacing old ones only under `--force`).
    Write(Box<GeneratedTls>),
}

/// Decides (before anything is written) what to do with the TLS files in `dir` for `hosts`.
pub(crate) fn plan(
    dir: &Path,
    hosts: &[TlsHost],
    force: bool,
    now: OffsetDateTime,
) -> Result<Option<TlsPlan>, InitError> {
    if hosts.is_empty() {
        return Ok(None);
    }
    if !force {
        let exists = |name: &str| {
            let path = dir.join(name);
            path.try_exists().map(|found| (found, path.clone())).map_err(files::io_error(&path))
        };
        let (server_cert, server_key) = (exists(SERVER_CERTIFICATE_FILE)?, exists(SERVER_KEY_FILE)?);
        match (server_cert, server_key) {
            ((true, _), (true, _)) => return Ok(Some(TlsPlan::Keep)),
            ((true, present), (false, missing)) | ((false, missing), (true, present)) => {
                return Err(InitError::TlsIncomplete { present, missing });
            }
            _ => {}
        }
        for (found, present) in [exists(CA_CERTIFICATE_FILE)?, exists(CA_KEY_FILE)?] {
            if found {
                return Err(InitError::TlsIncomplete { present, missing: dir.join(SERVER_CERTIFICATE_FILE) });
            }
        }
    }
    Ok(Some(TlsPlan::Write(Box::new(generate_tls(hosts, now)?))))
}

/// Carries out `plan` in `dir`, appending what happened to each file to `outcomes`.
pub(crate) fn apply(
    dir: &Path,
    plan: TlsPlan,
    hosts: &[TlsHost],
    port: u16,
    outcomes: &mut Vec<(Outcome, PathBuf)>,
) -> Result<TlsReport, InitError> {
    let ca_certificate = dir.join(CA_CERTIFICATE_FILE);
    let server_certificate = dir.join(SERVER_CERTIFICATE_FILE);
    let server_key = dir.join(SERVER_KEY_FILE);
    let mut uncovered_hosts = Vec::new();
    match plan {
        TlsPlan::Keep => {
            for path in [&ca_certificate, &server_certificate, &server_key] {
                if path.exists() {
                    outcomes.push((Outcome::Kept, path.clone()));
                }
            }
            uncovered_hosts = super::tls_report::hosts_not_named(&server_certificate, hosts);
        }
        TlsPlan::Write(generated) => {
            files::ensure_dir(&dir.join(CERTS_DIR), 0o755)?;
            let contents = [
                (CA_KEY_FILE, generated.ca_key_pem.expose().as_bytes(), 0o600),
                (CA_CERTIFICATE_FILE, generated.ca_cert_pem.as_bytes(), 0o644),
                (SERVER_KEY_FILE, generated.server_key_pem.expose().as_bytes(), 0o600),
                (SERVER_CERTIFICATE_FILE, generated.server_cert_pem.as_bytes(), 0o644),
            ];
            let mut prepared = Vec::new();
            for (name, text, mode) in contents {
                let path = dir.join(name);
                prepared.push((files::prepare(&path, text, mode)?, path));
            }
            for (file, path) in prepared {
                outcomes.push((files::replace(file, &path)?, path));
            }
        }
    }
    Ok(TlsReport {
        hosts: hosts.iter().map(ToString::to_string).collect(),
        port,
        ca_certificate: ca_certificate.exists().then_some(ca_certificate),
        server_certificate,
        server_key,
        uncovered_hosts,
    })
}

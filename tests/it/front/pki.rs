//! A test PKI made with rcgen: one CA and leaf certificates for the names given.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A CA that signs leaf certificates.
pub struct TestPki {
    /// The CA certificate, PEM (what clients trust).
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate and its key.
pub struct Leaf {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
}

impl TestPki {
    /// A fresh P-256 CA called `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Self { ca_pem: cert.pem(), issuer: Issuer::new(params, key) }
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }
}

impl Leaf {
    /// Writes `STEM.crt` and `STEM.key` into `dir` atomically (a new inode, as a renewal
    /// tool does) and returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        for (path, text) in [(&key, &self.key_pem), (&cert, &self.cert_pem)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, path).unwrap();
        }
        (cert, key)
    }

    /// The certificate, DER (to compare with what a server presented).
    pub fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).unwrap()
    }
}

/// The names the default test certificate carries.
pub const DEFAULT_NAMES: &[&str] = &["127.0.0.1", "localhost", "registry.test", "nexus.test"];
/// The SNI name with a certificate of its own.
pub const OTHER_NAME: &str = "other.test";

/// A CA, a default certificate for [`DEFAULT_NAMES`] and one for [`OTHER_NAME`] chosen by
/// SNI, written to a temp directory, with the `[listen.tls]` settings naming them.
pub struct TestCerts {
    /// Holds the PEM files.
    pub dir: tempfile::TempDir,
    /// The CA.
    pub pki: TestPki,
    /// The default certificate.
    pub default: Leaf,
    /// The certificate for [`OTHER_NAME`].
    pub other: Leaf,
    /// `[listen.tls]` naming the files.
    pub tls: regent::config::TlsConfig,
}

impl TestCerts {
    /// Makes and writes everything.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new("regent test CA");
        let default = pki.leaf(DEFAULT_NAMES);
        let other = pki.leaf(&[OTHER_NAME]);
        let (certificate, key) = default.write(dir.path(), "server");
        let (other_certificate, other_key) = other.write(dir.path(), "other");
        let tls = regent::config::TlsConfig {
            certificate,
            key,
            sni: vec![regent::config::SniCertificate {
                names: vec![OTHER_NAME.to_owned()],
                certificate: other_certificate,
                key: other_key,
            }],
        };
        Self { dir, pki, default, other, tls }
    }
}

//! The certificate (chain) that goes with a signing key: `kid`, `x5c` and validity.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;

use super::jwk::PublicJwk;
use super::kid::libtrust_kid;

/// What a signing key needs from its PEM certificate file: the leaf first, then any chain.
#[derive(Debug, Clone)]
pub(super) struct CertificateChain {
    /// The DER of every certificate, leaf first, in file order.
    pub(super) ders: Vec<Vec<u8>>,
    /// The leaf's subject public key (the BIT STRING contents of its SubjectPublicKeyInfo).
    pub(super) leaf_public_key: Vec<u8>,
    /// The libtrust `kid` of the leaf's SubjectPublicKeyInfo.
    pub(super) kid: String,
    /// The leaf's public key as a JWK.
    pub(super) jwk: PublicJwk,
    /// The RFC 7638 thumbprint of the leaf's key, as registry 3 computes it.
    pub(super) thumbprint: String,
    /// The leaf's `notBefore`.
    pub(super) not_before: OffsetDateTime,
}

impl CertificateChain {
    /// Parses a PEM file of one or more certificates; the error text says what is wrong.
    pub(super) fn from_pem(cert_pem: &str) -> Result<Self, String> {
        let blocks = pem::parse_many(cert_pem).map_err(|error| format!("not a PEM file: {error}"))?;
        let ders: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|block| block.tag() == "CERTIFICATE")
            .map(pem::Pem::into_contents)
            .collect();
        let Some(leaf_der) = ders.first() else {
            return Err("no CERTIFICATE block found".to_owned());
        };
        let (_, leaf) = x509_parser::parse_x509_certificate(leaf_der)
            .map_err(|error| format!("invalid certificate: {error}"))?;
        for (index, der) in ders.iter().enumerate().skip(1) {
            x509_parser::parse_x509_certificate(der)
                .map_err(|error| format!("invalid certificate #{}: {error}", index + 1))?;
        }
        let spki = &leaf.tbs_certificate.subject_pki;
        let jwk = PublicJwk::from_spki(spki)?;
        Ok(Self {
            thumbprint: jwk.thumbprint(),
            jwk,
            kid: libtrust_kid(spki.raw),
            leaf_public_key: spki.subject_public_key.data.to_vec(),
            not_before: leaf.validity().not_before.to_datetime(),
            ders,
        })
    }

    /// The `x5c` header value: standard base64 (padded) of each DER, leaf first.
    pub(super) fn x5c(&self) -> Vec<String> {
        self.ders.iter().map(|der| STANDARD.encode(der)).collect()
    }

    /// The certificates as PEM text with LF line endings.
    pub(super) fn to_pem(&self) -> String {
        let blocks: Vec<pem::Pem> =
            self.ders.iter().map(|der| pem::Pem::new("CERTIFICATE", der.clone())).collect();
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_many_config(&blocks, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(file: &str) -> String {
        let path = format!("{}/tests/data/kid/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn chain_keeps_every_certificate_in_order() {
        let rsa = vector("rsa.crt");
        let ec = vector("ec.crt");
        let chain = CertificateChain::from_pem(&format!("{rsa}{ec}")).unwrap();
        assert_eq!(chain.ders.len(), 2);
        assert_eq!(chain.kid, "I3QK:4I6G:TPAS:JK6B:SMA2:M4YO:OXP6:X66P:G4S3:HJTA:ZTJQ:ICKQ");
        let x5c = chain.x5c();
        assert_eq!(STANDARD.decode(&x5c[1]).unwrap(), chain.ders[1]);
        let again = CertificateChain::from_pem(&chain.to_pem()).unwrap();
        assert_eq!(again.ders, chain.ders);
        assert!(!chain.to_pem().contains('\r'));
    }

    #[test]
    fn files_without_certificates_are_refused() {
        let cases = [
            ("", "no CERTIFICATE block"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no CERTIFICATE block"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "invalid certificate"),
        ];
        for (text, expected) in cases {
            let error = CertificateChain::from_pem(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}

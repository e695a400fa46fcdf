//! PEM private keys parsed once into aws-lc-rs key pairs, and the signature they make.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, VerificationAlgorithm,
};

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// What the error says when a key is of a kind we cannot sign with.
const SUPPORTED: &str = "only RSA (2048 bits or more), ECDSA P-256 and Ed25519 keys are supported";

/// A parsed private key ready to sign.
pub(super) enum PrivateKey {
    /// RSA, signs RS256 (PKCS#1 v1.5 with SHA-256).
    Rsa(RsaKeyPair),
    /// ECDSA P-256, signs ES256 as JOSE `r||s` (64 bytes).
    Ec(EcdsaKeyPair),
    /// Ed25519, signs EdDSA (64 bytes; registry 3 only).
    Ed25519(Ed25519KeyPair),
}

impl PrivateKey {
    /// Parses the first private key of a PEM file: PKCS#8, PKCS#1 RSA or SEC1 EC.
    pub(super) fn from_pem(key_pem: &str) -> Result<Self, String> {
        let blocks = pem::parse_many(key_pem).map_err(|error| format!("not a PEM file: {error}"))?;
        let Some(block) = blocks.iter().find(|block| block.tag().ends_with("PRIVATE KEY")) else {
            return Err("no PRIVATE KEY block found".to_owned());
        };
        let der = block.contents();
        let key = match block.tag() {
            "PRIVATE KEY" => Self::from_pkcs8(der)?,
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der)
                .map(Self::Rsa)
                .map_err(|error| format!("invalid RSA PRIVATE KEY: {error}"))?,
            "EC PRIVATE KEY" => EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map(Self::Ec)
                .map_err(|error| format!("invalid EC PRIVATE KEY ({SUPPORTED}): {error}"))?,
            "ENCRYPTED PRIVATE KEY" => {
                return Err("encrypted private keys are not supported".to_owned());
            }
            other => return Err(format!("unsupported key block {other:?}: {SUPPORTED}")),
        };
        key.check_size()?;
        Ok(key)
    }

    /// Parses a PKCS#8 key, RSA, P-256 or Ed25519 (v1 or v2).
    fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        if let Ok(rsa) = RsaKeyPair::from_pkcs8(der) {
            return Ok(Self::Rsa(rsa));
        }
        if let Ok(ed25519) = Ed25519KeyPair::from_pkcs8(der) {
            return Ok(Self::Ed25519(ed25519));
        }
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(Self::Ec)
            .map_err(|error| format!("unsupported or invalid PRIVATE KEY ({SUPPORTED}): {error}"))
    }

    /// Refuses RSA keys under 2048 bits.
    fn check_size(&self) -> Result<(), String> {
        match self {
            Self::Rsa(rsa) if rsa.public_modulus_len() < MIN_RSA_MODULUS_BYTES => {
                Err(format!("RSA key of {} bits: {SUPPORTED}", rsa.public_modulus_len() * 8))
            }
            _ => Ok(()),
        }
    }

    /// The public key as it appears in a certificate's SubjectPublicKeyInfo BIT STRING:
    /// a PKCS#1 `RSAPublicKey` DER for RSA, the uncompressed point for EC.
    pub(super) fn public_key_bits(&self) -> &[u8] {
        match self {
            Self::Rsa(rsa) => rsa.public_key().as_ref(),
            Self::Ec(ec) => ec.public_key().as_ref(),
            Self::Ed25519(ed25519) => ed25519.public_key().as_ref(),
        }
    }

    /// The JOSE algorithm name.
    pub(super) fn algorithm(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
            Self::Ed25519(_) => "EdDSA",
        }
    }

    /// The algorithm that verifies what [`PrivateKey::sign`] makes, for the public key.
    pub(super) fn verification_algorithm(&self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::Rsa(_) => &RSA_PKCS1_2048_8192_SHA256,
            Self::Ec(_) => &ECDSA_P256_SHA256_FIXED,
            Self::Ed25519(_) => &ED25519,
        }
    }

    /// Signs `msg`: RS256, ES256 (JOSE `r||s`) or EdDSA.
    pub(super) fn sign(&self, rng: &SystemRandom, msg: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Self::Rsa(rsa) => {
                let mut signature = vec![0; rsa.public_modulus_len()];
                rsa.sign(&RSA_PKCS1_SHA256, rng, msg, &mut signature)
                    .map_err(|_| "RSA signature failed".to_owned())?;
                Ok(signature)
            }
            Self::Ec(ec) => ec
                .sign(rng, msg)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| "ECDSA signature failed".to_owned()),
            Self::Ed25519(ed25519) => Ok(ed25519.sign(msg).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::KeySize;

    fn pem_of(tag: &str, der: &[u8]) -> String {
        pem::encode(&pem::Pem::new(tag, der.to_vec()))
    }

    #[test]
    fn reads_pkcs8_pkcs1_and_sec1() {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let rsa_pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
        let key = PrivateKey::from_pem(&pem_of("PRIVATE KEY", rsa_pkcs8.as_ref())).unwrap();
        assert_eq!(key.algorithm(), "RS256");
        assert_eq!(key.public_key_bits(), rsa.public_key().as_ref());

        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let ec_pkcs8 = ec.to_pkcs8v1().unwrap();
        let key = PrivateKey::from_pem(&pem_of("PRIVATE KEY", ec_pkcs8.as_ref())).unwrap();
        assert_eq!(key.algorithm(), "ES256");
        let sec1 = AsDer::<aws_lc_rs::encoding::EcPrivateKeyRfc5915Der>::as_der(&ec.private_key()).unwrap();
        let params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
        let text = format!("{params}{}", pem_of("EC PRIVATE KEY", sec1.as_ref()));
        let key = PrivateKey::from_pem(&text).unwrap();
        assert_eq!(key.public_key_bits(), ec.public_key().as_ref());
        assert_eq!(key.sign(&SystemRandom::new(), b"msg").unwrap().len(), 64);

        let ed25519 = Ed25519KeyPair::generate().unwrap();
        for pkcs8 in [ed25519.to_pkcs8().unwrap(), ed25519.to_pkcs8v1().unwrap()] {
            let key = PrivateKey::from_pem(&pem_of("PRIVATE KEY", pkcs8.as_ref())).unwrap();
            assert_eq!(key.algorithm(), "EdDSA");
            assert_eq!(key.public_key_bits(), ed25519.public_key().as_ref());
            assert_eq!(key.sign(&SystemRandom::new(), b"msg").unwrap().len(), 64);
        }
    }

    #[test]
    fn reads_pkcs1_rsa_from_a_generated_key() {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
        // A PKCS#8 RSA key wraps the PKCS#1 RSAPrivateKey in its last OCTET STRING.
        let (_, info) = x509_parser::der_parser::parse_der(pkcs8.as_ref()).unwrap();
        let pkcs1 = info.as_sequence().unwrap()[2].as_slice().unwrap().to_vec();
        let key = PrivateKey::from_pem(&pem_of("RSA PRIVATE KEY", &pkcs1)).unwrap();
        assert_eq!(key.public_key_bits(), rsa.public_key().as_ref());
        assert_eq!(key.sign(&SystemRandom::new(), b"msg").unwrap().len(), 256);
    }

    #[test]
    fn refuses_what_it_cannot_sign_with() {
        let p384 = EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING)
            .unwrap()
            .to_pkcs8v1()
            .unwrap();
        let cases = [
            (String::new(), "no PRIVATE KEY block"),
            (pem_of("CERTIFICATE", b"x"), "no PRIVATE KEY block"),
            (pem_of("ENCRYPTED PRIVATE KEY", b"x"), "encrypted"),
            (pem_of("DSA PRIVATE KEY", b"x"), "unsupported key block"),
            (pem_of("PRIVATE KEY", p384.as_ref()), "ECDSA P-256"),
            (pem_of("RSA PRIVATE KEY", b"garbage"), "invalid RSA PRIVATE KEY"),
        ];
        for (text, expected) in cases {
            let error = PrivateKey::from_pem(&text).err().unwrap();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}

//! Does the registry trust regent's current signing key: its certificate in the
//! `rootcertbundle`, its `kid` in the JWKS (registry 3)?

use std::path::Path;

use super::report::Check;
use crate::token::libtrust_kid;

/// What the registry must trust: the signing key's leaf certificate and the token's `kid`.
#[derive(Debug, Clone)]
pub struct SigningIdentity {
    /// The DER of the signing key's leaf certificate.
    pub certificate_der: Vec<u8>,
    /// The `kid` in the header of the tokens regent signs now.
    pub kid: String,
    /// The leaf certificates (DER) of the key set's other keys: pending ones sign next.
    pub other_certificates: Vec<Vec<u8>>,
}

/// The fix for a bundle that lacks the signing certificate.
const BUNDLE_FIX: &str = "put regent's certificates into the file the registry reads (regent keys bundle --out FILE, \
     or copy [token] keys' certificate files) and restart the registry: it reads the bundle only at start";

/// `bundle`: the registry's `rootcertbundle` holds the signing key's certificate.
pub(super) fn bundle_check(path: &Path, signing: &SigningIdentity) -> Check {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            return Check::fail(
                "bundle",
                format!("cannot read the rootcertbundle {}: {error}", path.display()),
                BUNDLE_FIX,
            );
        }
    };
    let certificates: Vec<Vec<u8>> = match pem::parse_many(&text) {
        Ok(blocks) => blocks
            .into_iter()
            .filter(|block| block.tag() == "CERTIFICATE")
            .map(pem::Pem::into_contents)
            .collect(),
        Err(error) => {
            return Check::fail("bundle", format!("{}: not a PEM file: {error}", path.display()), BUNDLE_FIX);
        }
    };
    let signing_kid = certificate_kid(&signing.certificate_der).unwrap_or_default();
    if certificates.contains(&signing.certificate_der) {
        let missing: Vec<String> = signing
            .other_certificates
            .iter()
            .filter(|der| !certificates.contains(der))
            .filter_map(|der| certificate_kid(der))
            .collect();
        if !missing.is_empty() {
            return Check::warn(
                "bundle",
                format!(
                    "{} holds regent's signing certificate (kid {signing_kid}) but not key(s) {} of its key set \
                     (pending or older): tokens signed by them are refused once they sign (or still live)",
                    path.display(),
                    missing.join(", ")
                ),
                "regent keys bundle --out FILE where rootcertbundle points, then restart the registry",
            );
        }
        return Check::ok(
            "bundle",
            format!(
                "{} holds regent's signing certificate (kid {signing_kid}; {} certificate(s) in all)",
                path.display(),
                certificates.len()
            ),
        );
    }
    let kids: Vec<String> = certificates.iter().filter_map(|der| certificate_kid(der)).collect();
    let found =
        if kids.is_empty() { "no certificate".to_owned() } else { format!("kid(s) {}", kids.join(", ")) };
    Check::fail(
        "bundle",
        format!(
            "{} holds {found}, not regent's signing certificate (kid {signing_kid}): the registry refuses every token",
            path.display(),
        ),
        BUNDLE_FIX,
    )
}

/// The libtrust `kid` of a DER certificate's public key.
fn certificate_kid(der: &[u8]) -> Option<String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(libtrust_kid(certificate.tbs_certificate.subject_pki.raw))
}

/// `jwks`: registry 3's `auth.token.jwks` file lists the `kid` regent's tokens carry.
pub(super) fn jwks_check(path: &Path, kid: &str) -> Check {
    let fix = "write regent's JWKS where the registry reads it (regent keys jwks --out FILE) and restart the registry";
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return Check::fail("jwks", format!("cannot read {}: {error}", path.display()), fix),
    };
    let kids: Vec<String> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => value["keys"]
            .as_array()
            .map(|keys| keys.iter().filter_map(|key| key["kid"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        Err(error) => return Check::fail("jwks", format!("{}: not JSON: {error}", path.display()), fix),
    };
    if kids.iter().any(|listed| listed == kid) {
        Check::ok("jwks", format!("{} lists the kid regent's tokens carry ({kid})", path.display()))
    } else {
        Check::fail(
            "jwks",
            format!(
                "{} lists kid(s) [{}], not {kid}, the kid regent's tokens carry",
                path.display(),
                kids.join(", ")
            ),
            fix,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::token::{KeyType, SigningKey, generate_key};
    use time::macros::datetime;

    fn identity(cert_pem: &str) -> SigningIdentity {
        let der = pem::parse(cert_pem).unwrap().into_contents();
        SigningIdentity {
            kid: certificate_kid(&der).unwrap(),
            certificate_der: der,
            other_certificates: vec![],
        }
    }

    #[test]
    fn the_bundle_must_hold_the_signing_certificate() {
        let now = datetime!(2026-01-01 00:00:00 UTC);
        let current = generate_key(KeyType::Ec, "regent", now).unwrap();
        let old = generate_key(KeyType::Ec, "regent", now).unwrap();
        let key = SigningKey::from_pem(current.key_pem.expose(), &current.cert_pem, "memory").unwrap();
        let signing = identity(&current.cert_pem);
        assert_eq!(signing.kid, key.kid());
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.crt");

        std::fs::write(&bundle, format!("{}{}", old.cert_pem, current.cert_pem)).unwrap();
        assert_eq!(bundle_check(&bundle, &signing).status, Status::Ok);

        // A pending key missing from the bundle: works now, breaks at the next activation.
        let pending = generate_key(KeyType::Ec, "regent", now).unwrap();
        let with_pending = SigningIdentity {
            other_certificates: vec![pem::parse(&pending.cert_pem).unwrap().into_contents()],
            ..signing.clone()
        };
        let warned = bundle_check(&bundle, &with_pending);
        assert_eq!(warned.status, Status::Warn, "{warned}");
        assert!(warned.message.contains(&identity(&pending.cert_pem).kid), "{warned}");
        std::fs::write(&bundle, format!("{}{}", current.cert_pem, pending.cert_pem)).unwrap();
        assert_eq!(bundle_check(&bundle, &with_pending).status, Status::Ok);

        std::fs::write(&bundle, &old.cert_pem).unwrap();
        let stale = bundle_check(&bundle, &signing);
        assert_eq!(stale.status, Status::Fail);
        assert!(stale.message.contains(&identity(&old.cert_pem).kid), "{stale}");
        assert!(stale.fix.as_deref().unwrap().contains("restart the registry"), "{stale}");

        std::fs::write(&bundle, "").unwrap();
        assert!(bundle_check(&bundle, &signing).message.contains("no certificate"));
        let missing = bundle_check(&dir.path().join("nope.crt"), &signing);
        assert!(missing.message.contains("cannot read"), "{missing}");
    }

    #[test]
    fn the_jwks_must_list_the_kid() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = dir.path().join("jwks.json");
        std::fs::write(&jwks, r#"{"keys":[{"kty":"EC","kid":"A"},{"kty":"EC","kid":"B"}]}"#).unwrap();
        assert_eq!(jwks_check(&jwks, "B").status, Status::Ok);
        let other = jwks_check(&jwks, "C");
        assert_eq!(other.status, Status::Fail);
        assert!(other.message.contains("[A, B]"), "{other}");
        std::fs::write(&jwks, "not json").unwrap();
        assert!(jwks_check(&jwks, "B").message.contains("not JSON"));
    }
}

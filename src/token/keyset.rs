//! [`KeySet`]: every configured key; the newest certificate signs, all go into the bundle.

use super::TokenError;
use super::keys::SigningKey;

/// The configured keys; the newest certificate (by `notBefore`, ties: last listed) signs.
///
/// Every key's certificate stays in the bundle so tokens signed by an older key keep verifying
/// during a rotation.
#[derive(Debug)]
pub struct KeySet {
    /// The keys, in configuration order.
    keys: Vec<SigningKey>,
    /// Index of the signing key in `keys`.
    signing: usize,
}

impl KeySet {
    /// A key set; errors when `keys` is empty.
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, TokenError> {
        let mut signing = None;
        for (index, key) in keys.iter().enumerate() {
            let newer = signing.is_none_or(|best: usize| key.not_before() >= keys[best].not_before());
            if newer {
                signing = Some(index);
            }
        }
        let Some(signing) = signing else {
            return Err(TokenError::KeyFile {
                path: "(token signing keys)".to_owned(),
                message: "no signing key configured".to_owned(),
            });
        };
        Ok(Self { keys, signing })
    }

    /// The key that signs.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[self.signing]
    }

    /// Every key, in configuration order.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// Every key's certificates as one PEM text: the registry's `rootcertbundle`.
    pub fn certificates_pem(&self) -> String {
        self.keys.iter().map(SigningKey::certificates_pem).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{KeyType, generate_key};
    use time::OffsetDateTime;
    use time::macros::datetime;

    fn key_valid_from(now: OffsetDateTime) -> SigningKey {
        let generated = generate_key(KeyType::Ec, "regent", now).unwrap();
        SigningKey::from_pem(generated.key_pem.expose(), &generated.cert_pem, "memory").unwrap()
    }

    #[test]
    fn an_empty_set_is_refused() {
        assert!(KeySet::new(Vec::new()).is_err());
    }

    #[test]
    fn the_newest_certificate_signs_ties_go_to_the_last() {
        let old = datetime!(2024-01-01 00:00:00 UTC);
        let new = datetime!(2025-01-01 00:00:00 UTC);
        let cases: [(&[OffsetDateTime], usize); 4] =
            [(&[old], 0), (&[old, new], 1), (&[new, old], 0), (&[new, old, new], 2)];
        for (dates, expected) in cases {
            let keys: Vec<SigningKey> = dates.iter().map(|date| key_valid_from(*date)).collect();
            let expected_kid = keys[expected].kid().to_owned();
            let set = KeySet::new(keys).unwrap();
            assert_eq!(set.signing_key().kid(), expected_kid, "{dates:?}");
            assert_eq!(set.keys().len(), dates.len());
        }
    }

    #[test]
    fn the_bundle_holds_every_certificate() {
        let now = datetime!(2025-01-01 00:00:00 UTC);
        let set = KeySet::new(vec![key_valid_from(now), key_valid_from(now)]).unwrap();
        let bundle = set.certificates_pem();
        assert_eq!(bundle.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        for key in set.keys() {
            assert!(bundle.contains(&key.certificates_pem()));
        }
    }
}

//! [`KeySet`]: every configured key; the newest certificate signs, all go into the bundle.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::claims::Header;
use super::keys::SigningKey;
use super::{HeaderOptions, TokenError};

/// The configured keys; the newest certificate (by `notBefore`, ties: last listed) signs.
///
/// Every key's certificate stays in the bundle (and every key in the JWKS) so tokens signed by
/// an older key keep verifying during a rotation.
#[derive(Debug)]
pub struct KeySet {
    /// The keys, in configuration (or file name) order; pending keys last.
    keys: Vec<SigningKey>,
    /// Each key's name (its file stem in a key directory; empty otherwise).
    names: Vec<String>,
    /// How many keys at the end of `keys` are pending: trusted, never signing.
    pending: usize,
    /// Index of the signing key in `keys`.
    signing: usize,
    /// The `kid` format and whether tokens carry `x5c`.
    options: HeaderOptions,
    /// The base64url JOSE header of the signing key, encoded once.
    encoded_header: String,
}

impl KeySet {
    /// A key set with the default header (libtrust `kid` and `x5c`); errors when `keys` is empty.
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, TokenError> {
        Self::with_options(keys, HeaderOptions::default())
    }

    /// A key set whose tokens carry the header `options` ask for; errors when `keys` is empty.
    pub fn with_options(keys: Vec<SigningKey>, options: HeaderOptions) -> Result<Self, TokenError> {
        let active = keys.into_iter().map(|key| (String::new(), key)).collect();
        Self::staged(active, Vec::new(), options)
    }

    /// A key set of named `active` keys (the newest signs) and `pending` keys (trusted: in the
    /// bundle and the JWKS, but never signing); errors when there is no active key.
    pub fn staged(
        active: Vec<(String, SigningKey)>,
        pending: Vec<(String, SigningKey)>,
        options: HeaderOptions,
    ) -> Result<Self, TokenError> {
        let active_count = active.len();
        let pending_count = pending.len();
        let (names, keys): (Vec<String>, Vec<SigningKey>) = active.into_iter().chain(pending).unzip();
        let mut signing = None;
        for (index, key) in keys.iter().enumerate().take(active_count) {
            let newer = signing.is_none_or(|best: usize| key.not_before() >= keys[best].not_before());
            if newer {
                signing = Some(index);
            }
        }
        let Some(signing) = signing else {
            return Err(TokenError::KeyFile {
                path: "(token signing keys)".to_owned(),
                message: if pending_count > 0 {
                    "no active signing key: only pending ones (`regent keys activate`)".to_owned()
                } else {
                    "no signing key configured".to_owned()
                },
            });
        };
        let key = &keys[signing];
        let header = Header {
            typ: "JWT",
            alg: key.algorithm(),
            kid: key.kid_as(options.kid),
            x5c: options.x5c.then_some(key.x5c()),
        };
        // Serializing a struct of strings into JSON cannot fail.
        let encoded_header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        Ok(Self { keys, names, pending: pending_count, signing, options, encoded_header })
    }

    /// The name of key `index` (its file stem in a key directory; empty otherwise).
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }

    /// Whether key `index` is pending (trusted, not signing).
    pub fn is_pending(&self, index: usize) -> bool {
        index >= self.keys.len() - self.pending
    }

    /// The index of the signing key in [`KeySet::keys`].
    pub fn signing_index(&self) -> usize {
        self.signing
    }

    /// The key that signs.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[self.signing]
    }

    /// Every key, in configuration order.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The header options tokens are signed with.
    pub fn options(&self) -> HeaderOptions {
        self.options
    }

    /// The signing key's JOSE header, base64url-encoded (the first part of every token).
    pub fn encoded_header(&self) -> &str {
        &self.encoded_header
    }

    /// Every key's certificates as one PEM text: the registry's `rootcertbundle`.
    pub fn certificates_pem(&self) -> String {
        self.keys.iter().map(SigningKey::certificates_pem).collect()
    }

    /// Every key as a JWK Set, each `kid` in the configured format: registry 3's
    /// `auth.token.jwks` file and `/.well-known/jwks.json`. No `x5c`: the registry matches
    /// JWKS keys by `kid` alone.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> =
            self.keys.iter().map(|key| key.jwk(key.kid_as(self.options.kid), false)).collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{KeyType, KidFormat, generate_key};
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
    fn the_jwks_holds_every_key_under_the_configured_kid() {
        let now = datetime!(2025-01-01 00:00:00 UTC);
        let keys = || vec![key_valid_from(now), key_valid_from(now)];
        for format in [KidFormat::Libtrust, KidFormat::Rfc7638] {
            let options = HeaderOptions { kid: format, x5c: false };
            let set = KeySet::with_options(keys(), options).unwrap();
            let jwks = set.jwks();
            let entries = jwks["keys"].as_array().unwrap();
            assert_eq!(entries.len(), 2);
            for (entry, key) in entries.iter().zip(set.keys()) {
                assert_eq!(entry["kid"], key.kid_as(format));
                assert_eq!(entry["alg"], "ES256");
            }
        }
    }

    #[test]
    fn the_header_carries_the_configured_kid_and_x5c_only_when_asked() {
        let now = datetime!(2025-01-01 00:00:00 UTC);
        for (kid, x5c) in
            [(KidFormat::Libtrust, true), (KidFormat::Rfc7638, false), (KidFormat::Rfc7638, true)]
        {
            let set = KeySet::with_options(vec![key_valid_from(now)], HeaderOptions { kid, x5c }).unwrap();
            let header: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(set.encoded_header()).unwrap()).unwrap();
            assert_eq!(header["kid"], set.signing_key().kid_as(kid));
            assert_eq!(header.get("x5c").is_some(), x5c, "{header}");
        }
    }

    #[test]
    fn pending_keys_are_trusted_but_never_sign() {
        let old = datetime!(2024-01-01 00:00:00 UTC);
        let new = datetime!(2025-01-01 00:00:00 UTC);
        let active = vec![("old".to_owned(), key_valid_from(old))];
        let pending = vec![("new".to_owned(), key_valid_from(new))];
        let set = KeySet::staged(active, pending, HeaderOptions::default()).unwrap();
        assert_eq!((set.signing_index(), set.name(0), set.name(1)), (0, "old", "new"));
        assert!(!set.is_pending(0) && set.is_pending(1));
        assert_eq!(set.certificates_pem().matches("BEGIN CERTIFICATE").count(), 2);
        assert_eq!(set.jwks()["keys"].as_array().unwrap().len(), 2);
        let only_pending = vec![("new".to_owned(), key_valid_from(new))];
        let error = KeySet::staged(Vec::new(), only_pending, HeaderOptions::default()).unwrap_err();
        assert!(error.to_string().contains("regent keys activate"), "{error}");
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

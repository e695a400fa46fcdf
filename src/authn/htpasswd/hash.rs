//! The password hashes an htpasswd file may hold: bcrypt, and the legacy `{SHA}` and `$apr1$`.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest as _, Md5};

/// The longest password bcrypt uses in full: it ignores every byte past the 72nd, so a longer
/// password is refused rather than verified by its first 72 bytes. (The crate's
/// `non_truncating_*` functions refuse 72 bytes too, which bcrypt does use in full.)
pub(super) const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// A parsed htpasswd password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StoredHash {
    /// bcrypt (`$2y$`, `$2a$`, `$2b$`), kept as the full hash string.
    Bcrypt {
        /// The hash as written in the file.
        hash: String,
        /// Its work factor.
        cost: u32,
    },
    /// `{SHA}`: base64 of the unsalted SHA-1 of the password (weak).
    Sha1 {
        /// The decoded 20-byte digest.
        digest: Vec<u8>,
    },
    /// `$apr1$`: Apache's MD5-crypt (weak).
    Apr1 {
        /// The salt (up to 8 characters).
        salt: String,
        /// The hash as written in the file.
        hash: String,
    },
}

impl StoredHash {
    /// Parses a hash; the error names the scheme it refuses.
    pub(super) fn parse(text: &str) -> Result<Self, &'static str> {
        if ["$2y$", "$2a$", "$2b$"].iter().any(|prefix| text.starts_with(prefix)) {
            let parts: bcrypt::HashParts = text.parse().map_err(|_| "malformed bcrypt")?;
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err("bcrypt cost outside 4..=31");
            }
            return Ok(Self::Bcrypt { hash: text.to_owned(), cost });
        }
        if let Some(encoded) = text.strip_prefix("{SHA}") {
            let digest = BASE64.decode(encoded).map_err(|_| "malformed {SHA}")?;
            if digest.len() != 20 {
                return Err("malformed {SHA}");
            }
            return Ok(Self::Sha1 { digest });
        }
        if let Some(rest) = text.strip_prefix(APR1_MAGIC) {
            let (salt, encoded) = rest.split_once('$').ok_or("malformed $apr1$")?;
            if salt.is_empty() || salt.len() > 8 || encoded.len() != 22 {
                return Err("malformed $apr1$");
            }
            return Ok(Self::Apr1 { salt: salt.to_owned(), hash: text.to_owned() });
        }
        Err(refused_scheme(text))
    }

    /// True for the legacy schemes accepted with a warning.
    pub(super) fn is_weak(&self) -> bool {
        !matches!(self, Self::Bcrypt { .. })
    }

    /// The bcrypt work factor, for bcrypt hashes.
    pub(super) fn bcrypt_cost(&self) -> Option<u32> {
        match self {
            Self::Bcrypt { cost, .. } => Some(*cost),
            _ => None,
        }
    }

    /// The hash as written in the file, as a cache context: a changed entry changes it.
    pub(super) fn fingerprint(&self) -> String {
        match self {
            Self::Bcrypt { hash, .. } | Self::Apr1 { hash, .. } => hash.clone(),
            Self::Sha1 { digest } => format!("{{SHA}}{}", BASE64.encode(digest)),
        }
    }

    /// False when `password` cannot match whatever the hash is: longer than bcrypt reads. Cheap.
    pub(super) fn can_match(&self, password: &[u8]) -> bool {
        !matches!(self, Self::Bcrypt { .. }) || password.len() <= BCRYPT_MAX_PASSWORD_BYTES
    }

    /// Checks `password` against the hash. bcrypt is slow: call it off the async runtime.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        if !self.can_match(password) {
            return false;
        }
        match self {
            Self::Bcrypt { hash, .. } => bcrypt::verify(password, hash).unwrap_or(false),
            Self::Sha1 { digest } => {
                let computed = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password);
                verify_slices_are_equal(computed.as_ref(), digest).is_ok()
            }
            Self::Apr1 { salt, hash } => {
                verify_slices_are_equal(apr1(password, salt).as_bytes(), hash.as_bytes()).is_ok()
            }
        }
    }
}

/// Names the scheme of a hash regent refuses.
fn refused_scheme(text: &str) -> &'static str {
    const CRYPT_ALPHABET: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if text.starts_with("$1$") {
        "MD5-crypt $1$"
    } else if text.starts_with("$5$") || text.starts_with("$6$") {
        "SHA-crypt"
    } else if text.starts_with('$') || text.starts_with('{') {
        "unknown scheme"
    } else if text.len() == 13 && text.chars().all(|c| CRYPT_ALPHABET.contains(c)) {
        "crypt(3) DES"
    } else {
        "plain text or unknown scheme"
    }
}

/// The `$apr1$` magic string.
const APR1_MAGIC: &str = "$apr1$";

/// Apache's MD5-crypt (`apr_md5_encode`): returns `$apr1$salt$hash`.
fn apr1(password: &[u8], salt: &str) -> String {
    let salt = salt.as_bytes();
    let mut context = Md5::new();
    context.update(password);
    context.update(APR1_MAGIC.as_bytes());
    context.update(salt);

    let alternate = Md5::new().chain_update(password).chain_update(salt).chain_update(password).finalize();
    for chunk_start in (0..password.len()).step_by(16) {
        let take = (password.len() - chunk_start).min(16);
        context.update(&alternate[..take]);
    }
    let mut bits = password.len();
    while bits != 0 {
        // A historical quirk: a zero byte for set bits, the password's first byte otherwise.
        if bits & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest = context.finalize();

    for round in 0..1000 {
        let mut context = Md5::new();
        if round % 2 == 1 {
            context.update(password);
        } else {
            context.update(digest);
        }
        if round % 3 != 0 {
            context.update(salt);
        }
        if round % 7 != 0 {
            context.update(password);
        }
        if round % 2 == 1 {
            context.update(digest);
        } else {
            context.update(password);
        }
        digest = context.finalize();
    }

    let mut out = String::with_capacity(APR1_MAGIC.len() + salt.len() + 23);
    out.push_str(APR1_MAGIC);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let d = |i: usize| u32::from(digest[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        push_crypt64(&mut out, (d(a) << 16) | (d(b) << 8) | d(c), 4);
    }
    push_crypt64(&mut out, d(11), 2);
    out
}

/// Appends the `count` low 6-bit groups of `value` in crypt's base-64 alphabet, least first.
fn push_crypt64(out: &mut String, mut value: u32, count: usize) {
    const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for _ in 0..count {
        out.push(char::from(ALPHABET[(value & 0x3f) as usize]));
        value >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apr1_matches_openssl() {
        // From `openssl passwd -apr1 -salt SALT PASSWORD`.
        let vectors = [
            ("password", "saltsalt", "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"),
            ("a", "ab", "$apr1$ab$MW8Wizufu9hz465GKNNrn."),
            (
                "correct horse battery staple with a long tail",
                "r31....",
                "$apr1$r31....$CGLQMwB4He3A7BYAuC8jy/",
            ),
            ("", "xyz", "$apr1$xyz$Pix4eE3fQHxJjb6LqtyMK1"),
        ];
        for (password, salt, expected) in vectors {
            assert_eq!(apr1(password.as_bytes(), salt), expected, "{password:?}");
        }
    }

    #[test]
    fn each_scheme_verifies_the_right_password_only() {
        let bcrypt_hash = bcrypt::hash_with_result("sesame", 4).unwrap();
        let hashes = [
            bcrypt_hash.format_for_version(bcrypt::Version::TwoY),
            bcrypt_hash.format_for_version(bcrypt::Version::TwoA),
            bcrypt_hash.format_for_version(bcrypt::Version::TwoB),
            // printf sesame | openssl dgst -sha1 -binary | base64
            "{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=".to_owned(),
            // openssl passwd -apr1 -salt saltsalt sesame
            apr1(b"sesame", "saltsalt"),
        ];
        for text in hashes {
            let hash = StoredHash::parse(&text).unwrap();
            assert!(hash.verify(b"sesame"), "{text}");
            assert!(!hash.verify(b"sesame!"), "{text}");
            assert!(!hash.verify(b""), "{text}");
            assert_eq!(hash.fingerprint(), text);
            assert_eq!(hash.is_weak(), !text.starts_with("$2"), "{text}");
        }
    }

    #[test]
    fn refused_schemes_are_named() {
        let cases = [
            ("rqXexS6ZhobKA", "crypt(3) DES"),
            ("sesame", "plain text or unknown scheme"),
            ("", "plain text or unknown scheme"),
            ("$1$abc$def", "MD5-crypt $1$"),
            ("$6$salt$hash", "SHA-crypt"),
            ("{SSHA}abcd", "unknown scheme"),
            ("$2y$10$tooshort", "malformed bcrypt"),
            ("{SHA}not-base64!", "malformed {SHA}"),
            ("{SHA}c2hvcnQ=", "malformed {SHA}"),
            ("$apr1$nosalt", "malformed $apr1$"),
            ("$apr1$waytoolongsalt$MW8Wizufu9hz465GKNNrn.", "malformed $apr1$"),
        ];
        for (text, expected) in cases {
            assert_eq!(StoredHash::parse(text), Err(expected), "{text}");
        }
        let cost_3 = bcrypt::hash("x", 4).unwrap().replacen("$04$", "$03$", 1);
        assert_eq!(StoredHash::parse(&cost_3), Err("bcrypt cost outside 4..=31"));
    }

    #[test]
    fn bcrypt_refuses_what_it_would_truncate() {
        let password = "p".repeat(BCRYPT_MAX_PASSWORD_BYTES);
        let hash = StoredHash::parse(&bcrypt::hash(&password, 4).unwrap()).unwrap();
        assert!(hash.verify(password.as_bytes()), "72 bytes are used in full");
        let longer = format!("{password}junk");
        assert!(bcrypt::verify(&longer, &hash.fingerprint()).unwrap(), "bcrypt alone would truncate");
        assert!(!hash.can_match(longer.as_bytes()));
        assert!(!hash.verify(longer.as_bytes()));
        let sha = StoredHash::parse("{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=").unwrap();
        assert!(sha.can_match(longer.as_bytes()), "SHA-1 reads every byte");
    }

    #[test]
    fn bcrypt_cost_is_read() {
        let hash = StoredHash::parse(&bcrypt::hash("x", 5).unwrap()).unwrap();
        assert_eq!(hash.bcrypt_cost(), Some(5));
        assert_eq!(StoredHash::parse("{SHA}CEo1Ae3vaEXy8eQZjsOiuBz1xrw=").unwrap().bcrypt_cost(), None);
    }
}

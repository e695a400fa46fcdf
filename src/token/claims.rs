//! The JOSE header and the claims of a registry token, in the field order they are written.

use serde::Serialize;

use crate::scope::Access;

/// The JOSE header: `typ`, `alg`, the libtrust `kid` and the certificate chain in `x5c`.
#[derive(Debug, Serialize)]
pub(super) struct Header<'a> {
    /// Always `JWT`.
    pub(super) typ: &'static str,
    /// `RS256` or `ES256`.
    pub(super) alg: &'static str,
    /// The libtrust key ID (registry 2.8 can find the key by it).
    pub(super) kid: &'a str,
    /// The signing certificate, leaf first (checked first by registry 2.8 and 3.x).
    pub(super) x5c: &'a [String],
}

/// The claims registry 2.8 and 3.x read.
#[derive(Debug, Serialize)]
pub(super) struct Claims<'a> {
    /// Must equal the registry's `auth.token.issuer`.
    pub(super) iss: &'a str,
    /// The account name; empty for anonymous.
    pub(super) sub: &'a str,
    /// The service, a JSON string (an array is a malformed token on registry 2.8).
    pub(super) aud: &'a str,
    /// Expiry, integer seconds since the epoch.
    pub(super) exp: i64,
    /// Not before, integer seconds since the epoch.
    pub(super) nbf: i64,
    /// Issued at, integer seconds since the epoch.
    pub(super) iat: i64,
    /// A unique token ID: 128 random bits, base64url.
    pub(super) jti: &'a str,
    /// The granted access; `[]` when nothing was granted.
    pub(super) access: &'a [Access],
}

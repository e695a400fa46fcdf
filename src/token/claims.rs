//! The JOSE header and the claims of a registry token, in the field order they are written.

use serde::Serialize;

use crate::scope::Access;

/// The JOSE header: `typ`, `alg`, `kid` (libtrust or RFC 7638) and, unless turned off, the
/// certificate chain in `x5c`.
#[derive(Debug, Serialize)]
pub(super) struct Header<'a> {
    /// Always `JWT`.
    pub(super) typ: &'static str,
    /// `RS256`, `ES256` or `EdDSA`.
    pub(super) alg: &'static str,
    /// The key ID: libtrust (registry 2.8) or RFC 7638 (registry 3).
    pub(super) kid: &'a str,
    /// The signing certificate, leaf first (checked first by registry 2.8 and 3.x); absent
    /// with `x5c = false` (a registry 3 trusting only a JWKS refuses tokens that carry it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) x5c: Option<&'a [String]>,
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

//! [`OidcError`] (setting the backend up) and [`Refusal`] (why a JWT of this issuer was denied).

use std::path::PathBuf;

use crate::authn::http::HttpBackendError;

/// Errors setting up an [`OidcBackend`](super::OidcBackend) (never an authentication outcome).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The JWKS URL does not parse.
    #[error("jwks_url {url:?}: {error}")]
    Url {
        /// The configured URL.
        url: String,
        /// Why it does not parse.
        error: hyper::http::uri::InvalidUri,
    },
    /// The HTTPS client could not be set up (CA file, system roots, TLS).
    #[error(transparent)]
    Client(#[from] HttpBackendError),
    /// The JWKS file could not be read or holds no usable key.
    #[error("jwks_file {}: {reason}", path.display())]
    JwksFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// Why a JWT naming this backend's issuer was refused (logged; never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The header says `alg: none`.
    #[error("unsigned JWT (alg \"none\")")]
    AlgNone,
    /// The header's `alg` is not in `algorithms`.
    #[error("algorithm {0} is not allowed")]
    AlgNotAllowed(String),
    /// No key of the issuer has the header's `kid`.
    #[error("unknown key id {0}")]
    UnknownKid(String),
    /// The key the `kid` names cannot verify the header's `alg` (e.g. HS256 with an RSA key).
    #[error("key {kid} does not fit algorithm {alg}")]
    KeyMismatch {
        /// The key id.
        kid: String,
        /// The header's algorithm.
        alg: String,
    },
    /// No key verified the signature.
    #[error("bad signature")]
    BadSignature,
    /// `aud` names none of `audiences`.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp` plus the leeway is in the past.
    #[error("expired {0} s ago")]
    Expired(i64),
    /// `nbf` minus the leeway is in the future.
    #[error("not valid for another {0} s (nbf)")]
    NotYetValid(i64),
    /// A required claim (`exp`, `aud`, the subject, or one of `claims`) is absent.
    #[error("missing claim {0}")]
    MissingClaim(String),
    /// A claim of `claims` has another value.
    #[error("claim {claim} is {actual}, not the required {required:?}")]
    ClaimMismatch {
        /// The claim.
        claim: String,
        /// Its value in the token (escaped).
        actual: String,
        /// The value `claims` requires.
        required: String,
    },
    /// The subject claim is not a usable name.
    #[error("subject claim {claim} is not a usable name: {reason}")]
    BadSubject {
        /// The claim.
        claim: String,
        /// Why.
        reason: String,
    },
    /// `user_name = "subject"` and the user name sent is not the subject.
    #[error("the user name sent is not the token's subject")]
    UserNameMismatch,
    /// The token could not be read after its header named this issuer.
    #[error("malformed JWT: {0}")]
    Malformed(String),
}

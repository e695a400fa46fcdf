//! The `Authorization` header of a token request: none (anonymous) or HTTP Basic.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::ApiError;
use crate::secret::Secret;

/// Credentials from an HTTP Basic header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The user name.
    pub user: String,
    /// The password (never printed).
    pub password: Secret,
}

/// Reads Basic credentials; `Ok(None)` when there is no `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<BasicCredentials>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || ApiError::BadRequest("invalid Basic authorization header".into());
    let value = value.to_str().map_err(|_| invalid())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(invalid)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::Unauthorized(format!(
            "unsupported authorization scheme {scheme:?}; use Basic"
        )));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (user, password) = text.split_once(':').ok_or_else(invalid)?;
    if user.is_empty() {
        return Err(ApiError::Unauthorized("empty user name".into()));
    }
    Ok(Some(BasicCredentials { user: user.to_owned(), password: Secret::new(password) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn parses_basic_and_rejects_garbage() {
        let creds = basic_credentials(&with(b"Basic YWxpY2U6czNjcjp0")).unwrap().unwrap();
        assert_eq!(creds.user, "alice");
        assert_eq!(creds.password.expose(), "s3cr:t");
        assert!(basic_credentials(&HeaderMap::new()).unwrap().is_none());
        for bad in [&b"Basic !!!"[..], b"Basic", b"Basic bm9jb2xvbg==", b"Basic /w==", b"Basic \xff"] {
            assert!(matches!(basic_credentials(&with(bad)), Err(ApiError::BadRequest(_))), "{bad:?}");
        }
        assert!(matches!(basic_credentials(&with(b"Bearer abc")), Err(ApiError::Unauthorized(_))));
        assert!(matches!(basic_credentials(&with(b"Basic OnB3")), Err(ApiError::Unauthorized(_))));
    }
}

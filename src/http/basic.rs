//! The `Authorization` header of a token request: none (anonymous) or HTTP Basic, and the
//! user-name rule ([`crate::untrusted::check_name`]) applied to every name a client sends.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::ApiError;
use crate::secret::Secret;
use crate::untrusted::check_name;

/// Credentials from an HTTP Basic header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The user name.
    pub user: String,
    /// The password (never printed).
    pub password: Secret,
}

/// What an `Authorization: Basic` header presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// A user name and password.
    Password(BasicCredentials),
    /// An empty user name and a refresh token as the password (containerd's fallback).
    RefreshToken(Secret),
}

/// Reads Basic credentials; `Ok(None)` when there is no `Authorization` header. Two or more
/// headers, or a user name breaking the rule, are a bad request.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<BasicCredentials>, ApiError> {
    match presented_credentials(headers)? {
        None => Ok(None),
        Some(Presented::Password(creds)) => Ok(Some(creds)),
        Some(Presented::RefreshToken(_)) => {
            checked_user_name("")?;
            Err(ApiError::BadRequest("the user name must not be empty".into()))
        }
    }
}

/// Like [`basic_credentials`], taking an empty user name as a refresh token in the password.
pub fn presented_credentials(headers: &HeaderMap) -> Result<Option<Presented>, ApiError> {
    single_authorization(headers)?;
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
    if user.is_empty() && !password.is_empty() {
        return Ok(Some(Presented::RefreshToken(Secret::new(password))));
    }
    checked_user_name(user)?;
    Ok(Some(Presented::Password(BasicCredentials { user: user.to_owned(), password: Secret::new(password) })))
}

/// Refuses a request with more than one `Authorization` header: which one a proxy, the
/// registry and regent each read would differ.
pub fn single_authorization(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get_all(header::AUTHORIZATION).iter().nth(1).is_some() {
        tracing::info!("refused a request with more than one Authorization header");
        return Err(ApiError::BadRequest("more than one Authorization header".into()));
    }
    Ok(())
}

/// Refuses (400, logged with the name escaped) a user name breaking the rule of
/// [`check_name`], before any backend sees it.
pub fn checked_user_name(user: &str) -> Result<(), ApiError> {
    check_name(user).map_err(|error| {
        tracing::info!(user, %error, "refused a user name");
        ApiError::BadRequest(error.to_string())
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

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
    }

    #[test]
    fn refuses_names_breaking_the_rule_and_two_headers() {
        // ":", " mallory:pw", "mallory :pw", "ad\nmin:pw", "a\x1bb:pw"
        for bad in [
            &b"Basic Og=="[..],
            b"Basic IG1hbGxvcnk6cHc=",
            b"Basic bWFsbG9yeSA6cHc=",
            b"Basic YWQKbWluOnB3",
            b"Basic YRtiOnB3",
        ] {
            assert!(matches!(basic_credentials(&with(bad)), Err(ApiError::BadRequest(_))), "{bad:?}");
        }
        let mut two = with(b"Basic YWxpY2U6czNjcjp0");
        two.append(header::AUTHORIZATION, HeaderValue::from_static("Basic Ym9iOnB3"));
        assert!(matches!(basic_credentials(&two), Err(ApiError::BadRequest(_))));
        assert!(single_authorization(&with(b"Basic YWxpY2U6czNjcjp0")).is_ok());
    }

    #[test]
    fn an_empty_user_name_presents_a_refresh_token() {
        // ":eyJ.x.y" (containerd's fallback) and ":pw"
        let presented = presented_credentials(&with(b"Basic OmV5Si54Lnk=")).unwrap().unwrap();
        assert_eq!(presented, Presented::RefreshToken(Secret::new("eyJ.x.y")));
        assert!(matches!(basic_credentials(&with(b"Basic OnB3")), Err(ApiError::BadRequest(_))));
        let password = presented_credentials(&with(b"Basic YWxpY2U6czNjcjp0")).unwrap().unwrap();
        assert!(matches!(password, Presented::Password(creds) if creds.user == "alice"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn a_clients_credentials_come_out_unchanged_when_the_name_follows_the_rule(
            user in "[^:]{0,20}",
            password in any::<String>(),
        ) {
            let header = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
            let presented = presented_credentials(&with(header.as_bytes()));
            match presented {
                Ok(Some(Presented::Password(creds))) => {
                    prop_assert_eq!((creds.user.as_str(), creds.password.expose()), (user.as_str(), password.as_str()));
                    prop_assert!(check_name(&user).is_ok());
                }
                Ok(Some(Presented::RefreshToken(token))) => {
                    prop_assert!(user.is_empty() && !password.is_empty());
                    prop_assert_eq!(token.expose(), password.as_str());
                }
                Ok(None) => prop_assert!(false, "a header was given"),
                Err(error) => {
                    prop_assert!(matches!(error, ApiError::BadRequest(_)), "{error}");
                    prop_assert!(check_name(&user).is_err(), "{user:?} follows the rule: {error}");
                }
            }
        }

        #[test]
        fn arbitrary_header_values_never_panic_and_accepted_names_follow_the_rule(
            value in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..80),
                "(Basic|basic|Bearer) {1,2}[A-Za-z0-9+/= ]{0,40}".prop_map(String::into_bytes),
            ],
        ) {
            let Ok(value) = HeaderValue::from_bytes(&value) else { return Ok(()) };
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value);
            match presented_credentials(&headers) {
                Ok(Some(Presented::Password(creds))) => prop_assert!(check_name(&creds.user).is_ok()),
                Ok(Some(Presented::RefreshToken(token))) => prop_assert!(!token.is_empty()),
                Ok(None) => prop_assert!(false, "a header was given"),
                Err(error) => prop_assert!(matches!(error, ApiError::BadRequest(_) | ApiError::Unauthorized(_))),
            }
        }
    }
}

//! The `Authorization` header of a token request, and how the names it carries are logged.
//!
//! The input is tried twice: as the raw header value, and as the `user:password` a client
//! encodes. Invariants: accepted credentials follow the user-name rule and encode back to
//! themselves; a client's `user:password` comes out unchanged exactly when the name follows
//! the rule (or is empty, carrying a refresh token); refusals are 400 or 401; escaped text holds
//! no control character.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use regent::http::basic::{Presented, basic_credentials, presented_credentials};
use regent::untrusted::{Escaped, check_name, is_control};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = HeaderValue::from_bytes(data) {
        raw_header(value);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((user, password)) = text.split_once(':') {
        client_credentials(user, password);
    }
    let shown = Escaped(text).to_string();
    assert!(!shown.chars().any(is_control), "{shown:?}");
    let inner = shown.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).expect("quoted");
    assert!(!inner.replace("\\\\", "").replace("\\\"", "").contains('"'), "a bare quote in {shown:?}");
});

/// A header holding `value`.
fn with(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    headers
}

/// The header a client sends for `user:password`.
fn encoded(user: &str, password: &str) -> HeaderMap {
    let value = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    with(HeaderValue::from_str(&value).expect("base64 is a valid header value"))
}

fn raw_header(value: HeaderValue) {
    let headers = with(value);
    match presented_credentials(&headers) {
        Ok(Some(Presented::Password(creds))) => {
            assert_eq!(check_name(&creds.user), Ok(()), "{:?}", creds.user);
            assert!(!creds.user.contains(':'), "{:?}", creds.user);
            let again = presented_credentials(&encoded(&creds.user, creds.password.expose()));
            assert_eq!(again.ok(), Some(Some(Presented::Password(creds.clone()))));
            assert_eq!(basic_credentials(&headers).ok(), Some(Some(creds)));
        }
        Ok(Some(Presented::RefreshToken(token))) => {
            assert!(!token.is_empty());
            assert!(basic_credentials(&headers).is_err(), "an empty user name is not a login");
        }
        Ok(None) => panic!("a header was given"),
        Err(error) => {
            let status = error.status();
            assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED, "{status}");
            assert!(basic_credentials(&headers).is_err());
        }
    }
}

fn client_credentials(user: &str, password: &str) {
    let presented = presented_credentials(&encoded(user, password));
    match presented {
        Ok(Some(Presented::Password(creds))) => {
            assert_eq!((creds.user.as_str(), creds.password.expose()), (user, password));
            assert_eq!(check_name(user), Ok(()));
        }
        Ok(Some(Presented::RefreshToken(token))) => {
            assert!(user.is_empty() && !password.is_empty(), "{user:?}");
            assert_eq!(token.expose(), password);
        }
        Ok(None) => panic!("a header was given"),
        Err(error) => {
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error}");
            assert!(check_name(user).is_err(), "{user:?} follows the rule but was refused: {error}");
        }
    }
}

//! Reading a password that may be a JWT, before anything is verified: enough to tell whether it
//! is a compact JWS at all, which algorithm and key it names, and which issuer it claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The largest password read as a JWT (GitHub's and Kubernetes' tokens are 1-2 KiB).
const MAX_JWT_BYTES: usize = 16 * 1024;

/// What an unverified JWT says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Peeked {
    /// The header's `alg`, as written.
    pub(super) alg: String,
    /// The header's `kid`.
    pub(super) kid: Option<String>,
    /// The payload's `iss`.
    pub(super) iss: Option<String>,
}

/// `Some` when `password` is a compact JWS (three base64url parts, a JSON object header with a
/// string `alg`, a JSON object payload); `None` for anything else (a password, say).
pub(super) fn peek(password: &str) -> Option<Peeked> {
    if password.len() > MAX_JWT_BYTES {
        return None;
    }
    let mut parts = password.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = object(header)?;
    let payload = object(payload)?;
    let alg = header.get("alg")?.as_str()?.to_owned();
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let iss = payload.get("iss").and_then(Value::as_str).map(str::to_owned);
    Some(Peeked { alg, kid, iss })
}

/// A base64url part holding a JSON object.
fn object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn jwts_and_passwords() {
        let header = encode(&serde_json::json!({"alg": "RS256", "kid": "k1"}));
        let payload = encode(&serde_json::json!({"iss": "https://issuer", "sub": "x"}));
        let jwt = format!("{header}.{payload}.c2ln");
        let expected =
            Peeked { alg: "RS256".into(), kid: Some("k1".into()), iss: Some("https://issuer".into()) };
        assert_eq!(peek(&jwt), Some(expected));
        let unsigned = format!("{}.{payload}.", encode(&serde_json::json!({"alg": "none"})));
        assert_eq!(peek(&unsigned).map(|p| p.alg), Some("none".to_owned()));
        for password in
            ["hunter2", "a.b.c", "", &format!("{header}.{payload}"), &format!("{jwt}.x"), &"a".repeat(20_000)]
        {
            assert_eq!(peek(password), None, "{password:?}");
        }
        let array_payload = format!("{header}.{}.c2ln", encode(&serde_json::json!([1])));
        assert_eq!(peek(&array_payload), None);
    }
}

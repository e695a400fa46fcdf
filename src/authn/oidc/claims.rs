//! The checks of a verified JWT's claims that need the clock or the settings: `exp` (required)
//! and `nbf` with the leeway, the required `claims`, the subject, the groups, and the claims
//! that become policy attributes.

use serde_json::{Map, Value};

use super::error::Refusal;
use crate::config::OidcConfig;
use crate::subject::Claim;
use crate::untrusted::{Escaped, check_name};

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Subject {
    /// The value of `subject_claim`.
    pub(super) name: String,
    /// The values of `groups_claim`.
    pub(super) groups: Vec<String>,
    /// The `policy_claims` the token carries.
    pub(super) claims: Vec<Claim>,
}

/// Checks `claims` (signature, `iss` and `aud` already verified) at unix time `now`.
pub(super) fn check(config: &OidcConfig, claims: &Map<String, Value>, now: i64) -> Result<Subject, Refusal> {
    let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| Refusal::MissingClaim("exp".into()))?;
    if exp.saturating_add(leeway) < now {
        return Err(Refusal::Expired(now - exp));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_i64().ok_or_else(|| Refusal::Malformed("nbf is not a number".into()))?;
        if nbf.saturating_sub(leeway) > now {
            return Err(Refusal::NotYetValid(nbf - now));
        }
    }
    for (key, required) in &config.required_claims {
        match lookup(claims, key).map(text) {
            None => return Err(Refusal::MissingClaim(key.clone())),
            Some(Some(actual)) if actual == *required => {}
            Some(actual) => {
                let actual = actual.map_or_else(|| "not a string".to_owned(), |a| Escaped(&a).to_string());
                return Err(Refusal::ClaimMismatch {
                    claim: key.clone(),
                    actual,
                    required: required.clone(),
                });
            }
        }
    }
    let subject = &config.subject_claim;
    let name = match lookup(claims, subject).map(text) {
        None => return Err(Refusal::MissingClaim(subject.clone())),
        Some(None) => {
            return Err(Refusal::BadSubject { claim: subject.clone(), reason: "not a string".into() });
        }
        Some(Some(name)) => name,
    };
    check_name(&name)
        .map_err(|error| Refusal::BadSubject { claim: subject.clone(), reason: error.to_string() })?;
    let groups = config.groups_claim.as_ref().map(|key| strings(lookup(claims, key))).unwrap_or_default();
    let mut attributes = Vec::new();
    for key in &config.policy_claims {
        for value in strings(lookup(claims, key)) {
            match Claim::new(key.clone(), value) {
                Ok(claim) => attributes.push(claim),
                Err(error) => tracing::debug!(%error, "claim not usable as a policy attribute"),
            }
        }
    }
    Ok(Subject { name, groups, claims: attributes })
}

/// The claim `key`; a `.` in the key also walks into nested objects, so
/// `kubernetes.io.namespace` finds `{"kubernetes.io": {"namespace": ...}}`.
fn lookup<'a>(claims: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(key) {
        return Some(value);
    }
    key.match_indices('.').find_map(|(at, _)| {
        let nested = claims.get(&key[..at])?.as_object()?;
        lookup(nested, &key[at + 1..])
    })
}

/// A string, number or boolean claim as text; `None` for arrays, objects and null.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A claim as a list of texts: one scalar, or the scalars of an array.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(value) => text(value).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::lookup;

    #[test]
    fn dotted_keys_walk_into_nested_claims() {
        let claims =
            json!({"kubernetes.io": {"namespace": "builds", "pod": {"name": "p1"}}, "a.b": 1, "a": {"c": 2}});
        let claims = claims.as_object().unwrap();
        assert_eq!(lookup(claims, "kubernetes.io.namespace"), Some(&json!("builds")));
        assert_eq!(lookup(claims, "kubernetes.io.pod.name"), Some(&json!("p1")));
        assert_eq!(lookup(claims, "a.b"), Some(&json!(1)));
        assert_eq!(lookup(claims, "a.c"), Some(&json!(2)));
        assert_eq!(lookup(claims, "a.d"), None);
        assert_eq!(lookup(claims, "kubernetes"), None);
    }
}

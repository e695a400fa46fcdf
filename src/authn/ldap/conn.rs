//! The two operations the backend sends (bind and search), each bounded by the operation
//! timeout, and how their result codes read. Opening connections is `connector`'s.

use std::time::Duration;

use ldap3::{Ldap, Scope, SearchEntry, SearchOptions};

use super::error::{Outage, OutageKind};
use crate::untrusted::Escaped;

/// LDAP result code `invalidCredentials`.
const INVALID_CREDENTIALS: u32 = 49;
/// Result codes of a user bind that mean "not this password" rather than an outage:
/// inappropriateAuthentication (48), invalidCredentials (49), insufficientAccessRights (50),
/// unwillingToPerform (53, e.g. a disabled account or an empty password).
const DENIED_BIND_CODES: [u32; 4] = [48, INVALID_CREDENTIALS, 50, 53];
/// Result code `noSuchObject`: a search base that does not exist finds nothing.
const NO_SUCH_OBJECT: u32 = 32;
/// Result code `sizeLimitExceeded`: the entries up to the limit came back.
const SIZE_LIMIT_EXCEEDED: u32 = 4;
/// Result codes `busy (51)` and `unavailable (52)`: the server cannot serve now.
const BUSY_CODES: [u32; 2] = [51, 52];

/// How a bind went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BindResult {
    /// The password is right.
    Success,
    /// The directory refused the credentials (the result code and its text).
    Refused(u32, String),
}

/// A simple bind as `dn`, within `timeout`.
pub(super) async fn bind(
    ldap: &mut Ldap,
    dn: &str,
    password: &str,
    timeout: Duration,
) -> Result<BindResult, Outage> {
    let result = ldap
        .with_timeout(timeout)
        .simple_bind(dn, password)
        .await
        .map_err(|error| Outage::from_client(&format!("bind as {dn:?}"), &error))?;
    match result.rc {
        0 => Ok(BindResult::Success),
        rc if DENIED_BIND_CODES.contains(&rc) => Ok(BindResult::Refused(rc, describe_code(rc, &result.text))),
        rc => Err(answered(rc, format!("bind as {dn:?} answered {}", describe_code(rc, &result.text)))),
    }
}

/// A search returning at most `limit` entries (0: no limit) with `attributes`, within `timeout`.
/// A base that does not exist finds nothing; a size limit hit returns what came back.
pub(super) async fn search(
    ldap: &mut Ldap,
    request: &SearchRequest<'_>,
    timeout: Duration,
) -> Result<Vec<SearchEntry>, Outage> {
    let what = || format!("search under {:?} for {}", request.base, Escaped(request.filter));
    let result = ldap
        .with_search_options(SearchOptions::new().sizelimit(request.limit))
        .with_timeout(timeout)
        .search(request.base, request.scope, request.filter, request.attributes.to_vec())
        .await
        .map_err(|error| Outage::from_client(&what(), &error))?;
    let (entries, outcome) = (result.0, result.1);
    match outcome.rc {
        0 | SIZE_LIMIT_EXCEEDED => Ok(entries.into_iter().map(SearchEntry::construct).collect()),
        NO_SUCH_OBJECT => Ok(Vec::new()),
        rc => Err(answered(rc, format!("{} answered {}", what(), describe_code(rc, &outcome.text)))),
    }
}

/// The outage for a result code that is neither success nor a refusal: the server is busy
/// (marked down like one that does not answer) or answered something unexpected.
fn answered(rc: u32, reason: String) -> Outage {
    let kind = if BUSY_CODES.contains(&rc) { OutageKind::Busy } else { OutageKind::Answered };
    Outage::of_kind(kind, reason)
}

/// One search: where, how deep, what, which attributes, how many entries at most.
#[derive(Debug, Clone, Copy)]
pub(super) struct SearchRequest<'a> {
    /// The search base.
    pub(super) base: &'a str,
    /// The scope.
    pub(super) scope: Scope,
    /// The (already escaped) filter.
    pub(super) filter: &'a str,
    /// The attributes wanted (`["1.1"]`: none).
    pub(super) attributes: &'a [&'a str],
    /// The most entries wanted (0: the server's limit).
    pub(super) limit: i32,
}

/// `invalidCredentials (49)`, with the server's diagnostic text when it sent one.
pub(super) fn describe_code(rc: u32, text: &str) -> String {
    let name = match rc {
        4 => "sizeLimitExceeded",
        32 => "noSuchObject",
        48 => "inappropriateAuthentication",
        INVALID_CREDENTIALS => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        _ => "error",
    };
    if text.is_empty() { format!("{name} ({rc})") } else { format!("{name} ({rc}): {}", Escaped(text)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_are_named_and_the_servers_text_is_escaped() {
        assert_eq!(describe_code(INVALID_CREDENTIALS, ""), "invalidCredentials (49)");
        assert_eq!(describe_code(53, "no\nINFO forged"), "unwillingToPerform (53): \"no\\nINFO forged\"");
    }
}

//! Opening connections (server URLs in order, ldaps/StartTLS, connect timeout) and the two
//! operations the backend sends (bind and search), each bounded by the operation timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};
use rustls::ClientConfig;

use super::error::Outage;
use super::steps::Steps;
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

/// Opens connections to the configured servers.
pub(super) struct Connector {
    /// Server URLs, tried in order.
    urls: Vec<String>,
    /// Upgrade `ldap://` with StartTLS.
    starttls: bool,
    /// TLS settings trusting the configured CA; `None`: the client's default (system roots).
    tls: Option<Arc<ClientConfig>>,
    /// Time allowed for TCP + TLS + StartTLS.
    connect_timeout: Duration,
    /// How many connections were opened so far.
    opened: AtomicU64,
}

/// How a bind went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BindResult {
    /// The password is right.
    Success,
    /// The directory refused the credentials (the result code and its text).
    Refused(u32, String),
}

impl Connector {
    /// A connector for `urls`.
    pub(super) fn new(
        urls: Vec<String>,
        starttls: bool,
        tls: Option<Arc<ClientConfig>>,
        connect_timeout: Duration,
    ) -> Self {
        Self { urls, starttls, tls, connect_timeout, opened: AtomicU64::new(0) }
    }

    /// How many connections were opened so far.
    pub(super) fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// A connection to the first server that answers, TLS set up as configured.
    pub(super) async fn connect(&self, steps: &mut Steps<'_>) -> Result<Ldap, Outage> {
        let mut failures = Vec::new();
        for url in &self.urls {
            let starttls = self.starttls && url.starts_with("ldap://");
            let mut settings =
                LdapConnSettings::new().set_conn_timeout(self.connect_timeout).set_starttls(starttls);
            if let Some(tls) = &self.tls {
                settings = settings.set_config(Arc::clone(tls));
            }
            let security = match (url.starts_with("ldaps://"), starttls) {
                (true, _) => "TLS (ldaps)",
                (false, true) => "StartTLS",
                (false, false) => "no TLS",
            };
            match LdapConnAsync::with_settings(settings, url).await {
                Ok((conn, ldap)) => {
                    self.opened.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        if let Err(error) = conn.drive().await {
                            tracing::debug!(%error, "LDAP connection ended");
                        }
                    });
                    steps.record(|| format!("connected to {url} ({security})"));
                    return Ok(ldap);
                }
                Err(error) => {
                    let error = describe_connect_error(&error, self.connect_timeout);
                    steps.record(|| format!("cannot connect to {url} ({security}): {error}"));
                    tracing::warn!(url, %error, "LDAP server unreachable");
                    failures.push(format!("{url}: {error}"));
                }
            }
        }
        Err(Outage::new(format!("no LDAP server reachable ({})", failures.join("; "))))
    }
}

/// A connect error in words (a timeout names the limit).
fn describe_connect_error(error: &ldap3::LdapError, limit: Duration) -> String {
    match error {
        ldap3::LdapError::Timeout { .. } => format!("timed out after {limit:?}"),
        other => other.to_string(),
    }
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
        rc => Err(Outage::new(format!("bind as {dn:?} answered {}", describe_code(rc, &result.text)))),
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
        rc => Err(Outage::new(format!("{} answered {}", what(), describe_code(rc, &outcome.text)))),
    }
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

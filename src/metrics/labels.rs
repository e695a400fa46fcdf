//! The label sets and label values of regent's metric families.

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// Implements `as_str` and [`EncodeLabelValue`] for an enum of label values.
macro_rules! label_value {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

/// How a token request ended (the `outcome` label of `regent_token_requests_total`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum TokenOutcome {
    /// A token was issued granting everything asked for.
    Issued,
    /// A token was issued, but the policies refused some or all of the actions asked for.
    Denied,
    /// Wrong user name or password (401).
    Unauthorized,
    /// An authentication backend was unavailable (503).
    Unavailable,
    /// A malformed request: unknown service, bad scope, too large, too slow (4xx).
    BadRequest,
    /// Refused by brute-force protection (429).
    Locked,
    /// A failure of regent itself (500).
    Error,
}

label_value!(TokenOutcome { Issued => "issued", Denied => "denied", Unauthorized => "unauthorized", Unavailable => "unavailable", BadRequest => "bad_request", Locked => "locked", Error => "error" });

/// How the client proved who it is (the `grant_type` label).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum GrantType {
    /// No credentials: the anonymous principal.
    Anonymous,
    /// A user name and password (HTTP Basic or the OAuth2 password grant).
    Password,
    /// An OAuth2 refresh token.
    Refresh,
    /// Not known: the request failed before its credentials were read.
    Unknown,
}

label_value!(GrantType { Anonymous => "anonymous", Password => "password", Refresh => "refresh", Unknown => "none" });

/// The labels of `regent_token_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// How the request ended.
    pub outcome: TokenOutcome,
    /// How the client authenticated.
    pub grant_type: GrantType,
    /// The backend that authenticated the user; `none` when none did.
    pub backend: String,
}

/// The labels of the token latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// How the request ended.
    pub outcome: TokenOutcome,
}

/// What one backend call answered (the `result` label of `regent_backend_requests_total`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum BackendResult {
    /// The password is right.
    Authenticated,
    /// The password is wrong.
    Denied,
    /// The backend does not know the user.
    UnknownUser,
    /// The backend could not answer (an outage).
    Unavailable,
}

label_value!(BackendResult { Authenticated => "authenticated", Denied => "denied", UnknownUser => "unknown_user", Unavailable => "unavailable" });

/// The labels of a backend call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendCallLabels {
    /// The backend's configured name.
    pub backend: String,
    /// What it answered.
    pub result: BackendResult,
}

/// A label set naming one backend.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    /// The backend's configured name.
    pub backend: String,
}

/// One server of an LDAP backend (`regent_ldap_server_up`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabels {
    /// The backend's configured name.
    pub backend: String,
    /// The server's URL as configured.
    pub url: String,
}

/// Whether the chain's outcome cache answered (the `result` label).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum CacheResult {
    /// A cached outcome answered.
    Hit,
    /// The backends were asked.
    Miss,
}

label_value!(CacheResult { Hit => "hit", Miss => "miss" });

/// The labels of `regent_authn_cache_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// Hit or miss.
    pub result: CacheResult,
}

/// Whether a reload worked (the `result` label).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum ReloadResult {
    /// The new version was swapped in.
    Ok,
    /// It failed to load; the last good version stays.
    Failed,
}

label_value!(ReloadResult { Ok => "ok", Failed => "failed" });

/// The labels of `regent_reloads_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// What was reloaded: `policies`, `htpasswd`, `groups`, `certificate`, ...
    pub what: String,
    /// Whether it worked.
    pub result: ReloadResult,
}

/// A label set naming what is reloaded.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WhatLabels {
    /// What was reloaded.
    pub what: String,
}

/// The labels of the proxy's request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProxyLabels {
    /// The upstream, `http://host:port`.
    pub upstream: String,
    /// The answer's status class: `2xx`, `3xx`, `4xx`, `5xx`.
    pub status: String,
}

/// The direction of proxied bytes (the `direction` label).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Direction {
    /// Request bodies, client to upstream.
    Sent,
    /// Response bodies, upstream to client.
    Received,
}

label_value!(Direction { Sent => "sent", Received => "received" });

/// The labels of the proxy's byte counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BytesLabels {
    /// The upstream.
    pub upstream: String,
    /// Which way.
    pub direction: Direction,
}

/// The labels of the proxy's upstream error counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamErrorLabels {
    /// The upstream.
    pub upstream: String,
    /// `bad_gateway` (refused, reset, bad answer) or `timeout`.
    pub kind: String,
}

/// What a lockout was keyed by (the `scope` label of `regent_lockouts_total`).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum LockoutScope {
    /// One user from one client address.
    UserClient,
    /// One client address, all users.
    Client,
    /// One user, from every address that never logged in as the user.
    User,
}

label_value!(LockoutScope { UserClient => "user_client", Client => "client", User => "user" });

/// The labels of `regent_lockouts_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LockoutLabels {
    /// What the lockout is keyed by.
    pub scope: LockoutScope,
}

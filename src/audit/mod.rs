//! The audit trail: one line per token decision, a token issued or a request refused, with who
//! asked (client and forwarded address, user, backend, groups), how (the grant type), what
//! (the requested scopes) and what came of it (granted, denied with the deciding rule
//! `file:line`, the token's `jti`; or why it was refused: unknown user, wrong password, backend
//! unavailable, locked out, refresh token refused).
//!
//! [`AuditLog::record`] writes each decision to the server log (target [`TARGET`], text or
//! JSON per `[log] format`) and, with `[log] audit_file`, as one JSON object per line to that
//! file ([`file::AuditFile`], reopened on SIGHUP). Never a password or a token: the entry holds
//! neither.

pub mod file;

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use self::file::AuditFile;
use crate::policy::{Decision, Evaluation, Principal, Reason};
use crate::scope::Scope;

/// The `tracing` target of audit lines (`RUST_LOG=regent::audit=off` hides them in the server
/// log; the audit file still gets them).
pub const TARGET: &str = "regent::audit";

/// One token request as the audit sees it.
#[derive(Debug)]
pub struct Entry<'a> {
    /// When the decision was made (the clock tokens are issued by).
    pub time: OffsetDateTime,
    /// The TCP peer.
    pub client: Option<IpAddr>,
    /// The client a trusted proxy forwarded (`X-Forwarded-For`), if any.
    pub forwarded: Option<IpAddr>,
    /// `password`, `refresh` or `anonymous`.
    pub grant: &'static str,
    /// The scopes asked for.
    pub requested: &'a [Scope],
    /// What came of it.
    pub outcome: Outcome<'a>,
}

/// What came of a token request.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// A token was issued (carrying the granted subset of the request).
    Issued {
        /// Who got it.
        principal: &'a Principal,
        /// The policies' decisions.
        evaluation: &'a Evaluation,
        /// The token's `jti`.
        jti: &'a str,
        /// Whether a refresh token was issued with it.
        refresh_token: bool,
    },
    /// No token.
    Refused {
        /// Why.
        refusal: Refusal,
        /// The user, when known (the name as presented, or a refresh token's user).
        user: Option<&'a str>,
        /// The backend that refused the password or was unavailable.
        backend: Option<&'a str>,
        /// More detail for the operator (an outage's error, a refresh token's fault).
        reason: Option<&'a str>,
    },
}

/// Why a token request got no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No backend knows the user (401).
    UnknownUser,
    /// The backend knowing the user refused the password (401).
    WrongPassword,
    /// A backend that might know the user could not be asked (503).
    BackendUnavailable,
    /// Brute-force protection refused the login before checking it (429).
    LockedOut,
    /// The refresh token is invalid, expired or revoked, or its user is gone.
    RefreshRefused,
}

impl Refusal {
    /// The `outcome` field.
    fn outcome(self) -> &'static str {
        match self {
            Refusal::UnknownUser => "unknown_user",
            Refusal::WrongPassword => "wrong_password",
            Refusal::BackendUnavailable => "backend_unavailable",
            Refusal::LockedOut => "locked_out",
            Refusal::RefreshRefused => "refresh_refused",
        }
    }

    /// The line's message.
    fn message(self) -> &'static str {
        match self {
            Refusal::UnknownUser | Refusal::WrongPassword => "authentication failed",
            Refusal::BackendUnavailable => "authentication unavailable",
            Refusal::LockedOut => "login refused: locked out",
            Refusal::RefreshRefused => "refresh token refused",
        }
    }
}

/// The `[log] audit_file` could not be opened (or its SIGHUP listener set up).
#[derive(Debug, thiserror::Error)]
#[error("audit_file {}: {error}", path.display())]
pub struct AuditFileError {
    /// The file.
    pub path: PathBuf,
    /// What the operating system said.
    pub error: std::io::Error,
}

/// Where audit lines go: the server log, and the audit file when one is configured (the
/// default: the server log only).
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    /// `[log] audit_file`.
    file: Option<Arc<AuditFile>>,
}

impl AuditLog {
    /// The server log and, when `path` is given, that file (opened for appending, created
    /// 0640 if missing, reopened on every SIGHUP). Must be called inside a tokio runtime.
    pub fn open(path: Option<&Path>) -> Result<Self, AuditFileError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let failed = |error| AuditFileError { path: path.to_path_buf(), error };
        let file = AuditFile::open(path).map_err(failed)?;
        file.reopen_on_sighup().map_err(failed)?;
        Ok(Self { file: Some(file) })
    }

    /// Writes `entry`'s line to the server log and the audit file.
    pub fn record(&self, entry: &Entry<'_>) {
        let record = Record::of(entry);
        record.log();
        if let Some(file) = &self.file {
            match serde_json::to_vec(&record) {
                Ok(line) => file.append_line(&line),
                Err(error) => tracing::error!(%error, "encoding an audit line"),
            }
        }
    }
}

/// One audit line, as written to the audit file (and, field by field, to the server log).
#[derive(Debug, Serialize)]
struct Record<'a> {
    /// RFC 3339.
    time: String,
    /// The line's message: `token issued`, `authentication failed`, ...
    message: &'static str,
    /// `issued` or the [`Refusal`].
    outcome: &'static str,
    /// The TCP peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<IpAddr>,
    /// The address a trusted proxy forwarded.
    #[serde(skip_serializing_if = "Option::is_none")]
    forwarded: Option<IpAddr>,
    /// `password`, `refresh` or `anonymous`.
    grant: &'static str,
    /// The login name, `robot:NAME` for a robot (none: anonymous, or a refresh token that
    /// could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'a, str>>,
    /// The backend that authenticated the user, refused the password or was unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<&'a str>,
    /// The user's groups, as the policies saw them.
    groups: &'a [String],
    /// The credential's claims, `claim:KEY:VALUE` (none for most backends).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    claims: Vec<String>,
    /// The requested scopes.
    requested: Vec<String>,
    /// The granted actions, each with the rule that allowed it.
    granted: Vec<Ruled>,
    /// The denied actions, each with the rule that denied it (or why none allowed it).
    denied: Vec<Ruled>,
    /// The access token's `jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    /// Whether a refresh token was issued too (only on issued tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<bool>,
    /// Why the request was refused, in more detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// The token's access, `type:name:actions` (the server log's `granted`).
    #[serde(skip)]
    access: String,
}

/// One decided action and the rule behind it.
#[derive(Debug, Serialize)]
struct Ruled {
    /// `type:name:action`.
    scope: String,
    /// The deciding rule, `file:line`; none when no rule decided (nothing allowed it).
    rule: Option<String>,
    /// For denied actions: `denied by FILE:LINE`, `no allow rule matched`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Ruled {
    fn of(decision: &Decision) -> Self {
        let rule = match &decision.reason {
            Reason::Allowed(rule) | Reason::DeniedBy(rule) => {
                Some(format!("{}:{}", rule.file.display(), rule.line))
            }
            Reason::NoAllowRule
            | Reason::UnknownResourceType
            | Reason::UnknownAction
            | Reason::OutsideCredentialScope => None,
        };
        Self {
            scope: format!("{}:{}:{}", decision.resource_type, decision.name, decision.action),
            rule,
            reason: (!decision.granted).then(|| decision.reason.to_string()),
        }
    }
}

impl<'a> Record<'a> {
    fn of(entry: &Entry<'a>) -> Self {
        let time = entry.time.format(&Rfc3339).unwrap_or_else(|_| entry.time.unix_timestamp().to_string());
        let mut record = Record {
            time,
            message: "token issued",
            outcome: "issued",
            client: entry.client,
            forwarded: entry.forwarded,
            grant: entry.grant,
            user: None,
            backend: None,
            groups: &[],
            claims: Vec::new(),
            requested: entry.requested.iter().map(Scope::to_string).collect(),
            granted: Vec::new(),
            denied: Vec::new(),
            jti: None,
            refresh_token: None,
            reason: None,
            access: String::new(),
        };
        match &entry.outcome {
            Outcome::Issued { principal, evaluation, jti, refresh_token } => {
                if let Principal::User { groups, backend, claims, .. } = principal {
                    (record.user, record.backend, record.groups) =
                        (Some(principal.subject()), Some(backend.as_str()), groups.as_slice());
                    record.claims = claims.iter().map(ToString::to_string).collect();
                }
                record.granted = evaluation.granted().map(Ruled::of).collect();
                record.denied = evaluation.denied().map(Ruled::of).collect();
                record.jti = Some(jti);
                record.refresh_token = Some(*refresh_token);
                record.access = evaluation.granted_scopes();
            }
            Outcome::Refused { refusal, user, backend, reason } => {
                record.message = refusal.message();
                record.outcome = refusal.outcome();
                (record.user, record.backend, record.reason) = (user.map(Cow::Borrowed), *backend, *reason);
            }
        }
        record
    }

    /// The server-log line: the same fields, lists as text. Values from clients and backends
    /// are recorded as strings, which the text format writes quoted and escaped and the JSON
    /// format as JSON strings.
    fn log(&self) {
        let client = self.client.map(tracing::field::display);
        let forwarded = self.forwarded.map(tracing::field::display);
        let requested = self.requested.join(" ");
        let (outcome, grant, user, backend) = (self.outcome, self.grant, self.user.as_deref(), self.backend);
        if self.outcome == "issued" {
            let denied: Vec<String> = self
                .denied
                .iter()
                .map(|ruled| format!("{} denied ({})", ruled.scope, ruled.reason.as_deref().unwrap_or("?")))
                .collect();
            let (groups, granted, denied) = (self.groups, self.access.as_str(), denied.join("; "));
            let (jti, refresh_token) = (self.jti, self.refresh_token.unwrap_or(false));
            let claims = (!self.claims.is_empty()).then(|| tracing::field::debug(&self.claims));
            tracing::info!(
                target: TARGET, outcome, client, forwarded, grant, user, backend, groups = ?groups,
                claims, requested, granted, denied, jti, refresh_token, "token issued"
            );
        } else {
            let reason = self.reason;
            tracing::info!(
                target: TARGET, outcome, client, forwarded, grant, user, backend, requested, reason,
                "{}", self.message
            );
        }
    }
}

#[cfg(test)]
mod tests;

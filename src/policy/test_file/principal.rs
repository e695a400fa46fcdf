//! A case's `who` and the keys around it (`groups`, `backend`, `owns_name`, `claims`,
//! `ceiling`) as a principal and its ceiling.

use std::ops::Range;

use toml::Spanned;

use super::RawCase;
use crate::policy::file::Locator;
use crate::policy::{PolicyError, Principal};
use crate::scope::parse_scope;
use crate::subject::{Ceiling, Claim, SubjectKind};

/// `who` and the subject keys as a principal.
pub(super) fn parse_principal(at: &Locator<'_>, raw: &RawCase) -> Result<Principal, PolicyError> {
    let who = raw.who.get_ref();
    if who == "anonymous" {
        let subject_only: [Option<Range<usize>>; 5] = [
            raw.groups.as_ref().map(Spanned::span),
            raw.backend.as_ref().map(Spanned::span),
            raw.owns_name.as_ref().map(Spanned::span),
            raw.claims.as_ref().map(Spanned::span),
            raw.ceiling.as_ref().map(Spanned::span),
        ];
        if let Some(span) = subject_only.into_iter().flatten().next() {
            return Err(at.error(
                &span,
                "`groups`, `backend`, `owns_name`, `claims` and `ceiling` are for users and robots, \
                 not anonymous",
            ));
        }
        return Ok(Principal::Anonymous);
    }
    let valid_name =
        |name: &str| !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    let (kind, name) = match who.split_once(':') {
        Some(("user", name)) if valid_name(name) => (SubjectKind::Person, name),
        Some(("robot", name)) if valid_name(name) => (SubjectKind::Robot, name),
        _ => {
            let message = format!(
                "unknown `who` {who:?} (expected \"user:NAME\", \"robot:NAME\" or \"anonymous\"; \
                 groups go in `groups`, claims in `claims`)"
            );
            return Err(at.error(&raw.who.span(), message));
        }
    };
    let claims = match &raw.claims {
        None => Vec::new(),
        Some(claims) => claims
            .get_ref()
            .iter()
            .map(|claim| {
                Claim::parse(claim.get_ref()).map_err(|error| {
                    at.error(&claim.span(), format!("{error} (a claim is written KEY:VALUE)"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Principal::User {
        kind,
        name: name.to_owned(),
        groups: raw.groups.as_ref().map(|groups| groups.get_ref().clone()).unwrap_or_default(),
        backend: raw.backend.as_ref().map(|backend| backend.get_ref().clone()).unwrap_or_default(),
        owns_name: raw.owns_name.as_ref().is_none_or(|owns| *owns.get_ref()),
        claims,
    })
}

/// The case's `ceiling`, if it has one.
pub(super) fn parse_ceiling(at: &Locator<'_>, raw: &RawCase) -> Result<Option<Ceiling>, PolicyError> {
    let Some(ceiling) = &raw.ceiling else {
        return Ok(None);
    };
    let scopes = ceiling
        .get_ref()
        .iter()
        .map(|scope| parse_scope(scope.get_ref()).map_err(|error| at.error(&scope.span(), error.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(Some(Ceiling::new(scopes)))
}

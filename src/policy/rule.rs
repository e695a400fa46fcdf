//! Validated rules: who they apply to, what they cover, which actions they allow or deny.

use super::glob::RepositoryPattern;
use super::{Principal, RuleRef};
use crate::subject::{Claim, SubjectKind};

/// What a `who` entry may be, for error messages.
pub(crate) const SUBJECT_FORMS: &str = "user:NAME, user:BACKEND/NAME, robot:NAME, robot:BACKEND/NAME, \
     group:NAME, group:BACKEND/NAME, claim:KEY:VALUE, claim:BACKEND/KEY:VALUE, authenticated, \
     anonymous or everyone";

/// Whether a rule allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// An `[[allow]]` rule.
    Allow,
    /// A `[[deny]]` rule.
    Deny,
}

/// One entry of a rule's `who`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// `user:NAME` / `robot:NAME` (the person or robot whose backend owns the name), or
    /// `user:BACKEND/NAME` / `robot:BACKEND/NAME`. A person is never a robot and vice versa.
    Named {
        /// `user:` (a person) or `robot:`.
        kind: SubjectKind,
        /// The backend the subject must come from; `None`: the backend owning the name.
        backend: Option<String>,
        /// The login (or robot) name, exact.
        name: String,
    },
    /// `group:NAME` (from any backend) or `group:BACKEND/NAME`.
    Group {
        /// The backend the group must come from; `None`: any.
        backend: Option<String>,
        /// The group name.
        name: String,
    },
    /// `claim:KEY:VALUE` (from any backend) or `claim:BACKEND/KEY:VALUE`: a credential carrying
    /// the claim `KEY` with exactly the value `VALUE`.
    Claim {
        /// The backend the claim must come from; `None`: any.
        backend: Option<String>,
        /// The claim key.
        key: String,
        /// The value, compared exactly.
        value: String,
    },
    /// `authenticated`: any person or robot with credentials.
    Authenticated,
    /// `anonymous`: only requests without credentials.
    Anonymous,
    /// `everyone`.
    Everyone,
}

/// An action a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `pull`.
    Pull,
    /// `push`.
    Push,
    /// `delete`.
    Delete,
    /// `*`: every repository action, and the only registry action.
    All,
}

/// What a rule covers: repositories by pattern, or registry resources by name.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `repositories = [...]`.
    Repositories(Vec<RepositoryPattern>),
    /// `registry = [...]`, e.g. `catalog`.
    Registry(Vec<String>),
}

/// A requested resource, as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resource<'a> {
    /// `repository:NAME`.
    Repository(&'a str),
    /// `registry:NAME`.
    Registry(&'a str),
}

/// One validated `[[allow]]` or `[[deny]]` rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Allow or deny.
    pub(crate) effect: Effect,
    /// Where the rule is written.
    pub(crate) at: RuleRef,
    /// Who the rule applies to (any of them).
    pub(crate) subjects: Vec<Subject>,
    /// What it covers.
    pub(crate) target: Target,
    /// The actions it allows or denies.
    pub(crate) actions: Vec<Action>,
}

impl Action {
    /// Parses a policy action name.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            "delete" => Some(Self::Delete),
            "*" => Some(Self::All),
            _ => None,
        }
    }

    /// The action's name in a token.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
            Self::All => "*",
        }
    }
}

impl Subject {
    /// Parses a `who` entry; the error says what is wrong. `user:`, `robot:` and `group:` names
    /// split at their first `/` into backend and name; `claim:` splits at the first `:` after
    /// the key (which holds no `/` but may be preceded by `BACKEND/`), the value is the rest.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let unknown = || format!("unknown subject {text:?} (expected {SUBJECT_FORMS})");
        let valid_name =
            |name: &str| !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control());
        let qualified = |rest: &str| match rest.split_once('/') {
            Some((backend, name)) if valid_name(backend) && valid_name(name) => {
                Ok((Some(backend.to_owned()), name.to_owned()))
            }
            Some(_) => Err(unknown()),
            None if valid_name(rest) => Ok((None, rest.to_owned())),
            None => Err(unknown()),
        };
        let named = |kind, rest| qualified(rest).map(|(backend, name)| Self::Named { kind, backend, name });
        match text {
            "authenticated" => Ok(Self::Authenticated),
            "anonymous" => Ok(Self::Anonymous),
            "everyone" => Ok(Self::Everyone),
            _ => match text.split_once(':') {
                Some(("user", rest)) => named(SubjectKind::Person, rest),
                Some(("robot", rest)) => named(SubjectKind::Robot, rest),
                Some(("group", rest)) => qualified(rest).map(|(backend, name)| Self::Group { backend, name }),
                Some(("claim", rest)) => Self::parse_claim(rest, valid_name),
                _ => Err(unknown()),
            },
        }
    }

    /// Parses the `[BACKEND/]KEY:VALUE` of a `claim:` entry.
    fn parse_claim(rest: &str, valid_name: impl Fn(&str) -> bool) -> Result<Self, String> {
        let Some((qualified_key, value)) = rest.split_once(':') else {
            return Err(format!("claim:{rest:?} needs a value: claim:KEY:VALUE"));
        };
        let (backend, key) = match qualified_key.split_once('/') {
            Some((backend, key)) if valid_name(backend) => (Some(backend.to_owned()), key),
            Some(_) => return Err(format!("invalid backend in claim:{rest:?}")),
            None => (None, qualified_key),
        };
        let claim = Claim::new(key, value).map_err(|error| error.to_string())?;
        Ok(Self::Claim { backend, key: claim.key().to_owned(), value: claim.value().to_owned() })
    }

    /// Whether `who` is this subject: `user:NAME` and `robot:NAME` only for the backend owning
    /// the name, each only for its kind.
    fn includes(&self, who: &Principal) -> bool {
        let Principal::User { kind, name, groups, backend, owns_name, claims } = who else {
            return matches!(self, Self::Everyone | Self::Anonymous);
        };
        let from = |wanted: &Option<String>| wanted.as_ref().is_none_or(|wanted| wanted == backend);
        match self {
            Self::Everyone | Self::Authenticated => true,
            Self::Anonymous => false,
            Self::Named { kind: wanted_kind, backend: wanted_backend, name: wanted } => {
                let owned = wanted_backend.is_some() || *owns_name;
                wanted_kind == kind && owned && from(wanted_backend) && wanted == name
            }
            Self::Group { backend: wanted_backend, name: wanted } => {
                from(wanted_backend) && groups.contains(wanted)
            }
            Self::Claim { backend: wanted_backend, key, value } => {
                from(wanted_backend)
                    && claims.iter().any(|claim| claim.key() == key && claim.value() == value)
            }
        }
    }

    /// Whether the subject is a robot (`robot:...`).
    fn is_robot(&self) -> bool {
        matches!(self, Self::Named { kind: SubjectKind::Robot, .. })
    }
}

impl Rule {
    /// Whether this rule applies to `who` doing `action` on `resource`.
    pub(crate) fn matches(&self, who: &Principal, resource: Resource<'_>, action: Action) -> bool {
        self.subjects.iter().any(|subject| subject.includes(who))
            && self.covers(who, resource)
            && self.names(resource, action)
    }

    /// Whether the rule's target covers `resource` (with `${user}` as `who`'s login name, for a
    /// person whose backend owns the name only: never a robot's name).
    fn covers(&self, who: &Principal, resource: Resource<'_>) -> bool {
        let user = match who {
            Principal::User { kind: SubjectKind::Person, name, owns_name: true, .. } => Some(name.as_str()),
            _ => None,
        };
        match (&self.target, resource) {
            (Target::Repositories(patterns), Resource::Repository(name)) => {
                patterns.iter().any(|pattern| pattern.matches(name, user))
            }
            (Target::Registry(names), Resource::Registry(name)) => names.iter().any(|known| known == name),
            _ => false,
        }
    }

    /// Whether the rule names `action` (registry resources only know `*`).
    fn names(&self, resource: Resource<'_>, action: Action) -> bool {
        match resource {
            Resource::Repository(_) => {
                self.actions.iter().any(|named| *named == action || *named == Action::All)
            }
            Resource::Registry(_) => action == Action::All && self.actions.contains(&Action::All),
        }
    }

    /// Whether the rule can only ever apply to anonymous requests.
    pub(crate) fn is_anonymous_only(&self) -> bool {
        self.subjects.iter().all(|subject| *subject == Subject::Anonymous)
    }

    /// Whether the rule can only ever apply to robots (or anonymous requests), which never have
    /// a `${user}`.
    pub(crate) fn is_robot_only(&self) -> bool {
        self.subjects.iter().any(Subject::is_robot)
            && self.subjects.iter().all(|subject| subject.is_robot() || *subject == Subject::Anonymous)
    }
}

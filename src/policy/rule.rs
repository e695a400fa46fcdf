//! Validated rules: who they apply to, what they cover, which actions they allow or deny.

use super::glob::RepositoryPattern;
use super::{Principal, RuleRef};

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
    /// `user:NAME` (the user whose backend owns the name) or `user:BACKEND/NAME`.
    User {
        /// The backend the user must come from; `None`: the backend owning the name.
        backend: Option<String>,
        /// The login name.
        name: String,
    },
    /// `group:NAME` (from any backend) or `group:BACKEND/NAME`.
    Group {
        /// The backend the group must come from; `None`: any.
        backend: Option<String>,
        /// The group name.
        name: String,
    },
    /// `authenticated`: any user with credentials.
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
    /// Parses a `who` entry; `None` when it is not one regent knows. `user:` and `group:`
    /// names split at their first `/` into backend and name.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let valid_name =
            |name: &str| !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control());
        let qualified = |rest: &str| match rest.split_once('/') {
            Some((backend, name)) if valid_name(backend) && valid_name(name) => {
                Some((Some(backend.to_owned()), name.to_owned()))
            }
            Some(_) => None,
            None => valid_name(rest).then(|| (None, rest.to_owned())),
        };
        match text {
            "authenticated" => Some(Self::Authenticated),
            "anonymous" => Some(Self::Anonymous),
            "everyone" => Some(Self::Everyone),
            _ => match text.split_once(':') {
                Some(("user", rest)) => qualified(rest).map(|(backend, name)| Self::User { backend, name }),
                Some(("group", rest)) => qualified(rest).map(|(backend, name)| Self::Group { backend, name }),
                _ => None,
            },
        }
    }

    /// Whether `who` is this subject: `user:NAME` only for the backend owning the name.
    fn includes(&self, who: &Principal) -> bool {
        let Principal::User { name, groups, backend, owns_name } = who else {
            return matches!(self, Self::Everyone | Self::Anonymous);
        };
        let from = |wanted: &Option<String>| wanted.as_ref().is_none_or(|wanted| wanted == backend);
        match self {
            Self::Everyone | Self::Authenticated => true,
            Self::Anonymous => false,
            Self::User { backend: None, name: wanted } => *owns_name && wanted == name,
            Self::User { backend: wanted_backend, name: wanted } => from(wanted_backend) && wanted == name,
            Self::Group { backend: wanted_backend, name: wanted } => {
                from(wanted_backend) && groups.contains(wanted)
            }
        }
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
    /// user whose backend owns the name only).
    fn covers(&self, who: &Principal, resource: Resource<'_>) -> bool {
        let user = match who {
            Principal::User { name, owns_name: true, .. } => Some(name.as_str()),
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
}

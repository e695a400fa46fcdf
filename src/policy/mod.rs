//! Access policies: pure and synchronous. (principal, scopes) -> grant + reasons.
//!
//! Policy files (`policies/*.toml`, loaded in name order) hold `[[allow]]` and `[[deny]]` rules.
//! A requested action is granted when some allow rule matches and no deny rule does.
//! [`test_file`] runs policy test files (who, scope, expected grant) against a set.
//! [`Evaluation::within`] narrows an evaluation to a credential's [`Ceiling`].

mod ceiling;
mod eval;
pub mod examples;
mod file;
mod glob;
mod rule;
pub mod test_file;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::scope::{Access, Scope};
pub use crate::subject::Ceiling;
use crate::subject::{Claim, SubjectKind};

/// Who is asking: the anonymous identity, or an authenticated person or robot with groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A request without credentials.
    Anonymous,
    /// An authenticated subject: a person (`user:` rules) or a robot (`robot:` rules).
    User {
        /// A person or a robot.
        kind: SubjectKind,
        /// The canonical login name (the robot's name for a robot).
        name: String,
        /// The user's groups.
        groups: Vec<String>,
        /// The authentication backend that authenticated the user.
        backend: String,
        /// Whether that backend is proven to own the name (every earlier backend answered "no
        /// such user"): only then do `user:NAME`, `robot:NAME` and `${user}` apply;
        /// `user:BACKEND/NAME` and `robot:BACKEND/NAME` always.
        owns_name: bool,
        /// Attributes from the credential, for `claim:KEY:VALUE` rules.
        claims: Vec<Claim>,
    },
}

impl Principal {
    /// The token's `sub` and the log's user: empty for anonymous, `NAME` for a person,
    /// `robot:NAME` for a robot (so a robot never reads as the person of the same name).
    pub fn subject(&self) -> Cow<'_, str> {
        match self {
            Self::Anonymous => Cow::Borrowed(""),
            Self::User { kind: SubjectKind::Person, name, .. } => Cow::Borrowed(name),
            Self::User { kind: SubjectKind::Robot, name, .. } => Cow::Owned(format!("robot:{name}")),
        }
    }
}

/// The text of one policy file and the name it is reported under.
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// Path (or embedded name) used in error messages and reasons.
    pub path: PathBuf,
    /// The TOML text.
    pub text: String,
}

/// A policy file error; `Display` is `file:line:col: message`.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is invalid at a position.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// A loaded, validated set of rules from all policy files.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Every rule of every file, in load order.
    rules: Vec<rule::Rule>,
}

/// A policy set plus the warnings found while loading it (e.g. rules that can never match).
#[derive(Debug, Clone)]
pub struct LoadedPolicies {
    /// The rules.
    pub set: PolicySet,
    /// Human-readable warnings, each `file:line:col: message`.
    pub warnings: Vec<String>,
}

/// Where a rule is written: file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The policy file.
    pub file: PathBuf,
    /// 1-based line of the rule's `[[allow]]`/`[[deny]]` header.
    pub line: usize,
}

/// Why one action was granted or denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// An allow rule matched and no deny rule did.
    Allowed(RuleRef),
    /// A deny rule matched.
    DeniedBy(RuleRef),
    /// No allow rule matched.
    NoAllowRule,
    /// The resource type is not one regent knows (`repository`, `registry`).
    UnknownResourceType,
    /// The action is not one regent knows for this resource type.
    UnknownAction,
    /// The policies allow it, but the credential's [`Ceiling`] (e.g. an access token's scopes)
    /// does not.
    OutsideCredentialScope,
}

/// The decision for one requested action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The requested scope's resource type.
    pub resource_type: String,
    /// The requested scope's name.
    pub name: String,
    /// The requested action (as asked, e.g. `*` before expansion).
    pub action: String,
    /// Whether it was granted.
    pub granted: bool,
    /// The rule (or absence of one) that decided it.
    pub reason: Reason,
}

/// The result of evaluating a request: the token's `access` and a decision per action
/// ([`Evaluation::within`] may add one per action a ceiling removed from a granted `*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Per resource, only the granted subset of the requested actions (resources with none left out).
    pub access: Vec<Access>,
    /// One decision per requested action, in request order.
    pub decisions: Vec<Decision>,
}

impl PolicySet {
    /// Parses and validates policy sources (already in load order).
    pub fn from_sources(sources: &[PolicySource]) -> Result<LoadedPolicies, PolicyError> {
        let mut set = PolicySet::default();
        let mut warnings = Vec::new();
        for source in sources {
            let parsed = file::parse_file(source)?;
            set.rules.extend(parsed.rules);
            warnings.extend(parsed.warnings);
        }
        Ok(LoadedPolicies { set, warnings })
    }

    /// Loads every `*.toml` in `dir`, in file-name order.
    ///
    /// Other files, subdirectories (e.g. `tests/` with policy tests) and hidden files (names
    /// starting with `.`, e.g. editor lock files) are ignored. A directory without any rule gets
    /// the warning `DIR: no policy rules: every request is denied`.
    pub fn load_dir(dir: &Path) -> Result<LoadedPolicies, PolicyError> {
        let read_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PolicyError::Read { path, source }
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
            let path = entry.map_err(read_error(dir))?.path();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or(".");
            if name.starts_with('.') || path.extension().is_none_or(|ext| ext != "toml") {
                continue;
            }
            if std::fs::metadata(&path).map_err(read_error(&path))?.is_file() {
                paths.push(path);
            }
        }
        paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        let mut sources = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(read_error(&path))?;
            sources.push(PolicySource { path, text });
        }
        let mut loaded = Self::from_sources(&sources)?;
        if loaded.set.rules.is_empty() {
            let warning = format!("{}: no policy rules: every request is denied", dir.display());
            loaded.warnings.push(warning);
        }
        Ok(loaded)
    }

    /// Decides every requested action for `who`.
    pub fn evaluate(&self, who: &Principal, scopes: &[Scope]) -> Evaluation {
        eval::evaluate(&self.rules, who, scopes)
    }

    /// How many rules the set holds.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

impl Evaluation {
    /// The granted decisions.
    pub fn granted(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|decision| decision.granted)
    }

    /// The denied decisions.
    pub fn denied(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|decision| !decision.granted)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.granted { "granted" } else { "denied" };
        write!(f, "{}:{}:{} {verdict} ({})", self.resource_type, self.name, self.action, self.reason)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Allowed(r) => write!(f, "allowed by {}:{}", r.file.display(), r.line),
            Reason::DeniedBy(r) => write!(f, "denied by {}:{}", r.file.display(), r.line),
            Reason::NoAllowRule => f.write_str("no allow rule matched"),
            Reason::UnknownResourceType => f.write_str("unknown resource type"),
            Reason::UnknownAction => f.write_str("unknown action"),
            Reason::OutsideCredentialScope => f.write_str("outside the credential's scope"),
        }
    }
}

#[cfg(test)]
mod tests;

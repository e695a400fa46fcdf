//! Policy test files: cases (who asks, for which scope, which actions must be granted) that
//! users keep next to their policies and run with `regent policy test` in their own CI.
//!
//! ```toml
//! [[case]]
//! name = "alice pushes to her namespace"   # optional; default: who and scope
//! who = "user:alice"                       # "user:NAME", "robot:NAME" or "anonymous"
//! groups = ["developers"]                  # optional (not anonymous)
//! backend = "local"                        # optional: for user:BACKEND/NAME rules
//! owns_name = true                         # optional, default true
//! claims = ["project_path:team/app"]       # optional: the credential's KEY:VALUE claims
//! ceiling = ["repository:alice/app:pull"]  # optional: the credential's scope ceiling
//! scope = "repository:alice/app:pull,push"
//! granted = ["pull", "push"]               # exactly the granted actions; [] for none
//! ```

mod principal;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::file::Locator;
use super::{Evaluation, PolicyError, PolicySet, PolicySource, Principal, Reason};
use crate::scope::{Scope, parse_scope};
use crate::subject::Ceiling;

/// The actions in the order tokens list them.
const ACTION_ORDER: [&str; 4] = ["pull", "push", "delete", "*"];

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestFile {
    /// The cases.
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
}

/// One `[[case]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    /// What the case is about.
    name: Option<String>,
    /// `user:NAME`, `robot:NAME` or `anonymous`.
    who: Spanned<String>,
    /// The user's groups.
    groups: Option<Spanned<Vec<String>>>,
    /// The backend that authenticated the user.
    backend: Option<Spanned<String>>,
    /// Whether that backend owns the name.
    owns_name: Option<Spanned<bool>>,
    /// The credential's claims, `KEY:VALUE`.
    claims: Option<Spanned<Vec<Spanned<String>>>>,
    /// The credential's scope ceiling.
    ceiling: Option<Spanned<Vec<Spanned<String>>>>,
    /// The requested scope.
    scope: Spanned<String>,
    /// The actions that must be granted, exactly.
    granted: Spanned<Vec<Spanned<String>>>,
}

/// One validated test case.
#[derive(Debug, Clone)]
pub struct PolicyTest {
    /// 1-based line of the case's `[[case]]` header.
    pub line: usize,
    /// The case's name (its `name`, or who and scope).
    pub name: String,
    /// Who asks.
    pub principal: Principal,
    /// The ceiling of the credential asking, if it has one.
    pub ceiling: Option<Ceiling>,
    /// The requested scope.
    pub scope: Scope,
    /// The actions that must be granted, in token order.
    pub granted: Vec<String>,
}

/// A parsed policy test file.
#[derive(Debug, Clone)]
pub struct PolicyTestFile {
    /// The file.
    pub path: PathBuf,
    /// Its cases, in file order.
    pub cases: Vec<PolicyTest>,
}

/// A case whose granted actions differ from the expected ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The test file.
    pub path: PathBuf,
    /// The case's line.
    pub line: usize,
    /// The case's name.
    pub name: String,
    /// The actions the case expects, in token order.
    pub expected: Vec<String>,
    /// The actions the policies grant, in token order.
    pub got: Vec<String>,
    /// For each action granted or denied against the expectation: the deciding rule (or none).
    pub reasons: Vec<(String, Reason)>,
}

impl PolicyTestFile {
    /// Reads and parses the test file at `path`.
    pub fn read(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&PolicySource { path: path.to_path_buf(), text })
    }

    /// Parses and validates a test file; errors are `file:line:col: message`.
    pub fn parse(source: &PolicySource) -> Result<Self, PolicyError> {
        let at = Locator { source };
        let raw: RawTestFile = at.parse_toml()?;
        if raw.case.is_empty() {
            return Err(at.error(&(0..0), "no [[case]] in this policy test file"));
        }
        let cases = raw.case.iter().map(|case| parse_case(&at, case)).collect::<Result<_, _>>()?;
        Ok(Self { path: source.path.clone(), cases })
    }
}

/// Validates one case.
fn parse_case(at: &Locator<'_>, header: &Spanned<RawCase>) -> Result<PolicyTest, PolicyError> {
    let raw = header.get_ref();
    let (line, _) = at.position(header.span().start);
    let principal = principal::parse_principal(at, raw)?;
    let ceiling = principal::parse_ceiling(at, raw)?;
    let scope =
        parse_scope(raw.scope.get_ref()).map_err(|err| at.error(&raw.scope.span(), err.to_string()))?;
    let known: &[&str] = match scope.resource_type.as_str() {
        "repository" => &["pull", "push", "delete"],
        "registry" => &["*"],
        _ => return Err(at.error(&raw.scope.span(), "resource type is neither `repository` nor `registry`")),
    };
    let requested = |action: &str| scope.actions.iter().any(|asked| asked == action || asked == "*");
    for action in raw.granted.get_ref() {
        let text = action.get_ref().as_str();
        if !known.contains(&text) {
            let message =
                format!("{text:?} is not a {} action (expected {})", scope.resource_type, known.join(", "));
            return Err(at.error(&action.span(), message));
        }
        if !requested(text) {
            return Err(at.error(&action.span(), format!("{text:?} is not requested by the scope")));
        }
    }
    let granted = in_token_order(raw.granted.get_ref().iter().map(|action| action.get_ref().as_str()));
    let name = raw.name.clone().unwrap_or_else(|| format!("{} {}", raw.who.get_ref(), raw.scope.get_ref()));
    Ok(PolicyTest { line, name, principal, ceiling, scope, granted })
}

/// The known actions among `actions`, once each, in token order.
fn in_token_order<'a>(actions: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    ACTION_ORDER
        .into_iter()
        .filter(|known| actions.clone().any(|action| action == *known))
        .map(str::to_owned)
        .collect()
}

impl PolicySet {
    /// Evaluates `scopes` as `case`'s principal asks for them, within its ceiling.
    fn evaluate_case(&self, case: &PolicyTest, scopes: &[Scope]) -> Evaluation {
        let evaluation = self.evaluate(&case.principal, scopes);
        match &case.ceiling {
            Some(ceiling) => evaluation.within(ceiling),
            None => evaluation,
        }
    }

    /// Runs every case of `file`: the mismatches, in file order.
    pub fn run_tests(&self, file: &PolicyTestFile) -> Vec<Mismatch> {
        file.cases.iter().filter_map(|case| self.run_test(&file.path, case)).collect()
    }

    /// Runs one case: `None` when the granted actions are exactly the expected ones.
    pub fn run_test(&self, file: &Path, case: &PolicyTest) -> Option<Mismatch> {
        let evaluation = self.evaluate_case(case, std::slice::from_ref(&case.scope));
        let got = in_token_order(
            evaluation.access.iter().flat_map(|access| access.actions.iter().map(String::as_str)),
        );
        if got == case.granted {
            return None;
        }
        let differing = ACTION_ORDER
            .into_iter()
            .filter(|action| got.iter().any(|a| a == action) != case.granted.iter().any(|a| a == action));
        let reasons = differing
            .map(|action| {
                let single = Scope { actions: vec![action.to_owned()], ..case.scope.clone() };
                let decided = self.evaluate_case(case, &[single]);
                let reason = decided.decisions.first().map_or(Reason::NoAllowRule, |d| d.reason.clone());
                (action.to_owned(), reason)
            })
            .collect();
        Some(Mismatch {
            path: file.to_path_buf(),
            line: case.line,
            name: case.name.clone(),
            expected: case.granted.clone(),
            got,
            reasons,
        })
    }
}

impl std::fmt::Display for Mismatch {
    /// `file:line: case "name": expected [pull, push], got [pull] (push: no allow rule matched)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reasons: Vec<String> =
            self.reasons.iter().map(|(action, reason)| format!("{action}: {reason}")).collect();
        write!(
            f,
            "{}:{}: case {:?}: expected [{}], got [{}] ({})",
            self.path.display(),
            self.line,
            self.name,
            self.expected.join(", "),
            self.got.join(", "),
            reasons.join("; "),
        )
    }
}

#[cfg(test)]
mod tests;

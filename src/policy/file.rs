//! Parsing one policy file into validated rules, with errors and warnings at `file:line:col`.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::glob::RepositoryPattern;
use super::rule::{Action, Effect, Rule, Subject, Target};
use super::{PolicyError, PolicySource, RuleRef};

/// A list of strings with the position of the list and of each element.
type SpannedList = Spanned<Vec<Spanned<String>>>;

/// The file as written: `[[allow]]` and `[[deny]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// `[[allow]]` rules.
    #[serde(default)]
    allow: Vec<Spanned<RawRule>>,
    /// `[[deny]]` rules.
    #[serde(default)]
    deny: Vec<Spanned<RawRule>>,
}

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    /// Subjects.
    who: SpannedList,
    /// Repository patterns (exclusive with `registry`).
    repositories: Option<SpannedList>,
    /// Registry resource names (exclusive with `repositories`).
    registry: Option<SpannedList>,
    /// Actions.
    actions: SpannedList,
}

/// The rules of one file and the warnings found in it.
#[derive(Debug)]
pub(crate) struct ParsedFile {
    /// The rules, in file order.
    pub(crate) rules: Vec<Rule>,
    /// Warnings, each `file:line:col: message`.
    pub(crate) warnings: Vec<String>,
}

/// Turns byte offsets of one source into `file:line:col` errors and warnings.
pub(super) struct Locator<'a> {
    /// The source.
    pub(super) source: &'a PolicySource,
}

impl Locator<'_> {
    /// The 1-based line and column (in characters) of a byte offset.
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let text = &self.source.text;
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at `span`.
    pub(super) fn error(&self, span: &Range<usize>, message: impl Into<String>) -> PolicyError {
        let (line, column) = self.position(span.start);
        PolicyError::Invalid { path: self.source.path.clone(), line, column, message: message.into() }
    }

    /// Parses the source as TOML into `T`, a syntax or schema error at its position.
    pub(super) fn parse_toml<T: serde::de::DeserializeOwned>(&self) -> Result<T, PolicyError> {
        toml::from_str(&self.source.text).map_err(|err| {
            let message = err.message().lines().collect::<Vec<_>>().join(": ");
            self.error(&err.span().unwrap_or(0..0), message)
        })
    }

    /// A warning at `span`.
    fn warning(&self, span: &Range<usize>, message: &str) -> String {
        let (line, column) = self.position(span.start);
        format!("{}:{line}:{column}: {message}", self.source.path.display())
    }
}

/// Parses and validates one policy file.
pub(crate) fn parse_file(source: &PolicySource) -> Result<ParsedFile, PolicyError> {
    let at = Locator { source };
    let raw: RawFile = at.parse_toml()?;
    let mut parsed = ParsedFile { rules: Vec::new(), warnings: Vec::new() };
    if raw.allow.is_empty() && raw.deny.is_empty() {
        parsed.warnings.push(at.warning(&(0..0), "no rules in this file"));
    }
    let allow = raw.allow.iter().map(|r| (Effect::Allow, r));
    let mut in_file_order: Vec<_> = allow.chain(raw.deny.iter().map(|r| (Effect::Deny, r))).collect();
    in_file_order.sort_by_key(|(_, raw_rule)| raw_rule.span().start);
    for (effect, raw_rule) in in_file_order {
        let rule = parse_rule(&at, effect, raw_rule, &mut parsed.warnings)?;
        parsed.rules.push(rule);
    }
    Ok(parsed)
}

/// Validates one rule; `header` spans the rule's table, starting at its `[[allow]]`/`[[deny]]`.
fn parse_rule(
    at: &Locator<'_>,
    effect: Effect,
    header: &Spanned<RawRule>,
    warnings: &mut Vec<String>,
) -> Result<Rule, PolicyError> {
    let raw = header.get_ref();
    let (line, _) = at.position(header.span().start);
    let subjects = parse_list(at, &raw.who, "who", Subject::parse)?;
    let actions = parse_list(at, &raw.actions, "actions", |text| {
        Action::parse(text)
            .ok_or_else(|| format!("unknown action {text:?} (expected pull, push, delete or *)"))
    })?;
    let target = match (&raw.repositories, &raw.registry) {
        (Some(_), Some(registry)) => {
            return Err(
                at.error(&registry.span(), "a rule has either `repositories` or `registry`, not both")
            );
        }
        (None, None) => {
            return Err(at.error(&header.span(), "a rule needs `repositories` or `registry`"));
        }
        (Some(patterns), None) => {
            let patterns = parse_list(at, patterns, "repositories", RepositoryPattern::parse)?;
            let mut list = Vec::new();
            for (parsed, element) in patterns.into_iter().zip(patterns_spans(raw)) {
                for warning in &parsed.warnings {
                    warnings.push(at.warning(&element, warning));
                }
                list.push(parsed.pattern);
            }
            Target::Repositories(list)
        }
        (None, Some(names)) => Target::Registry(parse_list(at, names, "registry", parse_registry_name)?),
    };
    let rule = Rule { effect, at: RuleRef { file: at.source.path.clone(), line }, subjects, target, actions };
    if let Some(warning) = void_rule_warning(&rule) {
        warnings.push(at.warning(&header.span(), warning));
    }
    if let Some(warning) = broad_grant_warning(&rule, raw) {
        warnings.push(at.warning(&header.span(), &warning));
    }
    Ok(rule)
}

/// The spans of a rule's repository patterns.
fn patterns_spans(raw: &RawRule) -> impl Iterator<Item = Range<usize>> + '_ {
    raw.repositories.iter().flat_map(|list| list.get_ref().iter().map(Spanned::span))
}

/// Parses every element of a non-empty list, reporting the first bad one at its position.
fn parse_list<T>(
    at: &Locator<'_>,
    list: &SpannedList,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, PolicyError> {
    if list.get_ref().is_empty() {
        return Err(at.error(&list.span(), format!("`{key}` must not be empty")));
    }
    list.get_ref()
        .iter()
        .map(|element| parse(element.get_ref()).map_err(|message| at.error(&element.span(), message)))
        .collect()
}

/// Validates a registry resource name such as `catalog`.
fn parse_registry_name(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!("invalid registry resource name {text:?} (a literal name such as \"catalog\")"))
    }
}

/// Why a valid rule can still never match anything, if it cannot.
fn void_rule_warning(rule: &Rule) -> Option<&'static str> {
    match &rule.target {
        Target::Repositories(patterns) if patterns.iter().all(RepositoryPattern::uses_user) => {
            if rule.is_anonymous_only() {
                Some("rule can never match: anonymous requests never match ${user}")
            } else if rule.is_robot_only() {
                Some("rule can never match: ${user} is a person's name, never a robot's")
            } else {
                None
            }
        }
        Target::Repositories(_) => None,
        Target::Registry(_) => (!rule.actions.contains(&Action::All))
            .then_some("rule never applies: registry resources only know the action \"*\""),
    }
}

/// A warning for an allow rule that lets `everyone`, `anonymous` or `authenticated` push or
/// delete on a broad pattern ([`RepositoryPattern::is_broad`]): every such user may then
/// overwrite or delete other people's repositories.
fn broad_grant_warning(rule: &Rule, raw: &RawRule) -> Option<String> {
    let Target::Repositories(patterns) = &rule.target else {
        return None;
    };
    let broad_subjects: Vec<&str> = rule
        .subjects
        .iter()
        .filter_map(|subject| match subject {
            Subject::Everyone => Some("everyone"),
            Subject::Anonymous => Some("anonymous"),
            Subject::Authenticated => Some("authenticated"),
            _ => None,
        })
        .collect();
    let writes: Vec<&str> = [Action::Push, Action::Delete]
        .into_iter()
        .filter(|action| rule.actions.iter().any(|named| named == action || *named == Action::All))
        .map(Action::as_str)
        .collect();
    let texts = raw.repositories.iter().flat_map(|list| list.get_ref().iter().map(Spanned::get_ref));
    let broad_patterns: Vec<String> = patterns
        .iter()
        .zip(texts)
        .filter(|(pattern, _)| pattern.is_broad())
        .map(|(_, text)| format!("{text:?}"))
        .collect();
    if rule.effect != Effect::Allow
        || broad_subjects.is_empty()
        || writes.is_empty()
        || broad_patterns.is_empty()
    {
        return None;
    }
    Some(format!(
        "broad grant: {} may {} on {}, which covers every namespace (narrow `who` or `repositories`, \
         e.g. \"${{user}}/**\" or \"team/**\")",
        broad_subjects.join(", "),
        writes.join(" and "),
        broad_patterns.join(", "),
    ))
}

#[cfg(test)]
mod tests;

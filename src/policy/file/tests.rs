use std::path::PathBuf;

use super::*;

fn parse(text: &str) -> Result<ParsedFile, PolicyError> {
    parse_file(&PolicySource { path: PathBuf::from("p.toml"), text: text.to_owned() })
}

const WHO: &str = "who = [\"everyone\"]\n";
const REPOS: &str = "repositories = [\"**\"]\n";
const PULL: &str = "actions = [\"pull\"]\n";

#[test]
fn load_errors_point_at_the_offending_value() {
    let cases: Vec<(String, &str)> = vec![
        ("[[allow]]\nwho = [\"a\"\n".to_owned(), "p.toml:3:1: invalid array: expected `]`"),
        (
            format!("[[allow]]\n{WHO}{REPOS}{PULL}bogus = 1\n"),
            "p.toml:5:1: unknown field `bogus`, expected one of `who`, `repositories`, `registry`, `actions`",
        ),
        ("# rules\n[other]\n".to_owned(), "p.toml:2:2: unknown field `other`, expected `allow` or `deny`"),
        (format!("\n[[allow]]\n{REPOS}{PULL}"), "p.toml:2:1: missing field `who`"),
        (format!("[[allow]]\n{WHO}{REPOS}"), "p.toml:1:1: missing field `actions`"),
        (
            format!("[[allow]]\nwho = \"everyone\"\n{REPOS}{PULL}"),
            "p.toml:2:7: invalid type: string \"everyone\", expected a sequence",
        ),
        (format!("[[allow]]\nwho = []\n{REPOS}{PULL}"), "p.toml:2:7: `who` must not be empty"),
        (
            format!("[[allow]]\nwho = [\"authenticated\", \"root\"]\n{REPOS}{PULL}"),
            "p.toml:2:25: unknown subject \"root\" (expected user:NAME, user:BACKEND/NAME, robot:NAME, robot:BACKEND/NAME, group:NAME, group:BACKEND/NAME, claim:KEY:VALUE, claim:BACKEND/KEY:VALUE, authenticated, anonymous or everyone)",
        ),
        (
            format!("[[allow]]\nwho = [\"user:\"]\n{REPOS}{PULL}"),
            "p.toml:2:8: unknown subject \"user:\" (expected user:NAME, user:BACKEND/NAME, robot:NAME, robot:BACKEND/NAME, group:NAME, group:BACKEND/NAME, claim:KEY:VALUE, claim:BACKEND/KEY:VALUE, authenticated, anonymous or everyone)",
        ),
        (
            // Columns count characters, not bytes.
            format!("[[allow]]\nwho = [\"user:é\", \"Group:x\"]\n{REPOS}{PULL}"),
            "p.toml:2:18: unknown subject \"Group:x\" (expected user:NAME, user:BACKEND/NAME, robot:NAME, robot:BACKEND/NAME, group:NAME, group:BACKEND/NAME, claim:KEY:VALUE, claim:BACKEND/KEY:VALUE, authenticated, anonymous or everyone)",
        ),
        (
            format!("[[allow]]\nwho = [\"robot:ci\", \"claim:ref\"]\n{REPOS}{PULL}"),
            "p.toml:2:20: claim:\"ref\" needs a value: claim:KEY:VALUE",
        ),
        (
            format!("[[allow]]\nwho = [\"claim:project path:x\"]\n{REPOS}{PULL}"),
            "p.toml:2:8: invalid claim key \"project path\" (use letters, digits, `_`, `-` and `.`)",
        ),
        (
            format!("[[allow]]\nwho = [\"claim:ref:\"]\n{REPOS}{PULL}"),
            "p.toml:2:8: invalid value of claim \"ref\" (empty or with a control character)",
        ),
        (
            format!("[[allow]]\nwho = [\"claim: /ref:x\"]\n{REPOS}{PULL}"),
            "p.toml:2:8: invalid backend in claim:\" /ref:x\"",
        ),
        (
            format!("[[allow]]\nwho = [\"robot:/ci\"]\n{REPOS}{PULL}"),
            "p.toml:2:8: unknown subject \"robot:/ci\" (expected user:NAME, user:BACKEND/NAME, robot:NAME, robot:BACKEND/NAME, group:NAME, group:BACKEND/NAME, claim:KEY:VALUE, claim:BACKEND/KEY:VALUE, authenticated, anonymous or everyone)",
        ),
        (
            format!("[[deny]]\n{WHO}{REPOS}actions = [\"pull\", \"write\"]\n"),
            "p.toml:4:20: unknown action \"write\" (expected pull, push, delete or *)",
        ),
        (format!("[[allow]]\n{WHO}{REPOS}actions = []\n"), "p.toml:4:11: `actions` must not be empty"),
        (
            format!("[[allow]]\n{WHO}repositories = [\"team/**\", \"a/?\"]\n{PULL}"),
            "p.toml:3:28: `?` is not supported in repository patterns",
        ),
        (
            format!("[[allow]]\n{WHO}repositories = [\"team**\"]\n{PULL}"),
            "p.toml:3:17: `**` is only allowed as a whole path segment",
        ),
        (
            format!("[[allow]]\n{WHO}repositories = [\"Team/*\"]\n{PULL}"),
            "p.toml:3:17: character 'T' is not allowed in a repository pattern (use a-z 0-9 . _ - : / * ${user})",
        ),
        (
            format!("[[allow]]\n{WHO}repositories = [\"${{users}}/**\"]\n{PULL}"),
            "p.toml:3:17: unknown variable: only ${user} is supported",
        ),
        (
            format!("[[allow]]\n{WHO}repositories = []\n{PULL}"),
            "p.toml:3:16: `repositories` must not be empty",
        ),
        (
            format!("[[allow]]\n{WHO}{REPOS}registry = [\"catalog\"]\n{PULL}"),
            "p.toml:4:12: a rule has either `repositories` or `registry`, not both",
        ),
        (
            format!("{PULL_RULE}\n[[deny]]\n{WHO}{PULL}"),
            "p.toml:6:1: a rule needs `repositories` or `registry`",
        ),
        (
            format!("[[allow]]\n{WHO}registry = [\"catalog\", \"*\"]\nactions = [\"*\"]\n"),
            "p.toml:3:24: invalid registry resource name \"*\" (a literal name such as \"catalog\")",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).map(|_| ()).expect_err(&text);
        assert_eq!(err.to_string(), expected, "{text}");
    }
}

#[test]
fn warns_about_rules_that_can_never_match() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (String::new(), vec!["p.toml:1:1: no rules in this file"]),
        (
            format!(
                "{PULL_RULE}\n[[allow]]\nwho = [\"anonymous\"]\nrepositories = [\"${{user}}/**\"]\n{PULL}"
            ),
            vec!["p.toml:6:1: rule can never match: anonymous requests never match ${user}"],
        ),
        (
            format!("[[allow]]\nwho = [\"group:admins\"]\nregistry = [\"catalog\"]\n{PULL}"),
            vec!["p.toml:1:1: rule never applies: registry resources only know the action \"*\""],
        ),
        (
            format!("[[allow]]\n{WHO}repositories = [\"a/**\", \"team/-x\"]\n{PULL}"),
            vec!["p.toml:3:25: pattern segment \"-x\" can never match a valid repository name"],
        ),
        (
            format!(
                "[[allow]]\nwho = [\"robot:ci\", \"anonymous\"]\nrepositories = [\"${{user}}/**\"]\n{PULL}"
            ),
            vec!["p.toml:1:1: rule can never match: ${user} is a person's name, never a robot's"],
        ),
        // Not void: a robot next to a claim (a person may carry it).
        (
            format!(
                "[[allow]]\nwho = [\"robot:ci\", \"claim:ref:main\"]\nrepositories = [\"${{user}}/**\"]\n{PULL}"
            ),
            vec![],
        ),
        // Not void: `${user}` for users, or anonymous with a plain pattern.
        (
            format!(
                "[[allow]]\nwho = [\"anonymous\", \"authenticated\"]\nrepositories = [\"${{user}}/**\"]\n{PULL}"
            ),
            vec![],
        ),
        (
            format!(
                "[[allow]]\nwho = [\"anonymous\"]\nrepositories = [\"${{user}}/**\", \"public/**\"]\n{PULL}"
            ),
            vec![],
        ),
    ];
    for (text, expected) in cases {
        let parsed = parse(&text).expect(&text);
        assert_eq!(parsed.warnings, expected, "{text}");
    }
}

const PULL_RULE: &str = "[[allow]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"pull\"]\n";

#[test]
fn rules_carry_their_header_line_and_effect() {
    let text = format!("# header\n\n[[deny]]\n{WHO}{REPOS}{PULL}\n{PULL_RULE}");
    let parsed = parse(&text).expect("valid");
    let summary: Vec<(Effect, usize)> = parsed.rules.iter().map(|r| (r.effect, r.at.line)).collect();
    assert_eq!(summary, [(Effect::Deny, 3), (Effect::Allow, 8)]);
}

#[test]
fn warns_about_broad_write_grants() {
    let rule = |who: &str, repositories: &str, actions: &str| {
        format!("[[allow]]\nwho = [{who}]\nrepositories = [{repositories}]\nactions = [{actions}]\n")
    };
    let broad = |subjects: &str, actions: &str, patterns: &str| {
        vec![format!(
            "p.toml:1:1: broad grant: {subjects} may {actions} on {patterns}, which covers every namespace \
             (narrow `who` or `repositories`, e.g. \"${{user}}/**\" or \"team/**\")"
        )]
    };
    let cases: Vec<(String, Vec<String>)> = vec![
        (rule("\"everyone\"", "\"**\"", "\"push\""), broad("everyone", "push", "\"**\"")),
        (rule("\"anonymous\"", "\"*\"", "\"delete\""), broad("anonymous", "delete", "\"*\"")),
        (
            rule("\"authenticated\", \"group:x\"", "\"team/**\", \"*/**\"", "\"*\""),
            broad("authenticated", "push and delete", "\"*/**\""),
        ),
        (rule("\"everyone\"", "\"**/app\"", "\"pull\", \"push\""), broad("everyone", "push", "\"**/app\"")),
        (rule("\"everyone\"", "\"*/app\"", "\"push\""), broad("everyone", "push", "\"*/app\"")),
        // Not broad: pull only, a named subject, a namespace, ${user}, a literal first segment.
        (rule("\"everyone\"", "\"**\"", "\"pull\""), vec![]),
        (rule("\"group:admins\", \"user:root\"", "\"**\"", "\"*\""), vec![]),
        (rule("\"authenticated\"", "\"${user}/**\"", "\"*\""), vec![]),
        (rule("\"anonymous\"", "\"public/**\"", "\"push\""), vec![]),
        (rule("\"everyone\"", "\"team-*/**\"", "\"push\""), vec![]),
        (rule("\"everyone\"", "\"*-team/**\"", "\"push\""), vec![]),
        (
            "[[deny]]\nwho = [\"everyone\"]\nrepositories = [\"**\"]\nactions = [\"push\"]\n".to_owned(),
            vec![],
        ),
    ];
    for (text, expected) in cases {
        let parsed = parse(&text).expect(&text);
        assert_eq!(parsed.warnings, expected, "{text}");
    }
}

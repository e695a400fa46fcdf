use super::*;

fn scope(resource_type: &str, name: &str, actions: &[&str]) -> Scope {
    Scope {
        resource_type: resource_type.to_owned(),
        name: name.to_owned(),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
    }
}

#[test]
fn parses_valid_scopes() {
    let cases = [
        ("repository:team/app:pull", scope("repository", "team/app", &["pull"])),
        ("repository:team/app:pull,push", scope("repository", "team/app", &["pull", "push"])),
        ("repository:localhost:5000/foo/bar:pull", scope("repository", "localhost:5000/foo/bar", &["pull"])),
        ("repository:a:1:b:push", scope("repository", "a:1:b", &["push"])),
        ("repository(plugin):foo/bar:pull", scope("repository", "foo/bar", &["pull"])),
        ("registry:catalog:*", scope("registry", "catalog", &["*"])),
        ("repository:foo:push,pull,push,,pull", scope("repository", "foo", &["push", "pull"])),
        ("repository:foo:", scope("repository", "foo", &[])),
        ("repository:foo:,", scope("repository", "foo", &[])),
        ("my_type-2:Foo:x_y-z", scope("my_type-2", "Foo", &["x_y-z"])),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_scope(text), Ok(expected), "{text}");
    }
}

#[test]
fn rejects_garbage() {
    let cases = [
        ("", "expected type:name:actions"),
        ("repository", "expected type:name:actions"),
        ("repository:foo", "expected type:name:actions"),
        (":foo:pull", "empty resource type"),
        ("(plugin):foo:pull", "empty resource type"),
        ("Repository:foo:pull", "resource type has characters outside [a-z0-9_-]"),
        ("repo.sitory:foo:pull", "resource type has characters outside [a-z0-9_-]"),
        ("repository(plugin:foo:pull", "unbalanced parentheses in resource class"),
        ("repositoryplugin):foo:pull", "unbalanced parentheses in resource class"),
        ("repository((x)):foo:pull", "unbalanced parentheses in resource class"),
        ("repository(x)y:foo:pull", "unbalanced parentheses in resource class"),
        ("repository::pull", "empty resource name"),
        ("repository:foo:Pull", "action has characters outside [a-z0-9*_-]"),
        ("repository:foo:pull;rm", "action has characters outside [a-z0-9*_-]"),
        ("repository:foo bar:pull", "whitespace or control character"),
        ("repository:foo:pull\n", "whitespace or control character"),
        ("repository:foo\u{0}:pull", "whitespace or control character"),
        ("repository:foo\t:pull", "whitespace or control character"),
    ];
    for (text, reason) in cases {
        let err = parse_scope(text).expect_err(text);
        assert_eq!(err.reason, reason, "{text:?}");
        assert_eq!(err.scope, text);
    }
}

#[test]
fn parses_several_fields_and_space_separated_scopes() {
    let fields = [
        "repository:a:pull repository:b:pull,push",
        "",
        "  registry:catalog:*  ",
        "repository:localhost:5000/c:push",
    ];
    let expected = vec![
        scope("repository", "a", &["pull"]),
        scope("repository", "b", &["pull", "push"]),
        scope("registry", "catalog", &["*"]),
        scope("repository", "localhost:5000/c", &["push"]),
    ];
    assert_eq!(parse_scopes(fields), Ok(expected));
    assert_eq!(parse_scopes([]), Ok(vec![]));
    assert_eq!(parse_scopes(["", " "]), Ok(vec![]));
}

#[test]
fn one_bad_scope_fails_the_whole_request() {
    let err = parse_scopes(["repository:a:pull nonsense"]).expect_err("bad scope");
    assert_eq!(err.scope, "nonsense");
}

#[test]
fn display_round_trips() {
    let parsed = parse_scope("repository:localhost:5000/x:pull,push").expect("valid");
    assert_eq!(parsed.to_string(), "repository:localhost:5000/x:pull,push");
}

/// `count` distinct repository scopes, `repository:rN:pull`.
fn distinct(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("repository:r{n}:pull")).collect()
}

#[test]
fn at_most_max_scopes_distinct_resources() {
    let fields = distinct(MAX_SCOPES);
    assert_eq!(parse_scopes(fields.iter().map(String::as_str)).map(|s| s.len()), Ok(MAX_SCOPES));
    let fields = distinct(MAX_SCOPES + 1);
    let err = parse_scopes(fields.iter().map(String::as_str)).expect_err("one too many");
    assert_eq!(err.scope, format!("repository:r{MAX_SCOPES}:pull"));
    assert!(err.reason.contains(&format!("at most {MAX_SCOPES} distinct")), "{}", err.reason);
    // Space-joined scopes count one by one.
    let joined = distinct(MAX_SCOPES + 1).join(" ");
    assert!(parse_scopes([joined.as_str()]).is_err());
}

#[test]
fn repeated_resources_are_merged_before_counting() {
    // 1000 scopes naming the same few resources (actions split across them) are fine.
    let fields: Vec<String> = (0..1000)
        .map(|n| format!("repository:r{}:{}", n % 4, ["pull", "push", "delete", "*"][n % 3]))
        .collect();
    let scopes = parse_scopes(fields.iter().map(String::as_str)).expect("few resources");
    assert_eq!(scopes.len(), 1000, "the scopes are returned as given");
    // The type is part of the resource: the same name under two types is two resources.
    let mut fields = distinct(MAX_SCOPES);
    fields.push("registry:r0:*".to_owned());
    assert!(parse_scopes(fields.iter().map(String::as_str)).is_err());
}

#[test]
fn at_most_max_actions_per_resource() {
    let actions =
        |range: std::ops::Range<usize>| range.map(|n| format!("a{n}")).collect::<Vec<_>>().join(",");
    let ok = format!("repository:x:{}", actions(0..MAX_ACTIONS));
    assert_eq!(parse_scope(&ok).map(|s| s.actions.len()), Ok(MAX_ACTIONS));
    let repeated = format!("repository:x:{},a0,a1", actions(0..MAX_ACTIONS));
    assert!(parse_scope(&repeated).is_ok(), "repeats do not count");
    let over = format!("repository:x:{}", actions(0..MAX_ACTIONS + 1));
    let err = parse_scope(&over).expect_err("one action too many");
    assert_eq!(err.reason, "more than 16 distinct actions");
    assert_eq!(MAX_ACTIONS, 16, "the messages name the limit");
    // Split over two scopes of one resource: merged, then counted.
    let first = format!("repository:x:{}", actions(0..9));
    let second = format!("repository:x:{}", actions(9..MAX_ACTIONS + 1));
    let err = parse_scopes([first.as_str(), second.as_str()]).expect_err("merged actions");
    assert_eq!(err.reason, "more than 16 distinct actions for one resource in one request");
    assert!(parse_scopes([first.as_str(), first.as_str()]).is_ok());
}

#[test]
fn at_most_max_scope_bytes_per_scope() {
    let prefix = "repository:";
    let suffix = ":pull";
    let name = |len: usize| "a".repeat(len - prefix.len() - suffix.len());
    let longest = format!("{prefix}{}{suffix}", name(MAX_SCOPE_BYTES));
    assert_eq!(longest.len(), MAX_SCOPE_BYTES);
    assert!(parse_scope(&longest).is_ok());
    let over = format!("{prefix}{}{suffix}", name(MAX_SCOPE_BYTES + 1));
    assert_eq!(parse_scope(&over).map_err(|e| e.reason), Err("longer than 512 bytes"));
    assert_eq!(MAX_SCOPE_BYTES, 512, "the message names the limit");
}

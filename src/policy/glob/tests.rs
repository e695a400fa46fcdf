use super::*;

fn pattern(text: &str) -> RepositoryPattern {
    RepositoryPattern::parse(text).expect(text).pattern
}

#[test]
fn matches_globs() {
    // (pattern, name, user, expected)
    let cases = [
        ("**", "a", None, true),
        ("**", "a/b/c", None, true),
        ("**", "localhost:5000/foo/bar", None, true),
        ("team/**", "team/app", None, true),
        ("team/**", "team/a/b", None, true),
        ("team/**", "team", None, false),
        ("team/**", "teams/app", None, false),
        ("team/**", "other/team/app", None, false),
        ("library/*", "library/nginx", None, true),
        ("library/*", "library/a/b", None, false),
        ("library/*", "library", None, false),
        ("*", "nginx", None, true),
        ("*", "a/b", None, false),
        ("app-*", "app-web", None, true),
        ("app-*", "app-", None, true),
        ("*-web", "app-web", None, true),
        ("a*b*c", "axxbyyc", None, true),
        ("a*b*c", "axxbyy", None, false),
        ("a/**/z", "a/b/z", None, true),
        ("a/**/z", "a/b/c/z", None, true),
        ("a/**/z", "a/z", None, false),
        ("localhost:5000/**", "localhost:5000/foo/bar", None, true),
        ("exact/name", "exact/name", None, true),
        ("exact/name", "exact/name/x", None, false),
        ("${user}/**", "alice/app", Some("alice"), true),
        ("${user}/**", "alice", Some("alice"), false),
        ("${user}/**", "bob/app", Some("alice"), false),
        ("${user}/**", "alice/app", None, false),
        ("u-${user}", "u-alice", Some("alice"), true),
        ("${user}/**", "foo/bar/app", Some("foo/bar"), false),
        ("${user}/**", "*/app", Some("*"), false),
        ("${user}/**", "../app", Some(".."), false),
        ("${user}/**", "Alice/app", Some("Alice"), false),
        ("${user}/**", "a b/app", Some("a b"), false),
        ("${user}/**", "/app", Some(""), false),
        ("${user}", "", Some(""), false),
    ];
    for (text, name, user, expected) in cases {
        assert_eq!(pattern(text).matches(name, user), expected, "{text} vs {name} as {user:?}");
    }
}

#[test]
fn rejects_bad_patterns() {
    let cases = [
        ("", "empty repository pattern"),
        ("team/", "empty path segment in repository pattern"),
        ("a//b", "empty path segment in repository pattern"),
        ("team/**x", "`**` is only allowed as a whole path segment"),
        ("a***", "`**` is only allowed as a whole path segment"),
        ("team/?", "`?` is not supported in repository patterns"),
        ("${users}/x", "unknown variable: only ${user} is supported"),
        ("${user", "unknown variable: only ${user} is supported"),
    ];
    for (text, message) in cases {
        assert_eq!(RepositoryPattern::parse(text).map(|_| ()), Err(message.to_owned()), "{text}");
    }
    for text in ["Team/**", "team app", "team/[ab]", "é"] {
        let err = RepositoryPattern::parse(text).map(|_| ()).expect_err(text);
        assert!(err.starts_with("character "), "{text}: {err}");
    }
}

#[test]
fn warns_about_literal_segments_no_name_can_have() {
    let parsed = RepositoryPattern::parse("team/-x/**").expect("valid");
    assert_eq!(parsed.warnings, ["pattern segment \"-x\" can never match a valid repository name"]);
    assert!(RepositoryPattern::parse("localhost:5000/**").expect("valid").warnings.is_empty());
    assert!(RepositoryPattern::parse("a/b.c__d---e/*").expect("valid").warnings.is_empty());
}

#[test]
fn validates_components() {
    let valid = ["a", "a1", "a.b", "a_b", "a__b", "a-b", "a---b", "0"];
    let invalid = ["", "A", "a.", ".a", "a..b", "a___b", "a.-b", "-a", "a-", "a/b", "*", "..", "a b"];
    for text in valid {
        assert!(is_valid_component(text), "{text}");
    }
    for text in invalid {
        assert!(!is_valid_component(text), "{text}");
    }
}

#[test]
fn validates_repository_names() {
    let valid = ["a", "team/app", "Team/app", "localhost:5000/foo/bar", "Registry.Example.com/x", "a.b/c"];
    let invalid = ["", "team/App", "a//b", "/a", "a/", "localhost:5000", "host:/a", "a/../b"];
    for text in valid {
        assert!(is_valid_repository_name(text), "{text}");
    }
    for text in invalid {
        assert!(!is_valid_repository_name(text), "{text}");
    }
    assert!(!is_valid_repository_name(&"a".repeat(256)));
}

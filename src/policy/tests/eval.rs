use super::*;

const POLICY: &str = r#"[[allow]]
who = ["authenticated"]
repositories = ["${user}/**"]
actions = ["pull", "push", "delete"]

[[allow]]
who = ["user:bob"]
repositories = ["**"]
actions = ["pull"]

[[allow]]
who = ["anonymous"]
repositories = ["public/**"]
actions = ["pull"]

[[allow]]
who = ["group:admins"]
registry = ["catalog"]
actions = ["*"]

[[allow]]
who = ["group:admins"]
repositories = ["**"]
actions = ["*"]

[[deny]]
who = ["user:mallory"]
repositories = ["**"]
actions = ["push", "delete"]

[[allow]]
who = ["everyone"]
repositories = ["localhost:5000/**"]
actions = ["pull"]
"#;

#[test]
fn grants_the_allowed_subset() {
    let set = policy(POLICY);
    let alice = user("alice", &[]);
    let bob = user("bob", &["readers"]);
    let root = user("root", &["admins"]);
    let mallory = user("mallory", &["admins"]);
    let anonymous = Principal::Anonymous;
    let cases: Vec<(&Principal, &str, Vec<&str>)> = vec![
        // alice owns her namespace and nothing else.
        (&alice, "repository:alice/app:pull,push", vec!["repository:alice/app:pull,push"]),
        (&alice, "repository:alice/a/b:delete", vec!["repository:alice/a/b:delete"]),
        (&alice, "repository:alice:push", vec![]),
        (&alice, "repository:bob/app:pull,push", vec![]),
        (&alice, "registry:catalog:*", vec![]),
        // bob reads everything, writes only his own.
        (&bob, "repository:alice/app:pull,push", vec!["repository:alice/app:pull"]),
        (&bob, "repository:bob/app:push", vec!["repository:bob/app:push"]),
        // anonymous: public/** only, pull only.
        (&anonymous, "repository:public/x:pull,push", vec!["repository:public/x:pull"]),
        (&anonymous, "repository:alice/app:pull", vec![]),
        (&anonymous, "repository:public:pull", vec![]),
        // admins: the catalog and every repository action.
        (&root, "registry:catalog:*", vec!["registry:catalog:*"]),
        (&root, "registry:other:*", vec![]),
        (&root, "registry:catalog:pull", vec![]),
        (&root, "repository:x/y:delete,pull", vec!["repository:x/y:pull,delete"]),
        // deny beats allow, whatever the order.
        (&mallory, "repository:x:pull,push,delete", vec!["repository:x:pull"]),
        (&mallory, "repository:mallory/x:push", vec![]),
        (&mallory, "registry:catalog:*", vec!["registry:catalog:*"]),
        // `*` expands to the granted actions, never `*` itself.
        (&alice, "repository:alice/app:*", vec!["repository:alice/app:pull,push,delete"]),
        (&bob, "repository:team/app:*", vec!["repository:team/app:pull"]),
        (&mallory, "repository:x:*", vec!["repository:x:pull"]),
        (&anonymous, "repository:private/x:*", vec![]),
        // repeated scopes for one resource merge into one entry.
        (
            &alice,
            "repository:alice/a:push repository:bob/b:pull repository:alice/a:pull",
            vec!["repository:alice/a:pull,push"],
        ),
        (
            &bob,
            "repository:a:pull repository:bob/b:push repository:a:push",
            vec!["repository:a:pull", "repository:bob/b:push"],
        ),
        // host:port names.
        (
            &anonymous,
            "repository:localhost:5000/foo/bar:pull,push",
            vec!["repository:localhost:5000/foo/bar:pull"],
        ),
        (&alice, "repository:localhost:5000/alice/app:push", vec![]),
        // unknown types and actions are dropped.
        (&root, "plugin:foo:pull", vec![]),
        (&alice, "repository:alice/x:pull,fly", vec!["repository:alice/x:pull"]),
        // names outside the repository grammar match nothing.
        (&root, "repository:team/App:pull", vec![]),
        (&root, "repository:a/../b:pull", vec![]),
    ];
    for (who, scopes, expected) in cases {
        assert_eq!(access_of(&set, who, scopes), expected, "{who:?} asking {scopes}");
    }
}

#[test]
fn user_variable_ignores_hostile_names() {
    let set = policy(POLICY);
    for name in ["foo/bar", "*", "..", "Alice", "a b", "", "-x", "a/**"] {
        let who = user(name, &[]);
        for scopes in [
            format!("repository:{name}/app:push"),
            "repository:foo/bar/app:push".to_owned(),
            "repository:x/app:push".to_owned(),
            "repository:alice/app:push".to_owned(),
        ] {
            let scopes = match parse_scopes([scopes.as_str()]) {
                Ok(scopes) => scopes,
                Err(_) => continue, // `a b` cannot even be asked for
            };
            let evaluation = set.evaluate(&who, &scopes);
            assert_eq!(evaluation.access, vec![], "user {name:?} asking {scopes:?}");
        }
    }
}

#[test]
fn decisions_name_the_rule() {
    let set = policy(POLICY);
    let cases: Vec<(Principal, &str, Vec<&str>)> = vec![
        (
            user("bob", &[]),
            "repository:x:pull,push",
            vec![
                "repository:x:pull granted (allowed by test.toml:6)",
                "repository:x:push denied (no allow rule matched)",
            ],
        ),
        (
            user("mallory", &["admins"]),
            "repository:x:push,pull",
            vec![
                "repository:x:push denied (denied by test.toml:26)",
                "repository:x:pull granted (allowed by test.toml:21)",
            ],
        ),
        (
            user("mallory", &["admins"]),
            "repository:x:* repository:x:pull",
            vec![
                "repository:x:* granted (allowed by test.toml:21)",
                "repository:x:pull granted (allowed by test.toml:21)",
            ],
        ),
        (user("mallory", &[]), "repository:x:*", vec!["repository:x:* denied (denied by test.toml:26)"]),
        (
            user("alice", &[]),
            "repository:alice/x:* registry:catalog:*",
            vec![
                "repository:alice/x:* granted (allowed by test.toml:1)",
                "registry:catalog:* denied (no allow rule matched)",
            ],
        ),
        (
            user("root", &["admins"]),
            "plugin:foo:pull registry:catalog:pull repository:x:fly",
            vec![
                "plugin:foo:pull denied (unknown resource type)",
                "registry:catalog:pull denied (unknown action)",
                "repository:x:fly denied (unknown action)",
            ],
        ),
        (
            Principal::Anonymous,
            "registry:catalog:* repository:localhost:5000/a:pull",
            vec![
                "registry:catalog:* denied (no allow rule matched)",
                "repository:localhost:5000/a:pull granted (allowed by test.toml:31)",
            ],
        ),
    ];
    for (who, scopes, expected) in cases {
        assert_eq!(decisions_of(&set, &who, scopes), expected, "{who:?} asking {scopes}");
    }
}

#[test]
fn one_decision_per_requested_action() {
    let set = policy(POLICY);
    let scopes = parse_scopes(["repository:bob/a:pull,push repository:bob/a:push repository:c:delete"])
        .expect("valid scopes");
    let evaluation = set.evaluate(&user("bob", &[]), &scopes);
    let actions: Vec<(&str, &str, bool)> =
        evaluation.decisions.iter().map(|d| (d.name.as_str(), d.action.as_str(), d.granted)).collect();
    assert_eq!(actions, [("bob/a", "pull", true), ("bob/a", "push", true), ("c", "delete", false)]);
    assert_eq!(evaluation.granted().count(), 2);
    let denied: Vec<&Decision> = evaluation.denied().collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].reason, Reason::NoAllowRule);
}

#[test]
fn empty_policy_denies_everything() {
    let set = PolicySet::default();
    assert_eq!(set.rule_count(), 0);
    let scopes = parse_scopes(["repository:a:pull registry:catalog:*"]).expect("valid scopes");
    let evaluation = set.evaluate(&user("root", &["admins"]), &scopes);
    assert!(evaluation.access.is_empty());
    assert_eq!(evaluation.denied().count(), 2);
    assert_eq!(policy(POLICY).rule_count(), 7);
}

#[test]
fn anonymous_is_only_requests_without_credentials() {
    let set = policy("[[allow]]\nwho = [\"anonymous\"]\nrepositories = [\"**\"]\nactions = [\"pull\"]\n");
    assert_eq!(access_of(&set, &Principal::Anonymous, "repository:a:pull"), ["repository:a:pull"]);
    assert_eq!(access_of(&set, &user("alice", &[]), "repository:a:pull"), Vec::<String>::new());
}

//! Backend-qualified subjects and name ownership: `user:NAME` and `${user}` belong to the
//! backend owning the name, `user:BACKEND/NAME` and `group:BACKEND/NAME` to that backend.

use super::*;

/// LDAP alice's grants, a deny on `user:alice`, and a break-glass account `local/alice`.
const OWNERSHIP: &str = r#"
[[allow]]
who = ["user:alice"]
repositories = ["prod/**", "${user}/**"]
actions = ["*"]

[[deny]]
who = ["user:alice"]
repositories = ["secret/**"]
actions = ["pull"]

[[allow]]
who = ["user:local/alice"]
repositories = ["breakglass/**"]
actions = ["pull"]

[[allow]]
who = ["group:admins"]
repositories = ["admins/**"]
actions = ["pull"]

[[allow]]
who = ["group:corp/devs"]
repositories = ["devs/**"]
actions = ["pull"]

[[allow]]
who = ["authenticated"]
repositories = ["secret/**", "public/**"]
actions = ["pull"]
"#;

const SCOPES: &[&str] = &[
    "repository:prod/app:pull",
    "repository:alice/app:pull",
    "repository:secret/x:pull",
    "repository:breakglass/x:pull",
    "repository:admins/x:pull",
    "repository:devs/x:pull",
    "repository:public/x:pull",
];

fn granted(set: &PolicySet, who: &Principal) -> Vec<String> {
    SCOPES.iter().flat_map(|scope| access_of(set, who, scope)).collect()
}

#[test]
fn user_name_rules_apply_only_to_the_owning_backend() {
    let set = policy(OWNERSHIP);
    // LDAP's alice, the owner: her grants, her namespace, her deny.
    let owner = user_from("corp", true, "alice", &["devs"]);
    assert_eq!(
        granted(&set, &owner),
        [
            "repository:prod/app:pull",
            "repository:alice/app:pull",
            "repository:devs/x:pull",
            "repository:public/x:pull"
        ]
    );
    // htpasswd's alice while the directory was down: not the owner of the name. No `user:alice`
    // grant, no `${user}` namespace; `user:local/alice`, groups and `authenticated` still apply.
    let break_glass = user_from("local", false, "alice", &["admins", "devs"]);
    assert_eq!(
        granted(&set, &break_glass),
        [
            "repository:secret/x:pull",
            "repository:breakglass/x:pull",
            "repository:admins/x:pull",
            "repository:public/x:pull"
        ],
        "a deny on user:alice is not applied either: it is about the owner"
    );
    // The same account when it does own the name gets both.
    let owning_local = user_from("local", true, "alice", &[]);
    let grants = granted(&set, &owning_local);
    assert!(grants.contains(&"repository:prod/app:pull".to_owned()), "{grants:?}");
    assert!(grants.contains(&"repository:breakglass/x:pull".to_owned()), "{grants:?}");
    assert!(!grants.contains(&"repository:secret/x:pull".to_owned()), "{grants:?}");
}

#[test]
fn backend_qualified_rules_name_the_backend_exactly() {
    let set = policy(OWNERSHIP);
    // Another backend's alice is neither local/alice nor in corp's devs.
    let other = user_from("sso", true, "alice", &["devs"]);
    let grants = granted(&set, &other);
    assert!(!grants.contains(&"repository:breakglass/x:pull".to_owned()), "{grants:?}");
    assert!(!grants.contains(&"repository:devs/x:pull".to_owned()), "{grants:?}");
    // A qualified rule matches the name exactly: local's bob is not local/alice.
    let bob = user_from("local", false, "bob", &[]);
    assert!(!granted(&set, &bob).contains(&"repository:breakglass/x:pull".to_owned()));
}

#[test]
fn qualified_subjects_parse_at_the_first_slash() {
    let parse = |text| rule::Subject::parse(text);
    assert_eq!(
        parse("user:corp/a/b"),
        Ok(rule::Subject::Named {
            kind: SubjectKind::Person,
            backend: Some("corp".into()),
            name: "a/b".into()
        })
    );
    assert_eq!(parse("group:g"), Ok(rule::Subject::Group { backend: None, name: "g".into() }));
    for bad in ["user:/alice", "user:corp/", "group:/", "user:co rp/alice", "robot:", "robot:/x"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

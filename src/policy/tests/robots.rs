//! Robots and claims: `robot:NAME` never matches a person and `user:NAME` / `${user}` never a
//! robot, even with the same name; `claim:KEY:VALUE` matches the exact value; `authenticated`
//! and `group:` match both kinds.

use super::*;
use crate::subject::Claim;

/// Rules for a person `ci`, a robot `ci`, groups, claims and everyone logged in.
const SUBJECTS: &str = r#"
[[allow]]
who = ["user:ci"]
repositories = ["people/**", "${user}/**"]
actions = ["pull"]

[[allow]]
who = ["robot:ci"]
repositories = ["robots/**"]
actions = ["pull"]

[[allow]]
who = ["robot:tokens/deployer"]
repositories = ["deploy/**"]
actions = ["pull", "push"]

[[allow]]
who = ["group:builders"]
repositories = ["builders/**"]
actions = ["pull"]

[[allow]]
who = ["claim:project_path:team/app"]
repositories = ["team/app"]
actions = ["pull", "push"]

[[allow]]
who = ["claim:gitlab/namespace_path:team"]
repositories = ["team/shared"]
actions = ["pull"]

[[deny]]
who = ["claim:ref:refs/heads/feature"]
repositories = ["team/app"]
actions = ["push"]

[[allow]]
who = ["authenticated"]
repositories = ["common/**"]
actions = ["pull"]
"#;

const SCOPES: &[&str] = &[
    "repository:people/x:pull",
    "repository:ci/x:pull",
    "repository:robots/x:pull",
    "repository:deploy/x:push",
    "repository:builders/x:pull",
    "repository:team/app:pull,push",
    "repository:team/shared:pull",
    "repository:common/x:pull",
];

/// A subject of `kind` named `name` from `backend` (owning the name) with groups and claims.
fn subject(kind: SubjectKind, backend: &str, name: &str, groups: &[&str], claims: &[&str]) -> Principal {
    Principal::User {
        kind,
        name: name.to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        backend: backend.to_owned(),
        owns_name: true,
        claims: claims.iter().map(|c| Claim::parse(c).expect("valid claim")).collect(),
    }
}

fn granted(set: &PolicySet, who: &Principal) -> Vec<String> {
    SCOPES.iter().flat_map(|scope| access_of(set, who, scope)).collect()
}

#[test]
fn a_robot_and_a_person_with_the_same_name_get_their_own_rules() {
    let set = policy(SUBJECTS);
    let person = subject(SubjectKind::Person, "local", "ci", &[], &[]);
    let robot = subject(SubjectKind::Robot, "local", "ci", &[], &[]);
    assert_eq!(
        granted(&set, &person),
        ["repository:people/x:pull", "repository:ci/x:pull", "repository:common/x:pull"],
        "user:ci and the person's ${{user}} namespace, plus authenticated"
    );
    assert_eq!(
        granted(&set, &robot),
        ["repository:robots/x:pull", "repository:common/x:pull"],
        "robot:ci, no user:ci, no ${{user}} namespace; authenticated matches robots too"
    );
}

#[test]
fn robot_rules_follow_user_rules_on_backends_and_ownership() {
    let set = policy(SUBJECTS);
    let deployer = subject(SubjectKind::Robot, "tokens", "deployer", &["builders"], &[]);
    assert_eq!(
        granted(&set, &deployer),
        ["repository:deploy/x:push", "repository:builders/x:pull", "repository:common/x:pull"],
        "robot:BACKEND/NAME and group: apply to robots"
    );
    let elsewhere = subject(SubjectKind::Robot, "oidc", "deployer", &[], &[]);
    assert!(!granted(&set, &elsewhere).contains(&"repository:deploy/x:push".to_owned()));
    // A person named deployer of that backend is not the robot.
    let person = subject(SubjectKind::Person, "tokens", "deployer", &[], &[]);
    assert!(!granted(&set, &person).contains(&"repository:deploy/x:push".to_owned()));
    // Without ownership of the name, robot:NAME does not apply (as user:NAME does not).
    let Principal::User { kind, name, groups, backend, claims, .. } =
        subject(SubjectKind::Robot, "b", "ci", &[], &[])
    else {
        unreachable!()
    };
    let not_owner = Principal::User { kind, name, groups, backend, owns_name: false, claims };
    assert_eq!(granted(&set, &not_owner), ["repository:common/x:pull"]);
}

#[test]
fn claims_match_exact_values_from_any_or_the_named_backend() {
    let set = policy(SUBJECTS);
    let main =
        subject(SubjectKind::Robot, "gitlab", "job", &[], &["project_path:team/app", "namespace_path:team"]);
    assert_eq!(
        granted(&set, &main),
        ["repository:team/app:pull,push", "repository:team/shared:pull", "repository:common/x:pull"]
    );
    // The same claims from another backend: claim:gitlab/... does not apply.
    let github =
        subject(SubjectKind::Robot, "github", "job", &[], &["project_path:team/app", "namespace_path:team"]);
    assert_eq!(granted(&set, &github), ["repository:team/app:pull,push", "repository:common/x:pull"]);
    // Values are exact: no prefix, no case folding.
    for other in ["project_path:team/app2", "project_path:team", "project_path:Team/App"] {
        let who = subject(SubjectKind::Robot, "gitlab", "job", &[], &[other]);
        assert_eq!(granted(&set, &who), ["repository:common/x:pull"], "{other}");
    }
    // A deny on a claim wins, for persons as well.
    let feature = subject(
        SubjectKind::Person,
        "gitlab",
        "dev",
        &[],
        &["project_path:team/app", "ref:refs/heads/feature"],
    );
    assert_eq!(access_of(&set, &feature, "repository:team/app:pull,push"), ["repository:team/app:pull"]);
    assert_eq!(
        decisions_of(&set, &feature, "repository:team/app:push"),
        ["repository:team/app:push denied (denied by test.toml:32)"]
    );
}

#[test]
fn anonymous_never_matches_robots_or_claims_and_the_token_subject_names_the_kind() {
    let set = policy(SUBJECTS);
    assert_eq!(granted(&set, &Principal::Anonymous), Vec::<String>::new());
    assert_eq!(Principal::Anonymous.subject(), "");
    assert_eq!(subject(SubjectKind::Person, "local", "ci", &[], &[]).subject(), "ci");
    assert_eq!(subject(SubjectKind::Robot, "local", "ci", &[], &[]).subject(), "robot:ci");
}

#[test]
fn robot_and_claim_subjects_parse() {
    let parse = rule::Subject::parse;
    assert_eq!(
        parse("robot:tokens/ci"),
        Ok(rule::Subject::Named {
            kind: SubjectKind::Robot,
            backend: Some("tokens".into()),
            name: "ci".into()
        })
    );
    assert_eq!(
        parse("claim:sub:repo:acme/app:ref:refs/heads/main"),
        Ok(rule::Subject::Claim {
            backend: None,
            key: "sub".into(),
            value: "repo:acme/app:ref:refs/heads/main".into()
        })
    );
    assert_eq!(
        parse("claim:gh/repository:acme/app"),
        Ok(rule::Subject::Claim {
            backend: Some("gh".into()),
            key: "repository".into(),
            value: "acme/app".into()
        })
    );
    for bad in ["claim:ref", "claim::x", "claim:ref:", "claim:/ref:x", "claim:a/b/c:x", "robot:a b"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

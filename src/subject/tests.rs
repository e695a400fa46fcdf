use super::*;

#[test]
fn claims_are_validated_so_policies_can_name_them() {
    let claim = Claim::new("project_path", "team/app").unwrap();
    assert_eq!((claim.key(), claim.value()), ("project_path", "team/app"));
    assert_eq!(claim.to_string(), "claim:project_path:team/app");
    // The key ends at the first `:`; the value keeps the rest, spaces included.
    let sub = Claim::parse("sub:repo:acme/app:ref:refs/heads/main").unwrap();
    assert_eq!((sub.key(), sub.value()), ("sub", "repo:acme/app:ref:refs/heads/main"));
    assert_eq!(Claim::parse("workflow:Build and push").unwrap().value(), "Build and push");
    assert_eq!(Claim::new("kubernetes.io.namespace", "ci").unwrap().key(), "kubernetes.io.namespace");

    for key in ["", "a:b", "corp/ref", "project path", "é"] {
        assert_eq!(Claim::new(key, "x"), Err(ClaimError::InvalidKey(key.to_owned())), "{key:?}");
    }
    for value in ["", "a\nb", "\u{7f}"] {
        assert_eq!(Claim::new("ref", value), Err(ClaimError::InvalidValue("ref".to_owned())), "{value:?}");
    }
    assert_eq!(Claim::parse("novalue"), Err(ClaimError::InvalidKey("novalue".to_owned())));
}

#[test]
fn a_ceiling_allows_exact_names_and_its_listed_actions() {
    let ceiling =
        Ceiling::parse(["repository:team/app:pull,push", "repository:team/all:*", "registry:catalog:*"])
            .unwrap();
    assert!(ceiling.allows("repository", "team/app", "pull"));
    assert!(ceiling.allows("repository", "team/app", "push"));
    assert!(!ceiling.allows("repository", "team/app", "delete"));
    for action in ["pull", "push", "delete"] {
        assert!(ceiling.allows("repository", "team/all", action), "{action}");
    }
    assert!(ceiling.allows("registry", "catalog", "*"));
    // Names are exact: no prefix, no glob, no other type.
    assert!(!ceiling.allows("repository", "team/app/sub", "pull"));
    assert!(!ceiling.allows("repository", "team", "pull"));
    assert!(!ceiling.allows("registry", "team/app", "pull"));
    assert_eq!(ceiling.to_string(), "repository:team/app:pull,push repository:team/all:* registry:catalog:*");
    assert_eq!(ceiling.scopes().len(), 3);

    let empty = Ceiling::default();
    assert!(!empty.allows("repository", "team/app", "pull"), "an empty ceiling allows nothing");
    assert!(Ceiling::parse(["repository:team/app"]).is_err(), "a ceiling scope needs actions");
}

#[test]
fn subject_kinds_name_their_policy_prefix() {
    assert_eq!(SubjectKind::default(), SubjectKind::Person);
    assert_eq!(SubjectKind::Person.prefix(), "user");
    assert_eq!(SubjectKind::Robot.prefix(), "robot");
}

//! Logins, groups (attribute, search, nested), wrong/empty passwords, unknown users, injection.

use regent::authn::{Authenticator, Outcome, Trace};
use regent::config::{LdapMode, NestedGroups};
use regent::secret::Secret;

use super::{backend, dn_of, group_search, identity, login, password_of, search_config};
use crate::fixtures::{Slapd, ldif};

#[tokio::test]
async fn search_mode_logs_in_with_member_of_groups_and_the_canonical_name() {
    let slapd = Slapd::start();
    let backend = backend(search_config(&slapd));
    let cases: [(&str, &str, &[&str]); 4] = [
        ("alice", "alice", &["developers"]),
        ("carol", "carol", &["developers", "ops"]),
        ("bob", "bob", &[]),
        // uid matching is case-insensitive: the name comes from the entry's uid.
        ("ALICE", "alice", &["developers"]),
    ];
    for (typed, name, groups) in cases {
        let id = identity(&backend, typed, password_of(name)).await;
        assert_eq!((id.backend.as_str(), id.name.as_str()), ("corp", name), "{typed}");
        assert_eq!(id.groups, groups, "{typed}");
    }
}

#[tokio::test]
async fn group_search_finds_group_of_names_and_posix_groups() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.groups.attribute = None;
    config.groups.search = Some(group_search("(&(objectClass=groupOfNames)(member=${dn}))"));
    let backend = backend(config.clone());
    assert_eq!(identity(&backend, "carol", "carolpw").await.groups, ["developers", "ops"]);
    assert_eq!(identity(&backend, "we*rd(", "weirdpw").await.groups, ["ops"]);

    config.groups.search = Some(group_search("(&(objectClass=posixGroup)(memberUid=${user}))"));
    config.lowercase = true;
    let backend = super::backend(config);
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["posix-devs"]);
    assert_eq!(identity(&backend, "carol", "carolpw").await.groups, Vec::<String>::new());
}

#[tokio::test]
async fn nested_expansion_follows_group_in_group_and_ends_on_cycles() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.groups.nested = NestedGroups::Expand;
    // Expansion through memberOf of the groups themselves (no group search configured).
    let backend = backend(config.clone());
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers", "platform"]);
    assert_eq!(identity(&backend, "dave", "davepw").await.groups, ["g1", "g2"]);
    // Expansion through a group search.
    config.groups.attribute = None;
    config.groups.search = Some(group_search("(&(objectClass=groupOfNames)(member=${dn}))"));
    let backend = super::backend(config.clone());
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers", "platform"]);
    assert_eq!(identity(&backend, "dave", "davepw").await.groups, ["g1", "g2"]);
    assert_eq!(identity(&backend, "bob", "secret2").await.groups, Vec::<String>::new());
    // max_depth 0: direct memberships only.
    config.groups.max_depth = 0;
    let backend = super::backend(config);
    assert_eq!(identity(&backend, "alice", "secret").await.groups, ["developers"]);
}

#[tokio::test]
async fn wrong_and_empty_passwords_are_denied_and_empty_never_binds() {
    let slapd = Slapd::start();
    let backend = backend(search_config(&slapd));
    assert_eq!(login(&backend, "alice", "wrong").await.unwrap(), Outcome::Denied);
    assert_eq!(slapd.bind_count(&dn_of("alice")), 1);
    assert_eq!(login(&backend, "alice", "").await.unwrap(), Outcome::Denied);
    assert_eq!(login(&backend, "bob", "").await.unwrap(), Outcome::Denied);
    assert_eq!(slapd.bind_count(&dn_of("alice")), 1, "the empty password sent no bind");
    assert_eq!(slapd.bind_count(&dn_of("bob")), 0, "the empty password sent no bind");
    assert_eq!(backend.user_binds(), 1);
}

#[tokio::test]
async fn unknown_users_fall_through_and_ambiguous_filters_are_denied() {
    let slapd = Slapd::start();
    let backend = backend(search_config(&slapd));
    assert_eq!(login(&backend, "nosuchuser", "whatever").await.unwrap(), Outcome::UnknownUser);
    // `twin` exists under ou=people and ou=contractors: the filter matches two entries.
    assert_eq!(login(&backend, "twin", "twinpw").await.unwrap(), Outcome::Denied);
    assert_eq!(slapd.bind_count(&dn_of("twin")), 0, "no bind for an ambiguous match");
}

#[tokio::test]
async fn filter_injection_never_authenticates_and_odd_uids_still_work() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.cache_ttl = std::time::Duration::ZERO;
    let backend = backend(config);
    let attempts =
        ["*", "alice)(uid=*", "*)(|(uid=*", "alice*", "a*", "*)(objectClass=*", "\\2a", "we*", "we*rd\\28"];
    for attempt in attempts {
        for (_, password) in ldif::USERS {
            let outcome = login(&backend, attempt, password).await.unwrap();
            assert_eq!(outcome, Outcome::UnknownUser, "{attempt:?} with a seeded password");
        }
    }
    let id = identity(&backend, "we*rd(", "weirdpw").await;
    assert_eq!((id.name.as_str(), id.groups.as_slice()), ("we*rd(", ["ops".to_owned()].as_slice()));
    assert_eq!(login(&backend, "we*rd(", "secret").await.unwrap(), Outcome::Denied);
}

#[tokio::test]
async fn direct_bind_mode_binds_as_the_templated_dn() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.mode = LdapMode::DirectBind { user_dn: format!("uid=${{user}},{}", ldif::PEOPLE) };
    let backend = backend(config);
    assert_eq!(backend.idle_connections(), 0);
    let id = identity(&backend, "carol", "carolpw").await;
    assert_eq!(
        (id.name.as_str(), id.groups.as_slice()),
        ("carol", ["developers".to_owned(), "ops".to_owned()].as_slice())
    );
    assert_eq!(identity(&backend, "we*rd(", "weirdpw").await.groups, ["ops"]);
    assert_eq!(login(&backend, "alice", "wrong").await.unwrap(), Outcome::Denied);
    // DN injection: the `,` is escaped, so this names no entry.
    assert_eq!(login(&backend, "alice,ou=people", "secret").await.unwrap(), Outcome::Denied);
    assert_eq!(login(&backend, "nosuchuser", "x").await.unwrap(), Outcome::Denied);
}

#[tokio::test]
async fn traced_login_shows_each_step_and_never_the_password() {
    let slapd = Slapd::start();
    let backend = backend(search_config(&slapd));
    let mut trace = Trace::default();
    let outcome = backend.authenticate_traced("alice", &Secret::new("secret"), &mut trace).await.unwrap();
    assert!(matches!(outcome, Outcome::Authenticated(_)));
    let text = trace.steps().join("\n");
    for expected in [
        format!("connected to {} (no TLS)", slapd.url()),
        format!("bound as the service account \"{}\"", ldif::SERVICE_DN),
        "with filter (&(objectClass=inetOrgPerson)(uid=alice))".to_owned(),
        format!("1 entry found [\"{}\"]", dn_of("alice")),
        format!("bind as \"{}\": success", dn_of("alice")),
        format!("memberOf: cn=developers,{} -> group \"developers\"", ldif::GROUPS),
        "corp: authenticated as \"alice\", groups [\"developers\"]".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("secret") && !text.contains(ldif::SERVICE_PASSWORD), "{text}");

    let mut trace = Trace::default();
    let outcome = backend.authenticate_traced("alice", &Secret::new("wrong-pw"), &mut trace).await.unwrap();
    assert_eq!(outcome, Outcome::Denied);
    let text = trace.steps().join("\n");
    assert!(text.contains("invalidCredentials (49)"), "{text}");
    assert!(!text.contains("wrong-pw"), "{text}");
}

#[tokio::test]
async fn ad_in_chain_sends_the_matching_rule_filter_with_the_escaped_dn() {
    // OpenLDAP has no in-chain rule (it finds nothing); what matters here is the filter sent.
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.groups.attribute = None;
    config.groups.search = Some(group_search("(member=${dn})"));
    config.groups.nested = NestedGroups::AdInChain;
    let backend = backend(config);
    let mut trace = Trace::default();
    let outcome = backend.authenticate_traced("we*rd(", &Secret::new("weirdpw"), &mut trace).await;
    let text = trace.steps().join("\n");
    assert!(matches!(outcome, Ok(Outcome::Authenticated(_))), "{outcome:?}\n{text}");
    let filter = format!("(member:1.2.840.113556.1.4.1941:=uid=we\\2ard\\28,{})", ldif::PEOPLE);
    assert!(text.contains(&filter), "{filter} not in:\n{text}");
    // slapd logs a filter with a matching rule it does not know as `(?=undefined)`.
    assert!(
        slapd.log().contains("base=\"ou=groups,dc=example,dc=org\" scope=2 deref=0 filter=\"(?=undefined)\"")
    );
}

//! The identity is the name stored in the directory, never the name as typed: slapd matches
//! `uid` case- and space-insensitively, so `MALLORY`, ` mallory` and `mallory ` bind mallory's
//! entry, and a deny rule on `user:mallory` must still apply to them.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use regent::authn::Outcome;
use regent::config::LdapMode;
use regent::http::router;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{backend, identity, login, password_of, search_config};
use crate::env::{LdapGroupSource, LdapOrder, SERVICE, TestEnv};
use crate::fixtures::{Slapd, ldif};

/// The names slapd takes for mallory's uid.
const MALLORY_VARIANTS: [&str; 6] = ["mallory", "MALLORY", "Mallory", " mallory", "mallory ", "  MALLORY  "];

#[tokio::test]
async fn search_mode_names_the_identity_from_the_entry_whatever_the_case_and_spaces() {
    let slapd = Slapd::start();
    let backend = backend(search_config(&slapd));
    for typed in MALLORY_VARIANTS {
        let id = identity(&backend, typed, password_of("mallory")).await;
        assert_eq!((id.name.as_str(), id.groups.as_slice()), ("mallory", ["admins".to_owned()].as_slice()));
    }
    let dave = identity(&backend, "dave", "davepw").await;
    let upper = identity(&backend, "DAVE", "davepw").await;
    assert_eq!(upper, dave, "DAVE is dave, with dave's groups and nothing else");
}

#[tokio::test]
async fn direct_bind_mode_names_the_identity_from_the_bound_entry() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.mode = LdapMode::DirectBind { user_dn: format!("uid=${{user}},{}", ldif::PEOPLE) };
    let backend = backend(config);
    for typed in MALLORY_VARIANTS {
        let id = identity(&backend, typed, password_of("mallory")).await;
        assert_eq!((id.name.as_str(), id.groups.as_slice()), ("mallory", ["admins".to_owned()].as_slice()));
    }
    assert_eq!(identity(&backend, "DAVE", "davepw").await, identity(&backend, "dave", "davepw").await);
}

#[tokio::test]
async fn group_filters_get_the_stored_name_not_the_typed_one() {
    // memberUid is matched case-exactly: `ALICE` would find no posixGroup.
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.groups.attribute = None;
    config.groups.search = Some(super::group_search("(&(objectClass=posixGroup)(memberUid=${user}))"));
    let backend = backend(config);
    let id = identity(&backend, "ALICE", "secret").await;
    assert_eq!((id.name.as_str(), id.groups.as_slice()), ("alice", ["posix-devs".to_owned()].as_slice()));
}

#[tokio::test]
async fn an_entry_without_the_login_attribute_is_refused_in_both_modes() {
    let slapd = Slapd::start();
    let mut config = search_config(&slapd);
    config.login_attribute = "employeeNumber".to_owned();
    let search = backend(config.clone());
    assert_eq!(login(&search, "alice", "secret").await.unwrap(), Outcome::Denied);
    config.mode = LdapMode::DirectBind { user_dn: format!("uid=${{user}},{}", ldif::PEOPLE) };
    let direct = backend(config);
    assert_eq!(login(&direct, "alice", "secret").await.unwrap(), Outcome::Denied);
}

/// `GET /token` through the router with Basic `user:password`: (status, body).
async fn token(app: &axum::Router, user: &str, password: &str, scope: &str) -> (StatusCode, Value) {
    let authorization = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let request = Request::get(format!("/token?service={SERVICE}&scope={scope}"))
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The `sub` and `access` claims of a 200 answer.
fn sub_and_access(body: &Value) -> (Value, Value) {
    let token = body["token"].as_str().expect("a token");
    let payload = token.split('.').nth(1).expect("JWT payload");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    (claims["sub"].clone(), claims["access"].clone())
}

#[tokio::test]
async fn deny_rules_on_the_canonical_name_apply_to_every_spelling_of_it() {
    let slapd = Slapd::start();
    // The LDAP backend as regent.toml writes it without `login_attribute` (init's example).
    let env = TestEnv::with_ldap("http://127.0.0.1:5001/token", &slapd, LdapOrder::First, {
        LdapGroupSource::MemberOf
    });
    std::fs::write(
        env.config.policy.directory.join("60-deny-mallory.toml"),
        "[[deny]]\nwho = [\"user:mallory\"]\nrepositories = [\"**\"]\nactions = [\"*\"]\n\n\
         [[deny]]\nwho = [\"user:mallory\"]\nregistry = [\"catalog\"]\nactions = [\"*\"]\n",
    )
    .unwrap();
    // mallory is in LDAP's admins (50-admins.toml): without the deny she would get everything.
    let app = router(env.state());
    let scopes = "repository:team/app:pull,push+registry:catalog:*";
    for typed in MALLORY_VARIANTS {
        let (status, body) = token(&app, typed, password_of("mallory"), scopes).await;
        if typed.trim() == typed {
            assert_eq!(status, StatusCode::OK, "{typed:?}: {body}");
            assert_eq!(sub_and_access(&body), (json!("mallory"), json!([])), "{typed:?}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{typed:?} is refused before any backend: {body}");
            assert_eq!(body["errors"][0]["code"], "INVALID_REQUEST", "{body}");
        }
    }
    // DAVE gets exactly what dave gets: dave's namespace, under the name dave.
    let scopes = "repository:dave/app:pull,push+registry:catalog:*";
    let (_, dave) = token(&app, "dave", "davepw", scopes).await;
    let (status, upper) = token(&app, "DAVE", "davepw", scopes).await;
    assert_eq!(status, StatusCode::OK, "{upper}");
    let expected = json!([{"type": "repository", "name": "dave/app", "actions": ["pull", "push"]}]);
    assert_eq!(sub_and_access(&dave), (json!("dave"), expected.clone()));
    assert_eq!(sub_and_access(&upper), (json!("dave"), expected));
}

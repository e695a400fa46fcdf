//! The tokens backend: the secret's form, store edits, verification, expiry, user names,
//! owners gone, and ceilings.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::credential::{self, PERSONAL_PREFIX, ROBOT_PREFIX};
use super::store::{NewToken, TokenSubject, create_token, list_tokens, revoke_token};
use super::*;
use crate::clock::ShiftedClock;
use crate::subject::SubjectKind;

/// Users `alice` and `bob` (lookup supported), as a password backend answers.
struct People(Vec<&'static str>);

#[async_trait]
impl Authenticator for People {
    fn name(&self) -> &str {
        "people"
    }
    async fn authenticate(&self, _user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
        Ok(Outcome::UnknownUser)
    }
    fn supports_lookup(&self) -> bool {
        true
    }
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        Ok(if self.0.contains(&name) {
            Lookup::Found(Identity::person("people", name, vec!["devs".to_owned()]))
        } else {
            Lookup::Gone
        })
    }
    fn cache_ttl(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// A time for creating tokens.
fn now() -> OffsetDateTime {
    crate::clock::SystemClock.now()
}

/// A new token for `subject` with `scopes`, expiring at `expires`.
fn new_token(subject: TokenSubject, scopes: &[&str], expires: Option<OffsetDateTime>) -> NewToken {
    NewToken {
        subject,
        name: "ci".to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        expires,
    }
}

/// A backend over `path` with owners `people`, reading `clock`.
fn backend(path: &std::path::Path, people: Vec<&'static str>, clock: Arc<dyn Clock>) -> TokensBackend {
    TokensBackend::open("tokens", path.to_owned(), vec![Arc::new(People(people))], clock).unwrap()
}

#[test]
fn a_secret_has_its_prefix_its_id_and_192_bits() {
    let (id, secret) = credential::generate(SubjectKind::Robot).unwrap();
    let text = secret.expose();
    assert!(text.starts_with(ROBOT_PREFIX));
    assert_eq!(text.len(), ROBOT_PREFIX.len() + 16 + 1 + 48);
    let parsed = credential::parse(text).unwrap();
    assert_eq!((parsed.kind, parsed.id), (SubjectKind::Robot, id.as_str()));
    let (_, other) = credential::generate(SubjectKind::Robot).unwrap();
    assert_ne!(text, other.expose());
    assert!(credential::parse("hunter2").is_none());
    assert!(credential::parse(&format!("{PERSONAL_PREFIX}{id}_short")).is_none());
    assert!(credential::matches(text, &credential::hash(text)));
    assert!(!credential::matches(other.expose(), &credential::hash(text)));
}

#[test]
fn the_file_keeps_only_hashes_and_revoking_removes_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let (record, secret) = create_token(
        &path,
        new_token(TokenSubject::Owner("alice".into()), &["repository:a:pull"], None),
        now(),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(secret.expose()), "the secret is never stored");
    assert!(text.contains(&credential::hash(secret.expose())));
    assert_eq!(list_tokens(&path).unwrap(), vec![record.clone()]);
    assert_eq!(revoke_token(&path, &record.id).unwrap(), Some(record.clone()));
    assert_eq!(revoke_token(&path, &record.id).unwrap(), None);
    assert!(list_tokens(&path).unwrap().is_empty());
}

#[test]
fn bad_scopes_names_and_past_expiry_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let owner = || TokenSubject::Owner("alice".into());
    assert!(create_token(&path, new_token(owner(), &["nonsense"], None), now()).is_err());
    assert!(create_token(&path, new_token(TokenSubject::Robot("".into()), &[], None), now()).is_err());
    let past = now() - Duration::from_secs(1);
    assert!(create_token(&path, new_token(owner(), &[], Some(past)), now()).is_err());
    assert!(!path.exists(), "nothing was written");
}

#[tokio::test]
async fn a_personal_token_speaks_for_its_owner_within_its_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let scopes = ["repository:team/app:pull,push"];
    let (_, secret) =
        create_token(&path, new_token(TokenSubject::Owner("alice".into()), &scopes, None), now()).unwrap();
    let tokens = backend(&path, vec!["alice"], Arc::new(crate::clock::SystemClock));
    let Outcome::Authenticated(identity) = tokens.authenticate("alice", &secret).await.unwrap() else {
        panic!("the token is refused");
    };
    assert_eq!((identity.backend.as_str(), identity.name.as_str()), ("people", "alice"));
    assert_eq!(identity.groups, ["devs"]);
    assert_eq!(identity.kind, SubjectKind::Person);
    assert_eq!(identity.ceiling, Some(Ceiling::parse(scopes).unwrap()));
    assert!(!identity.may_refresh(), "a refresh would lose the ceiling");
    assert_eq!(tokens.authenticate("bob", &secret).await.unwrap(), Outcome::Denied, "another user name");
    assert_eq!(tokens.authenticate("alice", &Secret::new("password")).await.unwrap(), Outcome::UnknownUser);
}

#[tokio::test]
async fn wrong_secrets_unknown_ids_expired_tokens_and_gone_owners_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let soon = now() + Duration::from_secs(3600);
    let (record, secret) =
        create_token(&path, new_token(TokenSubject::Owner("alice".into()), &[], Some(soon)), now()).unwrap();
    let (_, gone) =
        create_token(&path, new_token(TokenSubject::Owner("carol".into()), &[], None), now()).unwrap();

    let tokens = backend(&path, vec!["alice"], Arc::new(crate::clock::SystemClock));
    let mut wrong = secret.expose().to_owned();
    wrong.replace_range(wrong.len() - 4.., "0000");
    assert_eq!(tokens.authenticate("alice", &Secret::new(wrong)).await.unwrap(), Outcome::Denied);
    let (_, unknown) = credential::generate(SubjectKind::Person).unwrap();
    assert_eq!(tokens.authenticate("alice", &unknown).await.unwrap(), Outcome::UnknownUser);
    assert_eq!(tokens.authenticate("carol", &gone).await.unwrap(), Outcome::Denied, "the owner is gone");

    // The same token, read two hours later, is past its expiry.
    let later: Arc<dyn Clock> = Arc::new(LaterClock(Duration::from_secs(7200)));
    let tokens_later = backend(&path, vec!["alice"], later);
    assert_eq!(tokens_later.authenticate("alice", &secret).await.unwrap(), Outcome::Denied);
    let earlier = backend(&path, vec!["alice"], Arc::new(ShiftedClock { behind: Duration::from_secs(60) }));
    assert!(matches!(earlier.authenticate("alice", &secret).await.unwrap(), Outcome::Authenticated(_)));

    revoke_token(&path, &record.id).unwrap();
    let reloaded = backend(&path, vec!["alice"], Arc::new(crate::clock::SystemClock));
    assert_eq!(reloaded.authenticate("alice", &secret).await.unwrap(), Outcome::UnknownUser, "revoked");
}

#[tokio::test]
async fn a_robot_token_is_the_robot_and_its_name_is_the_user_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let (record, secret) = create_token(
        &path,
        new_token(TokenSubject::Robot("builder".into()), &["repository:a:pull"], None),
        now(),
    )
    .unwrap();
    let tokens = backend(&path, vec![], Arc::new(crate::clock::SystemClock));
    let Outcome::Authenticated(identity) = tokens.authenticate("builder", &secret).await.unwrap() else {
        panic!("the robot's token is refused");
    };
    assert_eq!((identity.backend.as_str(), identity.name.as_str()), ("tokens", "builder"));
    assert_eq!(identity.kind, SubjectKind::Robot);
    assert_eq!(tokens.authenticate("alice", &secret).await.unwrap(), Outcome::Denied);

    tokens.flush_last_used();
    let times = last_used::read_last_used(&sidecar_path(&path));
    assert!(times.get(&record.id).is_some_and(|unix| *unix >= record.created));
}

/// The system clock shifted into the future.
struct LaterClock(Duration);

impl Clock for LaterClock {
    fn now(&self) -> OffsetDateTime {
        crate::clock::SystemClock.now() + self.0
    }
}

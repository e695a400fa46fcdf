//! Name ownership through the real router: with a directory down first and htpasswd second,
//! htpasswd's alice still logs in (a break-glass account), but never gets the grants written
//! for `user:alice` (the directory's alice) or her `${user}` namespace; `user:local/alice`
//! rules apply to her.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::{Authenticator, AuthnError, Chain, Outcome};
use regent::http::router;
use regent::secret::Secret;
use regent::server::build_chain;
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::access;

/// A directory that is unreachable.
struct DownDirectory;

#[async_trait]
impl Authenticator for DownDirectory {
    fn name(&self) -> &str {
        "corp"
    }
    async fn authenticate(&self, _user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
        Err(AuthnError::Unavailable { backend: "corp".into(), reason: "connection refused".into() })
    }
}

/// Rules for the directory's alice, and a break-glass rule for htpasswd's.
const POLICY: &str = r#"
[[allow]]
who = ["user:alice"]
repositories = ["prod/**"]
actions = ["pull", "push"]

[[deny]]
who = ["user:alice"]
repositories = ["shared/**"]
actions = ["push"]

[[allow]]
who = ["authenticated"]
repositories = ["shared/**"]
actions = ["pull", "push"]

[[allow]]
who = ["user:local/alice"]
repositories = ["ops/**"]
actions = ["push"]
"#;

/// Push everywhere: the example policies let every logged-in user pull.
const SCOPES: &str = "scope=repository:prod/app:push&scope=repository:shared/x:push\
                      &scope=repository:ops/tools:push&scope=repository:alice/app:push";

/// The token's `access` for alice's request against `chain`, as `type:name:actions` strings.
async fn granted(env: &TestEnv, chain: Chain) -> (StatusCode, Vec<String>) {
    let state = env.state();
    state.update(|service| service.authn = Arc::new(chain));
    let auth = format!("Basic {}", STANDARD.encode("alice:alice-pw"));
    let request = Request::get(format!("/token?service={SERVICE}&{SCOPES}"))
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .unwrap();
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let body: Value = serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap())
        .unwrap_or(Value::Null);
    let Some(token) = body["token"].as_str() else {
        return (status, Vec::new());
    };
    (status, access(token))
}

#[tokio::test]
async fn during_an_outage_a_later_backend_does_not_get_the_owners_grants() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    std::fs::write(env.config.policy.directory.join("60-ownership.toml"), POLICY).unwrap();
    let local = build_chain(&env.config).unwrap();
    assert_eq!(local.names(), ["local"], "init's htpasswd backend");

    // htpasswd alone: alice owns the name, so user:alice and ${user} apply (and the deny).
    let (status, owner) = granted(&env, local).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(owner, ["repository:prod/app:push", "repository:ops/tools:push", "repository:alice/app:push"]);

    // The directory first and down: htpasswd's alice logs in, but is not the owner of "alice".
    let htpasswd = regent::authn::htpasswd::HtpasswdBackend::open(
        "local",
        env.config_path().parent().unwrap().join("htpasswd"),
        None,
        std::time::Duration::from_secs(30),
        regent::authn::htpasswd::BcryptLimits::default(),
    )
    .unwrap();
    let outage = Chain::new(vec![Arc::new(DownDirectory), Arc::new(htpasswd)]);
    let (status, break_glass) = granted(&env, outage).await;
    assert_eq!(status, StatusCode::OK, "a break-glass account keeps working during the outage");
    assert_eq!(
        break_glass,
        ["repository:shared/x:push", "repository:ops/tools:push"],
        "no user:alice grant (prod), no ${{user}} namespace (alice/app), no user:alice deny (shared)"
    );
}

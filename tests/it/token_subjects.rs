//! Robots, claims and scope ceilings through the real router: a backend answering with a robot
//! whose credential carries a claim and a ceiling gets exactly the intersection of what the
//! policies give it and its ceiling, a token whose `sub` says it is a robot, a log line saying
//! why each removed action was removed, and never a refresh token (a refresh would lose the
//! ceiling).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use regent::authn::{Authenticator, AuthnError, Chain, Identity, Lookup, Outcome};
use regent::clock::{Clock, SystemClock};
use regent::http::{AppState, router};
use regent::secret::Secret;
use regent::subject::{Ceiling, Claim};
use regent::token::refresh::RefreshSubject;
use serde_json::Value;
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{CapturedLog, access, basic, claims, get, post};

/// A credential store of one robot, `deployer`, whose secret is limited to a ceiling and
/// carries a claim (what access tokens and OIDC JWTs will produce). It can look the robot up,
/// so only the identity's ceiling keeps a refresh token from being issued.
struct ScopedRobots;

/// The robot's identity as the store answers it.
fn deployer() -> Identity {
    let ceiling = Ceiling::parse(["repository:team/app:push,delete", "repository:team/other:pull"]).unwrap();
    Identity::robot("robots", "deployer", vec![])
        .with_claims(vec![Claim::new("project_path", "team/app").unwrap()])
        .with_ceiling(ceiling)
}

#[async_trait]
impl Authenticator for ScopedRobots {
    fn name(&self) -> &str {
        "robots"
    }
    async fn authenticate(&self, user: &str, password: &Secret) -> Result<Outcome, AuthnError> {
        Ok(match (user, password.expose()) {
            ("deployer", "robot-secret") => Outcome::Authenticated(deployer()),
            ("deployer", _) => Outcome::Denied,
            _ => Outcome::UnknownUser,
        })
    }
    fn supports_lookup(&self) -> bool {
        true
    }
    async fn lookup(&self, name: &str) -> Result<Lookup, AuthnError> {
        Ok(if name == "deployer" { Lookup::Found(deployer()) } else { Lookup::Gone })
    }
    fn cache_ttl(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// The robot may pull and push below team/; its claim adds push on claimed/.
const POLICY: &str = r#"
[[allow]]
who = ["robot:deployer"]
repositories = ["team/**"]
actions = ["pull", "push"]

[[allow]]
who = ["claim:project_path:team/app"]
repositories = ["claimed/app"]
actions = ["push"]
"#;

/// Asks for more than either the policies or the ceiling allow.
const SCOPES: &str = "scope=repository:team/app:pull,push,delete&scope=repository:team/other:pull,push\
                      &scope=repository:claimed/app:push";

fn state(env: &TestEnv) -> AppState {
    std::fs::write(env.config.policy.directory.join("60-robots.toml"), POLICY).unwrap();
    let state = env.state();
    state.update(|service| service.authn = Arc::new(Chain::new(vec![Arc::new(ScopedRobots)])));
    state
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_robot_with_a_ceiling_gets_exactly_the_intersection_and_no_refresh_token() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let state = state(&env);
    let (log, _guard) = CapturedLog::start();
    let query = format!("account=deployer&client_id=docker&offline_token=true&service={SERVICE}&{SCOPES}");
    let (status, body) = send(&state, get(&query, Some(&basic("deployer", "robot-secret")))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    // Policies: team/app pull,push; team/other pull,push (and pull everywhere from the shipped
    // examples: `authenticated` includes robots); claimed/app push. Ceiling: team/app
    // push,delete and team/other pull. Intersection: team/app push, team/other pull; claimed/app
    // is outside the ceiling although the claim rule allows it.
    assert_eq!(access(token), ["repository:team/app:push", "repository:team/other:pull"]);
    assert_eq!(claims(token)["sub"], "robot:deployer", "a robot never reads as the person deployer");
    assert!(
        body.get("refresh_token").is_none(),
        "a ceiling-bearing credential gets no refresh token: {body}"
    );

    let text = log.text();
    log.assert_clean();
    let line = text.lines().find(|line| line.contains("token issued")).expect("the decision line");
    assert!(line.contains("user=\"robot:deployer\""), "{line}");
    for removed in [
        "repository:team/app:pull denied (outside the credential's scope)",
        "repository:team/other:push denied (outside the credential's scope)",
        "repository:claimed/app:push denied (outside the credential's scope)",
        "repository:team/app:delete denied (no allow rule matched)",
    ] {
        assert!(line.contains(removed), "{removed}: {line}");
    }
    assert!(line.contains("refresh_token=false"), "{line}");

    // The POST password grant (containerd, BuildKit, helm) is narrowed the same way.
    let form = format!(
        "grant_type=password&username=deployer&password=robot-secret&access_type=offline&service={SERVICE}\
         &scope=repository:team/app:pull,push"
    );
    let (status, body) = send(&state, post(&form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(access(body["access_token"].as_str().unwrap()), ["repository:team/app:push"]);
    assert!(body.get("refresh_token").is_none(), "{body}");
}

/// Even a refresh token minted for the robot's name (say, before it gained a ceiling) is
/// refused: the identity the backend answers now would lose its ceiling in a refresh.
#[tokio::test]
async fn a_refresh_that_would_lose_a_ceiling_is_refused() {
    let env = TestEnv::new("http://127.0.0.1:5001/token");
    let state = state(&env);
    let service = state.token_service();
    let refresh = service.refresh.as_ref().expect("refresh tokens are on in the test data directory");
    let subject = RefreshSubject { name: "deployer".into(), backend: "robots".into(), owns_name: true };
    let token = refresh.issue(&service.issuer.keys(), &subject, SystemClock.now()).unwrap();
    let form = format!(
        "grant_type=refresh_token&client_id=docker&refresh_token={}&scope=repository:team/app:push&service={SERVICE}",
        token.expose()
    );
    let (log, _guard) = CapturedLog::start();
    let (status, body) = send(&state, post(&form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let text = log.text();
    assert!(text.contains("no longer answers with a plain person"), "{text}");
}

//! A token service replaced while a request is under way, as a reload of `regent.toml` does:
//! the request finishes on the service it started with (its backend chain), the next one
//! uses the new service.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::StatusCode;
use regent::authn::{Authenticator, AuthnError, Chain, Identity, Outcome};
use regent::http::router;
use regent::secret::Secret;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{basic, get};
use crate::token_api::DownBackend;

/// A backend that authenticates everyone, once the test lets it answer.
struct GatedBackend {
    /// Told when a login has arrived.
    entered: Arc<Notify>,
    /// Waited for before answering.
    release: Arc<Notify>,
}

#[async_trait]
impl Authenticator for GatedBackend {
    fn name(&self) -> &str {
        "gated"
    }

    async fn authenticate(&self, user: &str, _password: &Secret) -> Result<Outcome, AuthnError> {
        self.entered.notify_one();
        self.release.notified().await;
        Ok(Outcome::Authenticated(Identity::person("gated", user, vec![])))
    }
}

#[tokio::test]
async fn a_request_under_way_finishes_on_the_chain_it_started_with() {
    let env = TestEnv::new("http://127.0.0.1:1/token");
    let state = env.state();
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let gated = GatedBackend { entered: Arc::clone(&entered), release: Arc::clone(&release) };
    state.update(|service| service.authn = Arc::new(Chain::new(vec![Arc::new(gated)])));
    let app = router(state.clone());
    let request = || get(&format!("service={SERVICE}"), Some(&basic("carol", "carol-pw")));
    let under_way = tokio::spawn(app.clone().oneshot(request()));
    entered.notified().await;

    state.update(|service| service.authn = Arc::new(Chain::new(vec![Arc::new(DownBackend)])));
    release.notify_one();
    let finished = under_way.await.expect("task").expect("infallible");
    assert_eq!(finished.status(), StatusCode::OK, "the old chain authenticated carol");
    let next = app.oneshot(request()).await.expect("infallible");
    assert_eq!(next.status(), StatusCode::SERVICE_UNAVAILABLE, "the next request asks the new chain");
}

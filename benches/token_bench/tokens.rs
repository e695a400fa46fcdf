//! Access-token logins (`kind = "tokens"` first, then `init`'s htpasswd backend) with every
//! cache off: each request hashes the token, compares it in constant time and looks the owner
//! up in htpasswd, next to the warm htpasswd rows.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::tokens::store::{NewToken, TokenSubject, create_token};
use regent::clock::{Clock, SystemClock};
use regent::config::{AuthnConfig, BackendConfig, Config};

use crate::load::{Row, drive, start_server};

/// Rows at concurrency 1 and 32 for a personal token of `alice` in the data directory `root`.
pub(crate) fn access_token_rows(config: &Config, root: &Path, scale: impl Fn(usize) -> usize) -> Vec<Row> {
    let file = root.join("tokens.json");
    let new = NewToken {
        subject: TokenSubject::Owner("alice".to_owned()),
        name: "bench".to_owned(),
        scopes: vec!["repository:alice/app:pull,push".to_owned()],
        expires: None,
    };
    let (_, secret) = create_token(&file, new, SystemClock.now()).expect("create a token");
    let mut config = config.clone();
    for authn in &mut config.authn {
        if let BackendConfig::Htpasswd { cache_ttl, .. } = &mut authn.backend {
            *cache_ttl = Duration::ZERO;
        }
    }
    config
        .authn
        .insert(0, AuthnConfig { name: "tokens".to_owned(), backend: BackendConfig::Tokens { file } });
    let server = start_server(config, "repository:alice/app:pull,push");
    let auth = [format!("Basic {}", STANDARD.encode(format!("alice:{}", secret.expose())))];
    let mut rows = Vec::new();
    for concurrency in [1usize, 32] {
        let total = scale(if concurrency == 1 { 3_000 } else { 20_000 });
        let name = format!("access token, no cache, c={concurrency}");
        rows.push(drive(&server.0, &auth, &auth, concurrency, total, &name));
    }
    rows
}

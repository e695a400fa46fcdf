//! Access-token logins (`kind = "tokens"` first, then `init`'s htpasswd backend) with every
//! cache off: each request hashes the token, compares it in constant time and looks the owner
//! up in htpasswd, next to the warm htpasswd rows; at c=1 also taking turns with a warm
//! htpasswd login on a second server, so that load from other processes falls on both alike.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::tokens::store::{NewToken, TokenSubject, create_token};
use regent::clock::{Clock, SystemClock};
use regent::config::{AuthnConfig, BackendConfig, Config};

use crate::load::{Row, Turn, drive, drive_interleaved, start_server};
use crate::{WARM_CACHE, with_htpasswd_cache};

/// The interleaved c=1 rows: an access token (no cache) and a warm htpasswd login in turn.
pub(crate) const INTERLEAVED_TOKEN: &str = "access token, no cache, c=1, interleaved";
/// See [`INTERLEAVED_TOKEN`].
pub(crate) const INTERLEAVED_PASSWORD: &str = "htpasswd, warm cache, c=1, with the token";

/// Rows at concurrency 1 and 32 for a personal token of `alice` in the data directory `root`,
/// and the interleaved pair at c=1 (`alice`'s password is `password`).
pub(crate) fn access_token_rows(
    config: &Config,
    root: &Path,
    password: &str,
    scale: impl Fn(usize) -> usize,
) -> Vec<Row> {
    let file = root.join("tokens.json");
    let new = NewToken {
        subject: TokenSubject::Owner("alice".to_owned()),
        name: "bench".to_owned(),
        scopes: vec!["repository:alice/app:pull,push".to_owned()],
        expires: None,
    };
    let (_, secret) = create_token(&file, new, SystemClock.now()).expect("create a token");
    let warm = with_htpasswd_cache(config.clone(), WARM_CACHE);
    let mut config = with_htpasswd_cache(config.clone(), Duration::ZERO);
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
    let warm = start_server(warm, "repository:alice/app:pull,push");
    let login = format!("Basic {}", STANDARD.encode(format!("alice:{password}")));
    let (token, password) = drive_interleaved(
        Turn { name: INTERLEAVED_TOKEN, url: &server.0, auth: &auth[0] },
        Turn { name: INTERLEAVED_PASSWORD, url: &warm.0, auth: &login },
        scale(3_000),
    );
    rows.extend([token, password]);
    rows
}

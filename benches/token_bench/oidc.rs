//! OIDC logins: a workload's RS256 JWT (as GitHub Actions signs them) as the password, checked
//! by an `oidc` backend after `init`'s htpasswd one, keys from a JWKS file; nothing cached.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::clock::{Clock, SystemClock};
use regent::config::Config;

use crate::load::{Row, drive, start_server};
use crate::oidc_issuer::{TestIssuer, TestKey};

/// The workload issuer's `iss`.
const ISSUER: &str = "https://token.actions.example";

/// Rows at concurrency 1 and 32 (`total(concurrency)` requests each).
pub(crate) fn oidc_logins(root: &Path, total: impl Fn(usize) -> usize) -> Vec<Row> {
    let issuer = TestIssuer { issuer: ISSUER.to_owned(), keys: vec![TestKey::rs256("bench")] };
    std::fs::write(root.join("ci-jwks.json"), issuer.jwks()).expect("write the JWKS");
    let text = std::fs::read_to_string(root.join("regent.toml")).expect("read regent.toml");
    let oidc = format!(
        "\n[[authn]]\nname = \"ci\"\nkind = \"oidc\"\nissuer = \"{ISSUER}\"\naudiences = [\"registry\"]\n\
         jwks_file = \"ci-jwks.json\"\nrobot = true\npolicy_claims = [\"repository\"]\n"
    );
    let path = root.join("regent-oidc.toml");
    std::fs::write(&path, format!("{text}{oidc}")).expect("write regent-oidc.toml");
    let config = Config::load(&path).expect("regent.toml with oidc loads");
    let mut claims = issuer.claims("registry", SystemClock.now().unix_timestamp());
    claims["exp"] = serde_json::json!(SystemClock.now().unix_timestamp() + 3600);
    let auth = [format!("Basic {}", STANDARD.encode(format!("ci:{}", issuer.token(&claims))))];
    let server = start_server(config, "repository:alice/app:pull,push");
    [1usize, 32]
        .into_iter()
        .map(|concurrency| {
            let name = format!("OIDC JWT (RS256), no cache, c={concurrency}");
            drive(&server.0, &auth, &auth, concurrency, total(concurrency), &name)
        })
        .collect()
}

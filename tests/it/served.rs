//! [`Served`]: the real `regent serve` on a [`TestEnv`] data directory (its keys, test users
//! and example policies), from a `regent.toml` the test writes ([`ConfigText`]) and rewrites.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::env::{SERVICE, TestEnv};
use crate::fixtures::{HttpResponse, RegentServe, basic, claims, free_port, http_get};

/// How long a change may take to be live: the watcher needs about a second; the rest is slack
/// for a shared machine.
pub const LIVE_WITHIN: Duration = Duration::from_secs(20);

/// The `[token]` issuer and lifetime a [`ConfigText`] starts with.
pub const TOKEN: &str = "issuer = \"regent-test\"\nttl = \"5m\"\n";

/// `regent.toml` for one plain-HTTP listener: `[token]` (the environment's service, the realm on
/// the listener, `keys/`), the `local` htpasswd backend, `policies/`, and what the test adds.
#[derive(Debug, Clone)]
pub struct ConfigText {
    /// The `[[listen]] address`.
    pub listen: SocketAddr,
    /// More `[token]` lines: at least `issuer` ([`TOKEN`]).
    pub token: String,
    /// More `[[listen]]` lines (`upstream = ...`).
    pub listener: String,
    /// More tables, after the listener.
    pub tables: String,
}

impl ConfigText {
    /// A free loopback port, [`TOKEN`], nothing more.
    pub fn new() -> Self {
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Self { listen, token: TOKEN.into(), listener: String::new(), tables: String::new() }
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let Self { listen, token, listener, tables } = self;
        format!(
            "[token]\nservice = \"{SERVICE}\"\nrealm = \"http://{listen}/token\"\nkey_directory = \"keys\"\n\
             {token}\n[[authn]]\nname = \"local\"\nkind = \"htpasswd\"\nfile = \"htpasswd\"\n\
             groups = \"groups\"\n\n[policy]\ndirectory = \"policies\"\n\n[[listen]]\n\
             address = \"{listen}\"\n{listener}\n{tables}"
        )
    }
}

/// `regent serve` on a fresh [`TestEnv`], logging to `regent.log` in its data directory.
pub struct Served {
    /// The data directory.
    pub env: TestEnv,
    /// What `regent.toml` says now.
    pub config: ConfigText,
    /// The process.
    pub server: RegentServe,
}

impl Served {
    /// Writes `config` into a fresh [`TestEnv`] and serves it; returns once the server logs
    /// `regent serving`.
    pub fn start(config: ConfigText) -> Self {
        Self::start_in(TestEnv::new(&format!("http://{}/token", config.listen)), config)
    }

    /// Like [`Served::start`], in `env`'s data directory.
    pub fn start_in(env: TestEnv, config: ConfigText) -> Self {
        std::fs::write(env.config_path(), config.render()).expect("write regent.toml");
        let server = RegentServe::serving(env.config_path(), &env.config_path().with_file_name("regent.log"));
        Self { env, config, server }
    }

    /// The data directory.
    pub fn dir(&self) -> PathBuf {
        self.env.config_path().parent().expect("data dir").to_owned()
    }

    /// Replaces `regent.toml` atomically (a temporary file, then a rename) by `config`.
    pub fn rewrite(&self, config: &ConfigText) {
        let temporary = self.dir().join("regent.toml.new");
        std::fs::write(&temporary, config.render()).expect("write");
        std::fs::rename(&temporary, self.env.config_path()).expect("rename");
    }

    /// `GET /token` as `user` (no scope), on the first listener.
    pub fn login(&self, user: &str, password: &str) -> HttpResponse {
        self.token(user, password, "")
    }

    /// `GET /token?service=...&scope=SCOPE` as `user` (no scope when empty).
    pub fn token(&self, user: &str, password: &str, scope: &str) -> HttpResponse {
        let scope = if scope.is_empty() { String::new() } else { format!("&scope={scope}") };
        let url = format!("http://{}/token?service={SERVICE}{scope}", self.config.listen);
        http_get(&url, &[("Authorization", &basic(user, password))])
    }

    /// Waits until `user` gets `status`; returns how long that took.
    pub fn wait_for_login(&self, user: &str, password: &str, status: u16) -> Duration {
        let started = Instant::now();
        loop {
            let answer = self.login(user, password);
            if answer.status == status {
                return started.elapsed();
            }
            assert!(started.elapsed() < LIVE_WITHIN, "{user}: {answer:?}\nlog:\n{}", self.server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The claims of the token in a 200 answer.
pub fn token_claims(answer: &HttpResponse) -> Value {
    assert_eq!(answer.status, 200, "{answer:?}");
    claims(answer.json()["token"].as_str().expect("a token"))
}

/// A token's lifetime: `exp - iat`, in seconds.
pub fn lifetime(claims: &Value) -> i64 {
    claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat")
}

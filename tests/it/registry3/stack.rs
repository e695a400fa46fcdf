//! regent and a registry 3 that trusts it through a `rootcertbundle` (tokens with `x5c`) or an
//! `auth.token.jwks` file only (kid-only tokens), both files written by `regent keys`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use regent::config::Config;
use regent::token::KeyType;

use crate::env::{ISSUER, RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{Registry3, Registry3Auth, Skopeo, assert_ok, http_get, oci, run_with_timeout};

/// How registry 3 is told which keys to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `rootcertbundle` only; regent's defaults: libtrust `kid` and `x5c`.
    Bundle,
    /// `auth.token.jwks` only; regent with `kid = "rfc7638"` and `x5c = false`.
    JwksOnly,
}

/// regent, a registry 3 trusting it, and a place for images.
pub struct Stack3 {
    /// regent's data directory (keys, config).
    pub env: TestEnv,
    /// regent on loopback.
    pub regent: RunningRegent,
    /// The registry.
    pub registry: Registry3,
    /// How the registry trusts regent.
    pub trust: Trust,
    /// Local OCI layouts.
    pub images: tempfile::TempDir,
}

impl Stack3 {
    /// `regent init --key-type KEY_TYPE`, configured for `trust`; the trust file written with
    /// `regent keys bundle|jwks`; regent and the registry started.
    pub fn start(key_type: KeyType, trust: Trust) -> Self {
        Self::start_with_extra_bundle(key_type, trust, "")
    }

    /// Like [`Stack3::start`], with `extra_pem` appended to the bundle the registry reads.
    pub fn start_with_extra_bundle(key_type: KeyType, trust: Trust, extra_pem: &str) -> Self {
        Self::start_configured(key_type, trust, extra_pem, |_| {})
    }

    /// Like [`Stack3::start_with_extra_bundle`], with `configure` applied to the configuration
    /// regent serves (after the trust mode's settings).
    pub fn start_configured(
        key_type: KeyType,
        trust: Trust,
        extra_pem: &str,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let (listener, realm) = bind_realm();
        let mut env = TestEnv::with_key_type(&realm, key_type);
        if trust == Trust::JwksOnly {
            let text = std::fs::read_to_string(env.config_path()).unwrap();
            assert!(text.contains("kid = \"libtrust\"") && text.contains("x5c = true"), "{text}");
            let text =
                text.replace("kid = \"libtrust\"", "kid = \"rfc7638\"").replace("x5c = true", "x5c = false");
            std::fs::write(env.config_path(), text).unwrap();
            env.config = Config::load(env.config_path()).unwrap();
        }
        let trust_file = write_trust_file(&env, trust);
        if !extra_pem.is_empty() {
            let bundle = std::fs::read_to_string(&trust_file).unwrap();
            std::fs::write(&trust_file, format!("{bundle}{extra_pem}")).unwrap();
        }
        configure(&mut env.config);
        let regent = RunningRegent::start(&env, listener, Duration::ZERO);
        let (rootcertbundle, jwks) = match trust {
            Trust::Bundle => (Some(trust_file.clone()), None),
            Trust::JwksOnly => (None, Some(trust_file.clone())),
        };
        let registry = Registry3::start(Registry3Auth {
            realm: regent.realm(),
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            rootcertbundle,
            jwks,
        });
        Self { env, regent, registry, trust, images: tempfile::tempdir().unwrap() }
    }

    /// Runs `regent keys ARGS --config regent.toml` (the real binary); returns stdout.
    pub fn keys(&self, args: &[&str]) -> String {
        regent_keys(&self.env, args)
    }

    /// Writes the registry's trust file again (`regent keys bundle|jwks --out FILE`).
    pub fn publish(&self) {
        write_trust_file(&self.env, self.trust);
    }

    /// `docker://HOST/REPO`.
    pub fn docker(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.registry.host())
    }

    /// A fresh local OCI image with `payload`.
    pub fn image(&self, tag: &str, payload: &[u8]) -> oci::OciImage {
        oci::write_layout(&self.images.path().join(tag), tag, payload)
    }

    /// Pulls `repo` with skopeo (as `creds`, or anonymously) into a fresh layout; asserts it
    /// worked.
    pub fn pull(&self, what: &str, repo: &str, creds: Option<(&str, &str)>) {
        let dest = tempfile::tempdir_in(self.images.path()).unwrap();
        let dest_ref = format!("oci:{}:pulled", dest.path().display());
        assert_ok(what, &Skopeo::new().copy(&self.docker(repo), &dest_ref, creds));
    }

    /// A token from regent's `/token` for `scope`, as `creds`.
    pub fn token(&self, creds: (&str, &str), scope: &str) -> String {
        let url = format!("{}?service={SERVICE}&scope={scope}", self.regent.realm());
        let auth = format!("Basic {}", STANDARD.encode(format!("{}:{}", creds.0, creds.1)));
        let answer = http_get(&url, &[("Authorization", &auth)]);
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["token"].as_str().unwrap().to_owned()
    }

    /// The status of `GET /v2/REPO/tags/list` with `token`.
    pub fn tags_status(&self, repo: &str, token: &str) -> u16 {
        let url = format!("{}/v2/{repo}/tags/list", self.registry.url());
        http_get(&url, &[("Authorization", &format!("Bearer {token}"))]).status
    }

    /// Waits (up to 15 s) until regent's tokens carry `kid`: the key set reloaded.
    pub fn wait_for_signing_kid(&self, kid: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let token = self.token(("alice", "alice-pw"), "repository:alice/app:pull");
            if header_of(&token)["kid"] == kid {
                return;
            }
            assert!(Instant::now() < deadline, "regent did not sign with {kid} within 15 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 15 s) until regent's `/.well-known/jwks.json` lists `count` keys.
    pub fn wait_for_trusted_keys(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = format!("http://{}/.well-known/jwks.json", self.regent.addr);
        while http_get(&url, &[]).json()["keys"].as_array().map_or(0, Vec::len) != count {
            assert!(Instant::now() < deadline, "regent did not trust {count} keys within 15 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The decoded JOSE header of a token.
pub fn header_of(token: &str) -> serde_json::Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// `regent keys bundle` or `regent keys jwks` into regent's data directory; returns the path.
fn write_trust_file(env: &TestEnv, trust: Trust) -> PathBuf {
    let dir = env.config_path().parent().unwrap();
    let (command, file) = match trust {
        Trust::Bundle => ("bundle", dir.join("bundle.crt")),
        Trust::JwksOnly => ("jwks", dir.join("jwks.json")),
    };
    regent_keys(env, &[command, "--out", file.to_str().unwrap()]);
    file
}

fn regent_keys(env: &TestEnv, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.arg("keys").arg(args[0]).arg("--config").arg(env.config_path()).args(&args[1..]);
    command.env_remove("REGENT_CONFIG").current_dir(Path::new("/"));
    let out = run_with_timeout(command, Duration::from_secs(60), None);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "regent keys {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

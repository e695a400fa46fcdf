//! Three `regent serve` processes sharing one data directory behind HAProxy, with registry 2.8
//! behind the same frontend: the deployment the README's "Scaling out" section describes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::fixtures::{
    DataDir, Haproxy, HttpResponse, RegentServe, Registry, RegistryAuth, Skopeo, assert_ok, free_port, oci,
    regent_with_stdin, text, try_http_request,
};

/// The service name (the registry's `auth.token.service`).
pub(crate) const SERVICE: &str = "registry.replicas.test";
/// The issuer.
pub(crate) const ISSUER: &str = "regent-replicas";
/// Users in the shared htpasswd file: (name, password).
pub(crate) const USERS: &[(&str, &str)] = &[("alice", "alice-pw"), ("bob", "bob-pw")];
/// How long HAProxy may take to see every replica up (two checks 500 ms apart).
const UP_DEADLINE: Duration = Duration::from_secs(20);

/// The data directory `d/` (made by `regent init`, the registry's bundle made by `regent keys
/// bundle`), the registry, three replicas and HAProxy.
///
/// `replicas[0]` is the writer: it sees `d/` as it is, and the CLI commands the tests run
/// (`regent passwd`, `revoke`, `keys`) write there. `replicas[1]` and `replicas[2]` see `d/`
/// through a read-only bind mount. Every replica runs `regent serve --config d/regent.toml`
/// (the same file) with its own `--listen` address.
pub(crate) struct ReplicaSet {
    /// The balancer: `/token` to the replicas, everything else to the registry.
    pub(crate) haproxy: Haproxy,
    /// The replicas (dropped before the directory they read).
    pub(crate) replicas: Vec<RegentServe>,
    /// registry 2.8 trusting `d/bundle.crt`.
    pub(crate) registry: Registry,
    /// Holds `d/` and the OCI layouts of pushed images.
    dir: tempfile::TempDir,
}

impl ReplicaSet {
    /// Starts it all and waits until HAProxy has seen every replica pass its health check.
    pub(crate) fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("replicas-").tempdir().expect("temp dir");
        let addrs: Vec<SocketAddr> =
            (0..3).map(|_| SocketAddr::from(([127, 0, 0, 1], free_port()))).collect();
        // The balancer starts first: its address is the realm. The registry comes later, so
        // HAProxy is given the registry's port up front.
        let registry_port = free_port();
        let haproxy = Haproxy::start(&addrs, Some(SocketAddr::from(([127, 0, 0, 1], registry_port))));
        let realm = format!("{}/token", haproxy.url());
        let cwd = dir.path();
        cli(cwd, &["init", "--dir", "d", "--service", SERVICE, "--issuer", ISSUER, "--realm", &realm], None);
        for (user, password) in USERS {
            add_user(cwd, user, password);
        }
        cli(cwd, &["keys", "bundle", "--config", "d/regent.toml"], None);
        let data = cwd.join("d");
        let auth = RegistryAuth {
            realm,
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            rootcertbundle: data.join("bundle.crt"),
        };
        let registry = Registry::start_trying_ports(auth, [registry_port]);
        drop_listeners(&data.join("regent.toml"));
        let replicas = addrs
            .iter()
            .enumerate()
            .map(|(index, addr)| {
                let access = if index == 0 { DataDir::Writable } else { DataDir::ReadOnly(&data) };
                RegentServe::replica(&data.join("regent.toml"), *addr, access)
            })
            .collect();
        haproxy.wait_all_up(UP_DEADLINE);
        Self { haproxy, replicas, registry, dir }
    }

    /// Where the CLI commands run (`d/` is below it).
    pub(crate) fn cwd(&self) -> &Path {
        self.dir.path()
    }

    /// The shared data directory.
    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("d")
    }

    /// Runs `regent ARGS` next to `d/` (add `--config d/regent.toml` yourself); asserts success.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        cli(self.cwd(), args, None)
    }

    /// `regent passwd --config d/regent.toml --cost 4 USER` with the password on stdin.
    pub(crate) fn add_user(&self, user: &str, password: &str) {
        add_user(self.cwd(), user, password);
    }

    /// Pushes a one-file image to `repo:tag` through HAProxy with skopeo as alice; returns the
    /// digests the registry stores (skopeo may convert the manifest and compress the layer).
    pub(crate) fn push_image(&self, repo: &str, tag: &str, payload: &[u8]) -> PushedImage {
        let image = oci::write_layout(&self.dir.path().join("images").join(tag), tag, payload);
        let target = format!("docker://{}/{repo}:{tag}", self.haproxy.host());
        assert_ok(
            "skopeo push through HAProxy",
            &Skopeo::new().copy(&image.reference(), &target, Some(USERS[0])),
        );
        let token = access_token(token_request(
            &self.replicas[0].url(),
            &basic(USERS[0].0, USERS[0].1),
            &format!("repository:{repo}:pull"),
            "",
        ));
        let manifest =
            bearer_get(&format!("{}/v2/{repo}/manifests/{tag}", self.registry.url()), &token).unwrap();
        assert_eq!(manifest.status, 200, "{}", manifest.body);
        let layer = manifest.json()["layers"][0]["digest"].as_str().expect("a layer").to_owned();
        let digest = manifest.header("Docker-Content-Digest").expect("Docker-Content-Digest").to_owned();
        PushedImage { manifest_digest: digest, layer_digest: layer }
    }
}

/// An image as the registry stores it.
pub(crate) struct PushedImage {
    /// `sha256:...` of the manifest.
    pub(crate) manifest_digest: String,
    /// `sha256:...` of its one layer.
    pub(crate) layer_digest: String,
}

/// `GET {base}/token?service=SERVICE&scope=SCOPE` (no scope when empty; plus `extra` query
/// parameters) with `auth` as the `Authorization` header; `Err` when the connection fails.
pub(crate) fn token_request(
    base: &str,
    auth: &str,
    scope: &str,
    extra: &str,
) -> Result<HttpResponse, String> {
    let scope = if scope.is_empty() { String::new() } else { format!("&scope={scope}") };
    let url = format!("{base}/token?service={SERVICE}{scope}{extra}");
    try_http_request("GET", &url, &[("Authorization", auth)], b"")
}

/// The access token of a 200 answer from [`token_request`]; panics with the answer otherwise.
pub(crate) fn access_token(answer: Result<HttpResponse, String>) -> String {
    let answer = answer.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["token"].as_str().expect("a token").to_owned()
}

/// HTTP Basic for `user:password`.
pub(crate) fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// containerd's refresh grant: Basic with an empty user name and the refresh token.
pub(crate) fn refresh_auth(refresh_token: &str) -> String {
    basic("", refresh_token)
}

/// docker's refresh grant: `POST {base}/token` with `grant_type=refresh_token` (scope omitted
/// when empty); `Err` when the connection fails.
pub(crate) fn refresh_post(base: &str, refresh_token: &str, scope: &str) -> Result<HttpResponse, String> {
    let scope = if scope.is_empty() { String::new() } else { format!("&scope={scope}") };
    let form = format!(
        "grant_type=refresh_token&refresh_token={refresh_token}&service={SERVICE}&client_id=docker{scope}"
    );
    let content_type = ("Content-Type", "application/x-www-form-urlencoded");
    try_http_request("POST", &format!("{base}/token"), &[content_type], form.as_bytes())
}

/// `GET url` with a bearer token; `Err` when the connection fails.
pub(crate) fn bearer_get(url: &str, token: &str) -> Result<HttpResponse, String> {
    let accept = "application/vnd.oci.image.manifest.v1+json";
    try_http_request("GET", url, &[("Authorization", &format!("Bearer {token}")), ("Accept", accept)], b"")
}

fn cli(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = regent_with_stdin(args, cwd, stdin);
    assert!(out.status.success(), "regent {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn add_user(cwd: &Path, user: &str, password: &str) {
    let args = ["passwd", "--config", "d/regent.toml", "--cost", "4", user];
    cli(cwd, &args, Some(format!("{password}\n").as_bytes()));
}

/// Removes `init`'s `[[listen]]` entry (the file's last table): the replicas share this file
/// and each gets its own address with `--listen` (on separate machines they would share the
/// entry as well).
fn drop_listeners(config: &Path) {
    let original = std::fs::read_to_string(config).expect("read regent.toml");
    let at = original.find("\n[[listen]]\n").unwrap_or_else(|| panic!("no [[listen]] in:\n{original}"));
    let listener = &original[at + 1..];
    assert!(!listener[1..].contains("\n["), "[[listen]] is not the last table:\n{original}");
    std::fs::write(config, &original[..at + 1]).expect("write regent.toml");
}

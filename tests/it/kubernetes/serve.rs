//! The real `regent` on the rendered files, laid out where the pod mounts them: the config
//! checks pass on the files as rendered, every path regent.toml names lies in the volume meant
//! for it, and `regent serve`, run with the container's args and environment, answers the
//! probes and issues tokens from the mounted users, groups, policies and keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regent::config::{BackendConfig, Config};
use serde_json::{Value, json};

use super::objects::Object;
use super::pod::{PodFiles, deployment, pod_spec};
use super::render::{SERVICE, USERS};
use super::{prepared, rendered};
use crate::fixtures::{ChildGuard, HttpResponse, basic, claims, free_port, http_get, regent, text};

/// The listener every overlay's regent.toml declares (the container port).
const RENDERED_LISTEN: &str = "address = \"0.0.0.0:5001\"";

/// `regent serve` with the container's args and env on laid-out files; killed on drop.
pub struct ServedPod {
    /// The laid-out files (swapped by the tests).
    pub files: PodFiles,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process.
    _child: ChildGuard,
    /// Its stderr (the log).
    log: PathBuf,
    /// The readiness probe's path, from the Deployment.
    readiness: String,
}

impl ServedPod {
    /// Lays out `objects`' regent pod with its listener moved to a free loopback port (tests
    /// never bind 0.0.0.0 or a fixed port) and `edit` applied to regent.toml (given it and the
    /// pod's URL), starts it and waits until the readiness probe answers 200.
    pub fn start(objects: &[Object], edit: impl Fn(String, &str) -> String) -> ServedPod {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let files = PodFiles::lay_out(objects, "regent", |volume, payload| {
            if volume == "config" {
                let toml = String::from_utf8(payload["regent.toml"].clone()).expect("utf-8");
                assert!(toml.contains(RENDERED_LISTEN), "{toml}");
                let toml =
                    edit(toml.replace(RENDERED_LISTEN, &format!("address = \"127.0.0.1:{port}\"")), &url);
                payload.insert("regent.toml".to_owned(), toml.into_bytes());
            }
        });
        let probe = pod_spec(deployment(objects, "regent")).containers[0].readiness_probe.clone();
        let readiness = probe.and_then(|p| p.http_get).and_then(|g| g.path).expect("a readiness path");
        let log = files.host_path("/regent.log");
        let child = Command::new(env!("CARGO_BIN_EXE_regent"))
            .args(files.args())
            .envs(files.env())
            .env_remove("REGENT_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn regent serve");
        let pod = ServedPod { files, url, _child: ChildGuard(child), log, readiness };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if pod.get_quietly(&pod.readiness).is_some_and(|answer| answer.status == 200) {
                return pod;
            }
            assert!(Instant::now() < deadline, "not ready within 30 s; log:\n{}", pod.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET PATH`, or `None` while nothing answers.
    pub fn get_quietly(&self, path: &str) -> Option<HttpResponse> {
        let url = format!("{}{path}", self.url);
        std::panic::catch_unwind(|| http_get(&url, &[])).ok()
    }

    /// The readiness probe's answer.
    pub fn ready(&self) -> HttpResponse {
        http_get(&format!("{}{}", self.url, self.readiness), &[])
    }

    /// `/token` for `scope` as `user` (anonymous with `None`): the status and the granted access.
    pub fn token(&self, user: Option<(&str, &str)>, scope: &str) -> (u16, Value) {
        let auth = user.map(|(name, password)| basic(name, password));
        let headers: Vec<(&str, &str)> = auth.iter().map(|auth| ("Authorization", auth.as_str())).collect();
        let answer = http_get(&format!("{}/token?service={SERVICE}&scope={scope}", self.url), &headers);
        if answer.status != 200 {
            return (answer.status, Value::Null);
        }
        (200, claims(answer.json()["token"].as_str().expect("token"))["access"].clone())
    }

    /// What regent logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The access entry granting `actions` on the repository `name`.
pub fn repository(name: &str, actions: &[&str]) -> Value {
    json!([{"type": "repository", "name": name, "actions": actions}])
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_rendered_config_passes_regents_checks_where_the_pod_mounts_it() {
    let deploy = prepared();
    for overlay in ["overlays/htpasswd", "overlays/ldap"] {
        let objects = rendered(&deploy, overlay);
        let files = PodFiles::lay_out(&objects, "regent", |_, _: &mut BTreeMap<String, Vec<u8>>| {});
        let args = files.args();
        assert_eq!(args[..2], ["serve".to_owned(), "--config".to_owned()], "{overlay}: {args:?}");
        let config_path = &args[2];
        let checked = regent(&["policy", "check", "--config", config_path], Path::new("/"));
        assert!(checked.status.success(), "{overlay}: {}", text(&checked.stderr));
        assert_eq!(text(&checked.stdout).trim(), "ok: 4 rules", "{overlay}");
        let listed = regent(&["keys", "list", "--config", config_path], Path::new("/"));
        assert!(listed.status.success(), "{overlay}: {}", text(&listed.stderr));
        assert!(text(&listed.stdout).contains("signing"), "{overlay}: {}", text(&listed.stdout));

        // Every path regent.toml names is in the volume meant for it.
        let config =
            Config::load(Path::new(config_path)).unwrap_or_else(|error| panic!("{overlay}: {error}"));
        let key_directory = config.token.key_directory.as_deref().expect("key_directory");
        assert_eq!(canonical(key_directory), canonical(files.mount_dir("keys")));
        assert_eq!(canonical(&config.policy.directory), canonical(files.mount_dir("policies")));
        let revocations = config.refresh.revocations.parent().expect("a directory");
        assert_eq!(canonical(revocations), canonical(files.mount_dir("revocations")));
        assert!(config.refresh.revocations.is_file(), "{overlay}: the revocations file is mounted");
        let mut kinds = Vec::new();
        for authn in &config.authn {
            match &authn.backend {
                BackendConfig::Htpasswd { file, groups, .. } => {
                    kinds.push("htpasswd");
                    for file in [Some(file), groups.as_ref()].into_iter().flatten() {
                        assert_eq!(
                            canonical(file.parent().expect("dir")),
                            canonical(files.mount_dir("users"))
                        );
                    }
                }
                BackendConfig::Ldap { config } => {
                    kinds.push("ldap");
                    let ca = config.ca_file.as_deref().expect("ca_file");
                    assert_eq!(canonical(ca.parent().expect("dir")), canonical(files.mount_dir("ldap")));
                }
                BackendConfig::Http { .. } => kinds.push("http"),
            }
        }
        let expected: &[&str] = if overlay.ends_with("ldap") { &["ldap", "htpasswd"] } else { &["htpasswd"] };
        assert_eq!(kinds, expected, "{overlay}");
        let port = pod_spec(deployment(&objects, "regent")).containers[0].ports.as_ref().expect("ports")[0]
            .container_port;
        let listen: Vec<u16> = config.listen.iter().map(|listen| listen.address.port()).collect();
        assert_eq!(
            listen,
            [u16::try_from(port).expect("port")],
            "{overlay}: the listener is the container port"
        );
    }
}

#[test]
fn the_htpasswd_overlay_serves_tokens_from_the_mounted_files() {
    let deploy = prepared();
    let objects = rendered(&deploy, "overlays/htpasswd");
    let pod = ServedPod::start(&objects, |toml, _| toml);
    let before = pod.files.listing();
    assert_eq!(pod.get_quietly("/healthz").map(|answer| answer.status), Some(200), "the liveness probe");
    let ready = pod.ready();
    assert_eq!((ready.status, ready.json()["keys"].clone()), (200, Value::Bool(true)), "{}", ready.body);

    let (alice, bob) = (USERS[0], USERS[1]);
    let own = pod.token(Some(alice), "repository:alice/app:pull,push");
    assert_eq!(own, (200, repository("alice/app", &["pull", "push"])), "10-namespaces.toml");
    let catalog = pod.token(Some(alice), "registry:catalog:*");
    let granted = json!([{"type": "registry", "name": "catalog", "actions": ["*"]}]);
    assert_eq!(catalog, (200, granted), "50-admins.toml with users/groups");
    let other = pod.token(Some(bob), "repository:alice/app:pull,push");
    assert_eq!(other, (200, repository("alice/app", &["pull"])), "20-read-only.toml");
    assert_eq!(pod.token(Some((bob.0, "wrong")), "repository:bob/app:pull").0, 401);
    assert_eq!(pod.token(None, "repository:alice/app:pull"), (200, json!([])), "nothing for anonymous");
    assert_eq!(pod.files.listing(), before, "regent wrote nothing: a read-only root and volumes suffice");
}

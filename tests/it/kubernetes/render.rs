//! deploy/kubernetes/ rendered the way an operator renders it: a copy of the directory, the
//! files its Secrets and the registry's bundle are generated from made with the real `regent`
//! (`init`, `passwd`, `keys bundle`), then `kubectl kustomize`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::fixtures::{find_program, regent, regent_with_stdin, run_with_timeout, text};

/// The service and issuer every rendered file names (the examples' values).
pub const SERVICE: &str = "registry.example.com";
/// The local users the operator adds, with their passwords: alice is in `admins`.
pub const USERS: &[(&str, &str)] = &[("alice", "alice-pw"), ("bob", "bob-pw")];
/// The groups file the operator writes.
pub const GROUPS: &str = "admins: alice\n";

/// What the LDAP overlay's Secret is made of.
pub struct LdapSecret {
    /// The directory's CA certificate (PEM).
    pub ca_pem: String,
    /// The service account's password.
    pub bind_password: String,
}

/// A prepared copy of deploy/kubernetes/ (under `deploy/`) and the operator's own data
/// directory (`data/`, from `regent init`), where `regent` commands change keys and users.
pub struct Deploy {
    /// Holds `deploy/` and `data/`; removed on drop.
    dir: TempDir,
}

impl Deploy {
    /// Copies deploy/kubernetes/, runs `regent init`, adds [`USERS`] and [`GROUPS`], writes the
    /// registry bundle and the LDAP files, and puts each where the kustomizations expect it.
    pub fn prepare(ldap: &LdapSecret) -> Deploy {
        let dir = tempfile::Builder::new().prefix("k8s-").tempdir().expect("tempdir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
        copy_tree(&source, &dir.path().join("deploy"));
        let deploy = Deploy { dir };
        let data = deploy.data();
        let data_arg = data.to_str().expect("utf-8 path");
        let out = regent(&["init", "--dir", data_arg, "--service", SERVICE], deploy.dir.path());
        assert!(out.status.success(), "regent init: {}", text(&out.stderr));
        for (user, password) in USERS {
            deploy.set_password(user, password);
        }
        std::fs::write(data.join("groups"), GROUPS).expect("groups");
        deploy.publish_keys();
        deploy.publish_users();
        let ldap_dir = deploy.deploy().join("overlays/ldap/ldap");
        std::fs::write(ldap_dir.join("ca.crt"), &ldap.ca_pem).expect("ca.crt");
        std::fs::write(ldap_dir.join("bind-password"), format!("{}\n", ldap.bind_password)).expect("pw");
        deploy
    }

    /// The copy of deploy/kubernetes/.
    pub fn deploy(&self) -> PathBuf {
        self.dir.path().join("deploy")
    }

    /// The operator's data directory (`regent init`'s output).
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `regent passwd --file data/htpasswd USER` with `password` on stdin (bcrypt cost 4).
    pub fn set_password(&self, user: &str, password: &str) {
        let file = self.data().join("htpasswd");
        let args = ["passwd", "--file", file.to_str().expect("utf-8 path"), "--cost", "4", user];
        let out = regent_with_stdin(&args, self.dir.path(), Some(format!("{password}\n").as_bytes()));
        assert!(out.status.success(), "regent passwd {user}: {}", text(&out.stderr));
    }

    /// Copies the data directory's active key pairs into base/keys/, lists them in the base's
    /// secretGenerator, and writes registry/bundle.crt with `regent keys bundle`.
    pub fn publish_keys(&self) {
        let keys = self.deploy().join("base/keys");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.data().join("keys")).expect("data/keys") {
            let path = entry.expect("entry").path();
            if path.is_file() && !path.file_name().expect("name").to_string_lossy().starts_with('.') {
                let name = path.file_name().expect("name").to_string_lossy().into_owned();
                std::fs::copy(&path, keys.join(&name)).expect("copy a key file");
                names.push(name);
            }
        }
        names.sort();
        // The operator lists each pair in the secretGenerator (kustomize takes no globs).
        let kustomization = self.deploy().join("base/kustomization.yaml");
        let yaml = std::fs::read_to_string(&kustomization).expect("kustomization");
        let mut lines: Vec<String> = Vec::new();
        for line in yaml.lines() {
            if !line.starts_with("      - keys/") {
                lines.push(line.to_owned());
            } else if !lines.last().is_some_and(|last| last.starts_with("      - keys/")) {
                lines.extend(names.iter().map(|name| format!("      - keys/{name}")));
            }
        }
        std::fs::write(&kustomization, lines.join("\n") + "\n").expect("kustomization");
        let config = self.data().join("regent.toml");
        let bundle = self.deploy().join("registry/bundle.crt");
        let args = ["keys", "bundle", "--config", config.to_str().expect("utf-8"), "--out"];
        let out = regent(&[&args[..], &[bundle.to_str().expect("utf-8")]].concat(), self.dir.path());
        assert!(out.status.success(), "regent keys bundle: {}", text(&out.stderr));
    }

    /// Copies the data directory's htpasswd and groups into base/users/.
    pub fn publish_users(&self) {
        for name in ["htpasswd", "groups"] {
            std::fs::copy(self.data().join(name), self.deploy().join("base/users").join(name)).expect("copy");
        }
    }

    /// `kubectl kustomize deploy/KUSTOMIZATION`: every rendered object, as JSON values.
    pub fn render(&self, kustomization: &str) -> Vec<Value> {
        let mut command = Command::new(kubectl());
        command.arg("kustomize").arg(self.deploy().join(kustomization));
        let out = run_with_timeout(command, Duration::from_secs(60), None);
        assert!(out.status.success(), "kubectl kustomize {kustomization}: {}", text(&out.stderr));
        parse_documents(&text(&out.stdout))
    }
}

/// `$KUBECTL` when set (e.g. another kubectl to check the kustomizations against), else
/// `kubectl` (Debian's package kubernetes-client).
fn kubectl() -> PathBuf {
    match std::env::var_os("KUBECTL").filter(|value| !value.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => find_program("kubectl", "kubernetes-client"),
    }
}

/// Every document of a YAML stream, as JSON values (empty documents skipped).
pub fn parse_documents(yaml: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(yaml)
        .map(|document| serde_yaml_ng::Value::deserialize(document).expect("rendered YAML parses"))
        .filter(|document| !document.is_null())
        .map(|document| serde_json::to_value(document).expect("YAML with string keys"))
        .collect()
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a directory") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

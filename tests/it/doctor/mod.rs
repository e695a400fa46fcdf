//! `regent doctor` (the real binary) against the real registry 2.8: a setup that works passes
//! every check; each way of breaking it fails the check that names it, with exit status 1.
//! [`trust`]: the checks of what the registry trusts (bundle, pending keys, registry 3's JWKS).
//! Clock skew cannot be injected into the registry here: `doctor::clock_check` has unit tests.

mod trust;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::env::{ISSUER, RunningRegent, SERVICE, TestEnv, bind_realm};
use crate::fixtures::{Registry, RegistryAuth, free_port, run_with_timeout};

pub(super) const TIMEOUT: Duration = Duration::from_secs(60);

/// regent's data directory and a registry configured from it by `adjust`.
pub(super) struct Stack {
    pub(super) env: TestEnv,
    _regent: Option<RunningRegent>,
    pub(super) registry: Registry,
    /// Holds files a test puts beside the data directory (other bundles).
    _files: tempfile::TempDir,
}

impl Stack {
    /// A registry set up as `regent init` says, changed by `adjust` (which may write into the
    /// given directory).
    pub(super) fn start(adjust: impl FnOnce(&mut RegistryAuth, &Path)) -> Self {
        let (listener, realm) = bind_realm();
        let env = TestEnv::new(&realm);
        let regent = RunningRegent::start(&env, listener, Duration::ZERO);
        Self::with(env, Some(regent), adjust)
    }

    fn with(
        env: TestEnv,
        regent: Option<RunningRegent>,
        adjust: impl FnOnce(&mut RegistryAuth, &Path),
    ) -> Self {
        // The data directory as an operator has it: readable on the way down to keys/ (the
        // tempdir is 0700), keys/ itself 0700 as `regent init` makes it.
        let data = data_dir(&env);
        chmod(data.parent().unwrap(), 0o755);
        chmod(&data, 0o755);
        let files = tempfile::tempdir().unwrap();
        chmod(files.path(), 0o755);
        let mut auth = RegistryAuth {
            realm: env.config.token.realm.clone(),
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            rootcertbundle: env.report.root_cert_bundle.clone(),
        };
        adjust(&mut auth, files.path());
        let registry = Registry::start(auth);
        Self { env, _regent: regent, registry, _files: files }
    }

    /// `regent doctor --config ... --registry-config ... --registry-url ... EXTRA`.
    pub(super) fn doctor(&self, extra: &[&str]) -> Output {
        let config = self.env.config_path().display().to_string();
        let registry_config = self.registry.config_path().display().to_string();
        let url = self.registry.url();
        let mut args =
            vec!["--config", &config, "--registry-config", &registry_config, "--registry-url", &url];
        args.extend_from_slice(extra);
        doctor(&args)
    }
}

pub(super) fn data_dir(env: &TestEnv) -> PathBuf {
    env.config_path().parent().unwrap().to_path_buf()
}

pub(super) fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub(super) fn doctor(args: &[&str]) -> Output {
    doctor_with_env(args, &[])
}

/// `regent doctor ARGS` with exactly the `REGISTRY_*` variables in `env`.
pub(super) fn doctor_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.arg("doctor").args(args).env_remove("REGENT_CONFIG");
    for (name, _) in std::env::vars() {
        if name.starts_with("REGISTRY_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    run_with_timeout(command, TIMEOUT, None)
}

pub(super) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of check `name`, which must have `status`.
pub(super) fn line<'a>(out: &'a str, status: &str, name: &str) -> &'a str {
    let prefix = format!("{status:<6}{name}: ");
    out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no `{prefix}` line in:\n{out}"))
}

pub(super) fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_working_setup_passes_every_check() {
    let stack = Stack::start(|_, _| {});
    // keys/ is 0700 (root's): only the bundle in it is unreadable for nobody. Open keys/ as the
    // fix says, then every check passes.
    let keys = stack.env.report.root_cert_bundle.parent().unwrap().to_path_buf();
    chmod(&keys, 0o711);
    let out = stack.doctor(&["--registry-user", "nobody"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for name in
        ["service", "issuer", "realm", "bundle", "readable", "challenge", "reachable", "clock", "token"]
    {
        line(&text, "ok", name);
    }
    line(&text, "skip", "jwks");
    assert!(!text.contains("FAIL") && !text.contains("WARN"), "{text}");
    assert!(text.ends_with("9 ok, 0 warnings, 0 failed, 1 skipped\n"), "{text}");

    // With only the URL: the challenge still compares realm and service; the rest is skipped.
    let config = stack.env.config_path().display().to_string();
    let url_only = doctor(&["--config", &config, "--registry-url", &stack.registry.url()]);
    assert_exit(&url_only, 0);
    let text = stdout(&url_only);
    line(&text, "ok", "challenge");
    line(&text, "ok", "token");
    line(&text, "skip", "bundle");
    line(&text, "skip", "issuer");
}

#[test]
fn a_registry_expecting_another_issuer() {
    let stack = Stack::start(|auth, _| auth.issuer = "someone-else".into());
    let out = stack.doctor(&["--registry-user", "root"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let issuer = line(&text, "FAIL", "issuer");
    assert!(
        issuer
            .contains(&format!("regent signs as (iss) \"{ISSUER}\", the registry expects \"someone-else\"")),
        "{issuer}"
    );
    assert!(issuer.contains("-> fix: set [token] issuer = \"someone-else\" in regent.toml"), "{issuer}");
    let token = line(&text, "FAIL", "token");
    assert!(token.contains("401") && token.contains("invalid_token"), "{token}");
    assert!(token.contains("fix the failed issuer check"), "{token}");
    line(&text, "ok", "service");
    line(&text, "ok", "bundle");

    // The same registry described by its environment alone (as a container runs it).
    let config = stack.env.config_path().display().to_string();
    let bundle = stack.env.report.root_cert_bundle.display().to_string();
    let env = [
        ("REGISTRY_AUTH_TOKEN_REALM", stack.env.config.token.realm.as_str()),
        ("REGISTRY_AUTH_TOKEN_SERVICE", SERVICE),
        ("REGISTRY_AUTH_TOKEN_ISSUER", "someone-else"),
        ("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", bundle.as_str()),
    ];
    let url = stack.registry.url();
    let out =
        doctor_with_env(&["--config", &config, "--registry-url", &url, "--registry-user", "root"], &env);
    assert_exit(&out, 1);
    let text = stdout(&out);
    line(&text, "FAIL", "issuer");
    line(&text, "FAIL", "token");
    line(&text, "ok", "bundle");
}

#[test]
fn a_registry_for_another_service() {
    let stack = Stack::start(|auth, _| auth.service = "other.test".into());
    let out = stack.doctor(&["--registry-user", "root"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let service = line(&text, "FAIL", "service");
    assert!(service.contains(&format!("\"{SERVICE}\"")) && service.contains("\"other.test\""), "{service}");
    let challenge = line(&text, "FAIL", "challenge");
    assert!(challenge.contains("for service \"other.test\""), "{challenge}");
    let token = line(&text, "FAIL", "token");
    assert!(token.contains("service, challenge"), "{token}");
    line(&text, "ok", "issuer");
}

#[test]
fn a_bundle_the_registry_user_cannot_read() {
    // A copy of the bundle owned by root, 0600, in an open directory: the registry (root
    // here) starts, but nobody could not read it.
    let stack = Stack::start(|auth, dir| {
        let bundle = dir.join("bundle.crt");
        std::fs::copy(&auth.rootcertbundle, &bundle).unwrap();
        chmod(&bundle, 0o600);
        auth.rootcertbundle = bundle;
    });
    let out = stack.doctor(&["--registry-user", "nobody"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let readable = line(&text, "FAIL", "readable");
    assert!(readable.contains("nobody (uid 65534) cannot read auth.token.rootcertbundle"), "{readable}");
    assert!(readable.contains("no r on the file"), "{readable}");
    let bundle = stack.registry_bundle();
    assert!(readable.ends_with(&format!("-> fix: chmod o+r {}", bundle.display())), "{readable}");
    line(&text, "ok", "bundle");
    line(&text, "ok", "token");

    // `regent init`'s keys/ (0700) in the path: the fix opens the directory or moves the bundle.
    let stack = Stack::start(|_, _| {});
    let out = stack.doctor(&["--registry-user", "nobody"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let readable = line(&text, "FAIL", "readable");
    let keys = stack.env.report.root_cert_bundle.parent().unwrap().canonicalize().unwrap();
    assert!(readable.contains(&format!("{} is 0700", keys.display())), "{readable}");
    assert!(readable.contains(&format!("-> fix: chmod o+x {}", keys.display())), "{readable}");
    assert!(readable.contains("regent keys bundle --out"), "{readable}");
}

impl Stack {
    /// The rootcertbundle in the registry's config.yml.
    fn registry_bundle(&self) -> PathBuf {
        let text = std::fs::read_to_string(self.registry.config_path()).unwrap();
        let line = text.lines().find_map(|l| l.trim().strip_prefix("rootcertbundle: ")).unwrap();
        PathBuf::from(line.trim_matches('"')).canonicalize().unwrap()
    }
}

#[test]
fn a_realm_nobody_answers() {
    // regent's realm (and the registry's) is a closed port: the registry accepts tokens regent
    // signs, but clients cannot get any.
    let realm = format!("http://127.0.0.1:{}/token", free_port());
    let env = TestEnv::new(&realm);
    let stack = Stack::with(env, None, |_, _| {});
    let out = stack.doctor(&["--registry-user", "root"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let reachable = line(&text, "FAIL", "reachable");
    assert!(reachable.contains(&format!("GET {realm} failed from this machine")), "{reachable}");
    assert!(reachable.contains("-> fix: start regent"), "{reachable}");
    line(&text, "ok", "realm");
    line(&text, "ok", "token");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.toml").display().to_string();
    let out = doctor(&["--config", &missing]);
    assert_exit(&out, 2);

    // A realm on a closed port: the realm check fails at once.
    let (listener, realm) = bind_realm();
    drop(listener);
    let env = TestEnv::new(&realm);
    let broken = tmp.path().join("config.yml");
    std::fs::write(&broken, "auth:\n  token:\n    service: {a: 1}\n").unwrap();
    let config = env.config_path().display().to_string();
    let out = doctor(&["--config", &config, "--registry-config", &broken.display().to_string()]);
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:3:", broken.display())), "{stderr}");

    let out = doctor(&["--config", &config, "--registry-user", "regent-doctor-no-such-user"]);
    assert_exit(&out, 2);

    // A registry on htpasswd auth: one line says so instead of a failure per missing key.
    let htpasswd = tmp.path().join("htpasswd.yml");
    std::fs::write(&htpasswd, "auth:\n  htpasswd:\n    realm: basic\n    path: /etc/htpasswd\n").unwrap();
    let out = doctor(&["--config", &config, "--registry-config", &htpasswd.display().to_string()]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let auth = line(&text, "FAIL", "auth");
    assert!(auth.contains("uses auth.htpasswd, not token auth"), "{auth}");
    assert!(!text.contains("FAIL  issuer"), "{text}");
}

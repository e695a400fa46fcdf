//! `init` with a fake key generator: layout, modes, no overwrite, `--force`, the config
//! round-trip and the registry settings.

use std::cell::Cell;
use std::fs;
use std::path::Path;

use time::macros::datetime;

use super::*;
use crate::secret::Secret;

const NOW: OffsetDateTime = datetime!(2025-01-02 03:04:05 UTC);
const POLICIES: &[(&str, &str)] = &[("default.toml", "# default\n"), ("admins.toml", "# admins\n")];

/// A fake generator whose key and certificate say which call (1, 2, ...) made them.
struct FakeKeys {
    calls: Cell<u32>,
}

impl FakeKeys {
    fn new() -> Self {
        Self { calls: Cell::new(0) }
    }

    fn generate(
        &self,
        key_type: KeyType,
        common_name: &str,
        now: OffsetDateTime,
    ) -> Result<GeneratedKey, TokenError> {
        assert_eq!(now, NOW);
        self.calls.set(self.calls.get() + 1);
        let call = self.calls.get();
        Ok(GeneratedKey {
            key_pem: Secret::new(format!("KEY {call} {key_type:?} {common_name}\n")),
            cert_pem: format!("CERT {call} {key_type:?} {common_name}\n"),
        })
    }
}

fn run(opts: &InitOptions, keys: &FakeKeys) -> Result<InitReport, InitError> {
    init_with_key_generator(opts, POLICIES, NOW, &|kind, name, now| keys.generate(kind, name, now))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn writes_every_file_with_its_mode() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let opts = InitOptions { key_type: KeyType::Ec, ..InitOptions::new(&dir) };
    let report = run(&opts, &FakeKeys::new()).unwrap();

    assert_eq!(report.dir, dir);
    assert_eq!(fs::read_to_string(dir.join("keys/token.key")).unwrap(), "KEY 1 Ec regent\n");
    assert_eq!(fs::read_to_string(dir.join("keys/token.crt")).unwrap(), "CERT 1 Ec regent\n");
    assert_eq!(fs::read_to_string(dir.join("htpasswd")).unwrap(), HTPASSWD_TEXT);
    assert_eq!(fs::read_to_string(dir.join("groups")).unwrap(), GROUPS_TEXT);
    assert!(GROUPS_TEXT.contains("\n# admins:"));
    assert!(HTPASSWD_TEXT.lines().all(|line| line.starts_with('#')));
    assert!(HTPASSWD_TEXT.contains("regent passwd"));
    assert_eq!(fs::read_to_string(dir.join("policies/admins.toml")).unwrap(), "# admins\n");
    assert_eq!(fs::read_to_string(dir.join("policies/default.toml")).unwrap(), "# default\n");
    assert_eq!(report.written.len(), 6);
    assert!(report.kept.is_empty());
    // No temporary files are left behind.
    let mut names: Vec<_> =
        fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["groups", "htpasswd", "keys", "policies", "regent.toml"]);

    #[cfg(unix)]
    for (path, expected) in [
        ("keys/token.key", 0o600),
        ("keys/token.crt", 0o644),
        ("htpasswd", 0o600),
        ("groups", 0o644),
        ("regent.toml", 0o644),
        ("keys", 0o700),
    ] {
        assert_eq!(mode(&dir.join(path)), expected, "{path}");
    }
}

#[test]
fn generated_config_round_trips_through_config_parse() {
    let temp = tempfile::tempdir().unwrap();
    let opts = InitOptions {
        service: "registry.example.com".into(),
        issuer: "regent \"prod\"".into(),
        realm: "https://auth.example.com/token".into(),
        listen: "[::1]:6000".parse().unwrap(),
        ..InitOptions::new(temp.path())
    };
    let report = run(&opts, &FakeKeys::new()).unwrap();
    let config = Config::load(&report.config).unwrap();
    assert_eq!(config.token.service, opts.service);
    assert_eq!(config.token.issuer, opts.issuer);
    assert_eq!(config.token.realm, opts.realm);
    let key_directory = config.token.key_directory.as_deref().unwrap();
    assert_eq!(report.key.parent(), Some(key_directory));
    assert_eq!(report.certificate.parent(), Some(key_directory));
    assert_eq!(config.policy.directory, report.policies);
    assert_eq!(config.listen[0].address, opts.listen);
    assert!(matches!(
        &config.authn[0].backend,
        crate::config::BackendConfig::Htpasswd { file, groups: Some(groups), .. }
            if *file == report.htpasswd && *groups == report.groups
    ));
    // Relative paths, so the directory can move.
    assert!(!fs::read_to_string(&report.config).unwrap().contains(&*temp.path().to_string_lossy()));
}

#[test]
fn default_realm_matches_the_default_listener() {
    let opts = InitOptions::default();
    assert_eq!(opts.realm, "http://127.0.0.1:5001/token");
    assert_eq!(opts.realm, default_realm(opts.listen));
    assert_eq!((opts.service.as_str(), opts.issuer.as_str()), ("registry.local", "regent"));
}

#[test]
fn existing_key_is_not_overwritten_without_force() {
    let temp = tempfile::tempdir().unwrap();
    let opts = InitOptions::new(temp.path());
    run(&opts, &FakeKeys::new()).unwrap();
    let key_before = fs::read(temp.path().join(KEY_FILE)).unwrap();

    let keys = FakeKeys::new();
    let error = run(&opts, &keys).unwrap_err();
    assert!(matches!(error, InitError::KeyExists { .. }));
    assert!(error.to_string().contains("use --force"));
    assert_eq!(keys.calls.get(), 0, "no key is generated");
    assert_eq!(fs::read(temp.path().join(KEY_FILE)).unwrap(), key_before);
}

#[test]
fn force_replaces_key_and_config_but_keeps_users_and_policies() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    run(&InitOptions::new(dir), &FakeKeys::new()).unwrap();
    fs::write(dir.join("htpasswd"), "alice:$2y$hash\n").unwrap();
    fs::write(dir.join("groups"), "admins: alice\n").unwrap();
    fs::write(dir.join("policies/mine.toml"), "# mine\n").unwrap();

    let keys = FakeKeys::new();
    keys.calls.set(1);
    let opts = InitOptions { force: true, service: "other.local".into(), ..InitOptions::new(dir) };
    let report = run(&opts, &keys).unwrap();
    assert_eq!(fs::read_to_string(dir.join(KEY_FILE)).unwrap(), "KEY 2 Rsa regent\n");
    assert_eq!(fs::read_to_string(dir.join(CERTIFICATE_FILE)).unwrap(), "CERT 2 Rsa regent\n");
    assert_eq!(report.service, "other.local");
    assert_eq!(fs::read_to_string(dir.join("htpasswd")).unwrap(), "alice:$2y$hash\n");
    assert_eq!(fs::read_to_string(dir.join("groups")).unwrap(), "admins: alice\n");
    assert!(dir.join("policies/mine.toml").exists());
    assert_eq!(report.kept, [report.htpasswd.clone(), report.groups.clone(), report.policies.clone()]);
}

#[test]
fn existing_config_is_kept_and_describes_the_report() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let mine = InitOptions { service: "mine.local".into(), ..InitOptions::new(dir) };
    fs::write(dir.join(CONFIG_FILE_NAME), config_text(&mine)).unwrap();
    let report = run(&InitOptions::new(dir), &FakeKeys::new()).unwrap();
    assert_eq!(report.service, "mine.local");
    assert!(report.kept.contains(&report.config));
    assert!(dir.join(KEY_FILE).exists());
}

#[test]
fn broken_existing_config_is_an_error_without_force() {
    let temp = tempfile::tempdir().unwrap();
    fs::write(temp.path().join(CONFIG_FILE_NAME), "[token\n").unwrap();
    let error = run(&InitOptions::new(temp.path()), &FakeKeys::new()).unwrap_err();
    assert!(matches!(error, InitError::ExistingConfig(_)));
    assert!(error.to_string().contains("regent.toml:1:"), "{error}");
    assert!(!temp.path().join(KEY_FILE).exists());
}

#[test]
fn policies_are_written_only_when_the_directory_is_absent() {
    let temp = tempfile::tempdir().unwrap();
    fs::create_dir(temp.path().join(POLICY_DIR)).unwrap();
    let report = run(&InitOptions::new(temp.path()), &FakeKeys::new()).unwrap();
    assert_eq!(fs::read_dir(&report.policies).unwrap().count(), 0);
    assert!(report.kept.contains(&report.policies));
}

#[test]
fn bad_options_are_refused_before_anything_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let cases = [
        (InitOptions { realm: "127.0.0.1:5001/token".into(), ..InitOptions::new(&dir) }, "realm"),
        (InitOptions { service: String::new(), ..InitOptions::new(&dir) }, "service must not be empty"),
    ];
    for (opts, expected) in cases {
        let error = run(&opts, &FakeKeys::new()).unwrap_err();
        assert!(matches!(error, InitError::InvalidOption { .. }));
        assert!(error.to_string().contains(expected), "{error}");
    }
    for name in ["../evil", "tests/../evil", "tests/", "other/x.toml", "tests/a/b.toml", "tests/.x"] {
        let error = init_with_key_generator(&InitOptions::new(&dir), &[(name, "")], NOW, &|_, _, _| {
            unreachable!("no key is generated")
        })
        .unwrap_err();
        assert!(matches!(error, InitError::PolicyFileName { .. }), "{name}");
        assert!(!dir.exists());
    }
}

#[test]
fn registry_settings_use_absolute_paths() {
    let temp = tempfile::tempdir().unwrap();
    let report = run(&InitOptions::new(temp.path()), &FakeKeys::new()).unwrap();
    let bundle = temp.path().join("keys/token.crt");
    assert!(bundle.is_absolute());
    assert_eq!(
        report.registry_snippet(),
        format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:5001/token\n    service: registry.local\n    issuer: regent\n    rootcertbundle: {}\n",
            bundle.display()
        )
    );
    assert_eq!(
        report.registry_env(),
        format!(
            "REGISTRY_AUTH_TOKEN_REALM=http://127.0.0.1:5001/token\nREGISTRY_AUTH_TOKEN_SERVICE=registry.local\nREGISTRY_AUTH_TOKEN_ISSUER=regent\nREGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE={}\n",
            bundle.display()
        )
    );
}

#[test]
fn commented_backend_and_log_examples_parse_when_uncommented() {
    let temp = tempfile::tempdir().unwrap();
    let text = templates::config_text(&InitOptions::new(temp.path()));
    let mut uncommented = String::new();
    let mut in_example = false;
    for line in text.lines() {
        in_example = (in_example && !line.trim().is_empty()) || line == "# [[authn]]" || line == "# [log]";
        match line.strip_prefix("# ") {
            Some(rest) if in_example => uncommented.push_str(rest),
            _ => uncommented.push_str(line),
        }
        uncommented.push('\n');
    }
    fs::write(temp.path().join("ldap-password"), "pw\n").unwrap();
    let path = temp.path().join("regent.toml");
    fs::write(&path, &uncommented).unwrap();
    let config = Config::load(&path).unwrap_or_else(|error| panic!("{error}\n{uncommented}"));
    let kinds: Vec<&str> = config
        .authn
        .iter()
        .map(|authn| match authn.backend {
            crate::config::BackendConfig::Htpasswd { .. } => "htpasswd",
            crate::config::BackendConfig::Ldap { .. } => "ldap",
            crate::config::BackendConfig::Http { .. } => "http",
        })
        .collect();
    assert_eq!(kinds, ["htpasswd", "ldap", "http"]);
    let crate::config::BackendConfig::Ldap { config: ldap } = &config.authn[1].backend else {
        panic!("not ldap")
    };
    assert_eq!(ldap.login_attribute, "uid", "the identity is the entry's uid, not the typed name");
    assert_eq!(config.log.format, crate::config::LogFormat::Json);
    assert_eq!(config.log.audit_file, Some(temp.path().join("audit.log")));
}

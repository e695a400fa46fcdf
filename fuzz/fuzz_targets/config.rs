//! `regent.toml`, read as `/fuzz/regent.toml` (the LDAP `bind_password_env` variable
//! `FUZZ_PASSWORD` is set; every other is unset).
//!
//! Invariants: an error names the file and a position in it; a valid config keeps what
//! validation promises: the token lifetime is at least the minimum, backend names are unique,
//! listen addresses distinct, bcrypt costs within 4..=31, and every file path is absolute
//! (relative ones resolve against `/fuzz`).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use regent::config::{BackendConfig, Config, ConfigError, MIN_TOKEN_TTL};
use regent_fuzz::assert_position_in;

const PATH: &str = "/fuzz/regent.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| (name == "FUZZ_PASSWORD").then(|| "fuzz-password".to_owned());
    match Config::parse_with_env(text, Path::new(PATH), &env) {
        Ok(config) => check_config(&config),
        Err(ConfigError::Invalid { path, line, column, message }) => {
            assert_eq!(path, Path::new(PATH));
            assert_position_in(text, line, column, &message);
        }
        Err(error) => panic!("parsing text finds no file: {error}"),
    }
});

fn check_config(config: &Config) {
    assert_eq!(config.path, Path::new(PATH));
    assert!(config.token.ttl >= MIN_TOKEN_TTL, "{:?}", config.token.ttl);
    let mut paths = vec![&config.policy.directory, &config.refresh.revocations];
    paths.extend(&config.token.key_directory);
    paths.extend(&config.log.audit_file);
    for keys in &config.token.keys {
        paths.extend([&keys.key, &keys.certificate]);
    }
    for (at, backend) in config.authn.iter().enumerate() {
        assert!(!backend.name.is_empty(), "{backend:?}");
        assert!(config.authn[..at].iter().all(|other| other.name != backend.name), "{} twice", backend.name);
        match &backend.backend {
            BackendConfig::Htpasswd { file, groups, max_bcrypt_cost, .. } => {
                assert!((4..=31).contains(max_bcrypt_cost), "{max_bcrypt_cost}");
                paths.push(file);
                paths.extend(groups);
            }
            BackendConfig::Ldap { config } => paths.extend(&config.ca_file),
            BackendConfig::Http { config } => paths.extend(&config.ca_file),
            BackendConfig::Tokens { file } => paths.push(file),
            BackendConfig::Oidc { config } => {
                paths.extend(&config.ca_file);
                if let regent::config::JwksSource::File(file) = &config.jwks {
                    paths.push(file);
                }
            }
        }
    }
    for (at, listen) in config.listen.iter().enumerate() {
        assert!(
            config.listen[..at].iter().all(|other| other.address != listen.address),
            "{}",
            listen.address
        );
        if let Some(tls) = &listen.tls {
            paths.extend([&tls.certificate, &tls.key]);
            for sni in &tls.sni {
                paths.extend([&sni.certificate, &sni.key]);
            }
        }
    }
    for path in paths {
        assert!(path.is_absolute(), "{}", path.display());
    }
}

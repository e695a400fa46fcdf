//! The few settings of the registry's `config.yml` the doctor compares with regent's, and the
//! `REGISTRY_*` environment variables that override them (the environment wins, as in the
//! registry).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors reading the registry's configuration.
#[derive(Debug, thiserror::Error)]
pub enum RegistryConfigError {
    /// The file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not YAML of the expected shape.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the parser gave none).
        line: usize,
        /// 1-based column (0 when the parser gave none).
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// `config.yml` as far as the doctor reads it; every other key is ignored.
#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    /// `http:`.
    http: Option<FileHttp>,
    /// `auth:`: one access controller (`token`, `htpasswd`, `silly`) with its parameters.
    auth: Option<BTreeMap<String, Option<FileToken>>>,
}

/// `http:`.
#[derive(Debug, Default, Deserialize)]
struct FileHttp {
    /// `http.addr`.
    addr: Option<String>,
    /// `http.tls`.
    tls: Option<FileTls>,
}

/// `http.tls`.
#[derive(Debug, Default, Deserialize)]
struct FileTls {
    /// The registry's TLS certificate.
    certificate: Option<String>,
    /// Its private key.
    key: Option<String>,
}

/// `auth.token` (the parameters of other controllers land here too and are ignored).
#[derive(Debug, Default, Deserialize)]
struct FileToken {
    /// `auth.token.realm`.
    realm: Option<String>,
    /// `auth.token.service`.
    service: Option<String>,
    /// `auth.token.issuer`.
    issuer: Option<String>,
    /// `auth.token.rootcertbundle`.
    rootcertbundle: Option<String>,
    /// `auth.token.jwks` (registry 3).
    jwks: Option<String>,
}

/// What the registry will run with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySettings {
    /// Where the settings came from (`config.yml`'s path, the environment, or both).
    pub source: String,
    /// `auth.token.realm`.
    pub realm: Option<String>,
    /// `auth.token.service`.
    pub service: Option<String>,
    /// `auth.token.issuer`.
    pub issuer: Option<String>,
    /// `auth.token.rootcertbundle`.
    pub rootcertbundle: Option<PathBuf>,
    /// `auth.token.jwks` (registry 3).
    pub jwks: Option<PathBuf>,
    /// The access controllers other than `token` under `auth:` (`htpasswd`, `silly`).
    pub other_auth: Vec<String>,
    /// `http.addr`.
    pub addr: Option<String>,
    /// `http.tls.certificate`: the registry serves HTTPS when set.
    pub tls_certificate: Option<PathBuf>,
    /// `http.tls.key`.
    pub tls_key: Option<PathBuf>,
}

impl RegistrySettings {
    /// Reads `config.yml` at `path`.
    pub fn load(path: &Path) -> Result<Self, RegistryConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| RegistryConfigError::Io { path: path.to_path_buf(), error })?;
        Self::parse(&text, path)
    }

    /// Parses `config.yml` text read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, RegistryConfigError> {
        let file: FileConfig = if text.trim().is_empty() {
            FileConfig::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|error| {
                let (line, column) = error.location().map_or((0, 0), |at| (at.line(), at.column()));
                RegistryConfigError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: error.to_string(),
                }
            })?
        };
        let mut auth = file.auth.unwrap_or_default();
        let token = auth.remove("token").flatten().unwrap_or_default();
        let http = file.http.unwrap_or_default();
        let tls = http.tls.unwrap_or_default();
        Ok(Self {
            source: path.display().to_string(),
            realm: token.realm,
            service: token.service,
            issuer: token.issuer,
            rootcertbundle: token.rootcertbundle.map(PathBuf::from),
            jwks: token.jwks.map(PathBuf::from),
            other_auth: auth.into_keys().collect(),
            addr: http.addr,
            tls_certificate: tls.certificate.map(PathBuf::from),
            tls_key: tls.key.map(PathBuf::from),
        })
    }

    /// Applies the `REGISTRY_AUTH_TOKEN_*`, `REGISTRY_HTTP_ADDR` and `REGISTRY_HTTP_TLS_*`
    /// variables `env` holds over the file's values, as the registry does; returns whether any
    /// was set.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        let mut applied = false;
        let mut set = |name: &str, field: &mut Option<String>| {
            if let Some(value) = env(name) {
                *field = Some(value);
                applied = true;
            }
        };
        set("REGISTRY_AUTH_TOKEN_REALM", &mut self.realm);
        set("REGISTRY_AUTH_TOKEN_SERVICE", &mut self.service);
        set("REGISTRY_AUTH_TOKEN_ISSUER", &mut self.issuer);
        set("REGISTRY_HTTP_ADDR", &mut self.addr);
        let mut paths = [
            ("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", &mut self.rootcertbundle),
            ("REGISTRY_AUTH_TOKEN_JWKS", &mut self.jwks),
            ("REGISTRY_HTTP_TLS_CERTIFICATE", &mut self.tls_certificate),
            ("REGISTRY_HTTP_TLS_KEY", &mut self.tls_key),
        ];
        for (name, field) in &mut paths {
            if let Some(value) = env(name) {
                **field = Some(PathBuf::from(value));
                applied = true;
            }
        }
        if applied {
            self.source = if self.source.is_empty() {
                "the REGISTRY_* environment".to_owned()
            } else {
                format!("{} and the REGISTRY_* environment", self.source)
            };
        }
        applied
    }

    /// The files the registry reads for token auth and TLS, each with its setting's name.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        [
            ("auth.token.rootcertbundle", &self.rootcertbundle),
            ("auth.token.jwks", &self.jwks),
            ("http.tls.certificate", &self.tls_certificate),
            ("http.tls.key", &self.tls_key),
        ]
        .into_iter()
        .filter_map(|(name, path)| path.as_deref().map(|path| (name, path)))
        .collect()
    }

    /// The URL the registry serves on this machine, from `http.addr` (`:5000` and
    /// `0.0.0.0:5000` become `127.0.0.1:5000`); https when `http.tls` is set.
    pub fn local_url(&self) -> Option<String> {
        let addr = self.addr.as_deref()?.trim();
        let (host, port) = addr.rsplit_once(':')?;
        let host = match host {
            "" | "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            other => other,
        };
        let scheme = if self.tls_certificate.is_some() { "https" } else { "http" };
        Some(format!("{scheme}://{host}:{port}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n\
http:\n  addr: :5000\n  headers:\n    X-Content-Type-Options: [nosniff]\n\
auth:\n  token:\n    realm: \"https://auth.example.com/token\"\n    service: registry.local\n    issuer: regent\n    rootcertbundle: /etc/docker/registry/regent.crt\n    autoredirect: false\n";

    #[test]
    fn reads_the_token_settings_and_ignores_the_rest() {
        let settings = RegistrySettings::parse(CONFIG, Path::new("/etc/docker/registry/config.yml")).unwrap();
        assert_eq!(settings.realm.as_deref(), Some("https://auth.example.com/token"));
        assert_eq!(settings.service.as_deref(), Some("registry.local"));
        assert_eq!(settings.issuer.as_deref(), Some("regent"));
        assert_eq!(settings.rootcertbundle.as_deref(), Some(Path::new("/etc/docker/registry/regent.crt")));
        assert_eq!(settings.jwks, None);
        assert!(settings.other_auth.is_empty());
        assert_eq!(settings.local_url().as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(settings.files().len(), 1);
    }

    #[test]
    fn the_environment_wins() {
        let mut settings = RegistrySettings::parse(CONFIG, Path::new("config.yml")).unwrap();
        let env = |name: &str| match name {
            "REGISTRY_AUTH_TOKEN_ISSUER" => Some("other".to_owned()),
            "REGISTRY_AUTH_TOKEN_JWKS" => Some("/etc/jwks.json".to_owned()),
            "REGISTRY_HTTP_ADDR" => Some("127.0.0.1:5443".to_owned()),
            "REGISTRY_HTTP_TLS_CERTIFICATE" => Some("/etc/tls.crt".to_owned()),
            _ => None,
        };
        assert!(settings.apply_env(&env));
        assert_eq!(settings.issuer.as_deref(), Some("other"));
        assert_eq!(settings.service.as_deref(), Some("registry.local"));
        assert_eq!(settings.jwks.as_deref(), Some(Path::new("/etc/jwks.json")));
        assert_eq!(settings.local_url().as_deref(), Some("https://127.0.0.1:5443"));
        assert_eq!(settings.source, "config.yml and the REGISTRY_* environment");

        let mut from_env_only = RegistrySettings::default();
        assert!(!from_env_only.apply_env(&|_| None));
        assert!(from_env_only.apply_env(&env));
        assert_eq!(from_env_only.source, "the REGISTRY_* environment");
    }

    #[test]
    fn other_access_controllers_and_errors() {
        let htpasswd = "auth:\n  htpasswd:\n    realm: basic\n    path: /etc/htpasswd\n";
        let settings = RegistrySettings::parse(htpasswd, Path::new("c.yml")).unwrap();
        assert_eq!(settings.other_auth, ["htpasswd"]);
        assert_eq!(settings.service, None);

        let error = RegistrySettings::parse("auth:\n  token: [1, 2\n", Path::new("c.yml")).unwrap_err();
        assert!(error.to_string().starts_with("c.yml:"), "{error}");
        let error = RegistrySettings::parse("auth:\n  token:\n    service: {a: 1}\n", Path::new("c.yml"))
            .unwrap_err();
        assert!(error.to_string().starts_with("c.yml:3:"), "{error}");
    }
}

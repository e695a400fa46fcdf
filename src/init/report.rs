//! [`InitReport`]: what `regent init` wrote, and the registry settings that go with it.

use std::path::PathBuf;

/// What `regent init` did, with absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The data directory.
    pub dir: PathBuf,
    /// `regent.toml`.
    pub config: PathBuf,
    /// The signing key.
    pub key: PathBuf,
    /// The signing key's certificate.
    pub certificate: PathBuf,
    /// The htpasswd file.
    pub htpasswd: PathBuf,
    /// The AuthGroupFile.
    pub groups: PathBuf,
    /// The policy directory.
    pub policies: PathBuf,
    /// Files and directories written by this run.
    pub written: Vec<PathBuf>,
    /// Files and directories that existed and were left as they were.
    pub kept: Vec<PathBuf>,
    /// The registry's `auth.token.service`, as the config in place says.
    pub service: String,
    /// The registry's `auth.token.issuer`, as the config in place says.
    pub issuer: String,
    /// The registry's `auth.token.realm`, as the config in place says.
    pub realm: String,
    /// The registry's `auth.token.rootcertbundle`: the first configured certificate.
    pub root_cert_bundle: PathBuf,
    /// The TLS files and the trust commands, with `--host`.
    pub tls: Option<super::TlsReport>,
    /// What else the run did or the operator must do (e.g. a config that was edited).
    pub notes: Vec<String>,
}

impl InitReport {
    /// The `auth:` section of the registry's `config.yml`.
    pub fn registry_snippet(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            yaml_scalar(&self.realm),
            yaml_scalar(&self.service),
            yaml_scalar(&self.issuer),
            yaml_scalar(&self.root_cert_bundle.to_string_lossy()),
        )
    }

    /// The same settings as the registry's environment variables, one `NAME=value` line each.
    pub fn registry_env(&self) -> String {
        format!(
            "REGISTRY_AUTH_TOKEN_REALM={}\nREGISTRY_AUTH_TOKEN_SERVICE={}\nREGISTRY_AUTH_TOKEN_ISSUER={}\nREGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE={}\n",
            self.realm,
            self.service,
            self.issuer,
            self.root_cert_bundle.display(),
        )
    }
}

impl std::fmt::Display for InitReport {
    /// What `regent init` prints: the files, the registry's settings and the next steps.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "regent data directory: {}", self.dir.display())?;
        for path in &self.written {
            writeln!(f, "  wrote {}", path.display())?;
        }
        for path in &self.kept {
            writeln!(f, "  kept  {}", path.display())?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        writeln!(f, "\nFor the registry's config.yml:\n\n{}", self.registry_snippet())?;
        writeln!(f, "or as environment variables:\n\n{}", self.registry_env())?;
        if let Some(tls) = &self.tls {
            writeln!(f, "{tls}")?;
        }
        writeln!(f, "Next:")?;
        writeln!(f, "  regent passwd --config {} USER", self.config.display())?;
        write!(f, "  regent serve --config {}", self.config.display())
    }
}

/// `value` as a YAML scalar: plain when that reads back unchanged, else double-quoted (a JSON
/// string is a valid YAML double-quoted scalar).
fn yaml_scalar(value: &str) -> String {
    let plain_char = |c: char| c.is_ascii_alphanumeric() || "._/:@%+=?&~-".contains(c);
    let plain = value.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/')
        && value.chars().all(plain_char)
        && !value.ends_with(':')
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && value.parse::<f64>().is_err();
    if plain { value.to_owned() } else { serde_json::Value::String(value.to_owned()).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_are_plain_only_when_safe() {
        let cases = [
            ("http://127.0.0.1:5001/token", "http://127.0.0.1:5001/token"),
            ("registry.local", "registry.local"),
            ("/srv/regent/keys/token.crt", "/srv/regent/keys/token.crt"),
            ("my issuer", "\"my issuer\""),
            ("yes", "\"yes\""),
            ("1.5", "\"1.5\""),
            ("key:", "\"key:\""),
            ("#x", "\"#x\""),
            ("a\"b", "\"a\\\"b\""),
        ];
        for (value, expected) in cases {
            assert_eq!(yaml_scalar(value), expected, "{value:?}");
        }
    }
}

//! [`TlsReport`]: the TLS files `regent init --host` wrote or kept, and the commands that make
//! docker, podman and skopeo trust the local CA.

use std::path::{Path, PathBuf};

use x509_parser::extensions::GeneralName;

use super::tls::TlsHost;

/// The TLS part of `regent init`'s report, with absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    /// The `--host` names, as clients write them before `:PORT`.
    pub hosts: Vec<String>,
    /// The port of the TLS listener (the `:PORT` of the certs.d directories).
    pub port: u16,
    /// The local CA's certificate, when there is one (a certificate from a real CA may come
    /// without it).
    pub ca_certificate: Option<PathBuf>,
    /// The server certificate.
    pub server_certificate: PathBuf,
    /// The server certificate's key.
    pub server_key: PathBuf,
    /// Hosts that a kept server certificate does not name (clients will refuse it for them).
    pub uncovered_hosts: Vec<String>,
}

impl TlsReport {
    /// The registry name clients use for `host`: `HOST:PORT`, or `HOST` alone on port 443.
    pub fn registry_name(&self, host: &str) -> String {
        if self.port == 443 { host.to_owned() } else { format!("{host}:{}", self.port) }
    }

    /// One `install` command per host and client family that puts `ca.crt` where docker
    /// (`/etc/docker/certs.d/HOST:PORT/ca.crt`) and podman/skopeo/buildah
    /// (`/etc/containers/certs.d/HOST:PORT/ca.crt`) look for it. Empty without a CA certificate.
    pub fn install_commands(&self) -> Vec<String> {
        let Some(ca) = &self.ca_certificate else {
            return Vec::new();
        };
        let source = shell_word(&ca.to_string_lossy());
        let mut commands = Vec::new();
        for host in self.hosts.iter().filter(|host| !host.starts_with('*')) {
            let name = self.registry_name(host);
            for root in ["/etc/docker/certs.d", "/etc/containers/certs.d"] {
                let target = shell_word(&format!("{root}/{name}/ca.crt"));
                commands.push(format!("sudo install -D -m 0644 {source} {target}"));
            }
        }
        commands
    }
}

impl std::fmt::Display for TlsReport {
    /// The certificate files and the trust commands, as `regent init` prints them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "TLS certificate for {}: {}", self.hosts.join(", "), self.server_certificate.display())?;
        for host in &self.uncovered_hosts {
            writeln!(
                f,
                "  warning: the existing certificate does not name {host}; clients will refuse it \
                 there (replace it, or use --force for a new local CA)"
            )?;
        }
        let commands = self.install_commands();
        if commands.is_empty() {
            return writeln!(f, "  no local CA: clients must already trust the certificate's issuer");
        }
        writeln!(f, "Make docker and podman/skopeo trust the local CA (on every client machine):\n")?;
        for command in commands {
            writeln!(f, "  {command}")?;
        }
        Ok(())
    }
}

/// `hosts` that the PEM certificate in `path` does not name in its subject alternative names;
/// empty when the file cannot be read or parsed (the server reports that when it loads it).
pub(crate) fn hosts_not_named(path: &Path, hosts: &[TlsHost]) -> Vec<String> {
    let Ok(text) = std::fs::read(path) else {
        return Vec::new();
    };
    let Some(block) = pem::parse_many(&text).ok().and_then(|blocks| blocks.into_iter().next()) else {
        return Vec::new();
    };
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(block.contents()) else {
        return Vec::new();
    };
    let Ok(Some(sans)) = certificate.subject_alternative_name() else {
        return hosts.iter().map(ToString::to_string).collect();
    };
    let names = &sans.value.general_names;
    hosts
        .iter()
        .filter(|host| !names.iter().any(|name| san_names(name, host)))
        .map(ToString::to_string)
        .collect()
}

/// Whether one SAN entry names `host` (a `*.` wildcard covers exactly one label).
fn san_names(name: &GeneralName<'_>, host: &TlsHost) -> bool {
    match (name, host) {
        (GeneralName::DNSName(san), TlsHost::Dns(host)) => {
            let san = san.to_ascii_lowercase();
            match san.strip_prefix("*.") {
                Some(suffix) => host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && label != "*" && rest == suffix),
                None => san == *host,
            }
        }
        (GeneralName::IPAddress(bytes), TlsHost::Ip(ip)) => match ip {
            std::net::IpAddr::V4(v4) => *bytes == v4.octets().as_slice(),
            std::net::IpAddr::V6(v6) => *bytes == v6.octets().as_slice(),
        },
        _ => false,
    }
}

/// `word` for a POSIX shell: as it is when that is safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-:+=@%,[]".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        let cases = [
            ("/srv/regent/certs/ca.crt", "/srv/regent/certs/ca.crt"),
            ("/etc/docker/certs.d/[::1]:5443/ca.crt", "/etc/docker/certs.d/[::1]:5443/ca.crt"),
            ("/home/me/my data/ca.crt", "'/home/me/my data/ca.crt'"),
            ("/tmp/it's/ca.crt", r"'/tmp/it'\''s/ca.crt'"),
            ("", "''"),
        ];
        for (word, expected) in cases {
            assert_eq!(shell_word(word), expected, "{word:?}");
        }
    }

    #[test]
    fn install_commands_name_every_host_and_both_client_families() {
        let report = TlsReport {
            hosts: vec!["registry.example.com".into(), "127.0.0.1".into(), "*.example.com".into()],
            port: 5443,
            ca_certificate: Some(PathBuf::from("/srv/regent/certs/ca.crt")),
            server_certificate: PathBuf::from("/srv/regent/certs/server.crt"),
            server_key: PathBuf::from("/srv/regent/certs/server.key"),
            uncovered_hosts: Vec::new(),
        };
        let ca = "/srv/regent/certs/ca.crt";
        assert_eq!(
            report.install_commands(),
            [
                format!("sudo install -D -m 0644 {ca} /etc/docker/certs.d/registry.example.com:5443/ca.crt"),
                format!(
                    "sudo install -D -m 0644 {ca} /etc/containers/certs.d/registry.example.com:5443/ca.crt"
                ),
                format!("sudo install -D -m 0644 {ca} /etc/docker/certs.d/127.0.0.1:5443/ca.crt"),
                format!("sudo install -D -m 0644 {ca} /etc/containers/certs.d/127.0.0.1:5443/ca.crt"),
            ]
        );
        let on_443 = TlsReport { port: 443, ..report.clone() };
        assert!(on_443.install_commands()[0].ends_with(" /etc/docker/certs.d/registry.example.com/ca.crt"));
        let without_ca = TlsReport { ca_certificate: None, ..report };
        assert!(without_ca.install_commands().is_empty());
        assert!(without_ca.to_string().contains("no local CA"));
    }
}

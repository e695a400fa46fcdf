//! The local CA and server certificate: host parsing, SANs, the CA's signature (checked by
//! rustls' own verifier), files and modes, and that existing certificates are never replaced
//! without `--force`.

use std::fs;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::macros::datetime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;
use crate::init::{InitOptions, init};

const NOW: OffsetDateTime = datetime!(2025-01-02 03:04:05 UTC);

fn hosts(names: &[&str]) -> Vec<TlsHost> {
    names.iter().map(|name| TlsHost::parse(name).unwrap()).collect()
}

fn der(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).unwrap().into_contents()
}

/// rustls' verdict on `server_pem` for `name`, trusting only `ca_pem`, at `now`.
fn verify(ca_pem: &str, server_pem: &str, name: &str, now: OffsetDateTime) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(der(ca_pem))).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.unix_timestamp().unsigned_abs()));
    let server = CertificateDer::from(der(server_pem));
    let name = ServerName::try_from(name.to_owned()).unwrap();
    verifier.verify_server_cert(&server, &[], &name, &[], at).map(|_| ())
}

#[test]
fn hosts_parse_as_dns_names_or_ip_addresses() {
    let cases: &[(&str, Option<TlsHost>)] = &[
        ("registry.example.com", Some(TlsHost::Dns("registry.example.com".into()))),
        ("Registry.Example.COM.", Some(TlsHost::Dns("registry.example.com".into()))),
        ("localhost", Some(TlsHost::Dns("localhost".into()))),
        ("*.example.com", Some(TlsHost::Dns("*.example.com".into()))),
        ("127.0.0.1", Some(TlsHost::Ip("127.0.0.1".parse().unwrap()))),
        ("::1", Some(TlsHost::Ip("::1".parse().unwrap()))),
        ("[::1]", Some(TlsHost::Ip("::1".parse().unwrap()))),
        ("registry.example.com:5443", None),
        ("https://registry.example.com", None),
        ("", None),
        ("a..b", None),
        ("-a.example.com", None),
        ("under_score.example.com", None),
        ("*.com", None),
        ("a.*.example.com", None),
        ("new\nline", None),
    ];
    for (text, expected) in cases {
        match expected {
            Some(host) => assert_eq!(TlsHost::parse(text).unwrap(), *host, "{text:?}"),
            None => {
                let error = TlsHost::parse(text).unwrap_err();
                assert!(error.to_string().contains("--host"), "{text:?}: {error}");
            }
        }
    }
    assert_eq!(TlsHost::parse("::1").unwrap().to_string(), "[::1]");
}

#[test]
fn server_certificate_names_every_host_and_is_signed_by_the_ca() {
    let names = ["registry.example.com", "127.0.0.1", "::1"];
    let generated = generate_tls(&hosts(&names), NOW).unwrap();
    assert!(generated.ca_key_pem.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(generated.server_key_pem.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(generated.server_cert_pem.matches("BEGIN CERTIFICATE").count(), 1, "leaf only");

    let ca_der = der(&generated.ca_cert_pem);
    let server_der = der(&generated.server_cert_pem);
    let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
    let (_, server) = X509Certificate::from_der(&server_der).unwrap();
    assert!(ca.is_ca());
    assert!(!server.is_ca());
    assert_eq!(server.issuer(), ca.subject());
    assert_eq!(server.validity().not_before.to_datetime(), NOW - BACKDATE);
    assert_eq!(server.validity().not_after.to_datetime(), NOW + SERVER_VALIDITY);
    assert_eq!(ca.validity().not_after.to_datetime(), NOW + CA_VALIDITY);
    let sans: Vec<String> = server
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => format!("dns:{dns}"),
            GeneralName::IPAddress(bytes) => format!("ip:{}", bytes.len()),
            other => format!("other:{other:?}"),
        })
        .collect();
    assert_eq!(sans, ["dns:registry.example.com", "ip:4", "ip:16"]);
    assert!(server.extended_key_usage().unwrap().unwrap().value.server_auth);

    for name in names {
        verify(&generated.ca_cert_pem, &generated.server_cert_pem, name, NOW).unwrap();
    }
    let wrong_name = verify(&generated.ca_cert_pem, &generated.server_cert_pem, "other.example.com", NOW);
    assert!(wrong_name.is_err(), "a name outside the SANs is refused");
    let other_ca = generate_tls(&hosts(&["registry.example.com"]), NOW).unwrap();
    let wrong_ca = verify(&other_ca.ca_cert_pem, &generated.server_cert_pem, "registry.example.com", NOW);
    assert!(wrong_ca.is_err(), "another CA does not vouch for it");
    let expired =
        verify(&generated.ca_cert_pem, &generated.server_cert_pem, "127.0.0.1", NOW + Duration::days(826));
    assert!(expired.is_err());
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn opts_with_hosts(dir: &std::path::Path, names: &[&str]) -> InitOptions {
    InitOptions {
        hosts: names.iter().map(|name| (*name).to_owned()).collect(),
        key_type: crate::token::KeyType::Ec,
        ..InitOptions::new(dir)
    }
}

#[test]
fn init_with_hosts_writes_the_certificates_and_a_tls_listener() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let report = init(&opts_with_hosts(dir, &["registry.example.com", "127.0.0.1"]), &[], NOW).unwrap();
    let tls = report.tls.clone().unwrap();
    assert_eq!(tls.server_certificate, dir.join(SERVER_CERTIFICATE_FILE));
    assert_eq!(tls.ca_certificate.as_deref(), Some(dir.join(CA_CERTIFICATE_FILE).as_path()));
    assert_eq!(tls.port, 5443);
    for name in [CA_CERTIFICATE_FILE, CA_KEY_FILE, SERVER_CERTIFICATE_FILE, SERVER_KEY_FILE] {
        assert!(report.written.contains(&dir.join(name)), "{name} is reported as written");
    }
    #[cfg(unix)]
    for (name, expected) in [
        (CA_KEY_FILE, 0o600),
        (SERVER_KEY_FILE, 0o600),
        (CA_CERTIFICATE_FILE, 0o644),
        (SERVER_CERTIFICATE_FILE, 0o644),
    ] {
        assert_eq!(mode(&dir.join(name)), expected, "{name}");
    }
    let ca = fs::read_to_string(dir.join(CA_CERTIFICATE_FILE)).unwrap();
    let server = fs::read_to_string(dir.join(SERVER_CERTIFICATE_FILE)).unwrap();
    verify(&ca, &server, "registry.example.com", NOW).unwrap();
    verify(&ca, &server, "127.0.0.1", NOW).unwrap();

    let config = fs::read_to_string(&report.config).unwrap();
    assert!(config.contains(
        "[[listen]]\naddress = \"0.0.0.0:5443\"\nupstream = \"http://127.0.0.1:5000\"\n\
         [listen.tls]\ncertificate = \"certs/server.crt\"\nkey = \"certs/server.key\"\n"
    ));
    let loaded = crate::config::Config::load(&report.config).unwrap();
    let tls_listener = loaded.listen.iter().find(|l| l.tls.is_some()).expect("a TLS listener");
    assert_eq!(tls_listener.address.to_string(), "0.0.0.0:5443");
    assert_eq!(
        tls_listener.upstream.as_ref().map(ToString::to_string).as_deref(),
        Some("http://127.0.0.1:5000/")
    );
    let printed = report.to_string();
    assert!(printed.contains("/etc/docker/certs.d/registry.example.com:5443/ca.crt"), "{printed}");
    assert!(printed.contains("/etc/containers/certs.d/127.0.0.1:5443/ca.crt"), "{printed}");
}

#[test]
fn init_without_hosts_writes_no_certificates() {
    let temp = tempfile::tempdir().unwrap();
    let report = init(&InitOptions::new(temp.path()), &[], NOW).unwrap();
    assert!(report.tls.is_none());
    assert!(!temp.path().join(CERTS_DIR).exists());
    assert!(!fs::read_to_string(&report.config).unwrap().contains("[listen.tls]"));
}

#[test]
fn existing_server_certificate_is_kept_as_it_is() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    // The operator's certificate from a real CA, naming only registry.example.com.
    let theirs = generate_tls(&hosts(&["registry.example.com"]), NOW).unwrap();
    fs::create_dir(dir.join(CERTS_DIR)).unwrap();
    fs::write(dir.join(SERVER_CERTIFICATE_FILE), &theirs.server_cert_pem).unwrap();
    fs::write(dir.join(SERVER_KEY_FILE), theirs.server_key_pem.expose()).unwrap();

    let report = init(&opts_with_hosts(dir, &["registry.example.com", "10.0.0.1"]), &[], NOW).unwrap();
    assert_eq!(fs::read_to_string(dir.join(SERVER_CERTIFICATE_FILE)).unwrap(), theirs.server_cert_pem);
    assert_eq!(fs::read_to_string(dir.join(SERVER_KEY_FILE)).unwrap(), theirs.server_key_pem.expose());
    assert!(!dir.join(CA_CERTIFICATE_FILE).exists(), "no CA is made for a kept certificate");
    assert!(!dir.join(CA_KEY_FILE).exists());
    assert!(report.kept.contains(&dir.join(SERVER_CERTIFICATE_FILE)));
    let tls = report.tls.unwrap();
    assert_eq!(tls.ca_certificate, None);
    assert_eq!(tls.uncovered_hosts, ["10.0.0.1"]);
    assert!(tls.to_string().contains("does not name 10.0.0.1"));
}

#[test]
fn force_replaces_the_certificates() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    init(&opts_with_hosts(dir, &["a.example.com"]), &[], NOW).unwrap();
    let before = fs::read_to_string(dir.join(CA_CERTIFICATE_FILE)).unwrap();
    let opts = InitOptions { force: true, ..opts_with_hosts(dir, &["b.example.com"]) };
    init(&opts, &[], NOW).unwrap();
    let ca = fs::read_to_string(dir.join(CA_CERTIFICATE_FILE)).unwrap();
    assert_ne!(ca, before);
    let server = fs::read_to_string(dir.join(SERVER_CERTIFICATE_FILE)).unwrap();
    verify(&ca, &server, "b.example.com", NOW).unwrap();
}

#[test]
fn incomplete_tls_files_are_an_error_and_nothing_is_written() {
    let cases = [
        (vec![SERVER_CERTIFICATE_FILE], SERVER_CERTIFICATE_FILE, SERVER_KEY_FILE),
        (vec![SERVER_KEY_FILE], SERVER_KEY_FILE, SERVER_CERTIFICATE_FILE),
        (vec![CA_CERTIFICATE_FILE], CA_CERTIFICATE_FILE, SERVER_CERTIFICATE_FILE),
        (vec![CA_KEY_FILE], CA_KEY_FILE, SERVER_CERTIFICATE_FILE),
    ];
    for (present, expected_present, expected_missing) in cases {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        fs::create_dir(dir.join(CERTS_DIR)).unwrap();
        for name in &present {
            fs::write(dir.join(name), "mine\n").unwrap();
        }
        let error = init(&opts_with_hosts(dir, &["registry.example.com"]), &[], NOW).unwrap_err();
        match &error {
            InitError::TlsIncomplete { present, missing } => {
                assert_eq!((present, missing), (&dir.join(expected_present), &dir.join(expected_missing)));
            }
            other => panic!("expected TlsIncomplete, got {other:?}"),
        }
        assert!(error.to_string().contains("--force"));
        assert!(!dir.join("regent.toml").exists(), "nothing is written");
        assert!(!dir.join("keys").exists());
        for name in &present {
            assert_eq!(fs::read_to_string(dir.join(name)).unwrap(), "mine\n");
        }
    }
}

#[test]
fn bad_hosts_and_upstreams_are_refused_before_anything_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let cases = [
        (opts_with_hosts(&dir, &["registry.example.com:5443"]), "--host"),
        (
            InitOptions { upstream: "registry:5000".into(), ..opts_with_hosts(&dir, &["a.example"]) },
            "--upstream",
        ),
        (
            InitOptions { upstream: "http://a\n[x]".into(), ..opts_with_hosts(&dir, &["a.example"]) },
            "--upstream",
        ),
    ];
    for (opts, expected) in cases {
        let error = init(&opts, &[], NOW).unwrap_err();
        assert!(matches!(error, InitError::InvalidOption { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{error}");
    }
    assert!(!dir.exists());
}

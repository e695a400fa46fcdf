//! Proves the fixtures start and drive the real programs before any e2e test relies on them.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tempfile::TempDir;

use crate::fixtures::{
    CommandTimeout, Podman, Registry, RegistryAuth, Skopeo, StubServer, find_program, free_port, http_get,
    https_get, oci, run_with_timeout,
};

const SERVICE: &str = "registry.selftest";
const ISSUER: &str = "regent-selftest";

/// A throwaway self-signed certificate as the registry's token trust bundle.
fn write_cert_bundle(dir: &Path) -> std::path::PathBuf {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let path = dir.join("bundle.pem");
    std::fs::write(&path, certified.cert.pem()).unwrap();
    path
}

/// A registry whose realm is `realm`, with the bundle kept in `dir`.
fn start_registry(dir: &Path, realm: &str) -> Registry {
    Registry::start(RegistryAuth {
        realm: realm.to_owned(),
        service: SERVICE.to_owned(),
        issuer: ISSUER.to_owned(),
        rootcertbundle: write_cert_bundle(dir),
    })
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn registry_challenges_with_bearer_and_dies_with_its_fixture() {
    let dir = TempDir::new().unwrap();
    let realm = "http://127.0.0.1:9/token";
    let registry = start_registry(dir.path(), realm);

    let base = http_get(&format!("{}/v2/", registry.url()), &[]);
    assert_eq!(base.status, 401);
    assert_eq!(
        base.header("WWW-Authenticate"),
        Some(format!(r#"Bearer realm="{realm}",service="{SERVICE}""#).as_str())
    );
    let catalog = http_get(&format!("{}/v2/_catalog", registry.url()), &[("Authorization", "Bearer x")]);
    assert_eq!(catalog.status, 401);
    let challenge = catalog.header("www-authenticate").unwrap();
    assert!(challenge.contains(r#"scope="registry:catalog:*""#), "{challenge}");
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    assert!(registry.log().contains("listening on"), "{}", registry.log());

    let addr = registry.addr();
    assert_eq!(registry.host(), addr.to_string());
    drop(registry);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

#[test]
fn registry_moves_to_the_next_port_when_one_is_taken() {
    let dir = TempDir::new().unwrap();
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let free = free_port();
    let registry = Registry::start_trying_ports(
        RegistryAuth {
            realm: "http://127.0.0.1:9/token".to_owned(),
            service: SERVICE.to_owned(),
            issuer: ISSUER.to_owned(),
            rootcertbundle: write_cert_bundle(dir.path()),
        },
        [taken, free],
    );
    assert_eq!(registry.addr().port(), free);
}

#[test]
#[should_panic(expected = "apt-get install -y some-package")]
fn a_missing_program_names_the_package_to_install() {
    find_program("no-such-program-for-regent-tests", "some-package");
}

#[test]
fn run_with_timeout_feeds_stdin_and_captures_both_streams() {
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "cat; echo oops >&2; exit 3"]);
    let output = run_with_timeout(command, CommandTimeout::DEFAULT, Some(b"password"));
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(output.stdout, b"password");
    assert_eq!(output.stderr, b"oops\n");
}

#[test]
#[should_panic(expected = "did not finish within 200ms and was killed")]
fn run_with_timeout_kills_a_hanging_command() {
    let mut command = std::process::Command::new("sleep");
    command.arg("30");
    run_with_timeout(command, Duration::from_millis(200), None);
}

#[test]
fn oci_layout_passes_skopeo_inspect() {
    let dir = TempDir::new().unwrap();
    let first = oci::write_layout(dir.path(), "v1", b"first payload\n");
    let second = oci::write_layout(dir.path(), "v2", b"second payload\n");
    assert_ne!(first.manifest_digest, second.manifest_digest);

    let skopeo = Skopeo::new();
    for image in [&first, &second] {
        let output = skopeo.inspect(&image.reference(), None);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["Digest"], image.manifest_digest.as_str());
        assert_eq!(report["Architecture"], "amd64");
        assert_eq!(report["Os"], "linux");
        assert_eq!(report["Layers"], serde_json::json!([image.layer_digest]));
    }
}

#[test]
fn podman_loads_the_layout_without_network() {
    let dir = TempDir::new().unwrap();
    let image = oci::write_layout(&dir.path().join("layout"), "v1", b"podman payload\n");
    let podman = Podman::new();

    let id = podman.load_oci(&image);
    assert_eq!(id.len(), 64, "an image ID, got {id:?}");
    let tagged = podman.tag(&id, "localhost/selftest/app:v1");
    assert!(tagged.status.success(), "{}", stderr(&tagged));
    assert!(podman.image_exists("localhost/selftest/app:v1"));
    assert!(!podman.image_exists("localhost/selftest/other:v1"));
}

/// The realm answers every request with a token the registry cannot verify: the client must
/// go registry -> realm (with Basic credentials and the scope) -> registry, and be refused.
#[test]
fn skopeo_copy_reaches_the_realm_and_is_refused_by_the_registry() {
    let dir = TempDir::new().unwrap();
    let realm = StubServer::start(200, r#"{"token":"not-a-jwt","expires_in":300}"#);
    let registry = start_registry(dir.path(), &format!("{}/token", realm.url()));
    let image = oci::write_layout(&dir.path().join("layout"), "v1", b"copy payload\n");

    let skopeo = Skopeo::new();
    let target = format!("docker://{}/team/app:v1", registry.host());
    let output = skopeo.copy(&image.reference(), &target, Some(("alice", "s3cret:x")));
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("unauthorized") || error.contains("401"), "{error}");
    // The realm's token reached the registry, which judged it.
    assert!(registry.log().contains("malformed token"), "{}", registry.log());

    let requests = realm.requests();
    let token_request = requests.first().expect("skopeo asked the realm for a token");
    let line = &token_request.request_line;
    assert!(line.starts_with("GET /token?"), "{line}");
    assert!(line.contains(&format!("service={SERVICE}")), "{line}");
    assert!(line.contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush"), "{line}");
    let basic = format!("Basic {}", BASE64.encode("alice:s3cret:x"));
    assert_eq!(token_request.header("authorization"), Some(basic.as_str()));
}

#[test]
fn skopeo_login_sends_the_password_from_stdin_and_logout_forgets_it() {
    let dir = TempDir::new().unwrap();
    let realm = StubServer::start(401, r#"{"details":"wrong password"}"#);
    let registry = start_registry(dir.path(), &format!("{}/token", realm.url()));

    let skopeo = Skopeo::new();
    let output = skopeo.login(&registry.host(), "bob", "hunter2");
    assert!(!output.status.success());
    // The realm's 401 is what skopeo reports as a wrong password.
    assert!(stderr(&output).contains("invalid username/password"), "{}", stderr(&output));
    let requests = realm.requests();
    let login = requests.first().expect("skopeo asked the realm");
    assert!(login.request_line.contains("account=bob"), "{}", login.request_line);
    let basic = format!("Basic {}", BASE64.encode("bob:hunter2"));
    assert_eq!(login.header("Authorization"), Some(basic.as_str()));
    assert_eq!(std::fs::read_to_string(skopeo.auth_file()).unwrap(), "{}");

    let logout = skopeo.logout(&registry.host());
    assert!(!logout.status.success(), "nothing stored, so nothing to forget");
    assert!(stderr(&logout).contains("not logged in"), "{}", stderr(&logout));
}

#[test]
fn podman_push_reaches_the_realm_and_is_refused_by_the_registry() {
    let dir = TempDir::new().unwrap();
    let realm = StubServer::start(200, r#"{"token":"not-a-jwt","expires_in":300}"#);
    let registry = start_registry(dir.path(), &format!("{}/token", realm.url()));
    let image = oci::write_layout(&dir.path().join("layout"), "v1", b"push payload\n");
    let podman = Podman::new();
    let id = podman.load_oci(&image);

    let output = podman.push(&id, &format!("{}/team/app:v1", registry.host()));
    assert!(!output.status.success());
    assert!(stderr(&output).contains("unauthorized"), "{}", stderr(&output));
    assert!(registry.log().contains("malformed token"), "{}", registry.log());
    let output = podman.pull(&format!("{}/team/app:v1", registry.host()));
    assert!(!output.status.success());
    assert!(realm.requests().len() >= 2, "{:?}", realm.requests());
}

#[test]
fn a_client_trusting_a_ca_insists_on_https() {
    let dir = TempDir::new().unwrap();
    let registry = start_registry(dir.path(), "http://127.0.0.1:9/token");
    let ca = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();

    let skopeo = Skopeo::trusting(&ca.cert.pem());
    let output = skopeo.inspect(&format!("docker://{}/team/app:v1", registry.host()), None);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("HTTP response to HTTPS client"), "{}", stderr(&output));
}

/// A one-shot rustls server with an rcgen certificate for 127.0.0.1 checks `https_get`.
#[test]
fn https_get_verifies_the_server_against_the_given_ca() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::Arc;

    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = BufReader::new(rustls::StreamOwned::new(connection, tcp));
        let mut request_line = String::new();
        tls.read_line(&mut request_line).unwrap();
        let mut line = String::new();
        while tls.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut tls = tls.into_inner();
        tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
        request_line
    });

    let response = https_get(&format!("https://{addr}/healthz"), &[], &certified.cert.pem());
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "ok");
    assert_eq!(server.join().unwrap(), "GET /healthz HTTP/1.1\r\n");
}

//! End to end through TLS: the real registry behind regent's front end, its realm on the same
//! listener, and skopeo and podman verifying regent's certificate through a certs.d-style
//! directory (and failing without the CA) while they log in, push and pull.

use std::process::Output;

use regent::config::LimitsConfig;

use super::pki::TestPki;
use super::server::RegistryBehindTls;
use crate::fixtures::{Podman, Skopeo, assert_ok, oci};

fn assert_untrusted(what: &str, out: &Output) {
    assert!(!out.status.success(), "{what} succeeded without trusting the CA");
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("certificate") || stderr.contains("x509"),
        "{what}: failed for another reason than the certificate:\n{stderr}"
    );
}

#[test]
fn skopeo_and_podman_log_in_push_and_pull_through_tls() {
    let stack = RegistryBehindTls::start(LimitsConfig::default());
    let (certs, host) = (&stack.certs, stack.host.clone());
    let images = tempfile::tempdir().unwrap();
    let image = oci::write_layout(&images.path().join("v1"), "v1", b"bytes through the TLS front end");

    let skopeo = Skopeo::trusting(&certs.pki.ca_pem);
    assert_ok("skopeo login", &skopeo.login(&host, "alice", "alice-pw"));
    let remote = format!("docker://{host}/alice/app:v1");
    assert_ok("skopeo push", &skopeo.copy(&image.reference(), &remote, None));
    let back = format!("oci:{}:v1", images.path().join("back").display());
    assert_ok("skopeo pull", &skopeo.copy(&remote, &back, None));
    let refused = skopeo.copy(&image.reference(), &remote, Some(("bob", "bob-pw")));
    assert!(!refused.status.success(), "bob may not push to alice/");

    let podman = Podman::trusting(&certs.pki.ca_pem);
    assert_ok("podman login", &podman.login(&host, "alice", "alice-pw"));
    assert_ok("podman pull", &podman.pull(&format!("{host}/alice/app:v1")));
    assert_ok("podman tag", &podman.tag(&format!("{host}/alice/app:v1"), &format!("{host}/alice/copy:v1")));
    assert_ok(
        "podman push",
        &podman.push(&format!("{host}/alice/copy:v1"), &format!("{host}/alice/copy:v1")),
    );

    // Trusting another CA, both refuse regent's certificate.
    let stranger = TestPki::new("another CA").ca_pem;
    assert_untrusted("skopeo login", &Skopeo::trusting(&stranger).login(&host, "alice", "alice-pw"));
    assert_untrusted("podman login", &Podman::trusting(&stranger).login(&host, "alice", "alice-pw"));
}

//! podman on registry 3 with a password and anonymously (skopeo's runs are in [`super::e2e`],
//! the identity-token runs of both in [`super::refresh_rotation`], docker's and ctr's in
//! `docker_flows` and `ctr`).

use regent::token::KeyType;

use super::stack::{Stack3, Trust};
use crate::client_matrix::{Client, Flow, RegistryVersion, proven};
use crate::fixtures::{Podman, Skopeo, assert_ok};

#[test]
fn podman_logs_in_pushes_and_pulls_and_pulls_public_anonymously_on_registry_3() {
    let stack = Stack3::start(KeyType::Rsa, Trust::Bundle);
    let host = stack.registry.host();
    let app = format!("{host}/alice/app:v1");
    let podman = Podman::new();
    assert_ok("podman login", &podman.login(&host, "alice", "alice-pw"));
    let id = podman.load_oci(&stack.image("v1", b"podman on registry 3"));
    assert_ok("podman tag", &podman.tag(&id, &app));
    assert_ok("podman push", &podman.push(&app, &app));
    let other = Podman::new();
    assert_ok("podman login (a second store)", &other.login(&host, "alice", "alice-pw"));
    assert_ok("podman pull", &other.pull(&app));
    assert!(other.image_exists(&app));
    proven(Client::Podman, RegistryVersion::V3, Flow::Password);

    let public = stack.image("pub", b"public on registry 3");
    let admin = Some(("admin", "admin-pw"));
    assert_ok("admin push", &Skopeo::new().copy(&public.reference(), &stack.docker("public/tool:v1"), admin));
    let anonymous = Podman::new();
    assert_ok("anonymous podman pull", &anonymous.pull(&format!("{host}/public/tool:v1")));
    assert!(!anonymous.pull(&app).status.success(), "an anonymous pull of alice/app worked");
    proven(Client::Podman, RegistryVersion::V3, Flow::Anonymous);
}

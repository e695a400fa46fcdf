//! The registry's side: deploy/kubernetes/registry/'s config.yml, laid out where its pod
//! mounts it, agrees with the rendered regent.toml, and the real registry (Debian's
//! docker-registry, 2.8) started with it accepts the tokens the rendered regent issues. Only
//! what the cluster provides is overridden, the registry's own way (`REGISTRY_*` variables):
//! its address and storage, the realm (in the cluster the Ingress routes the realm's host to
//! regent) and where the bundle lies under the test's root.

use std::collections::BTreeMap;
use std::path::Path;

use regent::config::Config;

use super::pod::PodFiles;
use super::render::{SERVICE, USERS, parse_documents};
use super::serve::ServedPod;
use super::{prepared, rendered};
use crate::doctor::{doctor_with_env, line, stdout};
use crate::fixtures::{Registry, Skopeo, assert_ok, assert_refused, oci};

/// Where the registry image reads its config.yml (its default command).
const REGISTRY_CONFIG: &str = "/etc/docker/registry/config.yml";

#[test]
fn the_registry_config_accepts_the_tokens_of_the_rendered_regent() {
    let deploy = prepared();
    let objects = rendered(&deploy, "overlays/htpasswd");
    let files = PodFiles::lay_out(&rendered(&deploy, "registry"), "registry", |_, _: &mut BTreeMap<_, _>| {});
    let config_path = files.host_path(REGISTRY_CONFIG);
    let yaml = parse_documents(&std::fs::read_to_string(&config_path).expect("config.yml"));
    let token = &yaml[0]["auth"]["token"];

    // The wiring agrees with regent.toml as rendered.
    let as_rendered = PodFiles::lay_out(&objects, "regent", |_, _: &mut BTreeMap<_, _>| {});
    let config = Config::load(Path::new(&as_rendered.args()[2])).expect("regent.toml");
    assert_eq!(token["service"], config.token.service.as_str());
    assert_eq!(token["service"], SERVICE);
    assert_eq!(token["issuer"], config.token.issuer.as_str());
    assert_eq!(token["realm"], config.token.realm.as_str(), "regent's challenges name the same realm");
    let realm = token["realm"].as_str().expect("realm").to_owned();

    // In the cluster the realm's host is the Ingress, which routes /token to regent: here the
    // realm is regent's own loopback URL, on both sides.
    let regent = ServedPod::start(&objects, |toml, url| {
        let line = format!("realm = \"{realm}\"");
        assert!(toml.contains(&line), "{toml}");
        toml.replace(&line, &format!("realm = \"{url}/token\""))
    });
    let regent_config = regent.files.args()[2].clone();
    let bundle = token["rootcertbundle"].as_str().expect("rootcertbundle");
    assert!(bundle.starts_with("/etc/docker/registry/"), "the bundle is in the mounted ConfigMap: {bundle}");
    let bundle = files.host_path(bundle);
    let certificate = regent.files.mount_dir("keys").join("token.crt");
    let certificate = std::fs::read_to_string(certificate).expect("the signing certificate");
    let bundled = std::fs::read_to_string(&bundle).expect("the mounted bundle");
    assert!(bundled.contains(certificate.trim()), "the bundle holds the signing certificate");

    let env = [
        ("REGISTRY_AUTH_TOKEN_REALM", format!("{}/token", regent.url)),
        ("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", bundle.display().to_string()),
    ];
    let registry = Registry::start_with_config(&config_path, &env);
    let images = tempfile::tempdir().expect("tempdir");
    let image = oci::write_layout(images.path(), "v1", b"pushed through the rendered wiring");
    let (alice, bob) = (USERS[0], USERS[1]);
    let skopeo = Skopeo::new();
    let target = format!("docker://{}/alice/app:v1", registry.host());
    assert_ok("alice pushes her own", &skopeo.copy(&image.reference(), &target, Some(alice)));
    let pulled = format!("oci:{}:v1", images.path().join("pulled").display());
    assert_ok("bob pulls", &skopeo.copy(&target, &pulled, Some(bob)));
    let theirs = format!("docker://{}/alice/bobs:v1", registry.host());
    assert_refused("bob pushes to alice's", &skopeo.copy(&image.reference(), &theirs, Some(bob)));

    // regent's own check of the pair finds nothing wrong.
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let config_yml = config_path.display().to_string();
    let args =
        ["--config", &regent_config, "--registry-config", &config_yml, "--registry-url", &registry.url()];
    let out = doctor_with_env(&[&args[..], &["--registry-user", "root"]].concat(), &env);
    let report = stdout(&out);
    assert!(out.status.success(), "regent doctor:\n{report}");
    for check in ["service", "issuer", "bundle", "token"] {
        line(&report, "ok", check);
    }
}

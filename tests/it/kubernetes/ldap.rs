//! The LDAP overlay's regent.toml, laid out with its Secret (the directory's CA and the bind
//! password), logs users in against a real slapd over ldaps; its only change is the
//! directory's URL. With the directory down, the local break-glass account still gets a
//! token, and the readiness probe keeps the pod in the Service while plain `/readyz` says 503.

use serde_json::json;

use super::render::{Deploy, LdapSecret};
use super::rendered;
use super::serve::{ServedPod, repository};
use crate::fixtures::Slapd;
use crate::fixtures::ldif::SERVICE_PASSWORD;

/// The directory URL in overlays/ldap/regent.toml.
const RENDERED_URL: &str = "ldaps://ldap.example.org:636";

#[test]
fn the_ldap_overlay_logs_in_against_a_real_directory_and_survives_its_outage() {
    let mut slapd = Slapd::start();
    let secret = LdapSecret { ca_pem: slapd.ca_pem().to_owned(), bind_password: SERVICE_PASSWORD.to_owned() };
    let deploy = Deploy::prepare(&secret);
    // Local accounts the directory does not know (two: a login is cached for a while).
    deploy.set_password("rescue", "rescue-pw");
    deploy.set_password("breakglass", "breakglass-pw");
    deploy.publish_users();
    let objects = rendered(&deploy, "overlays/ldap");
    let url = slapd.ldaps_url();
    let pod = ServedPod::start(&objects, |toml, _| {
        assert!(toml.contains(RENDERED_URL), "{toml}");
        toml.replace(RENDERED_URL, &url)
    });

    // alice is in the directory (password "secret"), and in htpasswd with another password:
    // the directory, asked first, decides.
    let alice = pod.token(Some(("alice", "secret")), "repository:alice/app:pull,push");
    assert_eq!(alice, (200, repository("alice/app", &["pull", "push"])));
    assert_eq!(pod.token(Some(("alice", "alice-pw")), "repository:alice/app:pull").0, 401);
    let catalog = pod.token(Some(("mallory", "mallorypw")), "registry:catalog:*");
    let granted = json!([{"type": "registry", "name": "catalog", "actions": ["*"]}]);
    assert_eq!(catalog, (200, granted), "admins through memberOf");
    let rescue = pod.token(Some(("rescue", "rescue-pw")), "repository:rescue/app:pull,push");
    assert_eq!(rescue, (200, repository("rescue/app", &["pull", "push"])), "the directory has no rescue");

    slapd.stop();
    assert_eq!(pod.token(Some(("carol", "carolpw")), "repository:carol/app:pull").0, 503);
    let plain = pod.get_quietly("/readyz").expect("an answer");
    assert_eq!(plain.status, 503, "plain /readyz names the outage: {}", plain.body);
    let probe = pod.ready();
    assert_eq!(probe.status, 200, "the probe keeps the pod in the Service: {}", probe.body);
    assert_eq!(probe.json()["backends"][0], json!({"name": "directory", "state": "unavailable"}));
    // The break-glass account still logs in; during the outage it owns no name (no ${user}).
    let local = pod.token(Some(("breakglass", "breakglass-pw")), "repository:breakglass/app:pull,push");
    assert_eq!(local, (200, repository("breakglass/app", &["pull"])));
}

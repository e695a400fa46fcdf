//! The kubelet's `..data` swap is followed: after the operator changes users, policies and keys
//! and applies again, the kubelet swaps the mounted files (a new timestamped directory, then
//! `..data` renamed over; the visible `FILE -> ..data/FILE` links never change for a file that
//! stays), and the running `regent` serves the change within about two seconds of the swap.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::render::{Deploy, USERS};
use super::serve::{ServedPod, repository};
use super::{prepared, rendered};
use crate::fixtures::{http_get, regent, text};

/// What the stated latency allows: a poll interval and the settle time (1 s) plus loading,
/// within the 2 s replicas need; the tests allow more on a shared machine and print the figure.
const GENEROUS: Duration = Duration::from_secs(5);

/// Polls `check` until it holds; the time it took, or a panic after [`GENEROUS`].
fn live_within(what: &str, since: Instant, pod: &ServedPod, check: impl Fn() -> bool) -> Duration {
    loop {
        if check() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < GENEROUS,
            "{what}: not live {GENEROUS:?} after the swap; log:\n{}",
            pod.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Edits the base's kustomization.yaml: `from` becomes `to` (both must be there / appear).
fn edit_kustomization(deploy: &Deploy, from: &str, to: &str) {
    let path = deploy.deploy().join("base/kustomization.yaml");
    let yaml = std::fs::read_to_string(&path).expect("kustomization");
    assert!(yaml.contains(from), "{from:?} in {yaml}");
    std::fs::write(&path, yaml.replace(from, to)).expect("kustomization");
}

/// The `kid` header of the token regent signs for `user`.
fn signing_kid(pod: &ServedPod, user: (&str, &str)) -> String {
    let auth = crate::fixtures::basic(user.0, user.1);
    let answer = http_get(
        &format!("{}/token?service={}", pod.url, super::render::SERVICE),
        &[("Authorization", &auth)],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let token = answer.json()["token"].as_str().expect("token").to_owned();
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().expect("header")).expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

#[test]
fn users_policies_and_keys_swapped_in_by_the_kubelet_are_live_within_two_seconds() {
    let deploy = prepared();
    let mut pod = ServedPod::start(&rendered(&deploy, "overlays/htpasswd"), |toml, _| toml);
    let (alice, bob, carol) = (USERS[0], USERS[1], ("carol", "carol-pw"));
    assert_eq!(pod.token(Some(carol), "repository:ops/app:push").0, 401, "carol is nobody yet");
    assert_eq!(pod.token(Some(bob), "repository:bob/app:delete"), (200, json!([])));
    assert_eq!(pod.token(Some(bob), "repository:alice/app:pull"), (200, repository("alice/app", &["pull"])));

    // The operator: a new user; a policy file changed in place, one added, one removed.
    deploy.set_password(carol.0, carol.1);
    deploy.publish_users();
    let policies = deploy.deploy().join("base/policies");
    let namespaces = std::fs::read_to_string(policies.join("10-namespaces.toml")).expect("policy");
    let namespaces =
        namespaces.replace("actions = [\"pull\", \"push\"]", "actions = [\"pull\", \"push\", \"delete\"]");
    std::fs::write(policies.join("10-namespaces.toml"), namespaces).expect("policy");
    let ops =
        "[[allow]]\nwho = [\"user:carol\"]\nrepositories = [\"ops/**\"]\nactions = [\"pull\", \"push\"]\n";
    std::fs::write(policies.join("60-ops.toml"), ops).expect("policy");
    std::fs::remove_file(policies.join("20-read-only.toml")).expect("remove a policy");
    edit_kustomization(&deploy, "      - policies/20-read-only.toml\n", "");
    let admins = "      - policies/50-admins.toml\n";
    edit_kustomization(&deploy, admins, &format!("{admins}      - policies/60-ops.toml\n"));
    let swapped = pod.files.update_from(&rendered(&deploy, "overlays/htpasswd"));
    let since = Instant::now();
    assert_eq!(swapped, ["policies", "users"], "the in-place objects are swapped, nothing else");

    let user = live_within("the new user and her new policy file", since, &pod, || {
        pod.token(Some(carol), "repository:ops/app:pull,push")
            == (200, repository("ops/app", &["pull", "push"]))
    });
    let changed = live_within("the changed policy file", since, &pod, || {
        pod.token(Some(bob), "repository:bob/app:delete") == (200, repository("bob/app", &["delete"]))
    });
    let removed = live_within("the removed policy file", since, &pod, || {
        pod.token(Some(bob), "repository:alice/app:pull") == (200, json!([]))
    });

    // A new signing key (newer certificate: it signs) in the keys Secret.
    let before = signing_kid(&pod, alice);
    let config = deploy.data().join("regent.toml");
    let rotated =
        regent(&["keys", "rotate", "--now", "--config", config.to_str().expect("utf-8")], &deploy.data());
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    deploy.publish_keys();
    assert_eq!(pod.files.update_from(&rendered(&deploy, "overlays/htpasswd")), ["keys"]);
    let since = Instant::now();
    let key = live_within("the new signing key", since, &pod, || signing_kid(&pod, alice) != before);
    let jwks = http_get(&format!("{}/.well-known/jwks.json", pod.url), &[]).json();
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2), "both keys trusted: {jwks}");

    println!(
        "live after the kubelet's swap: user {user:?}, changed policy {changed:?}, removed policy {removed:?}, key {key:?}"
    );
    let log = pod.log();
    assert!(!log.contains("reload failed"), "no half-swapped state was ever loaded:\n{log}");
    for what in ["policies", "htpasswd", "signing keys"] {
        assert!(log.lines().any(|line| line.contains("reloaded") && line.contains(what)), "{what}:\n{log}");
    }
}

//! Changes made next to the writer (a revocation, a key rotation, a policy file, a new
//! htpasswd user, `regent.toml` itself) reach all three replicas: each is timed from the moment
//! the command returned (or the file was renamed in) until every replica answers the new way,
//! and the times are printed.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::set::{ReplicaSet, access_token, basic, bearer_get, refresh_post, token_request};
use crate::fixtures::{RegentServe, claims, try_http_request};

/// The most the replicas may disagree: the last one answers the new way at most this long
/// after the first (each polls the same files every 0.5 s and loads a change once it has
/// settled for 0.5 s).
const AGREEMENT: Duration = Duration::from_secs(2);
/// A generous bound from the command's return to the last replica (the machine is shared).
const DEADLINE: Duration = Duration::from_secs(15);
/// How often each replica is asked while waiting.
const POLL: Duration = Duration::from_millis(20);

/// When each replica first satisfied `seen`, measured from the call; panics after [`DEADLINE`]
/// and when the replicas disagree for longer than [`AGREEMENT`]. Prints the times.
fn time_until_all(set: &ReplicaSet, what: &str, seen: impl Fn(&RegentServe) -> bool + Sync) -> Vec<Duration> {
    let started = Instant::now();
    let times: Vec<Duration> = std::thread::scope(|scope| {
        let seen = &seen;
        let pollers: Vec<_> = set
            .replicas
            .iter()
            .map(|replica| {
                scope.spawn(move || {
                    loop {
                        if seen(replica) {
                            return started.elapsed();
                        }
                        assert!(
                            started.elapsed() < DEADLINE,
                            "{what}: replica {} not within {DEADLINE:?}",
                            replica.addr()
                        );
                        std::thread::sleep(POLL);
                    }
                })
            })
            .collect();
        pollers.into_iter().map(|poller| poller.join().expect("poller")).collect()
    });
    let (first, last) = (times.iter().min().expect("times"), times.iter().max().expect("times"));
    eprintln!(
        "replica agreement: {what}: seen after {} (spread {:.0} ms)",
        times.iter().map(|t| format!("{:.0} ms", t.as_secs_f64() * 1000.0)).collect::<Vec<_>>().join(", "),
        (*last - *first).as_secs_f64() * 1000.0
    );
    assert!(*last - *first <= AGREEMENT, "{what}: the replicas disagreed for {:?}", *last - *first);
    times
}

/// Asserts that no replica satisfies `seen` yet (the check would otherwise prove nothing).
fn none_yet(set: &ReplicaSet, what: &str, seen: impl Fn(&RegentServe) -> bool) {
    for replica in &set.replicas {
        assert!(!seen(replica), "{what}: replica {} already answers the new way", replica.addr());
    }
}

/// The `kid` in the header of a token `replica` signs now.
fn signing_kid(replica: &RegentServe) -> String {
    let token = access_token(token_request(&replica.url(), &basic("alice", "alice-pw"), "", ""));
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().expect("header")).expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("JSON");
    header["kid"].as_str().expect("kid").to_owned()
}

/// How many keys `replica` serves in its JWKS.
fn jwks_len(replica: &RegentServe) -> usize {
    let answer = try_http_request("GET", &format!("{}/.well-known/jwks.json", replica.url()), &[], b"")
        .unwrap_or_else(|error| panic!("{error}"));
    answer.json()["keys"].as_array().map_or(0, Vec::len)
}

/// Whether a token for `user` asking `scope` carries `action`.
fn grants(replica: &RegentServe, auth: &str, scope: &str, action: &str) -> bool {
    let token = access_token(token_request(&replica.url(), auth, scope, ""));
    claims(&token)["access"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|entry| entry["actions"].as_array().is_some_and(|actions| actions.iter().any(|a| a == action)))
}

#[test]
fn a_revocation_a_rotation_a_policy_a_user_and_the_config_reach_every_replica() {
    let mut set = ReplicaSet::start();
    let image = set.push_image("alice/app", "v1", b"signed by the new key\n");

    // A new htpasswd user (`regent passwd`).
    let carol = basic("carol", "carol-pw");
    let knows_carol =
        |r: &RegentServe| token_request(&r.url(), &carol, "", "").is_ok_and(|a| a.status == 200);
    none_yet(&set, "new user", knows_carol);
    set.add_user("carol", "carol-pw");
    time_until_all(&set, "new htpasswd user (regent passwd)", knows_carol);

    // A policy file replaced atomically (written next to it, then renamed).
    let bob = basic("bob", "bob-pw");
    let bob_pushes = |r: &RegentServe| grants(r, &bob, "repository:shared/app:pull,push", "push");
    none_yet(&set, "policy", bob_pushes);
    let policies = set.data().join("policies");
    let rule =
        "[[allow]]\nwho = [\"user:bob\"]\nrepositories = [\"shared/**\"]\nactions = [\"pull\", \"push\"]\n";
    std::fs::write(policies.join(".60-shared.toml.tmp"), rule).expect("write the new policy");
    std::fs::rename(policies.join(".60-shared.toml.tmp"), policies.join("60-shared.toml")).expect("rename");
    time_until_all(&set, "policy change (a new file renamed in)", bob_pushes);

    // regent.toml itself, replaced atomically: a longer token lifetime.
    let expires_in = |r: &RegentServe| {
        let answer =
            token_request(&r.url(), &basic("alice", "alice-pw"), "", "").unwrap_or_else(|e| panic!("{e}"));
        answer.json()["expires_in"].as_u64()
    };
    let config = set.data().join("regent.toml");
    let text = std::fs::read_to_string(&config).expect("read regent.toml");
    assert!(text.contains("\nttl = \"5m\"\n"), "{text}");
    none_yet(&set, "config", |r| expires_in(r) == Some(600));
    std::fs::write(config.with_extension("toml.new"), text.replace("\nttl = \"5m\"\n", "\nttl = \"10m\"\n"))
        .expect("write the new regent.toml");
    std::fs::rename(config.with_extension("toml.new"), &config).expect("rename");
    time_until_all(&set, "regent.toml change (ttl, renamed in)", |r| expires_in(r) == Some(600));

    // `regent revoke alice`: her refresh token (issued before) stops working everywhere.
    let login = token_request(&set.replicas[0].url(), &basic("alice", "alice-pw"), "", "&offline_token=true");
    let refresh = login.unwrap().json()["refresh_token"].as_str().expect("refresh token").to_owned();
    let refused = |r: &RegentServe| {
        let answer = refresh_post(&r.url(), &refresh, "").unwrap_or_else(|error| panic!("{error}"));
        answer.status == 400 && answer.json()["error"] == "invalid_grant"
    };
    none_yet(&set, "revocation", refused);
    set.cli(&["revoke", "--config", "d/regent.toml", "alice"]);
    time_until_all(&set, "regent revoke", refused);

    // A key rotation, in the order that fails no pull: rotate (trusted, not signing), bundle
    // and restart the registry, activate (signing).
    let old_kid = signing_kid(&set.replicas[0]);
    set.cli(&["keys", "rotate", "--config", "d/regent.toml"]);
    time_until_all(&set, "regent keys rotate (the new key in the JWKS)", |r| jwks_len(r) == 2);
    set.cli(&["keys", "bundle", "--config", "d/regent.toml"]);
    set.registry.restart();
    set.cli(&["keys", "activate", "--config", "d/regent.toml"]);
    time_until_all(&set, "regent keys activate (the new key signs)", |r| signing_kid(r) != old_kid);
    let manifest = format!("{}/v2/alice/app/manifests/v1", set.registry.url());
    for replica in &set.replicas {
        let token = access_token(token_request(
            &replica.url(),
            &basic("alice", "alice-pw"),
            "repository:alice/app:pull",
            "",
        ));
        let answer = bearer_get(&manifest, &token).unwrap();
        assert_eq!(answer.status, 200, "a token of the new key from {}: {}", replica.addr(), answer.body);
        assert_eq!(answer.header("Docker-Content-Digest"), Some(image.manifest_digest.as_str()));
    }
}

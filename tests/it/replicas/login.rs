//! A login on one replica, the refresh token used on the others (directly and through
//! HAProxy), pulls with each replica's access tokens, and what each replica may write.

use std::process::Command;

use super::set::{
    ReplicaSet, USERS, access_token, basic, bearer_get, refresh_auth, refresh_post, token_request,
};
use crate::e2e_refresh::write_identity_token;
use crate::fixtures::{
    RegentServe, Skopeo, assert_ok, find_program, run_with_timeout, text, try_http_request,
};

const SCOPE: &str = "repository:alice/app:pull";

/// The sum of `regent_token_requests_total{outcome="issued",grant_type=GRANT}` on `replica`.
fn issued(replica: &RegentServe, grant: &str) -> u64 {
    let answer = try_http_request("GET", &format!("{}/metrics", replica.url()), &[], b"")
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let labels = [r#"outcome="issued""#.to_owned(), format!(r#"grant_type="{grant}""#)];
    answer
        .body
        .lines()
        .filter(|line| line.starts_with("regent_token_requests_total{"))
        .filter(|line| labels.iter().all(|label| line.contains(label.as_str())))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Every replica's count of issued `grant` tokens.
fn issued_by_each(set: &ReplicaSet, grant: &str) -> Vec<u64> {
    set.replicas.iter().map(|replica| issued(replica, grant)).collect()
}

#[test]
fn the_readers_cannot_write_the_shared_directory_and_need_not() {
    let set = ReplicaSet::start();
    assert!(!set.replicas[0].sees_data_dir_read_only(), "the writer");
    let nsenter = find_program("nsenter", "util-linux");
    for replica in &set.replicas[1..] {
        assert!(replica.sees_data_dir_read_only(), "replica {} sees d/ writable", replica.addr());
        // In the replica's own mount namespace, nothing can be created in the data directory.
        let mut touch = Command::new(&nsenter);
        touch.args(["--target", &replica.pid().to_string(), "--mount", "--", "touch"]);
        touch.arg(set.data().join("probe"));
        let out = run_with_timeout(touch, std::time::Duration::from_secs(30), None);
        assert!(!out.status.success(), "a reader created a file in d/");
        assert!(text(&out.stderr).contains("Read-only file system"), "{}", text(&out.stderr));
    }
    // Readers answer tokens signed with the shared key, for the shared users and policies.
    for replica in &set.replicas {
        let token = access_token(token_request(&replica.url(), &basic("alice", "alice-pw"), SCOPE, ""));
        let pull = bearer_get(&format!("{}/v2/alice/app/tags/list", set.registry.url()), &token).unwrap();
        assert_eq!(pull.status, 404, "the registry took the token (no such repository yet): {}", pull.body);
    }
    assert!(!set.data().join("probe").exists());
}

#[test]
fn a_login_on_one_replica_is_refreshed_and_pulled_on_the_others() {
    let set = ReplicaSet::start();
    let image = set.push_image("alice/app", "v1", b"pulled from every replica\n");
    let manifest = "/v2/alice/app/manifests/v1";
    let blob = format!("/v2/alice/app/blobs/{}", image.layer_digest);
    let pull_with = |token: &str, base: &str, who: &str| {
        let answer = bearer_get(&format!("{base}{manifest}"), token).unwrap();
        assert_eq!(answer.status, 200, "{who}: manifest: {}", answer.body);
        assert_eq!(answer.header("Docker-Content-Digest"), Some(image.manifest_digest.as_str()), "{who}");
        let answer = bearer_get(&format!("{base}{blob}"), token).unwrap();
        assert_eq!(answer.status, 200, "{who}: blob: {}", answer.body);
        assert_eq!(answer.header("Docker-Content-Digest"), Some(image.layer_digest.as_str()), "{who}: blob");
    };

    // docker login's request, on the writer only.
    let before = (issued_by_each(&set, "password"), issued_by_each(&set, "refresh"));
    let login = token_request(
        &set.replicas[0].url(),
        &basic(USERS[0].0, USERS[0].1),
        SCOPE,
        "&offline_token=true&client_id=docker&account=alice",
    )
    .unwrap();
    assert_eq!(login.status, 200, "{}", login.body);
    let refresh = login.json()["refresh_token"].as_str().expect("a refresh token").to_owned();

    // The readers take it: containerd's GET and docker's POST, then pulls with their tokens,
    // straight to the registry and through HAProxy.
    for (index, replica) in set.replicas.iter().enumerate().skip(1) {
        let who = format!("replica {index} ({})", replica.addr());
        let token = access_token(token_request(&replica.url(), &refresh_auth(&refresh), SCOPE, ""));
        pull_with(&token, &set.registry.url(), &who);
        pull_with(&token, &set.haproxy.url(), &who);
        let answer = refresh_post(&replica.url(), &refresh, SCOPE).unwrap();
        assert_eq!(answer.status, 200, "{who}: POST refresh grant: {}", answer.body);
        pull_with(answer.json()["access_token"].as_str().expect("access_token"), &set.haproxy.url(), &who);
    }
    let after = (issued_by_each(&set, "password"), issued_by_each(&set, "refresh"));
    let delta = |a: &[u64], b: &[u64]| a.iter().zip(b).map(|(a, b)| a - b).collect::<Vec<_>>();
    assert_eq!(delta(&after.0, &before.0), [1, 0, 0], "one password grant, on the writer");
    assert_eq!(delta(&after.1, &before.1), [0, 2, 2], "two refresh grants on each reader");

    // Through HAProxy, round robin: six refresh grants reach every replica.
    for _ in 0..6 {
        let token = access_token(token_request(&set.haproxy.url(), &refresh_auth(&refresh), SCOPE, ""));
        pull_with(&token, &set.haproxy.url(), "through HAProxy");
    }
    let balanced = delta(&issued_by_each(&set, "refresh"), &after.1);
    assert!(balanced.iter().all(|&count| count >= 1), "refresh grants per replica: {balanced:?}");
    assert_eq!(balanced.iter().sum::<u64>(), 6, "{balanced:?}");

    // skopeo with nothing but the identity token, through HAProxy (POST refresh grants).
    let skopeo = Skopeo::new();
    write_identity_token(&skopeo.auth_file(), &set.haproxy.host(), "alice", &refresh);
    let reference = format!("docker://{}/alice/app:v1", set.haproxy.host());
    let out = skopeo.inspect(&reference, None);
    assert_ok("skopeo inspect with an identity token through HAProxy", &out);
    assert!(text(&out.stdout).contains(&image.manifest_digest), "{}", text(&out.stdout));
}

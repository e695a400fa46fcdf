//! One replica SIGKILLed in the middle of a burst of token requests and pulls through HAProxy:
//! HAProxy's retries (another replica for a refused or reset connection) and health checks
//! leave no failed pull.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::set::{ReplicaSet, access_token, basic, bearer_get, token_request};
use crate::fixtures::Haproxy;

/// Client threads pulling at once.
const CLIENTS: usize = 8;
/// The burst runs this long before the kill, and as long again after HAProxy saw it down.
const PHASE: Duration = Duration::from_millis(1500);

/// One pull: a token (password grant) from HAProxy, then the manifest and the layer through it.
fn pull(haproxy: &Haproxy, layer: &str, digest: &str) -> Result<(), String> {
    let answer = token_request(&haproxy.url(), &basic("alice", "alice-pw"), "repository:alice/app:pull", "")?;
    if answer.status != 200 {
        return Err(format!("token: {} {}", answer.status, answer.body));
    }
    let token = access_token(Ok(answer));
    let manifest = bearer_get(&format!("{}/v2/alice/app/manifests/v1", haproxy.url()), &token)?;
    if manifest.status != 200 || manifest.header("Docker-Content-Digest") != Some(digest) {
        return Err(format!("manifest: {} {}", manifest.status, manifest.body));
    }
    let blob = bearer_get(&format!("{}/v2/alice/app/blobs/{layer}", haproxy.url()), &token)?;
    if blob.status != 200 || blob.header("Docker-Content-Digest") != Some(layer) {
        return Err(format!("blob: {} {}", blob.status, blob.body));
    }
    Ok(())
}

/// Sets the flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_replica_killed_during_a_pull_burst_fails_no_pull() {
    let mut set = ReplicaSet::start();
    let image = set.push_image("alice/app", "v1", b"burst payload\n");
    let stop = AtomicBool::new(false);
    let killed_at: Mutex<Option<Instant>> = Mutex::new(None);
    // (finished at, result) of every pull.
    let results: Mutex<Vec<(Instant, Result<(), String>)>> = Mutex::new(Vec::new());
    let victim = set.replicas.len() - 1;
    let victim_name = format!("r{}", victim + 1);

    let (haproxy, replicas) = (&set.haproxy, &mut set.replicas);
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let result = pull(haproxy, &image.layer_digest, &image.manifest_digest);
                    results.lock().expect("results").push((Instant::now(), result));
                }
            });
        }
        // Stops the clients however this closure ends (a failed assertion would hang the scope).
        let _stop = StopOnDrop(&stop);
        std::thread::sleep(PHASE);
        let served = haproxy.servers();
        assert!(served.iter().all(|s| s.sessions > 0), "every replica served part of the burst: {served:?}");
        *killed_at.lock().expect("kill time") = Some(Instant::now());
        replicas[victim].kill();
        haproxy.wait_until(Duration::from_secs(10), "the killed replica DOWN", |servers| {
            servers.iter().any(|s| s.name == victim_name && s.status.starts_with("DOWN"))
        });
        std::thread::sleep(PHASE);
    });

    let killed_at = killed_at.into_inner().expect("kill time").expect("killed");
    let results = results.into_inner().expect("results");
    let failed: Vec<&String> = results.iter().filter_map(|(_, result)| result.as_ref().err()).collect();
    let after = results.iter().filter(|(at, _)| *at > killed_at).count();
    let servers = set.haproxy.servers();
    eprintln!(
        "replica failover: {} pulls ({} after the kill), {} failed; haproxy: {servers:?}",
        results.len(),
        after,
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} pulls failed, e.g. {:?}",
        failed.len(),
        results.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(results.len() - after > CLIENTS && after > CLIENTS, "pulls before and after the kill");
    let down = servers.iter().find(|s| s.name == victim_name).expect("the victim's row");
    assert!(down.status.starts_with("DOWN"), "{servers:?}");
}

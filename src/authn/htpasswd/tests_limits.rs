//! The bcrypt limits: costs above `max_bcrypt_cost` do not load, a login waits a bounded time
//! for a verification slot, and logins nobody waits for any more run no bcrypt.

use std::fs;
use std::path::Path;

use super::tests::{authenticated, bcrypt_line, fixture, secret};
use super::*;

/// One verification at this cost takes long enough (about half a second of a fast core, more
/// on a busy one) to be caught holding its slot.
const SLOW_COST: u32 = 13;

/// A cost-4 hash relabelled with `cost`: loading reads the cost; nothing here verifies it.
fn line_at_cost(user: &str, cost: u32) -> String {
    let hash = bcrypt::hash("x", 4).unwrap().replacen("$04$", &format!("${cost:02}$"), 1);
    format!("{user}:{hash}\n")
}

/// A backend on `users` with `slots` verification slots and `queue_timeout`, no cache.
fn backend_with_slots(users: &Path, slots: usize, queue_timeout: Duration) -> HtpasswdBackend {
    let limits = BcryptLimits { max_cost: 14, queue_timeout };
    let mut backend = HtpasswdBackend::open("file", users.to_owned(), None, Duration::ZERO, limits).unwrap();
    // Test hook: a known number of slots instead of the machine's parallelism.
    backend.bcrypt = BcryptSlots::new(slots, queue_timeout);
    backend
}

/// Waits (generously) until `condition` holds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn a_cost_above_the_maximum_fails_the_load_and_a_reload_keeps_the_last_good() {
    let fixture = fixture(&format!("{}{}", line_at_cost("alice", 4), line_at_cost("slow", 15)), "");
    let open = |limits| HtpasswdBackend::open("file", fixture.users.clone(), None, Duration::ZERO, limits);
    let err = open(BcryptLimits::default()).unwrap_err();
    let expected =
        format!("{}:2: user \"slow\": bcrypt cost 15 is above max_bcrypt_cost 14", fixture.users.display());
    assert!(err.to_string().starts_with(&expected), "{err}");
    assert!(open(BcryptLimits { max_cost: 15, ..BcryptLimits::default() }).is_ok(), "a raised maximum");

    let good = bcrypt_line("alice", "pw", bcrypt::Version::TwoY);
    fs::write(&fixture.users, &good).unwrap();
    let backend = open(BcryptLimits::default()).unwrap();
    let tmp = fixture.users.with_extension("tmp");
    fs::write(&tmp, format!("{good}{}", line_at_cost("slow", 31))).unwrap();
    fs::rename(&tmp, &fixture.users).unwrap();
    assert!(!backend.reload_now(), "a file with cost 31 is not swapped in");
    assert_eq!(backend.users.get().get("slow"), None);
    assert!(backend.users.get().get("alice").is_some(), "the last good file stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_queued_behind_slow_verifications_times_out_as_an_outage() {
    let slow = bcrypt::hash("slow-pw", SLOW_COST).unwrap();
    let users = format!("slow:{slow}\n{}", bcrypt_line("fast", "pw", bcrypt::Version::TwoY));
    let fixture = fixture(&users, "");
    let queue_timeout = Duration::from_millis(50);
    let backend = Arc::new(backend_with_slots(&fixture.users, 1, queue_timeout));

    let holder = Arc::clone(&backend);
    let running = tokio::spawn(async move { holder.authenticate("slow", &secret("slow-pw")).await });
    eventually("the slow verification runs", || backend.bcrypt_verifications() == 1).await;

    let started = Instant::now();
    let error = backend.authenticate("fast", &secret("pw")).await.unwrap_err();
    let waited = started.elapsed();
    let AuthnError::Unavailable { backend: name, reason } = &error;
    assert_eq!(name, "file");
    assert!(reason.contains("all 1 bcrypt verification slots stayed busy for 50ms"), "{reason}");
    assert!(waited >= queue_timeout, "gave up after {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?} for a 50ms bound");
    assert_eq!(backend.bcrypt_verifications(), 1, "the timed-out login ran no bcrypt");

    assert_eq!(running.await.unwrap().unwrap(), authenticated("slow", &[]));
    assert_eq!(backend.authenticate("fast", &secret("pw")).await.unwrap(), authenticated("fast", &[]));
    assert_eq!(backend.bcrypt.free(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_waiting_logins_run_no_bcrypt_and_hold_no_slot() {
    let slow = bcrypt::hash("slow-pw", SLOW_COST).unwrap();
    let fixture = fixture(&format!("slow:{slow}\n{}", bcrypt_line("alice", "pw", bcrypt::Version::TwoY)), "");
    let backend = Arc::new(backend_with_slots(&fixture.users, 1, Duration::from_secs(60)));

    let holder = Arc::clone(&backend);
    let running = tokio::spawn(async move { holder.authenticate("slow", &secret("slow-pw")).await });
    eventually("the slow verification runs", || backend.bcrypt_verifications() == 1).await;

    // Clients that give up while waiting for the slot: a timeout around the call...
    for user in ["alice", "nobody", "alice"] {
        let password = secret("pw");
        let gave_up = tokio::time::timeout(Duration::from_millis(20), backend.authenticate(user, &password));
        assert!(gave_up.await.is_err(), "{user} got an answer while the only slot was busy");
    }
    // ...and requests whose task is aborted (a dropped connection).
    let aborted: Vec<_> = (0..3)
        .map(|_| {
            let backend = Arc::clone(&backend);
            tokio::spawn(async move { backend.authenticate("alice", &secret("pw")).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    for task in &aborted {
        task.abort();
    }
    for task in aborted {
        assert!(task.await.unwrap_err().is_cancelled(), "an aborted login finished first");
    }

    assert_eq!(running.await.unwrap().unwrap(), authenticated("slow", &[]));
    eventually("every slot is free", || backend.bcrypt.free() == 1).await;
    assert_eq!(backend.bcrypt_verifications(), 1, "only the login someone waited for ran bcrypt");
    assert_eq!(backend.authenticate("alice", &secret("pw")).await.unwrap(), authenticated("alice", &[]));
    assert_eq!(backend.bcrypt_verifications(), 2);
}

#[test]
fn a_job_queued_in_the_blocking_pool_does_not_start_when_its_login_is_gone() {
    // One blocking thread, so a job can be caught waiting in the pool's queue with its slot.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fixture = fixture(&bcrypt_line("alice", "pw", bcrypt::Version::TwoY), "");
        let backend = backend_with_slots(&fixture.users, 2, Duration::from_secs(60));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (busy, is_busy) = tokio::sync::oneshot::channel();
        let hog = tokio::task::spawn_blocking(move || {
            let _ = busy.send(());
            let _ = held.recv();
        });
        is_busy.await.unwrap();

        let password = secret("pw");
        let gave_up =
            tokio::time::timeout(Duration::from_millis(50), backend.authenticate("alice", &password));
        assert!(gave_up.await.is_err(), "the login answered with the only blocking thread busy");
        assert_eq!(backend.bcrypt.free(), 1, "its job holds a slot while queued");

        release.send(()).unwrap();
        hog.await.unwrap();
        eventually("the queued job gave its slot back", || backend.bcrypt.free() == 2).await;
        assert_eq!(backend.bcrypt_verifications(), 0, "the job nobody waited for ran no bcrypt");
        assert_eq!(backend.authenticate("alice", &secret("pw")).await.unwrap(), authenticated("alice", &[]));
        assert_eq!(backend.bcrypt_verifications(), 1);
    });
}

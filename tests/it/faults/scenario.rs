//! The fault-injection run: token load at a given concurrency while slapd is killed and
//! restarted, the registry killed and restarted and SIGSTOPped, the policy and htpasswd files
//! broken and repaired, 30 `regent passwd` run at once, and the htpasswd disk full. Each fault is
//! one [`Phase`]; after each repair a probe measures how long until a fresh request of the
//! affected kind succeeds again (the recovery time).

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::load::{Kind, Load, Sample};
use super::stack::{Stack, StackOptions};
use crate::env::{SERVICE, USERS};
use crate::fixtures::{run_with_timeout, try_http_request};

/// How long a fault may take to recover before the run fails.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(60);
/// How many `regent passwd` run at once.
pub const PARALLEL_PASSWD: usize = 30;

/// How long each part of the run lasts.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Load before the first fault.
    pub baseline: Duration,
    /// How long a fault lasts before it is repaired.
    pub outage: Duration,
    /// Load after each recovery, before the next fault.
    pub tail: Duration,
    /// Concurrent load workers.
    pub concurrency: usize,
}

impl Plan {
    /// A baseline and outages of `seconds` each, half as long (at least 1 s) after each
    /// recovery, at `concurrency`.
    pub fn scaled(seconds: u64, concurrency: usize) -> Self {
        Self {
            baseline: Duration::from_secs(seconds),
            outage: Duration::from_secs(seconds),
            tail: Duration::from_secs((seconds / 2).max(1)),
            concurrency,
        }
    }
}

/// One fault: when it started, was repaired and the phase ended, and what it affects.
#[derive(Debug, Clone)]
pub struct Phase {
    /// What was done.
    pub name: &'static str,
    /// The fault started.
    pub start: Instant,
    /// The next phase starts.
    pub end: Instant,
    /// The kind the recovery probe asks for.
    pub probe: Kind,
    /// From the repair to the probe's first success.
    pub recovery: Duration,
}

/// What a run found.
pub struct Findings {
    /// Every phase, the baseline first.
    pub phases: Vec<Phase>,
    /// Every load request.
    pub samples: Vec<Sample>,
    /// Users added by `regent passwd` (and the original ones) missing from the htpasswd file.
    pub lost_entries: Vec<String>,
    /// What the `regent passwd` on the full disk said.
    pub full_disk_error: String,
    /// regent's RSS at the end, KiB.
    pub rss_kib: u64,
    /// regent's WARN and ERROR lines, each message once (timestamps cut), at most 12.
    pub log_warnings: Vec<String>,
}

/// Runs every fault under load on a fresh [`Stack`]; panics when regent exits or panics, a fault
/// does not recover within a minute, or a `regent passwd` that should work fails.
pub fn run(plan: Plan) -> Findings {
    let mut stack = Stack::start(StackOptions::default());
    let load = Load::start(stack.addr, plan.concurrency);
    let mut phases = Vec::new();
    let begin = Instant::now();
    std::thread::sleep(plan.baseline);
    let now = Instant::now();
    phases.push(Phase {
        name: "baseline",
        start: begin,
        end: now,
        probe: Kind::Htpasswd,
        recovery: Duration::ZERO,
    });

    let mut fault =
        |name, probe, stack: &mut Stack, break_it: &dyn Fn(&mut Stack), repair: &dyn Fn(&mut Stack)| {
            let start = Instant::now();
            break_it(stack);
            std::thread::sleep(plan.outage);
            repair(stack);
            let repaired = Instant::now();
            let recovery = await_probe(stack.addr, probe, repaired, name);
            std::thread::sleep(plan.tail);
            stack.assert_regent_healthy();
            phases.push(Phase { name, start, end: Instant::now(), probe, recovery });
        };
    fault("slapd killed, restarted", Kind::Ldap, &mut stack, &|s| s.slapd.stop(), &|s| s.slapd.restart());
    fault(
        "registry killed, restarted",
        Kind::Proxied,
        &mut stack,
        &|s| signal(s.registry.pid(), Signal::SIGKILL),
        &|s| s.registry.restart(),
    );
    fault(
        "registry SIGSTOPped, continued",
        Kind::Proxied,
        &mut stack,
        &|s| signal(s.registry.pid(), Signal::SIGSTOP),
        &|s| signal(s.registry.pid(), Signal::SIGCONT),
    );
    let policy = stack.env.report.policies.join("10-namespaces.toml");
    let good_policy = std::fs::read_to_string(&policy).expect("read the policy");
    fault(
        "policy file broken, repaired",
        Kind::Htpasswd,
        &mut stack,
        &|_| std::fs::write(&policy, "[[allow]\nwho = [\"authenticated\"\n").expect("break the policy"),
        &|_| std::fs::write(&policy, &good_policy).expect("repair the policy"),
    );
    let good_htpasswd = std::fs::read_to_string(&stack.htpasswd).expect("read htpasswd");
    fault(
        "htpasswd file broken, repaired",
        Kind::Htpasswd,
        &mut stack,
        &|s| {
            std::fs::write(&s.htpasswd, "alice:not-a-hash\n:::\n\u{0}\u{1}binary\n").expect("break htpasswd")
        },
        &|s| std::fs::write(&s.htpasswd, &good_htpasswd).expect("repair htpasswd"),
    );

    let added: Vec<String> = (0..PARALLEL_PASSWD).map(|i| format!("load{i}")).collect();
    let config = stack.config.clone();
    fault(
        "30 regent passwd at once",
        Kind::Htpasswd,
        &mut stack,
        &|_| parallel_passwd(&config, &added),
        &|_| (),
    );
    let start = Instant::now();
    let filler = fill(stack.tmpfs.path());
    let out = passwd(&stack.config, "diskfull");
    assert!(!out.status.success(), "regent passwd succeeded on a full disk");
    let full_disk_error = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    std::thread::sleep(plan.outage);
    std::fs::remove_file(&filler).expect("free the disk");
    let repaired = Instant::now();
    let out = passwd(&stack.config, "diskfull");
    assert!(
        out.status.success(),
        "regent passwd after freeing the disk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recovery = await_login(stack.addr, "diskfull", repaired);
    std::thread::sleep(plan.tail);
    phases.push(Phase {
        name: "htpasswd disk full, freed",
        start,
        end: Instant::now(),
        probe: Kind::Htpasswd,
        recovery,
    });

    let samples = load.stop();
    stack.assert_regent_healthy();
    let text = std::fs::read_to_string(&stack.htpasswd).expect("read htpasswd");
    let expected =
        USERS.iter().map(|(user, _)| (*user).to_owned()).chain(added).chain(["diskfull".to_owned()]);
    let lost_entries =
        expected.filter(|user| !text.lines().any(|line| line.starts_with(&format!("{user}:")))).collect();
    let rss_kib = stack.rss_kib();
    let log_warnings = warnings(&stack.regent.log());
    Findings { phases, samples, lost_entries, full_disk_error, rss_kib, log_warnings }
}

/// The distinct WARN and ERROR messages of `log` (what follows the level; messages differing
/// only in numbers count once), at most 12.
fn warnings(log: &str) -> Vec<String> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for line in log.lines() {
        let Some(at) = line.find(" WARN ").or_else(|| line.find(" ERROR ")) else { continue };
        let message: String = line[at + 1..].chars().take(220).collect();
        let key: String = message.chars().filter(|c| !c.is_ascii_digit()).collect();
        if !seen.iter().any(|(k, _)| *k == key) && seen.len() < 12 {
            seen.push((key, message));
        }
    }
    seen.into_iter().map(|(_, message)| message).collect()
}

/// Sends `signal` to `pid`.
fn signal(pid: u32, signal: Signal) {
    kill(Pid::from_raw(i32::try_from(pid).expect("pid fits i32")), signal).expect("signal");
}

/// `regent passwd --config CONFIG --cost 4 USER` with the password `pw-USER` on stdin.
fn passwd(config: &std::path::Path, user: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regent"));
    command.arg("passwd").arg("--config").arg(config).args(["--cost", "4", user]).env_remove("REGENT_CONFIG");
    run_with_timeout(command, Duration::from_secs(120), Some(format!("pw-{user}\n").as_bytes()))
}

/// Runs `regent passwd` for every user at once; panics when one fails.
fn parallel_passwd(config: &std::path::Path, users: &[String]) {
    let threads: Vec<_> = users
        .iter()
        .map(|user| {
            let (config, user) = (config.to_owned(), user.clone());
            std::thread::spawn(move || (passwd(&config, &user), user))
        })
        .collect();
    for thread in threads {
        let (out, user) = thread.join().expect("a passwd thread panicked");
        assert!(out.status.success(), "regent passwd {user}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Fills the file system of `dir` with a file until it is full; returns the file.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create the filler");
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).and_then(|()| file.sync_data()).is_ok() {}
    path
}

/// Polls one request of `kind` until it succeeds; the time since `repaired`.
fn await_probe(addr: SocketAddr, kind: Kind, repaired: Instant, name: &str) -> Duration {
    let ok = || match kind {
        Kind::Htpasswd => token_ok(addr, "alice", "alice-pw"),
        Kind::Ldap => token_ok(addr, "carol", "carolpw"),
        Kind::Proxied => proxied_ok(addr),
    };
    poll(ok, repaired, name)
}

/// Polls a login of `user` (password `pw-USER`) until it gets a token.
fn await_login(addr: SocketAddr, user: &str, repaired: Instant) -> Duration {
    poll(|| token_ok(addr, user, &format!("pw-{user}")), repaired, user)
}

fn poll(ok: impl Fn() -> bool, since: Instant, what: &str) -> Duration {
    while !ok() {
        assert!(since.elapsed() < RECOVERY_DEADLINE, "{what}: not recovered within {RECOVERY_DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    since.elapsed()
}

/// The token answer for `user`, if 200.
fn token(addr: SocketAddr, user: &str, password: &str) -> Option<String> {
    let url = format!("http://{addr}/token?service={SERVICE}&scope=repository:{user}/app:pull");
    let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let answer = try_http_request("GET", &url, &[("Authorization", &auth)], b"").ok()?;
    (answer.status == 200).then(|| answer.json()["token"].as_str().map(str::to_owned)).flatten()
}

fn token_ok(addr: SocketAddr, user: &str, password: &str) -> bool {
    token(addr, user, password).is_some()
}

/// A proxied `GET /v2/` with alice's token answered 200.
fn proxied_ok(addr: SocketAddr) -> bool {
    let Some(token) = token(addr, "alice", "alice-pw") else { return false };
    let auth = format!("Bearer {token}");
    try_http_request("GET", &format!("http://{addr}/v2/"), &[("Authorization", &auth)], b"")
        .is_ok_and(|answer| answer.status == 200)
}

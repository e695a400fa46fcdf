//! What the fault-injection runs stand on: slapd, registry 2.8 and `regent serve` (a child
//! process) with htpasswd and LDAP backends, its plain listener answering `/token` and proxying
//! `/v2/` to the registry, and the htpasswd file on a small tmpfs of its own (so the disk can be
//! filled for its write).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::env::{LdapGroupSource, LdapOrder, TestEnv};
use crate::fixtures::{RegentServe, Registry, Slapd, free_port, run_with_timeout};

/// Size of the tmpfs that holds the htpasswd file.
const TMPFS_SIZE: &str = "1m";

/// A tmpfs mounted on a directory; unmounted (lazily) on drop.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of [`TMPFS_SIZE`] on `dir` (created); panics saying so when not permitted.
    pub fn mount(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("create the tmpfs mount point");
        let mut command = Command::new("mount");
        command.args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE},mode=0700"), "tmpfs"]).arg(dir);
        let out = run_with_timeout(command, Duration::from_secs(30), None);
        assert!(
            out.status.success(),
            "mounting a tmpfs (mount -t tmpfs) is not permitted here; this test needs root or \
             CAP_SYS_ADMIN to fill a disk: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir.to_owned())
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// How the stack is configured for one run.
#[derive(Debug, Clone, Copy)]
pub struct StackOptions {
    /// `[limits]` max_connections and max_connections_per_client (the idle-connection runs
    /// raise them).
    pub max_connections: usize,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self { max_connections: 4096 }
    }
}

/// The running programs. Dropped in field order: regent first.
pub struct Stack {
    /// `regent serve`.
    pub regent: RegentServe,
    /// registry 2.8 behind regent's listener.
    pub registry: Registry,
    /// The directory (LDAP users carol and dave).
    pub slapd: Slapd,
    /// Where regent listens (`/token` and the proxied `/v2/`).
    pub addr: SocketAddr,
    /// `regent.toml`.
    pub config: PathBuf,
    /// The htpasswd file (on [`Stack::tmpfs`]).
    pub htpasswd: PathBuf,
    /// The tmpfs holding the htpasswd file (unmounted after regent stopped).
    pub tmpfs: Tmpfs,
    /// The data directory made by `init`.
    pub env: TestEnv,
    /// Holds the tmpfs mount point and the log.
    _dir: tempfile::TempDir,
}

impl Stack {
    /// Starts slapd, the registry and regent; returns once regent logs `regent serving`.
    pub fn start(options: StackOptions) -> Self {
        raise_fd_limit();
        let dir = tempfile::Builder::new().prefix("faults-").tempdir().expect("temp dir");
        let slapd = Slapd::start();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let realm = format!("http://{addr}/token");
        let env = TestEnv::with_ldap(&realm, &slapd, LdapOrder::Last, LdapGroupSource::MemberOf);
        let registry = Registry::start(env.registry_auth(realm));
        let tmpfs = Tmpfs::mount(&dir.path().join("htpasswd-disk"));
        let htpasswd = tmpfs.path().join("htpasswd");
        std::fs::copy(&env.report.htpasswd, &htpasswd).expect("copy htpasswd onto the tmpfs");
        let config = env.config_path().to_owned();
        write_config(&config, addr, &registry.url(), &htpasswd, options);
        let log = dir.path().join("regent.log");
        let regent = RegentServe::serving(&config, &log);
        Self { regent, registry, slapd, addr, config, htpasswd, tmpfs, env, _dir: dir }
    }

    /// regent's resident set size in KiB (`VmRSS` of /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.regent.pid())
    }

    /// Panics unless regent is still running and its log has no panic.
    pub fn assert_regent_healthy(&mut self) {
        assert!(self.regent.exited().is_none(), "regent exited; its log:\n{}", self.regent.log());
        let log = self.regent.log();
        assert!(!log.contains("panicked"), "regent panicked; its log:\n{log}");
    }
}

/// `VmRSS` of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Raises this process's open-file limit to its hard limit (children, regent among them, inherit
/// it): the idle-connection runs hold thousands of sockets on each side.
fn raise_fd_limit() {
    let pid = std::process::id().to_string();
    let mut command = Command::new("prlimit");
    command.args(["--pid", &pid, "--nofile=unlimited:unlimited"]);
    let out = run_with_timeout(command, Duration::from_secs(10), None);
    if !out.status.success() {
        // Not allowed above the hard limit: raise the soft limit to the hard one instead.
        let hard = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|limits| {
                let line = limits.lines().find(|line| line.starts_with("Max open files"))?.to_owned();
                line.split_whitespace().nth(4).map(str::to_owned)
            })
            .unwrap_or_else(|| "4096".to_owned());
        let mut command = Command::new("prlimit");
        command.args(["--pid", &pid, &format!("--nofile={hard}:{hard}")]);
        let _ = run_with_timeout(command, Duration::from_secs(10), None);
    }
}

/// The soft open-file limit of this process.
pub fn fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    let line = limits.lines().find(|line| line.starts_with("Max open files")).expect("Max open files");
    line.split_whitespace().nth(3).and_then(|soft| soft.parse().ok()).unwrap_or(usize::MAX)
}

/// Rewrites init's `regent.toml`: the htpasswd file on the tmpfs, a 1 s LDAP identity cache (so
/// LDAP logins reach slapd), one plain listener proxying to `upstream`, short upstream timeouts
/// (a SIGSTOPped registry answers 504 in 2 s) and the connection limits of `options`.
fn write_config(config: &Path, addr: SocketAddr, upstream: &str, htpasswd: &Path, options: StackOptions) {
    let text = std::fs::read_to_string(config).expect("read regent.toml");
    let at = text.find("\n[[listen]]\n").expect("init writes a [[listen]]");
    let mut text = text[..at + 1].to_owned();
    assert!(text.contains("file = \"htpasswd\"\n"), "init's htpasswd line:\n{text}");
    text = text.replace("file = \"htpasswd\"\n", &format!("file = {:?}\n", htpasswd.display().to_string()));
    assert!(text.contains("cache_ttl = \"60s\"\n"), "the LDAP backend's cache_ttl:\n{text}");
    text = text.replace("cache_ttl = \"60s\"\n", "cache_ttl = \"1s\"\n");
    let max = options.max_connections;
    text.push_str(&format!(
        "\n[limits]\nmax_connections = {max}\nmax_connections_per_client = {max}\nidle_timeout = \"300s\"\n\
         header_read_timeout = \"300s\"\n\n[front]\nconnect_timeout = \"2s\"\nresponse_timeout = \"2s\"\n\n\
         [[listen]]\naddress = \"{addr}\"\nupstream = \"{upstream}\"\n"
    ));
    std::fs::write(config, text).expect("write regent.toml");
}

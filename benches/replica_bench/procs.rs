//! The processes of the replica benchmark: `regent serve` replicas sharing one data directory,
//! and Debian's HAProxy (`haproxy -db`) with the tests' configuration in front of them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::haproxy_config::config_text;

/// How long a process may take to be ready.
const READY: Duration = Duration::from_secs(30);

/// A child process killed and reaped on drop.
pub(crate) struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `127.0.0.1:PORT` that was free a moment ago.
pub(crate) fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr")
}

/// The status of `GET path` on `addr` and the body, `None` without an answer.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((status, answer))
}

/// Polls `ready` until it holds; panics naming `what` after [`READY`] or when `child` exits.
fn wait(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + READY;
    while !ready() {
        assert!(child.try_wait().expect("poll").is_none(), "{what} exited");
        assert!(Instant::now() < deadline, "{what} not ready within {READY:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `regent serve --config CONFIG --listen ADDR` (warnings only), ready when `/readyz` is 200.
pub(crate) fn regent(config: &Path, addr: SocketAddr) -> Guard {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regent"))
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &addr.to_string()])
        .env_remove("REGENT_CONFIG")
        .env("RUST_LOG", "regent=warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start regent serve");
    wait(&mut child, "regent serve", || get(addr, "/readyz").is_some_and(|(status, _)| status == 200));
    Guard(child)
}

/// HAProxy on `frontend` balancing over `servers`, ready when every server is `UP`.
pub(crate) fn haproxy(dir: &Path, frontend: SocketAddr, servers: &[SocketAddr]) -> Guard {
    let program = Path::new("/usr/sbin/haproxy");
    assert!(program.exists(), "{} is missing: apt-get install -y haproxy", program.display());
    let stats = free_addr();
    let config = dir.join(format!("haproxy-{}.cfg", frontend.port()));
    std::fs::write(&config, config_text(frontend, stats, servers, None)).expect("write haproxy.cfg");
    let mut child = Command::new(program)
        .arg("-db")
        .arg("-f")
        .arg(&config)
        .stdout(Stdio::null())
        .spawn()
        .expect("start haproxy");
    let up = || {
        get(stats, "/stats;csv").is_some_and(|(_, csv)| {
            csv.lines().filter(|line| line.starts_with("regent,r") && line.contains(",UP,")).count()
                == servers.len()
        })
    };
    wait(&mut child, "haproxy", up);
    Guard(child)
}

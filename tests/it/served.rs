//! `regent serve`, the binary, on a [`TestEnv`]'s data directory: its listener moved to a free
//! loopback port, stderr in a log file, ready once `/healthz` answers; killed on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::TestEnv;
use crate::fixtures::{ChildGuard, free_port, http_get};

/// How long `regent serve` may take to answer `/healthz`.
const READY: Duration = Duration::from_secs(30);

/// A running `regent serve --config DATA/regent.toml`.
pub struct ServedRegent {
    /// The process.
    _child: ChildGuard,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its stderr.
    log_path: PathBuf,
}

impl ServedRegent {
    /// Rewrites `init`'s listener (`127.0.0.1:5001`) in `env`'s regent.toml to a free port and
    /// serves it with `RUST_LOG=rust_log` and `NO_COLOR=1`.
    pub fn start(env: &TestEnv, rust_log: &str) -> Self {
        let port = free_port();
        let text = std::fs::read_to_string(env.config_path()).expect("regent.toml");
        let text = text.replace("address = \"127.0.0.1:5001\"", &format!("address = \"127.0.0.1:{port}\""));
        assert!(text.contains(&format!("127.0.0.1:{port}")), "init's listener was rewritten:\n{text}");
        std::fs::write(env.config_path(), text).expect("write regent.toml");
        let log_path = env.config_path().with_file_name("serve.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_regent"))
            .args(["serve", "--config"])
            .arg(env.config_path())
            .env_remove("REGENT_CONFIG")
            .env("RUST_LOG", rust_log)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn regent serve");
        let mut child = ChildGuard(child);
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + READY;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.exited() {
                panic!(
                    "regent serve exited ({status}):\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "regent serve did not come up within {READY:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let health = http_get(&format!("{base}/healthz"), &[]);
        assert_eq!((health.status, health.body.as_str()), (200, "ok\n"), "regent serve's /healthz");
        Self { _child: child, base, log_path }
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("{}/token", self.base)
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

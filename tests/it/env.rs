//! A regent data directory made by `regent init` (the library call), with test users, and the
//! server built from it exactly as `regent serve` builds it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use regent::authn::htpasswd::set_password;
use regent::clock::{Clock, ShiftedClock, SystemClock};
use regent::config::Config;
use regent::http::AppState;
use regent::init::{InitOptions, InitReport, init};
use regent::policy::examples::EXAMPLE_POLICIES;
use regent::secret::Secret;
use regent::server::{build_state, run};
use regent::token::KeyType;
use tokio::sync::oneshot;

/// The service name every test environment uses.
pub const SERVICE: &str = "registry.test";
/// The issuer every test environment uses.
pub const ISSUER: &str = "regent-test";

/// Test users: (name, password). `admin` is in group `admins`, `dev` in `developers`.
pub const USERS: &[(&str, &str)] =
    &[("alice", "alice-pw"), ("bob", "bob-pw"), ("admin", "admin-pw"), ("dev", "dev-pw")];

/// A data directory made by `init`, plus the test users.
pub struct TestEnv {
    /// Keeps the directory alive.
    _dir: tempfile::TempDir,
    /// What `init` reported.
    pub report: InitReport,
    /// The loaded configuration.
    pub config: Config,
}

impl TestEnv {
    /// `init` into a fresh directory with `realm`, then adds the test users and groups.
    pub fn new(realm: &str) -> Self {
        Self::with_key_type(realm, KeyType::Rsa)
    }

    /// Like [`TestEnv::new`], with a signing key of `key_type` (`regent init --key-type`).
    pub fn with_key_type(realm: &str, key_type: KeyType) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        let opts = InitOptions {
            dir: root.clone(),
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            realm: realm.into(),
            key_type,
            ..InitOptions::default()
        };
        let report = init(&opts, EXAMPLE_POLICIES, SystemClock.now()).expect("init");
        let config = Config::load(&root.join("regent.toml")).expect("config from init loads");
        let htpasswd = root.join("htpasswd");
        for (user, password) in USERS {
            set_password(&htpasswd, user, &Secret::new(*password), 4).expect("set_password");
        }
        append(&root.join("groups"), "admins: admin\ndevelopers: dev\n");
        Self { _dir: dir, report, config }
    }

    /// The server state, as `regent serve` builds it, with `clock`.
    pub fn state_with_clock(&self, clock: Arc<dyn Clock>) -> AppState {
        build_state(&self.config, clock).expect("build_state")
    }

    /// The server state with the system clock.
    pub fn state(&self) -> AppState {
        self.state_with_clock(Arc::new(SystemClock))
    }
}

fn append(path: &Path, text: &str) {
    let mut current = std::fs::read_to_string(path).unwrap_or_default();
    current.push_str(text);
    std::fs::write(path, current).expect("write groups");
}

/// Binds 127.0.0.1:0 and returns the listener with the realm URL it will serve.
pub fn bind_realm() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let realm = format!("http://{}/token", listener.local_addr().expect("addr"));
    (listener, realm)
}

/// A regent server on a pre-bound loopback listener in a background runtime; stops on drop.
pub struct RunningRegent {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningRegent {
    /// Serves `env`'s configuration on `listener` with the clock shifted back by `behind`.
    pub fn start(env: &TestEnv, listener: std::net::TcpListener, behind: Duration) -> Self {
        let config = env.config.clone();
        listener.set_nonblocking(true).expect("nonblocking");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
                let state = build_state(&config, Arc::new(ShiftedClock { behind })).expect("build_state");
                run(vec![listener], state, async move {
                    let _ = stopped.await;
                })
                .await
                .expect("server run");
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).expect("server address");
        Self { addr, stop: Some(stop), thread: Some(thread) }
    }

    /// `http://ADDR/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }
}

impl Drop for RunningRegent {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

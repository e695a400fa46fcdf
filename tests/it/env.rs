//! A regent data directory made by `regent init` (the library call), with test users, and the
//! server built from it exactly as `regent serve` builds it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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

use crate::fixtures::{RegistryAuth, Slapd, ldif};

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
    /// `regent.toml` in the data directory.
    config_path: PathBuf,
}

impl TestEnv {
    /// The `auth.token` settings of a registry 2.8 that trusts this data directory's signing
    /// certificate, with [`SERVICE`], [`ISSUER`] and clients sent to `realm`.
    pub fn registry_auth(&self, realm: String) -> RegistryAuth {
        RegistryAuth {
            realm,
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            rootcertbundle: self.report.certificate.clone(),
        }
    }

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
        Self { _dir: dir, report, config, config_path: root.join("regent.toml") }
    }

    /// Like [`TestEnv::new`], with an `[[authn]]` LDAP backend named [`LDAP_BACKEND`] for
    /// `slapd` written into `regent.toml` (before or after the htpasswd one, per `order`) and
    /// the file loaded again with [`Config::load`], so the real parser reads it.
    pub fn with_ldap(realm: &str, slapd: &Slapd, order: LdapOrder, groups: LdapGroupSource) -> Self {
        let mut env = Self::new(realm);
        let root = env.config_path.parent().expect("data dir").to_owned();
        std::fs::write(root.join("ldap-password"), format!("{}\n", ldif::SERVICE_PASSWORD))
            .expect("write ldap-password");
        let text = std::fs::read_to_string(&env.config_path).expect("read regent.toml");
        let block = ldap_authn_toml(slapd, groups);
        // init writes one active `[[authn]]` (htpasswd), then `[policy]`; the commented
        // examples between them start with `#`, so the line matches are unambiguous.
        let anchor = match order {
            LdapOrder::First => "\n[[authn]]\n",
            LdapOrder::Last => "\n[policy]\n",
        };
        let at = text.find(anchor).unwrap_or_else(|| panic!("{anchor:?} not in regent.toml:\n{text}"));
        let text = format!("{}\n{block}{}", &text[..at], &text[at..]);
        std::fs::write(&env.config_path, text).expect("write regent.toml");
        env.config = Config::load(&env.config_path).expect("regent.toml with LDAP loads");
        env
    }

    /// `regent.toml` in the data directory (what `regent --config` is given).
    pub fn config_path(&self) -> &Path {
        &self.config_path
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

/// The name of the LDAP backend [`TestEnv::with_ldap`] configures.
pub const LDAP_BACKEND: &str = "corp";
/// Its `connect_timeout` and `timeout` (short: the outage tests wait for them).
pub const LDAP_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the LDAP backend goes in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapOrder {
    /// Before htpasswd: LDAP decides for the names it knows.
    First,
    /// After htpasswd.
    Last,
}

/// Where the LDAP backend takes groups from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapGroupSource {
    /// The user entry's `memberOf` (the memberof overlay).
    MemberOf,
    /// A `groupOfNames` search under ou=groups with the user's DN.
    GroupSearch,
}

/// The `[[authn]]` table: search mode with the fixture's service account (password from the
/// file `ldap-password`), no `login_attribute` (the default: `uid`, which the filter matches),
/// a 60 s cache and [`LDAP_TIMEOUT`].
pub fn ldap_authn_toml(slapd: &Slapd, groups: LdapGroupSource) -> String {
    let timeout = format!("{}s", LDAP_TIMEOUT.as_secs());
    let groups = match groups {
        LdapGroupSource::MemberOf => "group_attribute = \"memberOf\"\n".to_owned(),
        LdapGroupSource::GroupSearch => format!(
            "group_search_base = \"{}\"\ngroup_filter = \"(&(objectClass=groupOfNames)(member=${{dn}}))\"\n",
            ldif::GROUPS
        ),
    };
    format!(
        "[[authn]]
name = \"{LDAP_BACKEND}\"
kind = \"ldap\"
url = \"{url}\"
bind_dn = \"{bind_dn}\"
bind_password_file = \"ldap-password\"
base = \"{base}\"
filter = \"(&(objectClass=inetOrgPerson)(uid=${{user}}))\"
{groups}pool_size = 2
connect_timeout = \"{timeout}\"
timeout = \"{timeout}\"
cache_ttl = \"60s\"
",
        url = slapd.url(),
        bind_dn = ldif::SERVICE_DN,
        base = ldif::PEOPLE,
    )
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

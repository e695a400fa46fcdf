//! regent's front end in a background runtime, on pre-bound loopback listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use regent::clock::SystemClock;
use regent::config::{FrontConfig, LimitsConfig, TlsConfig};
use regent::front::CertificateStore;
use regent::server::{BoundListener, build_state, run_listeners};
use tokio::sync::oneshot;

use super::pki::TestCerts;
use crate::env::TestEnv;
use crate::fixtures::Registry;

/// One listener to serve.
pub struct ListenerSpec {
    /// Bound to 127.0.0.1:0 (or a port the realm already names).
    pub listener: std::net::TcpListener,
    /// Certificates: TLS; `None`: plain HTTP.
    pub tls: Option<TlsConfig>,
    /// The registry behind it.
    pub upstream: Option<String>,
    /// Peers whose forwarding headers are kept.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ListenerSpec {
    /// A fresh loopback listener.
    pub fn new(tls: Option<TlsConfig>, upstream: Option<String>) -> Self {
        Self {
            listener: std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
            tls,
            upstream,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A running front end; stopped (gracefully) on drop.
pub struct FrontServer {
    /// The listeners' addresses, in the order given.
    pub addrs: Vec<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    finished: mpsc::Receiver<()>,
}

impl FrontServer {
    /// Serves `env`'s token service on `specs` with `front`'s routes and timeouts.
    pub fn start(env: &TestEnv, specs: Vec<ListenerSpec>, front: FrontConfig) -> Self {
        Self::start_with_limits(env, specs, front, LimitsConfig::default())
    }

    /// [`FrontServer::start`] within `limits`.
    pub fn start_with_limits(
        env: &TestEnv,
        specs: Vec<ListenerSpec>,
        front: FrontConfig,
        limits: LimitsConfig,
    ) -> Self {
        let config = env.config.clone();
        let addrs: Vec<SocketAddr> = specs.iter().map(|s| s.listener.local_addr().unwrap()).collect();
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready) = mpsc::channel::<()>();
        let (finished_tx, finished) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let mut bound = Vec::new();
                for spec in specs {
                    spec.listener.set_nonblocking(true).unwrap();
                    let listener = tokio::net::TcpListener::from_std(spec.listener).unwrap();
                    bound.push(BoundListener {
                        address: listener.local_addr().unwrap(),
                        listener,
                        tls: spec.tls.as_ref().map(|tls| CertificateStore::load(tls).unwrap()),
                        upstream: spec.upstream.map(|u| u.parse().unwrap()),
                        trusted_proxies: spec.trusted_proxies,
                    });
                }
                let state = build_state(&config, Arc::new(SystemClock)).unwrap();
                ready_tx.send(()).unwrap();
                run_listeners(bound, &front, &limits, state, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
            let _ = finished_tx.send(());
        });
        ready.recv_timeout(Duration::from_secs(30)).expect("the front end starts");
        Self { addrs, stop: Some(stop), finished }
    }

    /// The first listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Signals shutdown; true when every connection finished and the server returned within
    /// `limit`.
    pub fn stop_within(&mut self, limit: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finished.recv_timeout(limit).is_ok()
    }
}

impl Drop for FrontServer {
    fn drop(&mut self) {
        let _ = self.stop_within(Duration::from_secs(10));
    }
}

/// The real registry (2.8) behind regent's TLS front end on one listener, its realm
/// `https://HOST/token` on that listener; everything stopped on drop.
pub struct RegistryBehindTls {
    /// The CA and the listener's certificate.
    pub certs: TestCerts,
    /// `127.0.0.1:PORT` of the TLS listener (the registry's public name).
    pub host: String,
    /// The front end (dropped before the registry).
    _server: FrontServer,
    /// The registry.
    _registry: Registry,
    /// regent's data directory.
    _env: TestEnv,
}

impl RegistryBehindTls {
    /// Starts the registry, then regent's front end within `limits` in front of it.
    pub fn start(limits: LimitsConfig) -> Self {
        let certs = TestCerts::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let env = TestEnv::new(&format!("https://{host}/token"));
        let registry = Registry::start(env.registry_auth(format!("https://{host}/token")));
        let spec = ListenerSpec {
            listener,
            tls: Some(certs.tls.clone()),
            upstream: Some(registry.url()),
            trusted_proxies: Vec::new(),
        };
        let server = FrontServer::start_with_limits(&env, vec![spec], FrontConfig::default(), limits);
        Self { certs, host, _server: server, _registry: registry, _env: env }
    }
}

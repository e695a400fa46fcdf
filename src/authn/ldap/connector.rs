//! Connections to the configured servers: the first server that is up (see `servers`) is
//! connected to (TCP, ldaps or StartTLS, all within `connect_timeout`); a server that fails to
//! connect, times out on a bind or search (`timeout`), breaks a fresh connection or answers
//! busy is marked down, and the next one is used. Down servers are probed in the background
//! (a connection and a bind: the service account in search mode, anonymous otherwise), never
//! by a user's login, and used again once they answer. A server with an operation pending for
//! more than half the `timeout` is connected to after the others (it may be hanging; logins
//! that gave up waiting for the pool must not queue behind it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, SearchEntry};
use rustls::ClientConfig;

use super::conn::{self, BindResult, SearchRequest};
use super::error::{Outage, OutageKind};
use super::servers::{MarkedDown, Servers, Usable};
use super::steps::Steps;
use crate::secret::Secret;

/// How the prober binds to see whether a down server answers again.
pub(super) enum ProbeBind {
    /// As the service account (search mode).
    Service {
        /// Its DN.
        dn: String,
        /// Its password.
        password: Secret,
    },
    /// Anonymously (direct-bind mode has no account of its own); any answer will do.
    Anonymous,
}

/// The connection settings of one backend, and its servers' health.
pub(super) struct Connector {
    /// The backend's name (for the log).
    backend: String,
    /// The servers, in order of preference, and which are up.
    servers: Servers,
    /// Upgrade `ldap://` with StartTLS.
    starttls: bool,
    /// TLS settings trusting the configured CA; `None`: the client's default (system roots).
    tls: Option<Arc<ClientConfig>>,
    /// Time allowed for TCP + TLS + StartTLS.
    connect_timeout: Duration,
    /// Time allowed for one bind or search.
    timeout: Duration,
    /// What the prober binds as.
    probe_bind: ProbeBind,
    /// How many connections were opened so far (probes included).
    opened: AtomicU64,
}

/// An open connection and the server (and its epoch) it goes to.
pub(super) struct ServerConn {
    /// The connection.
    pub(super) ldap: Ldap,
    /// Where it goes.
    pub(super) server: Usable,
}

/// The connection settings of [`Connector::new`].
pub(super) struct ConnectSettings {
    /// Server URLs, in order of preference.
    pub(super) urls: Vec<String>,
    /// StartTLS on `ldap://`.
    pub(super) starttls: bool,
    /// The TLS client settings, when a CA file is configured.
    pub(super) tls: Option<Arc<ClientConfig>>,
    /// `connect_timeout`.
    pub(super) connect_timeout: Duration,
    /// `timeout`.
    pub(super) timeout: Duration,
}

impl Connector {
    /// A connector for backend `backend` with `settings`; the prober binds as `probe_bind`.
    pub(super) fn new(backend: &str, settings: ConnectSettings, probe_bind: ProbeBind) -> Arc<Self> {
        Arc::new(Self {
            backend: backend.to_owned(),
            servers: Servers::new(settings.urls),
            starttls: settings.starttls,
            tls: settings.tls,
            connect_timeout: settings.connect_timeout,
            timeout: settings.timeout,
            probe_bind,
            opened: AtomicU64::new(0),
        })
    }

    /// How many connections were opened so far.
    pub(super) fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Each server's URL and whether it is up.
    pub(super) fn server_states(&self) -> Vec<(String, bool)> {
        self.servers.states()
    }

    /// How many servers are configured.
    pub(super) fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Whether `conn`'s server is still up in the epoch it was opened in.
    pub(super) fn is_current(&self, conn: &ServerConn) -> bool {
        self.servers.is_current(conn.server)
    }

    /// A connection to the first server that is up and connects; each one that does not is
    /// marked down. No server up: an outage at once, naming why each is down.
    pub(super) async fn connect(self: &Arc<Self>, steps: &mut Steps<'_>) -> Result<ServerConn, Outage> {
        let mut failures = Vec::new();
        let now = Instant::now();
        let stalled_since = now.checked_sub(self.timeout / 2).unwrap_or(now);
        for server in self.servers.usable(stalled_since) {
            let url = self.servers.url(server.index);
            let security = self.security(url);
            match self.open(url).await {
                Ok(ldap) => {
                    steps.record(|| format!("connected to {url} ({security})"));
                    return Ok(ServerConn { ldap, server });
                }
                Err(error) => {
                    steps.record(|| format!("cannot connect to {url} ({security}): {error}"));
                    self.mark_down(server, &format!("connecting: {error}"));
                    failures.push(format!("{url}: {error}"));
                }
            }
        }
        if failures.is_empty() {
            let down = self.servers.down_reasons(Instant::now());
            steps.record(|| format!("every server is marked down: {}", down.join("; ")));
            return Err(Outage::new(format!("every LDAP server is marked down ({})", down.join("; "))));
        }
        Err(Outage::new(format!("no LDAP server reachable ({})", failures.join("; "))))
    }

    /// A simple bind on `conn` within `timeout`; a server failure marks the server down (a
    /// broken `reused` connection does not: the server may just have closed it).
    pub(super) async fn bind(
        self: &Arc<Self>,
        conn: &mut ServerConn,
        dn: &str,
        password: &str,
        reused: bool,
    ) -> Result<BindResult, Outage> {
        let _pending = self.pending(conn.server);
        let result = conn::bind(&mut conn.ldap, dn, password, self.timeout).await;
        result.map_err(|outage| self.judge(conn.server, outage, reused))
    }

    /// A search on `conn` within `timeout`; failures as for [`Connector::bind`].
    pub(super) async fn search(
        self: &Arc<Self>,
        conn: &mut ServerConn,
        request: &SearchRequest<'_>,
        reused: bool,
    ) -> Result<Vec<SearchEntry>, Outage> {
        let _pending = self.pending(conn.server);
        let result = conn::search(&mut conn.ldap, request, self.timeout).await;
        result.map_err(|outage| self.judge(conn.server, outage, reused))
    }

    /// Counts an operation on `server` until the guard is dropped.
    fn pending(&self, server: Usable) -> Pending<'_> {
        Pending { servers: &self.servers, id: self.servers.begin(server.index, Instant::now()) }
    }

    /// `outage` of an operation on `server`: when the server failed, it is marked down and the
    /// request may fail over to the next server.
    fn judge(self: &Arc<Self>, server: Usable, mut outage: Outage, reused: bool) -> Outage {
        if outage.server_failed() && !(reused && outage.kind == OutageKind::Broken) {
            self.mark_down(server, &outage.reason);
            outage.failover = true;
        }
        outage
    }

    /// Marks `server` down (once per epoch, logged) and starts the prober when none runs.
    fn mark_down(self: &Arc<Self>, server: Usable, reason: &str) {
        let marked = self.servers.mark_down(server, reason, Instant::now());
        if marked == MarkedDown::Already {
            return;
        }
        tracing::warn!(
            backend = self.backend,
            url = self.servers.url(server.index),
            reason,
            "LDAP server marked down: logins use the next server until it answers a probe"
        );
        if marked == MarkedDown::StartProber {
            tokio::spawn(probe_down_servers(Arc::downgrade(self)));
        }
    }

    /// A connection to `url` (TCP, then TLS as configured), all within `connect_timeout`.
    async fn open(&self, url: &str) -> Result<Ldap, String> {
        let starttls = self.starttls && url.starts_with("ldap://");
        let mut settings =
            LdapConnSettings::new().set_conn_timeout(self.connect_timeout).set_starttls(starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(Arc::clone(tls));
        }
        match LdapConnAsync::with_settings(settings, url).await {
            Ok((conn, ldap)) => {
                self.opened.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Err(error) = conn.drive().await {
                        tracing::debug!(%error, "LDAP connection ended");
                    }
                });
                Ok(ldap)
            }
            Err(ldap3::LdapError::Timeout { .. }) => {
                Err(format!("timed out after {:?}", self.connect_timeout))
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// How `url` is secured, in words.
    fn security(&self, url: &str) -> &'static str {
        match (url.starts_with("ldaps://"), self.starttls) {
            (true, _) => "TLS (ldaps)",
            (false, true) => "StartTLS",
            (false, false) => "no TLS",
        }
    }

    /// Whether down server `index` answers: connects and binds (any LDAP answer but busy).
    async fn probe(&self, index: usize) -> Result<(), String> {
        let mut ldap = self.open(self.servers.url(index)).await?;
        let (dn, password) = match &self.probe_bind {
            ProbeBind::Service { dn, password } => (dn.as_str(), password.expose()),
            ProbeBind::Anonymous => ("", ""),
        };
        match conn::bind(&mut ldap, dn, password, self.timeout).await {
            Ok(_) => Ok(()),
            Err(outage) if outage.server_failed() => Err(outage.reason),
            Err(_answered) => Ok(()),
        }
    }
}

/// An operation in flight on a server, counted until dropped.
struct Pending<'a> {
    /// Where it is counted.
    servers: &'a Servers,
    /// Its id there.
    id: u64,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.servers.end(self.id);
    }
}

/// The background prober: while some server is down, probes each when due, and brings the
/// ones that answer back into use. Ends when no server is down or the backend is dropped.
async fn probe_down_servers(connector: Weak<Connector>) {
    loop {
        let Some(strong) = connector.upgrade() else { return };
        let Some((due, next)) = strong.servers.due(Instant::now()) else { return };
        if due.is_empty() {
            drop(strong);
            tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
            continue;
        }
        let probes = due.iter().map(|&index| {
            let connector = &strong;
            async move { (index, connector.probe(index).await) }
        });
        for (index, answered) in futures::future::join_all(probes).await {
            let url = strong.servers.url(index);
            let error = answered.as_ref().err().cloned();
            match strong.servers.probed(index, answered, Instant::now()) {
                Some(down_for) => tracing::info!(
                    backend = strong.backend,
                    url,
                    down_secs = down_for.as_secs(),
                    "LDAP server answers again: back in use"
                ),
                None => tracing::debug!(backend = strong.backend, url, ?error, "LDAP server still down"),
            }
        }
    }
}

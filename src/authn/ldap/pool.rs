//! A bounded pool of service-account connections (search mode), and [`Directory`]: where a
//! search goes (the pool, or the connection the user bound on in direct-bind mode).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ldap3::SearchEntry;
use tokio::sync::Semaphore;

use super::conn::{BindResult, SearchRequest};
use super::connector::{Connector, ServerConn};
use super::error::{Outage, OutageKind};
use super::steps::Steps;
use crate::secret::Secret;

/// How many one-off connections per pooled one may be open at once (see [`ServicePool`]).
const OVERFLOW_FACTOR: usize = 8;

/// Up to `size` connections bound as the service account, reused across requests.
///
/// A connection is checked out for one operation; one whose socket closed, or whose server was
/// marked down since it was opened, is dropped at checkout; one an operation failed on is
/// never put back. When an operation fails because a reused connection broke (the server
/// restarted), it is retried on the next connection.
///
/// Waiting for a pooled connection is bounded by `timeout`: a login that waited that long (the
/// pooled ones are stuck on a server that stopped answering) opens a one-off connection, which
/// goes to a server that is up. At most `OVERFLOW_FACTOR` x `size` of those are open at once;
/// past that the login is an outage at once.
pub(super) struct ServicePool {
    /// The service account's DN.
    bind_dn: String,
    /// The service account's password.
    bind_password: Secret,
    /// The longest wait for a pooled connection.
    timeout: Duration,
    /// Connections not in use.
    idle: Mutex<Vec<ServerConn>>,
    /// At most `size` connections exist (in use or idle).
    slots: Semaphore,
    /// At most `OVERFLOW_FACTOR` x `size` one-off connections are open.
    overflow: Semaphore,
    /// The most connections.
    size: usize,
}

impl ServicePool {
    /// An empty pool of at most `size` (at least one) connections bound as `bind_dn`.
    pub(super) fn new(bind_dn: String, bind_password: Secret, size: usize, timeout: Duration) -> Self {
        let size = size.max(1);
        Self {
            bind_dn,
            bind_password,
            timeout,
            idle: Mutex::new(Vec::with_capacity(size)),
            slots: Semaphore::new(size),
            overflow: Semaphore::new(size * OVERFLOW_FACTOR),
            size,
        }
    }

    /// How many connections are checked out for an operation now.
    pub(super) fn in_use(&self) -> usize {
        self.size.saturating_sub(self.slots.available_permits())
    }

    /// Runs `request` on a pooled connection (opening and binding one when none is idle), or
    /// on a one-off connection when none was free within `timeout`.
    pub(super) async fn search(
        &self,
        connector: &Arc<Connector>,
        request: &SearchRequest<'_>,
        steps: &mut Steps<'_>,
    ) -> Result<Vec<SearchEntry>, Outage> {
        let _slot = match tokio::time::timeout(self.timeout, self.slots.acquire()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => return Err(Outage::new("the connection pool is closed")),
            Err(_) => return self.search_one_off(connector, request, steps).await,
        };
        loop {
            let (mut conn, reused) = match self.take_idle(connector) {
                Some(conn) => {
                    steps.record(|| "using a pooled service-account connection".to_owned());
                    (conn, true)
                }
                None => (self.open(connector, steps).await?, false),
            };
            match connector.search(&mut conn, request, reused).await {
                Ok(entries) => {
                    self.lock().push(conn);
                    return Ok(entries);
                }
                Err(outage) if outage.kind == OutageKind::Broken && reused => {
                    steps.record(|| format!("pooled connection broke ({}); reconnecting", outage.reason));
                    tracing::info!(reason = %outage.reason, "pooled LDAP connection broke; reconnecting");
                }
                Err(outage) => return Err(outage),
            }
        }
    }

    /// `request` on a connection of its own, closed afterwards (every pooled one was busy).
    async fn search_one_off(
        &self,
        connector: &Arc<Connector>,
        request: &SearchRequest<'_>,
        steps: &mut Steps<'_>,
    ) -> Result<Vec<SearchEntry>, Outage> {
        let Ok(_extra) = self.overflow.try_acquire() else {
            return Err(Outage::new(format!(
                "every pooled LDAP connection was busy for {:?}, and {} one-off connections are open",
                self.timeout,
                self.size * OVERFLOW_FACTOR
            )));
        };
        steps.record(|| format!("no pooled connection free within {:?}: a one-off connection", self.timeout));
        let mut conn = self.open(connector, steps).await?;
        connector.search(&mut conn, request, false).await
    }

    /// How many connections are idle now (those of servers marked down since not counted).
    pub(super) fn idle_count(&self, connector: &Connector) -> usize {
        self.lock().iter().filter(|conn| connector.is_current(conn)).count()
    }

    /// An idle connection whose socket is open and whose server is still up in the epoch it was
    /// opened in; the others are dropped.
    fn take_idle(&self, connector: &Connector) -> Option<ServerConn> {
        let mut idle = self.lock();
        while let Some(mut conn) = idle.pop() {
            if !conn.ldap.is_closed() && connector.is_current(&conn) {
                return Some(conn);
            }
        }
        None
    }

    /// A new connection bound as the service account.
    async fn open(&self, connector: &Arc<Connector>, steps: &mut Steps<'_>) -> Result<ServerConn, Outage> {
        let mut conn = connector.connect(steps).await?;
        let dn = &self.bind_dn;
        match connector.bind(&mut conn, dn, self.bind_password.expose(), false).await {
            Ok(BindResult::Success) => {
                steps.record(|| format!("bound as the service account {dn:?}"));
                Ok(conn)
            }
            Ok(BindResult::Refused(_, result)) => {
                steps.record(|| format!("service account bind as {dn:?} refused: {result}"));
                Err(Outage::new(format!("the service account bind as {dn:?} was refused: {result}")))
            }
            Err(outage) => {
                steps.record(|| format!("service account bind failed: {}", outage.reason));
                Err(outage)
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ServerConn>> {
        // A Vec of handles stays consistent after a panic elsewhere: keep using it.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where searches for the user's entry and groups go.
pub(super) enum Directory<'a> {
    /// Pooled service-account connections (search mode).
    Pool(&'a ServicePool, &'a Arc<Connector>),
    /// The connection the user bound on (direct-bind mode).
    Bound(&'a mut ServerConn, &'a Arc<Connector>),
}

impl Directory<'_> {
    /// Runs `request`.
    pub(super) async fn search(
        &mut self,
        request: &SearchRequest<'_>,
        steps: &mut Steps<'_>,
    ) -> Result<Vec<SearchEntry>, Outage> {
        match self {
            Directory::Pool(pool, connector) => pool.search(connector, request, steps).await,
            Directory::Bound(conn, connector) => connector.search(conn, request, false).await,
        }
    }
}

//! A bounded pool of service-account connections (search mode), and [`Directory`]: where a
//! search goes (the pool, or the connection the user bound on in direct-bind mode).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ldap3::{Ldap, SearchEntry};
use tokio::sync::Semaphore;

use super::conn::{self, BindResult, Connector, SearchRequest};
use super::error::Outage;
use super::steps::Steps;
use crate::secret::Secret;

/// Up to `size` connections bound as the service account, reused across requests.
///
/// A connection is checked out for one operation; one whose socket closed is dropped at
/// checkout, and one an operation failed on is never put back. When an operation fails because
/// a reused connection broke (the server restarted), it is retried on the next connection.
pub(super) struct ServicePool {
    /// The service account's DN.
    bind_dn: String,
    /// The service account's password.
    bind_password: Secret,
    /// Time allowed for one bind or search.
    timeout: Duration,
    /// Connections not in use.
    idle: Mutex<Vec<Ldap>>,
    /// At most `size` connections exist (in use or idle).
    slots: Semaphore,
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
            size,
        }
    }

    /// How many connections are checked out for an operation now.
    pub(super) fn in_use(&self) -> usize {
        self.size.saturating_sub(self.slots.available_permits())
    }

    /// Runs `request` on a pooled connection (opening and binding one when none is idle).
    pub(super) async fn search(
        &self,
        connector: &Connector,
        request: &SearchRequest<'_>,
        steps: &mut Steps<'_>,
    ) -> Result<Vec<SearchEntry>, Outage> {
        let _slot = self.slots.acquire().await.map_err(|_| Outage::new("the connection pool is closed"))?;
        loop {
            let (mut ldap, reused) = match self.take_idle() {
                Some(ldap) => {
                    steps.record(|| "using a pooled service-account connection".to_owned());
                    (ldap, true)
                }
                None => (self.open(connector, steps).await?, false),
            };
            match conn::search(&mut ldap, request, self.timeout).await {
                Ok(entries) => {
                    self.lock().push(ldap);
                    return Ok(entries);
                }
                Err(outage) if outage.broken && reused => {
                    steps.record(|| format!("pooled connection broke ({}); reconnecting", outage.reason));
                    tracing::info!(reason = %outage.reason, "pooled LDAP connection broke; reconnecting");
                }
                Err(outage) => return Err(outage),
            }
        }
    }

    /// How many connections are idle now.
    pub(super) fn idle_count(&self) -> usize {
        self.lock().len()
    }

    /// An idle connection whose socket is still open, dropping closed ones.
    fn take_idle(&self) -> Option<Ldap> {
        let mut idle = self.lock();
        while let Some(mut ldap) = idle.pop() {
            if !ldap.is_closed() {
                return Some(ldap);
            }
        }
        None
    }

    /// A new connection bound as the service account.
    async fn open(&self, connector: &Connector, steps: &mut Steps<'_>) -> Result<Ldap, Outage> {
        let mut ldap = connector.connect(steps).await?;
        let dn = &self.bind_dn;
        match conn::bind(&mut ldap, dn, self.bind_password.expose(), self.timeout).await {
            Ok(BindResult::Success) => {
                steps.record(|| format!("bound as the service account {dn:?}"));
                Ok(ldap)
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

    fn lock(&self) -> MutexGuard<'_, Vec<Ldap>> {
        // A Vec of handles stays consistent after a panic elsewhere: keep using it.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where searches for the user's entry and groups go.
pub(super) enum Directory<'a> {
    /// Pooled service-account connections (search mode).
    Pool(&'a ServicePool, &'a Connector),
    /// The connection the user bound on (direct-bind mode), with the operation timeout.
    Bound(&'a mut Ldap, Duration),
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
            Directory::Bound(ldap, timeout) => conn::search(ldap, request, *timeout).await,
        }
    }
}

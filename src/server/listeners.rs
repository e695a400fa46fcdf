//! Listeners: [`bind_listeners`] binds the `[[listen]]` entries, and a [`ServedListener`] is
//! one being served, with the parts a changed `regent.toml` replaces (its routes, upstream,
//! trusted proxies and proxy, and its certificates' files).

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::http::Uri;
use tokio::net::TcpListener;

use super::ServerError;
use crate::config::{Config, FrontConfig, ListenConfig};
use crate::front::tls::NewCertificates;
use crate::front::{CertificateStore, ListenerFront, ListenerRoutes, LiveFront, Proxy};

/// A bound socket and what it serves: plain HTTP or TLS, and the registry behind it.
#[derive(Debug)]
pub struct BoundListener {
    /// The bound socket.
    pub listener: TcpListener,
    /// The address as configured; `[[front.route]]` entries name listeners by it.
    pub address: SocketAddr,
    /// The certificates, for a TLS listener.
    pub tls: Option<Arc<CertificateStore>>,
    /// The registry that requests other than regent's own paths go to.
    pub upstream: Option<Uri>,
    /// The peers whose forwarding headers are kept (`trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl BoundListener {
    /// A plain-HTTP listener with no upstream (regent's token service alone).
    pub fn plain(listener: TcpListener) -> Result<Self, ServerError> {
        let address = listener.local_addr()?;
        Ok(Self { listener, address, tls: None, upstream: None, trusted_proxies: Vec::new() })
    }
}

/// Binds every `[[listen]]` entry and loads its certificates. Must be called inside a tokio
/// runtime.
pub async fn bind_listeners(listen: &[ListenConfig]) -> Result<Vec<BoundListener>, ServerError> {
    let mut bound = Vec::with_capacity(listen.len());
    for entry in listen {
        let address = entry.address;
        let listener =
            TcpListener::bind(address).await.map_err(|error| ServerError::Bind { address, error })?;
        let tls = entry.tls.as_ref().map(CertificateStore::load).transpose()?;
        bound.push(BoundListener {
            listener,
            address,
            tls,
            upstream: entry.upstream.clone(),
            trusted_proxies: entry.trusted_proxies.clone(),
        });
    }
    Ok(bound)
}

/// A listener being served: what stays for its lifetime (its address, regent's router for
/// it, TLS or not) and what a reload replaces.
pub(super) struct ServedListener {
    /// The address as configured (`[[listen]] address` or `--listen`).
    pub(super) address: SocketAddr,
    /// regent's own router on it (with `/metrics` or without).
    app: Router,
    /// Whether it speaks TLS.
    tls: bool,
    /// Its routes, upstream, trusted proxies and proxy, as of now.
    pub(super) front: LiveFront,
    /// Its certificates, for a TLS listener.
    pub(super) certificates: Option<Arc<CertificateStore>>,
}

impl ServedListener {
    /// The served form of `bound`, answering regent's paths with `app`, proxying with `proxy`
    /// per `front`'s routes.
    pub(super) fn new(bound: &BoundListener, app: Router, front: &FrontConfig, proxy: Proxy) -> Self {
        let tls = bound.tls.is_some();
        let listener_front = ListenerFront {
            app: app.clone(),
            routes: ListenerRoutes::new(bound.address, bound.upstream.clone(), &front.routes),
            proxy,
            tls,
            trusted_proxies: bound.trusted_proxies.clone().into(),
        };
        Self {
            address: bound.address,
            app,
            tls,
            front: Arc::new(ArcSwap::from_pointee(listener_front)),
            certificates: bound.tls.clone(),
        }
    }

    /// This listener's `[[listen]]` entry in `config` (`None` for a `--listen` one).
    fn entry<'c>(&self, config: &'c Config) -> Option<&'c ListenConfig> {
        config.listen.iter().find(|listen| listen.address == self.address)
    }

    /// The certificates of `applied` when its `[listen.tls]` names other files than
    /// `running`'s, loaded (an error leaves everything as it is).
    pub(super) fn load_new_certificates(
        &self,
        running: &Config,
        applied: &Config,
    ) -> Result<Option<NewCertificates>, ServerError> {
        let tls = |config| self.entry(config).and_then(|listen| listen.tls.as_ref());
        match (tls(running), tls(applied)) {
            (Some(old), Some(new)) if old != new && self.certificates.is_some() => {
                Ok(Some(CertificateStore::prepare(new)?))
            }
            _ => Ok(None),
        }
    }

    /// Routes the next requests as `applied` says (its routes and this listener's upstream and
    /// trusted proxies) through `proxy`, and presents `certificates` to the next handshakes.
    pub(super) fn apply(&self, applied: &Config, proxy: Proxy, certificates: Option<NewCertificates>) {
        let entry = self.entry(applied);
        let upstream = entry.and_then(|listen| listen.upstream.clone());
        let trusted_proxies = entry.map(|listen| listen.trusted_proxies.clone()).unwrap_or_default();
        self.front.store(Arc::new(ListenerFront {
            app: self.app.clone(),
            routes: ListenerRoutes::new(self.address, upstream, &applied.front.routes),
            proxy,
            tls: self.tls,
            trusted_proxies: trusted_proxies.into(),
        }));
        if let (Some(store), Some(certificates)) = (&self.certificates, certificates) {
            store.replace(certificates);
        }
    }
}

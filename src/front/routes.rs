//! Which upstream a request goes to, and the one router every listener serves: regent's token
//! paths in-process for registry routes, everything else through the proxy.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use tower::ServiceExt;

use super::checks::refusal;
use super::headers::{Forwarding, client_host, host_name};
use super::proxy::Proxy;
use crate::config::RouteConfig;

/// The paths regent answers itself on registry routes (and when there is no upstream).
pub const TOKEN_PATHS: &[&str] =
    &["/token", "/auth/token", "/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"];

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http://host:port`.
    pub upstream: Uri,
    /// Whether it is a registry (then regent keeps its token paths).
    pub registry: bool,
}

/// The routes of one listener: its `[[front.route]]` entries, then its own upstream.
#[derive(Debug, Clone)]
pub struct ListenerRoutes {
    /// The `[[front.route]]` entries that apply to this listener, in file order.
    routes: Arc<[RouteConfig]>,
    /// The listener's `upstream` (a registry), for requests no route takes.
    upstream: Option<Uri>,
}

impl ListenerRoutes {
    /// The routes of the listener bound at `address` (as configured, e.g. `0.0.0.0:443`).
    pub fn new(address: SocketAddr, upstream: Option<Uri>, routes: &[RouteConfig]) -> Self {
        let routes =
            routes.iter().filter(|route| route.listener.is_none_or(|listener| listener == address)).cloned();
        Self { routes: routes.collect(), upstream }
    }

    /// The target for a request to `host` (lower case, without port): the first route whose
    /// host matches (or that names no host), else the listener's upstream, else none.
    pub fn pick(&self, host: Option<&str>) -> Option<Target> {
        let route = self.routes.iter().find(|route| match &route.host {
            Some(name) => host == Some(name.as_str()),
            None => true,
        });
        match route {
            Some(route) => Some(Target { upstream: route.upstream.clone(), registry: route.registry }),
            None => self.upstream.clone().map(|upstream| Target { upstream, registry: true }),
        }
    }
}

/// Everything one listener's router needs.
#[derive(Clone)]
pub struct ListenerFront {
    /// regent's own router (`/token`, `/auth/token`, `/healthz`, and a registry-style 404).
    pub app: Router,
    /// Where other requests go.
    pub routes: ListenerRoutes,
    /// The shared upstream client.
    pub proxy: Proxy,
    /// Whether the listener speaks TLS (`X-Forwarded-Proto: https`).
    pub tls: bool,
    /// The peers whose forwarding headers are kept (`[[listen]] trusted_proxies`).
    pub trusted_proxies: Arc<[IpNet]>,
}

/// A listener's [`ListenerFront`], replaced whole when `regent.toml` changes (routes,
/// upstream, trusted proxies, proxy timeouts); each request is routed by the version current
/// when it arrived, so transfers under way keep theirs.
pub type LiveFront = Arc<ArcSwap<ListenerFront>>;

/// The router a listener serves: token paths in-process on registry routes and where no
/// upstream is configured; everything else proxied. Requests that [`refusal`] names are
/// answered 400 and go nowhere.
pub fn listener_router(front: LiveFront) -> Router {
    Router::new().fallback(dispatch).with_state(front)
}

async fn dispatch(State(front): State<LiveFront>, request: Request) -> Response {
    let front = front.load_full();
    if let Some(error) = refusal(&request) {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
        tracing::info!(peer = ?peer, method = %request.method(), %error, "request refused");
        return error.into_response();
    }
    let host = client_host(request.uri(), request.headers()).and_then(|host| host_name(&host));
    match front.routes.pick(host.as_deref()) {
        Some(target) if !(target.registry && TOKEN_PATHS.contains(&request.uri().path())) => {
            let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
            let trusted = client.is_some_and(|client| {
                let client = client.to_canonical();
                front.trusted_proxies.iter().any(|network| network.contains(&client))
            });
            let forwarding = Forwarding { client, tls: front.tls, trusted };
            front.proxy.forward(request, &target.upstream, forwarding, target.registry).await
        }
        _ => match front.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(host: Option<&str>, listener: Option<&str>, upstream: &str, registry: bool) -> RouteConfig {
        RouteConfig {
            host: host.map(str::to_owned),
            listener: listener.map(|l| l.parse().unwrap()),
            upstream: upstream.parse().unwrap(),
            registry,
        }
    }

    #[test]
    fn routes_by_host_and_listener_then_the_listeners_upstream() {
        let routes = [
            route(Some("nexus.test"), None, "http://127.0.0.1:8081", false),
            route(Some("docker.test"), Some("127.0.0.1:8443"), "http://127.0.0.1:8082", true),
            route(None, Some("127.0.0.1:9443"), "http://127.0.0.1:8083", false),
        ];
        let main = ListenerRoutes::new(
            "127.0.0.1:8443".parse().unwrap(),
            Some("http://127.0.0.1:5000".parse().unwrap()),
            &routes,
        );
        let other = ListenerRoutes::new("127.0.0.1:9443".parse().unwrap(), None, &routes);
        let bare = ListenerRoutes::new("127.0.0.1:7443".parse().unwrap(), None, &routes[1..2]);
        let target =
            |upstream: &str, registry| Some(Target { upstream: upstream.parse().unwrap(), registry });
        let cases = [
            (&main, Some("nexus.test"), target("http://127.0.0.1:8081", false)),
            (&main, Some("docker.test"), target("http://127.0.0.1:8082", true)),
            (&main, Some("registry.test"), target("http://127.0.0.1:5000", true)),
            (&main, None, target("http://127.0.0.1:5000", true)),
            (&other, Some("nexus.test"), target("http://127.0.0.1:8081", false)),
            (&other, Some("docker.test"), target("http://127.0.0.1:8083", false)),
            (&other, None, target("http://127.0.0.1:8083", false)),
            (&bare, Some("docker.test"), None),
            (&bare, None, None),
        ];
        for (index, (routes, host, expected)) in cases.into_iter().enumerate() {
            assert_eq!(routes.pick(host), expected, "case {index}: {host:?}");
        }
    }
}

//! The TLS front end: handshakes (SNI, ALPN, versions), the streaming proxy (headers, chunked
//! uploads, multi-GiB bodies in bounded memory, 502/504, clients that vanish), certificate
//! reload, end to end with the real registry, skopeo and podman through TLS, and the attacks on
//! the front end: connection exhaustion (`[limits]`, the descriptor limit), forwarded-header
//! spoofing (`trusted_proxies`), and requests refused before routing.
//!
//! [`server::FrontServer`] runs regent's `run_listeners` in a background runtime;
//! [`upstream::Upstream`] is a small recording upstream; [`client`] is rustls + hyper with a
//! chosen ALPN; [`pki::TestPki`] is an rcgen CA.

mod bodies;
mod client;
mod pki;
mod server;
mod upstream;

mod big_body;
mod body_limits;
mod connections;
mod e2e;
mod exhaustion;
mod fd_limit;
mod forwarded;
mod handshake;
mod head_limits;
mod lockout;
mod metrics;
mod proxying;
mod refusals;
mod reload;

/// Waits up to 60 s for `done`, polling every 100 ms; panics naming `what` after that.
async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

//! The signals `regent serve` answers: SIGTERM and SIGINT shut it down gracefully
//! ([`shutdown_signal`]); SIGHUP re-reads `regent.toml` and every TLS certificate at once,
//! without waiting for the file watchers ([`reload_on_hangup`]).

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use super::ServerError;
use super::run::LiveServer;
use crate::config::Config;
use crate::reload::Reloadable;

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C), after logging which it was.
pub async fn shutdown_signal() {
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let name = tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        () = terminate => "SIGTERM",
    };
    tracing::info!(signal = name, "shutting down");
}

/// On every SIGHUP: reloads `config` now (a broken file is logged and the last good version
/// keeps serving), then the certificates of every TLS listener of `server`. Ends at the first
/// SIGHUP after `config` has been dropped.
pub(super) fn reload_on_hangup(
    config: &Arc<Reloadable<Config>>,
    server: Arc<LiveServer>,
) -> Result<(), ServerError> {
    let mut hangups = signal(SignalKind::hangup())?;
    let watched = Arc::downgrade(config);
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(config) = watched.upgrade() else { break };
            tracing::info!("SIGHUP: reloading {} and the TLS certificates", config.name());
            let server = Arc::clone(&server);
            // Reading and parsing files, loading keys: off the async workers.
            let reloaded = tokio::task::spawn_blocking(move || {
                if let Err(error) = config.force_reload() {
                    tracing::error!(name = %config.name(), %error, "reload failed; keeping the last good version");
                }
                for store in server.listeners.iter().filter_map(|listener| listener.certificates.as_ref()) {
                    if let Err(error) = store.force_reload() {
                        tracing::error!(%error, "keeping the last good certificates");
                    }
                }
            });
            if let Err(error) = reloaded.await {
                tracing::error!(%error, "SIGHUP reload did not finish");
            }
        }
    });
    Ok(())
}

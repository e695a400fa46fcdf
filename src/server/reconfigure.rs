//! A changed `regent.toml`, applied without a restart: the file is watched like every other
//! ([`crate::reload`]: polled, loaded once it has settled) and re-read at once on SIGHUP.
//!
//! Applied: `[token]` (a new issuer, service, lifetime or refresh setting for the next token;
//! other key files are loaded and watched instead), `[[authn]]` (a new chain: requests under
//! way finish on the old one), `[policy]`, `[lockout]` (the counts carry on under the new
//! thresholds), `[limits]` and `[front]` (for new connections and requests), and each
//! listener's `upstream`, `trusted_proxies`, routes and `[listen.tls]` files. Bound at start,
//! kept until a restart (with a WARN naming the field): the `[[listen]]` addresses, whether a
//! listener speaks TLS, and the `[metrics] address`. A version that does not load (a syntax
//! error, a bad value, a missing key file) is logged at ERROR with its `file:line:col` and
//! changes nothing: the last good one keeps serving, and fixing the file applies it.

use std::sync::{Arc, Mutex};

use super::ServerError;
use super::run::{LiveServer, lock, new_proxy};
use super::signals::reload_on_hangup;
use super::state::{token_service, watch_counted};
use crate::config::Config;
use crate::reload::Reloadable;

/// The kind reloads of `regent.toml` are counted as (`regent_reloads_total{what="config"}`).
const CONFIG_RELOAD_KIND: &str = "config";

/// Watches `regent.toml` while it is alive (the file watcher and the SIGHUP listener end
/// with it).
#[derive(Debug)]
pub struct ConfigWatch {
    /// The last good version of the file, reloaded when it changes.
    _config: Arc<Reloadable<Config>>,
}

/// Applies new versions of the file to the server, remembering what is running.
struct ConfigApplier {
    /// What a new version replaces.
    server: Arc<LiveServer>,
    /// The configuration being served (the file as last applied, minus the fields that need a
    /// restart, which keep their running values).
    running: Mutex<Config>,
}

/// Starts watching `running.path` (the file `running` was read from) for `server`, and
/// listening for SIGHUP. Must be called inside a tokio runtime.
pub(super) fn watch_config(server: Arc<LiveServer>, running: Config) -> Result<ConfigWatch, ServerError> {
    let path = running.path.clone();
    let metrics = Arc::clone(&server.state.metrics);
    let applier = ConfigApplier { server: Arc::clone(&server), running: Mutex::new(running) };
    let file = path.clone();
    let name = format!("{CONFIG_RELOAD_KIND} {}", path.display());
    let config = Reloadable::new(&name, vec![path], move || {
        let config = Config::load(&file)?;
        applier.apply(config.clone())?;
        Ok::<_, ServerError>(config)
    })?;
    let clock = Arc::clone(&server.state.token_service().clock);
    watch_counted(&config, CONFIG_RELOAD_KIND, &metrics, clock.as_ref());
    reload_on_hangup(&config, server)?;
    Ok(ConfigWatch { _config: config })
}

impl ConfigApplier {
    /// Applies `new`: everything that can change is loaded first (an error changes nothing),
    /// then swapped in; what needs a restart is logged at WARN and keeps its running value.
    fn apply(&self, new: Config) -> Result<(), ServerError> {
        let mut running = lock(&self.running);
        for needed in running.restart_needed(&new) {
            tracing::warn!("{}: {needed}", new.path.display());
        }
        let applied = running.applicable(new);
        let changed = running.changed_sections(&applied);
        if changed.is_empty() {
            tracing::debug!(config = %applied.path.display(), "nothing to apply");
            return Ok(());
        }
        let server = &self.server;
        let certificates = server
            .listeners
            .iter()
            .map(|listener| listener.load_new_certificates(&running, &applied))
            .collect::<Result<Vec<_>, _>>()?;
        let current = server.state.token_service();
        let service = token_service(
            &applied,
            Some((&running, &current)),
            &server.state.metrics,
            Arc::clone(&current.clock),
            Arc::clone(&current.lockout),
        )?;

        server.state.replace(service);
        let backends: Vec<&str> = applied.authn.iter().map(|authn| authn.name.as_str()).collect();
        server.state.metrics.keep_backends(&backends);
        current.lockout.reconfigure(applied.lockout);
        server.limits.set(applied.limits);
        let proxy = {
            let mut proxy = lock(&server.proxy);
            let timeouts = |config: &Config| (config.front.connect_timeout, config.front.response_timeout);
            if timeouts(&running) != timeouts(&applied) {
                *proxy = new_proxy(&applied.front, &server.state);
            }
            proxy.clone()
        };
        for (listener, certificates) in server.listeners.iter().zip(certificates) {
            listener.apply(&applied, proxy.clone(), certificates);
        }
        *lock(&server.shutdown_timeout) = applied.front.shutdown_timeout;
        tracing::info!(config = %applied.path.display(), changed = %changed.join(" "), "applied the new configuration");
        *running = applied;
        Ok(())
    }
}

//! The shared state a config describes: [`build_state`] at start, and [`token_service`] for a
//! changed config, sharing every part whose settings did not change with the running service
//! (its keys, policies, revocations, refresh tokens and backend chain, with their caches and
//! file watchers).

use std::path::PathBuf;
use std::sync::Arc;

use super::backends::build_chain_metered;
use super::{RELOAD_INTERVAL, ServerError};
use crate::clock::Clock;
use crate::config::{Config, TokenConfig};
use crate::http::lockout::Lockout;
use crate::http::{AppState, TokenService};
use crate::metrics::{Metrics, ReloadResult};
use crate::policy::PolicySet;
use crate::reload::{ReloadObserver, Reloadable};
use crate::token::refresh::{RefreshTokens, Revocations};
use crate::token::{KeySet, TokenIssuer, compatibility_warnings, load_key_set, watched_paths};

/// Loads keys, backends and policies named by `config`, and starts their file watchers.
/// Must be called inside a tokio runtime.
pub fn build_state(config: &Config, clock: Arc<dyn Clock>) -> Result<AppState, ServerError> {
    let metrics = Arc::new(Metrics::new());
    let lockout = Arc::new(Lockout::new(config.lockout, Arc::clone(&metrics)));
    let service = token_service(config, None, &metrics, clock, lockout)?;
    Ok(AppState::new(service, metrics, config.metrics.address.is_none()))
}

/// The token service `config` describes. Each part whose settings are the same in
/// `previous` (the running config and its service) is shared with it; the others are loaded
/// anew, and an error in any of them is returned before anything is served differently.
pub(super) fn token_service(
    config: &Config,
    previous: Option<(&Config, &TokenService)>,
    metrics: &Arc<Metrics>,
    clock: Arc<dyn Clock>,
    lockout: Arc<Lockout>,
) -> Result<TokenService, ServerError> {
    let kept = |unchanged: &dyn Fn(&Config) -> bool| {
        previous.filter(|(running, _)| unchanged(running)).map(|(_, service)| service)
    };
    let token = &config.token;
    let issuer = match kept(&|running| same_keys(&running.token, token)) {
        Some(service) if kept(&|running| same_claims(&running.token, token)).is_some() => {
            Arc::clone(&service.issuer)
        }
        Some(service) => {
            Arc::new(service.issuer.with_claims(token.issuer.clone(), token.service.clone(), token.ttl))
        }
        None => {
            let keys = watch_keys(token, metrics, clock.as_ref())?;
            Arc::new(TokenIssuer::watched(keys, token.issuer.clone(), token.service.clone(), token.ttl))
        }
    };
    let policies = match kept(&|running| running.policy == config.policy) {
        Some(service) => Arc::clone(&service.policies),
        None => watch_policies(config.policy.directory.clone(), metrics, clock.as_ref())?,
    };
    let revocations = match kept(&|running| running.refresh.revocations == config.refresh.revocations) {
        Some(service) => Arc::clone(&service.revocations),
        None => watch_revocations(config.refresh.revocations.clone(), metrics, clock.as_ref())?,
    };
    let refresh = match kept(&|running| {
        running.refresh.ttl == config.refresh.ttl && same_claims(&running.token, token)
    }) {
        Some(service) => service.refresh.clone(),
        None => RefreshTokens::new(&token.issuer, &token.service, config.refresh.ttl).map(Arc::new),
    };
    let authn = match kept(&|running| running.authn == config.authn) {
        Some(service) => Arc::clone(&service.authn),
        None => Arc::new(build_chain_metered(config, metrics, clock.as_ref())?),
    };
    Ok(TokenService {
        service: token.service.as_str().into(),
        issuer,
        authn,
        policies,
        clock,
        refresh,
        revocations,
        lockout,
    })
}

/// Whether both settings load the same signing keys (the same files, `kid` and `x5c`).
fn same_keys(running: &TokenConfig, token: &TokenConfig) -> bool {
    (&running.keys, &running.key_directory, running.kid, running.x5c)
        == (&token.keys, &token.key_directory, token.kid, token.x5c)
}

/// Whether tokens carry the same claims (`iss`, `aud`, lifetime) under both settings.
fn same_claims(running: &TokenConfig, token: &TokenConfig) -> bool {
    (&running.issuer, &running.service, running.ttl) == (&token.issuer, &token.service, token.ttl)
}

/// Counts every reload in `metrics`, under `what` or else the reloadable's own kind.
pub(super) fn reload_observer(metrics: &Arc<Metrics>, what: Option<&'static str>) -> ReloadObserver {
    let metrics = Arc::clone(metrics);
    Arc::new(move |kind, loaded, wall| {
        let result = if loaded { ReloadResult::Ok } else { ReloadResult::Failed };
        metrics.record_reload(what.unwrap_or(kind), result, wall.unix_timestamp());
    })
}

/// Counts `reloadable`'s reloads as `what` from now on, its first load at `clock`'s time, and
/// starts its watcher.
pub(super) fn watch_counted<T: Send + Sync + 'static>(
    reloadable: &Arc<Reloadable<T>>,
    what: &'static str,
    metrics: &Arc<Metrics>,
    clock: &dyn Clock,
) {
    reloadable.set_observer(reload_observer(metrics, Some(what)));
    metrics.record_reload_loaded(what, clock.now().unix_timestamp());
    reloadable.spawn_watcher(RELOAD_INTERVAL);
}

/// Loads the signing keys once (an error is fatal) and watches their files: a rotation, an
/// activation or a retirement is live within two seconds; a broken pair is logged and the
/// last good key set keeps signing. Registry compatibility warnings are logged at each load.
fn watch_keys(
    token: &TokenConfig,
    metrics: &Arc<Metrics>,
    clock: &dyn Clock,
) -> Result<Arc<Reloadable<KeySet>>, ServerError> {
    let settings = token.clone();
    let keys = Reloadable::new("signing keys", watched_paths(token), move || {
        load_key_set(&settings).inspect(|keys| {
            for warning in compatibility_warnings(keys) {
                tracing::warn!("{warning}");
            }
        })
    })?;
    watch_counted(&keys, "keys", metrics, clock);
    Ok(keys)
}

/// Loads the policy directory once (an error is fatal) and watches it for changes.
fn watch_policies(
    directory: PathBuf,
    metrics: &Arc<Metrics>,
    clock: &dyn Clock,
) -> Result<Arc<Reloadable<PolicySet>>, ServerError> {
    let dir = directory.clone();
    let policies = Reloadable::new("policies", vec![directory], move || {
        PolicySet::load_dir(&dir).map(|loaded| {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            loaded.set
        })
    })?;
    watch_counted(&policies, "policies", metrics, clock);
    Ok(policies)
}

/// Loads the refresh-token revocations (a missing file revokes nothing; a broken one is fatal
/// at start and keeps the last good version later) and watches the file.
fn watch_revocations(
    path: PathBuf,
    metrics: &Arc<Metrics>,
    clock: &dyn Clock,
) -> Result<Arc<Reloadable<Revocations>>, ServerError> {
    let file = path.clone();
    let revocations = Reloadable::new("revocations", vec![path], move || Revocations::load(&file))?;
    watch_counted(&revocations, "revocations", metrics, clock);
    Ok(revocations)
}

//! `[token] refresh_ttl` and `revocations`: refresh tokens (docker's identity tokens).
//!
//! ```toml
//! [token]
//! refresh_ttl = "30d"                    # default 30d; "0s" issues no refresh tokens
//! revocations = "revocations.toml"       # default: next to regent.toml; `regent revoke` writes it
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{ConfigError, Locator};
use super::file::FileToken;
use super::validate::{duration, resolve};

/// The revocations file's default name, in the directory of `regent.toml` (the config owns
/// it so that `config` imports nothing of `token`, which builds on it).
pub const REVOCATIONS_FILE_NAME: &str = "revocations.toml";

/// How long a refresh token is valid when `refresh_ttl` is not given: 30 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 86_400);

/// The validated refresh-token settings of `[token]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshConfig {
    /// How long a refresh token is valid; zero turns refresh tokens off.
    pub ttl: Duration,
    /// The revocations file `regent revoke` writes and the server watches.
    pub revocations: PathBuf,
}

/// Reads `refresh_ttl` and `revocations` of `table`; paths resolve against `base`.
pub(super) fn refresh(
    locator: &Locator<'_>,
    base: &Path,
    table: &FileToken,
) -> Result<RefreshConfig, ConfigError> {
    let ttl = match &table.refresh_ttl {
        Some(ttl) => duration(locator, ttl, "refresh_ttl")?,
        None => DEFAULT_REFRESH_TTL,
    };
    if !ttl.is_zero() && ttl < Duration::from_secs(60) {
        let at = table.refresh_ttl.as_ref().map(toml::Spanned::span).unwrap_or_default();
        return Err(locator.at(at, "refresh_ttl must be \"0s\" (off) or at least 60s"));
    }
    let revocations = match &table.revocations {
        Some(path) => resolve(locator, base, path, "revocations")?,
        None => base.join(REVOCATIONS_FILE_NAME),
    };
    Ok(RefreshConfig { ttl, revocations })
}

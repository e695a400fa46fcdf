//! `[lockout]`: brute-force protection of the token endpoint (on by default).
//!
//! ```toml
//! [lockout]
//! enabled = true
//! max_failures = 10               # per user and client address: then that pair is locked out
//! max_failures_per_client = 100   # per client address, all users: then the address is
//! max_failures_per_user = 50      # per user, all addresses: then new addresses are
//! lockout_time = "5m"             # how long a lockout lasts (429 with Retry-After)
//! forget_after = "15m"            # failures this old are forgotten
//! delay_after = 3                 # failures (per user and address) answered at normal speed
//! base_delay = "250ms"            # then each failed answer is slowed, doubling ...
//! max_delay = "4s"                # ... up to this
//! ```

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::validate::duration;

/// The validated `[lockout]` table; every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Whether failed logins are counted and lockouts enforced.
    pub enabled: bool,
    /// Failures of one user from one client address before that pair is locked out.
    pub max_failures: u32,
    /// Failures from one client address (all users) before the address is locked out.
    pub max_failures_per_client: u32,
    /// Failures of one user (all addresses) before the user is locked out from addresses that
    /// never logged in as the user.
    pub max_failures_per_user: u32,
    /// How long a lockout lasts.
    pub lockout_time: Duration,
    /// Failures older than this are forgotten.
    pub forget_after: Duration,
    /// Failures (per user and address) answered without an added delay.
    pub delay_after: u32,
    /// The first added delay; it doubles with each further failure.
    pub base_delay: Duration,
    /// The longest added delay.
    pub max_delay: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_failures: 10,
            max_failures_per_client: 100,
            max_failures_per_user: 50,
            lockout_time: Duration::from_secs(300),
            forget_after: Duration::from_secs(900),
            delay_after: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
        }
    }
}

/// `[lockout]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLockout {
    /// On or off.
    enabled: Option<bool>,
    /// A count.
    max_failures: Option<Spanned<i64>>,
    /// A count.
    max_failures_per_client: Option<Spanned<i64>>,
    /// A count.
    max_failures_per_user: Option<Spanned<i64>>,
    /// humantime.
    lockout_time: Option<Spanned<String>>,
    /// humantime.
    forget_after: Option<Spanned<String>>,
    /// A count (zero allowed).
    delay_after: Option<Spanned<i64>>,
    /// humantime.
    base_delay: Option<Spanned<String>>,
    /// humantime.
    max_delay: Option<Spanned<String>>,
}

/// Validates `[lockout]`: thresholds from 1, times above zero, `max_delay` at most 60s.
pub(crate) fn lockout(
    locator: &Locator<'_>,
    file: Option<FileLockout>,
) -> Result<LockoutConfig, ConfigError> {
    let file = file.unwrap_or_default();
    let defaults = LockoutConfig::default();
    let count = |value: &Option<Spanned<i64>>, what: &str, min: u32, default: u32| match value {
        None => Ok(default),
        Some(value) => match u32::try_from(*value.get_ref()) {
            Ok(count) if count >= min => Ok(count),
            _ => Err(locator.at(value.span(), format!("{what} must be from {min} to {}", u32::MAX))),
        },
    };
    let time = |value: &Option<Spanned<String>>, what: &str, default: Duration| match value {
        None => Ok(default),
        Some(value) => match duration(locator, value, what)? {
            Duration::ZERO => Err(locator.at(value.span(), format!("{what} must be more than 0s"))),
            time => Ok(time),
        },
    };
    let max_delay = time(&file.max_delay, "max_delay", defaults.max_delay)?;
    if let Some(value) = &file.max_delay
        && max_delay > Duration::from_secs(60)
    {
        return Err(
            locator.at(value.span(), "max_delay must be at most 60s (a slowed answer holds a connection)")
        );
    }
    Ok(LockoutConfig {
        enabled: file.enabled.unwrap_or(defaults.enabled),
        max_failures: count(&file.max_failures, "max_failures", 1, defaults.max_failures)?,
        max_failures_per_client: count(
            &file.max_failures_per_client,
            "max_failures_per_client",
            1,
            defaults.max_failures_per_client,
        )?,
        max_failures_per_user: count(
            &file.max_failures_per_user,
            "max_failures_per_user",
            1,
            defaults.max_failures_per_user,
        )?,
        lockout_time: time(&file.lockout_time, "lockout_time", defaults.lockout_time)?,
        forget_after: time(&file.forget_after, "forget_after", defaults.forget_after)?,
        delay_after: count(&file.delay_after, "delay_after", 0, defaults.delay_after)?,
        base_delay: time(&file.base_delay, "base_delay", defaults.base_delay)?,
        max_delay,
    })
}

#[cfg(test)]
mod tests {

    use std::time::Duration;

    use crate::config::test_head::parse_after_head;
    use crate::config::{Config, LockoutConfig};

    fn parse(table: &str) -> Result<Config, String> {
        parse_after_head(table)
    }

    #[test]
    fn on_by_default_with_safe_numbers() {
        let lockout = parse("").unwrap().lockout;
        assert_eq!(lockout, LockoutConfig::default());
        assert!(lockout.enabled);
        assert!(lockout.max_failures <= 10 && lockout.lockout_time >= Duration::from_secs(60));
    }

    #[test]
    fn every_key_parses() {
        let text = "[lockout]\nenabled = false\nmax_failures = 3\nmax_failures_per_client = 7\n\
                    max_failures_per_user = 5\nlockout_time = \"1m\"\nforget_after = \"2m\"\n\
                    delay_after = 0\nbase_delay = \"10ms\"\nmax_delay = \"1s\"\n";
        let expected = LockoutConfig {
            enabled: false,
            max_failures: 3,
            max_failures_per_client: 7,
            max_failures_per_user: 5,
            lockout_time: Duration::from_secs(60),
            forget_after: Duration::from_secs(120),
            delay_after: 0,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(parse(text).unwrap().lockout, expected);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            (
                "[lockout]\nmax_failures = 0\n",
                "/srv/regent/regent.toml:11:16:",
                "max_failures must be from 1",
            ),
            ("[lockout]\nlockout_time = \"0s\"\n", "/srv/regent/regent.toml:11:16:", "more than 0s"),
            ("[lockout]\nmax_delay = \"2m\"\n", "/srv/regent/regent.toml:11:13:", "at most 60s"),
            ("[lockout]\nforget = \"1m\"\n", "/srv/regent/regent.toml:11:", "unknown field"),
        ];
        for (text, at, message) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.starts_with(at) && error.contains(message), "{text:?}: {error}");
        }
    }
}

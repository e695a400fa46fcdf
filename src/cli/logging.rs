//! The binary's log output: `tracing` to stderr, filtered by `RUST_LOG` (default `regent=info`),
//! with ANSI colours only on a terminal and only when `NO_COLOR` is unset or empty.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_LOG_FILTER: &str = "regent=info";

/// Whether log lines get ANSI colour codes: only when stderr is a terminal and `NO_COLOR`
/// (<https://no-color.org>) is unset or empty.
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Installs the global subscriber: stderr, `RUST_LOG` or [`DEFAULT_LOG_FILTER`], colour per
/// [`use_colour`].
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let colour = use_colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr).init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(use_colour(true, None));
        assert!(use_colour(true, empty), "an empty NO_COLOR does not count (no-color.org)");
        assert!(!use_colour(true, set));
        assert!(!use_colour(false, None));
        assert!(!use_colour(false, set));
        assert!(!use_colour(false, empty));
    }
}

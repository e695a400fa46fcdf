//! The binary's log output: `tracing` to stderr, filtered by `RUST_LOG` (default `regent=info`),
//! as text (ANSI colours only on a terminal and only when `NO_COLOR` is unset or empty) or, once
//! `regent serve` has read `[log] format = "json"`, as JSON lines.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Whether stderr gets JSON lines (`[log] format = "json"`) instead of text.
static JSON: AtomicBool = AtomicBool::new(false);

/// The filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_LOG_FILTER: &str = "regent=info";

/// Whether log lines get ANSI colour codes: only when stderr is a terminal and `NO_COLOR`
/// (<https://no-color.org>) is unset or empty.
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Installs the global subscriber: stderr, `RUST_LOG` or [`DEFAULT_LOG_FILTER`], text with
/// colour per [`use_colour`] until `regent serve` reads `[log] format = "json"`.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let colour = use_colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let text = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_filter(filter_fn(|_| !JSON.load(Ordering::Relaxed)));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_filter(filter_fn(|_| JSON.load(Ordering::Relaxed)));
    tracing_subscriber::registry().with(filter).with(text).with(json).init();
}

/// Switches stderr to `format` from the next line on (`[log] format`).
pub(super) fn set_log_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
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

//! `[log]`: the server log's format and the audit file.
//!
//! ```toml
//! [log]
//! format = "text"             # or "json" (one JSON object per line); default "text"
//! audit_file = "audit.log"    # optional: every token decision as a JSON line, reopened on SIGHUP
//! ```
//!
//! The filter stays `RUST_LOG` (default `regent=info`); the audit file gets every decision
//! whatever the filter says.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::validate::resolve;

/// How the server log (stderr) is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `text`: one human-readable line per event (ANSI colours only on a terminal).
    #[default]
    Text,
    /// `json`: one JSON object per line (tracing-subscriber's JSON formatter).
    Json,
}

impl LogFormat {
    /// The value as written in `regent.toml`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The validated `[log]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// `format`: text or JSON lines on stderr.
    pub format: LogFormat,
    /// `audit_file`: where each token decision is appended as a JSON line; `None`: only the
    /// server log has them.
    pub audit_file: Option<PathBuf>,
}

/// `[log]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLog {
    /// `text` or `json`.
    format: Option<Spanned<String>>,
    /// The audit file, relative to the config file's directory.
    audit_file: Option<Spanned<String>>,
}

/// Validates `[log]`; `audit_file` resolves against `base`.
pub(crate) fn log(
    locator: &Locator<'_>,
    base: &Path,
    file: Option<FileLog>,
) -> Result<LogConfig, ConfigError> {
    let file = file.unwrap_or_default();
    let format = match &file.format {
        None => LogFormat::Text,
        Some(value) => match value.get_ref().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(locator.at(
                    value.span(),
                    format!("unknown log format {other:?}: expected \"text\" or \"json\""),
                ));
            }
        },
    };
    let audit_file = match &file.audit_file {
        None => None,
        Some(value) => Some(resolve(locator, base, value, "audit_file")?),
    };
    Ok(LogConfig { format, audit_file })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::test_head::parse_after_head;
    use crate::config::{LogConfig, LogFormat};

    #[test]
    fn text_by_default_json_when_asked_and_the_audit_file_resolved() {
        assert_eq!(parse_after_head("").unwrap().log, LogConfig::default());
        let config =
            parse_after_head("[log]\nformat = \"json\"\naudit_file = \"audit/audit.log\"\n").unwrap();
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.log.audit_file, Some(PathBuf::from("/srv/regent/audit/audit.log")));
        let config =
            parse_after_head("[log]\nformat = \"text\"\naudit_file = \"/var/log/regent.audit\"\n").unwrap();
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.audit_file, Some(PathBuf::from("/var/log/regent.audit")));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let error = parse_after_head("[log]\nformat = \"yaml\"\n").unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:11:10: unknown log format \"yaml\""), "{error}");
        let error = parse_after_head("[log]\naudit_file = \"\"\n").unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:11:14:"), "{error}");
        assert!(error.contains("audit_file path must not be empty"), "{error}");
        let error = parse_after_head("[log]\nlevel = \"debug\"\n").unwrap_err();
        assert!(error.starts_with("/srv/regent/regent.toml:11:1:"), "{error}");
        assert!(error.contains("unknown field `level`"), "{error}");
    }
}

//! Which config file a command uses: `--config`, then `$REGENT_CONFIG`, then `./regent.toml`,
//! else the embedded default.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "REGENT_CONFIG";
/// The config file looked for in the working directory.
pub const CONFIG_FILE_NAME: &str = "regent.toml";

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// This file (absolute when the lookup was given an absolute `cwd`).
    File(PathBuf),
    /// No file was named and `./regent.toml` does not exist: use the built-in default.
    EmbeddedDefault,
}

/// Finds the config file: `explicit` (`--config FILE`, must exist), then `env_value`
/// (`$REGENT_CONFIG`, must exist; an empty value counts as unset), then `regent.toml` in `cwd`
/// if present, else [`ConfigSource::EmbeddedDefault`]. Relative names resolve against `cwd`.
pub fn locate(
    explicit: Option<&Path>,
    env_value: Option<&OsStr>,
    cwd: &Path,
) -> Result<ConfigSource, ConfigError> {
    if let Some(path) = explicit {
        return named_file(cwd.join(path), "--config");
    }
    if let Some(value) = env_value.filter(|value| !value.is_empty()) {
        return named_file(cwd.join(value), "$REGENT_CONFIG");
    }
    let default = cwd.join(CONFIG_FILE_NAME);
    match default.try_exists() {
        Ok(true) => Ok(ConfigSource::File(default)),
        Ok(false) => Ok(ConfigSource::EmbeddedDefault),
        Err(error) => Err(ConfigError::Io { path: default, error }),
    }
}

/// A file the user named: it must exist and be a regular file (or a link to one).
fn named_file(path: PathBuf, named_by: &'static str) -> Result<ConfigSource, ConfigError> {
    match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => Ok(ConfigSource::File(path)),
        Ok(_) => Err(ConfigError::NotAFile { path, named_by }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(ConfigError::NotFound { path, named_by })
        }
        Err(error) => Err(ConfigError::Io { path, error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_default(present: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if present {
            std::fs::write(dir.path().join(CONFIG_FILE_NAME), "").unwrap();
        }
        std::fs::write(dir.path().join("other.toml"), "").unwrap();
        dir
    }

    #[test]
    fn explicit_file_wins_over_env_and_cwd() {
        let dir = dir_with_default(true);
        let found =
            locate(Some(Path::new("other.toml")), Some(OsStr::new(CONFIG_FILE_NAME)), dir.path()).unwrap();
        assert_eq!(found, ConfigSource::File(dir.path().join("other.toml")));
    }

    #[test]
    fn explicit_file_must_exist() {
        let dir = dir_with_default(true);
        let error = locate(Some(Path::new("missing.toml")), None, dir.path()).unwrap_err();
        assert!(matches!(error, ConfigError::NotFound { named_by: "--config", .. }));
        assert!(error.to_string().contains("missing.toml: no such config file"));
    }

    #[test]
    fn explicit_directory_is_refused() {
        let dir = dir_with_default(false);
        let error = locate(Some(dir.path()), None, dir.path()).unwrap_err();
        assert!(matches!(error, ConfigError::NotAFile { named_by: "--config", .. }));
    }

    #[test]
    fn env_file_wins_over_cwd() {
        let dir = dir_with_default(true);
        let absolute = dir.path().join("other.toml");
        let found = locate(None, Some(absolute.as_os_str()), Path::new("/nonexistent")).unwrap();
        assert_eq!(found, ConfigSource::File(absolute));
    }

    #[test]
    fn env_file_must_exist() {
        let dir = dir_with_default(true);
        let error = locate(None, Some(OsStr::new("missing.toml")), dir.path()).unwrap_err();
        assert!(matches!(error, ConfigError::NotFound { named_by: "$REGENT_CONFIG", .. }));
    }

    #[test]
    fn empty_env_value_counts_as_unset() {
        let dir = dir_with_default(true);
        let found = locate(None, Some(OsStr::new("")), dir.path()).unwrap();
        assert_eq!(found, ConfigSource::File(dir.path().join(CONFIG_FILE_NAME)));
    }

    #[test]
    fn regent_toml_in_cwd_is_used_when_present() {
        let dir = dir_with_default(true);
        let found = locate(None, None, dir.path()).unwrap();
        assert_eq!(found, ConfigSource::File(dir.path().join(CONFIG_FILE_NAME)));
    }

    #[test]
    fn embedded_default_when_nothing_is_found() {
        let dir = dir_with_default(false);
        assert_eq!(locate(None, None, dir.path()).unwrap(), ConfigSource::EmbeddedDefault);
    }
}

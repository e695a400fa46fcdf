//! [`ConfigError`]: every error in a config file names `file:line:col`.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Errors finding, reading or validating `regent.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// A syntax error, an unknown or missing key, or a bad value, at a position in the file.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A config file named by `--config` or `$REGENT_CONFIG` does not exist.
    #[error("{}: no such config file (named by {named_by})", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
        /// Where the name came from: `--config` or `$REGENT_CONFIG`.
        named_by: &'static str,
    },
    /// A config file named by `--config` or `$REGENT_CONFIG` is not a regular file.
    #[error("{}: not a regular file (named by {named_by})", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// Where the name came from: `--config` or `$REGENT_CONFIG`.
        named_by: &'static str,
    },
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Turns byte spans of one file into [`ConfigError::Invalid`] errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locator<'a> {
    /// The file, as it is named in errors.
    pub(crate) path: &'a Path,
    /// Its text.
    pub(crate) text: &'a str,
}

impl Locator<'_> {
    /// An error at the start of `span`.
    pub(crate) fn at(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError::Invalid { path: self.path.to_path_buf(), line, column, message: message.into() }
    }

    /// A `toml` error (syntax, unknown or missing key) placed at its span, or at the start of the
    /// file when it has none.
    pub(crate) fn toml(&self, error: &toml::de::Error) -> ConfigError {
        let span = error.span().unwrap_or(0..0);
        self.at(span, error.message().trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_is_one_based_and_counts_characters() {
        let text = "a = 1\nbé = 2\n";
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (6, (2, 1)),
            // "é" is two bytes: the '=' after "bé " is the 4th character.
            (10, (2, 4)),
            (text.len(), (3, 1)),
            (text.len() + 10, (3, 1)),
            // Inside a multi-byte character: rounds down to its start.
            (8, (2, 2)),
        ];
        for (offset, expected) in cases {
            assert_eq!(line_column(text, offset), expected, "offset {offset}");
        }
    }

    #[test]
    fn display_names_file_line_and_column() {
        let locator = Locator { path: Path::new("/etc/regent.toml"), text: "x\ny = 1\n" };
        let error = locator.at(4..5, "bad value");
        assert_eq!(error.to_string(), "/etc/regent.toml:2:3: bad value");
        let io = ConfigError::Io {
            path: PathBuf::from("/etc/regent.toml"),
            error: io::Error::new(io::ErrorKind::PermissionDenied, "permission denied"),
        };
        assert_eq!(io.to_string(), "/etc/regent.toml: permission denied");
    }
}

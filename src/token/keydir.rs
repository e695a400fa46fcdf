//! The key directory (`[token] key_directory`): the files `regent keys` manages and
//! `regent serve` reloads.
//!
//! ```text
//! keys/NAME.key + NAME.crt            active: trusted; the newest certificate signs
//! keys/pending/NAME.key + NAME.crt    rotated in, trusted (bundle, JWKS), not signing yet
//! keys/retired/NAME.key + NAME.crt    retired: neither
//! ```
//!
//! A pending stage exists because the registry only trusts the keys of the bundle or JWKS it
//! read at its start: a key must reach the registry before it signs, or pulls fail in between.
//! Files are written to a temporary file in the same directory and renamed (key 0600,
//! certificate 0644); a pair is moved certificate first, so the `.key` that completes a pair
//! arrives last, and the watcher's settle time covers the moment in between.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{GeneratedKey, TokenError};

/// The subdirectory of keys that are trusted but do not sign yet.
pub const PENDING_DIR: &str = "pending";
/// The subdirectory retired keys are moved to.
pub const RETIRED_DIR: &str = "retired";
/// The private key file mode.
const KEY_MODE: u32 = 0o600;
/// The mode of certificates and of the files written for the registry.
pub const PUBLIC_MODE: u32 = 0o644;

/// Where a pair is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// In the key directory: trusted, and the newest active key signs.
    Active,
    /// In `pending/`: trusted (bundle, JWKS), not signing.
    Pending,
}

/// One `NAME.key` + `NAME.crt` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairFiles {
    /// The file stem.
    pub name: String,
    /// The PEM private key.
    pub key: PathBuf,
    /// The PEM certificate.
    pub certificate: PathBuf,
    /// Active or pending.
    pub state: KeyState,
}

/// The active pairs of `dir`, then its pending ones, each sorted by name (so ties between equal
/// `notBefore`s go to the last name). A `.key` without its `.crt` is an error; a lone `.crt`
/// (a CA, or a pair half-way through a move) is ignored.
pub fn list_pairs(dir: &Path) -> Result<Vec<KeyPairFiles>, TokenError> {
    let mut pairs = pairs_in(dir, KeyState::Active)?;
    let pending = dir.join(PENDING_DIR);
    if pending.is_dir() {
        pairs.extend(pairs_in(&pending, KeyState::Pending)?);
    }
    Ok(pairs)
}

/// The pairs directly in `dir`, sorted by name.
fn pairs_in(dir: &Path, state: KeyState) -> Result<Vec<KeyPairFiles>, TokenError> {
    let entries = std::fs::read_dir(dir).map_err(|error| io_error(dir, &error))?;
    let mut pairs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|error| io_error(dir, &error))?.path();
        let (Some(name), Some("key")) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|e| e.to_str()))
        else {
            continue;
        };
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let certificate = dir.join(format!("{name}.crt"));
        if !certificate.is_file() {
            return Err(TokenError::KeyFile {
                path: path.display().to_string(),
                message: format!("no certificate {} next to this key", certificate.display()),
            });
        }
        pairs.push(KeyPairFiles { name: name.to_owned(), key: path, certificate, state });
    }
    pairs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pairs)
}

/// Writes a new pair named `name` into `dir` (created 0700 if missing), atomically, key 0600
/// and certificate 0644; refuses to replace an existing file.
pub fn write_pair(
    dir: &Path,
    name: &str,
    generated: &GeneratedKey,
    state: KeyState,
) -> Result<KeyPairFiles, TokenError> {
    create_private_dir(dir)?;
    let key = dir.join(format!("{name}.key"));
    let certificate = dir.join(format!("{name}.crt"));
    for path in [&key, &certificate] {
        if path.exists() {
            return Err(TokenError::KeyFile {
                path: path.display().to_string(),
                message: "exists".to_owned(),
            });
        }
    }
    write_new(&certificate, generated.cert_pem.as_bytes(), PUBLIC_MODE)?;
    write_new(&key, generated.key_pem.expose().as_bytes(), KEY_MODE)?;
    Ok(KeyPairFiles { name: name.to_owned(), key, certificate, state })
}

/// Moves `pair` into `to` (created 0700 if missing), certificate first; returns its new files.
pub fn move_pair(pair: &KeyPairFiles, to: &Path, state: KeyState) -> Result<KeyPairFiles, TokenError> {
    create_private_dir(to)?;
    let key = to.join(format!("{}.key", pair.name));
    let certificate = to.join(format!("{}.crt", pair.name));
    for path in [&key, &certificate] {
        if path.exists() {
            return Err(TokenError::KeyFile {
                path: path.display().to_string(),
                message: "exists: not moving a key pair over it".to_owned(),
            });
        }
    }
    std::fs::rename(&pair.certificate, &certificate).map_err(|error| io_error(&pair.certificate, &error))?;
    std::fs::rename(&pair.key, &key).map_err(|error| io_error(&pair.key, &error))?;
    Ok(KeyPairFiles { name: pair.name.clone(), key, certificate, state })
}

/// Whether any file of a pair named `name` exists in `dir` or its pending or retired parts.
pub fn name_taken(dir: &Path, name: &str) -> bool {
    [dir.to_path_buf(), dir.join(PENDING_DIR), dir.join(RETIRED_DIR)]
        .iter()
        .any(|d| d.join(format!("{name}.key")).exists() || d.join(format!("{name}.crt")).exists())
}

/// Replaces `path` with `contents` atomically (a temporary file in the same directory, then a
/// rename) with file mode `mode`.
pub fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), TokenError> {
    let file = prepare(path, contents, mode)?;
    file.persist(path).map_err(|error| io_error(path, &error.error))?;
    Ok(())
}

/// Like [`write_atomically`], refusing to replace an existing `path` (two rotations at once
/// cannot overwrite each other's key).
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TokenError> {
    let file = prepare(path, contents, mode)?;
    file.persist_noclobber(path).map_err(|error| io_error(path, &error.error))?;
    Ok(())
}

/// A synced temporary file with `contents` and mode `mode` in `path`'s directory.
fn prepare(path: &Path, contents: &[u8], mode: u32) -> Result<tempfile::NamedTempFile, TokenError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(parent).map_err(|error| io_error(parent, &error))?;
    set_mode(file.as_file(), mode).map_err(|error| io_error(path, &error))?;
    file.write_all(contents).map_err(|error| io_error(path, &error))?;
    file.as_file().sync_all().map_err(|error| io_error(path, &error))?;
    Ok(file)
}

/// Creates `dir` (and parents) with mode 0700 when it does not exist.
fn create_private_dir(dir: &Path) -> Result<(), TokenError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|error| io_error(dir, &error))
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// A [`TokenError::KeyFile`] for an I/O error on `path`.
fn io_error(path: &Path, error: &std::io::Error) -> TokenError {
    TokenError::KeyFile { path: path.display().to_string(), message: error.to_string() }
}

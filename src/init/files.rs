//! Atomic writes for `regent init`: a temporary file (or directory) in the target's directory,
//! given its mode, then renamed into place.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use super::InitError;

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It was written.
    Written,
    /// It existed and was left as it was.
    Kept,
}

/// An `io::Error` about `path`.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InitError + '_ {
    move |error| InitError::Io { path: path.to_path_buf(), error }
}

/// A complete temporary file with `contents` and `mode`, next to `path`, not yet in place.
pub(crate) fn prepare(path: &Path, contents: &[u8], mode: u32) -> Result<NamedTempFile, InitError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut file =
        tempfile::Builder::new().prefix(".regent-init").tempfile_in(parent).map_err(io_error(parent))?;
    file.write_all(contents).map_err(io_error(path))?;
    set_mode(file.as_file(), mode).map_err(io_error(path))?;
    file.as_file().sync_all().map_err(io_error(path))?;
    Ok(file)
}

/// Renames `file` to `path`, replacing whatever is there.
pub(crate) fn replace(file: NamedTempFile, path: &Path) -> Result<Outcome, InitError> {
    file.persist(path).map_err(|persist| io_error(path)(persist.error))?;
    Ok(Outcome::Written)
}

/// Writes `contents` to `path` with `mode` unless `path` exists (checked again at the rename, so
/// a file that appears meanwhile is kept too).
pub(crate) fn create_if_absent(path: &Path, contents: &[u8], mode: u32) -> Result<Outcome, InitError> {
    if path.try_exists().map_err(io_error(path))? {
        return Ok(Outcome::Kept);
    }
    let file = prepare(path, contents, mode)?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok(Outcome::Written),
        Err(persist) if persist.error.kind() == io::ErrorKind::AlreadyExists => Ok(Outcome::Kept),
        Err(persist) => Err(io_error(path)(persist.error)),
    }
}

/// Creates directory `path` holding `files` (relative path, text) unless it exists: the files are written
/// into a temporary directory which is then renamed into place.
pub(crate) fn create_dir_if_absent(path: &Path, files: &[(&str, &str)]) -> Result<Outcome, InitError> {
    if path.try_exists().map_err(io_error(path))? {
        return Ok(Outcome::Kept);
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    let staging =
        tempfile::Builder::new().prefix(".regent-init").tempdir_in(parent).map_err(io_error(parent))?;
    for (name, text) in files {
        let file = staging.path().join(name);
        if let Some(subdir) = file.parent().filter(|parent| *parent != staging.path()) {
            fs::create_dir_all(subdir).map_err(io_error(subdir))?;
            set_path_mode(subdir, 0o755).map_err(io_error(subdir))?;
        }
        fs::write(&file, text).map_err(io_error(&file))?;
        set_path_mode(&file, 0o644).map_err(io_error(&file))?;
    }
    set_path_mode(staging.path(), 0o755).map_err(io_error(path))?;
    match fs::rename(staging.path(), path) {
        Ok(()) => {
            // The directory is in place now; nothing is left for the guard to remove.
            let _ = staging.keep();
            Ok(Outcome::Written)
        }
        // Renaming onto a directory that appeared meanwhile fails unless it is empty.
        Err(_) if path.is_dir() => Ok(Outcome::Kept),
        Err(error) => Err(io_error(path)(error)),
    }
}

/// Creates directory `path` (and its parents) when absent, giving a new one `mode`.
pub(crate) fn ensure_dir(path: &Path, mode: u32) -> Result<(), InitError> {
    if path.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(path).map_err(io_error(path))?;
    set_path_mode(path, mode).map_err(io_error(path))
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn set_path_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_path_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

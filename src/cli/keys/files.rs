//! The files `regent keys` touches besides the keys themselves: the directory lock, the loaded
//! pairs, and the registry's bundle and JWKS files.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::token::SigningKey;
use crate::token::keydir::{KeyPairFiles, PUBLIC_MODE, list_pairs, write_atomically};

/// Holds an exclusive lock on `DIR/.lock` (created 0700 with the directory if missing) so two
/// `regent keys` commands never change the directory at once; released when dropped.
pub(super) fn lock_key_directory(directory: &Path) -> anyhow::Result<std::fs::File> {
    if !directory.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(directory).with_context(|| format!("creating {}", directory.display()))?;
    }
    let path = directory.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock().with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

/// Every pair of the key directory with its loaded key.
pub(super) fn load_pairs(directory: &Path) -> anyhow::Result<Vec<(KeyPairFiles, SigningKey)>> {
    list_pairs(directory)?
        .into_iter()
        .map(|pair| {
            let key = SigningKey::load(&pair.key, &pair.certificate)?;
            Ok((pair, key))
        })
        .collect()
}

/// Writes `text` to `out` (default: `default_name` next to the config file; `-`: stdout),
/// atomically with mode 0644 so the registry's user can read it.
pub(super) fn write_out(
    config: &Config,
    out: Option<&Path>,
    default_name: &str,
    text: &str,
) -> anyhow::Result<ExitCode> {
    let path = match out {
        Some(path) if path == Path::new("-") => {
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(path) => path.to_path_buf(),
        None => config.path.parent().unwrap_or(Path::new(".")).join(default_name),
    };
    write_atomically(&path, text.as_bytes(), PUBLIC_MODE)?;
    eprintln!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

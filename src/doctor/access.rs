//! Can the registry's user read the files it needs? Every directory on the way needs `x` for
//! that user and the file `r`, judged from the permission bits (owner, group, other) as the
//! kernel does, so the check means the same when the doctor itself runs as root. POSIX ACLs
//! are not read.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::report::Check;

/// A local account: the user the registry runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary and supplementary groups.
    pub gids: Vec<u32>,
}

impl Account {
    /// Looks `name` up (getpwnam and getgrouplist, through NSS); `Ok(None)` when there is none.
    pub fn lookup(name: &str) -> Result<Option<Account>, String> {
        let user = nix::unistd::User::from_name(name)
            .map_err(|error| format!("looking up user {name:?}: {error}"))?;
        let Some(user) = user else { return Ok(None) };
        let c_name = std::ffi::CString::new(name).map_err(|_| format!("user name {name:?} holds a NUL"))?;
        let groups = nix::unistd::getgrouplist(&c_name, user.gid)
            .map_err(|error| format!("listing the groups of {name:?}: {error}"))?;
        let mut gids: Vec<u32> = groups.into_iter().map(nix::unistd::Gid::as_raw).collect();
        gids.sort_unstable();
        gids.dedup();
        Ok(Some(Account { name: name.to_owned(), uid: user.uid.as_raw(), gids }))
    }
}

/// Which permission bits apply to the account: the first of owner, group, other that matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The account owns the file.
    Owner,
    /// The account is in the file's group.
    Group,
    /// Everyone else.
    Other,
}

impl Class {
    /// The `chmod` letter.
    fn letter(self) -> char {
        match self {
            Class::Owner => 'u',
            Class::Group => 'g',
            Class::Other => 'o',
        }
    }
}

/// Why the account cannot reach a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Blocked {
    /// The directory lacking `x`, or the file lacking `r`.
    pub path: PathBuf,
    /// Whether `path` is a directory.
    pub is_dir: bool,
    /// Its mode bits (`0o700`).
    pub mode: u32,
    /// Its owner and group.
    pub owner: (u32, u32),
    /// The bits that apply to the account.
    class: Class,
}

impl Blocked {
    /// `chmod o+x /dir`.
    pub(super) fn chmod(&self) -> String {
        let bit = if self.is_dir { 'x' } else { 'r' };
        format!("chmod {}+{bit} {}", self.class.letter(), self.path.display())
    }
}

/// `Ok` when `account` can read `path` (following symlinks), else the first directory or the
/// file that stops it, or why the path cannot be examined at all.
pub(super) fn reachable(path: &Path, account: &Account) -> Result<(), ReachError> {
    let path =
        path.canonicalize().map_err(|error| ReachError::Unexamined { path: path.to_path_buf(), error })?;
    let mut prefixes: Vec<&Path> = path.ancestors().collect();
    prefixes.reverse();
    let last = prefixes.len() - 1;
    for (index, prefix) in prefixes.into_iter().enumerate() {
        let metadata = std::fs::metadata(prefix)
            .map_err(|error| ReachError::Unexamined { path: prefix.to_path_buf(), error })?;
        let is_dir = index < last || metadata.is_dir();
        let need = if index < last { 0o1 } else { 0o4 };
        if account.uid == 0 {
            continue;
        }
        let class = if metadata.uid() == account.uid {
            Class::Owner
        } else if account.gids.contains(&metadata.gid()) {
            Class::Group
        } else {
            Class::Other
        };
        let shift = match class {
            Class::Owner => 6,
            Class::Group => 3,
            Class::Other => 0,
        };
        let mode = metadata.mode() & 0o7777;
        if (mode >> shift) & need == 0 {
            return Err(ReachError::Blocked(Blocked {
                path: prefix.to_path_buf(),
                is_dir,
                mode,
                owner: (metadata.uid(), metadata.gid()),
                class,
            }));
        }
    }
    Ok(())
}

/// Why a path cannot be read by the account.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReachError {
    /// The path (or a directory on the way) cannot be examined at all.
    #[error("{}: {error}", path.display())]
    Unexamined {
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A directory's or the file's permission bits stop the account.
    #[error("permission denied at {}", .0.path.display())]
    Blocked(Blocked),
}

/// `readable`: the account can read every file the registry needs. `key_dirs` are the
/// directories holding regent's private keys: for those the fix also offers writing the bundle
/// elsewhere rather than opening the directory.
pub(super) fn readable_check(
    files: &[(&'static str, &Path)],
    account: &Account,
    key_dirs: &[PathBuf],
) -> Check {
    let user = format!("{} (uid {})", account.name, account.uid);
    for (setting, file) in files {
        let Err(error) = reachable(file, account) else { continue };
        let blocked = match error {
            ReachError::Blocked(blocked) => blocked,
            ReachError::Unexamined { .. } => {
                return Check::fail(
                    "readable",
                    format!("{setting} {}: {error}", file.display()),
                    format!("point {setting} at an existing file"),
                );
            }
        };
        let what = if blocked.is_dir { "no x (search) on the directory" } else { "no r on the file" };
        let mut fix = blocked.chmod();
        let in_key_dir = key_dirs.iter().any(|dir| dir.canonicalize().is_ok_and(|dir| dir == blocked.path));
        if blocked.is_dir && in_key_dir {
            fix = format!(
                "{fix} (the private keys in it stay 0600), or write the bundle outside it (regent keys bundle --out \
                 /etc/docker/registry/regent.crt) and point {setting} there"
            );
        }
        return Check::fail(
            "readable",
            format!(
                "{user} cannot read {setting} {}: {} is {:04o} uid {} gid {}, {what} for that user (the registry fails to start)",
                file.display(),
                blocked.path.display(),
                blocked.mode,
                blocked.owner.0,
                blocked.owner.1,
            ),
            fix,
        );
    }
    let names: Vec<String> = files.iter().map(|(_, file)| file.display().to_string()).collect();
    Check::ok("readable", format!("{user} can read {}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn blocked_by(error: &ReachError) -> &Blocked {
        match error {
            ReachError::Blocked(blocked) => blocked,
            ReachError::Unexamined { .. } => panic!("{error}"),
        }
    }

    #[test]
    fn every_directory_needs_x_and_the_file_r() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        let cert = keys.join("token.crt");
        std::fs::write(&cert, "x").unwrap();
        chmod(dir.path(), 0o755);
        chmod(&keys, 0o755);
        chmod(&cert, 0o644);
        let owner = std::fs::metadata(&cert).unwrap();
        // Someone who owns nothing here and is in none of its groups.
        let stranger = Account { name: "stranger".into(), uid: 60001, gids: vec![60001] };
        assert!(reachable(&cert, &stranger).is_ok());

        chmod(&keys, 0o700);
        let error = reachable(&cert, &stranger).unwrap_err();
        let blocked = blocked_by(&error);
        assert_eq!(blocked.path, keys.canonicalize().unwrap());
        assert_eq!(blocked.chmod(), format!("chmod o+x {}", keys.canonicalize().unwrap().display()));
        let check =
            readable_check(&[("auth.token.rootcertbundle", &cert)], &stranger, std::slice::from_ref(&keys));
        assert_eq!(check.status, Status::Fail);
        assert!(check.message.contains("0700"), "{check}");
        assert!(check.fix.as_deref().unwrap().contains("regent keys bundle --out"), "{check}");

        // The group's bits apply to a member, and only the owner's to the owner.
        let member = Account { name: "member".into(), uid: 60002, gids: vec![owner.gid()] };
        chmod(&keys, 0o750);
        assert!(reachable(&cert, &member).is_ok());
        assert!(reachable(&cert, &stranger).is_err());
        chmod(&keys, 0o755);
        chmod(&cert, 0o600);
        let error = reachable(&cert, &member).unwrap_err();
        assert_eq!(
            blocked_by(&error).chmod(),
            format!("chmod g+r {}", cert.canonicalize().unwrap().display())
        );
        let owner_account = Account { name: "owner".into(), uid: owner.uid(), gids: vec![] };
        if owner.uid() != 0 {
            chmod(&cert, 0o044);
            assert!(reachable(&cert, &owner_account).is_err(), "the owner's bits decide for the owner");
        }
        let root = Account { name: "root".into(), uid: 0, gids: vec![0] };
        assert!(reachable(&cert, &root).is_ok());
        let missing = readable_check(&[("auth.token.jwks", &dir.path().join("nope"))], &stranger, &[]);
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.message.contains("nope"), "{missing}");
    }

    #[test]
    fn lookup_finds_root_and_not_a_made_up_name() {
        let root = Account::lookup("root").unwrap().unwrap();
        assert_eq!(root.uid, 0);
        assert!(root.gids.contains(&0));
        assert_eq!(Account::lookup("regent-doctor-no-such-user").unwrap(), None);
    }
}

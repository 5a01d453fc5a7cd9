//! Files on disk: atomic replacement and the writers' lock.
//!
//! A write goes to a temporary file in the destination's directory (created 0600 by
//! `tempfile`), is flushed with fsync, renamed over the destination, and the directory is
//! fsynced so the rename itself survives a crash. Readers therefore see the old file or the
//! new one, never a mix. Writers take an exclusive lock on a separate, never-deleted lock file
//! (the vault itself is replaced on every write, so locking it would lock a stale inode).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The files that make up one vault.
#[derive(Clone, Debug)]
pub struct VaultFiles {
    /// The encrypted vault (`vault/alecia.age`).
    pub vault: PathBuf,
    /// Its public recipients, one per line (`vault/alecia.recipients`).
    pub recipients: PathBuf,
    /// The audit trail (`vault/alecia.audit`).
    pub audit: PathBuf,
    lock: PathBuf,
}

/// Held while a command may write the vault; dropping it releases the lock.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

impl VaultFiles {
    /// The files of the vault at `vault`.
    pub fn new(vault: PathBuf) -> Self {
        let recipients = vault.with_extension("recipients");
        let audit = vault.with_extension("audit");
        let mut lock_name = std::ffi::OsString::from(".");
        lock_name.push(vault.file_name().unwrap_or_default());
        lock_name.push(".lock");
        let lock = vault.with_file_name(lock_name);
        VaultFiles {
            vault,
            recipients,
            audit,
            lock,
        }
    }

    /// Waits for, then takes, the exclusive write lock of this vault.
    pub fn lock(&self) -> Result<WriteLock> {
        create_parent(&self.lock)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&self.lock)
            .map_err(|e| Error::io("create the lock file", &self.lock, e))?;
        file.lock().map_err(|e| Error::io("lock", &self.lock, e))?;
        self.remove_stale_temporaries();
        Ok(WriteLock { _file: file })
    }
}

impl VaultFiles {
    /// Removes the temporary files a crashed writer left beside the vault (ciphertext only,
    /// never plaintext); called with the write lock held, when no other writer is at work.
    fn remove_stale_temporaries(&self) {
        let dir = self
            .vault
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".envgen-") && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// An XDG base directory for envgen's files: `$VAR/envgen` when `$VAR` is an absolute path,
/// else `$HOME/<home_relative>/envgen`; `None` without a home directory.
pub fn xdg_dir(var: &str, home_relative: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(home_relative))
        })
        .map(|dir| dir.join("envgen"))
}

/// Creates the parent directory of `path` (mode 0700) if it does not exist.
pub fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("create the directory", dir, e)),
        _ => Ok(()),
    }
}

/// How [`write_atomic`] treats an existing destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it.
    Replace,
    /// Refuse, leaving it untouched.
    Keep,
}

/// Atomically writes `bytes` to `path` with permission bits `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> Result<()> {
    create_parent(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |action, e| Error::io(action, path, e);
    let mut temp = tempfile::Builder::new()
        .prefix(".envgen-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file beside", e))?;
    fault::point("before-write", path);
    temp.write_all(bytes).map_err(|e| fail("write", e))?;
    fault::point("before-fsync", path);
    temp.as_file().sync_all().map_err(|e| fail("fsync", e))?;
    fault::point("before-rename", path);
    match existing {
        Existing::Replace => temp
            .persist(path)
            .map(drop)
            .map_err(|e| fail("replace", e.error))?,
        Existing::Keep => temp.persist_noclobber(path).map(drop).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite {
                    path: path.to_path_buf(),
                }
            } else {
                fail("write", e.error)
            }
        })?,
    }
    fault::point("after-rename", path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync the directory of", path, e))
}

/// Crash points for the crash-safety tests, compiled into debug (test) builds only.
mod fault {
    use std::path::Path;

    /// Aborts the process, as a crash would, when `$ENVGEN_FAULT` is `STEP` or
    /// `STEP@FILE_NAME` and names this step (of a write to `path`).
    #[cfg(debug_assertions)]
    pub(super) fn point(step: &str, path: &Path) {
        let Ok(wanted) = std::env::var("ENVGEN_FAULT") else {
            return;
        };
        let (wanted_step, file) = wanted.split_once('@').unwrap_or((wanted.as_str(), ""));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if wanted_step == step && (file.is_empty() || file == name) {
            std::process::abort();
        }
    }

    /// Release builds have no crash points.
    #[cfg(not(debug_assertions))]
    pub(super) fn point(_: &str, _: &Path) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_atomically_with_the_given_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/v.age");
        write_atomic(&path, b"one", 0o600, Existing::Replace).unwrap();
        write_atomic(&path, b"two", 0o600, Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn keep_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.txt");
        write_atomic(&path, b"first", 0o600, Existing::Keep).unwrap();
        let err = write_atomic(&path, b"second", 0o600, Existing::Keep).unwrap_err();
        assert!(matches!(err, Error::WouldOverwrite { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"first");
    }

    #[test]
    fn the_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let files = VaultFiles::new(dir.path().join("v.age"));
        let held = files.lock().unwrap();
        let other = File::open(&files.lock).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
        assert_eq!(files.recipients, dir.path().join("v.recipients"));
    }
}

//! The files of one vault and the writers' lock.
//!
//! Writes replace files atomically ([`crate::files::write_atomic`]). Writers take an
//! exclusive lock on a separate, never-deleted lock file (the vault itself is replaced on
//! every write, so locking it would lock a stale inode); the lock file is opened without
//! following links and must be a regular file.

use std::fs::{self, File};
use std::path::PathBuf;

use crate::error::Result;
use crate::files::{lock_beside, parent_dir};

/// The files that make up one vault.
#[derive(Clone, Debug)]
pub struct VaultFiles {
    /// The encrypted vault (`vault/alecia.age`).
    pub vault: PathBuf,
    /// Its public recipients, one per line (`vault/alecia.recipients`).
    pub recipients: PathBuf,
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
        VaultFiles { vault, recipients }
    }

    /// Waits for, then takes, the exclusive write lock of this vault (`.NAME.age.lock`).
    pub fn lock(&self) -> Result<WriteLock> {
        let file = lock_beside(&self.vault)?;
        self.remove_stale_temporaries();
        Ok(WriteLock { _file: file })
    }
}

impl VaultFiles {
    /// Removes the temporary files a crashed writer left beside the vault (ciphertext only,
    /// never plaintext); called with the write lock held, when no other writer is at work.
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(parent_dir(&self.vault)) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let files = VaultFiles::new(dir.path().join("v.age"));
        let held = files.lock().unwrap();
        let other = File::open(dir.path().join(".v.age.lock")).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
        assert_eq!(files.recipients, dir.path().join("v.recipients"));
    }

    #[test]
    fn a_symlink_at_the_lock_path_is_refused_and_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let files = VaultFiles::new(dir.path().join("v.age"));
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join(".v.age.lock")).unwrap();
        let err = files.lock().unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!target.exists());
    }
}

//! The files of one vault and the writers' lock.
//!
//! Writes replace files atomically ([`crate::files::write_atomic`]). Writers take an
//! exclusive lock on a separate, never-deleted lock file (the vault itself is replaced on
//! every write, so locking it would lock a stale inode); the lock file is opened without
//! following links and must be a regular file.

use std::fs::{self, File};
use std::path::PathBuf;

use crate::error::Result;
use crate::files::{is_old_temporary, is_temporary_of, lock_beside, parent_dir};

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
    /// Removes the temporary files a crashed writer of this vault left beside it (of the
    /// vault and its recipients file: ciphertext and public keys, never plaintext); called
    /// with this vault's write lock held, when no other writer of these files is at work.
    /// Other vaults in the directory (other profiles, schemas) have their own lock, and
    /// their temporaries are left alone; those of an older envgen, named after no vault,
    /// are removed too.
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(parent_dir(&self.vault)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if is_temporary_of(&name, &self.vault)
                || is_temporary_of(&name, &self.recipients)
                || is_old_temporary(&name)
            {
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

    /// The lock of one vault cleans what a crashed writer of that vault left, and never
    /// the temporary file another vault's writer (another profile) is writing right now.
    #[test]
    fn the_lock_removes_only_this_vaults_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let files = VaultFiles::new(dir.path().join("app.age"));
        let names = [
            ".envgen-app.age.a1B2c3.tmp",
            ".envgen-app.recipients.Zz9yX8.tmp",
            ".envgen-app.staging.age.a1B2c3.tmp",
            ".envgen-app.staging.recipients.a1B2c3.tmp",
            ".envgen-app.age.toolong7.tmp",
            ".envgen-pins.json.a1B2c3.tmp",
            "app.age",
            ".envgen-Q7w8E9.tmp",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        drop(files.lock().unwrap());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".lock"))
            .collect();
        left.sort();
        assert_eq!(left, {
            let mut kept = names[2..names.len() - 1].to_vec();
            kept.sort();
            kept
        });
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

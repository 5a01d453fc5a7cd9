//! Files published together: `render --format files` and `systemd-creds` write one file
//! per variable into a staging directory inside the output directory, then rename each in.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{check_replaceable, fault, open_regular, sync_dir};
use crate::error::{Error, Result};

/// How long a staging directory stays untouched before a run that could not lock the output
/// directory takes it for a crash's leftover.
pub const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(600);

fn is_stale(meta: &fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age >= STALE_STAGING)
}

/// The prefix of the staging directories [`Staging`] creates inside an output directory.
pub const STAGING_PREFIX: &str = ".envgen-new-";

/// Secret files written all or nothing: every file is written (and owned, and given its mode)
/// in a staging directory inside the output directory before the first one is published by
/// a rename.
///
/// Staging inside the directory keeps it on the same file system (each rename is atomic) and
/// behind the directory's own 0700, so plaintext is never more exposed while staged than once
/// published; the directory stays a real directory, so compose `secrets: file:` paths and
/// existing bind mounts keep working (a swapped directory symlink would not). A failure before
/// the publication removes the staging directory; a crash leaves it, and the next run removes
/// it before writing anything. Runs into one directory take turns (a lock on the directory).
/// A crash during the publication can leave some files new and some old, each whole.
pub struct Staging {
    dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    names: Vec<String>,
    /// The directory itself, locked while this run stages and publishes into it: a second
    /// run into the same directory waits, instead of removing this run's staging directory
    /// as a crash's leftover. Last, so it is released after the staging directory is gone.
    _lock: File,
}

impl Staging {
    /// Creates `dir` (mode 0700) if needed, takes its lock (calling `waiting` first when
    /// another run holds it), removes the staging directories a crash left in it, and
    /// starts a new one.
    ///
    /// On a file system that cannot lock a directory (NFS without `local_lock`), runs do not
    /// take turns, and only staging directories untouched for [`STALE_STAGING`] are removed:
    /// a younger one may be another run's.
    pub fn begin(dir: &Path, waiting: &mut dyn FnMut()) -> Result<Staging> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("create the directory", dir, e))?;
        let lock = File::open(dir).map_err(|e| Error::io("open the directory", dir, e))?;
        let locked = match lock.try_lock() {
            Ok(()) => true,
            Err(fs::TryLockError::WouldBlock) => {
                waiting();
                lock.lock()
                    .map_err(|e| Error::io("lock the directory", dir, e))?;
                true
            }
            Err(fs::TryLockError::Error(_)) => false,
        };
        let entries = fs::read_dir(dir).map_err(|e| Error::io("read the directory", dir, e))?;
        for entry in entries.flatten() {
            let leftover = entry
                .file_name()
                .to_string_lossy()
                .starts_with(STAGING_PREFIX)
                && entry.file_type().is_ok_and(|t| t.is_dir())
                && (locked || entry.metadata().is_ok_and(|m| is_stale(&m)));
            if leftover {
                let path = entry.path();
                fs::remove_dir_all(&path)
                    .map_err(|e| Error::io("remove the leftover staging directory", &path, e))?;
            }
        }
        let temp = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(dir)
            .map_err(|e| Error::io("create a staging directory in", dir, e))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            temp: Some(temp),
            names: Vec::new(),
            _lock: lock,
        })
    }

    /// Where the file `name` is staged, for a program that writes it itself; then
    /// [`Staging::adopt`] it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.temp.as_ref().expect("staging").path().join(name)
    }

    /// Stages the file `name` holding `bytes`.
    pub fn write(
        &mut self,
        name: &str,
        bytes: &[u8],
        mode: u32,
        owner: Option<Owner>,
    ) -> Result<()> {
        let path = self.path(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::io("write", &path, e))?;
        fault::point("before-write", &self.dir.join(name));
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write", &path, e))?;
        self.finish(name, &file, mode, owner)
    }

    /// Gives a file written at [`Staging::path`] its owner and mode, and stages it.
    pub fn adopt(&mut self, name: &str, mode: u32, owner: Option<Owner>) -> Result<()> {
        let path = self.path(name);
        let file = open_regular(&path, OpenOptions::new().read(true))
            .map_err(|e| Error::io("open", &path, e))?;
        file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
        self.finish(name, &file, mode, owner)
    }

    fn finish(&mut self, name: &str, file: &File, mode: u32, owner: Option<Owner>) -> Result<()> {
        let path = self.path(name);
        if let Some(owner) = owner {
            std::os::unix::fs::fchown(file, Some(owner.uid), owner.gid)
                .map_err(|e| Error::io("change the owner of", &path, e))?;
        }
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("set the mode of", &path, e))?;
        self.names.push(name.to_string());
        Ok(())
    }

    /// Publishes every staged file into the directory (each replacing a regular file of its
    /// name, never anything else) and removes the staging directory.
    pub fn publish(mut self) -> Result<()> {
        for name in &self.names {
            check_replaceable(&self.dir.join(name))?;
        }
        fault::point("before-publish", &self.dir);
        for name in &self.names {
            let (from, to) = (self.path(name), self.dir.join(name));
            check_replaceable(&to)?;
            fs::rename(&from, &to).map_err(|e| Error::io("publish", &to, e))?;
        }
        let temp = self.temp.take().expect("staging");
        temp.close()
            .map_err(|e| Error::io("remove the staging directory in", &self.dir, e))?;
        sync_dir(&self.dir, &self.dir)
    }
}

/// The owner given to secret files: a user ID and, optionally, a group ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The user ID.
    pub uid: u32,
    /// The group ID (unchanged when `None`).
    pub gid: Option<u32>,
}

impl Owner {
    /// Parses `UID:GID` or `UID`, numeric.
    pub fn parse(text: &str) -> Option<Owner> {
        let (uid, gid) = match text.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (text, None),
        };
        let number = |t: &str| {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u32>().ok())
                .flatten()
        };
        Some(Owner {
            uid: number(uid)?,
            gid: match gid {
                Some(g) => Some(number(g)?),
                None => None,
            },
        })
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.gid {
            Some(gid) => write!(f, "{}:{gid}", self.uid),
            None => write!(f, "{}", self.uid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two deploys render files into one directory at once: the second waits for the
    /// first to publish, instead of removing its staging directory as a crash's leftover.
    #[test]
    fn two_runs_into_one_directory_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut first = Staging::begin(&out, &mut || {}).unwrap();
        first.write("a", b"first", 0o600, None).unwrap();
        let (started, waiting) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                started.send(()).unwrap();
                let mut waited = false;
                let mut second = Staging::begin(&out, &mut || waited = true).unwrap();
                assert!(waited, "the waiting run was not told");
                second.write("b", b"second", 0o600, None).unwrap();
                second.publish().unwrap();
            });
            waiting.recv().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(!second.is_finished(), "the second run did not wait");
            first.publish().unwrap();
            second.join().unwrap();
        });
        assert_eq!(fs::read(out.join("a")).unwrap(), b"first");
        assert_eq!(fs::read(out.join("b")).unwrap(), b"second");
        let left: Vec<_> = fs::read_dir(&out).unwrap().flatten().collect();
        assert_eq!(left.len(), 2);
    }
}

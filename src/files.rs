//! Files on disk, the way a secrets tool must touch them.
//!
//! - **Atomic replacement** ([`write_atomic`]): a temporary file in the destination's
//!   directory (created 0600 by `tempfile`), fsync, rename over the destination, fsync of the
//!   directory so the rename itself survives a crash. Readers see the old file or the new one,
//!   never a mix. Only a regular file (or nothing) is ever replaced: a symbolic link, a
//!   directory, a FIFO, a socket or a device at the destination is refused.
//! - **Output the user chose** ([`write_output`]): like [`write_atomic`], except that a FIFO
//!   or a character device (`/dev/stdout`, a pipe made with `mkfifo`) is written into, as
//!   `age -o` does, instead of being replaced by a plaintext file.
//! - **Files opened in place** ([`open_regular`]): `O_NOFOLLOW | O_NONBLOCK`, then checked to
//!   be a regular file, so a symlink planted at a lock or log path cannot redirect a write
//!   and a FIFO cannot hang the command.
//! - **Bounded reads** ([`read_capped`]): every input has a size limit, so `/dev/zero` or a
//!   huge file ends in a clear error, not in an exhausted memory.
//! - **Files published together** ([`Staging`], in `files/staging.rs`): one file per
//!   variable, staged in the output directory and renamed in once all are written.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

mod staging;
pub use staging::{Owner, STAGING_PREFIX, STALE_STAGING, Staging};

/// Size limits of the files envgen reads.
pub mod limits {
    /// A schema (10,000 variables with rotation tables take about 4 MiB).
    pub const SCHEMA: u64 = 16 << 20;
    /// A vault file (ciphertext).
    pub const VAULT: u64 = 256 << 20;
    /// A `.env` to import or compare.
    pub const DOTENV: u64 = 16 << 20;
    /// A compose file.
    pub const COMPOSE: u64 = 16 << 20;
    /// A recipients file.
    pub const RECIPIENTS: u64 = 1 << 20;
    /// An identity file.
    pub const IDENTITY: u64 = 1 << 20;
    /// A passphrase file or descriptor.
    pub const PASSPHRASE: u64 = 64 << 10;
    /// This machine's pin file.
    pub const PINS: u64 = 16 << 20;
}

/// What stands at a path, as far as writing to it is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Nothing: a new file is created.
    Nothing,
    /// A regular file: it is replaced.
    Regular,
    /// A FIFO or a character device: it is written into.
    Stream,
    /// Anything else: refused.
    Refused(&'static str),
}

fn standing(path: &Path) -> Result<Standing> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Standing::Nothing),
        Err(e) => return Err(Error::io("inspect", path, e)),
    };
    let kind = meta.file_type();
    Ok(if kind.is_file() {
        Standing::Regular
    } else if kind.is_fifo() || kind.is_char_device() {
        Standing::Stream
    } else if kind.is_symlink() {
        Standing::Refused("a symbolic link")
    } else if kind.is_dir() {
        Standing::Refused("a directory")
    } else if kind.is_block_device() {
        Standing::Refused("a block device")
    } else if kind.is_socket() {
        Standing::Refused("a socket")
    } else {
        Standing::Refused("not a regular file")
    })
}

/// Refuses a destination that is not a regular file or nothing (a FIFO or a character
/// device too, unless `streams` allows them).
fn refuse_unless_replaceable(path: &Path, streams: bool) -> Result<Standing> {
    match standing(path)? {
        Standing::Refused(what) => Err(Error::NotARegularFile {
            path: path.to_path_buf(),
            what,
        }),
        Standing::Stream if !streams => Err(Error::NotARegularFile {
            path: path.to_path_buf(),
            what: "a FIFO or a device",
        }),
        other => Ok(other),
    }
}

/// Checks, before anything is written, that [`write_atomic`] could replace `path`.
pub fn check_replaceable(path: &Path) -> Result<()> {
    refuse_unless_replaceable(path, false).map(drop)
}

/// Checks, before anything is written, that [`write_output`] could write to `path`.
pub fn check_output(path: &Path) -> Result<()> {
    refuse_unless_replaceable(path, true).map(drop)
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

/// The directory a path lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
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

/// Atomically writes `bytes` to `path` with permission bits `mode`; only a regular file (or
/// nothing) is replaced.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> Result<()> {
    check_replaceable(path)?;
    create_parent(path)?;
    let dir = parent_dir(path);
    let fail = |action, e| Error::io(action, path, e);
    let mut temp = tempfile::Builder::new()
        .prefix(&temporary_prefix(path))
        .rand_bytes(TEMPORARY_RANDOM)
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file beside", e))?;
    fault::point("before-write", path);
    temp.write_all(bytes).map_err(|e| fail("write", e))?;
    fault::point("before-fsync", path);
    temp.as_file().sync_all().map_err(|e| fail("fsync", e))?;
    fault::point("before-rename", path);
    // Checked again just before the rename: what appeared meanwhile is not replaced.
    check_replaceable(path)?;
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
    sync_dir(dir, path)
}

/// Random characters in the name of a temporary file.
const TEMPORARY_RANDOM: usize = 6;

/// The start of the names of [`write_atomic`]'s temporary files for `path`:
/// `.envgen-NAME.` (then random characters and `.tmp`), so that what a crash left behind
/// can be told apart per destination.
fn temporary_prefix(path: &Path) -> std::ffi::OsString {
    let mut prefix = std::ffi::OsString::from(".envgen-");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    prefix
}

/// Whether `name` (a file name) is one of [`write_atomic`]'s temporary files for `path`.
pub fn is_temporary_of(name: &std::ffi::OsStr, path: &Path) -> bool {
    is_temporary(name, temporary_prefix(path).as_encoded_bytes())
}

/// Whether `name` is a temporary file of an envgen before 2026-11-27, which named them
/// `.envgen-` and six random characters then `.tmp`, whatever their destination (ciphertext
/// beside a vault).
pub fn is_old_temporary(name: &std::ffi::OsStr) -> bool {
    is_temporary(name, b".envgen-")
}

/// Whether `name` is `prefix`, [`TEMPORARY_RANDOM`] letters or digits, then `.tmp`.
fn is_temporary(name: &std::ffi::OsStr, prefix: &[u8]) -> bool {
    let name = name.as_encoded_bytes();
    name.len() == prefix.len() + TEMPORARY_RANDOM + ".tmp".len()
        && name.starts_with(prefix)
        && name.ends_with(b".tmp")
        && name[prefix.len()..name.len() - 4]
            .iter()
            .all(u8::is_ascii_alphanumeric)
}

fn sync_dir(dir: &Path, path: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync the directory of", path, e))
}

/// Writes output the user asked for to `path`: a FIFO or a character device is written into
/// (opened without following links, checked after opening); anything else is replaced
/// atomically like [`write_atomic`] (mode `mode`).
pub fn write_output(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if refuse_unless_replaceable(path, true)? != Standing::Stream {
        return write_atomic(path, bytes, mode, Existing::Replace);
    }
    // No O_NONBLOCK: writing into a FIFO waits for its reader, as `age -o` does.
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    let kind = file
        .metadata()
        .map_err(|e| Error::io("inspect", path, e))?
        .file_type();
    if !(kind.is_fifo() || kind.is_char_device()) {
        return Err(Error::NotARegularFile {
            path: path.to_path_buf(),
            what: "no longer a FIFO or a device",
        });
    }
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| Error::io("write", path, e))
}

/// Waits for, then takes, an exclusive lock on `.NAME.lock` beside `path` (created 0600,
/// never deleted, opened without following links). The lock is released when the returned
/// file is dropped. Writers of a file that is replaced by renames lock this separate file:
/// a lock on the file itself would be on an inode the next write unlinks.
pub fn lock_beside(path: &Path) -> Result<File> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".lock");
    let lock = path.with_file_name(name);
    create_parent(&lock)?;
    let file = open_regular(
        &lock,
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600),
    )
    .map_err(|e| Error::io("open the lock file", &lock, e))?;
    file.lock().map_err(|e| Error::io("lock", &lock, e))?;
    Ok(file)
}

/// Opens `options` at `path` without following a symbolic link and without blocking, and
/// checks that what was opened is a regular file.
pub fn open_regular(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other("it is a symbolic link; refusing to follow it")
            } else {
                e
            }
        })?;
    if !file.metadata()?.file_type().is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    Ok(file)
}

/// Reads at most `limit` bytes from `path` into a buffer wiped on drop; a larger input is
/// an error naming the limit. A FIFO or device is read as a stream (`/dev/stdin`).
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let file = File::open(path)?;
    read_stream_capped(file, limit)
}

/// Reads at most `limit` bytes from `reader` into a buffer wiped on drop.
pub fn read_stream_capped(reader: impl Read, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = crate::secret::WipingWriter::default();
    let copied = std::io::copy(&mut reader.take(limit + 1), &mut buf)?;
    if copied > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it is larger than the limit of {}", human_size(limit)),
        ));
    }
    Ok(buf.into_inner())
}

/// `16 MiB`, `64 KiB`, `300 bytes`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// The permission bits of a directory secrets are written into, when the group or others
/// can write there. A sticky directory (`/tmp`) counts too: other users cannot replace our
/// files there, but they can create the names we are about to use and make the write fail.
pub fn loose_directory(dir: &Path) -> Option<u32> {
    let mode = fs::metadata(dir).ok()?.permissions().mode();
    (mode & 0o022 != 0).then_some(mode & 0o7777)
}

/// The home directory: `$HOME` as given by the caller, else the password database's entry
/// for the real user (as OpenSSH does, for systemd units and cron jobs without `HOME`).
pub fn home_dir(home_env: Option<std::ffi::OsString>) -> Option<PathBuf> {
    home_env
        .filter(|h| Path::new(h).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|user| user.dir)
                .filter(|dir| dir.is_absolute())
        })
}

/// Crash points for the crash-safety tests, compiled into debug (test) builds only.
mod fault {
    use std::path::Path;

    /// Aborts the process, as a crash would, when `$ENVGEN_FAULT` is `STEP` or
    /// `STEP@FILE_NAME` and names this step (of a write to `path`); `panic:STEP` panics
    /// there instead, with a message the panic hook must not print.
    #[cfg(debug_assertions)]
    pub(super) fn point(step: &str, path: &Path) {
        let Ok(wanted) = std::env::var("ENVGEN_FAULT") else {
            return;
        };
        let (panics, wanted) = match wanted.strip_prefix("panic:") {
            Some(rest) => (true, rest),
            None => (false, wanted.as_str()),
        };
        let (wanted_step, file) = wanted.split_once('@').unwrap_or((wanted, ""));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if wanted_step == step && (file.is_empty() || file == name) {
            if panics {
                panic!("fault injected; a payload like this could quote PANIC-PAYLOAD-CANARY");
            }
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
    use std::os::unix::fs::symlink;

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
    fn only_regular_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        for (path, what) in [
            (&link, "a symbolic link"),
            (&dir.path().to_path_buf(), "a directory"),
            (&fifo, "a FIFO or a device"),
        ] {
            let err = write_atomic(path, b"x", 0o600, Existing::Replace).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn output_into_a_fifo_or_device_writes_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write_output(&fifo, b"A=1\n", 0o600).unwrap();
        assert_eq!(reader.join().unwrap(), b"A=1\n");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        write_output(Path::new("/dev/null"), b"A=1\n", 0o600).unwrap();
        assert!(
            fs::symlink_metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    #[test]
    fn open_regular_refuses_links_and_fifos_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        let err = open_regular(&link, OpenOptions::new().create(true).append(true)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!target.exists(), "the link's target was not created");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = open_regular(&fifo, OpenOptions::new().read(true)).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn reads_are_capped() {
        let err = read_capped(Path::new("/dev/zero"), 1 << 10).unwrap_err();
        assert!(err.to_string().contains("1 KiB"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(&**read_capped(&path, 5).unwrap(), b"12345");
        assert!(read_capped(&path, 4).is_err());
    }

    #[test]
    fn home_comes_from_the_password_database_without_home() {
        let from_db = home_dir(None).expect("the test user has a passwd entry");
        assert!(from_db.is_absolute());
        assert_eq!(
            home_dir(Some("/elsewhere".into())),
            Some(PathBuf::from("/elsewhere"))
        );
        assert_eq!(home_dir(Some("relative".into())), Some(from_db));
    }

    #[test]
    fn loose_directories_are_found() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(loose_directory(dir.path()), None);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o770)).unwrap();
        assert_eq!(loose_directory(dir.path()), Some(0o770));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(
            loose_directory(dir.path()),
            Some(0o1777),
            "sticky like /tmp: others can still take the names"
        );
    }
}

//! This machine's record of what envgen did, kept outside the repository.
//!
//! Reads (`render`, `exec`, `get`) must leave the vault's directory untouched: a line per
//! deploy in a committed file made every deploy on every host a git change that conflicted
//! with every other host's. Changes to values are recorded inside the encrypted vault (each
//! value's history says when, how and by whom it was set). What a machine wants to know about
//! its own reads and writes goes here: to the system log through the syslog socket
//! (`/dev/log`, read by journald) when there is one, else appended to a bounded file under the
//! XDG state directory (`~/.local/state/envgen/journal.log`, 1 MiB, then moved to
//! `journal.log.1`, under the lock `.journal.log.lock` so that two commands finding it full at
//! once move it aside once). No fsync: the journal documents, it is not a store. It holds
//! names and the absolute paths of the identity files used, never a value.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::{create_parent, lock_beside, open_regular};

/// Where the journal goes.
#[derive(Clone, Debug)]
pub struct Journal {
    /// The syslog socket, used when it accepts the record.
    pub syslog: Option<PathBuf>,
    /// The fallback file; `None` records nothing when syslog is unavailable.
    pub file: Option<PathBuf>,
    /// The size at which the file is moved aside and started anew.
    pub max_file: u64,
}

/// The size of the journal file before it is rotated.
pub const MAX_FILE: u64 = 1 << 20;
/// Names listed in one record; the rest are counted.
const MAX_NAMES: usize = 64;

#[derive(Serialize)]
struct Record<'a> {
    time: crate::vault::Stamp,
    op: &'a str,
    vault: String,
    names: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    more: Option<usize>,
    by: &'a str,
}

impl Journal {
    /// Records one operation on `vault` by `by` over `names`. Returns what went wrong, for a
    /// warning: the operation itself has already happened.
    pub fn record(
        &self,
        op: &str,
        vault: &Path,
        names: &[&str],
        by: &str,
    ) -> std::result::Result<(), String> {
        let shown = &names[..names.len().min(MAX_NAMES)];
        let record = Record {
            time: crate::vault::Stamp::now(),
            op,
            vault: std::path::absolute(vault)
                .unwrap_or_else(|_| vault.to_path_buf())
                .display()
                .to_string(),
            names: shown,
            more: (names.len() > shown.len()).then_some(names.len() - shown.len()),
            by,
        };
        let json = serde_json::to_string(&record).expect("a record always serializes");
        if let Some(socket) = &self.syslog
            && send_syslog(socket, &json).is_ok()
        {
            return Ok(());
        }
        let Some(file) = &self.file else {
            return Ok(());
        };
        append(file, &json, self.max_file)
            .map_err(|e| format!("cannot append to {}: {e}", file.display()))
    }
}

/// Sends one record to a syslog socket (facility authpriv, severity info), RFC 3164 style
/// as journald and rsyslog read it from `/dev/log`.
fn send_syslog(socket: &Path, json: &str) -> std::io::Result<()> {
    const AUTHPRIV_INFO: u8 = 10 * 8 + 6;
    let message = format!("<{AUTHPRIV_INFO}>envgen[{}]: {json}", std::process::id());
    UnixDatagram::unbound()?.send_to(message.as_bytes(), socket)?;
    Ok(())
}

/// Appends one line, moving a file past `max` bytes aside first.
fn append(path: &Path, json: &str, max: u64) -> std::io::Result<()> {
    create_parent(path).map_err(std::io::Error::other)?;
    let open = || {
        open_regular(
            path,
            OpenOptions::new().create(true).append(true).mode(0o600),
        )
    };
    let mut file = open()?;
    if file.metadata()?.len() >= max {
        // Two commands may find it full at once: the second, under the lock, finds the
        // fresh file the first started and leaves `.1` (the full one) in place.
        let _lock = lock_beside(path).map_err(std::io::Error::other)?;
        file = open()?;
        if file.metadata()?.len() >= max {
            let mut aside = path.as_os_str().to_owned();
            aside.push(".1");
            std::fs::rename(path, aside)?;
            file = open()?;
        }
    }
    file.write_all(format!("{json}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(dir: &Path, syslog: Option<PathBuf>) -> Journal {
        Journal {
            syslog,
            file: Some(dir.join("state/journal.log")),
            max_file: 300,
        }
    }

    #[test]
    fn records_go_to_syslog_when_it_listens() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("log");
        let listener = UnixDatagram::bind(&socket).unwrap();
        journal(dir.path(), Some(socket))
            .record("render", Path::new("vault/x.age"), &["A", "B"], "age1me")
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = listener.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.starts_with("<86>envgen["), "{text}");
        assert!(text.contains(r#""op":"render""#) && text.contains(r#""names":["A","B"]"#));
        assert!(!dir.path().join("state/journal.log").exists());
    }

    #[test]
    fn without_syslog_a_bounded_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path(), Some(dir.path().join("no-socket")));
        for _ in 0..10 {
            j.record("get", Path::new("v.age"), &["REDIS_PASSWORD"], "-")
                .unwrap();
        }
        let file = dir.path().join("state/journal.log");
        let kept = std::fs::metadata(&file).unwrap().len();
        assert!(kept < 300 + 200, "{kept}");
        assert!(dir.path().join("state/journal.log.1").exists());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.lines().all(|l| l.contains(r#""op":"get""#)));
    }

    /// Commands that find the file full at the same time move it aside once: the file
    /// kept as `.1` is always a full one, never the fresh file another command just began.
    #[test]
    fn concurrent_commands_move_only_a_full_file_aside() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal {
            max_file: 2000,
            ..journal(dir.path(), None)
        };
        let aside = dir.path().join("state/journal.log.1");
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..60 {
                        j.record("get", Path::new("v.age"), &["A"], "-").unwrap();
                        if let Ok(meta) = std::fs::metadata(&aside) {
                            assert!(meta.len() >= 2000, "a fresh file was moved aside");
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn a_symlinked_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep\n").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("state/journal.log")).unwrap();
        let err = journal(dir.path(), None)
            .record("get", Path::new("v.age"), &["A"], "-")
            .unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep\n");
    }

    #[test]
    fn many_names_are_counted_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..100).map(|i| format!("V{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let j = Journal {
            max_file: MAX_FILE,
            ..journal(dir.path(), None)
        };
        j.record("render", Path::new("v.age"), &refs, "-").unwrap();
        let text = std::fs::read_to_string(dir.path().join("state/journal.log")).unwrap();
        assert!(text.contains(r#""more":36"#), "{text}");
    }
}

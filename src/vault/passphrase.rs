//! Passphrases of passphrase-encrypted vaults (age scrypt), never from argv.
//!
//! The passphrase comes from `--passphrase-fd N` (a file descriptor, for pipelines), else
//! the file named by `$ENVGEN_PASSPHRASE_FILE` (which, like an identity, must not be readable
//! by group or others), else the terminal without echo, asked twice when a vault is created
//! and the two answers compared in constant time. The first line is the passphrase.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// Where the passphrase comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// An open file descriptor.
    Fd(u32),
    /// A file.
    File(PathBuf),
    /// The terminal.
    Terminal,
}

impl Source {
    /// `--passphrase-fd`, else `file` (the caller's `$ENVGEN_PASSPHRASE_FILE`), else the
    /// terminal.
    pub fn resolve(fd: Option<u32>, file: Option<PathBuf>) -> Source {
        match (fd, file) {
            (Some(fd), _) => Source::Fd(fd),
            (None, Some(path)) => Source::File(path),
            (None, None) => Source::Terminal,
        }
    }

    /// Reads the passphrase; `confirm` asks twice on a terminal (for a new vault), through
    /// `asker`.
    pub fn read(
        &self,
        confirm: bool,
        asker: &dyn crate::vault::keys::Asker,
    ) -> Result<SecretString> {
        let passphrase = match self {
            Source::Fd(fd) => first_line(&PathBuf::from(format!("/dev/fd/{fd}")), false)?,
            Source::File(path) => first_line(path, true)?,
            Source::Terminal => {
                let ask = |prompt: &str| {
                    asker
                        .ask_secret(prompt)
                        .map_err(|e| Error::io("read a passphrase from", "the terminal", e))
                };
                let first = ask("Passphrase for the vault: ")?;
                if confirm {
                    let second = ask("Repeat it: ")?;
                    let same: bool = first
                        .expose_secret()
                        .as_bytes()
                        .ct_eq(second.expose_secret().as_bytes())
                        .into();
                    if !same {
                        return Err(Error::Passphrase {
                            detail: "the two passphrases differ",
                        });
                    }
                }
                first
            }
        };
        if passphrase.expose_secret().is_empty() {
            return Err(Error::Passphrase {
                detail: "the passphrase is empty",
            });
        }
        if confirm && passphrase.expose_secret().trim().is_empty() {
            return Err(Error::Passphrase {
                detail: "the passphrase is only white space",
            });
        }
        Ok(passphrase)
    }
}

fn first_line(path: &PathBuf, check_mode: bool) -> Result<SecretString> {
    if check_mode {
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::io("read", path, e))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::IdentityPermissions {
                path: path.clone(),
                mode,
            });
        }
    }
    let bytes = crate::files::read_capped(path, crate::files::limits::PASSPHRASE)
        .map_err(|e| Error::io("read the passphrase from", path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::Passphrase {
        detail: "the passphrase is not UTF-8",
    })?;
    let line = text
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    Ok(SecretString::from(line))
}

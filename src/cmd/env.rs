//! What envgen takes from the process environment, read once here: library modules are
//! given paths and values, never read the environment themselves.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::files::home_dir;

/// The environment variables and directories a command may use.
#[derive(Clone, Debug)]
pub(crate) struct ProcessEnv {
    /// `$ENVGEN_IDENTITY`.
    pub identity: Option<PathBuf>,
    /// `$ENVGEN_PROFILE`: the profile when `--profile` is not given.
    pub profile: Option<String>,
    /// `$ENVGEN_PASSPHRASE_FILE`.
    pub passphrase_file: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME/envgen`, else `~/.config/envgen`.
    pub config_dir: Option<PathBuf>,
    /// `$XDG_STATE_HOME/envgen`, else `~/.local/state/envgen`.
    pub state_dir: Option<PathBuf>,
    /// The system log socket, when the machine has one.
    pub syslog: Option<PathBuf>,
    /// The caller's `$PATH`, where `exec` looks its command up.
    pub path: Option<OsString>,
}

fn non_empty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

impl ProcessEnv {
    /// Reads the process environment (and the password database when `HOME` is unset).
    pub fn read() -> ProcessEnv {
        let home = home_dir(non_empty("HOME"));
        let xdg = |var: &str, home_relative: &str| {
            non_empty(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| home.as_ref().map(|h| h.join(home_relative)))
                .map(|dir| dir.join("envgen"))
        };
        // `ENVGEN_SYSLOG_SOCKET` names another socket; set but empty, the journal goes to
        // the state file only.
        let syslog = match std::env::var_os("ENVGEN_SYSLOG_SOCKET") {
            Some(socket) if socket.is_empty() => None,
            Some(socket) => Some(PathBuf::from(socket)),
            None => Some(PathBuf::from("/dev/log")).filter(|p| p.exists()),
        };
        ProcessEnv {
            identity: non_empty("ENVGEN_IDENTITY").map(PathBuf::from),
            passphrase_file: non_empty("ENVGEN_PASSPHRASE_FILE").map(PathBuf::from),
            profile: non_empty("ENVGEN_PROFILE").map(|p| p.to_string_lossy().into_owned()),
            config_dir: xdg("XDG_CONFIG_HOME", ".config"),
            state_dir: xdg("XDG_STATE_HOME", ".local/state"),
            syslog,
            path: std::env::var_os("PATH"),
        }
    }

    /// The default identity file, `~/.config/envgen/identity.txt`.
    pub fn default_identity(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("identity.txt"))
    }

    /// This machine's pin file, `~/.local/state/envgen/pins.json`.
    pub fn pins(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join("pins.json"))
    }

    /// This machine's journal of operations.
    pub fn journal(&self) -> crate::journal::Journal {
        crate::journal::Journal {
            syslog: self.syslog.clone(),
            file: self.state_dir.as_ref().map(|d| d.join("journal.log")),
            max_file: crate::journal::MAX_FILE,
        }
    }
}

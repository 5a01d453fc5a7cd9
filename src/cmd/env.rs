//! What envgen takes from the process environment, read once here: library modules are
//! given paths and values, never read the environment themselves.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::SecretString;

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
    /// Where an OpenBao (or HashiCorp Vault) server is and how to authenticate to it.
    pub bao: BaoEnv,
}

/// The `bao`/`vault` CLI conventions: `BAO_*` first, then `VAULT_*`. The token's `Debug` is
/// redacted ([`SecretString`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct BaoEnv {
    /// `$BAO_ADDR`, else `$VAULT_ADDR`.
    pub addr: Option<String>,
    /// `$BAO_TOKEN`, else `$VAULT_TOKEN`.
    pub token: Option<SecretString>,
    /// `~/.vault-token`, read only when no token variable is set.
    pub token_file: Option<PathBuf>,
    /// `$BAO_CACERT`, else `$VAULT_CACERT`: a PEM file of the CA to trust.
    pub cacert: Option<PathBuf>,
    /// `$BAO_NAMESPACE`, else `$VAULT_NAMESPACE`.
    pub namespace: Option<String>,
}

impl BaoEnv {
    fn read(home: Option<&PathBuf>) -> BaoEnv {
        let either = |bao: &str, vault: &str| non_empty(bao).or_else(|| non_empty(vault));
        let text = |v: OsString| v.into_string().ok();
        BaoEnv {
            addr: either("BAO_ADDR", "VAULT_ADDR").and_then(text),
            token: either("BAO_TOKEN", "VAULT_TOKEN")
                .and_then(text)
                .map(SecretString::from),
            token_file: home.map(|h| h.join(".vault-token")),
            cacert: either("BAO_CACERT", "VAULT_CACERT").map(PathBuf::from),
            namespace: either("BAO_NAMESPACE", "VAULT_NAMESPACE").and_then(text),
        }
    }

    /// The token: the environment's, else the first line of `~/.vault-token` (as `bao login`
    /// writes it), else none. A token file other users can read is refused, like an identity.
    pub fn token(&self) -> crate::error::Result<Option<SecretString>> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(token) = &self.token {
            return Ok(Some(token.clone()));
        }
        let Some(file) = self.token_file.as_ref() else {
            return Ok(None);
        };
        let mode = match std::fs::metadata(file) {
            Ok(meta) => meta.permissions().mode() & 0o777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::error::Error::io("read", file, e)),
        };
        if mode & 0o077 != 0 {
            return Err(crate::error::Error::IdentityPermissions {
                path: file.clone(),
                mode,
            });
        }
        let bytes = crate::files::read_capped(file, 64 << 10)
            .map_err(|e| crate::error::Error::io("read", file, e))?;
        let text = std::str::from_utf8(&bytes).unwrap_or_default().trim();
        Ok((!text.is_empty()).then(|| SecretString::from(text)))
    }
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
            bao: BaoEnv::read(home.as_ref()),
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

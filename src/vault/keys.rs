//! Identities (private keys) and recipients (public keys), in age's own file formats.
//!
//! Identity files are read with age's `IdentityFile`, exactly as `age -i` reads them. The
//! identity in use is `--identity FILE`, else `$ENVGEN_IDENTITY`, else
//! `$XDG_CONFIG_HOME/envgen/identity.txt` (`~/.config/envgen/identity.txt`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::x25519;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::vault::store::{Existing, write_atomic};

/// Where the identity path came from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--identity FILE`.
    Flag,
    /// `$ENVGEN_IDENTITY`.
    Env,
    /// The default path under the user's config directory.
    Default,
}

impl Origin {
    /// How the origin is described in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Flag => "given by --identity",
            Origin::Env => "given by ENVGEN_IDENTITY",
            Origin::Default => "the default identity",
        }
    }
}

/// The identity file to use, and where its path came from.
#[derive(Clone, Debug)]
pub struct IdentityPath {
    /// The file.
    pub path: PathBuf,
    /// Where the path came from.
    pub origin: Origin,
}

impl IdentityPath {
    /// Resolves `--identity`, then `$ENVGEN_IDENTITY`, then the default path.
    pub fn resolve(flag: Option<PathBuf>) -> Result<IdentityPath> {
        if let Some(path) = flag {
            return Ok(IdentityPath {
                path,
                origin: Origin::Flag,
            });
        }
        if let Some(path) = std::env::var_os("ENVGEN_IDENTITY").filter(|p| !p.is_empty()) {
            return Ok(IdentityPath {
                path: path.into(),
                origin: Origin::Env,
            });
        }
        Ok(IdentityPath {
            path: default_identity_path()?,
            origin: Origin::Default,
        })
    }
}

/// `$XDG_CONFIG_HOME/envgen/identity.txt`, or `$HOME/.config/envgen/identity.txt`.
pub fn default_identity_path() -> Result<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        });
    match config {
        Some(dir) => Ok(dir.join("envgen").join("identity.txt")),
        None => Err(Error::IdentityMissing {
            path: PathBuf::from("~/.config/envgen/identity.txt"),
            origin: "HOME is not set, so there is no default identity",
        }),
    }
}

/// The keys of one identity file.
pub struct Identities {
    /// The identity file.
    pub path: PathBuf,
    /// The private keys, for decryption.
    pub keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// Their public recipients (`age1...`).
    pub recipients: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("path", &self.path)
            .field("keys", &"[REDACTED]")
            .field("recipients", &self.recipients)
            .finish()
    }
}

impl Identities {
    /// Reads an age identity file.
    pub fn load(at: &IdentityPath) -> Result<Identities> {
        let path = &at.path;
        let file =
            age::IdentityFile::from_file(path.to_string_lossy().into_owned()).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::IdentityMissing {
                        path: path.clone(),
                        origin: at.origin.describe(),
                    }
                } else {
                    Error::IdentityInvalid {
                        path: path.clone(),
                        detail: e.to_string(),
                    }
                }
            })?;
        let invalid = |detail: String| Error::IdentityInvalid {
            path: path.clone(),
            detail,
        };
        let mut listing = Vec::new();
        file.write_recipients_file(&mut listing)
            .map_err(|e| invalid(e.to_string()))?;
        let recipients = String::from_utf8(listing)
            .map_err(|e| invalid(e.to_string()))?
            .lines()
            .map(String::from)
            .collect();
        let keys = file.into_identities().map_err(|e| invalid(e.to_string()))?;
        Ok(Identities {
            path: path.clone(),
            keys,
            recipients,
        })
    }
}

/// Generates a new X25519 identity and writes it, age-keygen style, with mode 0600.
///
/// Refuses to overwrite an existing file. Returns the public recipient.
pub fn generate_identity_file(path: &Path) -> Result<String> {
    let identity = x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let text = Zeroizing::new(format!(
        "# created: {created}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    ));
    write_atomic(path, text.as_bytes(), 0o600, Existing::Keep)?;
    Ok(recipient)
}

/// Parses one recipient; `origin` names where it came from for the error.
pub fn parse_recipient(text: &str, origin: impl FnOnce() -> String) -> Result<x25519::Recipient> {
    x25519::Recipient::from_str(text.trim())
        .map_err(|_| Error::RecipientInvalid { origin: origin() })
}

/// Reads a recipients file: one `age1...` per line, `#` comments and blank lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let mut recipients = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let r = parse_recipient(line, || format!("{}:{}", path.display(), i + 1))?;
        recipients.push(r.to_string());
    }
    if recipients.is_empty() {
        return Err(Error::RecipientsEmpty {
            path: path.to_path_buf(),
        });
    }
    Ok(recipients)
}

/// The text of a recipients file listing `recipients`.
pub fn recipients_file_text(recipients: &[String]) -> String {
    let mut text = String::from(
        "# Public age recipients of the vault beside this file: anyone holding one of their\n\
         # identities can read every secret. Safe to commit; review every change to it.\n",
    );
    for r in recipients {
        text.push_str(r);
        text.push('\n');
    }
    text
}

/// Parses recipients given as strings (already validated ones from a file or the vault).
pub fn to_age_recipients(recipients: &[String]) -> Result<Vec<x25519::Recipient>> {
    recipients
        .iter()
        .enumerate()
        .map(|(i, r)| parse_recipient(r, || format!("recipient {}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_identity_loads_and_matches_its_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.txt");
        let recipient = generate_identity_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let ids = Identities::load(&IdentityPath {
            path: path.clone(),
            origin: Origin::Flag,
        })
        .unwrap();
        assert_eq!(ids.recipients, vec![recipient]);
        assert!(!format!("{ids:?}").contains("AGE-SECRET-KEY"));
        assert!(matches!(
            generate_identity_file(&path),
            Err(Error::WouldOverwrite { .. })
        ));
    }

    #[test]
    fn recipients_files_are_validated_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        let good = x25519::Identity::generate().to_public().to_string();
        std::fs::write(&path, format!("# c\n\n{good}\nage1nope\n")).unwrap();
        let err = read_recipients_file(&path).unwrap_err().to_string();
        assert!(err.contains(":4:"), "{err}");
        std::fs::write(&path, "# only comments\n").unwrap();
        assert!(matches!(
            read_recipients_file(&path),
            Err(Error::RecipientsEmpty { .. })
        ));
        std::fs::write(&path, recipients_file_text(std::slice::from_ref(&good))).unwrap();
        assert_eq!(read_recipients_file(&path).unwrap(), vec![good]);
    }
}

//! The vault: every stored value with its dates, encrypted with age.
//!
//! On disk it is a standard age file (`age -d -i identity vault/alecia.age` opens it) whose
//! plaintext is JSON:
//!
//! ```json
//! { "format": "envgen-vault/1", "schema": "alecia", "recipients": ["age1..."],
//!   "variables": { "REDIS_PASSWORD": { "value": "...", "created": "...", "rotated": "..." } } }
//! ```
//!
//! Derived values are not stored: `render` computes them from the stored ones, so they can
//! never disagree. A hashed variable stores its plaintext and, in `hash`, the PHC string
//! computed once from it. The recipients are recorded inside the encrypted plaintext too, so a
//! swapped `.recipients` file (which is public and committed) cannot make the next write
//! encrypt the secrets to someone else unnoticed.

pub mod crypto;
pub mod keys;
pub mod store;

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use keys::Identities;
use store::{Existing, VaultFiles, write_atomic};

/// The plaintext format tag written in every vault.
const FORMAT: &str = "envgen-vault/1";

/// The decrypted content of a vault.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vault {
    format: String,
    /// The schema the vault belongs to.
    pub schema: String,
    /// The public recipients the vault is encrypted to.
    pub recipients: Vec<String>,
    /// Stored values by variable name.
    pub variables: BTreeMap<String, Entry>,
}

/// One stored value. Its `Debug` shows dates only.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The value (for a hashed variable, the plaintext).
    #[serde(serialize_with = "expose")]
    pub value: SecretString,
    /// For a hashed variable, the PHC string rendered in its place.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_option"
    )]
    pub hash: Option<SecretString>,
    /// When the value was first stored (RFC 3339, UTC).
    pub created: String,
    /// When the value was last generated (RFC 3339, UTC).
    pub rotated: String,
}

fn expose<S: Serializer>(secret: &SecretString, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

fn expose_option<S: Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_some(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

/// The current time as stored in the vault: RFC 3339, UTC, seconds.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Entry {
    /// A value stored now.
    pub fn new(value: SecretString, hash: Option<SecretString>) -> Self {
        let now = now();
        Entry {
            value,
            hash,
            created: now.clone(),
            rotated: now,
        }
    }
}

impl Vault {
    /// An empty vault for `schema`, encrypted to `recipients`.
    pub fn new(schema: &str, recipients: Vec<String>) -> Self {
        Vault {
            format: FORMAT.into(),
            schema: schema.into(),
            recipients,
            variables: BTreeMap::new(),
        }
    }

    /// Serializes to JSON in a buffer sized so it never reallocates, and is wiped on drop.
    fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
        // JSON escaping turns one byte into at most six (`\u00XX`).
        let bound = 256
            + self.recipients.iter().map(|r| r.len() + 16).sum::<usize>()
            + self
                .variables
                .iter()
                .map(|(name, e)| {
                    let hash = e.hash.as_ref().map_or(0, |h| h.expose_secret().len());
                    name.len() + 6 * (e.value.expose_secret().len() + hash) + 200
                })
                .sum::<usize>();
        let mut out = Zeroizing::new(Vec::with_capacity(bound));
        serde_json::to_writer_pretty(&mut *out, self).expect("a vault always serializes");
        debug_assert!(out.capacity() == bound, "plaintext buffer reallocated");
        out.push(b'\n');
        out
    }

    /// Parses decrypted JSON. Errors give a position and a category, never content.
    fn from_plaintext(plaintext: &[u8], path: &Path) -> Result<Vault> {
        let vault: Vault = serde_json::from_slice(plaintext).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "malformed JSON",
                serde_json::error::Category::Data => "unexpected structure",
                serde_json::error::Category::Eof => "JSON ends early",
            };
            Error::VaultFormat {
                path: path.to_path_buf(),
                detail: format!("{what} at line {}, column {}", e.line(), e.column()),
            }
        })?;
        if vault.format != FORMAT {
            return Err(Error::VaultFormat {
                path: path.to_path_buf(),
                detail: format!("format {:?} is not {FORMAT:?}", vault.format),
            });
        }
        Ok(vault)
    }

    /// Decrypts and parses the vault, checking it belongs to `schema`.
    pub fn open(files: &VaultFiles, identities: &Identities, schema: &str) -> Result<Vault> {
        let path = &files.vault;
        let ciphertext = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::VaultMissing { path: path.clone() });
            }
            Err(e) => return Err(Error::io("read", path, e)),
        };
        let plaintext = crypto::decrypt(&ciphertext, &identities.keys).map_err(|f| match f {
            crypto::DecryptFailure::NoMatchingKey => Error::WrongIdentity {
                vault: path.clone(),
                identity: identities.path.clone(),
            },
            crypto::DecryptFailure::Damaged(detail) => Error::VaultDamaged {
                path: path.clone(),
                detail,
            },
        })?;
        let vault = Vault::from_plaintext(&plaintext, path)?;
        if vault.schema != schema {
            return Err(Error::VaultSchemaMismatch {
                path: path.clone(),
                found: vault.schema,
                expected: schema.into(),
            });
        }
        Ok(vault)
    }

    /// Encrypts the vault to its recipients and atomically replaces the file (mode 0600).
    pub fn save(&self, files: &VaultFiles) -> Result<()> {
        let recipients = keys::to_age_recipients(&self.recipients)?;
        let plaintext = self.to_plaintext();
        let ciphertext =
            crypto::encrypt(&plaintext, &recipients).map_err(|detail| Error::Encrypt {
                path: files.vault.clone(),
                detail,
            })?;
        write_atomic(&files.vault, &ciphertext, 0o600, Existing::Replace)
    }

    /// Checks the recipients file against the recipients recorded in the vault.
    ///
    /// A missing file is written back from the vault. A different file is refused unless
    /// `accept_file` is set, in which case the vault adopts the file's recipients.
    /// Returns whether the vault's recipients changed.
    pub fn reconcile_recipients(&mut self, files: &VaultFiles, accept_file: bool) -> Result<bool> {
        if !files.recipients.exists() {
            write_recipients(files, &self.recipients)?;
            return Ok(false);
        }
        let listed = keys::read_recipients_file(&files.recipients)?;
        let added: Vec<&str> = listed
            .iter()
            .filter(|r| !self.recipients.contains(r))
            .map(String::as_str)
            .collect();
        let removed: Vec<&str> = self
            .recipients
            .iter()
            .filter(|r| !listed.contains(r))
            .map(String::as_str)
            .collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(false);
        }
        if !accept_file {
            let show = |v: Vec<&str>| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            return Err(Error::RecipientsChanged {
                path: files.recipients.clone(),
                added: show(added),
                removed: show(removed),
            });
        }
        self.recipients = listed;
        Ok(true)
    }
}

/// Atomically writes the recipients file (public: mode 0644).
pub fn write_recipients(files: &VaultFiles, recipients: &[String]) -> Result<()> {
    let text = keys::recipients_file_text(recipients);
    write_atomic(&files.recipients, text.as_bytes(), 0o644, Existing::Replace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_round_trips_and_debug_hides_values() {
        let mut vault = Vault::new("s", vec!["age1x".into()]);
        vault.variables.insert(
            "A".into(),
            Entry::new(SecretString::from("v\"al\\ue"), None),
        );
        vault.variables.insert(
            "H".into(),
            Entry::new(
                SecretString::from("plain"),
                Some(SecretString::from("$argon2id$x")),
            ),
        );
        let text = vault.to_plaintext();
        let back = Vault::from_plaintext(&text, Path::new("v")).unwrap();
        assert_eq!(back.variables["A"].value.expose_secret(), "v\"al\\ue");
        assert_eq!(
            back.variables["H"].hash.as_ref().unwrap().expose_secret(),
            "$argon2id$x"
        );
        let debug = format!("{back:?}");
        assert!(!debug.contains("plain") && !debug.contains("argon2id") && !debug.contains("al\\"));
    }

    #[test]
    fn format_errors_never_quote_content() {
        let text = br#"{"format":"envgen-vault/1","schema":"s","recipients":[],"variables":{"A":{"value":123456789,"created":"","rotated":""}}}"#;
        let err = Vault::from_plaintext(text, Path::new("v"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("123456789"), "{err}");
        assert!(err.contains("unexpected structure"), "{err}");
    }
}

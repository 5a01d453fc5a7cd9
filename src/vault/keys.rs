//! Identities (private keys) and recipients (public keys), in age's and OpenSSH's formats.
//!
//! Recipients are age X25519 keys (`age1...`) or OpenSSH public keys (`ssh-ed25519 ...`,
//! `ssh-rsa ...`). Identity files are age identity files, as `age-keygen` writes them, or
//! OpenSSH private keys (an encrypted one asks for its passphrase on the terminal). An
//! identity file that group or others can read is refused, as ssh refuses it.
//!
//! The identities in use are found in this order, the first source that applies winning:
//! `--identity FILE` (repeatable), `$ENVGEN_IDENTITY`, the default file
//! `$XDG_CONFIG_HOME/envgen/identity.txt` (`~/.config/envgen/identity.txt`), and, when the
//! schema names one (`host_identity`) and the default file does not exist, the host's ssh key.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::{ssh, x25519};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::files::{Existing, write_atomic};

/// Where an identity path came from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--identity FILE`.
    Flag,
    /// `$ENVGEN_IDENTITY`.
    Env,
    /// The default path under the user's config directory.
    Default,
    /// The host's ssh key named by the schema.
    HostKey,
}

impl Origin {
    /// How the origin is described in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Flag => "given by --identity",
            Origin::Env => "given by ENVGEN_IDENTITY",
            Origin::Default => "the default identity",
            Origin::HostKey => "the host key the schema allows",
        }
    }
}

/// An identity file to use, and where its path came from.
#[derive(Clone, Debug)]
pub struct IdentityPath {
    /// The file.
    pub path: PathBuf,
    /// Where the path came from.
    pub origin: Origin,
}

impl IdentityPath {
    /// The identity files in use: `--identity` (all of them), else `env_identity` (the
    /// caller's `$ENVGEN_IDENTITY`), else `default` (the default file), else `host_key` when
    /// given and the default file does not exist. `default` is `None` when there is no home
    /// directory to hold one.
    pub fn discover(
        flags: &[PathBuf],
        env_identity: Option<&Path>,
        default: Option<&Path>,
        host_key: Option<&Path>,
    ) -> Result<Vec<IdentityPath>> {
        if !flags.is_empty() {
            return Ok(flags
                .iter()
                .map(|p| IdentityPath {
                    path: p.clone(),
                    origin: Origin::Flag,
                })
                .collect());
        }
        if let Some(path) = env_identity {
            return Ok(vec![IdentityPath {
                path: path.to_path_buf(),
                origin: Origin::Env,
            }]);
        }
        let Some(default) = default else {
            return match host_key {
                Some(host) if host.exists() => Ok(vec![IdentityPath {
                    path: host.to_path_buf(),
                    origin: Origin::HostKey,
                }]),
                _ => Err(Error::IdentityMissing {
                    path: PathBuf::from("~/.config/envgen/identity.txt"),
                    origin: "there is no home directory (neither HOME nor the password database names one), so there is no default identity",
                }),
            };
        };
        match host_key {
            Some(host) if !default.exists() && host.exists() => Ok(vec![IdentityPath {
                path: host.to_path_buf(),
                origin: Origin::HostKey,
            }]),
            _ => Ok(vec![IdentityPath {
                path: default.to_path_buf(),
                origin: Origin::Default,
            }]),
        }
    }
}

/// How the person at the terminal is asked for a secret (an encrypted OpenSSH key's
/// passphrase, a passphrase vault's) and told what is going on. The commands provide it
/// (`cmd/prompt.rs`): library modules never touch the terminal themselves.
pub trait Asker: Send + Sync {
    /// Shows a message (on stderr).
    fn say(&self, message: &str);
    /// Asks for a secret without echo; `None` when it cannot be read.
    fn ask_secret(&self, prompt: &str) -> std::io::Result<SecretString>;
}

/// age's callbacks for an encrypted OpenSSH key, through an [`Asker`].
#[derive(Clone)]
struct Prompting(std::sync::Arc<dyn Asker>);

impl age::Callbacks for Prompting {
    fn display_message(&self, message: &str) {
        self.0.say(message);
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        self.0.ask_secret(&format!("{description}: ")).ok()
    }
}

/// The keys of the identity files in use.
pub struct Identities {
    /// The identity files.
    pub paths: Vec<IdentityPath>,
    /// The private keys, for decryption.
    pub keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// Where the public recipients come from, in file order.
    public: Vec<Public>,
    /// The public recipients, computed on first use.
    recipients: std::sync::OnceLock<Vec<String>>,
}

/// The public side of one identity file.
enum Public {
    /// An OpenSSH key's recipient (its public key is in the file).
    Known(String),
    /// An age identity file, read again when a public key is first asked for: each X25519
    /// public key is a base-point multiplication (a twentieth of a render) that decrypting
    /// does not need (only a change records who made it), and keeping a second parsed copy
    /// of the private keys for later would be one more copy of them in memory.
    AgeFile(PathBuf),
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("paths", &self.paths)
            .field("keys", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Identities {
    /// Reads every identity file; an encrypted OpenSSH key asks `asker` for its passphrase
    /// when it is first used.
    pub fn load(paths: &[IdentityPath], asker: std::sync::Arc<dyn Asker>) -> Result<Identities> {
        let mut identities = Identities {
            paths: paths.to_vec(),
            keys: Vec::new(),
            public: Vec::new(),
            recipients: std::sync::OnceLock::new(),
        };
        for at in paths {
            identities.load_one(at, &asker)?;
        }
        Ok(identities)
    }

    /// The public recipients of the identities, in file order.
    pub fn recipients(&self) -> Result<&[String]> {
        if let Some(known) = self.recipients.get() {
            return Ok(known);
        }
        let mut all = Vec::new();
        for public in &self.public {
            match public {
                Public::Known(recipient) => all.push(recipient.clone()),
                Public::AgeFile(path) => {
                    let bytes = crate::files::read_capped(path, crate::files::limits::IDENTITY)
                        .map_err(|e| Error::io("read", path, e))?;
                    let invalid = |detail: String| Error::IdentityInvalid {
                        path: path.clone(),
                        detail,
                    };
                    let file = age::IdentityFile::from_buffer(&bytes[..])
                        .map_err(|e| invalid(e.to_string()))?;
                    let mut listing = Vec::new();
                    file.write_recipients_file(&mut listing)
                        .map_err(|e| invalid(e.to_string()))?;
                    let listing = String::from_utf8(listing).map_err(|e| invalid(e.to_string()))?;
                    all.extend(listing.lines().map(String::from));
                }
            }
        }
        Ok(self.recipients.get_or_init(|| all))
    }

    /// The identity files, for messages: `a.txt, b.txt`.
    pub fn describe(&self) -> String {
        let paths: Vec<String> = self
            .paths
            .iter()
            .map(|p| p.path.display().to_string())
            .collect();
        paths.join(", ")
    }

    fn load_one(&mut self, at: &IdentityPath, asker: &std::sync::Arc<dyn Asker>) -> Result<()> {
        let path = &at.path;
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::IdentityMissing {
                path: path.clone(),
                origin: at.origin.describe(),
            },
            _ => Error::io("read", path, e),
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::IdentityPermissions {
                path: path.clone(),
                mode,
            });
        }
        let bytes = crate::files::read_capped(path, crate::files::limits::IDENTITY)
            .map_err(|e| Error::io("read", path, e))?;
        let invalid = |detail: String| Error::IdentityInvalid {
            path: path.clone(),
            detail,
        };
        if bytes.starts_with(b"-----BEGIN") {
            let identity = ssh::Identity::from_buffer(&bytes[..], Some(path.display().to_string()))
                .map_err(|e| invalid(e.to_string()))?;
            if let ssh::Identity::Unsupported(key) = &identity {
                return Err(invalid(format!(
                    "unsupported ssh key ({})",
                    unsupported(key)
                )));
            }
            let recipient = ssh::Recipient::try_from(identity.clone())
                .map_err(|_| invalid("its public key cannot be used as an age recipient".into()))?;
            self.public.push(Public::Known(recipient.to_string()));
            self.keys
                .push(Box::new(identity.with_callbacks(Prompting(asker.clone()))));
            return Ok(());
        }
        let file =
            age::IdentityFile::from_buffer(&bytes[..]).map_err(|e| invalid(e.to_string()))?;
        let keys = file.into_identities().map_err(|e| invalid(e.to_string()))?;
        if keys.is_empty() {
            return Err(invalid("it holds no identity".into()));
        }
        self.keys.extend(keys);
        self.public.push(Public::AgeFile(path.clone()));
        Ok(())
    }
}

fn unsupported(key: &ssh::UnsupportedKey) -> String {
    struct Show<'a>(&'a ssh::UnsupportedKey);
    impl std::fmt::Display for Show<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.display(f, None)
        }
    }
    Show(key)
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
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

/// A public key the vault can be encrypted to.
pub enum Recipient {
    /// `age1...`
    X25519(x25519::Recipient),
    /// `ssh-ed25519 ...` or `ssh-rsa ...`
    Ssh(ssh::Recipient),
}

impl Recipient {
    /// The key as age's encryptor takes it.
    pub fn as_age(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r) => r,
        }
    }

    /// The kind of key, for listings.
    pub fn kind(&self) -> &'static str {
        match self {
            Recipient::X25519(_) => "age (X25519)",
            Recipient::Ssh(r) if r.to_string().starts_with("ssh-rsa") => "ssh-rsa",
            Recipient::Ssh(_) => "ssh-ed25519",
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::X25519(r) => r.fmt(f),
            Recipient::Ssh(r) => r.fmt(f),
        }
    }
}

/// Parses one recipient; `origin` names where it came from for the error.
pub fn parse_recipient(text: &str, origin: impl FnOnce() -> String) -> Result<Recipient> {
    let text = text.trim();
    if let Ok(r) = x25519::Recipient::from_str(text) {
        return Ok(Recipient::X25519(r));
    }
    if ssh_rsa_has_zero_integer(text) {
        return Err(Error::RecipientInvalid { origin: origin() });
    }
    ssh::Recipient::from_str(text)
        .map(Recipient::Ssh)
        .map_err(|_| Error::RecipientInvalid { origin: origin() })
}

/// Whether `text` is an `ssh-rsa` key whose exponent or modulus is one or more zero bytes:
/// malformed, and age 0.12.1 panics on it (index out of bounds in its `mpint` parser) rather
/// than refusing it. Reads the key as age does: base64 without padding after `ssh-rsa `.
fn ssh_rsa_has_zero_integer(text: &str) -> bool {
    use base64::Engine;
    let Some(rest) = text.strip_prefix("ssh-rsa ") else {
        return false;
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/'))
        .unwrap_or(rest.len());
    let Ok(blob) = base64::prelude::BASE64_STANDARD_NO_PAD.decode(&rest[..end]) else {
        return false;
    };
    // The key type, then the exponent and the modulus, each a u32 length and its bytes.
    let mut rest = blob.as_slice();
    for field in 0..3 {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return false;
        };
        let Some(bytes) = tail.get(..u32::from_be_bytes(*len) as usize) else {
            return false;
        };
        if field > 0 && !bytes.is_empty() && bytes.iter().all(|&b| b == 0) {
            return true;
        }
        rest = &tail[bytes.len()..];
    }
    false
}

/// Reads a recipients file: one key per line, `#` comments and blank lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>> {
    let bytes = crate::files::read_capped(path, crate::files::limits::RECIPIENTS)
        .map_err(|e| Error::io("read", path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::RecipientInvalid {
        origin: format!("{} (not UTF-8 text)", path.display()),
    })?;
    parse_recipients(text, path)
}

/// Parses the text of a recipients file read from `path` (named in errors).
pub fn parse_recipients(text: &str, path: &Path) -> Result<Vec<String>> {
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
        "# Public recipients of the vault beside this file (age1... and ssh-ed25519/ssh-rsa keys):\n\
         # anyone holding one of their private keys can read every secret. Safe to commit;\n\
         # review every change to it. Change it with `envgen recipients add|remove`.\n",
    );
    for r in recipients {
        text.push_str(r);
        text.push('\n');
    }
    text
}

/// Parses recipients given as strings (already validated ones from a file or the vault).
pub fn to_age_recipients(recipients: &[String]) -> Result<Vec<Recipient>> {
    recipients
        .iter()
        .enumerate()
        .map(|(i, r)| parse_recipient(r, || format!("recipient {}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoTerminal;
    impl Asker for NoTerminal {
        fn say(&self, _: &str) {}
        fn ask_secret(&self, _: &str) -> std::io::Result<SecretString> {
            Err(std::io::Error::other("no terminal in a unit test"))
        }
    }

    fn no_terminal() -> std::sync::Arc<dyn Asker> {
        std::sync::Arc::new(NoTerminal)
    }

    fn flag(path: &Path) -> Vec<IdentityPath> {
        vec![IdentityPath {
            path: path.to_path_buf(),
            origin: Origin::Flag,
        }]
    }

    #[test]
    fn generated_identity_loads_and_matches_its_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.txt");
        let recipient = generate_identity_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let ids = Identities::load(&flag(&path), no_terminal()).unwrap();
        assert_eq!(ids.recipients().unwrap(), [recipient]);
        assert!(!format!("{ids:?}").contains("AGE-SECRET-KEY"));
        assert!(matches!(
            generate_identity_file(&path),
            Err(Error::WouldOverwrite { .. })
        ));
    }

    #[test]
    fn readable_identities_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.txt");
        generate_identity_file(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Identities::load(&flag(&path), no_terminal()).unwrap_err();
        assert!(
            matches!(err, Error::IdentityPermissions { mode: 0o644, .. }),
            "{err}"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_recipients_files_never_panic(text in "[\\PC\\n]{0,300}") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("r");
            std::fs::write(&path, &text).unwrap();
            match read_recipients_file(&path) {
                Ok(list) => proptest::prop_assert!(!list.is_empty()),
                Err(Error::RecipientInvalid { origin }) => {
                    let prefix = format!("{}:", path.display());
                    proptest::prop_assert!(origin.starts_with(&prefix), "{}", origin);
                }
                Err(Error::RecipientsEmpty { .. }) => {}
                Err(other) => proptest::prop_assert!(false, "unexpected error {other}"),
            }
        }
    }

    /// Found by the recipients fuzz target: age 0.12.1 panics (index out of bounds in its
    /// `mpint` parser) on an ssh-rsa key whose exponent or modulus is all zero bytes.
    #[test]
    fn an_ssh_rsa_key_with_an_all_zero_integer_is_refused_without_a_panic() {
        let exponent = "ssh-rsa AAAAB3NzaC1yc2EAAAABAA";
        let modulus = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAgAA me@host";
        for key in [exponent, modulus] {
            let parsed = parse_recipient(key, || "line 1".into());
            assert!(
                matches!(parsed, Err(Error::RecipientInvalid { .. })),
                "{key}"
            );
        }
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
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust";
        std::fs::write(&path, recipients_file_text(&[good.clone(), ssh.into()])).unwrap();
        let read = read_recipients_file(&path).unwrap();
        assert_eq!(read[0], good);
        assert!(read[1].starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW"));
        assert_eq!(to_age_recipients(&read).unwrap()[1].kind(), "ssh-ed25519");
    }
}

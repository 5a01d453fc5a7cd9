//! The terminal: where commands ask for a secret without echo and show age's messages.

use std::sync::Arc;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::vault::keys::Asker;

/// Asks on the controlling terminal (rpassword: no echo), messages on stderr.
pub(crate) struct Terminal;

impl Asker for Terminal {
    fn say(&self, message: &str) {
        eprintln!("{message}");
    }

    fn ask_secret(&self, prompt: &str) -> std::io::Result<SecretString> {
        // rpassword returns a String: copy it into a SecretString and wipe the original.
        rpassword::prompt_password(prompt)
            .map(|typed| SecretString::from(Zeroizing::new(typed).as_str()))
    }
}

/// The terminal, as the identities and passphrase sources take it.
pub(crate) fn terminal() -> Arc<dyn Asker> {
    Arc::new(Terminal)
}

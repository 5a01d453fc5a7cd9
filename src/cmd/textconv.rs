//! `envgen textconv FILE`: a vault as text for `git diff`: recipients, then one line per
//! variable with its keyed fingerprint and when it was set. Never a value.
//!
//! git runs it on a temporary copy of each side of a diff. A version this identity cannot
//! open is shown as a one-line note instead of failing, so `git diff` keeps working.

use std::io::Write;
use std::path::PathBuf;

use secrecy::ExposeSecret;

use super::env::ProcessEnv;
use super::{discover_identities, emit};
use crate::cli::TextconvArgs;
use crate::error::{Error, Result};
use crate::vault::Vault;
use crate::vault::keys::Identities;

pub(super) fn run(
    args: &TextconvArgs,
    identity_flags: &[PathBuf],
    env: &ProcessEnv,
    out: &mut dyn Write,
) -> Result<()> {
    let identities = Identities::load(
        &discover_identities(env, identity_flags, None)?,
        super::prompt::terminal(),
    )?;
    let bytes = crate::files::read_capped(&args.file, crate::files::limits::VAULT)
        .map_err(|e| Error::io("read", &args.file, e))?;
    let text = match Vault::decrypt(&bytes, &identities.keys, &identities.describe(), &args.file) {
        Ok(vault) => describe(&vault),
        Err(e) => format!("# envgen cannot show this version: {e}\n"),
    };
    emit(out, text.as_bytes())
}

fn describe(vault: &Vault) -> String {
    use super::printable;
    let mut text = format!(
        "# envgen vault of schema {}, lineage {}, generation {}\n",
        printable(&vault.schema),
        vault.lineage_id(),
        vault.generation
    );
    for r in &vault.recipients {
        text.push_str(&format!("recipient {}\n", printable(r)));
    }
    for (name, entry) in &vault.variables {
        text.push_str(&format!(
            "{} {} set {} by {} ({})\n",
            printable(name),
            vault.fingerprint(name, entry.value.expose_secret()),
            entry.rotated,
            printable(&entry.set_by.by),
            printable(&entry.set_by.how),
        ));
    }
    text
}

//! `envgen keygen`: a new X25519 identity, written with mode 0600.

use std::io::Write;
use std::path::PathBuf;

use super::env::ProcessEnv;
use super::{discover_identities, emit, note};
use crate::cli::KeygenArgs;
use crate::error::Result;
use crate::vault::keys::generate_identity_file;

pub(super) fn run(
    args: &KeygenArgs,
    identity_flags: &[PathBuf],
    env: &ProcessEnv,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let path = match &args.output {
        Some(path) => path.clone(),
        None => {
            discover_identities(env, identity_flags, None)?
                .remove(0)
                .path
        }
    };
    let recipient = generate_identity_file(&path)?;
    note(
        err,
        &format!(
            "wrote a new identity to {} (mode 0600); back it up somewhere safe: without it the vault cannot be opened",
            path.display()
        ),
    );
    emit(out, format!("{recipient}\n").as_bytes())
}

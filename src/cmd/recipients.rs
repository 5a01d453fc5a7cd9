//! `envgen recipients list|add|remove`: who can open the vault.
//!
//! A change rewrites the recipients file and then re-encrypts the vault to the new set, under
//! the write lock. The vault is replaced atomically, so an interruption leaves the old vault
//! (readable by the old set) or the new one; between the two writes, the file already names
//! the new set, so the advice every later write gives (`--update-recipients`) finishes the
//! change asked for, a removal included. The recipients recorded inside the vault
//! are the ones that count: the change starts from them, whatever the file says, and the file
//! is rewritten from the result, so running the command again after an interruption, or
//! after someone edited the file, puts both back in agreement (and says so).

use std::io::Write;

use super::{Context, emit, note, rotate};
use crate::cli::{RecipientsCommand, RotateArgs};
use crate::error::{Error, Result};
use crate::vault::keys::{parse_recipient, read_recipients_file};
use crate::vault::write_recipients;

pub(super) fn run(
    ctx: &Context,
    command: &RecipientsCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let (given, removing, then_rotate) = match command {
        RecipientsCommand::List => return list(ctx, out),
        RecipientsCommand::Add { recipients } => (recipients, false, false),
        RecipientsCommand::Remove { recipients, rotate } => (recipients, true, *rotate),
    };
    let mut keys = Vec::with_capacity(given.len());
    let mut exposed = Vec::new();
    for (i, text) in given.iter().enumerate() {
        keys.push(parse_recipient(text, || format!("recipient argument {}", i + 1))?.to_string());
    }
    {
        let _lock = ctx.files.lock()?;
        let mut opened = ctx.open()?;
        let vault = &mut opened.vault;
        if vault.is_passphrase() {
            return Err(Error::PassphraseVault {
                path: ctx.files.vault.clone(),
            });
        }
        let file = read_recipients_file(&ctx.files.recipients).ok();
        let file_differed = file.as_ref() != Some(&vault.recipients);
        let mut changed = Vec::new();
        for key in &keys {
            let present = vault.recipients.contains(key);
            match (removing, present) {
                (false, false) => vault.recipients.push(key.clone()),
                (true, true) => vault.recipients.retain(|r| r != key),
                (false, true) => {
                    note(err, &format!("already a recipient: {key}"));
                    continue;
                }
                // Already gone from the vault but still in the file: a removal interrupted
                // by an envgen that wrote the vault first; rewriting the file completes it.
                (true, false) if file.as_ref().is_some_and(|f| f.contains(key)) => continue,
                (true, false) => {
                    return Err(Error::NotARecipient {
                        recipient: key.clone(),
                        path: ctx.files.vault.clone(),
                    });
                }
            }
            changed.push(key.as_str());
        }
        if vault.recipients.is_empty() {
            return Err(Error::LastRecipient {
                path: ctx.files.vault.clone(),
            });
        }
        if changed.is_empty() && !file_differed {
            return Ok(());
        }
        if removing && !changed.is_empty() {
            // What the removed keys could read (the lineage secret among it) must not let
            // them make a vault this machine, or any machine that sees this one, accepts.
            vault.new_lineage();
            exposed = secrets_in(ctx, vault);
            for key in &changed {
                vault.record_removal(key, exposed.clone());
            }
        }
        // The file first: a crash between the two writes leaves the file naming the new
        // recipients and the vault the old ones, which every later write refuses with the
        // advice to run `--update-recipients` (or this command again): both finish the
        // change that was asked for. The other order left the removed key in the file,
        // where that advice would have put it back.
        let vault_before = std::fs::read(&ctx.files.vault).ok();
        write_recipients(&ctx.files, &vault.recipients)?;
        if let Err(e) = ctx.save(vault) {
            // Put the file back only if the vault is still the old one: a save that failed
            // after the rename (pinning it, the directory's fsync) left the new vault, which
            // the new file describes, and the old file would lead back to the removed key.
            let untouched = std::fs::read(&ctx.files.vault).ok() == vault_before;
            if let (true, Some(before)) = (untouched, &file) {
                let _ = write_recipients(&ctx.files, before);
            }
            return Err(e);
        }
        if file_differed {
            note(
                err,
                &format!(
                    "note: {} did not match the recipients recorded in the vault; it was rewritten from them",
                    ctx.files.recipients.display()
                ),
            );
        }
        let op = if removing {
            "recipients-remove"
        } else {
            "recipients-add"
        };
        ctx.journal(err, op, &changed, &opened.actor);
        let verb = if removing { "removed" } else { "added" };
        let mut report: String = changed.iter().map(|k| format!("{verb} {k}\n")).collect();
        report.push_str(&format!(
            "re-encrypted {} to {} recipient(s)\n",
            ctx.files.vault.display(),
            vault.recipients.len()
        ));
        if !exposed.is_empty() {
            report.push_str(&format!(
                "the removed key could read {} secret(s): {}\n",
                exposed.len(),
                exposed.join(", ")
            ));
        }
        emit(out, report.as_bytes())?;
    }
    if !removing || exposed.is_empty() {
        return Ok(());
    }
    let (guarded, free): (Vec<&String>, Vec<&String>) = exposed.iter().partition(|name| {
        ctx.schema
            .position(name)
            .is_some_and(|i| ctx.schema.variables()[i].rotation.impact.is_guarded())
    });
    if !then_rotate {
        note(
            err,
            "warning: removal is not revocation: whoever held a removed key may have kept the values it could read. \
             Renew them with `envgen rotate --all` (or run this with --rotate), then the guarded ones with --force; \
             `envgen check` reports them until then",
        );
        return Ok(());
    }
    if !free.is_empty() {
        let rotate_free = RotateArgs {
            names: free.into_iter().cloned().collect(),
            all: false,
            dry_run: false,
            force: false,
            update_recipients: false,
            apply: Default::default(),
        };
        rotate::run(ctx, &rotate_free, out, err)?;
    }
    print_guarded(ctx, &guarded, err);
    Ok(())
}

/// The generated secrets the vault holds (what a removed key could read), in schema order.
/// Fixed values are not secret; derived values follow the secrets they are built from.
pub(super) fn secrets_in(ctx: &Context, vault: &crate::vault::Vault) -> Vec<String> {
    ctx.schema
        .variables()
        .iter()
        .filter(|v| v.kind.generator().is_some() && vault.variables.contains_key(&v.name))
        .map(|v| v.name.clone())
        .collect()
}

/// The guarded secrets still exposed, each with how to rotate it and its steps.
fn print_guarded(ctx: &Context, guarded: &[&String], err: &mut dyn Write) {
    if guarded.is_empty() {
        return;
    }
    note(
        err,
        &format!(
            "still exposed to the removed key ({}): their rotation needs an action in a service or breaks stored data; \
             rotate each when ready (`envgen check` reports them until then):",
            guarded.len()
        ),
    );
    for name in guarded {
        let Some(var) = ctx
            .schema
            .position(name)
            .map(|i| &ctx.schema.variables()[i])
        else {
            continue;
        };
        let breaks = var.rotation.breaks.as_deref().unwrap_or("see the schema");
        note(
            err,
            &format!(
                "  {name} (impact {}: {breaks}): envgen rotate --force {name}",
                var.rotation.impact.name()
            ),
        );
        for (n, step) in var.rotation.steps.iter().enumerate() {
            note(err, &format!("    {}. {step}", n + 1));
        }
    }
}

fn list(ctx: &Context, out: &mut dyn Write) -> Result<()> {
    let vault = ctx.open()?.vault;
    if vault.is_passphrase() {
        return Err(Error::PassphraseVault {
            path: ctx.files.vault.clone(),
        });
    }
    let mut text = String::new();
    for r in &vault.recipients {
        let key = parse_recipient(r, || "the vault".into())?;
        text.push_str(&format!("{}  {r}\n", key.kind()));
    }
    emit(out, text.as_bytes())
}

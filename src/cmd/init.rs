//! `envgen init`: generate every variable the vault lacks; never change an existing one.
//!
//! Inputs (values a provider issues) cannot be generated: init names those still missing on
//! stderr and succeeds, and `render`/`exec` refuse until `envgen set NAME` provides them.

use std::io::Write;

use secrecy::SecretString;

use super::{Context, creator, emit, generate_value, new_vault_recipients, note};
use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::schema::Kind;
use crate::vault::{Entry, Provenance, Vault, write_recipients};

pub(super) fn run(
    ctx: &Context,
    args: &InitArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let mut sets = super::set::parse_assignments(ctx, &args.set, "--set ")?;
    let _lock = ctx.lock()?;
    let existed = ctx.exists();
    let mut recipients_changed = Vec::new();
    let (mut vault, actor) = if existed {
        if !args.recipients.is_empty() || !args.recipients_files.is_empty() {
            return Err(Error::RecipientsForExistingVault {
                path: ctx.files.vault.clone(),
            });
        }
        let mut opened = ctx.open()?;
        recipients_changed = ctx.reconcile_recipients(&mut opened.vault, args.update_recipients)?;
        (opened.vault, opened.actor)
    } else if args.passphrase {
        let mut vault = Vault::new(&ctx.schema.name, Vec::new());
        vault.passphrase = Some(ctx.passphrase(true)?);
        vault.passphrase_work_factor = Some(args.work_factor);
        (vault, "passphrase".into())
    } else {
        let recipients = new_vault_recipients(ctx, &args.recipients, &args.recipients_files, err)?;
        // With explicit recipients no identity is needed; record one if there is one.
        (Vault::new(&ctx.schema.name, recipients), creator(ctx))
    };
    let by = ctx.actor(&actor)?;
    for name in sets.keys() {
        if vault.variables.contains_key(name) {
            return Err(Error::SetExisting {
                name: name.clone(),
                vault: ctx.files.vault.clone(),
            });
        }
    }

    let mut added = Vec::new();
    let mut hashed = Vec::new();
    let mut waiting = Vec::new();
    // In evaluation order, so a token's secret is made before the token.
    for &i in ctx.schema.evaluation_order() {
        let var = &ctx.schema.variables()[i];
        match (&var.kind, vault.variables.get_mut(&var.name)) {
            (Kind::Derived(_), _) => {}
            (Kind::Input(_), None) if !sets.contains_key(&var.name) => {
                waiting.push(var.name.as_str());
            }
            (Kind::Jwt(_), None) => match super::sign_token(var, &vault) {
                Some(token) => {
                    let entry = Entry::new(token, None, Provenance::new("init", &by));
                    vault.variables.insert(var.name.clone(), entry);
                    added.push(("signed", var.name.as_str()));
                }
                None => waiting.push(var.name.as_str()),
            },
            (Kind::Hashed { argon2, .. }, Some(entry)) if entry.hash.is_none() => {
                let hash = argon2
                    .hash(&entry.value, &mut rand::rngs::OsRng)
                    .map_err(|detail| Error::Generate {
                        name: var.name.clone(),
                        detail,
                    })?;
                entry.hash = Some(hash);
                hashed.push(var.name.as_str());
            }
            (_, Some(_)) => {}
            (Kind::Input(_), None) => {
                let value = sets.remove(&var.name).expect("checked above");
                let entry = Entry::new(value, None, Provenance::new("init", &by));
                vault.variables.insert(var.name.clone(), entry);
                added.push(("stored", var.name.as_str()));
            }
            (Kind::Fixed(fixed), None) => {
                let value = sets
                    .remove(&var.name)
                    .unwrap_or_else(|| SecretString::from(fixed.default.as_str()));
                let entry = Entry::new(value, None, Provenance::new("init", &by));
                vault.variables.insert(var.name.clone(), entry);
                added.push(("stored", var.name.as_str()));
            }
            (_, None) => {
                let (value, hash) = generate_value(var)?;
                let entry = Entry::new(value, hash, Provenance::new("init", &by));
                vault.variables.insert(var.name.clone(), entry);
                added.push(("generated", var.name.as_str()));
            }
        }
    }

    waiting.sort_by_key(|n| ctx.schema.position(n));
    let path = ctx.files.vault.display();
    if existed && added.is_empty() && hashed.is_empty() && recipients_changed.is_empty() {
        if waiting.is_empty() {
            note(
                err,
                &format!(
                    "{path} already holds every variable of {}{}; nothing changed",
                    ctx.schema.path.display(),
                    ctx.profile_phrase()
                ),
            );
        } else {
            note(err, &format!("{path}: nothing to generate"));
            super::note_missing_inputs(ctx, err, &waiting);
        }
        return Ok(());
    }
    if !existed && !vault.is_passphrase() {
        write_recipients(&ctx.files, &vault.recipients)?;
    }
    ctx.save(&mut vault)?;
    if let super::Backend::OpenBao(store) = &ctx.backend {
        store.ensure_fingerprint_key(&vault)?;
    }
    let names: Vec<&str> = added
        .iter()
        .map(|(_, n)| *n)
        .chain(hashed.iter().copied())
        .collect();
    ctx.journal(err, "init", &names, &actor);

    let derived = ctx
        .schema
        .variables()
        .iter()
        .filter(|v| !v.kind.is_stored())
        .count();
    if existed {
        note(err, &format!("updated {path}"));
    } else {
        let to = match vault.passphrase_work_factor {
            Some(work_factor) => {
                format!("encrypted with a passphrase (scrypt work factor {work_factor})")
            }
            None => format!(
                "encrypted to {} recipient(s) listed in {}",
                vault.recipients.len(),
                ctx.files.recipients.display()
            ),
        };
        note(
            err,
            &format!(
                "created {path} with {} stored variables ({derived} more are derived at render), {to}",
                added.len()
            ),
        );
    }
    let mut report = String::new();
    for (verb, name) in &added {
        report.push_str(&format!("{verb} {name}\n"));
    }
    for name in &hashed {
        report.push_str(&format!("hashed {name}\n"));
    }
    for line in &recipients_changed {
        report.push_str(&format!("{line}\n"));
    }
    super::note_missing_inputs(ctx, err, &waiting);
    emit(out, report.as_bytes())
}

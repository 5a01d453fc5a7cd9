//! `envgen rotate NAME...`: new values for the named secrets; derived values follow.

use std::io::Write;

use rand::rngs::OsRng;

use super::{Context, emit};
use crate::cli::RotateArgs;
use crate::error::{Error, Result};
use crate::schema::Kind;
use crate::vault::now;

pub(super) fn run(ctx: &Context, args: &RotateArgs, out: &mut dyn Write) -> Result<()> {
    let schema = &ctx.schema;
    let mut targets = Vec::new();
    for name in &args.names {
        let index = schema.require(name)?;
        let var = &schema.variables()[index];
        match &var.kind {
            Kind::Secret(_) | Kind::Hashed { .. } => {}
            Kind::Fixed(_) => {
                return Err(Error::NotRotatable {
                    name: name.clone(),
                    kind: "a fixed value, not a generated secret".into(),
                    hint: "fixed values keep the value chosen at init".into(),
                });
            }
            Kind::Derived(_) => {
                let sources: Vec<&str> = schema
                    .sources(index)
                    .into_iter()
                    .map(|i| schema.variables()[i].name.as_str())
                    .collect();
                return Err(Error::NotRotatable {
                    name: name.clone(),
                    kind: format!("derived from {}", sources.join(", ")),
                    hint: "rotate the secret it is built from; it is re-derived automatically"
                        .into(),
                });
            }
        }
        if !targets.contains(&index) {
            targets.push(index);
        }
    }

    let _lock = ctx.files.lock()?;
    let mut vault = ctx.open()?;
    let recipients_changed = vault.reconcile_recipients(&ctx.files, args.update_recipients)?;
    let missing: Vec<String> = targets
        .iter()
        .map(|&i| &schema.variables()[i].name)
        .filter(|name| !vault.variables.contains_key(*name))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingValues {
            names: missing,
            vault: ctx.files.vault.clone(),
        });
    }
    let rotated_at = now();
    for &i in &targets {
        let var = &schema.variables()[i];
        let failed = |detail: String| Error::Generate {
            name: var.name.clone(),
            detail,
        };
        let entry = vault.variables.get_mut(&var.name).expect("checked above");
        match &var.kind {
            Kind::Secret(generator) => {
                entry.value = generator.generate(&mut OsRng).map_err(failed)?
            }
            Kind::Hashed { plaintext, argon2 } => {
                entry.value = plaintext.generate(&mut OsRng).map_err(failed)?;
                entry.hash = Some(argon2.hash(&entry.value, &mut OsRng).map_err(failed)?);
            }
            Kind::Fixed(_) | Kind::Derived(_) => unreachable!("refused above"),
        }
        entry.rotated.clone_from(&rotated_at);
    }
    vault.save(&ctx.files)?;

    let mut report = String::new();
    if recipients_changed {
        report.push_str("re-encrypted to the recipients file\n");
    }
    for &i in &targets {
        report.push_str(&format!("rotated {}\n", schema.variables()[i].name));
    }
    for i in schema.dependents(&targets) {
        report.push_str(&format!("re-derived {}\n", schema.variables()[i].name));
    }
    emit(out, report.as_bytes())
}

//! `envgen set NAME=VALUE...`: change fixed (non-secret) values after `init`.
//!
//! The change is recorded in the value's history like a rotation (`envgen history`,
//! `envgen rollback`), and every derived value built from it follows at the next render.
//! Secrets are refused: their values never pass through argv.

use std::collections::HashMap;
use std::io::Write;

use secrecy::SecretString;

use super::{Context, emit, provenance};
use crate::cli::SetArgs;
use crate::error::{Error, Result};
use crate::schema::Kind;
use crate::vault::Entry;

pub(super) fn run(
    ctx: &Context,
    args: &SetArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let sets = parse_assignments(ctx, &args.assignments, "")?;
    let schema = &ctx.schema;
    let mut targets: Vec<usize> = sets
        .keys()
        .map(|name| schema.position(name).expect("validated"))
        .collect();
    targets.sort_unstable();

    let _lock = ctx.lock()?;
    let mut opened = ctx.open()?;
    ctx.reconcile_recipients(&mut opened.vault, args.update_recipients)?;
    let vault = &mut opened.vault;
    let mut report = String::new();
    let mut changed = Vec::new();
    for &i in &targets {
        let var = &schema.variables()[i];
        let value = SecretString::from(sets[&var.name].as_str());
        let set_by = provenance("set", &opened.actor);
        match vault.variables.get_mut(&var.name) {
            Some(entry)
                if secrecy::ExposeSecret::expose_secret(&entry.value) == sets[&var.name] =>
            {
                report.push_str(&format!("unchanged {}\n", var.name));
                continue;
            }
            Some(entry) => entry.replace(value, None, set_by, var.rotation.history),
            None => {
                vault
                    .variables
                    .insert(var.name.clone(), Entry::new(value, None, set_by));
            }
        }
        report.push_str(&format!("set {}\n", var.name));
        changed.push(i);
    }
    if !changed.is_empty() {
        ctx.save(vault)?;
        let names: Vec<&str> = changed
            .iter()
            .map(|&i| schema.variables()[i].name.as_str())
            .collect();
        ctx.journal(err, "set", &names, &opened.actor);
        for i in schema.dependents(&changed) {
            report.push_str(&format!("re-derived {}\n", schema.variables()[i].name));
        }
    }
    emit(out, report.as_bytes())
}

/// Validates `NAME=VALUE` arguments (`flag` prefixes the name in errors, e.g. `--set `):
/// fixed variables only, values that pass their rules, each name once.
pub(super) fn parse_assignments(
    ctx: &Context,
    assignments: &[String],
    flag: &'static str,
) -> Result<HashMap<String, String>> {
    let mut parsed = HashMap::new();
    for (i, arg) in assignments.iter().enumerate() {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(Error::SetInvalid {
                flag,
                name: format!("argument {}", i + 1),
                reason: "expected NAME=VALUE".into(),
            });
        };
        let index = ctx.schema.require(name)?;
        let invalid = |reason: String| Error::SetInvalid {
            flag,
            name: name.to_string(),
            reason,
        };
        match &ctx.schema.variables()[index].kind {
            Kind::Fixed(fixed) => fixed.check(value).map_err(invalid)?,
            Kind::Secret(_) | Kind::Hashed { .. } => {
                return Err(Error::SetSecret {
                    flag,
                    name: name.to_string(),
                });
            }
            Kind::Derived(_) => {
                ctx.stored(name, "set")?;
            }
        }
        if parsed.insert(name.to_string(), value.to_string()).is_some() {
            return Err(invalid("given twice".into()));
        }
    }
    Ok(parsed)
}

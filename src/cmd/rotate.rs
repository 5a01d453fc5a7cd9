//! `envgen rotate NAME...`: new values for the named secrets and key pairs; tokens signed
//! with them are signed again and derived values follow. Rotating a token (`jwt`) signs a
//! new one with its secret's current value.

use std::io::Write;

use secrecy::{ExposeSecret, SecretString};

use super::{Context, apply, emit, generate_value, note, print_steps, resign_tokens, sign_token};
use crate::cli::RotateArgs;
use crate::error::{Error, Result};
use crate::generate::Generator;
use crate::schema::rotation::Strategy;
use crate::schema::{Kind, Variable};
use crate::secret::SecretBuf;
use crate::vault::Provenance;

pub(super) fn run(
    ctx: &Context,
    args: &RotateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let schema = &ctx.schema;
    let mut targets = Vec::new();
    if args.all {
        let generated = schema
            .variables()
            .iter()
            .enumerate()
            .filter(|(_, v)| v.kind.is_generated());
        let (guarded, free): (Vec<_>, Vec<_>) =
            generated.partition(|(_, v)| v.rotation.impact.is_guarded());
        targets = free.into_iter().map(|(i, _)| i).collect();
        if !guarded.is_empty() {
            let names: Vec<&str> = guarded.iter().map(|(_, v)| v.name.as_str()).collect();
            note(
                err,
                &format!(
                    "not rotated by --all (guarded; rotate each with --force when ready): {}",
                    names.join(", ")
                ),
            );
        }
    }
    for name in &args.names {
        let index = ctx.rotatable(name)?;
        if !targets.contains(&index) {
            targets.push(index);
        }
    }
    ctx.check_guards(&targets, args.force || args.dry_run)?;
    let dependents = schema.dependents(&targets);
    let name = |i: usize| schema.variables()[i].name.as_str();
    let target_names: Vec<&str> = targets.iter().map(|&i| name(i)).collect();
    let without_apply = format!(
        "envgen{} rotate --force {}",
        ctx.profile_flag(),
        target_names.join(" ")
    );
    let restart = apply::prepare(ctx, &args.apply, &targets, &without_apply)?;

    let _lock = (!args.dry_run).then(|| ctx.lock()).transpose()?;
    let mut opened = ctx.open()?;
    let actor = ctx.actor(&opened.actor)?;
    let recipients_changed = if args.dry_run {
        Vec::new()
    } else {
        ctx.reconcile_recipients(&mut opened.vault, args.update_recipients)?
    };
    let vault = &mut opened.vault;
    let missing: Vec<String> = targets
        .iter()
        .map(|&i| name(i))
        .filter(|n| !vault.variables.contains_key(*n))
        .map(String::from)
        .collect();
    if !missing.is_empty() {
        return Err(ctx.missing(missing));
    }

    let mut report = String::new();
    if args.dry_run {
        for &i in &targets {
            let impact = schema.variables()[i].rotation.impact;
            match impact.is_guarded() && !args.force {
                true => report.push_str(&format!(
                    "would rotate {} (impact {}: needs --force)\n",
                    name(i),
                    impact.name()
                )),
                false => report.push_str(&format!("would rotate {}\n", name(i))),
            }
        }
        for &i in &dependents {
            report.push_str(&format!("would re-derive {}\n", name(i)));
        }
        if let Some(restart) = &restart {
            report.push_str(&apply::describe(restart));
        }
        note(err, "dry run: nothing was changed");
        return emit(out, report.as_bytes());
    }

    for &i in &targets {
        let var = &schema.variables()[i];
        let (value, hash) = match (&var.kind, var.rotation.strategy) {
            (Kind::Jwt(jwt), _) => match sign_token(var, vault) {
                Some(token) => (token, None),
                None => return Err(ctx.missing(vec![jwt.secret.clone()])),
            },
            (_, Strategy::Replace) => generate_value(var)?,
            (_, Strategy::Prepend) => (prepend_item(var, &vault.variables[&var.name].value)?, None),
        };
        let entry = vault.variables.get_mut(&var.name).expect("checked above");
        entry.replace(
            value,
            hash,
            Provenance::new("rotate", &actor),
            var.rotation.history,
        );
        vault.mark_rotated(&var.name);
    }
    resign_tokens(schema, vault, &targets, &actor);
    if args.all {
        // A rotation of everything is what follows a leak or a departure: what the old
        // lineage secret could do ends here too.
        vault.new_lineage();
    }
    ctx.save(vault)?;
    let names: Vec<&str> = targets.iter().map(|&i| name(i)).collect();
    ctx.journal(err, "rotate", &names, &opened.actor);

    for line in &recipients_changed {
        report.push_str(&format!("{line}\n"));
    }
    for &i in &targets {
        report.push_str(&format!("rotated {}\n", name(i)));
    }
    for &i in &dependents {
        report.push_str(&format!("re-derived {}\n", name(i)));
    }
    emit(out, report.as_bytes())?;
    print_steps(err, schema, &targets);
    match &restart {
        Some(restart) => apply::run(ctx, restart, vault, &target_names, err),
        None => Ok(()),
    }
}

/// A list with one new item first and the others shifted down, the last dropping off.
fn prepend_item(var: &Variable, current: &SecretString) -> Result<SecretString> {
    let Kind::Secret(generator) = &var.kind else {
        unreachable!("the schema allows prepend only for secret lists");
    };
    let one = Generator {
        count: 1,
        ..generator.clone()
    };
    let item = one
        .generate(&mut rand::rngs::OsRng)
        .map_err(|detail| Error::Generate {
            name: var.name.clone(),
            detail,
        })?;
    let mut value = SecretBuf::with_capacity(generator.value_len());
    value.push_str(item.expose_secret());
    for old in current
        .expose_secret()
        .split(&*generator.separator)
        .take(generator.count - 1)
    {
        value.push_str(&generator.separator);
        value.push_str(old);
    }
    Ok(value.to_secret())
}

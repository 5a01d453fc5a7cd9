//! `envgen rollback NAME [--to N]`: make a previous value current again; tokens signed with
//! it are signed again.

use std::io::Write;

use super::{Context, apply, emit, print_steps, resign_tokens};
use crate::cli::RollbackArgs;
use crate::error::{Error, Result};
use crate::vault::Provenance;

pub(super) fn run(
    ctx: &Context,
    args: &RollbackArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let schema = &ctx.schema;
    let index = ctx.stored(&args.name, "rollback")?;
    ctx.check_guards(&[index], args.force)?;
    let var = &schema.variables()[index];
    let without_apply = format!(
        "envgen{} rollback --force {} --to {}",
        ctx.profile_flag(),
        var.name,
        args.to
    );
    let restart = apply::prepare(ctx, &args.apply, &[index], &without_apply)?;

    let _lock = ctx.lock()?;
    let mut opened = ctx.open_history(index)?;
    let actor = ctx.actor(&opened.actor)?;
    ctx.reconcile_recipients(&mut opened.vault, false)?;
    let entry = opened
        .vault
        .variables
        .get_mut(&var.name)
        .ok_or_else(|| ctx.missing(vec![var.name.clone()]))?;
    let version = args.to as usize;
    if version > entry.history.len() {
        return Err(Error::NoSuchVersion {
            name: var.name.clone(),
            asked: args.to,
            available: entry.history.len(),
        });
    }
    let restored_set = entry.history[version - 1].set;
    entry.restore(
        version - 1,
        Provenance::new("rollback", &actor),
        var.rotation.history,
    );
    resign_tokens(schema, &mut opened.vault, &[index], &actor);
    // A value from before a recipient's removal is one that recipient may have kept.
    opened.vault.mark_restored(&var.name, restored_set);
    ctx.save(&mut opened.vault)?;
    ctx.journal(err, "rollback", &[var.name.as_str()], &opened.actor);

    let mut report = format!(
        "rolled back {} to version {version} (set {restored_set})\n",
        var.name
    );
    for i in schema.dependents(&[index]) {
        report.push_str(&format!("re-derived {}\n", schema.variables()[i].name));
    }
    emit(out, report.as_bytes())?;
    print_steps(err, schema, &[index]);
    match &restart {
        Some(restart) => apply::run(ctx, restart, &opened.vault, &[var.name.as_str()], err),
        None => Ok(()),
    }
}

//! `envgen history NAME`: the versions of a value, never the values.

use std::io::Write;

use secrecy::ExposeSecret;

use super::{Context, emit};
use crate::cli::HistoryArgs;
use crate::error::{Error, Result};

pub(super) fn run(ctx: &Context, args: &HistoryArgs, out: &mut dyn Write) -> Result<()> {
    let index = ctx.schema.require(&args.name)?;
    let var = &ctx.schema.variables()[index];
    if !var.kind.is_stored() {
        return Err(Error::NotRotatable {
            name: var.name.clone(),
            kind: format!("derived from {}", ctx.sources(index)),
            hint: "it has no history of its own: see the history of what it is built from".into(),
        });
    }
    let opened = ctx.open()?;
    let vault = &opened.vault;
    let entry = vault
        .variables
        .get(&var.name)
        .ok_or_else(|| ctx.missing(vec![var.name.clone()]))?;
    let mut rows =
        vec![["VERSION", "SET", "RETIRED", "HOW", "BY", "FINGERPRINT"].map(String::from)];
    rows.push([
        "current".into(),
        entry.rotated.clone(),
        "-".into(),
        entry.set_by.how.clone(),
        short(&entry.set_by.by),
        vault.fingerprint(&var.name, entry.value.expose_secret()),
    ]);
    for (n, v) in entry.history.iter().enumerate() {
        rows.push([
            (n + 1).to_string(),
            v.set.clone(),
            v.retired.clone(),
            v.set_by.how.clone(),
            short(&v.set_by.by),
            vault.fingerprint(&var.name, v.value.expose_secret()),
        ]);
    }
    let mut text = format!(
        "# {}: {} previous version(s) kept of at most {}\n",
        var.name,
        entry.history.len(),
        var.rotation.history
    );
    text.push_str(&super::list::table(&rows));
    emit(out, text.as_bytes())
}

/// A recipient shortened for a table: `age1qyz8l0s…u7x4`.
fn short(recipient: &str) -> String {
    if recipient.len() <= 20 {
        return recipient.to_string();
    }
    format!("{}…{}", &recipient[..12], &recipient[recipient.len() - 4..])
}

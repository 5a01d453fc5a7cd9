//! `envgen render`: the whole `.env` on stdout, or nothing at all.

use std::io::Write;

use secrecy::ExposeSecret;

use super::{Context, emit, note};
use crate::error::Result;
use crate::render::dotenv;
use crate::resolve::resolve;

pub(super) fn run(ctx: &Context, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let opened = ctx.open()?;
    let vault = &opened.vault;
    let values = resolve(&ctx.schema, vault, &ctx.files.vault)?;
    let header = format!(
        "Rendered by envgen from {} (schema {}). Plaintext secrets: do not edit, do not commit.\n\
         docker compose reads it only as .env in the project directory, or with --env-file.",
        ctx.files.vault.display(),
        ctx.schema.name,
    );
    let names = ctx.schema.variables().iter().map(|v| v.name.as_str());
    let rendered = dotenv(&header, names.zip(values.iter().map(|v| v.expose_secret())));
    for name in vault
        .variables
        .keys()
        .filter(|n| ctx.schema.position(n).is_none())
    {
        note(
            err,
            &format!(
                "note: the vault also holds {name}, which the schema no longer lists; it is not rendered"
            ),
        );
    }
    for name in &rendered.python_dotenv_inexact {
        note(
            err,
            &format!(
                "warning: python-dotenv would misread {name} (docker compose reads it exactly)"
            ),
        );
    }
    emit(out, rendered.text.as_str().as_bytes())?;
    let names: Vec<&str> = ctx
        .schema
        .variables()
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    ctx.audit(err, "render", &names, &opened.actor);
    Ok(())
}

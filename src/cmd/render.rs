//! `envgen render`: every value, in one of four formats, or nothing at all.

use std::io::Write;
use std::path::Path;

use secrecy::ExposeSecret;

use super::{Context, emit, note};
use crate::cli::{Format, RenderArgs};
use crate::error::{Error, Result};
use crate::render::{dotenv, json, shell};
use crate::resolve::resolve;
use crate::vault::store::{Existing, write_atomic};

pub(super) fn run(
    ctx: &Context,
    args: &RenderArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    out_is_terminal: bool,
) -> Result<()> {
    let selected = ctx.select(&args.selection)?;
    if args.output.is_none() && out_is_terminal && !args.force {
        return Err(Error::Terminal);
    }
    if let Some(path) = &args.output {
        refuse_symlink(path)?;
    }
    let opened = ctx.open()?;
    let vault = &opened.vault;
    let values = resolve(&ctx.schema, vault, &ctx.files.vault)?;
    let pairs = || {
        selected.iter().map(|&i| {
            (
                ctx.schema.variables()[i].name.as_str(),
                values[i].expose_secret(),
            )
        })
    };
    let text = match args.format {
        Format::Dotenv => {
            let header = format!(
                "Rendered by envgen from {} (schema {}). Plaintext secrets: do not edit, do not commit.\n\
                 docker compose reads it only as .env in the project directory, or with --env-file.",
                ctx.files.vault.display(),
                ctx.schema.name,
            );
            let rendered = dotenv(&header, pairs());
            for name in &rendered.python_dotenv_inexact {
                note(
                    err,
                    &format!(
                        "warning: python-dotenv would misread {name} (docker compose reads it exactly)"
                    ),
                );
            }
            Some(rendered.text)
        }
        Format::Shell => Some(shell(pairs())),
        Format::Json => Some(json(pairs())),
        Format::Files => None,
    };
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
    match (&text, &args.output) {
        (Some(text), None) => emit(out, text.as_str().as_bytes())?,
        (Some(text), Some(path)) => {
            write_atomic(path, text.as_str().as_bytes(), 0o600, Existing::Replace)?
        }
        (None, dir) => {
            let dir = dir
                .as_deref()
                .expect("clap requires --output with --format files");
            for (name, value) in pairs() {
                let path = dir.join(name);
                refuse_symlink(&path)?;
                write_atomic(&path, value.as_bytes(), 0o600, Existing::Replace)?;
            }
            note(
                err,
                &format!(
                    "wrote {} files (mode 0600) to {}",
                    selected.len(),
                    dir.display()
                ),
            );
        }
    }
    let names: Vec<&str> = pairs().map(|(name, _)| name).collect();
    ctx.audit(err, "render", &names, &opened.actor);
    Ok(())
}

/// Refuses a path that is a symbolic link, so output never lands where a link points.
fn refuse_symlink(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Error::Symlink {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

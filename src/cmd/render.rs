//! `envgen render`: every value, in one of four formats, or nothing at all.

use std::io::Write;
use std::path::Path;

use super::{Context, deliver, emit, note};
use crate::cli::{Format, RenderArgs};
use crate::error::{Error, Result};
use crate::files::{check_output, loose_directory, write_output};
use crate::render::{dotenv, json, shell};

pub(super) fn run(
    ctx: &Context,
    args: &RenderArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    out_is_terminal: bool,
) -> Result<()> {
    deliver::check_options(args)?;
    let selected = ctx.select(&args.selection)?;
    if args.format == Format::ExternalSecret {
        // No value is read: the operator reads them from OpenBao.
        let (text, derived) = deliver::external_secret(ctx, args, &selected)?;
        if !derived.is_empty() {
            note(
                err,
                &format!(
                    "not in the ExternalSecret: {}: derived values are computed by envgen and are not stored in OpenBao; deliver them with --format k8s --only {}",
                    derived.join(", "),
                    derived.join(",")
                ),
            );
        }
        return match &args.output {
            Some(path) => write_output(path, text.as_bytes(), 0o600),
            None => emit(out, text.as_bytes()),
        };
    }
    if args.output.is_none() && out_is_terminal && !args.force {
        return Err(Error::Terminal);
    }
    match (&args.output, args.format) {
        (Some(dir), Format::Files | Format::SystemdCreds) => check_directory(dir)?,
        (Some(path), _) => check_output(path)?,
        (None, _) => {}
    }
    let opened = ctx.open_only(&selected)?;
    let vault = &opened.vault;
    let values = ctx.resolve(vault, &selected)?;
    let pairs = || {
        selected
            .iter()
            .map(|&i| (ctx.schema.variables()[i].name.as_str(), values.get(i)))
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
        Format::K8s => Some(deliver::k8s_secret(ctx, args, pairs())?),
        Format::Files | Format::SystemdCreds => None,
        Format::ExternalSecret => unreachable!("handled above"),
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
        (Some(text), Some(path)) => write_output(path, text.as_str().as_bytes(), 0o600)?,
        (None, dir) => {
            let dir = dir
                .as_deref()
                .expect("clap requires --output with --format files");
            deliver::write_files(ctx, args, dir, pairs(), err)?;
        }
    }
    let names: Vec<&str> = pairs().map(|(name, _)| name).collect();
    ctx.journal(err, "render", &names, &opened.actor);
    Ok(())
}

/// Refuses an output directory that is a symbolic link or not a directory, or that other
/// users could write into (they could swap a secret file for a link between our check and
/// the reader's open).
fn check_directory(dir: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("inspect", dir, e)),
    };
    if !meta.file_type().is_dir() {
        return Err(Error::NotARegularFile {
            path: dir.to_path_buf(),
            what: if meta.file_type().is_symlink() {
                "a symbolic link"
            } else {
                "not a directory"
            },
        });
    }
    match loose_directory(dir) {
        Some(mode) => Err(Error::LooseDirectory {
            path: dir.to_path_buf(),
            mode,
        }),
        None => Ok(()),
    }
}

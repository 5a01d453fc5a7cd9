//! `envgen schema from-compose`: read the compose files and the `.env` example, infer the
//! schema ([`crate::infer`]), write it (never over an existing file without `--force`) and
//! summarise on stderr. Names only: no value of the files is ever printed.

use std::io::Write;
use std::path::Path;

use super::note;
use crate::catalogue::Catalogue;
use crate::cli::{FromComposeArgs, SchemaCommand};
use crate::error::{Error, Result};
use crate::files::{Existing, write_atomic};
use crate::infer::{Input, Report, Request, infer};
use crate::schema::Schema;

/// Largest compose or env file read (they are configuration, not data).
const MAX_FILE: u64 = 4 << 20;

pub(super) fn run(command: &SchemaCommand, err: &mut dyn Write) -> Result<()> {
    match command {
        SchemaCommand::FromCompose(args) => from_compose(args, err),
    }
}

fn read(path: &Path) -> Result<Input> {
    let bytes =
        crate::files::read_capped(path, MAX_FILE).map_err(|source| Error::ComposeUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| Error::ComposeUnreadable {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })?;
    Ok(Input {
        path: path.to_path_buf(),
        text,
    })
}

/// A schema name from a file stem: lowercase letters, digits, `-` and `_`.
fn name_from(output: &Path) -> String {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "stack".into()
    } else {
        name
    }
}

fn from_compose(args: &FromComposeArgs, err: &mut dyn Write) -> Result<()> {
    if !args.force && args.output.exists() {
        return Err(Error::WouldOverwrite {
            path: args.output.clone(),
        });
    }
    let compose = args
        .files
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>>>()?;
    let env_example = args.env_file.as_deref().map(read).transpose()?;
    let reader = |path: &Path| read(path).ok().map(|i| i.text);
    let request = Request {
        compose,
        env_example,
        name: args.name.clone().unwrap_or_else(|| name_from(&args.output)),
        read: &reader,
    };
    let catalogue = Catalogue::load().map_err(|e| Error::Catalogue {
        id: e.id,
        message: e.message,
    })?;
    let outcome = infer(&request, &catalogue)?;
    // The schema written must load: nothing is written otherwise.
    if let Err(e) = Schema::parse(&outcome.schema, &args.output) {
        return Err(Error::InferredInvalid {
            detail: e.to_string(),
        });
    }
    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Keep
    };
    write_atomic(&args.output, outcome.schema.as_bytes(), 0o644, existing)?;
    summary(err, &outcome.report, &args.output);
    Ok(())
}

fn summary(err: &mut dyn Write, r: &Report, output: &Path) {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let recognized: Vec<String> = r
        .services
        .iter()
        .filter_map(|(s, _, id)| id.as_ref().map(|id| format!("{s} ({id})")))
        .collect();
    let unknown: Vec<String> = r
        .services
        .iter()
        .filter(|(_, _, id)| id.is_none())
        .map(|(s, image, _)| {
            if image.is_empty() {
                format!("{s} (no image)")
            } else {
                format!("{s} ({image})")
            }
        })
        .collect();
    note(err, &format!("recognized services: {}", list(&recognized)));
    note(
        err,
        &format!("services not in the catalogue: {}", list(&unknown)),
    );
    note(
        err,
        &format!(
            "generated in the catalogue's format: {}",
            list(&r.generated)
        ),
    );
    note(
        err,
        &format!("inputs the operator must provide: {}", list(&r.inputs)),
    );
    note(
        err,
        &format!(
            "UNVERIFIED guesses (check the service's documentation): {}",
            list(&r.unverified)
        ),
    );
    if !r.unset.is_empty() {
        note(
            err,
            &format!(
                "settings with no value anywhere (written as inputs): {}",
                list(&r.unset)
            ),
        );
    }
    if !r.derived.is_empty() {
        note(
            err,
            &format!("URLs with a percent-encoded password: {}", list(&r.derived)),
        );
    }
    for l in &r.literals {
        note(
            err,
            &format!(
                "warning: {}:{}: service {} writes a credential as a literal in {}; write `{}` instead (the schema generates it)",
                l.file.display(),
                l.line,
                l.service,
                l.key,
                l.suggestion
            ),
        );
    }
    for n in &r.notes {
        note(err, &format!("note: {n}"));
    }
    note(
        err,
        &format!("wrote {}: {} variables", output.display(), r.variables),
    );
    note(
        err,
        &format!(
            "next: review the UNVERIFIED entries, then `envgen --schema {} init`, `envgen --schema {} check --compose FILE...`",
            output.display(),
            output.display()
        ),
    );
}

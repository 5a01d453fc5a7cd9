//! `envgen get NAME`: one value on stdout, for scripts; with `--scram-sha-256`, the value as a
//! PostgreSQL SCRAM verifier (see [`crate::scram`]).

use std::io::Write;

use secrecy::ExposeSecret;

use super::{Context, emit};
use crate::cli::GetArgs;
use crate::error::{Error, Result};
use crate::schema::Kind;
use crate::secret::SecretBuf;

pub(super) fn run(
    ctx: &Context,
    args: &GetArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    out_is_terminal: bool,
) -> Result<()> {
    if out_is_terminal && !args.force {
        return Err(Error::Terminal);
    }
    let index = ctx.schema.require(&args.name)?;
    let hashed = matches!(ctx.schema.variables()[index].kind, Kind::Hashed { .. });
    if args.plaintext && !hashed {
        return Err(Error::NotHashed {
            name: args.name.clone(),
        });
    }
    let opened = ctx.open_only(&[index])?;
    let vault = &opened.vault;
    let mut line = SecretBuf::default();
    if args.plaintext {
        let entry = vault
            .variables
            .get(&args.name)
            .ok_or_else(|| ctx.missing(vec![args.name.clone()]))?;
        line.push_str(entry.value.expose_secret());
    } else {
        let values = ctx.resolve(vault, &[index])?;
        let value = values.get(index);
        if args.scram_sha_256 {
            let verifier = crate::scram::verifier(value).map_err(|_| Error::ScramNonAscii {
                name: args.name.clone(),
            })?;
            line.push_str(verifier.expose_secret());
        } else {
            line.push_str(value);
        }
    }
    line.push_str("\n");
    emit(out, line.as_str().as_bytes())?;
    ctx.journal(err, "get", &[args.name.as_str()], &opened.actor);
    Ok(())
}

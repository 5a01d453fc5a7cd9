//! The commands. Each takes the parsed arguments and the output streams, so tests and the
//! binary run the same code; `main` only maps the result to an exit code.
//!
//! stdout carries only what a command is asked for (the `.env`, a value, the listing, the
//! names that changed); notes for the person at the terminal go to stderr.

mod get;
mod init;
mod keygen;
mod list;
mod render;
mod rotate;

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::vault::Vault;
use crate::vault::keys::{Identities, IdentityPath};
use crate::vault::store::VaultFiles;

/// The schema used when neither `--schema` nor `ENVGEN_SCHEMA` is given.
pub const DEFAULT_SCHEMA: &str = "schema/alecia.toml";

/// Runs the command line `cli`, writing results to `out` and notes to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    if let Command::Keygen(args) = &cli.command {
        return keygen::run(args, cli.identity, out, err);
    }
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Init(args) => init::run(&ctx, &args, out, err),
        Command::Render => render::run(&ctx, out, err),
        Command::Rotate(args) => rotate::run(&ctx, &args, out),
        Command::Get(args) => get::run(&ctx, &args, out),
        Command::List => list::run(&ctx, out),
        Command::Keygen(_) => unreachable!("handled above"),
    }
}

/// What every schema command works on: the schema, the vault files, the identity choice.
struct Context {
    schema: Schema,
    files: VaultFiles,
    identity_flag: Option<PathBuf>,
}

impl Context {
    fn new(cli: &Cli) -> Result<Context> {
        let schema_path = cli
            .schema
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SCHEMA));
        let schema = Schema::load(&schema_path)?;
        let vault = cli
            .vault
            .clone()
            .unwrap_or_else(|| PathBuf::from("vault").join(format!("{}.age", schema.name)));
        Ok(Context {
            schema,
            files: VaultFiles::new(vault),
            identity_flag: cli.identity.clone(),
        })
    }

    fn identity_path(&self) -> Result<IdentityPath> {
        IdentityPath::resolve(self.identity_flag.clone())
    }

    fn identities(&self) -> Result<Identities> {
        Identities::load(&self.identity_path()?)
    }

    /// Decrypts the vault with the identity in use.
    fn open(&self) -> Result<Vault> {
        Vault::open(&self.files, &self.identities()?, &self.schema.name)
    }
}

/// Writes all of `bytes` to standard output and flushes it.
fn emit(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| Error::Output { source })
}

/// Writes a note for the person at the terminal; a failure to do so is not an error.
fn note(err: &mut dyn Write, text: &str) {
    let _ = writeln!(err, "{text}");
}

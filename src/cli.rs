//! Command-line arguments (clap derive). Parsing only: the commands live in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  envgen init                         generate every variable, store them encrypted
  envgen rotate REDIS_PASSWORD        renew one secret and every value derived from it
  envgen render > .env                write the .env (inside the deployment pipeline only)
  envgen get VAULTWARDEN_ADMIN_TOKEN --plaintext
  envgen list                         names, kinds, formats and dates; never values
  envgen keygen -o ci-identity.txt    a new identity for a CI runner

Files:
  schema   schema/alecia.toml (--schema, ENVGEN_SCHEMA)
  vault    vault/<schema name>.age and its public vault/<schema name>.recipients (--vault)
  identity --identity, else ENVGEN_IDENTITY, else ~/.config/envgen/identity.txt";

/// Provision the secrets of a self-hosted stack from a schema, keep them in an
/// age-encrypted vault, and render the .env only at deploy time.
#[derive(Debug, Parser)]
#[command(name = "envgen", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The schema file [default: schema/alecia.toml]
    #[arg(long, global = true, value_name = "FILE", env = "ENVGEN_SCHEMA")]
    pub schema: Option<PathBuf>,

    /// The vault file [default: vault/<schema name>.age]
    #[arg(long, global = true, value_name = "FILE")]
    pub vault: Option<PathBuf>,

    /// The age identity file that opens the vault
    /// [default: $ENVGEN_IDENTITY, else ~/.config/envgen/identity.txt]
    #[arg(short = 'i', long, global = true, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate every variable the vault lacks and store them encrypted.
    ///
    /// Creates the vault (and, with no -r/-R and no identity yet, the default identity) on
    /// first use. Run again after the schema gained variables: only the new ones are
    /// generated. An existing value is never changed.
    #[command(
        after_help = "Examples:\n  envgen init\n  envgen init --set POSTGRES_USER=stack -r age1... -r age1...\n  envgen init -R team.recipients"
    )]
    Init(InitArgs),

    /// Print the whole .env to stdout, quoted for docker compose and python-dotenv.
    ///
    /// Fails, printing nothing, if any variable of the schema is missing from the vault.
    #[command(
        after_help = "Examples:\n  envgen render > .env\n  envgen render | docker compose --env-file /dev/stdin config"
    )]
    Render,

    /// Generate new values for the named secrets and re-derive what depends on them.
    ///
    /// Prints the names of the variables that changed, never their values.
    #[command(
        after_help = "Examples:\n  envgen rotate REDIS_PASSWORD\n  envgen rotate SEARXNG_SECRET HOCUSPOCUS_SECRET"
    )]
    Rotate(RotateArgs),

    /// Print one variable's value to stdout, for scripts.
    #[command(
        after_help = "Examples:\n  envgen get DATABASE_URL\n  envgen get VAULTWARDEN_ADMIN_TOKEN --plaintext   # what you type into /admin"
    )]
    Get(GetArgs),

    /// List the variables: kind, format, services, created and rotated dates. Never values.
    List,

    /// Write a new age identity (mode 0600) and print its public recipient.
    #[command(
        after_help = "Examples:\n  envgen keygen                      # the default identity\n  envgen keygen -o ci-identity.txt"
    )]
    Keygen(KeygenArgs),
}

/// Arguments of `envgen init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Set a fixed (non-secret) variable instead of its default. Refused for secrets.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    /// Encrypt a new vault to this age recipient (repeatable).
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// Encrypt a new vault to the recipients listed in this file (repeatable).
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,

    /// Accept a changed .recipients file and re-encrypt the vault to it.
    #[arg(long)]
    pub update_recipients: bool,
}

/// Arguments of `envgen rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The secrets to renew.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,

    /// Accept a changed .recipients file and re-encrypt the vault to it.
    #[arg(long)]
    pub update_recipients: bool,
}

/// Arguments of `envgen get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The variable.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// For a hashed variable, print the stored plaintext instead of its hash.
    #[arg(long)]
    pub plaintext: bool,
}

/// Arguments of `envgen keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the identity [default: the identity path in use]
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

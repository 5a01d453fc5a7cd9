//! Command-line arguments (clap derive). Parsing only: the commands live in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  envgen init                         generate every variable, store them encrypted
  envgen rotate REDIS_PASSWORD        renew one secret and every value derived from it
  envgen rotate --all --dry-run       what a routine rotation of every unguarded secret would do
  envgen history REDIS_PASSWORD       previous versions: dates, who, fingerprints; never values
  envgen rollback REDIS_PASSWORD      put the previous value back
  envgen check                        exit 1 if a value is missing or overdue (for cron / CI)
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
    /// Prints the names of the variables that changed, never their values. Variables whose
    /// rotation needs an action in a running service, or breaks stored data, are refused
    /// without --force; after a forced rotation the schema's follow-up steps are printed.
    #[command(
        after_help = "Examples:\n  envgen rotate REDIS_PASSWORD\n  envgen rotate --dry-run POSTGRES_PASSWORD\n  envgen rotate --force POSTGRES_PASSWORD   # then follow the printed steps\n  envgen rotate --all                       # every secret that rotates freely"
    )]
    Rotate(RotateArgs),

    /// Put a previous value back (and re-derive what depends on it).
    #[command(
        after_help = "Examples:\n  envgen rollback REDIS_PASSWORD          # the value before the last rotation\n  envgen rollback REDIS_PASSWORD --to 3   # version 3 of `envgen history`"
    )]
    Rollback(RollbackArgs),

    /// List a variable's versions: when and how each was set, by whom, and a keyed
    /// fingerprint. Never values.
    History(HistoryArgs),

    /// Check the vault: exit 1 if a variable is missing or older than its max_age.
    #[command(after_help = "Examples:\n  envgen check || notify-ops \"envgen: rotation overdue\"")]
    Check,

    /// Compare the vault with another version of it (e.g. from git): names and fingerprints
    /// of what changed. Exit 0 when equal, 1 when they differ.
    #[command(
        after_help = "Examples:\n  git show HEAD~1:vault/alecia.age > /tmp/old.age && envgen diff /tmp/old.age"
    )]
    Diff(DiffArgs),

    /// Print a vault as names and fingerprints, for `git diff` (a git textconv filter).
    #[command(
        after_help = "Set-up:\n  echo 'vault/*.age diff=envgen' >> .gitattributes\n  git config diff.envgen.textconv 'envgen textconv'"
    )]
    Textconv(TextconvArgs),

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
    #[arg(
        value_name = "NAME",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub names: Vec<String>,

    /// Renew every generated secret whose rotation is free (needs no action and breaks no data).
    #[arg(long)]
    pub all: bool,

    /// Show what would change (names only) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Rotate even variables whose rotation breaks stored data or needs an action in a service.
    #[arg(long)]
    pub force: bool,

    /// Accept a changed .recipients file and re-encrypt the vault to it.
    #[arg(long)]
    pub update_recipients: bool,
}

/// Arguments of `envgen rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The variable.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The version to restore, as numbered by `envgen history` (1 = the previous value).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub to: u32,

    /// Roll back even a variable whose rotation breaks stored data or needs an action.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `envgen history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The variable.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Arguments of `envgen diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The other version of the vault.
    #[arg(value_name = "FILE")]
    pub other: PathBuf,
}

/// Arguments of `envgen textconv`.
#[derive(Debug, Args)]
pub struct TextconvArgs {
    /// The vault file (git passes a temporary copy of each version).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
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

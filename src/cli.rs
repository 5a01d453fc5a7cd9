//! Command-line arguments (clap derive). Parsing only: the commands live in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod lean;

const EXAMPLES: &str = "\
Examples:
  envgen init                         generate every variable, store them encrypted
  envgen rotate REDIS_PASSWORD        renew one secret and every value derived from it
  envgen rotate --all --dry-run       what a routine rotation of every unguarded secret would do
  envgen history REDIS_PASSWORD       previous versions: dates, who, fingerprints; never values
  envgen rollback REDIS_PASSWORD      put the previous value back
  envgen check                        exit 1 if a value is missing or overdue (for cron / CI)
  envgen render > .env                write the .env (inside the deployment pipeline only)
  envgen exec -- docker compose up -d run a command with every variable, writing no file
  envgen check --compose docker-compose.yml   every ${VAR} the schema must provide
  envgen import .env                  adopt the secrets of a running stack
  envgen get VAULTWARDEN_ADMIN_TOKEN --plaintext
  envgen list                         names, kinds, formats and dates; never values
  envgen keygen -o ci-identity.txt    a new identity for a CI runner
  envgen schema from-compose docker-compose.yml --env-file .env.example -o schema/app.toml

Files:
  schema   schema/alecia.toml (--schema, ENVGEN_SCHEMA)
  vault    vault/<schema name>.age and its public vault/<schema name>.recipients (--vault);
           vault/<schema name>.<profile>.age with --profile (ENVGEN_PROFILE)
  identity --identity, else ENVGEN_IDENTITY, else ~/.config/envgen/identity.txt";

/// Provision the secrets of a self-hosted stack from a schema, keep them in an
/// age-encrypted vault, and render the .env only at deploy time.
#[derive(Debug, Parser)]
#[command(name = "envgen", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The options every subcommand takes.
    #[command(flatten)]
    pub global: Globals,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The options every subcommand takes (before or after the subcommand's name).
#[derive(Debug, Args)]
pub struct Globals {
    /// The schema file [default: schema/alecia.toml]
    #[arg(long, global = true, value_name = "FILE", env = "ENVGEN_SCHEMA")]
    pub schema: Option<PathBuf>,

    /// The vault file [default: vault/<schema name>.age], or openbao://MOUNT/PATH for a vault
    /// kept in OpenBao (vault://MOUNT/PATH for HashiCorp Vault; BAO_ADDR, BAO_TOKEN)
    #[arg(long, global = true, value_name = "FILE|URL")]
    pub vault: Option<PathBuf>,

    /// For an openbao:// vault: log in with this AppRole role ID instead of a token
    #[arg(
        long,
        global = true,
        value_name = "ID",
        requires = "approle_secret_id_file"
    )]
    pub approle_role_id: Option<String>,

    /// For an openbao:// vault: the file (mode 0600) holding the AppRole secret ID
    #[arg(long, global = true, value_name = "FILE", requires = "approle_role_id")]
    pub approle_secret_id_file: Option<PathBuf>,

    /// An identity file that opens the vault: age, or an OpenSSH private key (repeatable)
    /// [default: $ENVGEN_IDENTITY, else ~/.config/envgen/identity.txt]
    #[arg(short = 'i', long, global = true, value_name = "FILE")]
    pub identity: Vec<PathBuf>,

    /// Read the passphrase of a passphrase vault from this file descriptor
    /// [default: the file in $ENVGEN_PASSPHRASE_FILE, else the terminal]
    #[arg(long, global = true, value_name = "FD")]
    pub passphrase_fd: Option<u32>,

    /// The environment: its own vault (vault/<schema>.<profile>.age) and the schema's
    /// [profile.NAME] defaults [default: $ENVGEN_PROFILE, else none]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Accept a vault that differs from what this machine has seen at its path (another
    /// lineage, or an older generation), and remember it from now on
    #[arg(long, global = true)]
    pub accept_vault: bool,
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

    /// Print every value: the .env (default), export lines, JSON, or one file each.
    ///
    /// Fails, printing nothing, if any variable of the schema is missing from the vault.
    /// Refuses to print to a terminal unless --force. Other formats: shell (export lines for
    /// eval), json, files (one file per variable in --output DIR, for compose secrets), k8s (a
    /// Secret), external-secret (an ExternalSecret reading OpenBao), systemd-creds.
    #[command(
        after_help = "Examples:\n  envgen render > .env\n  envgen render --output /srv/alecia/.env\n  envgen render --format shell > env.sh && . ./env.sh\n  envgen render --format files --output /run/secrets/alecia --service plausible\n  envgen render --only DATABASE_URL,REDIS_URL --format json\n  envgen render --format files --output /srv/alecia/secrets --owner 999:999\n  envgen render --format k8s --name alecia --namespace prod | kubectl apply -f -\n  envgen --vault openbao://secret/alecia render --format external-secret --name alecia --store bao\n  envgen render --format systemd-creds --output /etc/credstore/alecia --encrypt"
    )]
    Render(RenderArgs),

    /// Run a command with every variable in its environment, writing no file.
    ///
    /// envgen replaces itself with the command: exit code, signals and stdin are the
    /// command's own, and its environment is the only copy of the values.
    #[command(
        after_help = "Examples:\n  envgen exec -- docker compose -f docker-compose.production.yml up -d\n  envgen exec --service plausible -- ./migrate.sh"
    )]
    Exec(ExecArgs),

    /// Adopt the values of an existing .env into a new vault (a stack already running).
    ///
    /// Values are read as docker compose reads them and stored unchanged; variables the file
    /// lacks are generated; lines the schema does not know are left out and named.
    #[command(
        after_help = "Examples:\n  ssh server cat /srv/alecia/.env | envgen import /dev/stdin\n  envgen import old.env && shred -u old.env"
    )]
    Import(ImportArgs),

    /// Generate new values for the named secrets and re-derive what depends on them.
    ///
    /// Prints the names of the variables that changed, never their values. Variables whose
    /// rotation needs an action in a running service, or breaks stored data, are refused
    /// without --force; after a forced rotation the schema's follow-up steps are printed.
    #[command(
        after_help = "Examples:\n  envgen rotate REDIS_PASSWORD\n  envgen rotate --dry-run POSTGRES_PASSWORD\n  envgen rotate --force POSTGRES_PASSWORD   # then follow the printed steps\n  envgen rotate --all                       # every secret that rotates freely\n  envgen rotate REDIS_PASSWORD --apply --compose docker-compose.yml   # and restart its readers"
    )]
    Rotate(RotateArgs),

    /// Put a previous value back (and re-derive what depends on it).
    #[command(
        after_help = "Examples:\n  envgen rollback REDIS_PASSWORD          # the value before the last rotation\n  envgen rollback REDIS_PASSWORD --to 3   # version 3 of `envgen history`"
    )]
    Rollback(RollbackArgs),

    /// Change fixed values or provide inputs; recorded in their history, derived values and
    /// tokens follow.
    #[command(
        after_help = "Examples:\n  envgen set POSTGRES_USER=stack\n  envgen set MINIO_ROOT_USER=admin POSTGRES_USER=stack\n  pass show smtp | envgen set SMTP_PASSWORD     # a secret input, from stdin\n  envgen set SMTP_PASSWORD                      # asks on the terminal, no echo\n  envgen set VAPID_PRIVATE_KEY < vapid.key      # an existing key"
    )]
    Set(SetArgs),

    /// List a variable's versions: when and how each was set, by whom, and a keyed
    /// fingerprint. Never values.
    History(HistoryArgs),

    /// Check the vault (exit 1 if a variable is missing or older than its max_age), or with
    /// --compose, that the schema provides every variable the compose files use.
    #[command(
        after_help = "Examples:\n  envgen check || notify-ops \"envgen: rotation overdue\"\n  envgen check --compose docker-compose.yml docker-compose.production.yml"
    )]
    Check(CheckArgs),

    /// Compare the vault with a .env on disk, or with another version of the vault (e.g. from
    /// git): the names that are missing, extra or different, never values. Exit 0 when they
    /// match, 1 when they differ.
    #[command(
        after_help = "Examples:\n  ssh host cat /srv/alecia/.env | envgen diff /dev/stdin\n  git show HEAD~1:vault/alecia.age > /tmp/old.age && envgen diff /tmp/old.age"
    )]
    Diff(DiffArgs),

    /// Print a vault as names and fingerprints, for `git diff` (a git textconv filter).
    #[command(
        after_help = "Set-up:\n  echo 'vault/*.age diff=envgen' >> .gitattributes\n  git config diff.envgen.textconv 'envgen textconv'"
    )]
    Textconv(TextconvArgs),

    /// Print one variable's value to stdout, for scripts.
    #[command(
        after_help = "Examples:\n  envgen get DATABASE_URL\n  envgen get VAULTWARDEN_ADMIN_TOKEN --plaintext   # what you type into /admin\n  envgen get --scram-sha-256 POSTGRES_PASSWORD     # for ALTER ROLE ... PASSWORD"
    )]
    Get(GetArgs),

    /// List the variables: kind, format, services, created and rotated dates. Never values.
    List(ListArgs),

    /// List, add or remove the recipients the vault is encrypted to.
    #[command(subcommand)]
    Recipients(RecipientsCommand),

    /// Show which identities would be used, and their public recipients; never a key.
    Whoami,

    /// Write a schema for a stack (from its compose files).
    #[command(subcommand)]
    Schema(SchemaCommand),

    /// Compose helpers: an override file that hands the secrets to services as files.
    #[command(subcommand)]
    Compose(ComposeCommand),

    /// Copy the vault to another store: a file vault into OpenBao, or back into a file.
    ///
    /// Values, dates and history are copied (older versions first), then read back and
    /// compared. Running it again copies only what differs.
    #[command(
        after_help = "Examples:\n  envgen migrate --to openbao://secret/alecia\n  envgen --vault openbao://secret/alecia migrate --to vault/alecia.age"
    )]
    Migrate(MigrateArgs),

    /// OpenBao helpers: the ACL policy of a host.
    #[command(subcommand)]
    Openbao(OpenbaoCommand),

    /// Write a new age identity (mode 0600) and print its public recipient.
    #[command(
        after_help = "Examples:\n  envgen keygen                      # the default identity\n  envgen keygen -o ci-identity.txt"
    )]
    Keygen(KeygenArgs),

    /// Search files (and with --git, every blob in the history) for the vault's values.
    ///
    /// Looks for the actual values (current and previous, hashes, derived values) as they
    /// are and base64-, base64url-, hex-, URL- and JSON-encoded. Prints where each was found
    /// and the variable's name, never the value; exits 1 when anything is found. Follows
    /// .gitignore and skips .git and binary files, like ripgrep.
    #[command(
        after_help = "Examples:\n  envgen scan                  # the current directory\n  envgen scan --git            # and every blob of the repository's history\n  envgen scan --install-hook   # refuse commits that hold a value (pre-commit hook)"
    )]
    Scan(ScanArgs),

    /// Set up this git repository for vaults: the merge driver and the diff filter.
    #[command(subcommand)]
    Git(GitCommand),

    /// Merge two versions of a vault per variable (git's merge driver; see `envgen git setup`).
    ///
    /// Decrypts the common base and both sides with the identity in use. A variable changed
    /// on one side takes that side's value; changed differently on both, it is a conflict
    /// that names the variable, and the file is left as it was (non-zero exit).
    #[command(
        name = "merge-driver",
        after_help = "Set-up (what `envgen git setup` writes):\n  echo 'vault/*.age merge=envgen diff=envgen' >> .gitattributes\n  git config merge.envgen.driver 'envgen merge-driver %O %A %B %P'"
    )]
    MergeDriver(MergeDriverArgs),

    /// Print a shell completion script, generated from this command line.
    #[command(
        after_help = "Install:\n  envgen completions bash > ~/.local/share/bash-completion/completions/envgen\n  envgen completions zsh > \"${fpath[1]}/_envgen\"\n  envgen completions fish > ~/.config/fish/completions/envgen.fish"
    )]
    Completions(CompletionsArgs),

    /// Print the manual page (roff), generated from this command line.
    #[command(
        after_help = "Install:\n  envgen man > ~/.local/share/man/man1/envgen.1 && man envgen"
    )]
    Man,
}

/// Arguments of `envgen scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to search [default: .]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Also search every blob in the history of the git repository (all branches and tags).
    #[arg(long)]
    pub git: bool,

    /// Search the staged content of the staged files only (what the pre-commit hook runs).
    #[arg(long, conflicts_with_all = ["paths", "git", "install_hook"])]
    pub staged: bool,

    /// Install a git pre-commit hook that runs `envgen scan --staged`.
    #[arg(long, conflicts_with_all = ["paths", "git"])]
    pub install_hook: bool,

    /// With --install-hook, replace another existing pre-commit hook.
    #[arg(long, requires = "install_hook")]
    pub force: bool,
}

/// The subcommands of `envgen git`.
#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Write the .gitattributes lines and the repository's git config for the vault files.
    ///
    /// `.gitattributes` gains `vault/*.age merge=envgen diff=envgen` and
    /// `vault/*.recipients merge=envgen-recipients` (commit it); the
    /// repository's config gains the merge driver and the textconv diff filter (each clone
    /// runs this once). Running it again changes nothing.
    Setup,
}

/// Arguments of `envgen merge-driver` (git passes them as %O %A %B %P).
#[derive(Debug, Args)]
pub struct MergeDriverArgs {
    /// The common ancestor's version (%O).
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// Our version (%A): the merge is written here.
    #[arg(value_name = "OURS")]
    pub ours: PathBuf,
    /// Their version (%B).
    #[arg(value_name = "THEIRS")]
    pub theirs: PathBuf,
    /// The vault's path in the repository (%P), for messages.
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Merge a `.recipients` file instead of a vault (a removal on either side wins).
    #[arg(long)]
    pub recipients: bool,
}

/// Arguments of `envgen completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
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

    /// Encrypt a new vault with a passphrase (age scrypt) instead of to recipients.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_files"])]
    pub passphrase: bool,

    /// The scrypt work factor of a new passphrase vault, log2 of N: each step doubles the
    /// time and memory needed to open it (18 takes about a second and 256 MiB here).
    #[arg(long, value_name = "LOG2N", default_value_t = 18, value_parser = clap::value_parser!(u8).range(10..=22), requires = "passphrase")]
    pub work_factor: u8,
}

/// The output formats of `envgen render`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// NAME=value lines for docker compose (and python-dotenv).
    Dotenv,
    /// `export NAME='value'` lines, safe to eval in POSIX sh and bash.
    Shell,
    /// One JSON object, name to value.
    Json,
    /// One file per variable (mode 0400, see --mode, --owner) in the --output directory.
    Files,
    /// A Kubernetes v1 Secret manifest (--name, --namespace), values base64 in `data`.
    K8s,
    /// An External Secrets Operator ExternalSecret reading the OpenBao KV paths (--name,
    /// --store): no values (openbao:// vaults only).
    ExternalSecret,
    /// One file per variable in the --output directory, for systemd's LoadCredential= (or
    /// LoadCredentialEncrypted= with --encrypt).
    SystemdCreds,
}

/// Which variables a command covers: all, `--only`, or those of `--service`.
#[derive(Debug, Args)]
pub struct Selection {
    /// Only these variables (comma-separated).
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        value_parser = selected_name,
        conflicts_with = "service"
    )]
    pub only: Vec<String>,

    /// Only the variables this service reads (as the schema lists them).
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
}

/// One name of `--only`, without the spaces around it; an empty one is refused here, where
/// the message can say why, not later as "no variable  in schema".
fn selected_name(name: &str) -> Result<String, String> {
    match name.trim() {
        "" => Err("an empty name (two commas in a row, or one at an end?)".into()),
        name => Ok(name.to_string()),
    }
}

/// Arguments of `envgen render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Dotenv)]
    pub format: Format,

    /// Write atomically to this file (mode 0600; a symlink is refused) instead of stdout;
    /// with --format files or systemd-creds, the directory (created 0700).
    #[arg(short, long, value_name = "PATH", required_if_eq_any([("format", "files"), ("format", "systemd-creds")]))]
    pub output: Option<PathBuf>,

    /// Print to stdout even when it is a terminal.
    #[arg(long)]
    pub force: bool,

    /// files, systemd-creds: the files' permission bits, octal [default: 0400]
    #[arg(long, value_name = "OCTAL")]
    pub mode: Option<String>,

    /// files, systemd-creds: the files' owner, numeric (the container's user)
    #[arg(long, value_name = "UID:GID", conflicts_with = "owner_from")]
    pub owner: Option<String>,

    /// files: the owner is the `user:` of this service of the --compose file
    #[arg(long, value_name = "SERVICE", requires = "compose")]
    pub owner_from: Option<String>,

    /// With --owner-from: the compose file (repeatable; the last one that sets `user:` wins)
    #[arg(long, value_name = "FILE", requires = "owner_from")]
    pub compose: Vec<PathBuf>,

    /// k8s, external-secret: the Secret's name (metadata.name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// k8s, external-secret: the namespace
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// external-secret: the SecretStore that reaches the OpenBao server
    #[arg(long, value_name = "NAME")]
    pub store: Option<String>,

    /// systemd-creds: encrypt each file with `systemd-creds encrypt` (host key or TPM)
    #[arg(long)]
    pub encrypt: bool,

    /// Which variables.
    #[command(flatten)]
    pub selection: Selection,
}

/// Arguments of `envgen exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Which variables.
    #[command(flatten)]
    pub selection: Selection,

    /// The command and its arguments (after `--`, or after envgen's own options, like env).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<std::ffi::OsString>,
}

/// Arguments of `envgen import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The .env file to adopt.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Encrypt the new vault to this age recipient (repeatable); default: the identity in use.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// Import even when the file holds fewer than half of the schema's generated secrets
    /// (the others are generated).
    #[arg(long)]
    pub allow_partial: bool,
}

/// Arguments of `envgen check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check these compose files against the schema instead of checking the vault.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub compose: Vec<PathBuf>,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `envgen list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--apply`: restart the affected compose services once the vault is written.
#[derive(Debug, Default, Args)]
pub struct ApplyArgs {
    /// After writing the vault, run `docker compose [-f FILE]... up -d SERVICES` with every
    /// value in its environment, SERVICES being the services that read what changed
    #[arg(long)]
    pub apply: bool,

    /// With --apply: the compose files (repeatable, in `docker compose -f` order); their
    /// services' references choose what restarts [default: the schema's `services`]
    #[arg(long, value_name = "FILE", requires = "apply")]
    pub compose: Vec<PathBuf>,
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

    /// Restart the affected services.
    #[command(flatten)]
    pub apply: ApplyArgs,
}

/// Arguments of `envgen set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The variables to change: NAME=VALUE for fixed values and non-secret inputs; NAME
    /// alone reads the value from stdin, or asks on the terminal without echo (secret inputs,
    /// existing private keys: never through argv).
    #[arg(required = true, value_name = "NAME[=VALUE]")]
    pub assignments: Vec<String>,

    /// Accept a changed .recipients file and re-encrypt the vault to it.
    #[arg(long)]
    pub update_recipients: bool,

    /// Restart the affected services.
    #[command(flatten)]
    pub apply: ApplyArgs,
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

    /// Restart the affected services.
    #[command(flatten)]
    pub apply: ApplyArgs,
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
    /// A .env file, or another version of the vault.
    #[arg(value_name = "FILE")]
    pub other: PathBuf,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
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

    /// Print to stdout even when it is a terminal.
    #[arg(long)]
    pub force: bool,

    /// Print a PostgreSQL SCRAM-SHA-256 verifier of the value (random salt, 4096 iterations)
    /// instead of the value: `ALTER ROLE ... PASSWORD '<verifier>'` sets the password without
    /// PostgreSQL ever seeing it.
    #[arg(long = "scram-sha-256", conflicts_with = "plaintext")]
    pub scram_sha_256: bool,
}

/// The subcommands of `envgen recipients`.
#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// The recipients recorded in the vault, with their kind.
    List,
    /// Add recipients and re-encrypt the vault to the new set.
    #[command(
        after_help = "Examples:\n  envgen recipients add age1...\n  envgen recipients add \"$(cat ~/.ssh/id_ed25519.pub)\"\n  envgen recipients add \"$(ssh-keyscan -t ed25519 deploy-host | cut -d' ' -f2-)\""
    )]
    Add {
        /// age1..., ssh-ed25519 ... or ssh-rsa ... keys.
        #[arg(required = true, value_name = "RECIPIENT")]
        recipients: Vec<String>,
    },
    /// Remove recipients and re-encrypt the vault without them.
    ///
    /// Removal is not revocation: whoever held a removed key may have kept the values. Pass
    /// --rotate to renew every secret that rotates freely at the same time.
    Remove {
        /// The keys to remove, as listed by `envgen recipients list`.
        #[arg(required = true, value_name = "RECIPIENT")]
        recipients: Vec<String>,
        /// Also renew every secret whose rotation is free (the guarded ones are listed).
        #[arg(long)]
        rotate: bool,
    },
}

/// Arguments of `envgen keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the identity [default: the identity path in use]
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The subcommands of `envgen schema`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Infer a schema from compose files, their .env example and the service catalogue.
    ///
    /// Lists every variable the files use. Services the catalogue knows get their documented
    /// formats, with sources; everything else is guessed from names and example values and
    /// marked `verified = false`. Credentials written as literals are reported (never
    /// printed). The summary goes to stderr.
    #[command(
        after_help = "Examples:\n  envgen schema from-compose docker-compose.yml --env-file .env.example -o schema/immich.toml\n  envgen schema from-compose compose.yml compose.override.yml --name blog -o schema/blog.toml --force"
    )]
    FromCompose(FromComposeArgs),
}

/// Arguments of `envgen schema from-compose`.
#[derive(Debug, Args)]
pub struct FromComposeArgs {
    /// The compose files, in the order `docker compose -f` takes them.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The stack's .env example: its assignments are variables too, and give settings their
    /// values.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// The schema's name (it names the vault) [default: the output file's stem].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Where to write the schema.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `envgen migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Where to copy the vault: openbao://MOUNT/PATH, vault://MOUNT/PATH, or a file.
    #[arg(long, value_name = "FILE|URL")]
    pub to: PathBuf,
}

/// The subcommands of `envgen compose`.
#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Write a compose override declaring every schema variable the services use as a compose
    /// secret (a file of `render --format files`), and, where the image's catalogue entry
    /// reads a `NAME_FILE` variable, pointing it at /run/secrets/NAME instead of the value.
    ///
    /// Holds no value. Use it as the last -f, after rendering the files it names.
    #[command(
        after_help = "Examples:\n  envgen compose secrets --compose docker-compose.yml --output docker-compose.secrets.yml\n  envgen render --format files --output secrets --owner 999:999\n  envgen exec -- docker compose -f docker-compose.yml -f docker-compose.secrets.yml up -d"
    )]
    Secrets(ComposeSecretsArgs),
}

/// Arguments of `envgen compose secrets`.
#[derive(Debug, Args)]
pub struct ComposeSecretsArgs {
    /// The compose files, in `docker compose -f` order.
    #[arg(long, required = true, value_name = "FILE")]
    pub compose: Vec<PathBuf>,

    /// Where to write the override.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// The directory of the rendered files, as the override names it (relative paths are
    /// relative to the project directory, the first compose file's).
    #[arg(long, value_name = "DIR", default_value = "./secrets")]
    pub files: PathBuf,

    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// The subcommands of `envgen openbao`.
#[derive(Debug, Subcommand)]
pub enum OpenbaoCommand {
    /// Print the ACL policy (HCL) that lets a host running SERVICE read exactly the variables
    /// it needs (and what they are derived from), and nothing else.
    #[command(
        after_help = "Examples:\n  envgen --vault openbao://secret/alecia openbao policy --service redis > redis.hcl\n  bao policy write alecia-redis redis.hcl"
    )]
    Policy {
        /// The service, as the schema's `services` lists it.
        #[arg(long, value_name = "SERVICE")]
        service: String,
    },
}

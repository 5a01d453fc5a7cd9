//! Every error envgen reports, in one place so the messages read alike.
//!
//! Each error says what went wrong (naming the file, line and variable where there is one)
//! and [`Error::hint`] says what to do. No variant carries a secret value: errors hold names,
//! paths, positions and fixed descriptions only, so they are safe to print and to log.

use std::io;
use std::path::PathBuf;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error that stops an envgen command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The schema file could not be read.
    #[error("cannot read schema {path}: {source}")]
    SchemaRead {
        /// The schema path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The schema is malformed or inconsistent.
    #[error("{path}:{line}:{column}: {message}")]
    Schema {
        /// The schema path.
        path: PathBuf,
        /// 1-based line of the offending item.
        line: usize,
        /// 1-based column of the offending item.
        column: usize,
        /// What is wrong, naming the variable where there is one.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A file could not be read, written or locked.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What envgen was doing ("read", "write", "lock"...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// There is no vault file yet.
    #[error("no vault at {path}")]
    VaultMissing {
        /// The vault path.
        path: PathBuf,
    },
    /// None of the identities can decrypt the vault.
    #[error("none of the identities in {identity} can open {vault}")]
    WrongIdentity {
        /// The vault path.
        vault: PathBuf,
        /// The identity files used.
        identity: String,
    },
    /// The passphrase does not open a passphrase vault.
    #[error("the passphrase does not open {vault}")]
    WrongPassphrase {
        /// The vault path.
        vault: PathBuf,
    },
    /// A passphrase could not be read or was refused.
    #[error("passphrase: {detail}")]
    Passphrase {
        /// What is wrong.
        detail: &'static str,
    },
    /// `recipients` on a vault encrypted with a passphrase.
    #[error("{path} is encrypted with a passphrase and has no recipients")]
    PassphraseVault {
        /// The vault path.
        path: PathBuf,
    },
    /// `recipients remove` of a key the vault does not list.
    #[error("{recipient} is not a recipient of {path}")]
    NotARecipient {
        /// The key.
        recipient: String,
        /// The vault path.
        path: PathBuf,
    },
    /// `recipients remove` would leave no recipient.
    #[error("removing them would leave {path} with no recipient")]
    LastRecipient {
        /// The vault path.
        path: PathBuf,
    },
    /// An identity or passphrase file readable by group or others.
    #[error("{path} is readable by other users (mode {mode:o})")]
    IdentityPermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The vault failed authentication or is not an age file.
    #[error("{path} is damaged or was tampered with ({detail})")]
    VaultDamaged {
        /// The vault path.
        path: PathBuf,
        /// Which check failed.
        detail: &'static str,
    },
    /// The vault decrypted but its content is not an envgen vault.
    #[error("{path} decrypted, but its content is not an envgen vault ({detail})")]
    VaultFormat {
        /// The vault path.
        path: PathBuf,
        /// What is wrong, never quoting the content.
        detail: String,
    },
    /// The vault at a path is not of the lineage this machine pinned there.
    #[error(
        "{path} is not the vault this machine knew at this path: it was created separately (a new vault, or a forged one); pinned in {pins}"
    )]
    VaultLineage {
        /// The vault path.
        path: PathBuf,
        /// The pin file.
        pins: PathBuf,
    },
    /// The vault is older than the newest version this machine has seen.
    #[error(
        "{path} is older than the version this machine has seen (generation {found}, seen {seen}): it was rolled back; pinned in {pins}"
    )]
    VaultRolledBack {
        /// The vault path.
        path: PathBuf,
        /// Its generation.
        found: u64,
        /// The highest generation seen.
        seen: u64,
        /// The pin file.
        pins: PathBuf,
    },
    /// The pin file cannot be parsed.
    #[error("cannot read the vault pins in {path}")]
    PinsUnreadable {
        /// The pin file.
        path: PathBuf,
    },
    /// The vault belongs to another schema.
    #[error("{path} holds the variables of schema '{found}', not of schema '{expected}'")]
    VaultSchemaMismatch {
        /// The vault path.
        path: PathBuf,
        /// The schema recorded in the vault.
        found: String,
        /// The schema in use.
        expected: String,
    },
    /// The identity file does not exist.
    #[error("no identity file at {path} ({origin})")]
    IdentityMissing {
        /// The identity path.
        path: PathBuf,
        /// Where the path came from.
        origin: &'static str,
    },
    /// The identity file could not be parsed or holds no usable key.
    #[error("cannot use identity file {path}: {detail}")]
    IdentityInvalid {
        /// The identity path.
        path: PathBuf,
        /// What is wrong (age's message, which never includes key material).
        detail: String,
    },
    /// A recipient (from the command line or a recipients file) is not an age X25519 recipient.
    #[error("{origin}: not a recipient (expected age1..., ssh-ed25519 ... or ssh-rsa ...)")]
    RecipientInvalid {
        /// Where it came from: `-r argument 2` or `vault/alecia.recipients:3`.
        origin: String,
    },
    /// No recipients could be found to encrypt to.
    #[error("no recipients in {path}")]
    RecipientsEmpty {
        /// The recipients file.
        path: PathBuf,
    },
    /// The recipients file no longer matches the recipients recorded inside the vault.
    #[error(
        "{path} differs from the recipients recorded inside the vault (added: {added}; removed: {removed})"
    )]
    RecipientsChanged {
        /// The recipients file.
        path: PathBuf,
        /// Recipients in the file but not in the vault.
        added: String,
        /// Recipients in the vault but not in the file.
        removed: String,
    },
    /// `-r`/`-R` were given for a vault that already exists.
    #[error("-r/-R only apply when a vault is created, and {path} already exists")]
    RecipientsForExistingVault {
        /// The vault path.
        path: PathBuf,
    },
    /// A variable name is not in the schema.
    #[error("no variable {name} in schema {schema}")]
    UnknownVariable {
        /// The name asked for.
        name: String,
        /// The schema path.
        schema: PathBuf,
    },
    /// A command was asked for a variable of a kind it does not apply to (`rotate` of a
    /// fixed value, `rollback` or `history` of a derived one).
    #[error("{name} is {kind}: {consequence}")]
    NotRotatable {
        /// The variable.
        name: String,
        /// Its kind, as a phrase ("derived from POSTGRES_USER, POSTGRES_PASSWORD").
        kind: String,
        /// Why the command does not apply ("it has no versions of its own").
        consequence: &'static str,
        /// What to do instead.
        hint: String,
    },
    /// A guarded rotation (impact op or data) without `--force`.
    #[error("refusing to change {}:\n{}", names(variables), variables.iter().map(|(n, i, b)| format!("  {n} (impact: {}): {b}", i.name())).collect::<Vec<_>>().join("\n"))]
    Guarded {
        /// The refused variables, their impact and what breaks.
        variables: Vec<(String, crate::schema::rotation::Impact, String)>,
    },
    /// `rollback --to N` beyond the stored history.
    #[error("{name} has {available} previous version(s); there is no version {asked}")]
    NoSuchVersion {
        /// The variable.
        name: String,
        /// The version asked for.
        asked: u32,
        /// How many previous versions there are.
        available: usize,
    },
    /// `render` would print secrets to a terminal.
    #[error("refusing to print secrets to a terminal")]
    Terminal,
    /// A git command envgen runs failed.
    #[error("cannot {action}: git {args} failed in {dir}: {detail}")]
    Git {
        /// What envgen was doing.
        action: &'static str,
        /// The git arguments (never a value).
        args: String,
        /// The directory it ran in.
        dir: PathBuf,
        /// git's first line of error output, or how it ended.
        detail: String,
    },
    /// The merge driver found variables changed differently on both branches.
    #[error("cannot merge {path}: {}", variables.iter().map(|(n, w)| format!("{n} {w}")).collect::<Vec<_>>().join("; "))]
    MergeConflict {
        /// The vault's path in the repository.
        path: PathBuf,
        /// Each variable and what happened to it.
        variables: Vec<(String, &'static str)>,
    },
    /// The merge driver was given a side that does not descend from the common base.
    #[error(
        "cannot merge {path}: {side} is not a version of this vault (another lineage, not a successor of the common version): another vault, or a forged one"
    )]
    MergeUnrelated {
        /// The vault's path in the repository.
        path: PathBuf,
        /// `ours` or `theirs`.
        side: &'static str,
    },
    /// Both sides of a merge started a new lineage of their own.
    #[error(
        "{path}: both branches started a new lineage of their own (a recipient removed, or rotate --all, on each side); envgen does not merge them"
    )]
    MergeTwoLineages {
        /// The vault's path in the repository.
        path: PathBuf,
    },
    /// `scan --install-hook` found another pre-commit hook.
    #[error("{path} already exists and is not envgen's hook; refusing to overwrite it")]
    HookExists {
        /// The hook file.
        path: PathBuf,
    },
    /// A file envgen would replace is not a regular file (a symbolic link, a directory, a
    /// FIFO or a device).
    #[error("{path} is {what}; refusing to write through it")]
    NotARegularFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// A directory secrets would be written into is writable by other users.
    #[error("{path} is writable by other users (mode {mode:o}); refusing to write secrets into it")]
    LooseDirectory {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A derived value would exceed the size limit.
    #[error("derived variable {name} would be longer than 64 KiB")]
    DerivedTooLong {
        /// The variable.
        name: String,
    },
    /// `import` of a file holding fewer than half of the schema's generated secrets.
    #[error(
        "{path} holds {found} of the schema's {total} generated secrets: importing it would generate the others, and deploying that vault would replace the running stack's passwords"
    )]
    ImportPartial {
        /// The file.
        path: PathBuf,
        /// Secrets it holds.
        found: usize,
        /// Secrets of the schema.
        total: usize,
    },
    /// The vault belongs to a lineage this vault left behind when someone lost access.
    #[error(
        "{path} belongs to a lineage this vault left behind when a recipient was removed: it may have been made by a former member from values they kept; pinned in {pins}"
    )]
    VaultRetired {
        /// The vault path.
        path: PathBuf,
        /// The pin file.
        pins: PathBuf,
    },
    /// There is no directory for this machine's pins.
    #[error(
        "no state directory for the pins that detect forged and rolled-back vaults: neither XDG_STATE_HOME, HOME nor the password database names one"
    )]
    NoStateDirectory,
    /// `--service` names no service of the schema.
    #[error("no variable of schema {schema} is read by service {service}")]
    UnknownService {
        /// The service asked for.
        service: String,
        /// The schema path.
        schema: PathBuf,
        /// The services the schema names.
        known: Vec<String>,
    },
    /// `exec` could not start the command.
    #[error("cannot run {program}: {source}")]
    Exec {
        /// The command.
        program: String,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// `--apply` with a variable whose rotation needs steps inside a running service.
    #[error(
        "not applied: {names} need steps inside the running services between the change and the restart, which envgen cannot run for you; nothing was changed"
    )]
    ApplyGuarded {
        /// The guarded variables, `A, B`.
        names: String,
        /// The same command without `--apply`.
        without_apply: String,
        /// The restart to run once the steps are done.
        restart: String,
    },
    /// `--apply`: `docker compose up` failed after the vault was written.
    #[error("{command} {status}; the vault was changed all the same (the new values are stored)")]
    ApplyFailed {
        /// The command, as typed (no value).
        command: String,
        /// `exited with code 3`, `was killed by a signal`.
        status: String,
        /// The commands that put the previous values back and restart.
        rollback: Vec<String>,
    },
    /// An option that the chosen `render --format` does not take, or lacks.
    #[error("{option} {problem} with --format {format}")]
    FormatOption {
        /// The option.
        option: &'static str,
        /// `is not used`, `is required`.
        problem: &'static str,
        /// The format.
        format: &'static str,
    },
    /// A `--mode`, `--owner` or Kubernetes name that cannot be used.
    #[error("{option} {given}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// What was given (never a value of the vault).
        given: String,
        /// What is wrong.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// `--owner-from SERVICE`: the service or its `user:` cannot give an owner.
    #[error("--owner-from {service}: {reason}")]
    OwnerFrom {
        /// The service.
        service: String,
        /// What is wrong, naming the compose file.
        reason: String,
    },
    /// `--format external-secret` of a vault that is not kept in OpenBao.
    #[error("--format external-secret reads the values from OpenBao, but {vault} is a file vault")]
    NeedsOpenBao {
        /// The vault.
        vault: PathBuf,
    },
    /// `systemd-creds encrypt` could not run, or failed.
    #[error("systemd-creds encrypt of {name} {status}")]
    SystemdCreds {
        /// The variable.
        name: String,
        /// What happened.
        status: String,
    },
    /// A compose file is not valid YAML.
    #[error("{path}:{line}: not a valid compose file: {message}")]
    ComposeSyntax {
        /// The compose file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The YAML parser's message.
        message: String,
    },
    /// A compose file could not be read (`schema from-compose`).
    #[error("cannot read compose file {path}: {source}")]
    ComposeUnreadable {
        /// The compose file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// A YAML file whose top level or `services:` is not a mapping.
    #[error("{path}:{line}: not a compose file: the top level and `services:` must be mappings")]
    NotCompose {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// Two services require incompatible formats of one variable.
    #[error("variable {name}: {detail}: {first} and {second}")]
    InferConflict {
        /// The variable.
        name: String,
        /// What disagrees.
        detail: String,
        /// The first requirement (catalogue file, entry, service).
        first: String,
        /// The second requirement.
        second: String,
    },
    /// A bundled catalogue file does not parse (a bug of this build).
    #[error("catalogue/{id}.toml: {message}")]
    Catalogue {
        /// The file's id.
        id: String,
        /// The parser's message.
        message: String,
    },
    /// The inferred schema does not load (a bug of `schema from-compose`).
    #[error("the inferred schema does not load: {detail}")]
    InferredInvalid {
        /// The schema error.
        detail: String,
    },
    /// A .env file that compose itself would refuse.
    #[error("{path}:{line}: {message}")]
    EnvSyntax {
        /// The .env file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong, never quoting a value.
        message: String,
    },
    /// `import` into a vault that exists.
    #[error("{path} already exists; import only creates a new vault")]
    ImportOverVault {
        /// The vault path.
        path: PathBuf,
    },
    /// `import` found values it cannot adopt exactly.
    #[error("cannot import {path}:\n{}", items.iter().map(|(n, l, r)| format!("  {n} (line {l}): {r}")).collect::<Vec<_>>().join("\n"))]
    ImportRefused {
        /// The .env file.
        path: PathBuf,
        /// Each refused variable, its line and why.
        items: Vec<(String, usize, &'static str)>,
    },
    /// `set NAME=VALUE` or `--set` named an input that is a credential.
    #[error("{flag}{name}: {name} is a secret input, and secrets never go through argv")]
    SetSecretInput {
        /// `--set ` for init's flag, empty for the `set` command.
        flag: &'static str,
        /// The variable.
        name: String,
    },
    /// A stored token that its signing secret's current value does not verify.
    #[error("{name}: the stored token is not signed with the current value of {secret}")]
    StaleToken {
        /// The jwt variable.
        name: String,
        /// The variable that signs it.
        secret: String,
    },
    /// `--profile` (or `ENVGEN_PROFILE`) names a profile the schema does not declare.
    #[error("schema {schema} declares no profile {profile:?}")]
    UnknownProfile {
        /// The profile asked for.
        profile: String,
        /// The schema path.
        schema: PathBuf,
        /// The declared profiles.
        known: Vec<String>,
    },
    /// `set` or `--set` named a secret.
    #[error("{flag}{name}: {name} is a generated secret, and secrets never go through argv")]
    SetSecret {
        /// `--set ` for init's flag, empty for the `set` command.
        flag: &'static str,
        /// The variable.
        name: String,
    },
    /// `--set` was malformed or its value breaks the variable's rules.
    #[error("{flag}{name}: {reason}")]
    SetInvalid {
        /// `--set ` for init's flag, empty for the `set` command.
        flag: &'static str,
        /// The variable (or the argument position when no name could be read).
        name: String,
        /// What is wrong, never quoting the value.
        reason: String,
    },
    /// `--set` named a variable that already has a value.
    #[error(
        "--set {name}: {name} already has a value in {vault}, and init never changes an existing value"
    )]
    SetExisting {
        /// The variable.
        name: String,
        /// The vault path.
        vault: PathBuf,
    },
    /// The vault lacks values the schema needs.
    #[error("{vault} lacks {}: rendering would leave them empty", names.join(", "))]
    MissingValues {
        /// The missing variables.
        names: Vec<String>,
        /// The vault path.
        vault: PathBuf,
    },
    /// A stored value cannot be written to a `.env` line.
    #[error("{name}: the stored value {reason}")]
    UnrenderableValue {
        /// The variable.
        name: String,
        /// What is wrong, never quoting the value.
        reason: &'static str,
    },
    /// `get --plaintext` on a variable that is not hashed.
    #[error("{name} is not a hashed variable, so it has no separate plaintext")]
    NotHashed {
        /// The variable.
        name: String,
    },
    /// `get --scram-sha-256` of a value PostgreSQL would SASLprep-normalize.
    #[error(
        "{name} holds a non-ASCII character: PostgreSQL normalizes such passwords (SASLprep) and envgen does not, so it will not build a SCRAM verifier that might not match"
    )]
    ScramNonAscii {
        /// The variable.
        name: String,
    },
    /// A file that must not be overwritten already exists.
    #[error("{path} already exists; refusing to overwrite it")]
    WouldOverwrite {
        /// The existing file.
        path: PathBuf,
    },
    /// A value could not be generated.
    #[error("{name}: {detail}")]
    Generate {
        /// The variable.
        name: String,
        /// What went wrong.
        detail: String,
    },
    /// Standard output could not be written (a closed pipe, a full disk).
    #[error("cannot write to standard output: {source}")]
    Output {
        /// The underlying I/O error.
        source: io::Error,
    },
    /// age refused to encrypt.
    #[error("cannot encrypt {path}: {detail}")]
    Encrypt {
        /// The vault path.
        path: PathBuf,
        /// age's message.
        detail: String,
    },
    /// An OpenBao (or HashiCorp Vault) vault: see [`BaoError`].
    #[error(transparent)]
    Bao(#[from] BaoError),
}

fn names(variables: &[(String, crate::schema::rotation::Impact, String)]) -> String {
    variables
        .iter()
        .map(|(n, _, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// What the user should do about this error, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Error::SchemaRead { .. } => {
                "run envgen from the directory that holds schema/, or pass --schema FILE".into()
            }
            Error::Schema { hint, .. } => hint.clone(),
            Error::Io { .. } => return None,
            Error::VaultMissing { .. } => {
                "run `envgen init` to create it, or pass --vault FILE".into()
            }
            Error::WrongPassphrase { .. } => "check the passphrase (--passphrase-fd, ENVGEN_PASSPHRASE_FILE or the terminal); if it is right, the vault was tampered with: restore it".into(),
            Error::Passphrase { .. } => "give it on the terminal, with --passphrase-fd N, or in a file named by ENVGEN_PASSPHRASE_FILE".into(),
            Error::PassphraseVault { .. } => "anyone with the passphrase can open it; to share it with keys instead, create a vault with recipients (init -r)".into(),
            Error::NotARecipient { .. } => "`envgen recipients list` shows the recipients".into(),
            Error::LastRecipient { .. } => "add the new recipient first, then remove the old one".into(),
            Error::IdentityPermissions { path, .. } => format!("chmod 600 {}", path.display()),
            Error::WrongIdentity { .. } => "use an identity the vault was encrypted to \
                 (--identity FILE or ENVGEN_IDENTITY); its recipients file lists their public keys"
                .into(),
            Error::VaultDamaged { .. } => {
                "restore the vault from version control or a backup; never edit it by hand".into()
            }
            Error::VaultFormat { .. } => {
                "restore the vault from version control or a backup; it was not written by envgen"
                    .into()
            }
            Error::VaultLineage { .. } => "if you replaced it on purpose (a restore from another copy, a new vault), run the command again with --accept-vault; otherwise restore the vault you had: someone may have written this one".into(),
            Error::VaultRolledBack { .. } => "if you restored an older copy on purpose, run the command again with --accept-vault; otherwise put the latest version back (git log vault/)".into(),
            Error::PinsUnreadable { path } => format!("it is not valid JSON; move it away to start over (every vault is then pinned again on first use): mv {0} {0}.bad", path.display()),
            Error::VaultSchemaMismatch { .. } => {
                "pass the matching --schema, or a --vault made for this schema".into()
            }
            Error::IdentityMissing { path, .. } => format!(
                "create one with `envgen keygen -o {}`, or point --identity / ENVGEN_IDENTITY at an existing age identity file",
                path.display()
            ),
            Error::IdentityInvalid { .. } => {
                "an identity file holds AGE-SECRET-KEY-1... lines, as age-keygen and envgen keygen write them".into()
            }
            Error::RecipientInvalid { .. } => {
                "recipients are age public keys (age1..., from `envgen keygen` or `age-keygen -y`) or OpenSSH public keys (the line of a .pub file)".into()
            }
            Error::RecipientsEmpty { .. } => {
                "add at least one age1... public key to it, one per line".into()
            }
            Error::RecipientsChanged { .. } => "if you made this change, run the command again with \
                 --update-recipients to re-encrypt to the file's recipients; otherwise restore the file \
                 (e.g. `git checkout` it): anyone listed there could read every secret after the next write"
                .into(),
            Error::RecipientsForExistingVault { .. } => {
                "drop -r/-R; the vault is encrypted to the recipients in its .recipients file".into()
            }
            Error::UnknownVariable { .. } => "`envgen list` shows the variables of the schema".into(),
            Error::NotRotatable { hint, .. } => hint.clone(),
            Error::Guarded { .. } => "if that is what you want, run again with --force and follow the steps printed afterwards; \
                 --dry-run shows what would change"
                .into(),
            Error::Git { .. } => "run envgen inside the git repository (the directory that holds .git), with git on PATH".into(),
            Error::MergeConflict { path, variables } => format!(
                "keep one side (git checkout --ours {0}, or --theirs), git add it, then redo the other side's change with envgen (e.g. envgen rotate {1}); the file was left as it was",
                path.display(),
                variables.first().map(|(n, _)| n.as_str()).unwrap_or("NAME"),
            ),
            Error::MergeUnrelated { .. } => "check where that branch's vault came from (git log -p --textconv on it); if it is really yours, replace the file with it deliberately and run envgen with --accept-vault".into(),
            Error::MergeTwoLineages { .. } => "a branch made from a removed member's copy would look like this too: keep one side (git checkout --ours/--theirs on the vault), then redo the other side's changes with envgen".into(),
            Error::HookExists { .. } => "pass --force to replace it, or add the line `envgen scan --staged || exit 1` to it yourself".into(),
            Error::Terminal => "redirect or pipe it (envgen render > .env, x=$(envgen get NAME)), use render --output FILE, or pass --force to show the secret on screen".into(),
            Error::NotARegularFile { .. } => "write to a regular file (or a FIFO or device, for output), or remove what stands at that path first".into(),
            Error::VaultRetired { .. } => "restore the current vault from your team (git log vault/); then rotate the secrets the former member could read. Only if you are sure, run again with --accept-vault".into(),
            Error::LooseDirectory { path, .. } => format!("chmod go-w {}, or choose a directory only you can write to", path.display()),
            Error::DerivedTooLong { .. } => "its template, or the templates it refers to, repeat other values too often; shorten them in the schema".into(),
            Error::ImportPartial { .. } => "check that this is the stack's real .env (ssh host cat /srv/STACK/.env > old.env); if the stack really lacks them, run again with --allow-partial".into(),
            Error::NoStateDirectory => "set HOME (or XDG_STATE_HOME) for this command, e.g. in the systemd unit or the crontab".into(),
            Error::UnknownService { known, .. } => format!("services in the schema: {}", known.join(", ")),
            Error::Exec { .. } => "check the command name and that it is on PATH".into(),
            Error::ApplyGuarded { without_apply, restart, .. } => format!(
                "run `{without_apply}`, follow the steps it prints, then restart: {restart}"
            ),
            Error::ApplyFailed { rollback, .. } => format!(
                "fix what the output above shows and run the restart again, or put the previous values back: {}",
                rollback.join("; ")
            ),
            Error::FormatOption { .. } => "`envgen render --help` lists which options each format takes".into(),
            Error::InvalidOption { hint, .. } => hint.clone(),
            Error::OwnerFrom { .. } => "give the owner as --owner UID:GID, or write `user: \"UID:GID\"` (numbers) in the service".into(),
            Error::NeedsOpenBao { .. } => "use --vault openbao://MOUNT/PATH (see `envgen migrate`), or --format k8s to embed the values".into(),
            Error::SystemdCreds { .. } => "run without --encrypt to write plain credential files, or check `systemd-creds setup` on this host".into(),
            Error::ComposeSyntax { .. } => "fix the YAML; `docker compose config` shows the same error".into(),
            Error::ComposeUnreadable { .. } => "check the path; give the compose files docker compose uses (-f FILE ...)".into(),
            Error::NotCompose { .. } => "give a docker compose file (`services:` maps each service name to its definition)".into(),
            Error::InferConflict { name, .. } => format!("the services cannot share one value: give each its own variable in the compose file (e.g. {name}_2 for one of them), or write {name} in the schema by hand"),
            Error::Catalogue { .. } | Error::InferredInvalid { .. } => "this is a bug of envgen; please report it with the compose file's structure (not its values)".into(),
            Error::EnvSyntax { .. } => "docker compose would refuse this file too; fix that line".into(),
            Error::ImportRefused { .. } => "write those values literally in the file (in single quotes, as compose received them), then import again; nothing was written".into(),
            Error::ImportOverVault { .. } => "`envgen diff FILE` compares the file with the vault; to start over, move the vault away first".into(),
            Error::NoSuchVersion { name, .. } => format!("`envgen history {name}` lists the versions"),
            Error::SetSecret { .. } => {
                "envgen generates it; to renew it run `envgen rotate NAME`".into()
            }
            Error::SetSecretInput { name, .. } => format!(
                "run `envgen set {name}` without =VALUE: it reads the value from stdin (e.g. a pipe from your password manager) or asks on the terminal without echo"
            ),
            Error::StaleToken { name, secret } => format!(
                "`envgen rotate {name}` signs a new token with {secret}'s current value (rotating or setting {secret} does so too)"
            ),
            Error::UnknownProfile { known, .. } if known.is_empty() => "add a `[profile.NAME]` table to the schema (it may be empty), or drop --profile / ENVGEN_PROFILE".into(),
            Error::UnknownProfile { known, .. } => format!(
                "profiles in the schema: {}; a new one needs a `[profile.NAME]` table (it may be empty)",
                known.join(", ")
            ),
            Error::SetInvalid { .. } => {
                "give NAME=VALUE with a value the schema allows (`envgen list` shows each variable's rules)".into()
            }
            Error::SetExisting { .. } => {
                "drop this --set; the stored value stays as it is".into()
            }
            Error::MissingValues { .. } => {
                "run `envgen init` to generate the missing values; an input (a value a provider issues) is given with `envgen set NAME`, which reads stdin or asks on the terminal".into()
            }
            Error::UnrenderableValue { .. } => {
                "re-create the value with `envgen rotate NAME` (or fix the fixed value and re-init)".into()
            }
            Error::NotHashed { .. } => "drop --plaintext: `envgen get NAME` prints its value".into(),
            Error::ScramNonAscii { .. } => {
                "set this password with psql's \\password, or rotate it to an ASCII value".into()
            }
            Error::WouldOverwrite { .. } => {
                "choose another path with -o, or move the existing file away first (`schema from-compose` also takes --force)".into()
            }
            Error::Generate { .. } => {
                "check the variable's encoding, length and `require` list in the schema".into()
            }
            Error::Bao(e) => e.hint(),
            Error::Encrypt { .. } | Error::Output { .. } => return None,
        };
        Some(hint)
    }

    /// Whether the error is only that the reader of standard output went away.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The exit code for this error: 2, except for a command `exec` could not run, which
    /// exits as a shell would (127 not found, 126 found but not executable).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Exec { source, .. } if source.kind() == io::ErrorKind::NotFound => 127,
            Error::Exec { .. } => 126,
            _ => 2,
        }
    }

    /// Wraps an I/O error with the action and the file it concerned.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The errors of a vault kept in OpenBao (or HashiCorp Vault). Each names the server's
/// address and the API path concerned (`secret/data/alecia/REDIS_PASSWORD`), never a value
/// or the token.
#[derive(Debug, thiserror::Error)]
pub enum BaoError {
    /// `--vault openbao://...` or the server address cannot be used.
    #[error("{what} {given:?}: {reason}")]
    Address {
        /// "vault location" or "server address".
        what: &'static str,
        /// What was given.
        given: String,
        /// Why it is refused.
        reason: String,
    },
    /// No token and no AppRole credentials.
    #[error("no token for the OpenBao server at {address}")]
    NoToken {
        /// The server.
        address: String,
    },
    /// The AppRole secret-id file is missing, unreadable or readable by others.
    #[error("the AppRole secret-id file {path}: {reason}")]
    SecretIdFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA certificate file cannot be used.
    #[error("the CA certificate {path} (BAO_CACERT): {reason}")]
    CaCert {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection, a timeout, a TLS failure.
    #[error("cannot reach the OpenBao server at {address} ({path}): {detail}")]
    Unreachable {
        /// The server.
        address: String,
        /// The API path.
        path: String,
        /// The transport's description.
        detail: String,
    },
    /// The server is sealed, or has no active node.
    #[error("the OpenBao server at {address} is {state} ({path})")]
    Sealed {
        /// The server.
        address: String,
        /// The API path.
        path: String,
        /// "sealed", "in standby with no active node".
        state: String,
    },
    /// The token is expired, revoked or not a token.
    #[error(
        "the OpenBao server at {address} refused the token ({path}): it is expired, revoked or invalid"
    )]
    Token {
        /// The server.
        address: String,
        /// The API path.
        path: String,
    },
    /// The token is valid but its policy does not allow this path.
    #[error("permission denied: {name} ({verb} {path} on {address})")]
    Denied {
        /// The variable (or `the vault's key` for envgen's own entry).
        name: String,
        /// "read" or "write".
        verb: &'static str,
        /// The API path.
        path: String,
        /// The server.
        address: String,
    },
    /// A check-and-set write lost to another writer.
    #[error(
        "{name} was changed by someone else while this command ran (version {expected} expected, {path} on {address}); {written}"
    )]
    Conflict {
        /// The variable.
        name: String,
        /// The version this command read.
        expected: u64,
        /// The API path.
        path: String,
        /// The server.
        address: String,
        /// What this command did write before the conflict.
        written: String,
    },
    /// An answer that is not what the API documents.
    #[error("unexpected answer from the OpenBao server at {address} ({path}): {detail}")]
    Answer {
        /// The server.
        address: String,
        /// The API path.
        path: String,
        /// What was wrong: a status, a missing field; never the body.
        detail: String,
    },
    /// Something that belongs to file vaults only.
    #[error("{what} does not apply to a vault kept in OpenBao ({location})")]
    NotApplicable {
        /// The command or option.
        what: String,
        /// `openbao://MOUNT/PATH`.
        location: String,
        /// What to do instead.
        instead: &'static str,
    },
    /// `migrate --to` names the vault it copies from, or another kind of the same.
    #[error("cannot migrate {from} to {to}: {reason}")]
    Migrate {
        /// The source.
        from: String,
        /// The destination.
        to: String,
        /// Why.
        reason: String,
    },
    /// Reading back after `migrate` found a difference.
    #[error("{to} does not hold what was copied from {from}: {name} differs")]
    MigrateVerify {
        /// The source.
        from: String,
        /// The destination.
        to: String,
        /// The first variable that differs.
        name: String,
    },
}

impl BaoError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            BaoError::Address { .. } => "give --vault openbao://MOUNT/PATH (e.g. openbao://secret/alecia) and BAO_ADDR=https://HOST:8200; plain http is allowed to the loopback addresses 127.0.0.1 and ::1 only (not the name localhost)".into(),
            BaoError::NoToken { .. } => "set BAO_TOKEN (or VAULT_TOKEN), run `bao login` (it writes ~/.vault-token), or log in with AppRole: --approle-role-id ID --approle-secret-id-file FILE".into(),
            BaoError::SecretIdFile { path, .. } => format!("write the secret-id alone in the file, readable by its owner only: chmod 600 {}", path.display()),
            BaoError::CaCert { .. } => "point BAO_CACERT at the PEM certificate of the CA that signed the server's certificate".into(),
            BaoError::Unreachable { .. } => "check BAO_ADDR, that the server runs and that this host may connect to it (`bao status`)".into(),
            BaoError::Sealed { .. } => "unseal it (`bao operator unseal`), or wait for the cluster to elect an active node, then run the command again (`envgen history NAME` shows what a write that stopped midway did)".into(),
            BaoError::Token { .. } => "log in again (`bao login`, or AppRole with --approle-role-id and --approle-secret-id-file) and set BAO_TOKEN".into(),
            BaoError::Denied { .. } => "this host's policy does not cover that variable: select only what it may read (--service S), or extend the policy (`envgen openbao policy --service S` prints one)".into(),
            BaoError::Conflict { .. } => "nothing of theirs was overwritten; look at `envgen history NAME` and run the command again if it is still wanted".into(),
            BaoError::Answer { .. } => "check that BAO_ADDR is an OpenBao or Vault server and that MOUNT is a KV version 2 engine (`bao secrets list -detailed`)".into(),
            BaoError::NotApplicable { instead, .. } => (*instead).into(),
            BaoError::Migrate { .. } => "migrate copies the vault given by --vault (a file by default) to --to openbao://MOUNT/PATH, or an openbao:// vault to --to vault/NAME.age".into(),
            BaoError::MigrateVerify { .. } => "run the same migrate again: it copies only what differs, then reads everything back".into(),
        }
    }
}

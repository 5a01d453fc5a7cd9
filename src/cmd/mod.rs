//! The commands. Each takes the parsed arguments and the output streams, so tests and the
//! binary run the same code; `main` only maps the result to an exit code.
//!
//! stdout carries only what a command is asked for (the `.env`, a value, the listing, the
//! names that changed); notes for the person at the terminal go to stderr.

mod apply;
mod check;
mod checkout;
mod compose_secrets;
mod context;
mod deliver;
mod diff;
mod env;
mod exec;
mod get;
mod git;
mod history;
mod import;
mod init;
mod keygen;
mod list;
mod merge;
mod openbao;
mod prompt;
mod recipients;
mod render;
mod rollback;
mod rotate;
mod scan;
mod schema;
mod set;
mod shell;
mod textconv;
mod whoami;

use std::cell::OnceCell;
use std::io::Write;
use std::path::PathBuf;

use rand::rngs::OsRng;
use secrecy::SecretString;

use crate::cli::{Cli, Command, Selection};
use crate::error::{Error, Result};
use crate::schema::rotation::Impact;
use crate::schema::{Detail, Kind, Schema, Variable};
use crate::storage::Backend;
use crate::vault::keys::{
    self, Identities, IdentityPath, Origin, generate_identity_file, parse_recipient,
};
use crate::vault::passphrase;
use crate::vault::pin::{Pins, Seen};
use crate::vault::store::VaultFiles;
use crate::vault::{Entry, Provenance, Vault};

use context::Context;

/// The schema used when neither `--schema` nor `ENVGEN_SCHEMA` is given.
pub const DEFAULT_SCHEMA: &str = "schema/alecia.toml";

/// How a command that ran to completion went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done, nothing to report (exit 0).
    Ok,
    /// A check found a problem, or compared files differ (exit 1).
    Problem,
}

/// Runs the command line `cli`, writing results to `out` and notes to `err`;
/// `out_is_terminal` says whether `out` is a terminal, where `render` prints no secret.
pub fn run(
    cli: Cli,
    out: &mut dyn Write,
    err: &mut dyn Write,
    out_is_terminal: bool,
) -> Result<Status> {
    match &cli.command {
        Command::Keygen(args) => {
            return keygen::run(
                args,
                &cli.global.identity,
                &env::ProcessEnv::read(),
                out,
                err,
            )
            .map(ok);
        }
        Command::Textconv(args) => {
            return textconv::run(args, &cli.global.identity, &env::ProcessEnv::read(), out)
                .map(ok);
        }
        Command::Schema(command) => return schema::run(command, err).map(ok),
        Command::MergeDriver(args) => {
            return merge::run(args, &cli.global.identity, &env::ProcessEnv::read(), err).map(ok);
        }
        Command::Git(crate::cli::GitCommand::Setup) => {
            return merge::setup(cli.global.vault.as_deref(), out).map(ok);
        }
        Command::Completions(args) => return shell::completions(args.shell, out).map(ok),
        Command::Man => return shell::man(out).map(ok),
        _ => {}
    }
    let env = env::ProcessEnv::read();
    let ctx = Context::new(&cli, env)?;
    let vault_dir = crate::files::parent_dir(&ctx.files.vault);
    if let Backend::OpenBao(store) = &ctx.backend {
        openbao::refuse_file_only(&cli, store)?;
    } else if let Some(mode) = crate::files::loose_directory(vault_dir) {
        note(
            err,
            &format!(
                "warning: {} is writable by other users (mode {mode:o}): they can replace the vault or plant links; chmod go-w {}",
                vault_dir.display(),
                vault_dir.display()
            ),
        );
    }
    for var in ctx.schema.variables().iter().filter(|v| v.dangerous) {
        note(
            err,
            &format!(
                "warning: {}:{}: variable {} has a name that changes how programs run ({}); `envgen exec` puts it in the command's environment",
                ctx.schema.path.display(),
                var.line,
                var.name,
                crate::schema::names::danger(&var.name).unwrap_or_default()
            ),
        );
    }
    let result = match cli.command {
        Command::Init(args) => init::run(&ctx, &args, out, err).map(ok),
        Command::Render(args) => render::run(&ctx, &args, out, err, out_is_terminal).map(ok),
        Command::Exec(args) => exec::run(&ctx, &args, err).map(ok),
        Command::Import(args) => import::run(&ctx, &args, out, err).map(ok),
        Command::Rotate(args) => rotate::run(&ctx, &args, out, err).map(ok),
        Command::Rollback(args) => rollback::run(&ctx, &args, out, err).map(ok),
        Command::Set(args) => set::run(&ctx, &args, out, err).map(ok),
        Command::History(args) => history::run(&ctx, &args, out).map(ok),
        Command::Check(args) => check::run(&ctx, &args, out),
        Command::Diff(args) => diff::run(&ctx, &args, out),
        Command::Get(args) => get::run(&ctx, &args, out, err, out_is_terminal).map(ok),
        Command::List(args) => list::run(&ctx, &args, out).map(ok),
        Command::Recipients(command) => recipients::run(&ctx, &command, out, err).map(ok),
        Command::Whoami => whoami::run(&ctx, out).map(ok),
        Command::Scan(args) => scan::run(&ctx, &args, out, err),
        Command::Migrate(args) => openbao::migrate(&ctx, &args, out, err).map(ok),
        Command::Openbao(command) => openbao::run(&ctx, &command, out).map(ok),
        Command::Compose(command) => compose_secrets::run(&ctx, &command, err).map(ok),
        Command::Keygen(_)
        | Command::Textconv(_)
        | Command::Schema(_)
        | Command::Completions(_)
        | Command::Man
        | Command::MergeDriver(_)
        | Command::Git(_) => unreachable!("handled above"),
    };
    ctx.flush_notices(err);
    result
}

fn ok(_: ()) -> Status {
    Status::Ok
}

/// The identity files in use: `--identity`, `$ENVGEN_IDENTITY`, the default file, the
/// schema's host key.
fn discover_identities(
    env: &env::ProcessEnv,
    flags: &[PathBuf],
    host_key: Option<&std::path::Path>,
) -> Result<Vec<IdentityPath>> {
    IdentityPath::discover(
        flags,
        env.identity.as_deref(),
        env.default_identity().as_deref(),
        host_key,
    )
}

/// The largest scrypt work factor (log2 N) envgen decrypts with: what `init --work-factor`
/// can create. A vault asking for more (16 GiB of memory at 25) is refused, not obeyed.
pub(crate) const MAX_WORK_FACTOR: u8 = 22;

/// An scrypt identity that refuses work factors above [`MAX_WORK_FACTOR`].
fn scrypt_identity(passphrase: SecretString) -> age::scrypt::Identity {
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    identity
}

/// Opens the vault file and reads its age header, and gives its size; the payload is read
/// as it is decrypted. A file over the size limit is refused before anything is read.
#[allow(clippy::type_complexity)]
fn open_vault(
    path: &std::path::Path,
) -> Result<(
    crate::vault::crypto::Sealed<std::io::BufReader<std::io::Take<std::fs::File>>>,
    usize,
)> {
    let limit = crate::files::limits::VAULT;
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::VaultMissing {
                path: path.to_path_buf(),
            }
        } else {
            Error::io("read", path, e)
        }
    })?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .len();
    if size > limit {
        return Err(Error::io(
            "read",
            path,
            std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!(
                    "it is larger than the limit of {}",
                    crate::files::human_size(limit)
                ),
            ),
        ));
    }
    use std::io::Read;
    let sealed =
        crate::vault::crypto::open(std::io::BufReader::new(file.take(limit))).map_err(|f| {
            let detail = match f {
                crate::vault::crypto::DecryptFailure::Damaged(detail) => detail,
                _ => "the age header is malformed",
            };
            Error::VaultDamaged {
                path: path.to_path_buf(),
                detail,
            }
        })?;
    Ok((sealed, size as usize))
}

/// Reads a whole vault file (for `migrate`, `diff`), within the size limit.
fn read_vault(path: &std::path::Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    crate::files::read_capped(path, crate::files::limits::VAULT).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::VaultMissing {
                path: path.to_path_buf(),
            }
        } else {
            Error::io("read", path, e)
        }
    })
}

/// Who makes a new vault: the identities in use, when there are some (a vault made for
/// explicit recipients needs none).
fn creator(ctx: &Context) -> context::Actor {
    match ctx.identities() {
        Ok(_) => context::Actor::Identities,
        Err(_) => "-".into(),
    }
}

/// A new value for a generated variable (secret, hashed, keypair), and for a hashed one its
/// PHC string.
fn generate_value(var: &Variable) -> Result<(SecretString, Option<SecretString>)> {
    let failed = |detail: String| Error::Generate {
        name: var.name.clone(),
        detail,
    };
    match &var.kind {
        Kind::Secret(generator) => Ok((generator.generate(&mut OsRng).map_err(failed)?, None)),
        Kind::Hashed { plaintext, argon2 } => {
            let value = plaintext.generate(&mut OsRng).map_err(failed)?;
            let hash = argon2.hash(&value, &mut OsRng).map_err(failed)?;
            Ok((value, Some(hash)))
        }
        Kind::Keypair(pair) => Ok((pair.generate().map_err(failed)?, None)),
        _ => unreachable!("only generated variables are generated"),
    }
}

/// A new token for jwt variable `var`, signed with its secret's value in `vault`; `None`
/// while that value is missing (an input not provided yet).
fn sign_token(var: &Variable, vault: &Vault) -> Option<SecretString> {
    let Kind::Jwt(jwt) = &var.kind else {
        unreachable!("only jwt variables are signed");
    };
    let key = vault.variables.get(&jwt.secret)?;
    Some(jwt.sign(
        secrecy::ExposeSecret::expose_secret(&key.value),
        std::time::SystemTime::now(),
    ))
}

/// Signs again every token that depends on the `changed` variables (their secret changed),
/// recording the new token in its history; returns the tokens re-signed.
fn resign_tokens(schema: &Schema, vault: &mut Vault, changed: &[usize], actor: &str) -> Vec<usize> {
    let mut resigned = Vec::new();
    for i in schema.dependents(changed) {
        let var = &schema.variables()[i];
        if !matches!(var.kind, Kind::Jwt(_)) {
            continue;
        }
        let Some(token) = sign_token(var, vault) else {
            continue;
        };
        let by = Provenance::new("re-sign", actor);
        match vault.variables.get_mut(&var.name) {
            Some(entry) => entry.replace(token, None, by, var.rotation.history),
            None => {
                vault
                    .variables
                    .insert(var.name.clone(), Entry::new(token, None, by));
            }
        }
        resigned.push(i);
    }
    resigned
}

/// Prints each variable's follow-up steps from the schema, numbered.
fn print_steps(err: &mut dyn Write, schema: &Schema, targets: &[usize]) {
    for &i in targets {
        let var = &schema.variables()[i];
        if var.rotation.steps.is_empty() {
            continue;
        }
        note(err, &format!("next steps for {}:", var.name));
        for (n, step) in var.rotation.steps.iter().enumerate() {
            note(err, &format!("  {}. {step}", n + 1));
        }
    }
}

/// The recipients of a new vault: `-r`/`-R`, else an existing recipients file, else the
/// identity in use (created at the default path if there is none yet).
fn new_vault_recipients(
    ctx: &Context,
    given: &[String],
    files: &[PathBuf],
    err: &mut dyn Write,
) -> Result<Vec<String>> {
    let mut recipients = Vec::new();
    for (i, r) in given.iter().enumerate() {
        recipients.push(parse_recipient(r, || format!("-r argument {}", i + 1))?.to_string());
    }
    for file in files {
        recipients.extend(keys::read_recipients_file(file)?);
    }
    if !recipients.is_empty() {
        recipients.dedup();
        return Ok(recipients);
    }
    if ctx.files.recipients.exists() {
        return keys::read_recipients_file(&ctx.files.recipients);
    }
    let paths = ctx.identity_paths()?;
    let at = &paths[0];
    if at.origin == Origin::Default && !at.path.exists() {
        generate_identity_file(&at.path)?;
        note(
            err,
            &format!(
                "created your identity {} (mode 0600); back it up now (a password manager or an offline copy): without it this vault cannot be opened",
                at.path.display()
            ),
        );
    }
    Ok(ctx.identities()?.recipients()?.to_vec())
}

/// Writes all of `bytes` to standard output and flushes it.
fn emit(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| Error::Output { source })
}

/// Names, on stderr, the inputs the vault still lacks (and the tokens waiting for them).
fn note_missing_inputs(ctx: &Context, err: &mut dyn Write, names: &[&str]) {
    for name in names {
        let Some(index) = ctx.schema.position(name) else {
            continue;
        };
        let text = match &ctx.schema.variables()[index].kind {
            Kind::Jwt(jwt) => format!("waiting: {name} is signed once {} is set", jwt.secret),
            _ => format!(
                "missing input {name}: provide it with `envgen set {name}`{} (it reads stdin, or asks on the terminal); render and exec refuse until then",
                ctx.profile_flag()
            ),
        };
        note(err, &text);
    }
}

/// `text` with every control character shown as `\u{..}`: names from a vault, a repository
/// or a file are input, and an escape sequence in one must not drive the terminal.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Writes a note for the person at the terminal; a failure to do so is not an error.
fn note(err: &mut dyn Write, text: &str) {
    let _ = writeln!(err, "{text}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(super::printable("REDIS_PASSWORD"), "REDIS_PASSWORD");
        assert_eq!(super::printable("A\u{1b}[2J"), "A\\u{1b}[2J");
        assert_eq!(super::printable("line\nbreak"), "line\\u{a}break");
    }
}

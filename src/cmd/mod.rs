//! The commands. Each takes the parsed arguments and the output streams, so tests and the
//! binary run the same code; `main` only maps the result to an exit code.
//!
//! stdout carries only what a command is asked for (the `.env`, a value, the listing, the
//! names that changed); notes for the person at the terminal go to stderr.

mod apply;
mod check;
mod checkout;
mod compose_secrets;
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
use crate::schema::{Kind, Schema, Variable};
use crate::storage::Backend;
use crate::vault::keys::{
    self, Identities, IdentityPath, Origin, generate_identity_file, parse_recipient,
};
use crate::vault::passphrase;
use crate::vault::pin::{Pins, Seen};
use crate::vault::store::VaultFiles;
use crate::vault::{Entry, Provenance, Vault};

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
            return keygen::run(args, &cli.identity, &env::ProcessEnv::read(), out, err).map(ok);
        }
        Command::Textconv(args) => {
            return textconv::run(args, &cli.identity, &env::ProcessEnv::read(), out).map(ok);
        }
        Command::Schema(command) => return schema::run(command, err).map(ok),
        Command::MergeDriver(args) => {
            return merge::run(args, &cli.identity, &env::ProcessEnv::read(), err).map(ok);
        }
        Command::Git(crate::cli::GitCommand::Setup) => {
            return merge::setup(cli.vault.as_deref(), out).map(ok);
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

/// What every schema command works on: the schema, the vault files, the identity choice.
struct Context {
    /// Notes for stderr gathered while the command ran (a first use, a new lineage),
    /// printed when it ends, or before `exec` replaces the process.
    notices: std::cell::RefCell<Vec<String>>,
    schema: Schema,
    /// The vault's files; for a vault kept in OpenBao, `files.vault` is only its label
    /// (`openbao://MOUNT/PATH`) and nothing is written locally.
    files: VaultFiles,
    /// Where the vault lives.
    backend: Backend,
    /// `--approle-*`, for `migrate --to openbao://`.
    approle: openbao::AppRole,
    identity_flags: Vec<PathBuf>,
    passphrase_source: passphrase::Source,
    /// Read once per process: a file descriptor can be read only once, and nobody wants to
    /// type a passphrase twice for one command.
    passphrase: OnceCell<SecretString>,
    identities: OnceCell<Identities>,
    accept_vault: bool,
    env: env::ProcessEnv,
}

/// A decrypted vault and who opened it.
struct Opened {
    vault: Vault,
    /// The public recipient of the identity in use, recorded as who made a change.
    actor: String,
}

impl Context {
    /// Keeps a note for stderr, printed when the command ends.
    fn notice(&self, text: String) {
        self.notices.borrow_mut().push(text);
    }

    /// Prints the notes gathered so far.
    fn flush_notices(&self, err: &mut dyn Write) {
        for text in self.notices.borrow_mut().drain(..) {
            note(err, &text);
        }
    }

    fn new(cli: &Cli, env: env::ProcessEnv) -> Result<Context> {
        let schema_path = cli
            .schema
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SCHEMA));
        let mut schema = Schema::load(&schema_path)?;
        if let Some(profile) = cli.profile.as_ref().or(env.profile.as_ref()) {
            schema.select_profile(profile)?;
        }
        let vault = cli.vault.clone().unwrap_or_else(|| {
            let file = match &schema.profile {
                Some(profile) => format!("{}.{profile}.age", schema.name),
                None => format!("{}.age", schema.name),
            };
            PathBuf::from("vault").join(file)
        });
        let backend = openbao::backend(&vault, cli, &env)?;
        Ok(Context {
            notices: Default::default(),
            schema,
            files: VaultFiles::new(vault),
            backend,
            approle: openbao::approle(cli),
            identity_flags: cli.identity.clone(),
            passphrase_source: passphrase::Source::resolve(
                cli.passphrase_fd,
                env.passphrase_file.clone(),
            ),
            passphrase: OnceCell::new(),
            identities: OnceCell::new(),
            accept_vault: cli.accept_vault,
            env,
        })
    }

    /// The identity files in use, in discovery order.
    fn identity_paths(&self) -> Result<Vec<IdentityPath>> {
        discover_identities(
            &self.env,
            &self.identity_flags,
            self.schema.host_identity.as_deref(),
        )
    }

    /// The identities in use, loaded on first use.
    fn identities(&self) -> Result<&Identities> {
        if let Some(identities) = self.identities.get() {
            return Ok(identities);
        }
        let loaded = Identities::load(&self.identity_paths()?, prompt::terminal())?;
        Ok(self.identities.get_or_init(|| loaded))
    }

    /// The passphrase of a passphrase vault, read on first use; `confirm` asks twice on a
    /// terminal (for a new vault).
    fn passphrase(&self, confirm: bool) -> Result<SecretString> {
        if let Some(passphrase) = self.passphrase.get() {
            return Ok(passphrase.clone());
        }
        let read = self.passphrase_source.read(confirm, &prompt::Terminal)?;
        Ok(self.passphrase.get_or_init(|| read).clone())
    }

    /// Decrypts the vault with the identities in use, or its passphrase, and checks it
    /// against what this machine has seen at its path (lineage and generation).
    fn open(&self) -> Result<Opened> {
        if let Backend::OpenBao(store) = &self.backend {
            let all: Vec<usize> = (0..self.schema.variables().len()).collect();
            let vault = store.load(&self.schema, &all, &[])?;
            let actor = store.actor()?;
            return Ok(Opened { vault, actor });
        }
        // Read the pins before the vault: a write in between only makes the vault newer.
        let mut pins = self.pins()?;
        let path = &self.files.vault;
        let (sealed, size) = open_vault(path)?;
        let mut opened = self.decrypt_sealed(sealed, size, path)?;
        opened.vault.check_schema(&self.schema.name, path)?;
        let lineage = opened.vault.lineage_hash();
        let seen = {
            let vault = &opened.vault;
            pins.check(
                path,
                &lineage,
                vault.generation,
                &vault.predecessor_hashes(),
                &vault.merged_from,
            )
        };
        let replace = match seen {
            _ if self.accept_vault => true,
            Ok(Seen::FirstUse) => {
                self.notice(format!(
                    "note: first use of {} on this machine: its lineage {} (generation {}) is pinned now; from here on a vault of another lineage, or an older one, is refused",
                    path.display(),
                    opened.vault.lineage_id(),
                    opened.vault.generation
                ));
                false
            }
            Ok(Seen::Successor) => {
                self.notice(format!(
                    "note: {} started a new lineage {} (a recipient was removed, or rotate --all): this machine follows it and refuses the old one from now on",
                    path.display(),
                    opened.vault.lineage_id()
                ));
                true
            }
            Ok(Seen::Known) => false,
            // An older version that git itself checked out (another branch), from a
            // repository whose history holds the newest version seen here: accepted,
            // and the pin keeps the newest generation. The bytes compared with git are
            // the bytes decrypted again here, so a file swapped in between is not used.
            Err(Error::VaultRolledBack { seen, .. }) => {
                let bytes = crate::files::read_capped(path, crate::files::limits::VAULT)
                    .map_err(|e| Error::io("read", path, e))?;
                let again = self.decrypt(&bytes, path)?;
                let same = again.vault.lineage_hash() == lineage
                    && again.vault.generation == opened.vault.generation;
                if !(same && checkout::committed_in_history(self, path, &bytes, &lineage, seen)) {
                    return Err(Error::VaultRolledBack {
                        path: path.clone(),
                        found: opened.vault.generation,
                        seen,
                        pins: self.env.pins().unwrap_or_default(),
                    });
                }
                opened = again;
                false
            }
            Err(e) => return Err(e),
        };
        let vault = &opened.vault;
        pins.record(
            path,
            &lineage,
            vault.generation,
            &vault.predecessor_hashes(),
            replace,
        )?;
        Ok(opened)
    }

    /// Opens the vault for reading the variables `selected` only (and those they are
    /// derived from): an OpenBao host's token may read no more. A file is opened whole.
    fn open_only(&self, selected: &[usize]) -> Result<Opened> {
        let Backend::OpenBao(store) = &self.backend else {
            return self.open();
        };
        let needed = self.schema.closure(selected);
        let wanted: Vec<usize> = (0..needed.len()).filter(|&i| needed[i]).collect();
        let vault = store.load(&self.schema, &wanted, &[])?;
        Ok(Opened {
            vault,
            actor: "-".into(),
        })
    }

    /// Opens the vault with the previous versions of variable `index` (an OpenBao vault
    /// reads them from the KV versions only when asked).
    fn open_history(&self, index: usize) -> Result<Opened> {
        let Backend::OpenBao(store) = &self.backend else {
            return self.open();
        };
        let all: Vec<usize> = (0..self.schema.variables().len()).collect();
        let vault = store.load(&self.schema, &all, &[index])?;
        let actor = store.actor()?;
        Ok(Opened { vault, actor })
    }

    /// The values of the variables `selected` and of what they are derived from, as
    /// `render` prints them (from OpenBao, only those were read).
    fn resolve(&self, vault: &Vault, selected: &[usize]) -> Result<crate::resolve::Resolved> {
        crate::resolve::resolve(&self.schema, vault, &self.files.vault, selected)
    }

    /// Whether the vault exists (an OpenBao location always does: its variables may not).
    fn exists(&self) -> bool {
        match &self.backend {
            Backend::File => self.files.vault.exists(),
            Backend::OpenBao(_) => true,
        }
    }

    /// Excludes other writers: the lock file of a file vault; for OpenBao, nothing
    /// (every write is a check-and-set).
    fn lock(&self) -> Result<Option<crate::vault::store::WriteLock>> {
        match &self.backend {
            Backend::File => self.files.lock().map(Some),
            Backend::OpenBao(_) => Ok(None),
        }
    }

    /// Checks the recipients file against the vault (file vaults; OpenBao has none). With
    /// `accept_file`, adopts it; a key it dropped is a removal like `recipients remove`'s (a
    /// new lineage, the secrets it could read recorded as exposed). Returns one report line
    /// per key added or removed.
    fn reconcile_recipients(&self, vault: &mut Vault, accept_file: bool) -> Result<Vec<String>> {
        let (added, removed) = match &self.backend {
            Backend::File => vault.reconcile_recipients(&self.files, accept_file)?,
            Backend::OpenBao(store) if accept_file => {
                return Err(openbao::not_applicable(store, "--update-recipients"));
            }
            Backend::OpenBao(_) => return Ok(Vec::new()),
        };
        if !removed.is_empty() {
            vault.new_lineage();
            let exposed = recipients::secrets_in(self, vault);
            for key in &removed {
                vault.record_removal(key, exposed.clone());
            }
        }
        Ok(added
            .iter()
            .map(|k| format!("recipient added from the recipients file: {k}"))
            .chain(removed.iter().map(|k| {
                format!("recipient removed from the recipients file: {k} (a new lineage; rotate what it could read: `envgen check`)")
            }))
            .collect())
    }

    /// Writes the vault (a new generation) and remembers it as the latest seen here. The
    /// new generation is above every one seen here of its lineage, so a write on a branch
    /// checked out at an older version never looks like a rollback of the newer one.
    fn save(&self, vault: &mut Vault) -> Result<()> {
        if let Backend::OpenBao(store) = &self.backend {
            return store.save(&self.schema, vault).map(drop);
        }
        if let Some(seen) = self
            .pins()?
            .generation(&self.files.vault, &vault.lineage_hash())
        {
            vault.generation = vault.generation.max(seen);
        }
        vault.save(&self.files)?;
        self.pins()?.record(
            &self.files.vault,
            &vault.lineage_hash(),
            vault.generation,
            &vault.predecessor_hashes(),
            true,
        )?;
        Ok(())
    }

    /// This machine's record of the vaults it has opened. Without a state directory the
    /// command stops: the checks against forged and rolled-back vaults are never skipped.
    fn pins(&self) -> Result<Pins> {
        Pins::load(self.env.pins().ok_or(Error::NoStateDirectory)?)
    }

    /// Decrypts vault bytes read from `path`: with the passphrase for a passphrase vault,
    /// else with the identities in use.
    fn decrypt(&self, ciphertext: &[u8], path: &std::path::Path) -> Result<Opened> {
        let sealed = crate::vault::crypto::open(ciphertext).map_err(|_| Error::VaultDamaged {
            path: path.to_path_buf(),
            detail: "the age header is malformed",
        })?;
        self.decrypt_sealed(sealed, ciphertext.len(), path)
    }

    /// Decrypts a vault whose header was read (streaming): with the passphrase for a
    /// passphrase vault, else with the identities in use.
    fn decrypt_sealed<R: std::io::BufRead>(
        &self,
        sealed: crate::vault::crypto::Sealed<R>,
        size: usize,
        path: &std::path::Path,
    ) -> Result<Opened> {
        if sealed.is_passphrase() {
            let passphrase = self.passphrase(false)?;
            let keys: Vec<Box<dyn age::Identity + Send + Sync>> =
                vec![Box::new(scrypt_identity(passphrase.clone()))];
            let mut vault = Vault::decrypt_sealed(sealed, size, &keys, "the passphrase", path)?;
            vault.passphrase = Some(passphrase);
            return Ok(Opened {
                vault,
                actor: "passphrase".into(),
            });
        }
        let identities = self.identities()?;
        let vault =
            Vault::decrypt_sealed(sealed, size, &identities.keys, &identities.describe(), path)?;
        Ok(Opened {
            vault,
            actor: actor(identities),
        })
    }

    /// The error for variables the schema defines but the vault does not hold yet.
    fn missing(&self, names: Vec<String>) -> Error {
        Error::MissingValues {
            names,
            vault: self.files.vault.clone(),
        }
    }

    /// The variable `name`, which must be made by envgen (secret, hashed, keypair, jwt) to be
    /// rotated.
    fn rotatable(&self, name: &str) -> Result<usize> {
        let index = self.stored(name, "rotate")?;
        match &self.schema.variables()[index].kind {
            Kind::Fixed(_) => Err(Error::NotRotatable {
                name: name.into(),
                kind: "a fixed value, not a generated secret".into(),
                consequence: "it cannot be rotated",
                hint: format!("change it with `envgen set {name}=VALUE`"),
            }),
            Kind::Input(_) => Err(Error::NotRotatable {
                name: name.into(),
                kind: "an input, which its provider issues".into(),
                consequence: "envgen cannot make a new one",
                hint: format!(
                    "get a new value from the provider, then `envgen set {name}` (it reads stdin or asks on the terminal)"
                ),
            }),
            _ => Ok(index),
        }
    }

    /// The profile flag to repeat in a suggested command: ` --profile staging`, or nothing.
    fn profile_flag(&self) -> String {
        self.schema
            .profile
            .as_ref()
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default()
    }

    /// The profile in use, as a phrase for reports: ` (profile staging)`, or nothing.
    fn profile_phrase(&self) -> String {
        self.schema
            .profile
            .as_ref()
            .map(|p| format!(" (profile {p})"))
            .unwrap_or_default()
    }

    /// The variable `name`, which must be stored (not derived) for `command` to apply.
    fn stored(&self, name: &str, command: &str) -> Result<usize> {
        let index = self.schema.require(name)?;
        if self.schema.variables()[index].kind.is_stored() {
            return Ok(index);
        }
        let sources = self.sources(index);
        Err(Error::NotRotatable {
            name: name.into(),
            kind: format!("derived from {sources}"),
            consequence: "it has no value or versions of its own: it is computed from those at every render",
            hint: match command {
                "rotate" => {
                    "rotate the secret it is built from; it is re-derived automatically".into()
                }
                "set" => format!(
                    "set or rotate what it is built from ({sources}); it follows automatically"
                ),
                _ => format!("run `envgen {command}` on what it is built from ({sources})"),
            },
        })
    }

    /// The variables a command covers, in schema order: `--only`, `--service`, or all.
    fn select(&self, selection: &Selection) -> Result<Vec<usize>> {
        let variables = self.schema.variables();
        if !selection.only.is_empty() {
            let mut picked = selection
                .only
                .iter()
                .map(|n| self.schema.require(n.trim()))
                .collect::<Result<Vec<_>>>()?;
            picked.sort_unstable();
            picked.dedup();
            return Ok(picked);
        }
        let Some(service) = &selection.service else {
            return Ok((0..variables.len()).collect());
        };
        let picked: Vec<usize> = (0..variables.len())
            .filter(|&i| variables[i].services.contains(service))
            .collect();
        if picked.is_empty() {
            let mut known: Vec<String> = variables
                .iter()
                .flat_map(|v| v.services.iter().cloned())
                .collect();
            known.sort();
            known.dedup();
            return Err(Error::UnknownService {
                service: service.clone(),
                schema: self.schema.path.clone(),
                known,
            });
        }
        Ok(picked)
    }

    /// The stored variables a derived one is built from, as `A, B`.
    fn sources(&self, index: usize) -> String {
        let names: Vec<&str> = self
            .schema
            .sources(index)
            .into_iter()
            .map(|i| self.schema.variables()[i].name.as_str())
            .collect();
        names.join(", ")
    }

    /// Refuses to change guarded variables (rotation impact op or data) unless forced.
    fn check_guards(&self, targets: &[usize], force: bool) -> Result<()> {
        let guarded: Vec<(String, Impact, String)> = targets
            .iter()
            .map(|&i| &self.schema.variables()[i])
            .filter(|v| v.rotation.impact.is_guarded())
            .map(|v| {
                (
                    v.name.clone(),
                    v.rotation.impact,
                    v.rotation.breaks.clone().unwrap_or_default(),
                )
            })
            .collect();
        if guarded.is_empty() || force {
            return Ok(());
        }
        Err(Error::Guarded { variables: guarded })
    }

    /// Records an operation in this machine's journal (never in the repository); a failure
    /// to do so is reported, not fatal, because the operation itself has already happened.
    fn journal(&self, err: &mut dyn Write, op: &str, names: &[&str], actor: &str) {
        // OpenBao's audit devices record every read and write of a server vault.
        if matches!(self.backend, Backend::OpenBao(_)) {
            return;
        }
        if let Err(e) = self
            .env
            .journal()
            .record(op, &self.files.vault, names, actor)
        {
            note(err, &format!("warning: the journal was not updated: {e}"));
        }
    }
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

/// Who is acting: the first public recipient of the identity in use.
fn actor(identities: &Identities) -> String {
    identities
        .recipients
        .first()
        .cloned()
        .unwrap_or_else(|| "-".into())
}

/// A provenance record for an operation by `actor`.
fn provenance(how: &str, actor: &str) -> Provenance {
    Provenance {
        how: how.into(),
        by: actor.into(),
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
        let by = provenance("re-sign", actor);
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
    Ok(ctx.identities()?.recipients.clone())
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

/// Writes a note for the person at the terminal; a failure to do so is not an error.
fn note(err: &mut dyn Write, text: &str) {
    let _ = writeln!(err, "{text}");
}

//! The context every schema command works in: the schema, where the vault is (a file, or
//! OpenBao), how it is opened (identities, passphrase, this machine's pins), and what is
//! written when it changes.

use super::*;

/// What every schema command works on: the schema, the vault files, the identity choice.
pub(super) struct Context {
    /// Notes for stderr gathered while the command ran (a first use, a new lineage),
    /// printed when it ends, or before `exec` replaces the process.
    pub(super) notices: std::cell::RefCell<Vec<String>>,
    pub(super) schema: Schema,
    /// The vault's files; for a vault kept in OpenBao, `files.vault` is only its label
    /// (`openbao://MOUNT/PATH`) and nothing is written locally.
    pub(super) files: VaultFiles,
    /// Where the vault lives.
    pub(super) backend: Backend,
    /// `--approle-*`, for `migrate --to openbao://`.
    pub(super) approle: openbao::AppRole,
    pub(super) identity_flags: Vec<PathBuf>,
    pub(super) passphrase_source: passphrase::Source,
    /// Read once per process: a file descriptor can be read only once, and nobody wants to
    /// type a passphrase twice for one command.
    pub(super) passphrase: OnceCell<SecretString>,
    pub(super) identities: OnceCell<Identities>,
    pub(super) accept_vault: bool,
    pub(super) env: env::ProcessEnv,
}

/// A decrypted vault and who opened it.
pub(super) struct Opened {
    pub(super) vault: Vault,
    /// Who opened it: see [`Context::actor`] and [`Context::journal`].
    pub(super) actor: Actor,
}

/// Who opened a vault.
pub(super) enum Actor {
    /// The identities in use.
    Identities,
    /// `passphrase`, an OpenBao token's `openbao:NAME`, or `-` when nobody is known.
    Named(String),
}

impl From<&str> for Actor {
    fn from(name: &str) -> Self {
        Actor::Named(name.into())
    }
}

impl Context {
    /// Keeps a note for stderr, printed when the command ends.
    pub(super) fn notice(&self, text: String) {
        self.notices.borrow_mut().push(text);
    }

    /// Prints the notes gathered so far.
    pub(super) fn flush_notices(&self, err: &mut dyn Write) {
        for text in self.notices.borrow_mut().drain(..) {
            note(err, &text);
        }
    }

    pub(super) fn new(cli: &Cli, env: env::ProcessEnv) -> Result<Context> {
        let schema_path = cli
            .global
            .schema
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SCHEMA));
        // Reading values needs no rotation texts (they are validated all the same).
        let detail = match cli.command {
            Command::Render(_) | Command::Exec(_) | Command::Get(_) => Detail::Values,
            _ => Detail::Full,
        };
        let mut schema = match &cli.command {
            // One value, or the values `exec --only` names: the schema as far as they need.
            Command::Get(args) => Schema::load_slice(&schema_path, &[&args.name], detail)?,
            Command::Exec(args) if !args.selection.only.is_empty() => {
                // clap trimmed each name and refused empty ones.
                let names: Vec<&str> = args.selection.only.iter().map(String::as_str).collect();
                Schema::load_slice(&schema_path, &names, detail)?
            }
            _ => Schema::load_for(&schema_path, detail)?,
        };
        if let Some(profile) = cli.global.profile.as_ref().or(env.profile.as_ref()) {
            schema.select_profile(profile)?;
        }
        let vault = cli.global.vault.clone().unwrap_or_else(|| {
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
            identity_flags: cli.global.identity.clone(),
            passphrase_source: passphrase::Source::resolve(
                cli.global.passphrase_fd,
                env.passphrase_file.clone(),
            ),
            passphrase: OnceCell::new(),
            identities: OnceCell::new(),
            accept_vault: cli.global.accept_vault,
            env,
        })
    }

    /// The identity files in use, in discovery order.
    pub(super) fn identity_paths(&self) -> Result<Vec<IdentityPath>> {
        discover_identities(
            &self.env,
            &self.identity_flags,
            self.schema.host_identity.as_deref(),
        )
    }

    /// The identities in use, loaded on first use.
    pub(super) fn identities(&self) -> Result<&Identities> {
        if let Some(identities) = self.identities.get() {
            return Ok(identities);
        }
        let loaded = Identities::load(&self.identity_paths()?, prompt::terminal())?;
        Ok(self.identities.get_or_init(|| loaded))
    }

    /// The passphrase of a passphrase vault, read on first use; `confirm` asks twice on a
    /// terminal (for a new vault).
    pub(super) fn passphrase(&self, confirm: bool) -> Result<SecretString> {
        if let Some(passphrase) = self.passphrase.get() {
            return Ok(passphrase.clone());
        }
        let read = self.passphrase_source.read(confirm, &prompt::Terminal)?;
        Ok(self.passphrase.get_or_init(|| read).clone())
    }

    /// Decrypts the vault with the identities in use, or its passphrase, and checks it
    /// against what this machine has seen at its path (lineage and generation).
    pub(super) fn open(&self) -> Result<Opened> {
        if let Backend::OpenBao(store) = &self.backend {
            let all: Vec<usize> = (0..self.schema.variables().len()).collect();
            let vault = store.load(&self.schema, &all, &[])?;
            let actor = Actor::Named(store.actor()?);
            return Ok(Opened { vault, actor });
        }
        self.open_file(&self.files.vault)
    }

    /// Opens the vault file at `path` (this context's, or another one a command writes
    /// into), checked against this machine's pins like every vault file opened.
    pub(super) fn open_file(&self, path: &std::path::Path) -> Result<Opened> {
        // Read the pins before the vault: a write in between only makes the vault newer.
        let mut pins = self.pins()?;
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
        // Whether the operator accepts this vault whatever was pinned; otherwise the record
        // checks it again against the pins as they are when it writes (a successor
        // lineage replaces the pin there).
        let deliberate = match seen {
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
                false
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
                        path: path.to_path_buf(),
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
            deliberate,
        )?;
        Ok(opened)
    }

    /// Opens the vault for reading the variables `selected` only (and those they are
    /// derived from): an OpenBao host's token may read no more. A file is opened whole.
    pub(super) fn open_only(&self, selected: &[usize]) -> Result<Opened> {
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
    pub(super) fn open_history(&self, index: usize) -> Result<Opened> {
        let Backend::OpenBao(store) = &self.backend else {
            return self.open();
        };
        let all: Vec<usize> = (0..self.schema.variables().len()).collect();
        let vault = store.load(&self.schema, &all, &[index])?;
        let actor = Actor::Named(store.actor()?);
        Ok(Opened { vault, actor })
    }

    /// The values of the variables `selected` and of what they are derived from, as
    /// `render` prints them (from OpenBao, only those were read).
    pub(super) fn resolve<'v>(
        &self,
        vault: &'v Vault,
        selected: &[usize],
    ) -> Result<crate::resolve::Resolved<'v>> {
        crate::resolve::resolve(&self.schema, vault, &self.files.vault, selected)
    }

    /// Whether the vault exists (an OpenBao location always does: its variables may not).
    pub(super) fn exists(&self) -> bool {
        match &self.backend {
            Backend::File => self.files.vault.exists(),
            Backend::OpenBao(_) => true,
        }
    }

    /// Excludes other writers: the lock file of a file vault; for OpenBao, nothing
    /// (every write is a check-and-set).
    pub(super) fn lock(&self) -> Result<Option<crate::vault::store::WriteLock>> {
        match &self.backend {
            Backend::File => self.files.lock().map(Some),
            Backend::OpenBao(_) => Ok(None),
        }
    }

    /// Checks the recipients file against the vault (file vaults; OpenBao has none). With
    /// `accept_file`, adopts it; a key it dropped is a removal like `recipients remove`'s (a
    /// new lineage, the secrets it could read recorded as exposed). Returns one report line
    /// per key added or removed.
    pub(super) fn reconcile_recipients(
        &self,
        vault: &mut Vault,
        accept_file: bool,
    ) -> Result<Vec<String>> {
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
    pub(super) fn save(&self, vault: &mut Vault) -> Result<()> {
        if let Backend::OpenBao(store) = &self.backend {
            return store.save(&self.schema, vault).map(drop);
        }
        self.save_file(&self.files, vault)
    }

    /// Writes `vault` to `files` (this context's, or another vault a command writes into)
    /// and pins its new generation; see [`Context::save`].
    pub(super) fn save_file(&self, files: &VaultFiles, vault: &mut Vault) -> Result<()> {
        // Loaded once: the record reads the file again under its lock before it writes.
        let mut pins = self.pins()?;
        let lineage = vault.lineage_hash();
        if let Some(seen) = pins.generation(&files.vault, &lineage) {
            vault.generation = vault.generation.max(seen);
        }
        vault.save(files)?;
        pins.record(
            &files.vault,
            &lineage,
            vault.generation,
            &vault.predecessor_hashes(),
            true,
        )?;
        Ok(())
    }

    /// This machine's record of the vaults it has opened. Without a state directory the
    /// command stops: the checks against forged and rolled-back vaults are never skipped.
    pub(super) fn pins(&self) -> Result<Pins> {
        Pins::load(self.env.pins().ok_or(Error::NoStateDirectory)?)
    }

    /// Decrypts vault bytes read from `path`: with the passphrase for a passphrase vault,
    /// else with the identities in use.
    pub(super) fn decrypt(&self, ciphertext: &[u8], path: &std::path::Path) -> Result<Opened> {
        let sealed = crate::vault::crypto::open(ciphertext).map_err(|_| Error::VaultDamaged {
            path: path.to_path_buf(),
            detail: "the age header is malformed",
        })?;
        self.decrypt_sealed(sealed, ciphertext.len(), path)
    }

    /// Decrypts a vault whose header was read (streaming): with the passphrase for a
    /// passphrase vault, else with the identities in use.
    pub(super) fn decrypt_sealed<R: std::io::BufRead>(
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
            actor: Actor::Identities,
        })
    }

    /// The error for variables the schema defines but the vault does not hold yet.
    pub(super) fn missing(&self, names: Vec<String>) -> Error {
        Error::MissingValues {
            names,
            vault: self.files.vault.clone(),
        }
    }

    /// The variable `name`, which must be made by envgen (secret, hashed, keypair, jwt) to be
    /// rotated.
    pub(super) fn rotatable(&self, name: &str) -> Result<usize> {
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
    pub(super) fn profile_flag(&self) -> String {
        self.schema
            .profile
            .as_ref()
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default()
    }

    /// The profile in use, as a phrase for reports: ` (profile staging)`, or nothing.
    pub(super) fn profile_phrase(&self) -> String {
        self.schema
            .profile
            .as_ref()
            .map(|p| format!(" (profile {p})"))
            .unwrap_or_default()
    }

    /// The variable `name`, which must be stored (not derived) for `command` to apply.
    pub(super) fn stored(&self, name: &str, command: &str) -> Result<usize> {
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
    pub(super) fn select(&self, selection: &Selection) -> Result<Vec<usize>> {
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
    pub(super) fn sources(&self, index: usize) -> String {
        let names: Vec<&str> = self
            .schema
            .sources(index)
            .into_iter()
            .map(|i| self.schema.variables()[i].name.as_str())
            .collect();
        names.join(", ")
    }

    /// Refuses to change guarded variables (rotation impact op or data) unless forced.
    pub(super) fn check_guards(&self, targets: &[usize], force: bool) -> Result<()> {
        let guarded: Vec<(String, Impact, String)> = targets
            .iter()
            .map(|&i| &self.schema.variables()[i])
            .filter(|v| v.rotation.impact.is_guarded())
            .map(|v| {
                (
                    v.name.clone(),
                    v.rotation.impact,
                    v.rotation.breaks.as_deref().unwrap_or_default().to_string(),
                )
            })
            .collect();
        if guarded.is_empty() || force {
            return Ok(());
        }
        Err(Error::Guarded { variables: guarded })
    }

    /// Who made a change, as the vault's history records it: the public recipient of the
    /// first identity in use (computed here, not when the vault was opened: reads need no
    /// public key), else the name in `actor`.
    pub(super) fn actor(&self, actor: &Actor) -> Result<String> {
        Ok(match actor {
            Actor::Named(name) => name.clone(),
            Actor::Identities => (self.identities()?.recipients()?.first())
                .cloned()
                .unwrap_or_else(|| "-".into()),
        })
    }

    /// Records an operation in this machine's journal (never in the repository), naming the
    /// identity files that opened the vault; a failure to do so is reported, not fatal,
    /// because the operation itself has already happened.
    pub(super) fn journal(&self, err: &mut dyn Write, op: &str, names: &[&str], actor: &Actor) {
        let actor = match actor {
            Actor::Named(name) => name.clone(),
            Actor::Identities => (self.identities.get())
                .map(|ids| {
                    let paths: Vec<String> = (ids.paths.iter())
                        .map(|p| {
                            let path = std::path::absolute(&p.path).unwrap_or(p.path.clone());
                            path.display().to_string()
                        })
                        .collect();
                    paths.join(" ")
                })
                .unwrap_or_else(|| "-".into()),
        };
        let actor = actor.as_str();
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

//! A vault kept in OpenBao: connecting to the server (address, token, CA and namespace come
//! from [`super::env`]), what does not apply to it, `envgen openbao policy` and
//! `envgen migrate`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::env::ProcessEnv;
use super::{Context, emit, note, read_vault};
use crate::cli::{Cli, Command, MigrateArgs, OpenbaoCommand, Selection};
use crate::error::{BaoError, Error, Result};
use crate::storage::openbao::{
    Connection, Credentials, DEFAULT_ADDRESS, NewVersion, Place, Store, check_address, policy,
};
use crate::storage::{Backend, Location, locate};
use crate::vault::store::VaultFiles;
use crate::vault::{Entry, Vault, write_recipients};

/// The largest secret-id or CA file read.
const MAX_SMALL_FILE: u64 = 1 << 20;

/// The backend of the vault at `vault`: a file, or a server reached with the environment's
/// address and token (or `--approle-*`).
pub(super) fn backend(vault: &Path, cli: &Cli, env: &ProcessEnv) -> Result<Backend> {
    match locate(vault)? {
        Location::File(_) => Ok(Backend::File),
        Location::Server(place) => Ok(Backend::OpenBao(Box::new(connect(
            place,
            &approle(cli),
            env,
        )?))),
    }
}

/// `--approle-role-id` and `--approle-secret-id-file`.
pub(super) type AppRole = (Option<String>, Option<std::path::PathBuf>);

/// The AppRole flags of the command line.
pub(super) fn approle(cli: &Cli) -> AppRole {
    (
        cli.global.approle_role_id.clone(),
        cli.global.approle_secret_id_file.clone(),
    )
}

fn connect(place: Place, approle: &AppRole, env: &ProcessEnv) -> Result<Store> {
    let address = check_address(env.bao.addr.as_deref().unwrap_or(DEFAULT_ADDRESS))?;
    let credentials = match approle {
        (Some(role_id), Some(file)) => Credentials::AppRole {
            role_id: role_id.clone(),
            secret_id: read_secret_id(file)?,
            mount: "approle".into(),
        },
        _ => env
            .bao
            .token()?
            .map_or(Credentials::Missing, Credentials::Token),
    };
    let ca_pem = match &env.bao.cacert {
        Some(path) => {
            let pem =
                crate::files::read_capped(path, MAX_SMALL_FILE).map_err(|e| BaoError::CaCert {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            Some((path.clone(), pem.to_vec()))
        }
        None => None,
    };
    Store::new(
        place,
        Connection {
            address,
            namespace: env.bao.namespace.clone(),
            ca_pem,
            credentials,
        },
    )
}

/// The AppRole secret ID: the first line of a regular file only its owner can read.
fn read_secret_id(path: &Path) -> Result<SecretString> {
    let fail = |reason: String| BaoError::SecretIdFile {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()).into());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(fail(format!("it is readable by other users (mode {mode:o})")).into());
    }
    let bytes = crate::files::read_capped(path, MAX_SMALL_FILE).map_err(|e| fail(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(fail("it is empty".into()).into());
    }
    Ok(SecretString::from(line))
}

/// The error for a file-vault feature used on an OpenBao vault.
pub(super) fn not_applicable(store: &Store, what: &str) -> Error {
    let instead = match what {
        "--accept-vault" => {
            "drop it: an OpenBao vault has no pins, the server and its ACL are the trust anchor"
        }
        "import" => {
            "import into a file vault (--vault vault/NAME.age), then `envgen migrate --to openbao://MOUNT/PATH`"
        }
        "recipients" | "-r/-R" | "--update-recipients" => {
            "who may read is the server's ACL: `envgen openbao policy --service S`, `bao policy write`, `bao token create -policy=...`"
        }
        _ => "the server's ACL and its audit devices take the place of passphrases and recipients",
    };
    BaoError::NotApplicable {
        what: what.into(),
        location: store.label(),
        instead,
    }
    .into()
}

/// Refuses, before anything is read, what only a file vault has.
pub(super) fn refuse_file_only(cli: &Cli, store: &Store) -> Result<()> {
    if cli.global.accept_vault {
        return Err(not_applicable(store, "--accept-vault"));
    }
    match &cli.command {
        Command::Import(_) => Err(not_applicable(store, "import")),
        Command::Recipients(_) => Err(not_applicable(store, "recipients")),
        Command::Init(args) if !args.recipients.is_empty() || !args.recipients_files.is_empty() => {
            Err(not_applicable(store, "-r/-R"))
        }
        Command::Init(args) if args.passphrase => Err(not_applicable(store, "--passphrase")),
        _ => Ok(()),
    }
}

/// `envgen openbao policy --service S`.
pub(super) fn run(ctx: &Context, command: &OpenbaoCommand, out: &mut dyn Write) -> Result<()> {
    let OpenbaoCommand::Policy { service } = command;
    let Backend::OpenBao(store) = &ctx.backend else {
        return Err(BaoError::Address {
            what: "vault location",
            given: ctx.files.vault.display().to_string(),
            reason: "`envgen openbao policy` needs --vault openbao://MOUNT/PATH".into(),
        }
        .into());
    };
    let selected = ctx.select(&Selection {
        only: Vec::new(),
        service: Some(service.clone()),
    })?;
    let needed = ctx.schema.closure(&selected);
    let variables = ctx.schema.variables();
    let names: Vec<&str> = (0..variables.len())
        .filter(|&i| needed[i] && variables[i].kind.is_stored())
        .map(|i| variables[i].name.as_str())
        .collect();
    let mut text = format!(
        "# envgen: what a host running {service} may read from {} (schema {}):\n# {}\n# `read` on each variable's data and metadata; nothing else (no list, no write).\n",
        store.label(),
        ctx.schema.name,
        names.join(", "),
    );
    let mut body = Vec::new();
    policy(store.place(), &names, &mut body).expect("writing to memory cannot fail");
    text.push_str(&String::from_utf8_lossy(&body));
    emit(out, text.as_bytes())
}

/// Values compared: value, hash, nonconforming.
/// The longest run of versions that ends `theirs` (the server's, oldest first) and starts
/// `ours` (the file's), when it leaves some of ours to copy: how many of ours are there.
fn overlap(theirs: &[&SecretString], ours: &[NewVersion]) -> Option<usize> {
    (1..=theirs.len().min(ours.len() - 1)).rev().find(|&k| {
        (theirs[theirs.len() - k..].iter().zip(&ours[..k]))
            .all(|(t, o)| t.expose_secret() == o.value.expose_secret())
    })
}

/// The report line of a variable copied with `versions` versions.
fn copied(name: &str, versions: usize) -> String {
    let plural = if versions == 1 { "" } else { "s" };
    format!("copied {name} ({versions} version{plural})\n")
}

fn same(a: &Entry, b: &Entry) -> bool {
    let hashes = match (&a.hash, &b.hash) {
        (Some(x), Some(y)) => x.expose_secret() == y.expose_secret(),
        (x, y) => x.is_none() && y.is_none(),
    };
    a.value.expose_secret() == b.value.expose_secret()
        && hashes
        && a.nonconforming == b.nonconforming
}

/// `envgen migrate --to ...`: the vault of `--vault` copied to another store, then read back.
pub(super) fn migrate(
    ctx: &Context,
    args: &MigrateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let from = ctx.files.vault.display().to_string();
    let to = args.to.display().to_string();
    let refuse = |reason: &str| -> Error {
        BaoError::Migrate {
            from: from.clone(),
            to: to.clone(),
            reason: reason.into(),
        }
        .into()
    };
    let target = locate(&args.to)?;
    match (&ctx.backend, target) {
        (Backend::File, Location::Server(place)) => {
            let store = connect(place, &ctx.approle, &ctx.env)?;
            to_server(ctx, &store, out, err)
        }
        (Backend::OpenBao(store), Location::File(path)) => to_file(ctx, store, &path, out, err),
        (Backend::File, Location::File(_)) => Err(refuse(
            "both are files: copy the file (and its .recipients) instead",
        )),
        (Backend::OpenBao(_), Location::Server(_)) => Err(refuse(
            "both are servers: migrate to a file first, then from it to the other server",
        )),
    }
}

fn to_server(ctx: &Context, store: &Store, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let source = ctx.open()?.vault;
    let schema = &ctx.schema;
    let all: Vec<usize> = (0..schema.variables().len()).collect();
    let existing = store.load(schema, &all, &all)?;
    let mut report = String::new();
    for var in schema.variables() {
        let Some(entry) = source.variables.get(&var.name) else {
            continue;
        };
        match existing.variables.get(&var.name) {
            Some(there) if same(there, entry) => {
                report.push_str(&format!("unchanged {}\n", var.name));
                continue;
            }
            _ => {}
        }
        // Every version, oldest first: the history, then the current value.
        let ours: Vec<NewVersion> = (entry.history.iter().rev())
            .map(|old| NewVersion {
                value: &old.value,
                hash: old.hash.as_ref(),
                set: old.set,
                set_by: &old.set_by,
                nonconforming: old.nonconforming,
            })
            .chain(std::iter::once(NewVersion {
                value: &entry.value,
                hash: entry.hash.as_ref(),
                set: entry.rotated,
                set_by: &entry.set_by,
                nonconforming: entry.nonconforming,
            }))
            .collect();
        // A variable new to the server gets them all. One whose newest versions there are
        // older versions of ours (a migration interrupted while copying them, or versions
        // made in the file since an earlier migration, the oldest perhaps dropped from
        // either history) gets the ones after them. One changed on the server since gets
        // the current value as one more version.
        let start = match existing.variables.get(&var.name) {
            None => 0,
            Some(there) => {
                let theirs: Vec<&SecretString> = (there.history.iter().rev())
                    .map(|v| &v.value)
                    .chain(std::iter::once(&there.value))
                    .collect();
                overlap(&theirs, &ours).unwrap_or(ours.len() - 1)
            }
        };
        let mut cas = store.seen_version(&var.name);
        for version in &ours[start..] {
            cas = store.write(&var.name, &var.name, cas, version)?;
        }
        let versions = ours.len() - start;
        store.write_metadata(
            &var.name,
            var.rotation.history,
            entry,
            var.rotation.impact.name(),
        )?;
        store.remember(&var.name, cas, entry);
        report.push_str(&copied(&var.name, versions));
    }
    store.ensure_fingerprint_key(&source)?;
    // Read everything back.
    let back = store.load(schema, &all, &[])?;
    for (name, entry) in &source.variables {
        if schema.position(name).is_none() {
            continue;
        }
        if !back.variables.get(name).is_some_and(|b| same(b, entry)) {
            return Err(BaoError::MigrateVerify {
                from: ctx.files.vault.display().to_string(),
                to: store.label(),
                name: name.clone(),
            }
            .into());
        }
    }
    note(
        err,
        &format!(
            "{} holds every value of {} (read back and compared); nothing was changed in the file",
            store.label(),
            ctx.files.vault.display()
        ),
    );
    emit(out, report.as_bytes())
}

fn to_file(
    ctx: &Context,
    store: &Store,
    path: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let schema = &ctx.schema;
    let all: Vec<usize> = (0..schema.variables().len()).collect();
    let mut source = store.load(schema, &all, &all)?;
    let files = VaultFiles::new(path.to_path_buf());
    let _lock = files.lock()?;
    let existed = files.vault.exists();
    let mut target = if existed {
        // Checked against this machine's pins like any vault opened: a forged vault (its
        // own recipients, say) or an older one must not receive the server's secrets.
        ctx.open_file(path)?.vault
    } else {
        let recipients = if files.recipients.exists() {
            crate::vault::keys::read_recipients_file(&files.recipients)?
        } else {
            ctx.identities()?.recipients()?.to_vec()
        };
        let mut vault = Vault::new(&schema.name, recipients);
        vault.set_fingerprint_key(source.fingerprint_key().clone());
        vault
    };
    let mut report = String::new();
    let mut expected: BTreeMap<String, (SecretString, Option<SecretString>)> = BTreeMap::new();
    for var in schema.variables() {
        let Some(entry) = source.variables.remove(&var.name) else {
            continue;
        };
        expected.insert(var.name.clone(), (entry.value.clone(), entry.hash.clone()));
        if target
            .variables
            .get(&var.name)
            .is_some_and(|t| same(t, &entry))
        {
            report.push_str(&format!("unchanged {}\n", var.name));
            continue;
        }
        report.push_str(&copied(&var.name, entry.history.len() + 1));
        target.variables.insert(var.name.clone(), entry);
    }
    if report.lines().any(|l| l.starts_with("copied")) {
        if !existed {
            write_recipients(&files, &target.recipients)?;
        }
        ctx.save_file(&files, &mut target)?;
    }
    let back = ctx.decrypt(&read_vault(path)?, path)?.vault;
    for (name, (value, hash)) in &expected {
        let equal = back.variables.get(name).is_some_and(|b| {
            b.value.expose_secret() == value.expose_secret()
                && match (&b.hash, hash) {
                    (Some(x), Some(y)) => x.expose_secret() == y.expose_secret(),
                    (x, y) => x.is_none() && y.is_none(),
                }
        });
        if !equal {
            return Err(BaoError::MigrateVerify {
                from: store.label(),
                to: path.display().to_string(),
                name: name.clone(),
            }
            .into());
        }
    }
    note(
        err,
        &format!(
            "{} holds every value of {} (decrypted again and compared); nothing was changed on the server",
            path.display(),
            store.label()
        ),
    );
    emit(out, report.as_bytes())
}

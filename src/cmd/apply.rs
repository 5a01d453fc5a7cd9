//! `--apply` of `rotate`, `rollback` and `set`: once the vault is written, restart exactly the
//! compose services that read what changed, with every value in their environment.
//!
//! The restart is `docker compose [-f FILE]... up -d SERVICES`, run the way `exec` runs a
//! command (the `docker` of the caller's `PATH`, looked up before any value is added; the
//! values only in its environment, so no file is written), except that envgen spawns it and
//! waits, so it can report the exit code and say how to go back.
//!
//! SERVICES are the services that reference a changed variable, or a value derived from or
//! signed with one: from the compose files when `--compose` is given (every `${NAME}` in the
//! service's definition, YAML anchors included), else the schema's `services`. Everything
//! that could stop the restart from starting (a compose file that does not parse, no `docker`
//! on `PATH`, a guarded variable) is found before the vault is written.
//!
//! A guarded variable (rotation impact `op` or `data`) is refused with `--apply`: its steps
//! (e.g. `ALTER ROLE` with the new password's SCRAM verifier) must run between the change and
//! the restart, need the new value, and act inside the running service, so envgen cannot
//! order them for the operator. The error gives the command without `--apply` and the exact
//! restart to run after the steps.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{Context, exec::find_program, note};
use crate::cli::ApplyArgs;
use crate::error::{Error, Result};
use crate::vault::Vault;

/// A restart ready to run: checked before the vault is written.
pub(super) struct Restart {
    program: PathBuf,
    args: Vec<OsString>,
    /// The command as one would type it (names and paths only).
    pub(super) shown: String,
    /// The services restarted, in order; empty when nothing reads what changed.
    pub(super) services: Vec<String>,
    /// The `--apply --compose ...` flags, to repeat in suggested commands.
    flags: String,
}

/// The restart for the variables `changed` (and what depends on them), or `None` without
/// `--apply`. `without_apply` is the command as it would run without `--apply`, for the
/// refusal of a guarded variable.
pub(super) fn prepare(
    ctx: &Context,
    args: &ApplyArgs,
    changed: &[usize],
    without_apply: &str,
) -> Result<Option<Restart>> {
    if !args.apply {
        return Ok(None);
    }
    let schema = &ctx.schema;
    let mut affected: Vec<usize> = changed.to_vec();
    affected.extend(schema.dependents(changed));
    let names: Vec<&str> = affected
        .iter()
        .map(|&i| schema.variables()[i].name.as_str())
        .collect();
    let mut services: Vec<String> = Vec::new();
    let mut add = |service: &str| {
        if !services.iter().any(|s| s == service) {
            services.push(service.to_string());
        }
    };
    if args.compose.is_empty() {
        for &i in &affected {
            schema.variables()[i].services.iter().for_each(|s| add(s));
        }
    } else {
        for file in &args.compose {
            let root = crate::compose::read_tree(file)?;
            for service in crate::compose::services(&root) {
                if service
                    .references
                    .iter()
                    .any(|r| names.contains(&r.as_str()))
                {
                    add(&service.name);
                }
            }
        }
    }
    let mut argv: Vec<OsString> = vec!["compose".into()];
    let mut shown = String::from("docker compose");
    let mut flags = String::from(" --apply");
    for file in &args.compose {
        argv.push("-f".into());
        argv.push(file.into());
        let quoted = quote(&file.to_string_lossy());
        shown.push_str(&format!(" -f {quoted}"));
        flags.push_str(&format!(" --compose {quoted}"));
    }
    // `--`: a service key starting with `-` is a name, never an option of docker.
    argv.extend(["up".into(), "-d".into(), "--".into()]);
    shown.push_str(" up -d --");
    for service in &services {
        argv.push(service.into());
        shown.push_str(&format!(" {}", quote(service)));
    }
    let guarded: Vec<&str> = changed
        .iter()
        .map(|&i| &schema.variables()[i])
        .filter(|v| v.rotation.impact.is_guarded())
        .map(|v| v.name.as_str())
        .collect();
    if !guarded.is_empty() {
        return Err(Error::ApplyGuarded {
            names: guarded.join(", "),
            without_apply: without_apply.to_string(),
            restart: format!("envgen{} exec -- {shown}", ctx.profile_flag()),
        });
    }
    let program =
        find_program("docker".as_ref(), ctx.env.path.as_deref()).map_err(|source| Error::Exec {
            program: "docker".into(),
            source,
        })?;
    Ok(Some(Restart {
        program,
        args: argv,
        shown,
        services,
        flags,
    }))
}

/// What `--dry-run` prints for the restart.
pub(super) fn describe(restart: &Restart) -> String {
    match restart.services.is_empty() {
        true => "would restart nothing: no service reads what changes\n".into(),
        false => format!("would run {}\n", restart.shown),
    }
}

/// Runs the restart with every value of `vault` in its environment, and reports how it went;
/// `rollback` names the variables whose previous values `envgen rollback` would put back.
pub(super) fn run(
    ctx: &Context,
    restart: &Restart,
    vault: &Vault,
    rollback: &[&str],
    err: &mut dyn Write,
) -> Result<()> {
    if restart.services.is_empty() {
        note(
            err,
            "no compose service reads what changed: nothing was restarted",
        );
        return Ok(());
    }
    let all: Vec<usize> = (0..ctx.schema.variables().len()).collect();
    let values = ctx.resolve(vault, &all)?;
    let mut command = Command::new(&restart.program);
    command.arg0("docker").args(&restart.args);
    for &i in &all {
        command.env(ctx.schema.variables()[i].name.as_str(), values.get(i));
    }
    // stdout carries envgen's report only: compose's output goes to stderr with its progress.
    let stdout = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::inherit(), Stdio::from);
    command.stdin(Stdio::null()).stdout(stdout);
    note(err, &format!("running {}", restart.shown));
    let _ = err.flush();
    let status = command.status().map_err(|source| Error::Exec {
        program: restart.program.to_string_lossy().into_owned(),
        source,
    })?;
    if status.success() {
        note(
            err,
            &format!(
                "restarted {} (docker compose exited 0)",
                restart.services.join(", ")
            ),
        );
        return Ok(());
    }
    let status = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".into(),
    };
    Err(Error::ApplyFailed {
        command: restart.shown.clone(),
        status,
        rollback: rollback
            .iter()
            .map(|name| {
                format!(
                    "envgen{} rollback {name}{}",
                    ctx.profile_flag(),
                    restart.flags
                )
            })
            .collect(),
    })
}

/// A word as a POSIX shell reads it: as is when it is plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    match plain {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', r"'\''")),
    }
}

//! `envgen exec [--] COMMAND...`: the command runs with every value in its environment.
//!
//! envgen replaces itself with the command (`execve`), so the command's exit code and
//! signals are the process's own, stdin is inherited, and no file is written: the
//! command's environment is the only copy of the values. The command is looked up on the
//! caller's `PATH` before the vault's values are added, so no variable of the vault can choose
//! which program runs. A command that is missing exits 127, one that cannot be run 126, as in
//! a shell.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use super::Context;
use crate::cli::ExecArgs;
use crate::error::{Error, Result};

/// Where a command is looked up when the caller has no `PATH` (as `execvp` does).
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub(super) fn run(ctx: &Context, args: &ExecArgs, err: &mut dyn Write) -> Result<()> {
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let failed = |source| Error::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    };
    let resolved = find_program(program, ctx.env.path.as_deref()).map_err(failed)?;
    let selected = ctx.select(&args.selection)?;
    let opened = ctx.open_only(&selected)?;
    let values = ctx.resolve(&opened.vault, &selected)?;
    let mut command = Command::new(&resolved);
    command.arg0(program).args(rest);
    let mut names = Vec::with_capacity(selected.len());
    for &i in &selected {
        let name = ctx.schema.variables()[i].name.as_str();
        // The vault wins over a stale value of the same name in the caller's environment.
        command.env(name, values.get(i));
        names.push(name);
    }
    ctx.journal(err, "exec", &names, &opened.actor);
    ctx.flush_notices(err);
    let _ = err.flush();
    // Only returns if the command could not be started.
    Err(failed(command.exec()))
}

/// The program `exec` runs: a name with a `/` as given, else the first executable file of
/// that name on `path` (the caller's `PATH`).
pub(super) fn find_program(program: &OsStr, path: Option<&OsStr>) -> io::Result<PathBuf> {
    if program.as_encoded_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    if program.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "empty command name",
        ));
    }
    let search: OsString = path
        .filter(|p| !p.is_empty())
        .map_or_else(|| DEFAULT_PATH.into(), OsStr::to_os_string);
    let mut not_executable = None;
    for dir in std::env::split_paths(&search) {
        // An empty entry means the current directory, as in a shell.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
                return Ok(candidate);
            }
            Ok(meta) if meta.is_file() => not_executable = Some(candidate),
            _ => {}
        }
    }
    Err(match not_executable {
        Some(_) => io::Error::new(io::ErrorKind::PermissionDenied, "not executable"),
        None => io::Error::new(
            io::ErrorKind::NotFound,
            "no such command on PATH".to_string(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn commands_are_found_on_the_given_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(find_program("tool".as_ref(), Some(&path)).unwrap(), tool);
        let missing = find_program("tool".as_ref(), Some("/nonexistent".as_ref())).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let denied = find_program("plain".as_ref(), Some(&path)).unwrap_err();
        assert_eq!(denied.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            find_program("./x/y".as_ref(), None).unwrap(),
            Path::new("./x/y")
        );
        assert!(find_program("sh".as_ref(), None).unwrap().ends_with("sh"));
    }
}

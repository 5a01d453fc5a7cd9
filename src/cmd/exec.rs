//! `envgen exec -- COMMAND...`: the command runs with every value in its environment.
//!
//! envgen replaces itself with the command (`execvp`), so the command's exit code and
//! signals are the process's own, stdin is inherited, and no file is written: the
//! command's environment is the only copy of the values.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use secrecy::ExposeSecret;

use super::Context;
use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::resolve::resolve;

pub(super) fn run(ctx: &Context, args: &ExecArgs, err: &mut dyn Write) -> Result<()> {
    let selected = ctx.select(&args.selection)?;
    let opened = ctx.open()?;
    let values = resolve(&ctx.schema, &opened.vault, &ctx.files.vault)?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = Command::new(program);
    command.args(rest);
    let mut names = Vec::with_capacity(selected.len());
    for &i in &selected {
        let name = ctx.schema.variables()[i].name.as_str();
        // The vault wins over a stale value of the same name in the caller's environment.
        command.env(name, values[i].expose_secret());
        names.push(name);
    }
    ctx.audit(err, "exec", &names, &opened.actor);
    let _ = err.flush();
    // Only returns if the command could not be started.
    let source = command.exec();
    Err(Error::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    })
}

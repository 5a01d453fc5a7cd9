//! The `envgen` binary: parse the arguments, run the command, map the outcome to an exit code
//! (0 success, 1 a check found a problem or compared files differ, 2 error; a closed stdout
//! pipe ends quietly).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic's message can quote input (a line of a file, a value): print where, never what.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: envgen stopped on an internal error{at}; its message is not shown because it could quote a secret\n\
             hint: nothing was half-written (every write is atomic); please report it, see SECURITY.md"
        );
    }));
    let hardening = envgen::harden::harden();
    let cli = envgen::cli::Cli::parse_args();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let out_is_terminal = out.is_terminal();
    if let Err(problem) = hardening {
        let _ = writeln!(err, "warning: {problem}");
    }
    match envgen::cmd::run(cli, &mut out, &mut err, out_is_terminal) {
        Ok(envgen::cmd::Status::Ok) => ExitCode::SUCCESS,
        Ok(envgen::cmd::Status::Problem) => ExitCode::from(1),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            if let Some(hint) = e.hint() {
                let _ = writeln!(err, "hint: {hint}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

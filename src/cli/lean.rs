//! Parsing the everyday commands with only their own subcommand built: the arguments of all
//! 30 subcommands were a seventh of a render's instructions.

use std::ffi::OsString;

use clap::{Args, FromArgMatches, Parser};

use super::{
    CheckArgs, Cli, DiffArgs, ExecArgs, GetArgs, Globals, HistoryArgs, ListArgs, RenderArgs,
    RotateArgs, TextconvArgs,
};

impl Cli {
    /// Parses the process's arguments; prints clap's message and exits on an error.
    pub fn parse_args() -> Self {
        let args: Vec<OsString> = std::env::args_os().collect();
        Self::parse_lean(&args).unwrap_or_else(|| Self::parse_from(args))
    }

    /// Parses `args` with a command line built with only the subcommand they name, when it
    /// is one of the commands that run at every deploy or every `git diff` (render, exec,
    /// get...): building the arguments of all 30 subcommands was a seventh of a render's
    /// instructions. The definitions are the derive's own (globals and that subcommand's
    /// arguments), so what this accepts, the whole command line accepts alike; anything it
    /// does not accept (`--help`, `--version`, every error) gives `None`, and the caller
    /// parses again with the whole command line, whose messages and suggestions stay the
    /// only ones users see.
    pub fn parse_lean(args: &[OsString]) -> Option<Self> {
        let globals = Globals::augment_args(clap::Command::new("envgen"));
        let name = subcommand_name(&globals, args)?;
        let sub = lean_subcommand(name)?;
        let command = globals.subcommand(sub).subcommand_required(true);
        let matches = command.try_get_matches_from(args).ok()?;
        Self::from_arg_matches(&matches).ok()
    }
}

/// Adds a subcommand's arguments to its command (the derive's `augment_args`).
type Augment = fn(clap::Command) -> clap::Command;

/// The subcommands [`Cli::parse_lean`] builds alone, with their arguments.
const LEAN: [(&str, Augment); 9] = [
    ("render", RenderArgs::augment_args),
    ("exec", ExecArgs::augment_args),
    ("get", GetArgs::augment_args),
    ("list", ListArgs::augment_args),
    ("check", CheckArgs::augment_args),
    ("history", HistoryArgs::augment_args),
    ("diff", DiffArgs::augment_args),
    ("textconv", TextconvArgs::augment_args),
    ("rotate", RotateArgs::augment_args),
];

fn lean_subcommand(name: &str) -> Option<clap::Command> {
    let (name, augment) = LEAN.iter().find(|(lean, _)| *lean == name)?;
    Some(augment(clap::Command::new(*name)))
}

/// The first argument that is neither an option nor the value of a global option: the
/// subcommand's name, if the line has one before `--`.
fn subcommand_name<'a>(globals: &clap::Command, args: &'a [OsString]) -> Option<&'a str> {
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        if arg == "--" {
            return None;
        }
        let valued = if let Some(long) = arg.strip_prefix("--") {
            globals
                .get_arguments()
                .any(|a| a.get_long() == Some(long) && takes_value(a))
        } else if let Some(short) = arg.strip_prefix('-') {
            let mut chars = short.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => globals
                    .get_arguments()
                    .any(|a| a.get_short() == Some(c) && takes_value(a)),
                _ => false,
            }
        } else {
            return Some(arg);
        };
        if valued {
            rest.next();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::CommandFactory;

    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("envgen")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn a_lean_subcommand_has_the_arguments_of_the_whole_command_line() {
        let whole = Cli::command();
        for (name, _) in LEAN {
            let lean = lean_subcommand(name).unwrap();
            let full = whole.find_subcommand(name).unwrap();
            let show = |c: &clap::Command| -> Vec<String> {
                c.get_arguments().map(|a| format!("{a:?}")).collect()
            };
            assert_eq!(show(&lean), show(full), "{name}");
            let groups = |c: &clap::Command| -> Vec<String> {
                c.get_groups().map(|g| format!("{g:?}")).collect()
            };
            assert_eq!(groups(&lean), groups(full), "{name}");
            let settings = |c: &clap::Command| {
                (
                    c.is_args_conflicts_with_subcommands_set(),
                    c.is_arg_required_else_help_set(),
                    c.is_allow_missing_positional_set(),
                    c.is_subcommand_required_set(),
                    c.has_subcommands(),
                )
            };
            assert_eq!(settings(&lean), settings(full), "{name}");
        }
    }

    #[test]
    fn the_lean_parse_reads_a_line_as_the_whole_command_line_does() {
        for line in [
            "render",
            "render --format json --only A,B",
            "--schema s.toml render --service redis -o out.env",
            "render --schema s.toml -i a.txt -i b.txt",
            "--profile prod --identity k.txt get REDIS_PASSWORD --plaintext",
            "-i k.txt exec -- docker compose up -d",
            "exec --service plausible ./migrate.sh --flag",
            "--vault openbao://secret/a list",
            "check --compose a.yml --compose b.yml",
            "--passphrase-fd 3 history X",
            "diff other.env",
            "textconv vault/alecia.age",
            "rotate --all --dry-run",
            "--accept-vault rotate REDIS_PASSWORD --force",
            "--schema=s.toml -ik.txt render --format=json",
            "-i=k.txt --vault=v.age get X",
        ] {
            let args = argv(line);
            let lean = Cli::parse_lean(&args).unwrap_or_else(|| panic!("{line}"));
            let whole = Cli::try_parse_from(&args).unwrap();
            assert_eq!(format!("{lean:?}"), format!("{whole:?}"), "{line}");
        }
    }

    #[test]
    fn help_versions_errors_and_other_commands_go_to_the_whole_command_line() {
        for line in [
            "render --help",
            "--help",
            "--version",
            "help render",
            "render --no-such-flag",
            "rendr",
            "get",
            "--schema",
            "--profile render",
            "--profile get render X",
            "init",
            "recipients list",
            "-- render",
        ] {
            assert!(Cli::parse_lean(&argv(line)).is_none(), "{line}");
        }
        // A value that looks like a subcommand is the global option's value.
        let args = argv("--profile render get X");
        let cli = Cli::parse_lean(&args).unwrap();
        assert_eq!(cli.global.profile.as_deref(), Some("render"));
        assert!(matches!(cli.command, Command::Get(_)));
    }
}

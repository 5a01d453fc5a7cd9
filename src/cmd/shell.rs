//! `envgen completions SHELL` and `envgen man`: generated from the clap definition in
//! [`crate::cli`], so they can never describe options the binary does not have.

use std::io::Write;

use clap::CommandFactory;

use super::emit;
use crate::cli::Cli;
use crate::error::{Error, Result};

/// Prints the completion script of `shell`.
pub(super) fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "envgen", &mut script);
    emit(out, &script)
}

/// Prints the manual page, envgen(1), with a section per subcommand.
pub(super) fn man(out: &mut dyn Write) -> Result<()> {
    let command = Cli::command();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut page)
        .and_then(|()| man.render_name_section(&mut page))
        .and_then(|()| man.render_synopsis_section(&mut page))
        .and_then(|()| man.render_description_section(&mut page))
        .and_then(|()| man.render_options_section(&mut page))
        .map_err(|source| Error::Output { source })?;
    // One section listing every subcommand with its synopsis, description and options.
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("envgen {}", sub.get_name());
        let sub = sub.clone().bin_name(name.clone());
        let man = clap_mangen::Man::new(sub);
        let mut section = Vec::new();
        man.render_synopsis_section(&mut section)
            .and_then(|()| man.render_description_section(&mut section))
            .and_then(|()| man.render_options_section(&mut section))
            .map_err(|source| Error::Output { source })?;
        // One sub-section per command inside COMMANDS: its own headings become paragraphs.
        page.extend_from_slice(format!(".SS {name}\n").as_bytes());
        for line in String::from_utf8_lossy(&section).lines() {
            let line = if line.starts_with(".SH ") {
                ".PP"
            } else {
                line
            };
            page.extend_from_slice(line.as_bytes());
            page.push(b'\n');
        }
    }
    man.render_extra_section(&mut page)
        .and_then(|()| man.render_version_section(&mut page))
        .and_then(|()| man.render_authors_section(&mut page))
        .map_err(|source| Error::Output { source })?;
    emit(out, &page)
}

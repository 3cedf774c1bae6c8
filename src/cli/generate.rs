//! `bootstrap completions SHELL` and `bootstrap man [COMMAND]`: generated from the same clap
//! definitions as the parser, so they never disagree with `--help`. They read no settings.

use clap::CommandFactory;

use super::command::{Cli, Command};
use crate::error::{Error, Result};

/// What `completions` or `man` prints; `None` for every other command.
pub fn generated(command: &Command) -> Option<Result<Vec<u8>>> {
    let mut out = Vec::new();
    match command {
        Command::Completions { shell } => {
            let mut cli = Cli::command();
            // Into memory: clap_complete panics when its writer fails (a closed pipe).
            clap_complete::generate(*shell, &mut cli, "bootstrap", &mut out);
            Some(Ok(out))
        }
        Command::Man { command } => Some(man_page(command.as_deref(), &mut out).map(|()| out)),
        _ => None,
    }
}

/// The roff man page of `bootstrap`, or of one of its commands (`bootstrap-init(1)`).
fn man_page(command: Option<&str>, out: &mut Vec<u8>) -> Result<()> {
    let cli = Cli::command();
    let page = match command {
        None => cli,
        Some(name) => {
            let sub = cli.find_subcommand(name).cloned().ok_or_else(|| {
                Error::usage(format!("bootstrap man {name}: there is no such command"))
                    .hint("see `bootstrap --help` for the list of commands")
            })?;
            let full = format!("bootstrap-{name}");
            // The version heads the page, but subcommands take no -V: none is listed.
            sub.name(full.clone())
                .bin_name(full)
                .version(env!("CARGO_PKG_VERSION"))
                .disable_version_flag(true)
        }
    };
    clap_mangen::Man::new(page)
        .render(out)
        .map_err(|e| Error::failure(format!("cannot write the man page: {e}")))
}

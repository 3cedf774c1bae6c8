//! The command line: clap types live here and nowhere else. A flag is declared once, in its
//! group (`args.rs`); its long name is its key in `bootstrap.toml`, and the flags given
//! become [`config::Inputs`](crate::config::Inputs) by those names (`inputs.rs`), to be
//! combined with the file. Config's word enums are parsed as clap value enums (`choices.rs`).
//!
//! The doc comments of the clap types are the `--help` text, written for a terminal:
//! `[default: 90]` and bare URLs there are words, not rustdoc links.
#![allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::bare_urls,
    reason = "doc comments here are --help text"
)]

mod args;
mod choices;
mod command;
mod command_args;
mod generate;
mod inputs;
mod retold;
mod sets;

pub use args::*;
pub use command::*;
pub use command_args::*;
pub use generate::generated;
pub use inputs::*;
pub use retold::*;
pub use sets::*;

//! The command line: clap types live here and nowhere else. They are turned once into
//! [`config::Inputs`](crate::config::Inputs) (config's enums parsed as clap value enums,
//! `choices.rs`), and merged with `bootstrap.toml`.

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

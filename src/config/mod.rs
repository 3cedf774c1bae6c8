//! Inputs from flags, `bootstrap.toml` and the environment, merged and validated into
//! [`Settings`]. No I/O beyond reading the config file; nothing here talks to the network,
//! and nothing here imports a later stage (only the leaves `error` and `bounded`).

mod choices;
mod combine;
mod file;
mod keys;
mod settings;
mod tags;
pub mod validate;

pub use choices::*;
pub use combine::Combine;
pub use file::*;
pub use keys::{role_keys, top_level_keys};
pub use settings::*;
pub use tags::*;

//! `pipeline`'s result ([`PipelineReport`], whose body is one account's or several
//! accounts'): the files written and the Bitbucket variables to set, as the `--output json`
//! document and as text.

mod account;
mod accounts;
mod shared;

use serde::Serialize;

pub use account::{AccountBody, Variables, WrittenFile};
pub use accounts::AccountsBody;
pub use shared::{variables_text, KeptFile};

use super::{Paint, Report};

/// `bootstrap pipeline`: the files for one account's roles, or for environments in several
/// accounts (`--deployment NAME=CONFIG ...`), as one JSON document per shape (unchanged by
/// the shape being a variant here).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PipelineReport {
    Account(Box<AccountBody>),
    Accounts(Box<AccountsBody>),
}

impl Report for PipelineReport {
    fn text(&self, paint: Paint) -> String {
        match self {
            PipelineReport::Account(b) => b.text(paint),
            PipelineReport::Accounts(b) => b.text(paint),
        }
    }
}

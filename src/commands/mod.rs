//! One function per subcommand: each ties config -> oidc -> model -> observe -> plan ->
//! apply -> report together and returns an [`Output`].

mod destroy;
mod discover;
mod init;
mod plan;
mod setup;
mod status;
mod thumbprint;

use crate::cli::Command;
use crate::config::Settings;
use crate::error::Result;
use crate::report::{Output, Reporter};

pub async fn dispatch(
    command: Command,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<Output> {
    match command {
        Command::Discover { .. } => discover::run(settings, reporter).await,
        Command::Thumbprint { check, .. } => thumbprint::run(settings, reporter, check).await,
        Command::Plan {
            detailed_exitcode, ..
        } => plan::run(settings, reporter, detailed_exitcode).await,
        Command::Init { yes, .. } => init::run(settings, reporter, yes).await,
        Command::Status { .. } => status::run(settings, reporter).await,
        Command::Destroy {
            yes,
            force,
            delete_state,
            ..
        } => {
            destroy::run(
                settings,
                reporter,
                destroy::Options {
                    yes,
                    force,
                    delete_state,
                },
            )
            .await
        }
    }
}

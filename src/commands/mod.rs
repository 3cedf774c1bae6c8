//! One function per subcommand: each ties config -> oidc -> model -> observe -> plan ->
//! apply -> report together and returns an [`Output`].

mod cloudformation;
mod cloudformation_foreign;
mod destroy;
mod destroy_stack;
mod discover;
mod init;
mod operator_policy;
mod pipeline;
mod plan;
mod render;
mod setup;
mod stackset;
mod status;
mod thumbprint;
mod verify;

use crate::cli::Command;
use crate::config::{Mode, Settings};
use crate::error::Result;
use crate::report::{Output, Reporter};

pub async fn dispatch(
    command: Command,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<Output> {
    let cfn = settings.mode == Mode::Cloudformation;
    match command {
        // Printed straight from the clap definitions before any settings are read.
        Command::Completions { .. } | Command::Man { .. } => {
            Ok(Output::new(serde_json::Value::Null, String::new()))
        }
        Command::Discover { .. } => discover::run(settings, reporter).await,
        Command::Thumbprint { check, .. } => thumbprint::run(settings, reporter, check).await,
        Command::Plan {
            detailed_exitcode, ..
        } if cfn => cloudformation::plan(settings, reporter, detailed_exitcode).await,
        Command::Plan {
            detailed_exitcode, ..
        } => plan::run(settings, reporter, detailed_exitcode).await,
        Command::Init { yes, .. } if cfn => cloudformation::init(settings, reporter, yes).await,
        Command::Init { yes, .. } => init::run(settings, reporter, yes).await,
        Command::Status {
            detailed_exitcode, ..
        } if cfn => Ok(drift_exit_code(
            cloudformation::status(settings, reporter).await?,
            detailed_exitcode,
        )),
        Command::Status {
            detailed_exitcode, ..
        } => status::run(settings, reporter, detailed_exitcode).await,
        Command::Verify(args) => {
            let opts = verify::Options {
                token: args.token,
                offline: args.offline,
                source_ip: args.source_ip,
                assume: args.assume,
                account_id: args.account_id,
            };
            verify::run(settings, reporter, opts).await
        }
        Command::Pipeline(args) => {
            let opts = pipeline::Options {
                out_dir: args.out_dir,
                force: args.force,
                account_id: args.account_id,
                deployment: args.deployment,
                branch: args.branch,
            };
            pipeline::run(settings, reporter, opts).await
        }
        Command::OperatorPolicy(args) => {
            let opts = operator_policy::Options {
                account_id: args.account_id,
                destroy: args.include_destroy,
                delete_state: args.include_delete_state,
            };
            operator_policy::run(settings, reporter, opts)
        }
        Command::Render {
            format,
            out,
            stackset,
            ..
        } => render::run(settings, reporter, format, out.as_deref(), stackset).await,
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

/// `status --detailed-exitcode`: exit 2 when the report says something is not in sync (every
/// mode's status document carries `in_sync`), as Terraform's `-detailed-exitcode` does.
fn drift_exit_code(output: Output, detailed_exitcode: bool) -> Output {
    let drifted = output.json.get("in_sync") != Some(&serde_json::Value::Bool(true));
    if detailed_exitcode && drifted {
        output.with_exit_code(2)
    } else {
        output
    }
}

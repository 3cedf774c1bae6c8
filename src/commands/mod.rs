//! One function per subcommand, each wiring the stages together: config -> oidc -> model ->
//! observe -> plan -> apply -> report. The deployment mode is picked here, once; each
//! command returns an [`Output`], built from its typed result.

mod destroy;
mod discover;
mod init;
mod operator_policy;
mod pipeline;
mod pipeline_multi;
mod plan;
mod prepare;
mod render;
mod status;
mod thumbprint;
mod verify;

use crate::cli::{Command, OperatorPolicyArgs, PipelineArgs, VerifyArgs};
use crate::config::{Mode, Settings};
use crate::error::Result;
use crate::report::{Output, Reporter};

/// How the setup is deployed: SDK calls, one CloudFormation stack, or a StackSet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deployment {
    Direct,
    Stack,
    StackSet,
}

impl Deployment {
    fn of(settings: &Settings) -> Deployment {
        match settings.deployment.mode {
            Mode::Direct => Deployment::Direct,
            Mode::Cloudformation if settings.deployment.stackset.is_some() => Deployment::StackSet,
            Mode::Cloudformation => Deployment::Stack,
        }
    }
}

pub async fn dispatch(
    command: Command,
    settings: &Settings,
    reporter: &Reporter,
) -> Result<Output> {
    // Bitbucket names become UUIDs before anything reads the trust settings or writes.
    let resolved;
    let settings = if uses_trust(&command) {
        resolved = crate::bitbucket::resolve_names(settings, reporter).await?;
        &resolved
    } else {
        settings
    };
    let (s, r) = (settings, reporter);
    let mode = Deployment::of(settings);
    match command {
        // Printed straight from the clap definitions before any settings are read.
        Command::Completions { .. } | Command::Man { .. } => {
            Ok(Output::new(serde_json::Value::Null, String::new()))
        }
        Command::Discover { .. } => discover::run(s, r).await,
        Command::Thumbprint { check, .. } => thumbprint::run(s, r, check).await,
        Command::Plan {
            detailed_exitcode: detailed,
            roles,
            ..
        } => plan::run(s, r, direct_roles(s, mode, &roles)?, detailed, &roles).await,
        // --prune: stale roles in direct mode (with an explicit set); in CloudFormation mode,
        // the update that deletes the roles of the stack or StackSet the settings no longer have.
        Command::Init { yes, prune, .. } => {
            init::run(s, r, prune_needs_set(s, mode, prune)?, yes, prune).await
        }
        Command::Status {
            detailed_exitcode: detailed,
            roles,
            ..
        } => status::run(s, r, direct_roles(s, mode, &roles)?, detailed, &roles).await,
        Command::Verify(args) => verify::run(s, r, verify_options(args)).await,
        Command::Pipeline(args) => {
            let o = pipeline_options(args);
            // NAME=CONFIG: environments in several accounts, one pipeline.
            if o.deployment.iter().any(|d| d.contains('=')) {
                pipeline_multi::run(s, r, o).await
            } else {
                pipeline::run(s, r, o).await
            }
        }
        Command::OperatorPolicy(args) => operator_policy::run(s, r, operator_options(args)),
        Command::Render {
            format,
            out,
            stackset,
            ..
        } => render::run(s, r, format, out.as_deref(), stackset).await,
        Command::Destroy {
            yes,
            force,
            delete_state,
            roles,
            ..
        } => {
            let mode = direct_roles(s, mode, &roles)?;
            let o = destroy::Options {
                yes,
                force,
                delete_state,
                roles,
            };
            destroy::run(s, r, mode, o).await
        }
    }
}

/// The commands that build or compare trust policies, so need Bitbucket names resolved.
fn uses_trust(command: &Command) -> bool {
    matches!(
        command,
        Command::Plan { .. }
            | Command::Init { .. }
            | Command::Status { .. }
            | Command::Verify(_)
            | Command::Pipeline(_)
            | Command::Render { .. }
            | Command::OperatorPolicy(_)
    )
}

fn verify_options(args: VerifyArgs) -> verify::Options {
    verify::Options {
        token: args.token,
        offline: args.offline,
        source_ip: args.source_ip,
        assume: args.assume,
        account_id: args.account_id,
        roles: args.roles,
    }
}

fn pipeline_options(args: PipelineArgs) -> pipeline::Options {
    pipeline::Options {
        out_dir: args.out_dir,
        force: args.force,
        account_id: args.account_id,
        deployment: args.deployment,
        branch: args.branch,
        roles: args.roles,
        set_variables: args.set_variables,
        yes: args.yes,
    }
}

fn operator_options(args: OperatorPolicyArgs) -> operator_policy::Options {
    operator_policy::Options {
        account_id: args.account_id,
        destroy: args.include_destroy,
        delete_state: args.include_delete_state,
        prune: args.include_prune,
    }
}

/// `--role` narrows direct mode only: its names are checked against the settings before any
/// AWS call, and refused in CloudFormation mode.
fn direct_roles(settings: &Settings, mode: Deployment, names: &[String]) -> Result<Deployment> {
    settings.select_roles(names)?;
    if mode != Deployment::Direct && !names.is_empty() {
        return Err(crate::error::Error::usage(
            "--role narrows direct mode only; a CloudFormation stack holds every configured role",
        )
        .hint("drop --role, or pass --mode direct"));
    }
    Ok(mode)
}

/// `init --prune` deletes stale roles (direct mode) or the roles a stack or StackSet no longer
/// has (CloudFormation mode) only with an explicit `set`: two configurations that leave it out
/// share the default set (and the default stack name) and would prune each other.
fn prune_needs_set(settings: &Settings, mode: Deployment, prune: bool) -> Result<Deployment> {
    if prune && settings.set.is_none() {
        let default = settings
            .set_name()
            .map(|s| format!(" (roles made without it carry bootstrap-set={s})"))
            .unwrap_or_default();
        return Err(crate::error::Error::usage(
            "--prune needs an explicit set: without one, every configuration of this issuer shares the default set and would prune the others' roles",
        )
        .hint(format!(
            "add set = \"<team>\" at the top of bootstrap.toml (or pass --set NAME){default}"
        )));
    }
    Ok(mode)
}

//! The arguments of `pipeline` and `operator-policy`: their own flags, and the setup flags
//! each takes ([`super::sets`]).

use std::path::PathBuf;

use clap::Args;

use super::args::DeploymentArgs;
use super::sets::{OperatorSetupArgs, PipelineSetupArgs};

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Directory to write bitbucket-pipelines.yml and backend.tf into (created when
    /// missing); usually the root of the repository that runs Terraform.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Replace bitbucket-pipelines.yml and backend.tf when they exist (without it, they are
    /// left as they are and what would be written is shown).
    #[arg(long)]
    pub force: bool,
    /// AWS account id for the role ARN and the default bucket name; without it,
    /// sts:GetCallerIdentity is asked with your AWS credentials.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The Bitbucket deployment environment the plan and apply steps run in (its name, e.g.
    /// Production: letters, digits, spaces, - _ and .). Required when the role is narrowed
    /// with --environment-uuid. Across accounts, NAME=CONFIG once per environment, in order
    /// (each CONFIG the bootstrap.toml of that environment's account).
    #[arg(long, value_name = "NAME")]
    pub deployment: Vec<String>,
    /// The branch whose pipeline may apply (a manual step) [default: main]; other branches
    /// only validate and plan (only validate when the role needs deployment steps). A glob
    /// such as release/* is accepted; one that matches every branch (*, **) is not.
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// With several roles configured: the one whose ARN the pipeline uses.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// Also set AWS_ROLE_ARN and AWS_REGION in Bitbucket (repository or deployment
    /// variables) through its API; needs BITBUCKET_TOKEN (or BITBUCKET_EMAIL and
    /// BITBUCKET_API_TOKEN). Other variables are never touched.
    #[arg(long)]
    pub set_variables: bool,
    /// Set the variables without asking (--set-variables).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub setup: PipelineSetupArgs,
}

#[derive(Debug, Args)]
pub struct OperatorPolicyArgs {
    /// Also allow `destroy`: deleting the role(s) and the OIDC provider (or the stack).
    /// Off by default, so the identity that runs init cannot delete.
    #[arg(long, help_heading = "Policy")]
    pub include_destroy: bool,
    /// Also allow `destroy --delete-state`: deleting the empty state bucket and the lock
    /// table (implies --include-destroy; direct mode only).
    #[arg(long, help_heading = "Policy")]
    pub include_delete_state: bool,
    /// Also allow `init --prune`: deleting the roles of this set no longer configured (only
    /// roles tagged managed-by=bootstrap and with this set's bootstrap-set tag; not for a
    /// StackSet).
    #[arg(long, help_heading = "Policy")]
    pub include_prune: bool,
    /// AWS account id for the ARNs in the policy [default: "*", any account].
    #[arg(long, value_name = "ID", help_heading = "Policy")]
    pub account_id: Option<String>,
    #[command(flatten)]
    pub setup: OperatorSetupArgs,
    #[command(flatten)]
    pub deploy: DeploymentArgs,
}

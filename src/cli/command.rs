//! [`Cli`] and its subcommands: the parser itself. Every doc comment is `--help` text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::args::{DeploymentArgs, GlobalArgs, IssuerArgs, VerifyArgs};
use super::command_args::{OperatorPolicyArgs, PipelineArgs};
use super::sets::{DestroySetupArgs, SetupArgs};
use crate::config::TemplateFormat;

/// Set up an AWS account for Bitbucket Pipelines to deploy with OpenID Connect: the IAM OIDC
/// provider with verified thumbprints, a deployment role whose trust is limited to your
/// repositories, and a hardened Terraform state bucket and lock table.
#[derive(Debug, Parser)]
#[command(name = "bootstrap", version, max_term_width = 100)]
#[command(
    after_help = "Settings can also come from ./bootstrap.toml (or --config FILE), keyed by the long flag name without dashes (--tag KEY=VALUE as a [tags] table); flags win over the file. Flags that only steer one run (--yes, --detailed-exitcode, --out-dir, ...) stay on the command line: the file refuses them as unknown keys."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch and check the issuer's OIDC discovery document and signing keys.
    Discover {
        #[command(flatten)]
        issuer: IssuerArgs,
    },
    /// Show the verified certificate chains of the issuer's hosts and the thumbprints to
    /// register in IAM.
    Thumbprint {
        /// Compare with the thumbprints registered on the IAM provider; exit 3 when the
        /// provider lacks one the hosts serve now (for scheduled monitoring).
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        issuer: IssuerArgs,
    },
    /// Show the changes `init` would make, without changing anything.
    Plan {
        /// Exit 2 when there are changes to make (0 when there are none, 1 on errors).
        #[arg(long)]
        detailed_exitcode: bool,
        /// Only this configured role (a [[role]] name in bootstrap.toml, or one of the
        /// --plan-apply pair); repeat for several [default: every role].
        #[arg(long = "role", value_name = "NAME")]
        roles: Vec<String>,
        #[command(flatten)]
        setup: SetupArgs,
        #[command(flatten)]
        deploy: DeploymentArgs,
    },
    /// Create or update the provider, role, state bucket and lock table.
    Init {
        /// Apply without asking. Without it, `init` asks on a terminal and refuses to write
        /// when there is none.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Also delete stale roles: roles of this set (tags managed-by=bootstrap and
        /// bootstrap-set) that the settings no longer name, their policies first. Without it
        /// they are left alone, and shown. In direct mode it needs an explicit set (--set or
        /// `set` in bootstrap.toml). With --mode cloudformation it lets the update remove the
        /// stack's (or StackSet's) roles no longer configured, which is refused without it.
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        setup: SetupArgs,
        #[command(flatten)]
        deploy: DeploymentArgs,
    },
    /// Show each resource as in sync, drifted (and how) or missing.
    Status {
        /// Exit 2 when anything is drifted or missing (0 when everything is in sync, 1 on
        /// errors): for scheduled monitoring.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Only this configured role (a [[role]] name in bootstrap.toml, or one of the
        /// --plan-apply pair); repeat for several [default: every role].
        #[arg(long = "role", value_name = "NAME")]
        roles: Vec<String>,
        #[command(flatten)]
        setup: SetupArgs,
        #[command(flatten)]
        deploy: DeploymentArgs,
    },
    /// Check a pipeline's OIDC token as AWS STS would: signature against the issuer's keys,
    /// issuer and lifetime, the IAM provider's audiences, then the role's trust policy,
    /// condition by condition. Exit 3 and one line saying what to change when the role
    /// would refuse it. The token itself is never printed.
    #[command(after_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// Write bitbucket-pipelines.yml (validate, plan, manual apply with OIDC) and backend.tf
    /// (the S3 state backend) for these settings, and show the Bitbucket variables to set.
    #[command(after_help = PIPELINE_AFTER_HELP)]
    Pipeline(PipelineArgs),
    /// Print the CloudFormation template for these settings (the same policies as direct
    /// mode), to review or to deploy by hand.
    #[command(after_help = RENDER_AFTER_HELP)]
    Render {
        #[command(flatten)]
        setup: SetupArgs,
        /// Template format: commented YAML for people, or JSON.
        #[arg(
            long,
            value_enum,
            value_name = "FORMAT",
            default_value = "yaml",
            help_heading = "Template"
        )]
        format: TemplateFormat,
        /// Write the template to FILE instead of stdout.
        #[arg(
            long = "out",
            short = 'o',
            value_name = "FILE",
            help_heading = "Template"
        )]
        out: Option<PathBuf>,
        /// Render for a StackSet: account-neutral (no fixed bucket name; account-specific
        /// policy ARNs follow the target account).
        #[arg(long, help_heading = "Template")]
        stackset: bool,
    },
    /// Delete the roles and the OIDC provider; keep the Terraform state.
    ///
    /// Each role's inline policies are deleted and its managed policies detached first. The
    /// provider is kept while another role's trust names it (--force or not). The state
    /// bucket and lock table are kept unless --delete-state, and a bucket holding any object,
    /// object version or delete marker is never deleted. Shows the plan and asks, like init.
    ///
    /// With --mode cloudformation the stack is deleted (termination protection is turned
    /// off just before): the role and the provider go with it, while the state bucket and
    /// lock table stay in the account, retained by their DeletionPolicy.
    ///
    /// The setup flags of `init` that name nothing deleted (trust, policies, bucket settings)
    /// are accepted, so one command line serves both, and not listed here: they change
    /// nothing.
    Destroy {
        #[command(flatten)]
        setup: DestroySetupArgs,
        /// Delete without asking. Without it, `destroy` asks on a terminal and refuses to
        /// delete when there is none.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Also delete the state bucket and the lock table, but only when the bucket holds
        /// no object, object version or delete marker and no lock is held. The table's
        /// deletion protection is turned off just before it is deleted.
        #[arg(long)]
        delete_state: bool,
        /// Delete what bootstrap did not create (no managed-by=bootstrap tag), and the role
        /// even when its trust does not name this issuer's provider. The provider, bucket and
        /// table are still kept while other roles trust the provider.
        #[arg(long)]
        force: bool,
        /// Delete only this configured role (its policies, then the role); repeat for several.
        /// The provider, the state bucket and the lock table are kept while any other
        /// configured role remains [default: every role, then the provider].
        #[arg(long = "role", value_name = "NAME")]
        roles: Vec<String>,
    },
    /// Print the least-privilege IAM policy that whoever runs `bootstrap` (a person or a CI
    /// role) needs for these settings and this mode.
    #[command(after_help = OPERATOR_POLICY_AFTER_HELP)]
    OperatorPolicy(OperatorPolicyArgs),
    /// Print a shell completion script, e.g. `bootstrap completions bash >
    /// /etc/bash_completion.d/bootstrap` or `bootstrap completions zsh > ~/.zfunc/_bootstrap`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `bootstrap man | man -l -`, or
    /// `bootstrap man init > bootstrap-init.1` for one command's page.
    Man {
        /// The command whose page to print (default: the page of `bootstrap` itself).
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

const VERIFY_AFTER_HELP: &str = "The token is the value of $BITBUCKET_STEP_OIDC_TOKEN in a step with `oidc: true`. The simplest place to check it is the failing step itself, with --offline (no AWS credentials needed): `printf '%s' \"$BITBUCKET_STEP_OIDC_TOKEN\" | bootstrap verify --token - --offline ...`. Elsewhere, pass it as a file or on stdin; never as an argument (shell history and process lists keep it), and never print it in a build log or keep it as an artifact: until it expires it is a credential.\n\nWithout --offline the role and the IAM OIDC provider are read from AWS (iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy, iam:GetPolicyVersion, iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider). With --offline the trust policy is the one `bootstrap init` would write for the trust settings given here or in bootstrap.toml.\n\nExit codes: 0 the role accepts the token, 3 it refuses it (or the source IP cannot be judged), 64 invalid input, 1 other failures.";

const RENDER_AFTER_HELP: &str = "render reads no stack, so without --state-bucket the template is that of a new setup: the bucket terraform-state-ACCOUNT-REGION-an in the account regional namespace (BucketNamePrefix + BucketNamespace), or terraform-state-ACCOUNT-REGION where the partition or region has no such namespace. To update by hand a stack whose bucket an earlier version named terraform-state-ACCOUNT-REGION, pass --state-bucket terraform-state-ACCOUNT-REGION (its account id and region) so the bucket keeps its name: a new name would make CloudFormation replace it. init, plan and status --mode cloudformation read the deployed template and keep the name themselves.";

const PIPELINE_AFTER_HELP: &str = "The role ARN and the default bucket name contain the AWS account id: pass --account-id, or bootstrap asks sts:GetCallerIdentity with your AWS credentials. An existing bitbucket-pipelines.yml or backend.tf is never replaced without --force: it is left as it is, and what would have been written is shown, to merge in.\n\nThe setup flags of `init` that change nothing written here (--policy-arn, --allow-admin, --permissions-boundary, --max-session-duration, --ip-ranges-url, --noncurrent-days, --tag, ...) are accepted, so one command line serves both, and not listed.";

const OPERATOR_POLICY_AFTER_HELP: &str = "Give it the same settings (flags or bootstrap.toml) and --mode as the runs it is for. The setup flags of `init` that change nothing in the policy (--allow-admin, --max-session-duration, --ip-ranges-url, --noncurrent-days, --tag, ...) are accepted, so one command line serves both, and not listed. The policy covers plan, init (first run and re-runs), status, render, pipeline and verify's reads; destroy only with --include-destroy, destroy --delete-state only with --include-delete-state, init --prune only with --include-prune.\n\nEvery statement names the resources these settings produce: every configured role, the OIDC provider, the state bucket and lock table, the KMS key (kms:DescribeKey only), the stack or StackSet. Only iam:ListOpenIDConnectProviders and iam:ListRoles (and, for ten roles or more, iam:GetAccountAuthorizationDetails), which IAM cannot scope to a resource, are granted on \"*\"; all only read. iam:ListRoleTags and iam:GetRolePolicy (reads) are granted on every role, to tell the roles of this set from the others and where other sets keep their state. Role writes are limited to the configured roles; with --include-prune, deleting other roles is limited to those tagged managed-by=bootstrap and bootstrap-set=<this set>. With --permissions-boundary, iam:CreateRole and iam:PutRolePermissionsBoundary require that boundary and removing it is not granted; iam:AttachRolePolicy is limited to each role's own --policy-arn policies (iam:PolicyARN; a plan role's include ReadOnlyAccess).\n\nThis policy is powerful by nature: it can write the roles' inline policies and trust. Without --permissions-boundary whoever holds it can give those roles any permission; a boundary caps what a role can ever do.\n\nNo AWS call is made. The account id in ARNs is --account-id, or \"*\" (any account) without it; the region is --region or AWS_REGION, or \"*\". Pass both for the narrowest policy.\n\nWith --mode cloudformation, CloudFormation creates and deletes the resources with the caller's permissions (no service role is passed), so the policy holds the stack's actions and the resources' actions. With --stackset, each target account's execution role creates the stacks; the policy holds the StackSet's actions, plus iam:PassRole on AWSCloudFormationStackSetAdministrationRole with --accounts.\n\nText output is the policy document alone:\n  bootstrap operator-policy --account-id 111122223333 > operator.json\n  aws iam create-policy --policy-name bootstrap-operator --policy-document file://operator.json\nWith --output json it is wrapped with what it was built for: {\"policy\": {...}, \"mode\", \"stack\", \"stackset\", \"account\", \"region\", \"roles\", \"covers\", \"characters\"}.";

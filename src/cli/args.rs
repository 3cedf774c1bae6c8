//! The argument groups shared by the subcommands, split by the commands each flag applies to
//! (`sets.rs` says which groups each command takes); every doc comment is `--help` text.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::retold::{Retelling, Retold};

use crate::config::{ColorChoice, Mode, OutputFormat};

#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct GlobalArgs {
    /// Read settings from FILE instead of ./bootstrap.toml (at most 1 MiB). The file in use,
    /// named or found in the working directory, is always shown on stderr.
    #[arg(long, global = true, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// AWS named profile to use (default: the usual AWS credential chain).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region, e.g. eu-west-1 (default: from the AWS profile or AWS_REGION).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (e.g. a local test server); S3 then uses
    /// path-style addressing. AWS_ENDPOINT_URL works too. Must be https unless it is this
    /// machine (127.0.0.1, ::1, localhost).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Extra trusted CA certificates (PEM) for the issuer's TLS, e.g. a private CA or a
    /// TLS-inspecting proxy.
    #[arg(long, global = true, value_name = "PEM")]
    #[serde(skip)]
    pub ca_bundle: Option<PathBuf>,
    /// Connect and read timeout for the issuer's hosts, in seconds [default: 10].
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// The Bitbucket API used to resolve names and set variables when BITBUCKET_TOKEN (or
    /// BITBUCKET_EMAIL and BITBUCKET_API_TOKEN) is set [default: https://api.bitbucket.org/2.0].
    #[arg(long, global = true, value_name = "URL")]
    pub bitbucket_api_url: Option<String>,
    /// Output format: text for people, json (one document on stdout) for scripts
    /// [default: text].
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// When to color text output: auto colors a terminal unless NO_COLOR is set
    /// [default: auto].
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    /// Print only results and errors, no progress.
    #[arg(long, short = 'q', global = true)]
    #[serde(skip)]
    pub quiet: bool,
    /// Print more detail on progress (each AWS call).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    #[serde(skip)]
    pub verbose: u8,
}

#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Issuer")]
pub struct IssuerArgs {
    /// Bitbucket workspace slug; the issuer is
    /// https://api.bitbucket.org/2.0/workspaces/SLUG/pipelines-config/identity/oidc.
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Any https OIDC issuer URL instead of a Bitbucket workspace (with --workspace, it
    /// overrides the issuer derived from it; the workspace then names it for the API).
    #[arg(long, value_name = "URL")]
    pub issuer_url: Option<String>,
}

/// Who may assume the role: init's trust flags, which `verify --offline` takes too
/// ([`VerifyTrustArgs`]).
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Trust")]
pub struct TrustArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub who: WhoArgs,
    /// Only allow calls from this CIDR; `bitbucket` = Atlassian's published Pipelines
    /// egress ranges (4x/8x steps with atlassian-ip-ranges only). Repeatable.
    #[arg(long, value_name = "CIDR|bitbucket")]
    pub source_ip: Vec<String>,
}

/// The audiences and the repositories the role trusts.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Trust")]
pub struct WhoArgs {
    /// Workspace UUID (Repository settings > OpenID Connect); the audience becomes
    /// ari:cloud:bitbucket::workspace/UUID.
    #[arg(long, value_name = "UUID")]
    pub workspace_uuid: Option<String>,
    /// An audience (client ID) the role accepts; repeat for several. A custom audience
    /// (one a step asks for with `oidc: audiences:`) arrives as a list in `aud`, which the
    /// trust policy then tests with ForAnyValue: and ForAllValues: (docs/security.md).
    #[arg(long, value_name = "AUD")]
    pub audience: Vec<String>,
    /// A repository allowed to assume the role (braces optional); repeat for several.
    #[arg(long, value_name = "UUID")]
    pub repository_uuid: Vec<String>,
    /// Narrow the role to deployment steps of these environments; repeat for several.
    #[arg(long, value_name = "UUID")]
    pub environment_uuid: Vec<String>,
    /// Let every repository in the workspace assume the role (not recommended).
    #[arg(long)]
    pub allow_any_repository: bool,
}

/// Where Atlassian's ranges come from: only the commands that build the trust policy read them.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Trust")]
pub struct IpRangesArgs {
    /// Where to fetch Atlassian's IP ranges for `--source-ip bitbucket`.
    #[arg(long, value_name = "URL")]
    pub ip_ranges_url: Option<String>,
}

/// Which roles: every command that names a role.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Role")]
pub struct RoleArgs {
    /// Name of the deployment role [default: bitbucket-pipelines-deploy].
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// Make two roles instead of one: ROLE-NAME-plan, read-only (AWS's ReadOnlyAccess, state
    /// read, the lock) for every step of the repositories, and ROLE-NAME-apply, with the
    /// --policy-arn policies, for the deployment steps of --environment-uuid only.
    #[arg(long)]
    pub plan_apply: bool,
    /// The name of this configuration's set of roles, tagged bootstrap-set on each: roles of
    /// another set are never changed or pruned [default: the issuer's host/path].
    #[arg(long, value_name = "NAME")]
    pub set: Option<String>,
}

/// What a role may do: the commands that write or show its policies.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Role")]
pub struct RolePolicyArgs {
    /// A managed policy to attach to the role; repeat for several. Policies not listed
    /// are detached on the next `init`.
    #[arg(long, value_name = "ARN")]
    pub policy_arn: Vec<String>,
    /// Permissions boundary policy for the role.
    #[arg(long, value_name = "ARN")]
    pub permissions_boundary: Option<String>,
}

/// How the role is judged and used: the commands that create or check it.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Role")]
pub struct RoleOptionsArgs {
    /// Allow an administrator-equivalent managed policy: AdministratorAccess, or one that
    /// allows `*`, `iam:*`, iam:Put*Policy, iam:Attach*Policy, iam:CreatePolicyVersion or
    /// iam:PassRole on every resource (also through NotAction).
    #[arg(long)]
    pub allow_admin: bool,
    /// Maximum session length in seconds, 900 to 43200 [default: 3600].
    #[arg(long, value_name = "SECONDS")]
    pub max_session_duration: Option<i64>,
}

/// Where the state lives: every command that names the bucket or the table.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Terraform state")]
pub struct StateArgs {
    /// State bucket name [default: terraform-state-ACCOUNT-REGION-an, or an existing
    /// terraform-state-ACCOUNT-REGION].
    #[arg(long, value_name = "NAME")]
    pub state_bucket: Option<String>,
    /// DynamoDB lock table name [default: terraform-state-lock].
    #[arg(long, value_name = "NAME", conflicts_with = "no_lock_table")]
    pub lock_table: Option<String>,
    /// No DynamoDB table: rely on S3-native locking (Terraform 1.11+, use_lockfile).
    #[arg(long)]
    pub no_lock_table: bool,
}

/// How Terraform reads and writes the state: the role's grant and backend.tf.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Terraform state")]
pub struct BackendArgs {
    /// Key prefix the role may write state under (default: the whole bucket).
    #[arg(long, value_name = "PREFIX")]
    pub state_key_prefix: Option<String>,
    /// Encrypt the bucket with this KMS key (default: SSE-S3): a key ARN, key id, alias
    /// (alias/NAME) or alias ARN. The key is looked up before anything is written, and the
    /// role is granted the key by its ARN.
    #[arg(long, value_name = "KEY")]
    pub kms_key: Option<String>,
}

/// How the bucket and the other resources are made: the commands that create them.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Terraform state")]
pub struct BucketArgs {
    /// Let `init` switch an existing SSE-KMS state bucket to SSE-S3 when no --kms-key is
    /// given. Without it, such a bucket is refused: pass --kms-key with its key to keep it.
    #[arg(long)]
    pub allow_encryption_downgrade: bool,
    /// Days to keep old versions of state objects [default: 90].
    #[arg(long, value_name = "DAYS")]
    pub noncurrent_days: Option<i64>,
    /// A tag for every resource created, KEY=VALUE; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub tag: Vec<String>,
}

/// How the setup is deployed: a stack, or a StackSet over many accounts.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeploymentArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub stackset: StackSetArgs,
}

#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Deployment")]
pub struct ModeArgs {
    /// How to make the changes: direct AWS API calls [default], or a CloudFormation stack
    /// (see `bootstrap render`).
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// CloudFormation stack name [default: bitbucket-oidc-bootstrap].
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
}

#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = "Deployment")]
pub struct StackSetArgs {
    /// Deploy to many accounts through this CloudFormation StackSet instead of one stack
    /// (implies --mode cloudformation); needs --accounts or --org-units, and --regions.
    #[arg(long, value_name = "NAME")]
    pub stackset: Option<String>,
    /// StackSet target accounts (self-managed permissions); comma-separated or repeated.
    #[arg(
        long,
        value_name = "ID",
        value_delimiter = ',',
        conflicts_with = "org_units"
    )]
    pub accounts: Vec<String>,
    /// StackSet target organizational units (service-managed permissions, new accounts
    /// are deployed automatically); comma-separated or repeated.
    #[arg(long, value_name = "OU", value_delimiter = ',')]
    pub org_units: Vec<String>,
    /// StackSet target region (one per account: IAM is global to an account).
    #[arg(long, value_name = "REGION", value_delimiter = ',')]
    pub regions: Vec<String>,
}

#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VerifyArgs {
    /// File holding the token (the value of $BITBUCKET_STEP_OIDC_TOKEN), or - to read it
    /// from stdin.
    #[arg(long, value_name = "FILE|-")]
    #[serde(skip)]
    pub token: String,
    /// Judge the token against the trust policy `bootstrap init` would write for these
    /// settings, without reading the role from AWS.
    #[arg(long, conflicts_with = "assume")]
    #[serde(skip)]
    pub offline: bool,
    /// The public IP address the step calls AWS from (its egress IP), checked against the
    /// role's aws:SourceIp conditions. This is one address, not the role's allowed ranges
    /// (those are --trust-source-ip here and --source-ip for init).
    #[arg(long, value_name = "IP")]
    #[serde(skip)]
    pub source_ip: Option<String>,
    /// After the checks pass, call sts:AssumeRoleWithWebIdentity with the token, then
    /// sts:GetCallerIdentity with the temporary credentials, and show the assumed role.
    /// STS sees this machine's IP, not the step's.
    #[arg(long)]
    #[serde(skip)]
    pub assume: bool,
    /// The AWS account id shown in ARNs with --offline (nothing is read from AWS then).
    #[arg(long, value_name = "ID")]
    #[serde(skip)]
    pub account_id: Option<String>,
    /// The role whose trust policy judges the token [default: bitbucket-pipelines-deploy].
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// With [[role]] tables in bootstrap.toml: the configured role whose trust policy judges
    /// the token (needed when several are configured).
    #[arg(long = "role", value_name = "NAME")]
    #[serde(skip)]
    pub roles: Vec<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub trust: VerifyTrustArgs,
}

/// The trust settings `verify --offline` builds the trust policy from: init's own groups
/// (also read from bootstrap.toml), told as the role's rather than as choices to make.
#[derive(Debug, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[command(next_help_heading = OFFLINE_HEADING)]
pub struct VerifyTrustArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub who: Retold<WhoArgs, Offline>,
    /// A CIDR the role accepts calls from, or `bitbucket` for Atlassian's published
    /// Pipelines egress ranges (init's --source-ip; key source-ip in bootstrap.toml).
    /// Repeatable.
    #[arg(long, value_name = "CIDR|bitbucket")]
    #[serde(rename = "source-ip")]
    pub trust_source_ip: Vec<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub ranges: Retold<IpRangesArgs, Offline>,
}

const OFFLINE_HEADING: &str = "Trust policy for --offline (as given to init)";

/// How `verify --help` tells init's trust flags.
#[derive(Debug)]
pub struct Offline;

impl Retelling for Offline {
    const HEADING: &'static str = OFFLINE_HEADING;
    const HELP: &'static [(&'static str, &'static str)] = &[
        (
            "workspace_uuid",
            "Workspace UUID; the audience becomes ari:cloud:bitbucket::workspace/UUID",
        ),
        (
            "environment_uuid",
            "Deployment environments the role is narrowed to; repeat for several",
        ),
        (
            "allow_any_repository",
            "The role lets every repository in the workspace assume it",
        ),
        (
            "ip_ranges_url",
            "Where to fetch Atlassian's IP ranges for `--trust-source-ip bitbucket`",
        ),
    ];
}

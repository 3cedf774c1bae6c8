//! The command line: clap types live here and nowhere else. They are turned into
//! [`config::Inputs`](crate::config::Inputs) and merged with `bootstrap.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{validate, Inputs};
use crate::error::Result;

/// Set up an AWS account for Bitbucket Pipelines to deploy with OpenID Connect: the IAM OIDC
/// provider with verified thumbprints, a deployment role whose trust is limited to your
/// repositories, and a hardened Terraform state bucket and lock table.
#[derive(Debug, Parser)]
#[command(name = "bootstrap", version, max_term_width = 100)]
#[command(
    after_help = "Settings can also come from ./bootstrap.toml (or --config FILE), using the long flag names as keys; flags win over the file."
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
        #[command(flatten)]
        setup: SetupArgs,
        #[command(flatten)]
        deploy: DeploymentArgs,
    },
    /// Show each resource as in sync, drifted (and how) or missing.
    Status {
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
        format: TemplateFormatArg,
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
    /// Delete the role and the OIDC provider; keep the Terraform state.
    ///
    /// The role's inline policies are deleted and its managed policies detached first. The
    /// provider is kept while another role's trust names it (unless --force). The state
    /// bucket and lock table are kept unless --delete-state, and a bucket holding any object,
    /// object version or delete marker is never deleted. Shows the plan and asks, like init.
    ///
    /// With --mode cloudformation the stack is deleted (termination protection is turned
    /// off just before): the role and the provider go with it, while the state bucket and
    /// lock table stay in the account, retained by their DeletionPolicy.
    Destroy {
        #[command(flatten)]
        setup: SetupArgs,
        #[command(flatten)]
        deploy: DeploymentArgs,
        /// Delete without asking. Without it, `destroy` asks on a terminal and refuses to
        /// delete when there is none.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Also delete the state bucket and the lock table, but only when the bucket holds
        /// no object, object version or delete marker and no lock is held. The table's
        /// deletion protection is turned off just before it is deleted.
        #[arg(long)]
        delete_state: bool,
        /// Delete the OIDC provider even while other roles' trust policies name it (they
        /// stop working), and the role even when its trust does not name this issuer's
        /// provider.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormatArg {
    Yaml,
    Json,
}

const VERIFY_AFTER_HELP: &str = "The token is the value of $BITBUCKET_STEP_OIDC_TOKEN in a step with `oidc: true`. The simplest place to check it is the failing step itself, with --offline (no AWS credentials needed): `printf '%s' \"$BITBUCKET_STEP_OIDC_TOKEN\" | bootstrap verify --token - --offline ...`. Elsewhere, pass it as a file or on stdin; never as an argument (shell history and process lists keep it), and never print it in a build log or keep it as an artifact: until it expires it is a credential.\n\nWithout --offline the role and the IAM OIDC provider are read from AWS (iam:GetRole, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider). With --offline the trust policy is the one `bootstrap init` would write for the trust settings given here or in bootstrap.toml.\n\nExit codes: 0 the role accepts the token, 3 it refuses it (or the source IP cannot be judged), 2 invalid input, 1 other failures.";

const PIPELINE_AFTER_HELP: &str = "The role ARN and the default bucket name contain the AWS account id: pass --account-id, or bootstrap asks sts:GetCallerIdentity with your AWS credentials. Existing files are left alone unless --force is given.";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Direct,
    Cloudformation,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Read settings from FILE instead of ./bootstrap.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// AWS named profile to use (default: the usual AWS credential chain).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region, e.g. eu-west-1 (default: from the AWS profile or AWS_REGION).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (e.g. a local test server); S3 then uses
    /// path-style addressing. AWS_ENDPOINT_URL works too.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Extra trusted CA certificates (PEM) for the issuer's TLS, e.g. a private CA or a
    /// TLS-inspecting proxy.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_bundle: Option<PathBuf>,
    /// Connect and read timeout for the issuer's hosts, in seconds [default: 10].
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Output format: text for people, json (one document on stdout) for scripts.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputArg>,
    /// When to color text output.
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorArg>,
    /// Print only results and errors, no progress.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Print more detail on progress (each AWS call).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Issuer")]
pub struct IssuerArgs {
    /// Bitbucket workspace slug; the issuer is
    /// https://api.bitbucket.org/2.0/workspaces/SLUG/pipelines-config/identity/oidc.
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Any https OIDC issuer URL instead of a Bitbucket workspace.
    #[arg(long, value_name = "URL", conflicts_with = "workspace")]
    pub issuer_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub role: RoleArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Trust")]
pub struct TrustArgs {
    /// Workspace UUID (Repository settings > OpenID Connect); the audience becomes
    /// ari:cloud:bitbucket::workspace/UUID.
    #[arg(long, value_name = "UUID")]
    pub workspace_uuid: Option<String>,
    /// An audience (client ID) the role accepts; repeat for several.
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
    /// Only allow calls from this CIDR; `bitbucket` = Atlassian's published Pipelines
    /// egress ranges (4x/8x steps with atlassian-ip-ranges only). Repeatable.
    #[arg(long, value_name = "CIDR|bitbucket")]
    pub source_ip: Vec<String>,
    /// Where to fetch Atlassian's IP ranges for `--source-ip bitbucket`.
    #[arg(long, value_name = "URL")]
    pub ip_ranges_url: Option<String>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Role")]
pub struct RoleArgs {
    /// Name of the deployment role [default: bitbucket-pipelines-deploy].
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// A managed policy to attach to the role; repeat for several. Policies not listed
    /// are detached on the next `init`.
    #[arg(long, value_name = "ARN")]
    pub policy_arn: Vec<String>,
    /// Allow AdministratorAccess or any policy granting `*` on `*`.
    #[arg(long)]
    pub allow_admin: bool,
    /// Permissions boundary policy for the role.
    #[arg(long, value_name = "ARN")]
    pub permissions_boundary: Option<String>,
    /// Maximum session length in seconds, 900 to 43200 [default: 3600].
    #[arg(long, value_name = "SECONDS")]
    pub max_session_duration: Option<i64>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Terraform state")]
pub struct StateArgs {
    /// State bucket name [default: terraform-state-ACCOUNT-REGION].
    #[arg(long, value_name = "NAME")]
    pub state_bucket: Option<String>,
    /// Key prefix the role may write state under (default: the whole bucket).
    #[arg(long, value_name = "PREFIX")]
    pub state_key_prefix: Option<String>,
    /// DynamoDB lock table name [default: terraform-state-lock].
    #[arg(long, value_name = "NAME", conflicts_with = "no_lock_table")]
    pub lock_table: Option<String>,
    /// No DynamoDB table: rely on S3-native locking (Terraform 1.11+, use_lockfile).
    #[arg(long)]
    pub no_lock_table: bool,
    /// Encrypt the bucket with this KMS key (default: SSE-S3).
    #[arg(long, value_name = "ARN")]
    pub kms_key: Option<String>,
    /// Days to keep old versions of state objects [default: 90].
    #[arg(long, value_name = "DAYS")]
    pub noncurrent_days: Option<i64>,
    /// A tag for every resource created, KEY=VALUE; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub tag: Vec<String>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Deployment")]
pub struct DeploymentArgs {
    /// How to make the changes: direct AWS API calls [default], or a CloudFormation stack
    /// (see `bootstrap render`).
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Option<ModeArg>,
    /// CloudFormation stack name [default: bitbucket-oidc-bootstrap].
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
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

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// File holding the token (the value of $BITBUCKET_STEP_OIDC_TOKEN), or - to read it
    /// from stdin.
    #[arg(long, value_name = "FILE|-")]
    pub token: String,
    /// Judge the token against the trust policy `bootstrap init` would write for these
    /// settings, without reading the role from AWS.
    #[arg(long, conflicts_with = "assume")]
    pub offline: bool,
    /// The public IP address the step calls AWS from (its egress IP), checked against the
    /// role's aws:SourceIp conditions. This is one address, not the role's allowed ranges
    /// (those are --trust-source-ip here and --source-ip for init).
    #[arg(long, value_name = "IP")]
    pub source_ip: Option<String>,
    /// After the checks pass, call sts:AssumeRoleWithWebIdentity with the token, then
    /// sts:GetCallerIdentity with the temporary credentials, and show the assumed role.
    /// STS sees this machine's IP, not the step's.
    #[arg(long)]
    pub assume: bool,
    /// The AWS account id shown in ARNs with --offline (nothing is read from AWS then).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The role whose trust policy judges the token [default: bitbucket-pipelines-deploy].
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub trust: VerifyTrustArgs,
}

/// The trust settings `verify --offline` builds the trust policy from (the same settings
/// as init's; also read from bootstrap.toml).
#[derive(Debug, Args)]
#[command(next_help_heading = "Trust policy for --offline (as given to init)")]
pub struct VerifyTrustArgs {
    /// Workspace UUID; the audience becomes ari:cloud:bitbucket::workspace/UUID.
    #[arg(long, value_name = "UUID")]
    pub workspace_uuid: Option<String>,
    /// An audience (client ID) the role accepts; repeat for several.
    #[arg(long, value_name = "AUD")]
    pub audience: Vec<String>,
    /// A repository allowed to assume the role (braces optional); repeat for several.
    #[arg(long, value_name = "UUID")]
    pub repository_uuid: Vec<String>,
    /// Deployment environments the role is narrowed to; repeat for several.
    #[arg(long, value_name = "UUID")]
    pub environment_uuid: Vec<String>,
    /// The role lets every repository in the workspace assume it.
    #[arg(long)]
    pub allow_any_repository: bool,
    /// A CIDR the role accepts calls from, or `bitbucket` for Atlassian's published
    /// Pipelines egress ranges (init's --source-ip; key source-ip in bootstrap.toml).
    /// Repeatable.
    #[arg(long, value_name = "CIDR|bitbucket")]
    pub trust_source_ip: Vec<String>,
    /// Where to fetch Atlassian's IP ranges for `--trust-source-ip bitbucket`.
    #[arg(long, value_name = "URL")]
    pub ip_ranges_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Directory to write bitbucket-pipelines.yml and backend.tf into (created when
    /// missing); usually the root of the repository that runs Terraform.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Overwrite bitbucket-pipelines.yml and backend.tf when they exist.
    #[arg(long)]
    pub force: bool,
    /// AWS account id for the role ARN and the default bucket name; without it,
    /// sts:GetCallerIdentity is asked with your AWS credentials.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The Bitbucket deployment environment the plan and apply steps run in (its name, e.g.
    /// Production). Required when the role is narrowed with --environment-uuid.
    #[arg(long, value_name = "NAME")]
    pub deployment: Option<String>,
    /// The branch whose pipeline may apply (a manual step) [default: main]; other branches
    /// only validate and plan (only validate when the role needs deployment steps).
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    #[command(flatten)]
    pub setup: SetupArgs,
}

fn flag(b: bool) -> Option<bool> {
    b.then_some(true)
}

impl GlobalArgs {
    pub fn inputs(&self) -> Inputs {
        Inputs {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            ca_bundle: self.ca_bundle.clone(),
            timeout: self.timeout,
            output: self.output.map(|o| match o {
                OutputArg::Text => "text".into(),
                OutputArg::Json => "json".into(),
            }),
            color: self.color.map(|c| match c {
                ColorArg::Auto => "auto".into(),
                ColorArg::Always => "always".into(),
                ColorArg::Never => "never".into(),
            }),
            ..Default::default()
        }
    }
}

impl IssuerArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.workspace = self.workspace.clone();
        i.issuer_url = self.issuer_url.clone();
    }
}

impl SetupArgs {
    pub fn apply(&self, i: &mut Inputs) -> Result<()> {
        self.issuer.apply(i);
        let t = &self.trust;
        i.workspace_uuid = t.workspace_uuid.clone();
        i.audience = t.audience.clone();
        i.repository_uuid = t.repository_uuid.clone();
        i.environment_uuid = t.environment_uuid.clone();
        i.allow_any_repository = flag(t.allow_any_repository);
        i.source_ip = t.source_ip.clone();
        i.ip_ranges_url = t.ip_ranges_url.clone();
        let r = &self.role;
        i.role_name = r.role_name.clone();
        i.policy_arn = r.policy_arn.clone();
        i.allow_admin = flag(r.allow_admin);
        i.permissions_boundary = r.permissions_boundary.clone();
        i.max_session_duration = r.max_session_duration;
        let s = &self.state;
        i.state_bucket = s.state_bucket.clone();
        i.state_key_prefix = s.state_key_prefix.clone();
        i.lock_table = s.lock_table.clone();
        i.no_lock_table = flag(s.no_lock_table);
        i.kms_key = s.kms_key.clone();
        i.noncurrent_days = s.noncurrent_days;
        if !s.tag.is_empty() {
            let mut tags = BTreeMap::new();
            for t in &s.tag {
                let (k, v) = validate::tag_pair(t)?;
                if tags.insert(k.clone(), v).is_some() {
                    return Err(
                        crate::usage!("--tag {k:?} given twice; each key takes one value")
                            .hint("keep one --tag KEY=VALUE per key"),
                    );
                }
            }
            i.tags = Some(tags);
        }
        Ok(())
    }
}

impl DeploymentArgs {
    pub fn apply(&self, i: &mut Inputs) {
        i.mode = self.mode.map(|m| match m {
            ModeArg::Direct => "direct".into(),
            ModeArg::Cloudformation => "cloudformation".into(),
        });
        i.stack_name = self.stack_name.clone();
        i.stackset = self.stackset.clone();
        i.accounts = self.accounts.clone();
        i.org_units = self.org_units.clone();
        i.regions = self.regions.clone();
    }
}

impl VerifyArgs {
    pub fn apply(&self, i: &mut Inputs) {
        self.issuer.apply(i);
        let t = &self.trust;
        i.workspace_uuid = t.workspace_uuid.clone();
        i.audience = t.audience.clone();
        i.repository_uuid = t.repository_uuid.clone();
        i.environment_uuid = t.environment_uuid.clone();
        i.allow_any_repository = flag(t.allow_any_repository);
        i.source_ip = t.trust_source_ip.clone();
        i.ip_ranges_url = t.ip_ranges_url.clone();
        i.role_name = self.role_name.clone();
    }
}

/// `destroy --stackset`: out of scope; the instances are deleted with the AWS CLI.
pub fn stackset_destroy_refused(name: &str) -> crate::error::Error {
    crate::error::Error::usage(format!(
        "destroy --stackset {name}: deleting a StackSet is not supported; delete its instances, then the StackSet, with the AWS CLI"
    ))
    .hint("aws cloudformation delete-stack-instances, then delete-stack-set (docs/cloudformation.md, \"Removing a StackSet\")")
}

impl Cli {
    /// The inputs given on the command line (to be overlaid on the config file).
    pub fn inputs(&self) -> Result<Inputs> {
        let mut i = self.global.inputs();
        match &self.command {
            Command::Discover { issuer } | Command::Thumbprint { issuer, .. } => {
                issuer.apply(&mut i)
            }
            Command::Plan { setup, deploy, .. }
            | Command::Init { setup, deploy, .. }
            | Command::Status { setup, deploy } => {
                setup.apply(&mut i)?;
                deploy.apply(&mut i);
            }
            Command::Destroy { setup, deploy, .. } => {
                if let Some(name) = &deploy.stackset {
                    return Err(stackset_destroy_refused(name));
                }
                setup.apply(&mut i)?;
                deploy.apply(&mut i);
            }
            Command::Render { setup, .. } => setup.apply(&mut i)?,
            Command::Verify(args) => args.apply(&mut i),
            Command::Pipeline(args) => args.setup.apply(&mut i)?,
        }
        Ok(i)
    }
}

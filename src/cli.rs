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
        #[command(flatten)]
        issuer: IssuerArgs,
        /// Compare with the thumbprints registered on the IAM provider; exit 3 when the
        /// provider lacks one the hosts serve now (for scheduled monitoring).
        #[arg(long)]
        check: bool,
    },
    /// Show the changes `init` would make, without changing anything.
    Plan {
        #[command(flatten)]
        setup: SetupArgs,
        /// Exit 2 when there are changes to make (0 when there are none, 1 on errors).
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Create or update the provider, role, state bucket and lock table.
    Init {
        #[command(flatten)]
        setup: SetupArgs,
        /// Apply without asking. Without it, `init` asks on a terminal and refuses to write
        /// when there is none.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show each resource as in sync, drifted (and how) or missing.
    Status {
        #[command(flatten)]
        setup: SetupArgs,
    },
    /// Delete the role and the OIDC provider; keep the Terraform state.
    ///
    /// The role's inline policies are deleted and its managed policies detached first. The
    /// provider is kept while another role's trust names it (unless --force). The state
    /// bucket and lock table are kept unless --delete-state, and a bucket holding any object,
    /// object version or delete marker is never deleted. Shows the plan and asks, like init.
    Destroy {
        #[command(flatten)]
        setup: SetupArgs,
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
    /// Deployment mode: direct AWS API calls, or a CloudFormation stack.
    #[arg(long, value_enum, value_name = "MODE", hide = true)]
    pub mode: Option<ModeArg>,
    /// CloudFormation stack name [default: bitbucket-oidc-bootstrap].
    #[arg(long, value_name = "NAME", hide = true)]
    pub stack_name: Option<String>,
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
        i.mode = s.mode.map(|m| match m {
            ModeArg::Direct => "direct".into(),
            ModeArg::Cloudformation => "cloudformation".into(),
        });
        i.stack_name = s.stack_name.clone();
        Ok(())
    }
}

impl Cli {
    /// The inputs given on the command line (to be overlaid on the config file).
    pub fn inputs(&self) -> Result<Inputs> {
        let mut i = self.global.inputs();
        match &self.command {
            Command::Discover { issuer } | Command::Thumbprint { issuer, .. } => {
                issuer.apply(&mut i)
            }
            Command::Plan { setup, .. }
            | Command::Init { setup, .. }
            | Command::Status { setup }
            | Command::Destroy { setup, .. } => setup.apply(&mut i)?,
        }
        Ok(i)
    }
}

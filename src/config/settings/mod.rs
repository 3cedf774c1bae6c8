//! The validated [`Settings`] and their accessors. [`Settings::from_inputs`] is in `build`,
//! which checks one part at a time (`deployment`, `trust`, `resources`).

mod build;
mod deployment;
mod resources;
#[cfg(test)]
mod tests;
mod trust;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::config::choices::{ColorChoice, Mode, OutputFormat};
use crate::config::validate;
use crate::error::{Error, Result};

/// Where a StackSet deploys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackSetTargets {
    /// Accounts by id (self-managed permissions).
    Accounts(Vec<String>),
    /// Organizational units (service-managed permissions, automatic deployment).
    OrgUnits(Vec<String>),
}

/// `--stackset NAME` with its targets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StackSetSettings {
    pub name: String,
    pub targets: StackSetTargets,
    pub regions: Vec<String>,
}

/// A source-IP restriction: explicit CIDRs, or Atlassian's published Pipelines egress ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceIp {
    Cidr(IpNet),
    Bitbucket,
}

impl SourceIp {
    /// The range, for an explicit CIDR.
    pub fn cidr(&self) -> Option<IpNet> {
        match self {
            SourceIp::Cidr(c) => Some(*c),
            SourceIp::Bitbucket => None,
        }
    }
}

/// The OIDC issuer: `url` is `https://host/path`, `host_path` is the same without `https://`
/// (the provider's identity in IAM and the prefix of its condition keys).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issuer {
    pub url: String,
    pub host_path: String,
}

impl Issuer {
    pub fn new(url: String) -> Issuer {
        let host_path = url.trim_start_matches("https://").to_string();
        Issuer { url, host_path }
    }
}

/// How to talk to AWS; shared by every client.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Everything a command needs, validated. Parts a command does not need may be absent; the
/// `require_*` accessors turn an absence into a usage error that names the flag.
#[derive(Debug, Clone)]
pub struct Settings {
    pub aws: AwsSettings,
    pub ca_bundle: Option<PathBuf>,
    pub output: OutputFormat,
    pub color: ColorChoice,
    pub timeout: Duration,

    pub issuer: Option<Issuer>,
    pub audiences: Vec<String>,
    pub repositories: Vec<String>,
    pub environments: Vec<String>,
    pub allow_any_repository: bool,
    pub source_ips: Vec<SourceIp>,
    pub ip_ranges_url: String,

    pub role_name: String,
    pub policy_arns: Vec<String>,
    pub allow_admin: bool,
    pub permissions_boundary: Option<String>,
    pub max_session_duration: i32,

    pub state_bucket: Option<String>,
    pub state_key_prefix: String,
    pub lock_table: Option<String>,
    pub kms_key: Option<String>,
    /// An existing SSE-KMS bucket may be switched to SSE-S3 (no --kms-key).
    pub allow_encryption_downgrade: bool,
    pub noncurrent_days: i32,
    pub tags: BTreeMap<String, String>,

    pub mode: Mode,
    pub stack_name: String,
    pub stackset: Option<StackSetSettings>,

    /// Loud warnings found while validating (no source-IP condition, broad CIDRs, ...).
    pub warnings: Vec<String>,
}

impl Settings {
    /// The issuer, or a usage error naming the flags that set it.
    pub fn require_issuer(&self) -> Result<&Issuer> {
        self.issuer.as_ref().ok_or_else(|| {
            Error::usage("no OIDC issuer given")
                .hint("pass --workspace SLUG (your Bitbucket workspace) or --issuer-url URL")
        })
    }

    /// The inputs every command that builds a trust policy needs (plan, init, status, render,
    /// ...). The size of that policy is judged where it is built: `model::quota` refuses one no
    /// account accepts before any network or AWS call.
    pub fn require_trust_inputs(&self) -> Result<()> {
        self.require_issuer()?;
        if self.audiences.is_empty() {
            return Err(Error::usage("no audience given").hint(
                "pass --workspace-uuid UUID (Repository settings > OpenID Connect shows it) or --audience AUD",
            ));
        }
        if self.repositories.is_empty() && !self.allow_any_repository {
            return Err(Error::usage(
                "no --repository-uuid given: the role would trust every pipeline in the workspace",
            )
            .hint("pass --repository-uuid UUID for each repository that deploys, or --allow-any-repository to accept that risk"));
        }
        Ok(())
    }

    /// The explicit `--source-ip` CIDRs (`--source-ip bitbucket` is resolved from Atlassian's
    /// published ranges when the desired state is built).
    pub fn explicit_cidrs(&self) -> Vec<IpNet> {
        self.source_ips.iter().filter_map(SourceIp::cidr).collect()
    }

    /// Warnings the user should see before anything is written.
    pub fn trust_warnings(&self) -> Vec<String> {
        let mut w = self.warnings.clone();
        if self.allow_any_repository {
            w.push(
                "--allow-any-repository: EVERY repository in the workspace can assume this role"
                    .into(),
            );
        }
        if self.source_ips.is_empty() {
            w.push("no --source-ip: any network can use a stolen pipeline token until it expires (the repository condition still applies)".into());
        }
        if self.source_ips.contains(&SourceIp::Bitbucket) {
            w.push("--source-ip bitbucket: only 4x/8x steps with `runtime: cloud: atlassian-ip-ranges: true` egress from Atlassian's published ranges; 1x/2x steps will be refused".into());
        }
        if self.allow_admin
            && self
                .policy_arns
                .iter()
                .any(|p| validate::is_admin_policy_arn(p))
        {
            w.push("--allow-admin: pipelines get AdministratorAccess".into());
        }
        w
    }
}

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use super::validate as v;
use super::Inputs;
use crate::error::{Error, Result};
use crate::model::policy;

pub const DEFAULT_ROLE_NAME: &str = "bitbucket-pipelines-deploy";
pub const DEFAULT_LOCK_TABLE: &str = "terraform-state-lock";
pub const DEFAULT_STACK_NAME: &str = "bitbucket-oidc-bootstrap";
pub const DEFAULT_IP_RANGES_URL: &str = "https://ip-ranges.atlassian.com/";
pub const DEFAULT_NONCURRENT_DAYS: i32 = 90;
pub const DEFAULT_SESSION_SECONDS: i32 = 3600;
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Direct,
    Cloudformation,
}

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
    pub noncurrent_days: i32,
    pub tags: BTreeMap<String, String>,

    pub mode: Mode,
    pub stack_name: String,
    pub stackset: Option<StackSetSettings>,

    /// Loud warnings found while validating (no source-IP condition, broad CIDRs, ...).
    pub warnings: Vec<String>,
}

impl Settings {
    /// Validate merged inputs. Every value is checked here, before any network or AWS call.
    pub fn from_inputs(i: Inputs) -> Result<Settings> {
        let mut warnings = Vec::new();
        let mode = match i.mode.as_deref() {
            None if i.stackset.is_some() => Mode::Cloudformation,
            None | Some("direct") => Mode::Direct,
            Some("cloudformation") => Mode::Cloudformation,
            Some(m) => {
                return Err(crate::usage!(
                    "--mode {m:?}: expected direct or cloudformation"
                ))
            }
        };
        let stack_name = v::stack_name(i.stack_name.as_deref().unwrap_or(DEFAULT_STACK_NAME))?;
        let stackset = stackset_settings(&i, mode)?;
        let output = match i.output.as_deref() {
            None | Some("text") => OutputFormat::Text,
            Some("json") => OutputFormat::Json,
            Some(o) => return Err(crate::usage!("--output {o:?}: expected text or json")),
        };
        let color = match i.color.as_deref() {
            None | Some("auto") => ColorChoice::Auto,
            Some("always") => ColorChoice::Always,
            Some("never") => ColorChoice::Never,
            Some(c) => {
                return Err(crate::usage!(
                    "--color {c:?}: expected auto, always or never"
                ))
            }
        };
        let timeout = match i.timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(t @ 1..=300) => t,
            Some(t) => return Err(crate::usage!("--timeout {t}: expected 1 to 300 seconds")),
        };
        let aws = AwsSettings {
            profile: i.profile.as_deref().map(v::profile).transpose()?,
            region: i.region.as_deref().map(v::region).transpose()?,
            endpoint_url: i
                .endpoint_url
                .or_else(|| {
                    std::env::var("AWS_ENDPOINT_URL")
                        .ok()
                        .filter(|s| !s.is_empty())
                })
                .as_deref()
                .map(v::endpoint_url)
                .transpose()?,
        };

        let issuer = match (i.workspace.as_deref(), i.issuer_url.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(Error::usage(
                    "--workspace and --issuer-url both given; they name the same thing",
                )
                .hint("pass only one of them"))
            }
            (Some(slug), None) => Some(v::bitbucket_issuer(&v::workspace_slug(slug)?)),
            (None, Some(url)) => Some(v::issuer_url(url)?),
            (None, None) => None,
        }
        .map(Issuer::new);

        let mut audiences: Vec<String> = Vec::new();
        for a in &i.audience {
            let a = v::audience(a)?;
            if !audiences.contains(&a) {
                audiences.push(a);
            }
        }
        if let Some(ws) = i.workspace_uuid.as_deref() {
            let a = format!(
                "ari:cloud:bitbucket::workspace/{}",
                v::uuid_bare("--workspace-uuid", ws)?
            );
            if !audiences.contains(&a) {
                audiences.insert(0, a);
            }
        }
        if audiences.len() > 100 {
            return Err(crate::usage!(
                "{} audiences given; IAM accepts at most 100 client IDs on a provider",
                audiences.len()
            ));
        }

        let mut repositories = Vec::new();
        for r in &i.repository_uuid {
            let r = v::uuid("--repository-uuid", r)?;
            if !repositories.contains(&r) {
                repositories.push(r);
            }
        }
        let mut environments = Vec::new();
        for e in &i.environment_uuid {
            let e = v::uuid("--environment-uuid", e)?;
            if !environments.contains(&e) {
                environments.push(e);
            }
        }
        let allow_any_repository = i.allow_any_repository.unwrap_or(false);
        if allow_any_repository && !repositories.is_empty() {
            return Err(
                Error::usage("--allow-any-repository contradicts --repository-uuid")
                    .hint("drop one of them"),
            );
        }
        if !environments.is_empty() && repositories.is_empty() {
            return Err(Error::usage(
                "--environment-uuid needs --repository-uuid: the sub claim is {repository}:{environment}:{step}",
            )
            .hint("add the repository the environments belong to with --repository-uuid"));
        }

        let mut source_ips = Vec::new();
        for s in &i.source_ip {
            let s = if s.eq_ignore_ascii_case("bitbucket") {
                SourceIp::Bitbucket
            } else {
                let net = v::cidr(s)?;
                if v::is_broad(&net) {
                    warnings.push(format!(
                        "--source-ip {net} is a very broad range; the role's IP condition restricts little"
                    ));
                }
                SourceIp::Cidr(net)
            };
            if !source_ips.contains(&s) {
                source_ips.push(s);
            }
        }
        let ip_ranges_url = match i.ip_ranges_url.as_deref() {
            Some(u) => v::https_url("--ip-ranges-url", u, false)?,
            None => DEFAULT_IP_RANGES_URL.to_string(),
        };

        let role_name = v::role_name(i.role_name.as_deref().unwrap_or(DEFAULT_ROLE_NAME))?;
        let allow_admin = i.allow_admin.unwrap_or(false);
        let mut policy_arns = Vec::new();
        for p in &i.policy_arn {
            let p = v::policy_arn("--policy-arn", p)?;
            if v::is_admin_policy(&p) && !allow_admin {
                return Err(Error::usage(format!(
                    "--policy-arn {p} grants full administrator access to every pipeline that can assume the role"
                ))
                .hint("attach a narrower policy, or pass --allow-admin if this is really intended"));
            }
            if !policy_arns.contains(&p) {
                policy_arns.push(p);
            }
        }
        if policy_arns.len() > 20 {
            return Err(crate::usage!(
                "{} --policy-arn given; IAM attaches at most 20 managed policies to a role",
                policy_arns.len()
            ));
        }
        let permissions_boundary = i
            .permissions_boundary
            .as_deref()
            .map(|p| v::policy_arn("--permissions-boundary", p))
            .transpose()?;
        let max_session_duration = match i.max_session_duration {
            None => DEFAULT_SESSION_SECONDS,
            Some(s @ 900..=43200) => s as i32,
            Some(s) => {
                return Err(crate::usage!(
                    "--max-session-duration {s}: expected 900 to 43200 seconds (15 minutes to 12 hours)"
                ))
            }
        };
        if max_session_duration > 4 * 3600 {
            warnings.push(format!(
                "--max-session-duration {max_session_duration}: pipeline credentials stay valid for over 4 hours"
            ));
        }

        let state_bucket = i.state_bucket.as_deref().map(v::bucket_name).transpose()?;
        let state_key_prefix = i
            .state_key_prefix
            .as_deref()
            .map(v::key_prefix)
            .transpose()?
            .unwrap_or_default();
        let no_lock_table = i.no_lock_table.unwrap_or(false);
        let lock_table = match (no_lock_table, i.lock_table.as_deref()) {
            (true, Some(_)) => {
                return Err(Error::usage("--lock-table and --no-lock-table both given")
                    .hint("pass only one of them"))
            }
            (true, None) => None,
            (false, t) => Some(v::table_name(t.unwrap_or(DEFAULT_LOCK_TABLE))?),
        };
        let kms_key = i.kms_key.as_deref().map(v::kms_key).transpose()?;
        if let (Some(key), Some(region)) = (&kms_key, &aws.region) {
            let key_region = v::kms_key_region(key).unwrap_or_default();
            if key_region != region {
                return Err(Error::usage(format!(
                    "--kms-key is in {key_region} but --region is {region}: S3 only encrypts with a key in the bucket's region"
                ))
                .hint("pass a key from the same region with --kms-key, or change --region"));
            }
        }
        let noncurrent_days = match i.noncurrent_days {
            None => DEFAULT_NONCURRENT_DAYS,
            Some(d @ 1..=3650) => d as i32,
            Some(d) => {
                return Err(crate::usage!(
                    "--noncurrent-days {d}: expected 1 to 3650 days"
                ))
            }
        };
        let tags = i.tags.unwrap_or_default();
        for (k, val) in &tags {
            v::tag(k, val)?;
        }
        if tags.len() > 40 {
            return Err(crate::usage!(
                "{} tags given; at most 40 are accepted (AWS allows 50 and the tool adds its own)",
                tags.len()
            ));
        }

        Ok(Settings {
            aws,
            ca_bundle: i.ca_bundle,
            output,
            color,
            timeout: Duration::from_secs(timeout),
            issuer,
            audiences,
            repositories,
            environments,
            allow_any_repository,
            source_ips,
            ip_ranges_url,
            role_name,
            policy_arns,
            allow_admin,
            permissions_boundary,
            max_session_duration,
            state_bucket,
            state_key_prefix,
            lock_table,
            kms_key,
            noncurrent_days,
            tags,
            mode,
            stack_name,
            stackset,
            warnings,
        })
    }

    /// The issuer, or a usage error naming the flags that set it.
    pub fn require_issuer(&self) -> Result<&Issuer> {
        self.issuer.as_ref().ok_or_else(|| {
            Error::usage("no OIDC issuer given")
                .hint("pass --workspace SLUG (your Bitbucket workspace) or --issuer-url URL")
        })
    }

    /// Checks for the commands that build a trust policy (plan, init, status, render, ...).
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
        let size = self.estimated_trust_policy_size();
        if size > policy::TRUST_POLICY_MAX_CHARS {
            return Err(Error::usage(format!(
                "the trust policy would be about {size} characters; IAM accepts at most {} ({} repositories x {} environments, {} source ranges)",
                policy::TRUST_POLICY_MAX_CHARS,
                self.repositories.len(),
                self.environments.len().max(1),
                self.source_ips.len(),
            ))
            .hint("split the repositories over several roles (--role-name), or drop --environment-uuid / --source-ip values"));
        }
        Ok(())
    }

    /// The size of the trust policy these settings produce, with the longest partition and
    /// only the explicit CIDRs (`--source-ip bitbucket` is resolved and checked later).
    pub fn estimated_trust_policy_size(&self) -> usize {
        let Some(issuer) = &self.issuer else { return 0 };
        let cidrs: Vec<IpNet> = self
            .source_ips
            .iter()
            .filter_map(|s| match s {
                SourceIp::Cidr(c) => Some(*c),
                SourceIp::Bitbucket => None,
            })
            .collect();
        let doc = policy::trust_policy(&policy::TrustInputs {
            issuer_host_path: &issuer.host_path,
            provider_arn: serde_json::json!(format!(
                "arn:aws-us-gov:iam::123456789012:oidc-provider/{}",
                issuer.host_path
            )),
            audiences: &self.audiences,
            repositories: &self.repositories,
            environments: &self.environments,
            source_cidrs: &cidrs,
        });
        policy::policy_size(&doc)
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
        let size = self.estimated_trust_policy_size();
        if size > policy::TRUST_POLICY_DEFAULT_CHARS {
            w.push(format!(
                "the trust policy is about {size} characters, over IAM's default quota of {}; CreateRole fails unless the account's 'Role trust policy length' quota was raised",
                policy::TRUST_POLICY_DEFAULT_CHARS
            ));
        }
        if self.allow_admin && self.policy_arns.iter().any(|p| v::is_admin_policy(p)) {
            w.push("--allow-admin: pipelines get AdministratorAccess".into());
        }
        w
    }
}

/// `--stackset NAME` with `--accounts`/`--org-units` and `--regions`, checked together.
fn stackset_settings(i: &Inputs, mode: Mode) -> Result<Option<StackSetSettings>> {
    let Some(name) = i.stackset.as_deref() else {
        let stray = [
            ("--accounts", i.accounts.is_empty()),
            ("--org-units", i.org_units.is_empty()),
            ("--regions", i.regions.is_empty()),
        ];
        if let Some((flag, _)) = stray.iter().find(|(_, empty)| !empty) {
            return Err(Error::usage(format!("{flag} only applies to a StackSet"))
                .hint("add --stackset NAME, or drop it to deploy to this account only"));
        }
        return Ok(None);
    };
    if mode == Mode::Direct {
        return Err(
            Error::usage("--stackset needs CloudFormation, but --mode is direct")
                .hint("use --mode cloudformation (or leave --mode out)"),
        );
    }
    let name = v::stackset_name(name)?;
    let targets = match (i.accounts.is_empty(), i.org_units.is_empty()) {
        (false, false) => return Err(Error::usage("--accounts and --org-units both given").hint(
            "target accounts by id (--accounts) or by organizational unit (--org-units), not both",
        )),
        (true, true) => {
            return Err(
                Error::usage(format!("--stackset {name}: no target accounts"))
                    .hint("add --accounts ID,... or --org-units ou-...,..."),
            )
        }
        (false, true) => {
            let mut ids = Vec::new();
            for a in &i.accounts {
                let a = v::account_id(a)?;
                if !ids.contains(&a) {
                    ids.push(a);
                }
            }
            StackSetTargets::Accounts(ids)
        }
        (true, false) => {
            let mut ous = Vec::new();
            for o in &i.org_units {
                let o = v::org_unit(o)?;
                if !ous.contains(&o) {
                    ous.push(o);
                }
            }
            StackSetTargets::OrgUnits(ous)
        }
    };
    let mut regions = Vec::new();
    for r in &i.regions {
        let r = v::region(r)?;
        if !regions.contains(&r) {
            regions.push(r);
        }
    }
    match regions.len() {
        0 => {
            return Err(Error::usage(format!("--stackset {name}: no target region"))
                .hint("add --regions REGION (the region the state bucket should live in)"))
        }
        1 => {}
        _ => {
            return Err(Error::usage(format!(
                "--regions {}: the role and the OIDC provider are global to an account, so a second region would create them twice and fail",
                regions.join(",")
            ))
            .hint("deploy the StackSet to one region per account"))
        }
    }
    Ok(Some(StackSetSettings {
        name,
        targets,
        regions,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Inputs {
        Inputs {
            workspace: Some("acme".into()),
            workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
            repository_uuid: vec!["{AAAAAAAA-2222-3333-4444-555555555555}".into()],
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let s = Settings::from_inputs(base()).unwrap();
        let issuer = s.issuer.as_ref().unwrap();
        assert_eq!(
            issuer.url,
            "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
        );
        assert_eq!(
            issuer.host_path,
            "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
        );
        assert_eq!(
            s.audiences,
            vec!["ari:cloud:bitbucket::workspace/11111111-2222-3333-4444-555555555555"]
        );
        assert_eq!(
            s.repositories,
            vec!["{aaaaaaaa-2222-3333-4444-555555555555}"]
        );
        assert_eq!(s.max_session_duration, 3600);
        assert_eq!(s.lock_table.as_deref(), Some(DEFAULT_LOCK_TABLE));
        s.require_trust_inputs().unwrap();
    }

    #[test]
    fn admin_needs_allow_admin() {
        let mut i = base();
        i.policy_arn = vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()];
        let e = Settings::from_inputs(i.clone()).unwrap_err();
        assert!(e.to_string().contains("--allow-admin"), "{e}");
        i.allow_admin = Some(true);
        Settings::from_inputs(i).unwrap();
    }

    #[test]
    fn missing_repository_is_refused_unless_explicit() {
        let mut i = base();
        i.repository_uuid.clear();
        let s = Settings::from_inputs(i.clone()).unwrap();
        let e = s.require_trust_inputs().unwrap_err();
        assert!(e.to_string().contains("--allow-any-repository"), "{e}");
        i.allow_any_repository = Some(true);
        Settings::from_inputs(i)
            .unwrap()
            .require_trust_inputs()
            .unwrap();
    }
}

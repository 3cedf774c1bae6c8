//! [`Settings::from_inputs`]: merged [`Inputs`] checked and turned into [`Settings`].

use std::time::Duration;

use super::{
    AwsSettings, ColorChoice, Issuer, Mode, OutputFormat, Settings, SourceIp, StackSetSettings,
    StackSetTargets,
};
use crate::config::defaults::{
    DEFAULT_IP_RANGES_URL, DEFAULT_LOCK_TABLE, DEFAULT_NONCURRENT_DAYS, DEFAULT_ROLE_NAME,
    DEFAULT_SESSION_SECONDS, DEFAULT_STACK_NAME, DEFAULT_TIMEOUT_SECS,
};
use crate::config::validate as v;
use crate::config::Inputs;
use crate::error::{Error, Result};

impl Settings {
    /// Validate merged inputs. Every value is checked here, before any network or AWS call.
    pub fn from_inputs(i: Inputs) -> Result<Settings> {
        let mut warnings = Vec::new();
        let mode = match &i.mode {
            None if i.stackset.is_some() => Mode::Cloudformation,
            None => Mode::Direct,
            Some(m) => m.value()?,
        };
        let stack_name = v::stack_name(i.stack_name.as_deref().unwrap_or(DEFAULT_STACK_NAME))?;
        let stackset = stackset_settings(&i, mode)?;
        let output = match &i.output {
            None => OutputFormat::Text,
            Some(o) => o.value()?,
        };
        let color = match &i.color {
            None => ColorChoice::Auto,
            Some(c) => c.value()?,
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
        service_endpoints_from_env()?;

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
        let explicit: Vec<_> = source_ips
            .iter()
            .filter_map(|s| match s {
                SourceIp::Cidr(c) => Some(*c),
                SourceIp::Bitbucket => None,
            })
            .collect();
        v::check_source_union(&explicit, "given with --source-ip")?;
        let ip_ranges_url = match i.ip_ranges_url.as_deref() {
            Some(u) => v::https_url("--ip-ranges-url", u, false)?,
            None => DEFAULT_IP_RANGES_URL.to_string(),
        };

        let role_name = v::role_name(i.role_name.as_deref().unwrap_or(DEFAULT_ROLE_NAME))?;
        let allow_admin = i.allow_admin.unwrap_or(false);
        let mut policy_arns = Vec::new();
        for p in &i.policy_arn {
            let p = v::policy_arn("--policy-arn", p)?;
            if v::is_admin_policy_arn(&p) && !allow_admin {
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
        let key_region = kms_key.as_deref().and_then(v::kms_key_region);
        if let (Some(key_region), Some(region)) = (key_region, &aws.region) {
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
            allow_encryption_downgrade: i.allow_encryption_downgrade.unwrap_or(false),
            noncurrent_days,
            tags,
            mode,
            stack_name,
            stackset,
            warnings,
        })
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

/// The SDK also honours per-service endpoints from the environment (`AWS_ENDPOINT_URL_IAM`,
/// `AWS_ENDPOINT_URL_S3`, ...): they are held to the same rule as `--endpoint-url`.
fn service_endpoints_from_env() -> Result<()> {
    for (name, value) in std::env::vars() {
        if name.starts_with("AWS_ENDPOINT_URL_") && !value.is_empty() {
            v::endpoint_url(&value).map_err(|e| e.resource(name))?;
        }
    }
    Ok(())
}

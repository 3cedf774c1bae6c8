//! The trust part of [`Settings`](super::Settings): who may assume the role (issuer,
//! audiences, repositories, environments) and from where (source IPs).

use super::{Issuer, SourceIp};
use crate::config::defaults::DEFAULT_IP_RANGES_URL;
use crate::config::inputs::Inputs;
use crate::config::validate as v;
use crate::error::{Error, Result};

pub(super) struct Trust {
    pub(super) issuer: Option<Issuer>,
    pub(super) audiences: Vec<String>,
    pub(super) repositories: Vec<String>,
    pub(super) environments: Vec<String>,
    pub(super) allow_any_repository: bool,
    pub(super) source_ips: Vec<SourceIp>,
    pub(super) ip_ranges_url: String,
}

pub(super) fn trust(i: &Inputs, warnings: &mut Vec<String>) -> Result<Trust> {
    let issuer = issuer(i)?;
    let audiences = audiences(i)?;
    let repositories = v::unique(&i.repository_uuid, |r| v::uuid("--repository-uuid", r))?;
    let environments = v::unique(&i.environment_uuid, |e| v::uuid("--environment-uuid", e))?;
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
    let source_ips = source_ips(&i.source_ip, warnings)?;
    let ip_ranges_url = match i.ip_ranges_url.as_deref() {
        Some(u) => v::https_url("--ip-ranges-url", u, false)?,
        None => DEFAULT_IP_RANGES_URL.to_string(),
    };
    Ok(Trust {
        issuer,
        audiences,
        repositories,
        environments,
        allow_any_repository,
        source_ips,
        ip_ranges_url,
    })
}

/// `--workspace SLUG` or `--issuer-url URL` (not both), or none.
fn issuer(i: &Inputs) -> Result<Option<Issuer>> {
    let url = match (i.workspace.as_deref(), i.issuer_url.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "--workspace and --issuer-url both given; they name the same thing",
            )
            .hint("pass only one of them"))
        }
        (Some(slug), None) => Some(v::bitbucket_issuer(&v::workspace_slug(slug)?)),
        (None, Some(url)) => Some(v::issuer_url(url)?),
        (None, None) => None,
    };
    Ok(url.map(Issuer::new))
}

/// `--audience` values, with the workspace's own audience first when `--workspace-uuid` is
/// given; at most the 100 client IDs IAM keeps on a provider.
fn audiences(i: &Inputs) -> Result<Vec<String>> {
    let mut audiences = v::unique(&i.audience, v::audience)?;
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
    Ok(audiences)
}

/// `--source-ip CIDR|bitbucket` values: a broad CIDR is a warning, CIDRs that together cover
/// a whole address family are refused.
fn source_ips(values: &[String], warnings: &mut Vec<String>) -> Result<Vec<SourceIp>> {
    let source_ips = v::unique(values, |s| {
        if s.eq_ignore_ascii_case("bitbucket") {
            return Ok(SourceIp::Bitbucket);
        }
        let net = v::cidr(s)?;
        if v::is_broad(&net) {
            warnings.push(format!(
                "--source-ip {net} is a very broad range; the role's IP condition restricts little"
            ));
        }
        Ok(SourceIp::Cidr(net))
    })?;
    let explicit: Vec<_> = source_ips.iter().filter_map(SourceIp::cidr).collect();
    v::check_source_union(&explicit, "given with --source-ip")?;
    Ok(source_ips)
}

//! The shared trust part of [`Settings`](super::Settings): the issuer and the audiences every
//! role accepts (who may assume each role is in `roles`), declared by `trust_keys!`.

use super::{Inputs, RoleSettings};
use crate::config::validate as v;
use crate::error::Result;

/// The keys of the issuer, its audiences, and where Atlassian's ranges and API are.
macro_rules! trust_keys {
    ([$next:ident $(, $rest:ident)*] $($declared:tt)*) => {
        $next! { [$($rest),*] $($declared)* {
            pub workspace: Option<String>,
            pub issuer_url: Option<String>,
            pub audience: Vec<String>,
            pub workspace_uuid: Option<String>,
            pub ip_ranges_url: Option<String> = "https://ip-ranges.atlassian.com/",
            /// The Bitbucket API (`--bitbucket-api-url`).
            pub bitbucket_api_url: Option<String> =
                $crate::config::validate::DEFAULT_BITBUCKET_API_URL,
        } }
    };
}
pub(super) use trust_keys;

/// Whom the roles trust, validated: the issuer, the audiences, and where Atlassian publishes
/// its ranges and serves its API.
#[derive(Debug, Clone)]
pub struct TrustSettings {
    pub issuer: Option<Issuer>,
    pub audiences: Vec<String>,
    pub ip_ranges_url: String,
    /// The Bitbucket API: its URL, the workspace, and the names resolved through it.
    pub bitbucket: BitbucketSettings,
}

pub(super) fn trust(i: &Inputs) -> Result<TrustSettings> {
    let issuer = issuer(i)?;
    let audiences = audiences(i)?;
    let ip_ranges_url = v::https_url(
        "--ip-ranges-url",
        i.ip_ranges_url.as_deref().unwrap_or_default(),
        false,
    )?;
    let api_url = v::bitbucket_api_url(i.bitbucket_api_url.as_deref().unwrap_or_default())?;
    let bitbucket = BitbucketSettings {
        api_url,
        workspace: i.workspace.as_deref().map(v::workspace_slug).transpose()?,
        workspace_uuid_given: i.workspace_uuid.is_some(),
        resolved: Vec::new(),
    };
    Ok(TrustSettings {
        issuer,
        audiences,
        ip_ranges_url,
        bitbucket,
    })
}

/// `--workspace SLUG` or `--issuer-url URL`, or none. Given together, the workspace names
/// the Bitbucket workspace for the API and the issuer URL overrides the one derived from it.
fn issuer(i: &Inputs) -> Result<Option<Issuer>> {
    let url = match (i.workspace.as_deref(), i.issuer_url.as_deref()) {
        (Some(slug), None) => Some(v::bitbucket_issuer(&v::workspace_slug(slug)?)),
        (_, Some(url)) => Some(v::issuer_url(url)?),
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

/// The Bitbucket API half: where the API is, which workspace, and the names it resolved.
#[derive(Debug, Clone, Default)]
pub struct BitbucketSettings {
    /// `--bitbucket-api-url`, without a trailing slash.
    pub api_url: String,
    /// The workspace slug (`workspace`), when given.
    pub workspace: Option<String>,
    /// `--workspace-uuid` was given (so the workspace need not be looked up for the audience).
    pub workspace_uuid_given: bool,
    /// Every name resolved through the API, with its UUID (empty until resolved).
    pub resolved: Vec<ResolvedName>,
}

/// A Bitbucket name and the UUID the API gave for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResolvedName {
    /// `workspace`, `repository` or `environment`.
    pub kind: &'static str,
    pub name: String,
    pub uuid: String,
    /// For an environment: the repository (slug or UUID) it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl BitbucketSettings {
    /// The name a `kind` ("repository", "environment") of this UUID was given by, or the
    /// UUID when it was given as one.
    pub fn name_of(&self, kind: &str, uuid: &str) -> String {
        self.resolved
            .iter()
            .find(|n| n.kind == kind && n.uuid == uuid)
            .map_or_else(|| uuid.to_string(), |n| n.name.clone())
    }

    /// Whether any role names a repository or environment by name.
    pub fn names_in(roles: &[RoleSettings]) -> bool {
        roles
            .iter()
            .any(|r| !r.repository_names.is_empty() || !r.environment_names.is_empty())
    }
}

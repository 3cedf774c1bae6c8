//! Many roles in a few calls. Reading a role one by one takes four IAM calls (the role, its
//! inline policy names and documents, its attached policies); for a configuration of many
//! roles, `iam:GetAccountAuthorizationDetails` (every role with its trust policy, inline
//! policies, attached policies, tags and instance profiles) and `iam:ListRoles` (the maximum
//! session duration, which the former lacks) read them all in a page or two each, whatever
//! the number of roles. Credentials that may not call either fall back to the role-by-role
//! reads.

use std::collections::BTreeMap;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{Role, RoleDetail};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::future::try_join_all;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::iam::{is_managed, tag_map, PolicyCache, RoleParts};
use super::ObservedRole;
use crate::aws::{classify, errors, Aws};
use crate::error::Result;
use crate::iam::parse_document;

/// From this many configured roles on, they are read in bulk (the operator policy grants
/// the listing then).
pub(super) use crate::model::operator::BULK_READ_MIN_ROLES as BULK_MIN_ROLES;

/// The most items IAM returns in one page of a listing.
const PAGE_ITEMS: i32 = 1000;

/// The account's roles as its two listings give them, each listed at most once per run
/// however many readers ask: the search for stale roles and the bulk read of many roles.
#[derive(Default)]
pub struct RoleListing {
    roles: OnceCell<Vec<Role>>,
    details: OnceCell<Option<BTreeMap<String, RoleDetail>>>,
}

impl RoleListing {
    /// Every role as `iam:ListRoles` lists it (every page, 1,000 to a page).
    pub async fn roles(
        &self,
        aws: &Aws,
    ) -> std::result::Result<
        &[Role],
        SdkError<aws_sdk_iam::operation::list_roles::ListRolesError, HttpResponse>,
    > {
        let roles = self
            .roles
            .get_or_try_init(|| async {
                let pages: std::result::Result<Vec<_>, _> = aws
                    .iam
                    .list_roles()
                    .max_items(1000)
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await;
                pages.map(|pages| pages.into_iter().flat_map(|p| p.roles).collect::<Vec<_>>())
            })
            .await?;
        Ok(roles.as_slice())
    }

    /// Every role's authorization details (`iam:GetAccountAuthorizationDetails`: trust,
    /// inline policies, attached policies, tags), by name; None when access is denied.
    pub async fn details(&self, aws: &Aws) -> Result<Option<&BTreeMap<String, RoleDetail>>> {
        let details = self.details.get_or_try_init(|| details(aws)).await?;
        Ok(details.as_ref())
    }
}

/// The configured roles (`names`: each role's name and the name of the tool's inline policy
/// on it), in order, read from two account-wide listings; None when these credentials may
/// not list them (the caller reads role by role).
pub(super) async fn roles(
    aws: &Aws,
    listing: &RoleListing,
    names: &[(&str, &str)],
    cache: &PolicyCache,
) -> Result<Option<Vec<Option<ObservedRole>>>> {
    let (details, listed) = tokio::join!(listing.details(aws), listed(aws, listing));
    let (Some(details), Some(listed)) = (details?, listed?) else {
        return Ok(None);
    };
    let reads = names.iter().map(|(name, inline)| {
        let detail = details.get(*name);
        let role = listed.get(*name);
        async move {
            match (detail, role) {
                (Some(d), Some(r)) => observed(aws, d, r, inline, cache).await.map(Some),
                _ => Ok(None),
            }
        }
    });
    Ok(Some(try_join_all(reads).await?))
}

/// Every role's authorization details, by name; None when access is denied.
async fn details(aws: &Aws) -> Result<Option<BTreeMap<String, RoleDetail>>> {
    let pages: std::result::Result<Vec<_>, _> = aws
        .iam
        .get_account_authorization_details()
        .filter(aws_sdk_iam::types::EntityType::Role)
        .max_items(PAGE_ITEMS)
        .into_paginator()
        .send()
        .try_collect()
        .await;
    unless_denied(pages, "reading the account's roles", |pages| {
        pages
            .into_iter()
            .flat_map(|p| p.role_detail_list.unwrap_or_default())
            .filter_map(|d| Some((d.role_name.clone()?, d)))
            .collect()
    })
}

/// Every role as `iam:ListRoles` lists it, by name; None when access is denied.
async fn listed<'l>(
    aws: &Aws,
    listing: &'l RoleListing,
) -> Result<Option<BTreeMap<&'l str, &'l Role>>> {
    let roles = listing.roles(aws).await.map(|roles| roles.iter().collect());
    unless_denied(roles, "listing the account's roles", |roles: Vec<&Role>| {
        roles.into_iter().map(|r| (r.role_name(), r)).collect()
    })
}

/// What `pick` makes of a listing's pages; None when these credentials may not list.
fn unless_denied<P, E, T>(
    pages: std::result::Result<Vec<P>, SdkError<E, HttpResponse>>,
    action: &str,
    pick: impl FnOnce(Vec<P>) -> T,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match pages {
        Ok(pages) => Ok(Some(pick(pages))),
        Err(e) if errors::is(&e, &["AccessDenied"]) => Ok(None),
        Err(e) => Err(classify(&e, action, "iam")),
    }
}

/// One role as the role-by-role reads would observe it.
async fn observed(
    aws: &Aws,
    d: &RoleDetail,
    r: &Role,
    inline_policy_name: &str,
    cache: &PolicyCache,
) -> Result<ObservedRole> {
    let inline: BTreeMap<String, Value> = d
        .role_policy_list()
        .iter()
        .filter_map(|p| {
            let doc = p.policy_document().and_then(parse_document);
            Some((p.policy_name()?.to_string(), doc.unwrap_or(Value::Null)))
        })
        .collect();
    let reads = d
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .map(|arn| async move {
            let doc = cache.document(aws, arn).await?;
            Ok::<_, crate::error::Error>((arn.to_string(), doc.unwrap_or(Value::Null)))
        });
    let managed_documents = try_join_all(reads).await?.into_iter().collect();
    let tags = tag_map(d.tags());
    // As the role-by-role reads: only a role the tool would adopt has its instance profiles.
    let instance_profiles = if is_managed(&tags) {
        Vec::new()
    } else {
        d.instance_profile_list()
            .iter()
            .map(|p| p.instance_profile_name().to_string())
            .collect()
    };
    Ok(RoleParts {
        arn: r.arn(),
        trust: d.assume_role_policy_document(),
        inline,
        inline_policy_name,
        managed_documents,
        boundary: d.permissions_boundary(),
        max_session_duration: r.max_session_duration(),
        tags,
        instance_profiles,
    }
    .observed())
}

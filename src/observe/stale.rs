//! Stale roles: roles of this set (tagged `managed-by=bootstrap` and `bootstrap-set=<set>`,
//! and not a CloudFormation stack's) that the settings no longer name. `plan` and `status` show them; only `init --prune`
//! deletes them.
//!
//! iam:ListRoles answers without tags, so the candidates are the roles whose description is
//! the one bootstrap writes; only those not configured have their tags read.

use serde::Serialize;

use crate::aws::{classify, errors, Aws};
use crate::config::{MANAGED_BY_TAG, SET_TAG};
use crate::error::{Error, Result};
use crate::model::owner::STACK_TAGS;

/// The words every role description bootstrap writes ends with.
const DESCRIPTION_MARK: &str = "(managed by bootstrap)";

/// A role of this set that is not in the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleRole {
    pub name: String,
    pub arn: String,
}

/// The roles tagged with this set that `configured` does not name, sorted by name.
pub async fn roles(aws: &Aws, set: &str, configured: &[String]) -> Result<Vec<StaleRole>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let pages = aws
        .iam
        .list_roles()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&e, "listing roles to find stale ones", "iam"))?;
    // IAM role names are unique without regard to case: a configured name that differs only
    // in case from an existing role cannot be created. Said before the first write.
    for r in pages.iter().flat_map(|p| p.roles().iter()) {
        let name = r.role_name();
        if let Some(c) = configured
            .iter()
            .find(|c| c.as_str() != name && c.eq_ignore_ascii_case(name))
        {
            return Err(Error::usage(format!(
                "role {name} exists; IAM role names are unique without regard to case, so role {c} cannot be created beside it"
            ))
            .resource(c.clone())
            .hint(format!("name the role {name} to manage that one, or give it a name of its own (--role-name, or name in its [[role]] table)")));
        }
    }
    let candidates: Vec<StaleRole> = pages
        .iter()
        .flat_map(|p| p.roles().iter())
        .filter(|r| {
            r.description()
                .is_some_and(|d| d.contains(DESCRIPTION_MARK))
        })
        .filter(|r| !configured.iter().any(|c| c == r.role_name()))
        .map(|r| StaleRole {
            name: r.role_name().to_string(),
            arn: r.arn().to_string(),
        })
        .collect();
    let of_set: Vec<Option<StaleRole>> = stream::iter(candidates)
        .map(|c| async move {
            Ok::<_, crate::error::Error>(in_set(aws, &c.name, set).await?.then_some(c))
        })
        .buffered(super::ROLE_CONCURRENCY)
        .try_collect()
        .await?;
    let mut stale: Vec<StaleRole> = of_set.into_iter().flatten().collect();
    stale.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(stale)
}

/// Whether the role carries `managed-by=bootstrap` and `bootstrap-set=<set>`. A role gone
/// since it was listed is not, nor one whose tags these credentials may not read: an operator
/// policy names this set's roles only, and another set's roles are none of its business.
async fn in_set(aws: &Aws, name: &str, set: &str) -> Result<bool> {
    let pages = match aws
        .iam
        .list_role_tags()
        .role_name(name)
        .into_paginator()
        .send()
        .try_collect()
        .await
    {
        Ok(pages) => pages,
        Err(e) if errors::is(&e, &["NoSuchEntity", "AccessDenied"]) => return Ok(false),
        Err(e) => return Err(classify(&e, "reading the role's tags", name)),
    };
    let tag = |key: &str| {
        pages
            .iter()
            .flat_map(|p| p.tags().iter())
            .find(|t| t.key() == key)
            .map(|t| t.value().to_string())
    };
    // A role a CloudFormation stack owns belongs to the stack, even when tagged with this set.
    let stack = STACK_TAGS.iter().any(|k| tag(k).is_some());
    Ok(tag(MANAGED_BY_TAG.0).as_deref() == Some(MANAGED_BY_TAG.1)
        && tag(SET_TAG).as_deref() == Some(set)
        && !stack)
}

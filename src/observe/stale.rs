//! Stale roles: roles of this set (tagged `managed-by=bootstrap` and `bootstrap-set=<set>`,
//! and not a CloudFormation stack's) that the settings no longer name. `plan` and `status` show them; only `init --prune`
//! deletes them.
//!
//! iam:ListRoles answers without tags, so the candidates are the roles whose description is
//! the one bootstrap writes; only those not configured have their tags read: one by one, or
//! from the account's authorization details when the run reads those anyway (many roles).

use std::collections::BTreeMap;

use aws_sdk_iam::types::RoleDetail;
use serde::Serialize;
use serde_json::Value;

use super::iam::{is_managed, tag_map};
use super::RoleListing;
use crate::aws::{classify, errors, Aws};
use crate::config::SET_TAG;
use crate::error::{Error, Result};
use crate::iam::parse_document;
use crate::model::owner::{foreign_owner, stack_owner, Owner};
use crate::model::STATE_POLICY_NAME;

/// The words every role description bootstrap writes ends with.
const DESCRIPTION_MARK: &str = "(managed by bootstrap)";

/// A role of this set that is not in the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleRole {
    pub name: String,
    pub arn: String,
}

/// A role tagged with this set that a CloudFormation stack owns: not stale, left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRole {
    pub name: String,
    pub stack: Owner,
}

/// Where another owner's role (another set's, or a stack's) keeps its Terraform state, read
/// from the objects its state policy grants (`<bucket ARN>/<prefix>/*`, or `<bucket ARN>/*`
/// at the top of the bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldState {
    pub role: String,
    pub owner: Owner,
    pub bucket_arn: String,
    /// Empty at the top of the bucket.
    pub prefix: String,
}

/// What [`roles`] finds among the roles `configured` does not name, each sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The roles of this set: `init --prune` deletes them.
    pub stale: Vec<StaleRole>,
    /// The roles tagged with this set that a stack owns: never stale, never pruned.
    pub of_stacks: Vec<StackRole>,
    /// The state other owners' roles of the tool keep (those whose tags and policy these
    /// credentials may read), so that no role of this set is given a prefix one of them holds.
    pub held: Vec<HeldState>,
}

/// The roles tagged with this set that `configured` does not name.
pub async fn roles(
    aws: &Aws,
    listing: &RoleListing,
    set: &str,
    configured: &[String],
) -> Result<Found> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let listed = listing
        .roles(aws)
        .await
        .map_err(|e| classify(&e, "listing roles to find stale ones", "iam"))?;
    // IAM role names are unique without regard to case: a configured name that differs only
    // in case from an existing role cannot be created. Said before the first write.
    for r in listed {
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
    let candidates: Vec<StaleRole> = listed
        .iter()
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
    // With many roles, the account's authorization details are read anyway (the bulk read):
    // they hold every candidate's tags and state policy, so none is read one by one.
    let details = if configured.len() >= super::bulk::BULK_MIN_ROLES {
        listing.details(aws).await?
    } else {
        None
    };
    let judged: Vec<(StaleRole, Membership, Option<HeldState>)> = stream::iter(candidates)
        .map(|c| async move {
            let (m, held) = match details {
                Some(details) => judge_detail(details.get(&c.name), &c.name, set),
                None => judge_one(aws, &c.name, set).await?,
            };
            Ok::<_, crate::error::Error>((c, m, held))
        })
        .buffered(super::ROLE_CONCURRENCY)
        .try_collect()
        .await?;
    let mut found = Found::default();
    for (role, m, held) in judged {
        found.held.extend(held);
        match m {
            Membership::Stale => found.stale.push(role),
            Membership::Stack(stack) => found.of_stacks.push(StackRole {
                name: role.name,
                stack,
            }),
            Membership::Foreign(_) | Membership::No => {}
        }
    }
    found.stale.sort_by(|a, b| a.name.cmp(&b.name));
    found.of_stacks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// What the listed role `name` is to the set `set`, and where it keeps its state when another
/// owner's, read role by role. A role gone since it was listed is none of the set's, nor one
/// whose tags these credentials may not read: an operator policy names this set's roles only,
/// and another set's roles are none of its business.
async fn judge_one(aws: &Aws, name: &str, set: &str) -> Result<(Membership, Option<HeldState>)> {
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
        Err(e) if errors::is(&e, &["NoSuchEntity", "AccessDenied"]) => {
            return Ok((Membership::No, None))
        }
        Err(e) => return Err(classify(&e, "reading the role's tags", name)),
    };
    let tags: BTreeMap<String, String> = pages
        .iter()
        .flat_map(|p| p.tags().iter())
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let m = membership(&tags, set);
    let held = match &m {
        Membership::Stack(owner) | Membership::Foreign(owner) => {
            held_state(aws, name, owner).await?
        }
        Membership::Stale | Membership::No => None,
    };
    Ok((m, held))
}

/// [`judge_one`] from the role's authorization details (none: gone since it was listed).
fn judge_detail(
    detail: Option<&RoleDetail>,
    name: &str,
    set: &str,
) -> (Membership, Option<HeldState>) {
    let Some(detail) = detail else {
        return (Membership::No, None);
    };
    let m = membership(&tag_map(detail.tags()), set);
    let held = match &m {
        Membership::Stack(owner) | Membership::Foreign(owner) => detail
            .role_policy_list()
            .iter()
            .find(|p| p.policy_name() == Some(STATE_POLICY_NAME))
            .and_then(|p| p.policy_document().and_then(parse_document))
            .and_then(|doc| held(name, owner, &doc)),
        Membership::Stale | Membership::No => None,
    };
    (m, held)
}

/// What a role tagged `tags` is to the set `set`: one of its roles (`managed-by=bootstrap`
/// and `bootstrap-set=<set>`), one tagged so that a CloudFormation stack owns (the stack's,
/// never stale), another owner's role of the tool, or none of these.
fn membership(tags: &BTreeMap<String, String>, set: &str) -> Membership {
    let managed = is_managed(tags);
    let ours = managed && tags.get(SET_TAG).map(String::as_str) == Some(set);
    // A role a CloudFormation stack owns belongs to the stack, even when tagged with this set.
    match (ours, stack_owner(tags)) {
        (true, Some(stack)) => Membership::Stack(stack),
        (true, None) => Membership::Stale,
        (false, _) if managed => {
            foreign_owner(tags, set).map_or(Membership::No, Membership::Foreign)
        }
        (false, _) => Membership::No,
    }
}

enum Membership {
    Stale,
    Stack(Owner),
    /// A role of the tool that another set or a stack owns.
    Foreign(Owner),
    No,
}

/// Where the role `name` of `owner` keeps its state: the objects its state policy grants.
/// None for a role without one (a `cdk` role), gone since it was listed, or whose policy these
/// credentials may not read.
async fn held_state(aws: &Aws, name: &str, owner: &Owner) -> Result<Option<HeldState>> {
    let read = aws
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(STATE_POLICY_NAME)
        .send()
        .await;
    let doc = match read {
        Ok(out) => parse_document(out.policy_document()),
        Err(e) if errors::is(&e, &["NoSuchEntity", "AccessDenied"]) => return Ok(None),
        Err(e) => return Err(classify(&e, "reading the role's state policy", name)),
    };
    Ok(doc.and_then(|doc| held(name, owner, &doc)))
}

/// Where the state policy `doc` of role `name` of `owner` lets it keep its state.
fn held(name: &str, owner: &Owner, doc: &Value) -> Option<HeldState> {
    state_objects(doc).map(|(bucket_arn, prefix)| HeldState {
        role: name.to_string(),
        owner: owner.clone(),
        bucket_arn,
        prefix,
    })
}

/// The bucket ARN and prefix of the objects a state policy lets its role read
/// (`ReadWriteState` or `ReadState`).
fn state_objects(doc: &Value) -> Option<(String, String)> {
    let statements = doc["Statement"].as_array()?;
    let objects = statements
        .iter()
        .find(|s| matches!(s["Sid"].as_str(), Some("ReadWriteState" | "ReadState")))?["Resource"]
        .as_str()?;
    let (bucket_arn, rest) = objects.split_once('/')?;
    let prefix = rest.strip_suffix('*')?.trim_end_matches('/');
    Some((bucket_arn.to_string(), prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::state_objects;

    #[test]
    fn a_state_policy_names_its_bucket_and_prefix() {
        let doc = |sid: &str, objects: &str| {
            json!({"Statement": [
                {"Sid": "ListStateBucket", "Resource": "arn:aws:s3:::b"},
                {"Sid": sid, "Resource": objects}]})
        };
        let apply = doc("ReadWriteState", "arn:aws:s3:::b/team/app/*");
        assert_eq!(
            state_objects(&apply),
            Some(("arn:aws:s3:::b".into(), "team/app".into()))
        );
        let top = doc("ReadState", "arn:aws:s3:::b/*");
        assert_eq!(
            state_objects(&top),
            Some(("arn:aws:s3:::b".into(), String::new()))
        );
        assert_eq!(state_objects(&doc("Other", "arn:aws:s3:::b/*")), None);
    }
}

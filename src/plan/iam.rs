//! The OIDC provider's and the role's plans: create them, or bring an existing one to the
//! desired audiences, thumbprints, policies and limits (adopting one the tool did not create).

use std::collections::BTreeMap;

use super::ownership::{is_managed, tags_to_add};
use super::{names, FieldChange, FieldValue, Kind, Op, ResourcePlan};
use crate::error::{Error, Result};
use crate::iam::same;
use crate::model::admin::admin_statement;
use crate::model::owner::foreign_owner;
use crate::model::state::STATE_PREFIX_TAG;
use crate::model::{DesiredProvider, DesiredRole, SET_TAG};
use crate::observe::{ObservedProvider, ObservedRole};

// The one merge rule, shared with CloudFormation mode's `ThumbprintList`.
use crate::model::thumbprints::rotated as rotate;

pub fn provider(d: &DesiredProvider, o: Option<&ObservedProvider>) -> ResourcePlan {
    let Some(o) = o else {
        let changes = vec![
            FieldChange::new("url", "", &d.url),
            FieldChange::new("audiences", "", names(&d.client_ids)),
            FieldChange::new("thumbprints", "", names(&d.thumbprints)),
        ];
        return ResourcePlan::new(
            Kind::OidcProvider,
            &d.arn,
            false,
            changes,
            vec![Op::CreateProvider],
        );
    };
    let mut changes = Vec::new();
    let mut ops = Vec::new();
    let missing: Vec<String> = d
        .client_ids
        .iter()
        .filter(|c| !o.client_ids.contains(c))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let mut after = o.client_ids.clone();
        after.extend(missing.iter().cloned());
        changes.push(FieldChange::new(
            "audiences",
            names(&o.client_ids),
            names(&after),
        ));
        ops.extend(
            missing
                .into_iter()
                .map(|client_id| Op::AddClientId { client_id }),
        );
    }
    if let Some(list) = rotate(&d.thumbprints, &o.thumbprints) {
        changes.push(FieldChange::new(
            "thumbprints",
            names(&o.thumbprints),
            names(&list),
        ));
        ops.push(Op::UpdateThumbprints { thumbprints: list });
    }
    let plan = ResourcePlan::new(Kind::OidcProvider, &d.arn, true, changes, ops);
    if is_managed(&o.tags) {
        return plan;
    }
    let tags = tags_to_add(&d.tags, &o.tags);
    plan.adopting(tags.clone(), Op::TagProvider { tags })
}

/// How two policy documents differ, for the plan: both documents and their line diff.
pub fn policy_change(
    field: &str,
    from: Option<&serde_json::Value>,
    to: &serde_json::Value,
) -> FieldChange {
    FieldChange::document(field, from, to)
}

/// The role's plan. A role of another set (its `bootstrap-set` tag, whatever its
/// `managed-by` tag says) or of a CloudFormation stack is refused: it is never written nor
/// adopted, so two configurations never write the same role.
pub fn role(d: &DesiredRole, o: Option<&ObservedRole>) -> Result<ResourcePlan> {
    let Some(o) = o else {
        return Ok(new_role(d));
    };
    let want_set = d.tags.get(SET_TAG).map(String::as_str);
    let have_set = o.tags.get(SET_TAG).map(String::as_str);
    if let Some(owner) = foreign_owner(&o.tags, want_set.unwrap_or_default()) {
        return Err(Error::failure(format!(
            "not written: {}",
            owner.describe(want_set.unwrap_or_default())
        ))
        .resource(d.name.clone())
        .hint(owner.hint()));
    }
    if !is_managed(&o.tags) && !o.instance_profiles.is_empty() {
        return Err(Error::usage(format!(
            "not adopted: it is in instance profile(s) {}, so EC2 instances may depend on it (adopting would replace its trust policy)",
            o.instance_profiles.join(", ")
        ))
        .resource(d.name.clone())
        .hint("give this role another name (--role-name, or name in its [[role]] table); bootstrap never adopts a role an instance profile holds"));
    }
    let mut diff = super::Diff::default();
    documents(d, o, &mut diff);
    managed_policies(d, o, &mut diff);
    limits(d, o, &mut diff);
    if is_managed(&o.tags) {
        own_tags(
            d,
            o,
            have_set.is_none().then_some(want_set).flatten(),
            &mut diff,
        );
    }
    let plan = ResourcePlan::new(Kind::Role, &d.name, true, diff.changes, diff.ops);
    if is_managed(&o.tags) {
        return Ok(plan);
    }
    let tags = tags_to_add(&d.tags, &o.tags);
    Ok(plan.adopting(tags.clone(), Op::TagRole { tags }))
}

/// A managed role's own tags: `bootstrap-set` added when missing (a role from before sets),
/// `bootstrap-state-prefix` (which the bucket policy's confinement keys on) added, changed or
/// removed to match the desired role.
fn own_tags(d: &DesiredRole, o: &ObservedRole, set: Option<&str>, diff: &mut super::Diff) {
    let mut tags = BTreeMap::new();
    if let Some(set) = set {
        tags.insert(SET_TAG.to_string(), set.to_string());
        diff.changes
            .push(FieldChange::new("set", FieldValue::Absent, set));
    }
    let want = d.tags.get(STATE_PREFIX_TAG);
    let have = o.tags.get(STATE_PREFIX_TAG);
    let shown = |v: Option<&String>| v.map_or(FieldValue::Absent, FieldValue::from);
    if want != have {
        diff.changes.push(FieldChange::new(
            &format!("tag {STATE_PREFIX_TAG}"),
            shown(have),
            shown(want),
        ));
    }
    match (want, have) {
        (Some(w), h) if h != Some(w) => {
            tags.insert(STATE_PREFIX_TAG.to_string(), w.clone());
        }
        (None, Some(_)) => diff.ops.push(Op::UntagRole {
            keys: vec![STATE_PREFIX_TAG.to_string()],
        }),
        _ => {}
    }
    if !tags.is_empty() {
        diff.ops.insert(0, Op::TagRole { tags });
    }
}

/// A role that does not exist yet: create it, write its policy, attach `--policy-arn`s.
fn new_role(d: &DesiredRole) -> ResourcePlan {
    let mut ops = vec![Op::CreateRole, Op::PutInlinePolicy];
    ops.extend(
        d.managed_policies
            .iter()
            .map(|arn| Op::AttachPolicy { arn: arn.clone() }),
    );
    let mut changes = vec![
        policy_change("trust policy", None, &d.trust_policy),
        policy_change(
            &format!("inline policy {}", d.inline_policy_name),
            None,
            &d.inline_policy,
        ),
        FieldChange::new(
            "max session duration",
            "",
            d.max_session_duration.to_string(),
        ),
    ];
    if !d.managed_policies.is_empty() {
        changes.push(FieldChange::new(
            "managed policies",
            "",
            names(&d.managed_policies),
        ));
    }
    if let Some(b) = &d.permissions_boundary {
        changes.push(FieldChange::new("permissions boundary", "", b));
    }
    ResourcePlan::new(Kind::Role, &d.name, false, changes, ops)
}

/// The trust policy and the inline policies: the tool's own is rewritten when it differs,
/// every other one is deleted.
fn documents(d: &DesiredRole, o: &ObservedRole, diff: &mut super::Diff) {
    if !same(&d.trust_policy, &o.trust_policy) {
        let change = policy_change("trust policy", Some(&o.trust_policy), &d.trust_policy);
        diff.add(change, Op::UpdateTrustPolicy);
    }
    if !o
        .inline_policy
        .as_ref()
        .is_some_and(|p| same(p, &d.inline_policy))
    {
        let change = policy_change(
            &format!("inline policy {}", d.inline_policy_name),
            o.inline_policy.as_ref(),
            &d.inline_policy,
        );
        diff.add(change, Op::PutInlinePolicy);
    }
    for (name, doc) in &o.foreign_inline_policies {
        let change = FieldChange::new(
            &format!("inline policy {name}"),
            FieldValue::Foreign(admin_statement(doc)),
            FieldValue::Deleted,
        );
        diff.add(change, Op::DeleteInlinePolicy { name: name.clone() });
    }
}

/// Exactly the `--policy-arn`s attached: the missing ones attached, the others detached
/// (an administrator-equivalent one named as such).
fn managed_policies(d: &DesiredRole, o: &ObservedRole, diff: &mut super::Diff) {
    let attach: Vec<&String> = d
        .managed_policies
        .iter()
        .filter(|p| !o.managed_policies.contains(p))
        .collect();
    let detach: Vec<&String> = o
        .managed_policies
        .iter()
        .filter(|p| !d.managed_policies.contains(p))
        .collect();
    if attach.is_empty() && detach.is_empty() {
        return;
    }
    diff.changes.push(FieldChange::new(
        "managed policies",
        names(&o.managed_policies),
        names(&d.managed_policies),
    ));
    for arn in &detach {
        if let Some(admin) = o.managed_documents.get(*arn).and_then(admin_statement) {
            diff.changes.push(FieldChange::new(
                &format!("managed policy {arn}"),
                FieldValue::AttachedAdmin(admin),
                FieldValue::Detached,
            ));
        }
    }
    let attach = attach
        .into_iter()
        .map(|arn| Op::AttachPolicy { arn: arn.clone() });
    let detach = detach
        .into_iter()
        .map(|arn| Op::DetachPolicy { arn: arn.clone() });
    diff.ops.extend(attach.chain(detach));
}

/// The maximum session duration and the permissions boundary.
fn limits(d: &DesiredRole, o: &ObservedRole, diff: &mut super::Diff) {
    if o.max_session_duration != d.max_session_duration {
        let change = FieldChange::new(
            "max session duration",
            o.max_session_duration.to_string(),
            d.max_session_duration.to_string(),
        );
        diff.add(change, Op::UpdateMaxSessionDuration);
    }
    match (&o.permissions_boundary, &d.permissions_boundary) {
        (a, Some(b)) if a.as_ref() != Some(b) => {
            let from = a.clone().unwrap_or_default();
            diff.add(
                FieldChange::new("permissions boundary", from, b),
                Op::PutPermissionsBoundary,
            );
        }
        (Some(a), None) => diff.add(
            FieldChange::new("permissions boundary", a, FieldValue::Absent),
            Op::DeletePermissionsBoundary,
        ),
        _ => {}
    }
}

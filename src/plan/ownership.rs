//! Who owns a live resource, and what on a role is administrator-equivalent.
//!
//! A resource tagged `managed-by=bootstrap` was created (or adopted) by the tool. One without
//! the tag is adopted: the plan says so, and applying it adds the tool's tags. The
//! `bootstrap-version` tag is written with `managed-by` and never rewritten on its own, so a
//! re-run after an upgrade changes nothing.

use std::collections::BTreeMap;

use super::{FieldChange, FieldValue};
use crate::model::admin::{admin_statement, AdminStatement};
use crate::model::{MANAGED_BY_TAG, VERSION_TAG};
use crate::observe::ObservedRole;

/// Whether live tags mark a resource as the tool's.
pub fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_TAG.0).map(String::as_str) == Some(MANAGED_BY_TAG.1)
}

/// The desired tags `have` lacks (or holds with another value). The version tag is added
/// only to a resource that is not the tool's yet, and never replaced.
pub fn tags_to_add(
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let adopting = !is_managed(have);
    want.iter()
        .filter(|(k, v)| {
            if k.as_str() == VERSION_TAG.0 {
                adopting && !have.contains_key(*k)
            } else {
                have.get(*k) != Some(*v)
            }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The plan line for adopting a resource the tool did not create.
pub fn adoption_change(tags: &BTreeMap<String, String>) -> FieldChange {
    FieldChange::new(
        "ownership",
        "not created by bootstrap (no managed-by=bootstrap tag)",
        FieldValue::Adopted(tags.clone()),
    )
}

/// One admin-equivalent document found on a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminDocument {
    /// `inline policy NAME` or `managed policy ARN`.
    pub source: String,
    /// The managed policy's ARN, when it is one.
    pub managed_arn: Option<String>,
    pub statement: AdminStatement,
}

impl std::fmt::Display for AdminDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source, self.statement)
    }
}

/// Every administrator-equivalent document on the role, inline or attached, however it got
/// there: the tool's own state policy is judged like any other.
pub fn admin_documents(o: &ObservedRole, own_inline_name: &str) -> Vec<AdminDocument> {
    let own = o.inline_policy.iter().map(|doc| (own_inline_name, doc));
    let inline = own
        .chain(
            o.foreign_inline_policies
                .iter()
                .map(|(n, d)| (n.as_str(), d)),
        )
        .filter_map(|(name, doc)| {
            Some(AdminDocument {
                source: format!("inline policy {name}"),
                managed_arn: None,
                statement: admin_statement(doc)?,
            })
        });
    let managed = o.managed_documents.iter().filter_map(|(arn, doc)| {
        Some(AdminDocument {
            source: format!("managed policy {arn}"),
            managed_arn: Some(arn.clone()),
            statement: admin_statement(doc)?,
        })
    });
    inline.chain(managed).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::owner::tests::tags;
    use crate::model::{DesiredBucket, DesiredRole};
    use crate::observe::{Encryption, ObservedBucket};
    use crate::plan::Op;

    fn ours() -> BTreeMap<String, String> {
        tags(&[MANAGED_BY_TAG, VERSION_TAG])
    }

    fn desired_role() -> DesiredRole {
        DesiredRole {
            name: "deploy".into(),
            access: crate::config::Access::Apply,
            repositories: Vec::new(),
            environments: Vec::new(),
            allow_any_repository: false,
            allow_admin: false,
            arn: "arn:aws:iam::123456789012:role/deploy".into(),
            description: String::new(),
            trust_policy: json!({"Statement": []}),
            inline_policy_name: "terraform-state-access".into(),
            inline_policy: json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
            managed_policies: Vec::new(),
            permissions_boundary: None,
            max_session_duration: 3600,
            tags: ours(),
            state_key_prefix: Some(String::new()),
        }
    }

    fn observed_role(d: &DesiredRole, tags: BTreeMap<String, String>) -> ObservedRole {
        ObservedRole {
            arn: d.arn.clone(),
            trust_policy: d.trust_policy.clone(),
            inline_policy: Some(d.inline_policy.clone()),
            foreign_inline_policies: BTreeMap::new(),
            managed_policies: Vec::new(),
            managed_documents: BTreeMap::new(),
            permissions_boundary: None,
            max_session_duration: 3600,
            tags,
            instance_profiles: Vec::new(),
        }
    }

    #[test]
    fn version_tags_are_added_on_adoption_only_and_never_replaced() {
        let want = tags(&[MANAGED_BY_TAG, VERSION_TAG, ("team", "platform")]);
        // Created by an older release: nothing to add but a missing user tag.
        let old = tags(&[MANAGED_BY_TAG, (VERSION_TAG.0, "0.0.1")]);
        assert_eq!(tags_to_add(&want, &old), tags(&[("team", "platform")]));
        let older = tags(&[MANAGED_BY_TAG, ("team", "platform")]);
        assert!(tags_to_add(&want, &older).is_empty());
        // Not the tool's: everything, the version too.
        assert_eq!(tags_to_add(&want, &tags(&[("owner", "me")])), want);
    }

    #[test]
    fn a_foreign_inline_policy_is_planned_for_deletion_and_judged() {
        let d = desired_role();
        let mut o = observed_role(&d, ours());
        assert!(crate::plan::iam::role(&d, Some(&o)).unwrap().ops.is_empty());
        o.foreign_inline_policies.insert(
            "extra".into(),
            json!({"Statement": {"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}}),
        );
        o.foreign_inline_policies.insert(
            "reads".into(),
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
        );
        let plan = crate::plan::iam::role(&d, Some(&o)).unwrap();
        assert!(!plan.adopt);
        let deleted: Vec<String> = plan
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::DeleteInlinePolicy { name } => Some(name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["extra", "reads"]);
        let extra = plan
            .changes
            .iter()
            .find(|c| c.field == "inline policy extra")
            .unwrap();
        assert!(
            extra
                .from
                .to_string()
                .contains("ADMIN-EQUIVALENT: statement 1 allows every action except s3:GetObject"),
            "{extra:?}"
        );
        let reads = plan
            .changes
            .iter()
            .find(|c| c.field == "inline policy reads")
            .unwrap();
        assert!(!reads.from.to_string().contains("ADMIN"), "{reads:?}");
        let found = admin_documents(&o, &d.inline_policy_name);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].source, "inline policy extra");
    }

    #[test]
    fn an_untagged_role_is_adopted_and_tagged() {
        let d = desired_role();
        let o = observed_role(&d, tags(&[("owner", "someone")]));
        let plan = crate::plan::iam::role(&d, Some(&o)).unwrap();
        assert!(plan.adopt);
        assert_eq!(plan.action, crate::plan::Action::Update);
        assert_eq!(plan.changes[0].field, "ownership");
        assert!(matches!(&plan.ops[..], [Op::TagRole { tags }] if *tags == ours()));
    }

    #[test]
    fn a_managed_role_s_state_prefix_tag_follows_the_desired_role() {
        use crate::model::state::STATE_PREFIX_TAG as TAG;
        let mut d = desired_role();
        d.tags.insert(TAG.into(), "infra".into());
        let plan_for = |d: &DesiredRole, live: &[(&str, &str)]| {
            let mut t = ours();
            t.extend(tags(live));
            crate::plan::iam::role(d, Some(&observed_role(d, t))).unwrap()
        };
        // Missing (a role from before the prefix) or different: tagged, shown as a change.
        for (live, from) in [(&[][..], "(none)"), (&[(TAG, "old")][..], "old")] {
            let plan = plan_for(&d, live);
            assert!(!plan.adopt);
            assert_eq!(plan.action, crate::plan::Action::Update);
            let change = &plan.changes[0];
            assert_eq!(
                (change.from.to_string(), change.to.to_string()),
                (from.to_string(), "infra".to_string())
            );
            assert_eq!(change.field, format!("tag {TAG}"));
            let want = tags(&[(TAG, "infra")]);
            assert!(matches!(&plan.ops[..], [Op::TagRole { tags }] if *tags == want));
        }
        // The same: nothing to do.
        assert!(plan_for(&d, &[(TAG, "infra")]).ops.is_empty());
        // The desired role has none: the live tag goes.
        d.tags.remove(TAG);
        let plan = plan_for(&d, &[(TAG, "infra")]);
        assert_eq!(plan.changes[0].to.to_string(), "(none)");
        assert!(matches!(&plan.ops[..], [Op::UntagRole { keys }] if keys == &[TAG]));
    }

    fn desired_bucket(kms_key: Option<&str>, allow: bool) -> DesiredBucket {
        DesiredBucket {
            name: "tf-state".into(),
            arn: "arn:aws:s3:::tf-state".into(),
            region: "eu-west-1".into(),
            kms_key: kms_key.map(str::to_string),
            allow_encryption_downgrade: allow,
            noncurrent_days: 90,
            namespace: crate::model::namespace::Namespace::Global,
            namespace_note: None,
            global_default: None,
            policy_statements: Vec::new(),
            tags: ours(),
        }
    }

    fn kms_bucket(key: &str) -> ObservedBucket {
        ObservedBucket {
            versioning: Some("Enabled".into()),
            encryption: Some(Encryption {
                algorithm: "aws:kms".into(),
                kms_key: Some(key.into()),
                bucket_key: true,
            }),
            public_access_block: Some([true; 4]),
            ownership: Some("BucketOwnerEnforced".into()),
            policy: None,
            lifecycle: Vec::new(),
            tags: ours(),
            lifecycle_raw: Vec::new(),
        }
    }

    #[test]
    fn an_sse_kms_bucket_is_not_downgraded_without_the_flag() {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/abcd";
        let o = kms_bucket(key);
        let e = crate::plan::bucket::bucket(&desired_bucket(None, false), Some(&o)).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert_eq!(e.resource.as_deref(), Some("tf-state"));
        let text = e.to_string();
        for part in [
            key,
            "SSE-S3",
            "--kms-key arn:",
            "--allow-encryption-downgrade",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let kept =
            crate::plan::bucket::bucket(&desired_bucket(Some(key), false), Some(&o)).unwrap();
        assert!(!kept.ops.iter().any(|op| matches!(op, Op::PutEncryption)));
        let switched = crate::plan::bucket::bucket(&desired_bucket(None, true), Some(&o)).unwrap();
        assert!(switched
            .ops
            .iter()
            .any(|op| matches!(op, Op::PutEncryption)));
    }
}

//! The destroy plan (refusals included), from what was read.

use std::collections::BTreeMap;

use super::*;
use crate::model::{Account, MANAGED_BY_TAG};
use crate::observe::destroy::FoundTable;

/// The tags of a resource the tool created.
fn ours() -> Tags {
    [(MANAGED_BY_TAG.0.to_string(), MANAGED_BY_TAG.1.to_string())].into()
}

fn targets(delete_state: bool, force: bool) -> Targets {
    Targets {
        account: Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        },
        provider_arn: "arn:aws:iam::123456789012:oidc-provider/example.com/oidc".into(),
        role_names: vec!["deploy".into()],
        remaining_roles: vec![],
        bucket: "tf-state".into(),
        table: Some("locks".into()),
        delete_state,
        force,
        set: "team-a".into(),
    }
}

/// A role the tool created, trusting the provider, with one inline and one managed policy.
fn found_role(name: &str) -> FoundRole {
    FoundRole {
        arn: format!("arn:aws:iam::123456789012:role/{name}"),
        inline_policies: vec!["terraform-state-access".into()],
        managed_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        instance_profiles: vec![],
        trusts_provider: true,
        tags: ours(),
    }
}

fn everything() -> Found {
    Found {
        provider: Some(ours()),
        roles: [("deploy".to_string(), found_role("deploy"))].into(),
        trusting_roles: vec![],
        bucket: true,
        bucket_contents: None,
        bucket_tags: Some(ours()),
        table: Some(FoundTable {
            deletion_protection: true,
            status: "ACTIVE".into(),
            held_locks: vec![],
            tags: Some(ours()),
        }),
    }
}

#[test]
fn by_default_role_and_provider_go_and_state_stays() {
    let p = plan(&targets(false, false), &everything());
    let role = p.get(Kind::Role).unwrap();
    assert_eq!(role.action, Action::Delete);
    // Inline policies and attachments before the role itself.
    assert_eq!(role.ops.last(), Some(&Op::DeleteRole));
    assert!(role.ops.contains(&Op::DeleteInlinePolicy {
        name: "terraform-state-access".into()
    }));
    assert!(role.ops.contains(&Op::DetachPolicy {
        arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into()
    }));
    assert_eq!(p.get(Kind::OidcProvider).unwrap().action, Action::Delete);
    assert_eq!(p.get(Kind::StateBucket).unwrap().action, Action::Keep);
    assert_eq!(p.get(Kind::LockTable).unwrap().action, Action::Keep);
    assert!(p.refusal_error().is_none());
}

#[test]
fn a_provider_other_roles_trust_is_kept_with_the_state_even_with_force() {
    let mut f = everything();
    f.trusting_roles = vec!["b-apply".into(), "b-plan".into()];
    f.bucket_contents = Some(BucketContents::default());
    // --force deletes untagged resources; it never takes a provider or state that other
    // roles still trust or use.
    for t in [
        targets(true, false),
        targets(true, true),
        targets(false, true),
    ] {
        let p = plan(&t, &f);
        assert!(p.refusal_error().is_none());
        assert_eq!(p.get(Kind::Role).unwrap().action, Action::Delete);
        assert!(p.get(Kind::OidcProvider).unwrap().ops.is_empty());
        // Without --delete-state the bucket and table stay anyway, for that reason.
        let kinds: &[Kind] = if t.delete_state {
            &[Kind::OidcProvider, Kind::StateBucket, Kind::LockTable]
        } else {
            &[Kind::OidcProvider]
        };
        for &kind in kinds {
            let item = p.get(kind).unwrap();
            assert_eq!(item.action, Action::Keep, "{item:?}");
            assert!(
                item.notes[0].to_string().contains("b-apply, b-plan"),
                "{item:?}"
            );
        }
    }
}

#[test]
fn a_role_of_another_set_or_of_a_stack_is_refused_even_with_force() {
    let set_b = |r: &mut FoundRole| {
        r.tags.insert("bootstrap-set".into(), "team-b".into());
    };
    let stack = |r: &mut FoundRole| {
        r.tags.insert("bootstrap-set".into(), "team-a".into());
        r.tags
            .insert("aws:cloudformation:stack-name".into(), "boot".into());
    };
    // What bootstrap's own template puts on a stack's role (CloudFormation adds no
    // aws:cloudformation:* tags to IAM roles).
    let template = |r: &mut FoundRole| {
        r.tags.insert("bootstrap-set".into(), "team-a".into());
        r.tags.insert("bootstrap-stack".into(), "boot".into());
    };
    let edited = |r: &mut FoundRole| {
        r.tags.insert("bootstrap-set".into(), "team-b".into());
        r.tags.insert("managed-by".into(), "terraform".into());
    };
    for (change, word) in [
        (&set_b as &dyn Fn(&mut FoundRole), "bootstrap-set=team-b"),
        (&stack, "CloudFormation stack boot"),
        (&template, "CloudFormation stack boot (tag bootstrap-stack)"),
        (&edited, "bootstrap-set=team-b"),
    ] {
        let mut f = everything();
        change(f.roles.get_mut("deploy").unwrap());
        for force in [false, true] {
            let p = plan(&targets(false, force), &f);
            let role = p.get(Kind::Role).unwrap();
            assert_eq!(role.action, Action::Refused, "{role:?}");
            assert!(role.ops.is_empty());
            let e = p.refusal_error().unwrap();
            assert_eq!(e.exit_code(), 64);
            assert!(e.message.contains(word), "{e}");
        }
    }
    // This set's own role, and a role of no set, go as before.
    let mut f = everything();
    let r = f.roles.get_mut("deploy").unwrap();
    r.tags.insert("bootstrap-set".into(), "team-a".into());
    assert_eq!(
        plan(&targets(false, false), &f)
            .get(Kind::Role)
            .unwrap()
            .action,
        Action::Delete
    );
}

#[test]
fn a_bucket_with_any_version_or_marker_is_never_deleted() {
    for (versions, markers) in [(1, 0), (0, 1), (3, 2)] {
        let mut f = everything();
        f.bucket_contents = Some(BucketContents {
            versions,
            current: versions.min(1),
            delete_markers: markers,
            sample: [("env/prod.tfstate".to_string(), versions + markers)].into(),
            keys: 1,
        });
        for force in [false, true] {
            let p = plan(&targets(true, force), &f);
            let b = p.get(Kind::StateBucket).unwrap();
            assert_eq!(b.action, Action::Refused);
            assert!(b.ops.is_empty());
            let e = p.refusal_error().unwrap();
            assert!(e.message.contains("env/prod.tfstate"), "{e}");
        }
    }
    let mut f = everything();
    f.bucket_contents = Some(BucketContents::default());
    let p = plan(&targets(true, false), &f);
    assert_eq!(
        p.get(Kind::StateBucket).unwrap().ops,
        vec![Op::DeleteBucket]
    );
    assert_eq!(
        p.get(Kind::LockTable).unwrap().ops,
        vec![Op::DisableDeletionProtection, Op::DeleteTable]
    );
}

#[test]
fn a_held_lock_keeps_the_table() {
    let mut f = everything();
    f.bucket_contents = Some(BucketContents::default());
    f.table.as_mut().unwrap().held_locks = vec!["tf-state/prod.tfstate".into()];
    let p = plan(&targets(true, true), &f);
    assert_eq!(p.get(Kind::LockTable).unwrap().action, Action::Refused);
}

#[test]
fn an_untagged_resource_is_deleted_only_with_force() {
    let mut f = everything();
    f.provider = Some(Tags::new());
    f.roles.get_mut("deploy").unwrap().tags = Tags::new();
    f.bucket_contents = Some(BucketContents::default());
    f.bucket_tags = Some(Tags::new());
    f.table.as_mut().unwrap().tags = Some(Tags::new());
    let kinds = [
        Kind::Role,
        Kind::OidcProvider,
        Kind::StateBucket,
        Kind::LockTable,
    ];
    let p = plan(&targets(true, false), &f);
    for kind in kinds {
        let item = p.get(kind).unwrap();
        assert_eq!(item.action, Action::Refused, "{kind:?}");
        assert!(item.ops.is_empty(), "{kind:?}");
    }
    let e = p.refusal_error().unwrap();
    assert_eq!(e.exit_code(), 64);
    for name in [
        "role deploy",
        "oidc-provider/example.com",
        "tf-state",
        "locks",
    ] {
        assert!(e.message.contains(name), "{name}: {e}");
    }
    assert!(e.message.contains("managed-by=bootstrap"), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");

    let p = plan(&targets(true, true), &f);
    assert!(p.refusal_error().is_none());
    for kind in kinds {
        let item = p.get(kind).unwrap();
        assert_eq!(item.action, Action::Delete, "{kind:?}");
        assert!(
            item.notes.iter().any(|n| n.to_string().contains("--force")),
            "{kind:?}"
        );
    }
    // Tagged resources need no --force.
    let p = plan(&targets(true, false), &{
        let mut f = everything();
        f.bucket_contents = Some(BucketContents::default());
        f
    });
    assert!(p.refusal_error().is_none());
}

#[test]
fn nothing_left_means_nothing_to_do() {
    let f = Found {
        provider: None,
        roles: BTreeMap::new(),
        trusting_roles: vec![],
        bucket: false,
        bucket_contents: None,
        bucket_tags: None,
        table: None,
    };
    let p = plan(&targets(true, false), &f);
    assert!(!p.has_deletions());
    assert!(p.refusal_error().is_none());
}

#[test]
fn some_roles_go_and_the_shared_resources_stay_while_others_remain() {
    let mut t = targets(true, false);
    t.role_names = vec!["deploy".into(), "plan".into()];
    t.remaining_roles = vec!["cdk".into()];
    let mut f = everything();
    f.roles.insert("plan".into(), found_role("plan"));
    f.trusting_roles = vec!["cdk".into()];
    f.bucket_contents = Some(BucketContents::default());
    let p = plan(&t, &f);
    assert!(p.refusal_error().is_none());
    let roles: Vec<&str> = p.role_ops().iter().map(|(name, _)| *name).collect();
    assert_eq!(roles, ["deploy", "plan"]);
    for kind in [Kind::OidcProvider, Kind::StateBucket, Kind::LockTable] {
        let item = p.get(kind).unwrap();
        assert_eq!(item.action, Action::Keep, "{kind:?}");
        assert!(
            item.notes.iter().any(|n| n.to_string().contains("cdk")),
            "{kind:?}"
        );
    }
}

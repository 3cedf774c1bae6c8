//! State per repository, judged by the project's IAM evaluator over every pair of roles:
//! each role's identity policies (with the `ReadOnlyAccess` a plan role holds) and the
//! bucket policy together let no role read, write or delete another repository's state.

use serde_json::{json, Value};

use super::*;
use crate::config::parse_file;
use crate::config::Inputs;
use crate::iam::evaluate_all;
use crate::iam::Access as Request;

const A: &str = "{aaaaaaaa-2222-3333-4444-555555555555}";
const B: &str = "{bbbbbbbb-2222-3333-4444-555555555555}";
const C: &str = "{cccccccc-2222-3333-4444-555555555555}";
const ENV: &str = "{eeeeeeee-2222-3333-4444-555555555555}";

/// What AWS's ReadOnlyAccess grants on S3 (`s3:Get*` and `s3:List*` on every resource).
fn read_only_access() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]})
}

fn desired_of(file: &str) -> DesiredState {
    let i = parse_file(file).expect("the file parses").overlay(Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        state_bucket: Some("org-state".into()),
        ..Default::default()
    });
    let settings = Settings::from_inputs(i).expect("valid settings");
    desired(&settings, &account(), &[], &[]).expect("desired state")
}

/// Two teams' worth of repositories: plan/apply pairs for A and B, one apply role for C,
/// and a CDK role.
fn organisation() -> String {
    let role = |name: &str, access: &str, repo: &str, extra: &str| {
        format!("[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{repo}\"]\n{extra}\n")
    };
    let env = format!("environment-uuid = [\"{ENV}\"]");
    [
        role("infra-plan", "plan", A, ""),
        role("infra-apply", "apply", A, &env),
        role("web-plan", "plan", B, ""),
        role("web-apply", "apply", B, &env),
        role("ops", "apply", C, "state-key-prefix = \"teams/ops\""),
        role("app-cdk", "cdk", C, ""),
    ]
    .concat()
}

/// Every object of a prefix's state: the default workspace's state, its lock, another
/// workspace's state and its lock.
fn objects(prefix: &str) -> Vec<String> {
    let p = |k: &str| {
        if prefix.is_empty() {
            format!("arn:aws:s3:::org-state/{k}")
        } else {
            format!("arn:aws:s3:::org-state/{prefix}/{k}")
        }
    };
    let ws = state::workspace_key_prefix(prefix);
    vec![
        p("terraform.tfstate"),
        p("terraform.tfstate.tflock"),
        format!(
            "arn:aws:s3:::org-state/{ws}/dev/{}",
            state::state_key(prefix)
        ),
        format!(
            "arn:aws:s3:::org-state/{ws}/dev/{}.tflock",
            state::state_key(prefix)
        ),
    ]
}

/// Whether `role` may do `action` on `resource`, with every policy that applies.
fn may(role: &DesiredRole, bucket_policy: Option<&Value>, action: &str, resource: &str) -> bool {
    let read_only = read_only_access();
    let mut identity = vec![&role.inline_policy];
    if role
        .managed_policies
        .iter()
        .any(|m| m.ends_with("/ReadOnlyAccess"))
    {
        identity.push(&read_only);
    }
    let mut access = Request::new(action, resource).with("aws:PrincipalArn", [role.arn.as_str()]);
    if let Some(set) = role.tags.get(crate::config::SET_TAG) {
        access = access.with(
            format!("aws:PrincipalTag/{}", crate::config::SET_TAG),
            [set.as_str()],
        );
    }
    if let Some(p) = role.tags.get(state::STATE_PREFIX_TAG) {
        access = access.with(
            format!("aws:PrincipalTag/{}", state::STATE_PREFIX_TAG),
            [p.as_str()],
        );
    }
    evaluate_all(&identity, bucket_policy, &access).allowed
}

const ACTIONS: [&str; 5] = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
];

#[test]
fn no_role_reads_writes_or_deletes_another_repository_s_state() {
    let d = desired_of(&organisation());
    let bucket_policy = policy::merge_bucket_policy(None, &d.bucket.policy_statements);
    let prefixes: Vec<(&str, &str)> = d
        .roles
        .iter()
        .filter_map(|r| Some((r.name.as_str(), r.state_key_prefix.as_deref()?)))
        .collect();
    assert_eq!(
        prefixes,
        [
            ("infra-plan", "infra"),
            ("infra-apply", "infra"),
            ("web-plan", "web"),
            ("web-apply", "web"),
            ("ops", "teams/ops"),
        ]
    );
    let mut checked = 0;
    for r in &d.roles {
        for (owner, prefix) in &prefixes {
            let own = r.state_key_prefix.as_deref() == Some(*prefix);
            for object in objects(prefix) {
                for action in ACTIONS {
                    let allowed = may(r, Some(&bucket_policy), action, &object);
                    if !own {
                        assert!(!allowed, "{} may {action} {object} of {owner}", r.name);
                        checked += 1;
                    }
                }
            }
        }
        // Nothing at the top of the bucket either (a one-role setup's state).
        for object in objects("") {
            for action in ACTIONS {
                assert!(
                    !may(r, Some(&bucket_policy), action, &object),
                    "{} may {action} {object}",
                    r.name
                );
            }
        }
    }
    assert!(checked > 300, "{checked}");
}

#[test]
fn each_role_keeps_what_its_access_kind_needs_of_its_own_state() {
    let d = desired_of(&organisation());
    let bucket_policy = policy::merge_bucket_policy(None, &d.bucket.policy_statements);
    for r in d.roles.iter().filter(|r| r.access != Access::Cdk) {
        let prefix = r.state_key_prefix.as_deref().unwrap();
        let [state, lock, ..] = &objects(prefix)[..] else {
            unreachable!()
        };
        let may = |action: &str, object: &str| may(r, Some(&bucket_policy), action, object);
        assert!(may("s3:GetObject", state), "{}", r.name);
        assert!(may("s3:PutObject", lock), "{}", r.name);
        assert!(may("s3:DeleteObject", lock), "{}", r.name);
        assert_eq!(
            may("s3:PutObject", state),
            r.access == Access::Apply,
            "{}",
            r.name
        );
    }
}

#[test]
fn read_only_access_alone_would_read_every_state_the_bucket_policy_keeps_it_out() {
    let d = desired_of(&organisation());
    let plan = d.role("infra-plan").unwrap();
    let other = objects("web").remove(0);
    // Without the bucket statement, ReadOnlyAccess reads the other repository's state...
    assert!(may(plan, None, "s3:GetObject", &other));
    // ...with it, not.
    let bucket_policy = policy::merge_bucket_policy(None, &d.bucket.policy_statements);
    assert!(!may(plan, Some(&bucket_policy), "s3:GetObject", &other));
    // The statement names no role: every configuration writes the same one.
    let sids: Vec<&str> = d
        .bucket
        .policy_statements
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(
        sids,
        [
            policy::DENY_INSECURE_SID,
            policy::STATE_PREFIX_SID,
            policy::TOP_STATE_SID
        ]
    );
    for statement in &d.bucket.policy_statements[1..] {
        assert!(!statement.to_string().contains("infra"), "{statement}");
    }
    // Each role's own identity policy grants its own prefix only.
    let doc = plan.inline_policy.to_string();
    assert!(
        doc.contains("org-state/infra/") && !doc.contains("org-state/*"),
        "{doc}"
    );
}

fn account() -> Account {
    Account {
        id: "123456789012".into(),
        partition: "aws".into(),
        region: "eu-west-1".into(),
    }
}

/// A configuration of the single-role flags on the bucket `org-state` (its own set).
fn one_role_set(plan_apply: bool) -> DesiredState {
    let i = Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        repository_uuid: vec![C.into()],
        environment_uuid: vec![ENV.into()],
        state_bucket: Some("org-state".into()),
        set: Some("legacy".into()),
        plan_apply: plan_apply.then_some(true),
        ..Default::default()
    };
    desired(&Settings::from_inputs(i).unwrap(), &account(), &[], &[]).unwrap()
}

/// Whether a role with no state prefix does what it needs with the state at the top of the
/// bucket: read state, lock and workspaces, write locks (and the state when it applies).
fn keeps_top_level_state(r: &DesiredRole, bucket_policy: &Value) {
    let top = objects("");
    for object in &top {
        assert!(
            may(r, Some(bucket_policy), "s3:GetObject", object),
            "{} {object}",
            r.name
        );
    }
    for lock in [&top[1], &top[3]] {
        assert!(
            may(r, Some(bucket_policy), "s3:PutObject", lock),
            "{} {lock}",
            r.name
        );
        assert!(
            may(r, Some(bucket_policy), "s3:DeleteObject", lock),
            "{} {lock}",
            r.name
        );
    }
    for state in [&top[0], &top[2]] {
        assert_eq!(
            may(r, Some(bucket_policy), "s3:PutObject", state),
            r.access == Access::Apply,
            "{} {state}",
            r.name
        );
    }
    // Workspace deletion (`terraform workspace delete`).
    assert_eq!(
        may(r, Some(bucket_policy), "s3:DeleteObject", &top[2]),
        r.access == Access::Apply,
        "{}",
        r.name
    );
}

#[test]
fn a_one_role_set_and_a_role_table_set_on_one_bucket_keep_out_of_each_other_s_state() {
    let tables = desired_of(&organisation());
    for plan_apply in [false, true] {
        let single = one_role_set(plan_apply);
        assert!(single
            .roles
            .iter()
            .all(|r| r.state_key_prefix.as_deref() == Some("")));
        // Whichever configuration wrote the bucket policy last, the statements are the same.
        let first = policy::merge_bucket_policy(None, &tables.bucket.policy_statements);
        let both = policy::merge_bucket_policy(Some(&first), &single.bucket.policy_statements);
        let alone = policy::merge_bucket_policy(None, &single.bucket.policy_statements);
        assert_eq!(both, alone);
        for r in &single.roles {
            keeps_top_level_state(r, &both);
            for t in tables.roles.iter().filter(|t| t.access != Access::Cdk) {
                let prefix = t.state_key_prefix.as_deref().unwrap();
                for object in objects(prefix) {
                    for action in ACTIONS {
                        assert!(
                            !may(r, Some(&both), action, &object),
                            "{} may {action} {object}",
                            r.name
                        );
                    }
                }
            }
        }
        for t in &tables.roles {
            for object in objects("") {
                for action in ACTIONS {
                    assert!(!may(t, Some(&both), action, &object), "{} {object}", t.name);
                }
            }
        }
    }
    // Without the top-level statement the single-role apply role overwrites another set's
    // state, and the --plan-apply plan role (ReadOnlyAccess) reads it.
    let single = one_role_set(true);
    let without: Vec<Value> = tables
        .bucket
        .policy_statements
        .iter()
        .filter(|s| s["Sid"] != policy::TOP_STATE_SID)
        .cloned()
        .collect();
    let without = policy::merge_bucket_policy(None, &without);
    let infra = objects("infra").remove(0);
    let [plan, apply] = &single.roles[..] else {
        unreachable!()
    };
    assert!(may(apply, Some(&without), "s3:PutObject", &infra));
    assert!(may(plan, Some(&without), "s3:GetObject", &infra));
}

#[test]
fn the_top_level_state_objects_are_named_one_by_one() {
    let arns = policy::top_state_object_arns("arn:aws:s3:::b");
    assert_eq!(
        arns,
        [
            "arn:aws:s3:::b/terraform.tfstate",
            "arn:aws:s3:::b/terraform.tfstate.tflock",
            "arn:aws:s3:::b/env:/*"
        ]
    );
    // A [[role]] prefix may begin with the state's name; its objects stay out of reach.
    let d = desired_of(&format!(
        "{}{}",
        organisation(),
        "[[role]]\nname = \"odd\"\naccess = \"apply\"\nrepository-uuid = [\"{dddddddd-2222-3333-4444-555555555555}\"]\nstate-key-prefix = \"terraform.tfstate.d\"\n"
    ));
    let bucket_policy = policy::merge_bucket_policy(None, &d.bucket.policy_statements);
    for r in one_role_set(false).roles {
        for object in objects("terraform.tfstate.d") {
            assert!(
                !may(&r, Some(&bucket_policy), "s3:PutObject", &object),
                "{object}"
            );
        }
    }
}

#[test]
fn a_one_role_setup_keeps_its_state_and_its_bucket_policy() {
    let mut i = Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        repository_uuid: vec![A.into()],
        state_bucket: Some("org-state".into()),
        ..Default::default()
    };
    let account = account();
    let d = desired(
        &Settings::from_inputs(i.clone()).unwrap(),
        &account,
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(d.roles[0].state_key_prefix.as_deref(), Some(""));
    assert!(!d.roles[0].tags.contains_key(state::STATE_PREFIX_TAG));
    // Alone on its bucket it keeps its state, lock and workspaces under both statements.
    let bucket_policy = policy::merge_bucket_policy(None, &d.bucket.policy_statements);
    keeps_top_level_state(&d.roles[0], &bucket_policy);
    assert!(!may(
        &d.roles[0],
        Some(&bucket_policy),
        "s3:GetObject",
        &objects("infra")[0]
    ));
    assert!(d.roles[0]
        .inline_policy
        .to_string()
        .contains(&format!("{}/*", d.bucket.arn)));
    // With a prefix of its own the one role is confined to it.
    i.state_key_prefix = Some("team/app".into());
    let d = desired(&Settings::from_inputs(i).unwrap(), &account, &[], &[]).unwrap();
    assert_eq!(d.roles[0].tags[state::STATE_PREFIX_TAG], "team/app");
    assert_eq!(d.bucket.policy_statements.len(), 3);
}

/// Whether `role` may `action` the lock table's item `lock_id` (its identity policy alone:
/// the table has no resource policy).
fn may_lock(role: &DesiredRole, table_arn: &str, action: &str, lock_id: &str) -> bool {
    let read_only = read_only_access();
    let identity = [&role.inline_policy, &read_only];
    let access = Request::new(action, table_arn).with("dynamodb:LeadingKeys", [lock_id]);
    evaluate_all(&identity, None, &access).allowed
}

/// The items Terraform's DynamoDB locking writes for a state under `prefix`: the lock and
/// the digest of the default workspace's state and of another workspace's.
fn lock_items(prefix: &str) -> Vec<String> {
    let ws = state::workspace_key_prefix(prefix);
    let key = state::state_key(prefix);
    let other = format!("{ws}/dev/{}", state::state_key(""));
    [
        key.clone(),
        format!("{key}-md5"),
        other.clone(),
        format!("{other}-md5"),
    ]
    .iter()
    .map(|k| format!("org-state/{k}"))
    .collect()
}

#[test]
fn no_role_writes_or_deletes_another_repository_s_lock_table_items() {
    let d = desired_of(&organisation());
    let table = d.table.as_ref().expect("a lock table").arn.clone();
    let legacy = one_role_set(false);
    let mut roles: Vec<&DesiredRole> = d.roles.iter().collect();
    roles.extend(legacy.roles.iter());
    let mut checked = 0;
    for r in roles.iter().filter(|r| r.access != Access::Cdk) {
        for other in roles.iter().filter(|o| o.access != Access::Cdk) {
            let own = other.state_key_prefix == r.state_key_prefix;
            let prefix = other.state_key_prefix.as_deref().unwrap_or_default();
            for item in lock_items(prefix) {
                for action in ["dynamodb:PutItem", "dynamodb:DeleteItem"] {
                    let allowed = may_lock(r, &table, action, &item);
                    assert_eq!(allowed, own, "{} {action} {item}", r.name);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 200, "{checked}");
}

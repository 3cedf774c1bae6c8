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
    let account = Account {
        id: "123456789012".into(),
        partition: "aws".into(),
        region: "eu-west-1".into(),
    };
    desired(&settings, &account, &[], &[]).expect("desired state")
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
    assert_eq!(sids, [policy::DENY_INSECURE_SID, policy::STATE_PREFIX_SID]);
    let statement = &d.bucket.policy_statements[1];
    assert!(!statement.to_string().contains("infra"), "{statement}");
    // Each role's own identity policy grants its own prefix only.
    let doc = plan.inline_policy.to_string();
    assert!(
        doc.contains("org-state/infra/") && !doc.contains("org-state/*"),
        "{doc}"
    );
}

#[test]
fn a_one_role_setup_keeps_its_state_and_its_bucket_policy() {
    let mut i = Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        repository_uuid: vec![A.into()],
        ..Default::default()
    };
    let account = Account {
        id: "123456789012".into(),
        partition: "aws".into(),
        region: "eu-west-1".into(),
    };
    let d = desired(
        &Settings::from_inputs(i.clone()).unwrap(),
        &account,
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(d.roles[0].state_key_prefix.as_deref(), Some(""));
    assert!(!d.roles[0].tags.contains_key(state::STATE_PREFIX_TAG));
    assert_eq!(d.bucket.policy_statements.len(), 1);
    assert!(d.roles[0]
        .inline_policy
        .to_string()
        .contains(&format!("{}/*", d.bucket.arn)));
    // With a prefix of its own the one role is confined to it.
    i.state_key_prefix = Some("team/app".into());
    let d = desired(&Settings::from_inputs(i).unwrap(), &account, &[], &[]).unwrap();
    assert_eq!(d.roles[0].tags[state::STATE_PREFIX_TAG], "team/app");
    assert_eq!(d.bucket.policy_statements.len(), 2);
}

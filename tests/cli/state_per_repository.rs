//! State per repository, as an organisation rolls it out: two repositories with a plan/apply
//! pair each and a CDK role in one account. Each role's state lives under its own prefix;
//! the live documents (identity policies, the AWS-managed ReadOnlyAccess a plan role holds,
//! the bucket policy) judged by the project's IAM evaluator let no role read, write or
//! delete another repository's state. The pipelines each role can run are in
//! `state_per_repository_pipelines.rs`, real Terraform through their backends in
//! `state_per_repository_terraform.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bootstrap::iam::{evaluate_all, Access};
use serde_json::Value;

use crate::common::aws::{policy_json, Clients};
use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID};
use crate::common::inspect::Inspect;
use crate::common::moto::ACCOUNT_ID;
use crate::roles::with_config;

pub const WEB_REPO: &str = "{1a2b3c4d-5555-4e6f-8a9b-0123456789ab}";
const TAG: &str = "bootstrap-state-prefix";

pub fn role(name: &str, access: &str, repo: &str, extra: &str) -> String {
    format!("[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{repo}\"]\n{extra}\n")
}

/// Two repositories' plan/apply pairs and a CDK role, in `dir`/bootstrap.toml.
pub fn organisation(dir: &Path, extra: &str) -> PathBuf {
    let env = format!("environment-uuid = [\"{ENV_UUID}\"]");
    let text = [
        extra.to_string(),
        role("infra-plan", "plan", REPO_UUID, ""),
        role("infra-apply", "apply", REPO_UUID, &env),
        role("web-plan", "plan", WEB_REPO, ""),
        role("web-apply", "apply", WEB_REPO, &env),
        role("app-cdk", "cdk", WEB_REPO, ""),
    ]
    .concat();
    let path = dir.join("bootstrap.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub const ROLES: [(&str, Option<&str>); 5] = [
    ("infra-plan", Some("infra")),
    ("infra-apply", Some("infra")),
    ("web-plan", Some("web")),
    ("web-apply", Some("web")),
    ("app-cdk", None),
];

/// The default version's document of a managed policy, as the account holds it.
fn managed_document(aws: &Clients, arn: &str) -> Value {
    let policy = aws
        .block_on(aws.iam.get_policy().policy_arn(arn).send())
        .unwrap_or_else(|e| panic!("GetPolicy {arn}: {e:?}"));
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .unwrap()
        .to_string();
    let doc = aws
        .block_on(
            aws.iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send(),
        )
        .unwrap_or_else(|e| panic!("GetPolicyVersion {arn}: {e:?}"));
    policy_json(doc.policy_version().and_then(|v| v.document()).unwrap())
}

/// Everything IAM and S3 weigh for a request by `role`, read back from the account.
pub struct Judge {
    identity: Vec<Value>,
    bucket_policy: Value,
    context: BTreeMap<String, Vec<String>>,
}

impl Judge {
    pub fn of(aws: &Clients, inspect: &Inspect, role: &str) -> Judge {
        let mut identity: Vec<Value> = aws
            .inline_policy_names(role)
            .iter()
            .map(|n| aws.inline_policy(role, n))
            .collect();
        for arn in inspect.attached_policy_arns(role) {
            identity.push(managed_document(aws, &arn));
        }
        let mut context = BTreeMap::new();
        context.insert(
            "aws:PrincipalArn".to_string(),
            vec![format!("arn:aws:iam::{ACCOUNT_ID}:role/{role}")],
        );
        // Every tag of the role is a principal tag of its sessions (bootstrap-set included).
        for (key, value) in inspect.role_tags(role) {
            context.insert(format!("aws:PrincipalTag/{key}"), vec![value]);
        }
        Judge {
            identity,
            bucket_policy: inspect.bucket_policy(BUCKET).expect("a bucket policy"),
            context,
        }
    }

    pub fn allows(&self, access: &Access) -> bool {
        let mut access = access.clone();
        access.context.extend(self.context.clone());
        let identity: Vec<&Value> = self.identity.iter().collect();
        evaluate_all(&identity, Some(&self.bucket_policy), &access).allowed
    }
}

/// The objects of the state under `prefix`: state, lock, a workspace's state and lock.
fn state_objects(prefix: &str) -> Vec<String> {
    let o = |k: &str| format!("arn:aws:s3:::{BUCKET}/{k}");
    let under = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}/{k}")
        }
    };
    let ws = under("env:");
    vec![
        o(&under("terraform.tfstate")),
        o(&under("terraform.tfstate.tflock")),
        o(&format!("{ws}/dev/{}", under("terraform.tfstate"))),
        o(&format!("{ws}/dev/{}.tflock", under("terraform.tfstate"))),
    ]
}

/// Every role against every other role's state (and the top of the bucket), with the live
/// documents: denied; its own state: what its access kind needs.
fn assert_no_role_reaches_another_state(aws: &Clients, inspect: &Inspect) {
    let actions = [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
    ];
    let mut judged = 0;
    for (name, own) in ROLES {
        let judge = Judge::of(aws, inspect, name);
        if name.ends_with("-plan") {
            // The plan role really holds ReadOnlyAccess, which reads every bucket.
            let identity: Vec<&Value> = judge.identity.iter().collect();
            let other = Access::new("s3:GetObject", &state_objects("web")[0]);
            assert!(evaluate_all(&identity, None, &other).allowed || name == "web-plan");
        }
        for (other, prefix) in ROLES {
            let Some(prefix) = prefix else { continue };
            let mine = own == Some(prefix);
            for object in state_objects(prefix) {
                for action in actions {
                    let allowed = judge.allows(&Access::new(action, &object));
                    if mine {
                        continue;
                    }
                    assert!(!allowed, "{name} may {action} {object} (state of {other})");
                    judged += 1;
                }
            }
        }
        // Nor the top of the bucket, where a one-role setup keeps its state.
        for object in state_objects("") {
            for action in actions {
                assert!(
                    !judge.allows(&Access::new(action, &object)),
                    "{name} may {action} {object}"
                );
            }
        }
        if let Some(own) = own {
            let state = &state_objects(own)[0];
            assert!(judge.allows(&Access::new("s3:GetObject", state)), "{name}");
            assert_eq!(
                judge.allows(&Access::new("s3:PutObject", state)),
                name.ends_with("-apply"),
                "{name}"
            );
        }
    }
    assert!(judged >= 4 * 8 * 4, "{judged}");
}

#[test]
fn every_repository_keeps_its_own_state_and_no_role_reaches_another_s() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let config = organisation(dir.path(), "");
    // The plan says where each role's state goes before anything is written.
    let plan = with_config(&w, "plan", &config).run();
    for line in [
        format!("state of infra-plan, infra-apply: s3://{BUCKET}/infra/terraform.tfstate"),
        format!("state of web-plan, web-apply: s3://{BUCKET}/web/terraform.tfstate"),
    ] {
        assert!(plan.stdout.contains(&line), "{line}\n{}", plan.stdout);
    }
    let json = with_config(&w, "plan", &config)
        .args(["--output", "json"])
        .run();
    let keys = &json.json()["state_keys"];
    assert_eq!(
        keys[0]["roles"],
        serde_json::json!(["infra-plan", "infra-apply"]),
        "{keys}"
    );
    assert_eq!(keys[1]["workspace_key_prefix"], "web/env:", "{keys}");

    with_config(&w, "init", &config).arg("--yes").run();
    let aws = w.clients();
    let inspect = Inspect::new(&w.moto.endpoint());
    for (name, prefix) in ROLES {
        assert_eq!(
            inspect.role_tags(name).get(TAG).map(String::as_str),
            prefix,
            "{name}"
        );
    }
    let policy = inspect.bucket_policy(BUCKET).unwrap();
    assert!(
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Sid"] == "DenyStateOutsideRolePrefix"),
        "{policy:#}"
    );

    assert_no_role_reaches_another_state(&aws, &inspect);

    // Converged: a re-run writes nothing.
    with_config(&w, "init", &config)
        .arg("--yes")
        .expect_no_writes()
        .run();
}

/// A second configuration of the single-role flags (`--plan-apply`, its state at the top of
/// the bucket) on the `[[role]]` configuration's bucket: its roles have no prefix tag and a
/// policy on the whole bucket, and still reach no `[[role]]` role's state, nor these theirs.
#[test]
fn a_single_role_configuration_on_the_same_bucket_reaches_no_other_state() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let config = organisation(dir.path(), "set = \"org\"\n");
    with_config(&w, "init", &config).arg("--yes").run();
    let single = [
        "--set",
        "legacy",
        "--plan-apply",
        "--environment-uuid",
        ENV_UUID,
        "--yes",
    ];
    w.test("init").args(single).run();
    let aws = w.clients();
    let inspect = Inspect::new(&w.moto.endpoint());
    let actions = [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
    ];
    for name in [
        "bitbucket-pipelines-deploy-plan",
        "bitbucket-pipelines-deploy-apply",
    ] {
        assert!(!inspect.role_tags(name).contains_key(TAG), "{name}");
        let judge = Judge::of(&aws, &inspect, name);
        // Its own policy grants the whole bucket; the bucket policy keeps it to the top.
        let identity: Vec<&Value> = judge.identity.iter().collect();
        let infra = Access::new("s3:GetObject", &state_objects("infra")[0]);
        assert!(evaluate_all(&identity, None, &infra).allowed, "{name}");
        for prefix in ["infra", "web"] {
            for object in state_objects(prefix) {
                for action in actions {
                    assert!(
                        !judge.allows(&Access::new(action, &object)),
                        "{name} may {action} {object}"
                    );
                }
            }
        }
        // Its own state at the top of the bucket: state, lock, a workspace's state and lock.
        let own = state_objects("");
        for object in &own {
            assert!(
                judge.allows(&Access::new("s3:GetObject", object)),
                "{name} {object}"
            );
        }
        for lock in [&own[1], &own[3]] {
            assert!(
                judge.allows(&Access::new("s3:PutObject", lock)),
                "{name} {lock}"
            );
            assert!(
                judge.allows(&Access::new("s3:DeleteObject", lock)),
                "{name} {lock}"
            );
        }
        assert_eq!(
            judge.allows(&Access::new("s3:PutObject", &own[0])),
            name.ends_with("-apply"),
            "{name}"
        );
    }
    // The [[role]] roles still reach neither each other's state nor the top of the bucket.
    assert_no_role_reaches_another_state(&aws, &inspect);
    // Both configurations converged: neither re-run writes.
    w.test("init").args(single).expect_no_writes().run();
    with_config(&w, "init", &config)
        .arg("--yes")
        .expect_no_writes()
        .run();
}

/// A pair that kept its state at the top of the bucket (as every `[[role]]` did before), then
/// left to the default: `plan` in `mode` says the state moves to `infra/`.
fn state_move_is_told(mode: &str) {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let env = format!("environment-uuid = [\"{ENV_UUID}\"]");
    let top = "state-key-prefix = \"\"";
    let text = [
        role("infra-plan", "plan", REPO_UUID, top),
        role("infra-apply", "apply", REPO_UUID, &format!("{env}\n{top}")),
    ]
    .concat();
    let config = dir.path().join("bootstrap.toml");
    std::fs::write(&config, text).unwrap();
    with_config(&w, "init", &config)
        .args(["--yes", "--mode", mode])
        .run();
    let inspect = Inspect::new(&w.moto.endpoint());
    assert!(!inspect.role_tags("infra-apply").contains_key(TAG));

    let text = [
        role("infra-plan", "plan", REPO_UUID, ""),
        role("infra-apply", "apply", REPO_UUID, &env),
    ]
    .concat();
    std::fs::write(&config, text).unwrap();
    let out = with_config(&w, "plan", &config)
        .args(["--mode", mode])
        .run();
    let moves = format!(
        "role infra-apply: its Terraform state moves from s3://{BUCKET}/terraform.tfstate to s3://{BUCKET}/infra/terraform.tfstate"
    );
    assert!(out.stderr.contains(&moves), "{mode}: {}", out.stderr);
    assert!(
        out.stderr.contains("state-key-prefix = \"\""),
        "{}",
        out.stderr
    );
}

#[test]
fn a_role_whose_state_moves_is_told_in_the_plan() {
    state_move_is_told("direct");
}

#[test]
fn a_role_whose_state_moves_is_told_in_the_stack_plan() {
    state_move_is_told("cloudformation");
}

/// A managed role's `bootstrap-state-prefix` tag (what the bucket policy confines on) follows
/// the settings: a role that gains a prefix is tagged, one whose prefix goes is untagged; the
/// plan shows it, `status` reports it, a re-run writes nothing.
#[test]
fn a_managed_role_gaining_or_losing_a_prefix_is_retagged() {
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let env = format!("environment-uuid = [\"{ENV_UUID}\"]");
    let config = dir.path().join("bootstrap.toml");
    let write = |extra: &str| {
        let text = [
            role("infra-plan", "plan", REPO_UUID, extra),
            role(
                "infra-apply",
                "apply",
                REPO_UUID,
                &format!("{env}\n{extra}"),
            ),
        ]
        .concat();
        std::fs::write(&config, text).unwrap();
    };
    // Initialised with the state at the top of the bucket: no prefix, no tag.
    write("state-key-prefix = \"\"");
    with_config(&w, "init", &config).arg("--yes").run();
    let inspect = Inspect::new(&w.moto.endpoint());
    assert!(!inspect.role_tags("infra-apply").contains_key(TAG));

    for (extra, from, to, tag) in [
        ("", "(none)", "infra", Some("infra")),
        ("state-key-prefix = \"\"", "infra", "(none)", None),
    ] {
        write(extra);
        let change = format!("tag {TAG}: {from} -> {to}");
        with_config(&w, "plan", &config)
            .expect_stdout_contains(change)
            .run();
        with_config(&w, "status", &config)
            .arg("--detailed-exitcode")
            .expect_exit(2)
            .expect_stdout_contains(format!("tag {TAG}: is {from}, should be {to}"))
            .run();
        with_config(&w, "init", &config).arg("--yes").run();
        for name in ["infra-plan", "infra-apply"] {
            let tags = inspect.role_tags(name);
            assert_eq!(tags.get(TAG).map(String::as_str), tag, "{name}");
        }
        with_config(&w, "init", &config)
            .arg("--yes")
            .expect_no_writes()
            .run();
        with_config(&w, "status", &config)
            .arg("--detailed-exitcode")
            .run();
    }
}

//! State per repository, as an organisation rolls it out: two repositories with a plan/apply
//! pair each and a CDK role in one account. Each role's state lives under its own prefix;
//! the live documents (identity policies, the AWS-managed ReadOnlyAccess a plan role holds,
//! the bucket policy) judged by the project's IAM evaluator let no role read, write or
//! delete another repository's state; Terraform runs through each role's generated backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bootstrap::iam::{evaluate_all, Access};
use serde_json::Value;

use crate::common::authz::{all_needs, Env};
use crate::common::aws::{policy_json, Clients};
use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID};
use crate::common::inspect::Inspect;
use crate::common::moto::ACCOUNT_ID;
use crate::roles::with_config;
use crate::terraform::{local_backend, require_terraform, terraform, MAIN_TF};

const WEB_REPO: &str = "{1a2b3c4d-5555-4e6f-8a9b-0123456789ab}";
const TAG: &str = "bootstrap-state-prefix";

fn role(name: &str, access: &str, repo: &str, extra: &str) -> String {
    format!("[[role]]\nname = \"{name}\"\naccess = \"{access}\"\nrepository-uuid = [\"{repo}\"]\n{extra}\n")
}

/// Two repositories' plan/apply pairs and a CDK role, in `dir`/bootstrap.toml.
fn organisation(dir: &Path, extra: &str) -> PathBuf {
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

const ROLES: [(&str, Option<&str>); 5] = [
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
struct Judge {
    identity: Vec<Value>,
    bucket_policy: Value,
    context: BTreeMap<String, Vec<String>>,
}

impl Judge {
    fn of(aws: &Clients, inspect: &Inspect, role: &str) -> Judge {
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

    fn allows(&self, access: &Access) -> bool {
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

// --- pipelines each role can run -------------------------------------------------------

/// `pipeline --config CONFIG --role ROLE...` into a fresh directory (no AWS call).
fn pipeline(
    config: &Path,
    roles: &[&str],
    extra: &[&str],
) -> (tempfile::TempDir, crate::common::CliOutput) {
    let out_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut args: Vec<String> = vec![
        "pipeline".into(),
        "--config".into(),
        config.display().to_string(),
        "--out-dir".into(),
        out_dir.path().display().to_string(),
        "--account-id".into(),
        "210987654321".into(),
    ];
    for r in roles {
        args.extend(["--role".to_string(), (*r).to_string()]);
    }
    args.extend(extra.iter().map(ToString::to_string));
    let out = crate::common::run(args);
    if out.success() {
        crate::common::schema::assert_valid_pipeline(
            &out_dir.path().join("bitbucket-pipelines.yml"),
        );
    }
    (out_dir, out)
}

fn offline_org(dir: &Path) -> PathBuf {
    organisation(
        dir,
        "region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"6a3f1c2e-1111-4c9d-9a8b-0123456789ab\"\n",
    )
}

fn backend_attr(dir: &Path, key: &str) -> String {
    let hcl = std::fs::read_to_string(dir.join("backend.tf")).expect("backend.tf written");
    hcl.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no {key} in\n{hcl}"))
}

const FALSE_WARNING: &str = "can write the Terraform state";

#[test]
fn a_plan_role_s_pipeline_plans_and_never_applies() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_org(dir.path());
    let (out_dir, out) = pipeline(&config, &["web-plan"], &[]);
    out.assert_success();
    assert!(!out.stderr.contains(FALSE_WARNING), "{}", out.stderr);
    let yml = std::fs::read_to_string(out_dir.path().join("bitbucket-pipelines.yml")).unwrap();
    assert!(yml.contains("terraform plan"), "{yml}");
    assert!(
        !yml.contains("apply"),
        "a plan role's pipeline applies:\n{yml}"
    );
    let backend = std::fs::read_to_string(out_dir.path().join("backend.tf")).unwrap();
    assert!(!backend.contains("may read and write"), "{backend}");
    assert_eq!(backend_attr(out_dir.path(), "key"), "web/terraform.tfstate");
    assert_eq!(
        backend_attr(out_dir.path(), "workspace_key_prefix"),
        "web/env:"
    );
}

#[test]
fn a_cdk_role_s_pipeline_has_no_terraform_backend() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_org(dir.path());
    let (out_dir, out) = pipeline(&config, &["app-cdk"], &["--output", "json"]);
    out.assert_success();
    assert!(!out_dir.path().join("backend.tf").exists());
    assert!(!out.stderr.contains(FALSE_WARNING), "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["files"].as_array().unwrap().len(), 1, "{doc}");
    assert!(doc.get("state_key").is_none(), "{doc}");
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("can deploy through the roles `cdk bootstrap` created"),
        "{warnings}"
    );
    let yml = std::fs::read_to_string(out_dir.path().join("bitbucket-pipelines.yml")).unwrap();
    assert!(
        yml.contains("npx cdk deploy") && !yml.contains("terraform"),
        "{yml}"
    );
}

#[test]
fn each_role_s_pipeline_points_at_its_own_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_org(dir.path());
    for (roles, key) in [
        (&["infra-apply"][..], "infra/terraform.tfstate"),
        (&["web-plan", "web-apply"][..], "web/terraform.tfstate"),
    ] {
        let (out_dir, out) = pipeline(
            &config,
            roles,
            &["--deployment", "Production", "--output", "json"],
        );
        out.assert_success();
        assert_eq!(backend_attr(out_dir.path(), "key"), key, "{roles:?}");
        assert_eq!(out.json()["state_key"], key, "{roles:?}");
        let yml = std::fs::read_to_string(out_dir.path().join("bitbucket-pipelines.yml")).unwrap();
        assert!(yml.contains("terraform apply"), "{roles:?}: {yml}");
        assert!(!out.stderr.contains("trust"), "{}", out.stderr);
    }
}

#[test]
fn a_pair_trusting_different_repositories_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let env = format!("environment-uuid = [\"{ENV_UUID}\"]");
    let shared = "state-key-prefix = \"shared\"";
    let text = [
        "region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"6a3f1c2e-1111-4c9d-9a8b-0123456789ab\"\n".to_string(),
        role("x-plan", "plan", REPO_UUID, shared),
        role("x-apply", "apply", WEB_REPO, &format!("{env}\n{shared}")),
    ]
    .concat();
    let config = dir.path().join("bootstrap.toml");
    std::fs::write(&config, text).unwrap();
    let (_out_dir, out) = pipeline(&config, &[], &["--deployment", "Production"]);
    out.assert_success();
    let want = format!(
        "the plan role x-plan trusts {REPO_UUID} but the apply role x-apply trusts {WEB_REPO}"
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    // Left to their defaults they keep apart, and the pipeline, which has one backend, is
    // refused saying why.
    let text = [
        "region = \"eu-west-1\"\nworkspace = \"acme\"\nworkspace-uuid = \"6a3f1c2e-1111-4c9d-9a8b-0123456789ab\"\n".to_string(),
        role("x-plan", "plan", REPO_UUID, ""),
        role("x-apply", "apply", WEB_REPO, &env),
    ]
    .concat();
    std::fs::write(&config, text).unwrap();
    let (_out_dir, out) = pipeline(&config, &[], &["--deployment", "Production"]);
    out.assert_code(64);
    assert!(
        out.stderr
            .contains("they also trust different repositories"),
        "{}",
        out.stderr
    );
}

// --- real Terraform through each role's backend ----------------------------------------

/// `pipeline --role ROLE` writes the backend; Terraform runs `args_list` through it. The
/// requests are recorded and returned.
fn terraform_as(
    w: &World,
    config: &Path,
    role: &str,
    runs: &[&[&str]],
) -> Vec<crate::common::moto::RecordedRequest> {
    let dir = tempfile::Builder::new()
        .prefix("tf-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let out_dir = dir.path().display().to_string();
    with_config(w, "pipeline", &config.to_path_buf())
        .args([
            "--role",
            role,
            "--out-dir",
            &out_dir,
            "--account-id",
            ACCOUNT_ID,
            "--deployment",
            "Production",
        ])
        .run();
    std::fs::write(dir.path().join("main.tf"), MAIN_TF).unwrap();
    std::fs::write(
        dir.path().join("local.s3.tfbackend"),
        local_backend(&w.moto.endpoint()),
    )
    .unwrap();
    w.moto.start_recording();
    terraform(
        dir.path(),
        &[
            "init",
            "-input=false",
            "-no-color",
            "-backend-config=local.s3.tfbackend",
        ],
    );
    for args in runs {
        terraform(dir.path(), args);
    }
    w.moto.stop_recording();
    w.moto.recorded_requests()
}

#[test]
fn terraform_runs_through_each_role_s_backend_within_its_own_prefix() {
    require_terraform();
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let config = organisation(dir.path(), "");
    with_config(&w, "init", &config).arg("--yes").run();
    let aws = w.clients();
    let inspect = Inspect::new(&w.moto.endpoint());
    let judges: BTreeMap<&str, Judge> = ROLES
        .iter()
        .map(|(name, _)| (*name, Judge::of(&aws, &inspect, name)))
        .collect();
    // moto denies on any Deny statement whose condition does not hold (see terraform.rs):
    // Terraform runs without the bucket policy; its requests are judged with it.
    aws.block_on(aws.s3.delete_bucket_policy().bucket(BUCKET).send())
        .unwrap();

    let apply: &[&str] = &["apply", "-auto-approve", "-input=false", "-no-color"];
    let plan: &[&str] = &["plan", "-input=false", "-no-color"];
    let env = Env::moto(&w.region);
    for (role, runs) in [
        (
            "infra-apply",
            vec![apply, &["workspace", "new", "-no-color", "dev"][..], apply],
        ),
        ("web-apply", vec![apply]),
        ("infra-plan", vec![plan]),
        ("web-plan", vec![plan]),
    ] {
        let requests = terraform_as(&w, &config, role, &runs);
        let needs = all_needs(&requests, &env);
        assert!(!needs.is_empty(), "{role}: no request recorded");
        let prefix = ROLES.iter().find(|(n, _)| *n == role).unwrap().1.unwrap();
        let judge = &judges[role];
        let objects = needs
            .iter()
            .filter(|n| n.action.ends_with("Object"))
            .count();
        assert!(objects >= 3, "{role}: {needs:#?}");
        for need in &needs {
            assert!(judge.allows(&need.access()), "{role}: {need} is refused");
            if need.action.starts_with("s3:") && need.action.ends_with("Object") {
                let own = format!("arn:aws:s3:::{BUCKET}/{prefix}/");
                assert!(
                    need.resource.starts_with(&own),
                    "{role}: {need} outside {own}"
                );
            }
        }
    }
    // Each repository's state is its own object.
    for (prefix, count) in [("infra", 2), ("web", 1)] {
        let states: Vec<String> = inspect
            .versions(BUCKET)
            .iter()
            .map(|v| v.key.clone())
            .filter(|k| k.starts_with(&format!("{prefix}/")) && k.ends_with("terraform.tfstate"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(states.len(), count, "{prefix}: {states:?}");
    }
    assert!(!inspect
        .versions(BUCKET)
        .iter()
        .any(|v| v.key == "terraform.tfstate"));
}

/// A single-role configuration (`--plan-apply`, state at the top of the bucket) beside the
/// `[[role]]` configuration: real Terraform through its roles' backends, every request judged
/// with the live bucket policy (both confinement statements): its state, lock and workspaces
/// stay usable, and every object it touches is a top-level state object.
#[test]
fn terraform_runs_through_a_single_role_backend_beside_role_tables() {
    require_terraform();
    let w = World::start_with_managed_policies();
    let dir = tempfile::tempdir().unwrap();
    let config = organisation(dir.path(), "set = \"org\"\n");
    with_config(&w, "init", &config).arg("--yes").run();
    let single_dir = tempfile::tempdir().unwrap();
    let single = single_dir.path().join("bootstrap.toml");
    std::fs::write(
        &single,
        format!(
            "set = \"legacy\"\nplan-apply = true\nrepository-uuid = [\"{REPO_UUID}\"]\nenvironment-uuid = [\"{ENV_UUID}\"]\n"
        ),
    )
    .unwrap();
    with_config(&w, "init", &single).arg("--yes").run();
    let aws = w.clients();
    let inspect = Inspect::new(&w.moto.endpoint());
    let (plan_role, apply_role) = (
        "bitbucket-pipelines-deploy-plan",
        "bitbucket-pipelines-deploy-apply",
    );
    let judges: BTreeMap<&str, Judge> = [plan_role, apply_role]
        .into_iter()
        .map(|name| (name, Judge::of(&aws, &inspect, name)))
        .collect();
    // As in the test above: Terraform runs without the bucket policy, judged with it.
    aws.block_on(aws.s3.delete_bucket_policy().bucket(BUCKET).send())
        .unwrap();
    let apply: &[&str] = &["apply", "-auto-approve", "-input=false", "-no-color"];
    let plan: &[&str] = &["plan", "-input=false", "-no-color"];
    let top = [
        format!("arn:aws:s3:::{BUCKET}/terraform.tfstate"),
        format!("arn:aws:s3:::{BUCKET}/terraform.tfstate.tflock"),
    ];
    let env = Env::moto(&w.region);
    for (role, runs) in [
        (
            apply_role,
            vec![apply, &["workspace", "new", "-no-color", "dev"][..], apply],
        ),
        (plan_role, vec![plan]),
    ] {
        let requests = terraform_as(&w, &single, role, &runs);
        let needs = all_needs(&requests, &env);
        let judge = &judges[role];
        let objects: Vec<_> = needs
            .iter()
            .filter(|n| n.action.starts_with("s3:") && n.action.ends_with("Object"))
            .collect();
        assert!(objects.len() >= 3, "{role}: {needs:#?}");
        for need in &needs {
            assert!(judge.allows(&need.access()), "{role}: {need} is refused");
        }
        for need in objects {
            let at_top = top.contains(&need.resource)
                || need
                    .resource
                    .starts_with(&format!("arn:aws:s3:::{BUCKET}/env:/"));
            assert!(at_top, "{role}: {need} is not a top-level state object");
        }
    }
    // The workspace's state really went under env:/ at the top of the bucket.
    assert!(inspect
        .versions(BUCKET)
        .iter()
        .any(|v| v.key == "env:/dev/terraform.tfstate"));
}

//! Scale: one configuration with the most roles it accepts (100), through the AWS behaviour
//! layer at real-world time (IAM's throttling refills 10 writes a second after a burst of
//! 15, so 200 role writes are throttled for certain): `init` converges every role, the
//! throttled writes are retried, and a re-run writes nothing.

use std::fmt::Write;
use std::path::PathBuf;

use crate::common::fixture::{World, BUCKET, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::Test;
use crate::roles::with_config;

/// A bootstrap.toml of the set `platform` with `count` apply roles `repo-000`, ... each
/// trusting a repository of its own.
pub(crate) fn roles_config(dir: &tempfile::TempDir, count: usize) -> PathBuf {
    let names: Vec<String> = (0..count).map(|n| format!("repo-{n:03}")).collect();
    set_config(dir, "platform", &names, None)
}

#[test]
fn a_hundred_roles_converge_under_iam_throttling() {
    let w = World::start_at_scale("1");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = roles_config(&dir, 100);
    let test = || {
        Test::new()
            .arg("init")
            .args(w.flags())
            .args(["--workspace-uuid", WORKSPACE_UUID, "--state-bucket", BUCKET])
            .arg("--config")
            .arg(&config)
            .args(["--yes", "-q"])
            .moto(&w.moto)
    };
    w.moto.start_recording();
    test().run();
    w.moto.stop_recording();
    // Every role gets its first write before any role its second (the write permits go
    // first come, first served): the run's last writes are to roles IAM has long shown, so
    // no role created at the very end holds the run up waiting to be read back. 8 roles are
    // written at once, so at least 92 are created before the first PutRolePolicy.
    let writes: Vec<String> = w
        .moto
        .recorded_requests()
        .iter()
        .map(|r| crate::common::moto::classify(r).1)
        .filter(|op| op == "CreateRole" || op == "PutRolePolicy")
        .collect();
    let first_put = writes
        .iter()
        .position(|op| op == "PutRolePolicy")
        .expect("PutRolePolicy");
    assert!(
        first_put >= 92,
        "only {first_put} roles were created before the first PutRolePolicy"
    );
    let throttled = w
        .moto
        .refusals()
        .iter()
        .filter(|(kind, _)| kind == "iam:Throttling")
        .count();
    assert!(throttled > 0, "the layer throttled no IAM write");
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let mut roles = aws.role_names();
    roles.sort();
    let want: Vec<String> = (0..100).map(|n| format!("repo-{n:03}")).collect();
    assert_eq!(roles, want);
    for name in ["repo-000", "repo-057", "repo-099"] {
        assert_eq!(aws.inline_policy_names(name).len(), 1, "{name}");
        assert_eq!(aws.role_tags(name)["bootstrap-set"], "platform");
    }
    test().expect_no_writes().run();
}

/// With many roles the live state is read in bulk (two account-wide listings instead of four
/// calls a role): what the bulk read sees must be what the role-by-role reads see. Each kind
/// of out-of-band change to one of twelve roles is reported by `status` and put right by
/// `init`; a re-run then writes nothing and reads far fewer than four calls a role.
#[test]
fn many_roles_read_in_bulk_see_every_change_made_by_hand() {
    use crate::common::moto::classify;

    let w = World::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = roles_config(&dir, 12);
    let test = |cmd: &str| with_config(&w, cmd, &config);
    test("init").arg("--yes").run();

    change_four_roles_by_hand(&w);
    let status = test("status")
        .arg("--detailed-exitcode")
        .expect_exit(2)
        .run();
    let drifted: Vec<&str> = status
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("role"))
        .filter_map(|l| l.trim_start().strip_prefix("drifted"))
        .map(str::trim)
        .collect();
    assert_eq!(
        drifted,
        ["repo-001", "repo-004", "repo-007", "repo-010"],
        "{}",
        status.stdout
    );
    test("init").arg("--yes").run();
    test("status").arg("--detailed-exitcode").run();
    // Another set's roles in the account: a run of many roles learns whose they are and
    // where they keep their state from the details it reads in bulk, not role by role.
    let other = set_config(&dir, "team-b", &["b-web".into(), "b-api".into()], None);
    with_config(&w, "init", &other).args(["--yes", "-q"]).run();
    test("init").arg("--yes").expect_no_writes().run();
    let iam_ops: Vec<String> = w
        .moto
        .recorded_requests()
        .iter()
        .map(classify)
        .filter(|(service, _, _)| service == "iam")
        .map(|(_, op, _)| op)
        .collect();
    assert!(
        iam_ops.len() < 2 * 12,
        "a no-op re-run of 12 roles made {} IAM calls: {iam_ops:?}",
        iam_ops.len()
    );
    // The stale-role search and the bulk read share one listing of the account's roles,
    // and one reading of their details.
    for listing in ["ListRoles", "GetAccountAuthorizationDetails"] {
        let count = iam_ops.iter().filter(|op| *op == listing).count();
        assert_eq!(count, 1, "{listing}: {iam_ops:?}");
    }
    let one_by_one: Vec<&String> = iam_ops
        .iter()
        .filter(|op| matches!(op.as_str(), "ListRoleTags" | "GetRolePolicy"))
        .collect();
    assert!(one_by_one.is_empty(), "{one_by_one:?}");

    // Read in bulk, another set's state is still held: ten roles of a third set, one of
    // them keeping its state under b-web's prefix, are refused before any write.
    let names: Vec<String> = (0..10).map(|n| format!("c-{n:03}")).collect();
    let clash = set_config(&dir, "team-c", &names, Some("b-web"));
    with_config(&w, "plan", &clash)
        .expect_exit(64)
        .expect_stderr_contains("would be shared with role b-web of set team-b")
        .run();
}

/// A bootstrap.toml of `set` with apply roles `names`, the n-th trusting repository
/// `{n:08x}-2222-4e5f-8a9b-abcdefabcdef`; the last one keeps its state under `last_prefix`
/// when given.
fn set_config(
    dir: &tempfile::TempDir,
    set: &str,
    names: &[String],
    last_prefix: Option<&str>,
) -> PathBuf {
    let mut text = format!("set = \"{set}\"\n");
    for (n, name) in names.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[role]]\nname = \"{name}\"\nrepository-uuid = [\"{{{n:08x}-2222-4e5f-8a9b-abcdefabcdef}}\"]\n"
        );
    }
    if let Some(prefix) = last_prefix {
        let _ = writeln!(text, "state-key-prefix = \"{prefix}\"");
    }
    let config = dir.path().join(format!("{set}.toml"));
    std::fs::write(&config, text).expect("write config");
    config
}

/// Out-of-band changes, each of another kind: repo-001's trust loses its conditions,
/// repo-004's state policy is replaced, repo-007's sessions are lengthened and repo-010 loses
/// its state-prefix tag.
fn change_four_roles_by_hand(w: &World) {
    use serde_json::json;

    let aws = w.clients();
    let iam = &aws.iam;
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
    .to_string();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": w.provider_arn()},
        "Action": "sts:AssumeRoleWithWebIdentity"}]})
    .to_string();
    aws.block_on(
        iam.update_assume_role_policy()
            .role_name("repo-001")
            .policy_document(&trust)
            .send(),
    )
    .expect("UpdateAssumeRolePolicy");
    aws.block_on(
        iam.put_role_policy()
            .role_name("repo-004")
            .policy_name("terraform-state-access")
            .policy_document(&doc)
            .send(),
    )
    .expect("PutRolePolicy");
    aws.block_on(
        iam.update_role()
            .role_name("repo-007")
            .max_session_duration(7200)
            .send(),
    )
    .expect("UpdateRole");
    aws.block_on(
        iam.untag_role()
            .role_name("repo-010")
            .tag_keys("bootstrap-state-prefix")
            .send(),
    )
    .expect("UntagRole");
}

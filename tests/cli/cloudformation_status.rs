//! `status --mode cloudformation` tells the truth: CloudFormation's drift results (MODIFIED,
//! DELETED) and resources deleted outside the stack make it not in sync (exit 2 under
//! `--detailed-exitcode`), and `init` never hands on the ARN of a role that does not exist.
//! Drift results are set in the behaviour layer (moto runs no drift detection); resources are
//! deleted out of band through moto without the layer.

use crate::common::fixture::{World, ROLE, TABLE};

const STACK: &str = "bitbucket-oidc-bootstrap";

fn cfn(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["--mode", "cloudformation"];
    a.extend_from_slice(extra);
    a
}

#[test]
fn drift_results_make_status_not_in_sync() {
    let w = World::start();
    w.run("init", &cfn(&["--yes"])).assert_success();
    w.run("status", &cfn(&["--detailed-exitcode"]))
        .assert_success();

    w.moto.set_drift(&w.region, STACK, "DeployRole", "MODIFIED");
    w.moto.set_drift(&w.region, STACK, "LockTable", "DELETED");
    let out = w.run("status", &cfn(&["--detailed-exitcode"]));
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("changed outside the stack (drift: MODIFIED)")
            && out.stdout.contains("deleted outside the stack"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("everything is in sync"), "{out:?}");
    let out = w.run("status", &cfn(&["--output", "json"]));
    out.assert_success();
    let doc = out.json();
    assert_eq!(doc["in_sync"], false, "{doc}");
    assert_eq!(doc["template_in_sync"], true, "{doc}");

    w.moto.set_drift(&w.region, STACK, "DeployRole", "IN_SYNC");
    w.moto.set_drift(&w.region, STACK, "LockTable", "IN_SYNC");
    w.run("status", &cfn(&["--detailed-exitcode"]))
        .assert_success();
}

#[test]
fn a_role_and_table_deleted_out_of_band_are_not_in_sync_and_no_arn_is_handed_on() {
    let w = World::start();
    w.run("init", &cfn(&["--yes"])).assert_success();
    let aws = w.clients();
    for name in aws.inline_policy_names(ROLE) {
        aws.block_on(
            aws.iam
                .delete_role_policy()
                .role_name(ROLE)
                .policy_name(name)
                .send(),
        )
        .unwrap();
    }
    aws.block_on(aws.iam.delete_role().role_name(ROLE).send())
        .unwrap();
    aws.block_on(
        aws.dynamodb
            .update_table()
            .table_name(TABLE)
            .deletion_protection_enabled(false)
            .send(),
    )
    .unwrap();
    aws.block_on(aws.dynamodb.delete_table().table_name(TABLE).send())
        .unwrap();

    let out = w.run("status", &cfn(&["--detailed-exitcode", "--output", "json"]));
    out.assert_code(2);
    let doc = out.json();
    assert_eq!(doc["in_sync"], false, "{doc}");
    let gone: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["exists"] == false)
        .map(|r| r["logical_id"].as_str().unwrap())
        .collect();
    assert_eq!(gone, ["DeployRole", "LockTable"], "{doc}");
    let out = w.run("status", &cfn(&[]));
    assert!(out.stdout.contains("deleted outside the stack"), "{out:?}");
    assert!(out.stdout.contains("--prune"), "says what works: {out:?}");

    let out = w.run("init", &cfn(&["--yes"]));
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("role bitbucket-pipelines-deploy of the stack does not exist"),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains("role/bitbucket-pipelines-deploy"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("AWS_ROLE_ARN"), "{out:?}");
}

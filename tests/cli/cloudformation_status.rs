//! `status --mode cloudformation` tells the truth: CloudFormation's drift results (MODIFIED,
//! DELETED) and resources deleted outside the stack make it not in sync (exit 2 under
//! `--detailed-exitcode`), and `init` never hands on the ARN of a role that does not exist.
//! Drift results are set in the behaviour layer (moto runs no drift detection); resources are
//! deleted out of band through moto without the layer.
//!
//! And what `status`, `plan` and `init` say about a stack in each state a failed or running
//! operation leaves (put there by `tests/moto_faults.py`: moto never fails an operation), and
//! about state kept without a stack: each says what is true and what to run next, and what it
//! suggests works.

use crate::cloudformation_stack::{cfn, STACK};
use crate::common::fixture::{World, BUCKET, ROLE, TABLE};

#[test]
fn drift_results_make_status_not_in_sync() {
    let w = World::start();
    w.test("init").args(cfn(&["--yes"])).run();
    w.test("status").args(cfn(&["--detailed-exitcode"])).run();

    w.moto.set_drift(&w.region, STACK, "DeployRole", "MODIFIED");
    w.moto.set_drift(&w.region, STACK, "LockTable", "DELETED");
    let out = w
        .test("status")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_exit(2)
        .run();
    assert!(
        out.stdout
            .contains("changed outside the stack (drift: MODIFIED)")
            && out.stdout.contains("deleted outside the stack"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("everything is in sync"), "{out:?}");
    let out = w.test("status").args(cfn(&["--output", "json"])).run();
    let doc = out.json();
    assert_eq!(doc["in_sync"], false, "{doc}");
    assert_eq!(doc["template_in_sync"], true, "{doc}");

    w.moto.set_drift(&w.region, STACK, "DeployRole", "IN_SYNC");
    w.moto.set_drift(&w.region, STACK, "LockTable", "IN_SYNC");
    w.test("status").args(cfn(&["--detailed-exitcode"])).run();
}

#[test]
fn a_role_and_table_deleted_out_of_band_are_not_in_sync_and_no_arn_is_handed_on() {
    let w = World::start();
    w.test("init").args(cfn(&["--yes"])).run();
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

    let out = w
        .test("status")
        .args(cfn(&["--detailed-exitcode", "--output", "json"]))
        .expect_exit(2)
        .run();
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
    // The outputs hand on no ARN of the deleted role: it is missing, in JSON and in text.
    assert_eq!(
        doc["outputs"]["role_arns"][ROLE],
        serde_json::Value::Null,
        "{doc}"
    );
    assert!(doc["outputs"].get("role_arn").is_none(), "{doc}");
    let out = w
        .test("status")
        .args(cfn(&[]))
        .expect_stdout_contains("deleted outside the stack")
        .expect_stdout_lacks(format!(":role/{ROLE}"))
        .expect_stdout_contains(format!("{ROLE}: missing (deleted outside the stack)"))
        .run();
    assert!(out.stdout.contains("--prune"), "says what works: {out:?}");

    w.test("init")
        .args(cfn(&["--yes"]))
        .expect_exit(1)
        .expect_stderr_contains("role bitbucket-pipelines-deploy of the stack does not exist")
        .expect_stdout_lacks("role/bitbucket-pipelines-deploy")
        .expect_stdout_lacks("AWS_ROLE_ARN")
        .run();
}

#[test]
fn a_rolled_back_update_with_the_rendered_template_is_in_sync_everywhere() {
    let w = World::start();
    w.test("init").args(cfn(&["--yes"])).run();
    w.moto
        .set_stack_status(&w.region, STACK, "UPDATE_ROLLBACK_COMPLETE");
    w.test("plan").args(cfn(&["--detailed-exitcode"])).run();
    w.test("status")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_stdout_contains("everything is in sync")
        .run();
    w.test("init")
        .args(cfn(&["--yes"]))
        .expect_no_writes()
        .expect_stdout_contains("nothing to change")
        .run();
}

#[test]
fn a_busy_or_broken_stack_is_not_said_to_match_and_the_next_step_is_one_that_works() {
    let w = World::start();
    w.test("init").args(cfn(&["--yes"])).run();

    w.moto
        .set_stack_status(&w.region, STACK, "UPDATE_ROLLBACK_FAILED");
    let out = w
        .test("status")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_exit(2)
        .run();
    assert!(
        !out.stdout
            .contains("template differs from the rendered one:\n\n"),
        "no empty list: {out:?}"
    );
    assert!(
        out.stdout.contains("template matches the rendered one")
            && out.stdout.contains("ContinueUpdateRollback"),
        "{out:?}"
    );

    for (status, next) in [
        ("UPDATE_IN_PROGRESS", "wait for it to finish"),
        ("ROLLBACK_FAILED", "bootstrap destroy --mode cloudformation"),
        ("DELETE_FAILED", "bootstrap destroy --mode cloudformation"),
    ] {
        w.moto.set_stack_status(&w.region, STACK, status);
        let out = w
            .test("status")
            .args(cfn(&["--detailed-exitcode"]))
            .expect_exit(2)
            .run();
        assert!(
            out.stdout.contains(&format!(
                "template not compared while the stack is {status}"
            )),
            "{status}: {out:?}"
        );
        assert!(
            !out.stdout.contains("template matches"),
            "{status}: {out:?}"
        );
        assert!(out.stdout.contains(next), "{status}: {out:?}");
        assert!(
            !out.stdout.contains("to bring the stack in line"),
            "init refuses it, so status does not send the user there: {out:?}"
        );
    }
    // What ROLLBACK_FAILED suggests works: destroy deletes the stack.
    w.moto.set_stack_status(&w.region, STACK, "ROLLBACK_FAILED");
    w.test("destroy").args(cfn(&["--yes"])).run();
    let out = w.test("status").args(cfn(&["--output", "json"])).run();
    assert_eq!(out.json()["exists"], false, "{out:?}");
}

#[test]
fn state_kept_without_a_stack_is_named_and_init_is_not_suggested() {
    let w = World::start();
    let out = w.test("plan").args(cfn(&[])).run();
    assert!(
        out.stdout.contains("to create the stack (CreateStack")
            && !out.stdout.contains("change set"),
        "a create is no change set: {out:?}"
    );
    w.test("init").args(cfn(&["--yes"])).run();
    w.test("destroy").args(cfn(&["--yes"])).run();

    let out = w
        .test("status")
        .args(cfn(&["--detailed-exitcode"]))
        .expect_exit(2)
        .run();
    assert!(
        out.stdout.contains("init cannot create it")
            && out.stdout.contains(BUCKET)
            && out.stdout.contains(TABLE)
            && out.stdout.contains("--mode direct"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("to create it\n"), "{out:?}");
    let out = w.test("status").args(cfn(&["--output", "json"])).run();
    let doc = out.json();
    assert!(
        doc["blocked"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("already exist outside it")),
        "{doc}"
    );
}

//! What `status`, `plan` and `init` say about a stack in each state a failed or running
//! operation leaves (put there by `tests/moto_faults.py`: moto never fails an operation), and
//! about state kept without a stack: each says what is true and what to run next, and what it
//! suggests works.

use crate::common::fixture::{World, BUCKET, TABLE};

const STACK: &str = "bitbucket-oidc-bootstrap";

fn cfn(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["--mode", "cloudformation"];
    a.extend_from_slice(extra);
    a
}

#[test]
fn a_rolled_back_update_with_the_rendered_template_is_in_sync_everywhere() {
    let w = World::start();
    w.run("init", &cfn(&["--yes"])).assert_success();
    w.moto
        .set_stack_status(&w.region, STACK, "UPDATE_ROLLBACK_COMPLETE");
    w.run("plan", &cfn(&["--detailed-exitcode"]))
        .assert_success();
    let out = w.run("status", &cfn(&["--detailed-exitcode"]));
    out.assert_success();
    assert!(out.stdout.contains("everything is in sync"), "{out:?}");
    let out = w
        .test("init")
        .args(cfn(&["--yes"]))
        .expect_no_writes()
        .run();
    assert!(out.stdout.contains("nothing to change"), "{out:?}");
}

#[test]
fn a_busy_or_broken_stack_is_not_said_to_match_and_the_next_step_is_one_that_works() {
    let w = World::start();
    w.run("init", &cfn(&["--yes"])).assert_success();

    w.moto
        .set_stack_status(&w.region, STACK, "UPDATE_ROLLBACK_FAILED");
    let out = w.run("status", &cfn(&["--detailed-exitcode"]));
    out.assert_code(2);
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
        let out = w.run("status", &cfn(&["--detailed-exitcode"]));
        out.assert_code(2);
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
    w.run("destroy", &cfn(&["--yes"])).assert_success();
    let out = w.run("status", &cfn(&["--output", "json"]));
    assert_eq!(out.json()["exists"], false, "{out:?}");
}

#[test]
fn state_kept_without_a_stack_is_named_and_init_is_not_suggested() {
    let w = World::start();
    let out = w.run("plan", &cfn(&[]));
    out.assert_success();
    assert!(
        out.stdout.contains("to create the stack (CreateStack")
            && !out.stdout.contains("change set"),
        "a create is no change set: {out:?}"
    );
    w.run("init", &cfn(&["--yes"])).assert_success();
    w.run("destroy", &cfn(&["--yes"])).assert_success();

    let out = w.run("status", &cfn(&["--detailed-exitcode"]));
    out.assert_code(2);
    assert!(
        out.stdout.contains("init cannot create it")
            && out.stdout.contains(BUCKET)
            && out.stdout.contains(TABLE)
            && out.stdout.contains("--mode direct"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("to create it\n"), "{out:?}");
    let out = w.run("status", &cfn(&["--output", "json"]));
    let doc = out.json();
    assert!(
        doc["blocked"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("already exist outside it")),
        "{doc}"
    );
}

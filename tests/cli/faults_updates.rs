//! Survival under faults (see `faults.rs`) of the runs after the first: a destroy cut off
//! after any deletion finishes when run again, and an update cut off after any write
//! converges when run again.

use crate::common::fixture::{World, ENV_UUID, REPO_UUID};
use crate::common::inspect::Inspect;
use crate::common::proxy::{Fault, Proxy};
use crate::common::PkiOptions;
use crate::faults::{as_list, as_list_of_objects, fault_cases, init_via, via, BUCKET, ROLE, TABLE};
use serde_json::json;

#[test]
fn a_destroy_cut_off_after_any_deletion_finishes_when_run_again() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let proxy = Proxy::start(w.moto.port());
    // How many writes a full `destroy --delete-state` of an empty setup makes.
    proxy.set_fault(Fault::None);
    init_via(&w, &proxy).run();
    proxy.set_fault(Fault::None);
    via(&w, &proxy, "destroy", &["--delete-state"]).run();
    let n = proxy.mutating();
    assert!(n >= 5, "{n} deletions");
    let ops = proxy.mutating_operations();

    let cases = fault_cases(n, &ops, Fault::CutAfter, Fault::CutAfterOperation);
    for fault in &cases {
        let case = format!("destroy {fault:?} (of {n} writes)");
        w.moto.reset();
        proxy.set_fault(Fault::None);
        init_via(&w, &proxy).run();
        proxy.set_fault(fault.clone());
        let out = via(&w, &proxy, "destroy", &["--delete-state"])
            .expect_exit(1)
            .run();
        assert_eq!(proxy.faulted().len(), 1, "{case}\n{out:?}");

        proxy.set_fault(Fault::None);
        via(&w, &proxy, "destroy", &["--delete-state"]).run();
        assert_eq!(aws.role_names(), Vec::<String>::new(), "{case}");
        assert_eq!(aws.provider_arns(), Vec::<String>::new(), "{case}");
        assert_eq!(aws.bucket_names(), Vec::<String>::new(), "{case}");
        assert_eq!(aws.table_names(), Vec::<String>::new(), "{case}");

        w.moto.start_recording();
        via(&w, &proxy, "destroy", &["--delete-state"]).run();
        assert_eq!(w.moto.mutating_calls(), vec![], "{case}: third run wrote");
    }
    eprintln!(
        "destroy cut-off cases survived: {} ({})",
        cases.len(),
        ops.join(", ")
    );
}

/// An update run: a rotated issuer certificate, a new environment restriction, an extra
/// managed policy, a permissions boundary, a longer session, shorter retention, a new tag,
/// and deletion protection that someone turned off. Cut off after any of its writes, the
/// re-run converges on the new settings.
#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn an_update_cut_off_after_any_write_converges_when_run_again() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let proxy = Proxy::start(w.moto.port());
    let rotated = w.pki.reissue(PkiOptions::default());
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]});

    // Fresh setup with the defaults, drift, and the policies the update names.
    let prepare = || {
        w.moto.reset();
        w.issuer.rotate_chain(&w.pki);
        proxy.set_fault(Fault::None);
        init_via(&w, &proxy).run();
        aws.set_deletion_protection(TABLE, false);
        let extra = aws.create_policy("deploy-extra", &policy);
        let boundary = aws.create_policy("deploy-boundary", &policy);
        w.issuer.rotate_chain(&rotated);
        (extra, boundary)
    };
    let update = |extra: &str, boundary: &str| {
        via(
            &w,
            &proxy,
            "init",
            &[
                "--environment-uuid",
                ENV_UUID,
                "--policy-arn",
                extra,
                "--permissions-boundary",
                boundary,
                "--max-session-duration",
                "7200",
                "--noncurrent-days",
                "30",
                "--tag",
                "team=platform",
            ],
        )
    };
    let check = |extra: &str, boundary: &str, case: &str| {
        let arn = format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            w.moto.account_id(),
            w.issuer.host_path()
        );
        assert_eq!(aws.provider_arns(), vec![arn.clone()], "{case}");
        // Rotation: the new thumbprint first, the current one kept.
        assert_eq!(
            aws.provider(&arn).1,
            vec![rotated.thumbprint(), w.pki.thumbprint()],
            "{case}: thumbprints"
        );
        assert_eq!(aws.role_names(), vec![ROLE.to_string()], "{case}");
        assert_eq!(
            aws.attached_policy_arns(ROLE),
            vec![extra.to_string()],
            "{case}"
        );
        assert_eq!(
            aws.role_settings(ROLE),
            (7200, Some(boundary.to_string())),
            "{case}: session and boundary"
        );
        let trust = aws.trust_policy(ROLE);
        let st = &as_list_of_objects(&trust["Statement"])[0];
        assert_eq!(
            as_list(&st["Condition"]["StringLike"][format!("{}:sub", w.issuer.host_path())]),
            vec![format!("{REPO_UUID}:{ENV_UUID}:*")],
            "{case}: {trust}"
        );
        assert_eq!(
            aws.lifecycle_noncurrent_days(BUCKET),
            vec![Some(30)],
            "{case}"
        );
        let tags = aws.bucket_tags(BUCKET);
        assert_eq!(
            tags.get("team").map(String::as_str),
            Some("platform"),
            "{case}"
        );
        assert_eq!(
            tags.get("managed-by").map(String::as_str),
            Some("bootstrap"),
            "{case}"
        );
        assert_eq!(aws.table_protection(TABLE), (true, true), "{case}: table");
    };

    // The clean update: how many writes, which operations.
    let (extra, boundary) = prepare();
    proxy.set_fault(Fault::None);
    update(&extra, &boundary).run();
    check(&extra, &boundary, "clean update");
    let n = proxy.mutating();
    let ops = proxy.mutating_operations();
    assert!(n >= 7, "{n}: {ops:?}");

    let cases = fault_cases(n, &ops, Fault::CutAfter, Fault::CutAfterOperation);
    for fault in &cases {
        let case = format!("update {fault:?} (of {n} writes)");
        let (extra, boundary) = prepare();
        proxy.set_fault(fault.clone());
        let out = update(&extra, &boundary).expect_exit(1).run();
        assert_eq!(proxy.faulted().len(), 1, "{case}\n{out:?}");

        proxy.set_fault(Fault::None);
        update(&extra, &boundary).run();
        check(&extra, &boundary, &case);

        w.moto.start_recording();
        update(&extra, &boundary).run();
        assert_eq!(w.moto.mutating_calls(), vec![], "{case}: third run wrote");
    }
    eprintln!(
        "update cut-off cases survived: {} ({})",
        cases.len(),
        ops.join(", ")
    );
}

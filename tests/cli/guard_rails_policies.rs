//! Settings that are valid on their own but would reach AWS wrongly: a customer policy that
//! grants everything, risky settings, source ranges that add up to everything, a missing
//! permissions boundary; refused (or warned about) before any write.

use crate::common::fixture::{World, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::issuer::{Framing, Response};
use crate::common::Test;
use crate::guard_rails::error_line;
use serde_json::json;

fn admin_policy(action: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadState", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "Everything", "Effect": "Allow", "Action": [action], "Resource": "*"}
        ]
    })
}

#[test]
fn a_customer_policy_granting_everything_is_refused_before_any_write() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let star = aws.create_policy("all-star", &admin_policy("*"));
    let star_star = aws.create_policy("all-star-star", &admin_policy("*:*"));
    let narrow = aws.create_policy(
        "narrow",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    );
    let missing = format!("arn:aws:iam::{}:policy/does-not-exist", w.moto.account_id());

    for (arn, expect) in [
        (&star, "grants full administrator access"),
        (&star_star, "grants full administrator access"),
        (&missing, "no such managed policy"),
    ] {
        w.moto.start_recording();
        let out = w
            .test("init")
            .args(["--yes", "--policy-arn", arn])
            .expect_exit(64)
            .run();
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{out:?}");
        assert!(errors[0].contains(expect), "{out:?}");
        assert!(errors[0].contains(arn.as_str()), "{out:?}");
        if expect.contains("administrator") {
            assert!(errors[0].contains("--allow-admin"), "{out:?}");
            assert!(
                errors[0].contains("Everything"),
                "names the statement\n{out:?}"
            );
        }
        assert_eq!(
            w.moto.mutating_calls(),
            vec![],
            "{arn}: nothing may be written"
        );
        // `plan` refuses the same way.
        w.test("plan")
            .args(["--policy-arn", arn])
            .expect_exit(64)
            .run();
    }

    // A broad but not unlimited policy is fine; *:* with --allow-admin goes ahead, loudly.
    w.test("init")
        .args(["--yes", "--policy-arn", &narrow])
        .run();
    let out = w
        .test("init")
        .args(["--yes", "--policy-arn", &star, "--allow-admin"])
        .run();
    assert!(
        out.stderr.contains("warning: --policy-arn") && out.stderr.contains("--allow-admin"),
        "{out:?}"
    );
    assert_eq!(
        aws.attached_policy_arns("bitbucket-pipelines-deploy"),
        vec![star.clone()]
    );
}

#[test]
fn risky_but_valid_settings_are_warned_about_loudly() {
    let w = World::start();
    // No source-IP condition.
    w.test("plan")
        .args(["-q"])
        .expect_stderr_contains("warning: no --source-ip")
        .run();
    // A broad range and a long session.
    w.test("plan")
        .args([
            "-q",
            "--source-ip",
            "10.0.0.0/8",
            "--max-session-duration",
            "43200",
        ])
        .expect_stderr_contains("warning: --source-ip 10.0.0.0/8 is a very broad range")
        .expect_stderr_contains("warning: --max-session-duration 43200")
        .run();
    // Any repository.
    let mut args = vec!["plan".to_string(), "-q".to_string()];
    args.extend(w.flags());
    args.extend(["--workspace-uuid", WORKSPACE_UUID, "--allow-any-repository"].map(String::from));
    Test::new()
        .args(args)
        .expect_stderr_contains("warning: --allow-any-repository: EVERY repository")
        .run();
}

/// A probe of `--ip-ranges-url`: name, the document served (null: a body without end), extra
/// flags, the exit code, and what the error line must say.
type RangeProbe = (
    &'static str,
    serde_json::Value,
    &'static [&'static str],
    i32,
    &'static [&'static str],
);

#[test]
fn source_ranges_from_the_url_are_judged_as_one_union_before_any_write() {
    let w = World::start();
    let ranges = |cidrs: &[&str]| {
        json!({"items": cidrs.iter().map(|c| json!({
            "cidr": c, "product": ["bitbucket"], "direction": ["egress"]
        })).collect::<Vec<_>>()})
    };
    let url = format!("{}/ip-ranges", w.issuer.origin());
    let cases: [RangeProbe; 4] = [
        (
            "the document's halves add up to IPv4",
            ranges(&["0.0.0.0/1", "128.0.0.0/1"]),
            &[],
            64,
            &["all of IPv4", "--ip-ranges-url", "0.0.0.0/1, 128.0.0.0/1"],
        ),
        (
            "the document plus a flag add up to IPv4",
            ranges(&["0.0.0.0/1", "104.192.136.0/21"]),
            &["--source-ip", "128.0.0.0/1"],
            64,
            &["all of IPv4", "union is 0.0.0.0/0"],
        ),
        (
            "the document lists ::/0",
            ranges(&["104.192.136.0/21", "::/0"]),
            &[],
            64,
            &["all of IPv6"],
        ),
        (
            "a document that never ends",
            serde_json::Value::Null,
            &[],
            1,
            &["Atlassian IP ranges", "/ip-ranges", "larger than 8 MiB"],
        ),
    ];
    for (name, doc, extra, code, expect) in cases {
        if doc.is_null() {
            w.issuer
                .set_route("/ip-ranges", Response::endless(Framing::Chunked));
        } else {
            w.issuer.set_json("/ip-ranges", 200, &doc);
        }
        w.moto.start_recording();
        let mut args = vec!["--yes", "--source-ip", "bitbucket", "--ip-ranges-url", &url];
        args.extend_from_slice(extra);
        let out = w.test("init").args(&args).expect_exit(code).run();
        let line = error_line(&out);
        for e in expect {
            assert!(line.contains(e), "{name}: lacks {e:?}\n{out:?}");
        }
        assert_eq!(w.moto.mutating_calls(), vec![], "{name}: nothing written");
    }
}

#[test]
fn a_missing_permissions_boundary_is_refused_before_any_write() {
    let w = World::start();
    let missing = format!(
        "arn:aws:iam::{}:policy/no-such-boundary",
        w.moto.account_id()
    );
    let cases: [(&str, &[&str]); 3] = [
        ("init", &["--yes"]),
        ("plan", &[]),
        ("init", &["--yes", "--mode", "cloudformation"]),
    ];
    for (cmd, extra) in cases {
        w.moto.start_recording();
        let mut args = extra.to_vec();
        args.extend(["--permissions-boundary", &missing]);
        let out = w.test(cmd).args(&args).expect_exit(64).run();
        let line = error_line(&out);
        assert!(line.contains(&missing), "names the ARN\n{out:?}");
        assert!(line.contains("--permissions-boundary"), "{out:?}");
        assert!(line.contains("no such managed policy"), "{out:?}");
        assert_eq!(
            w.moto.mutating_calls(),
            vec![],
            "{cmd} {extra:?}: nothing written"
        );
        let stack_calls: Vec<_> = w
            .moto
            .calls()
            .into_iter()
            .filter(|(service, _)| service == "cloudformation")
            .collect();
        assert_eq!(stack_calls, vec![], "{cmd} {extra:?}: no stack call");
    }
}

//! The role options of `init`, read back from (local) AWS: deployment environments, source IPs
//! (explicit and Atlassian's published ranges), managed policies, session length, permissions
//! boundary, custom audiences, and the trust policy's size against IAM's quotas. The state
//! options (key prefix, KMS, tags) are in `init_options_state.rs`.

use crate::common::Test;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::aws::{policy_json, strings, Clients};
use crate::common::fixture::{World, ENV_UUID, REPO_UUID, ROLE};

fn trust(aws: &Clients) -> Value {
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    policy_json(role.assume_role_policy_document().unwrap())
}

pub fn inline(aws: &Clients) -> Value {
    aws.inline_policy(ROLE, "terraform-state-access")
}

/// The managed policies attached to the role.
fn attached(aws: &Clients) -> Vec<String> {
    aws.block_on(aws.iam.list_attached_role_policies().role_name(ROLE).send())
        .unwrap()
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

pub fn provider(
    w: &World,
    aws: &Clients,
) -> aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput {
    aws.block_on(
        aws.iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(w.provider_arn())
            .send(),
    )
    .unwrap()
}

pub fn sorted(v: &Value) -> Vec<String> {
    let mut s = strings(v);
    s.sort();
    s
}

#[test]
fn environments_and_source_ips_narrow_the_trust() {
    let w = World::start();
    let aws = w.clients();
    let hp = w.issuer.host_path();
    w.test("init")
        .args([
            "--yes",
            "-q",
            "--environment-uuid",
            ENV_UUID,
            "--source-ip",
            "203.0.113.0/24",
            "--source-ip",
            "198.51.100.7",
        ])
        .run();
    let t = trust(&aws);
    let c = &t["Statement"][0]["Condition"];
    assert_eq!(
        strings(&c["StringLike"][format!("{hp}:sub")]),
        [format!("{REPO_UUID}:{ENV_UUID}:*")]
    );
    assert_eq!(
        sorted(&c["IpAddress"]["aws:SourceIp"]),
        ["198.51.100.7/32", "203.0.113.0/24"]
    );
    assert_eq!(
        strings(&c["StringEquals"][format!("{hp}:aud")]),
        [w.audience()]
    );

    // Dropping the options widens the trust back, with one UpdateAssumeRolePolicy.
    w.moto.start_recording();
    w.test("init").args(["--yes", "-q"]).run();
    assert_eq!(
        w.moto.mutating_calls(),
        [("iam".to_string(), "UpdateAssumeRolePolicy".to_string())]
    );
    let c = trust(&aws)["Statement"][0]["Condition"].clone();
    assert_eq!(
        strings(&c["StringLike"][format!("{hp}:sub")]),
        [format!("{REPO_UUID}:*")]
    );
    assert!(c.get("IpAddress").is_none(), "{c:#}");
}

#[test]
fn source_ip_bitbucket_uses_atlassians_published_egress_ranges() {
    let w = World::start();
    let aws = w.clients();
    // Atlassian's format; only product bitbucket + direction egress counts.
    w.issuer.set_json(
        "/ip-ranges",
        200,
        &json!({
            "creationDate": "2025-01-01T00:00:00.000000",
            "syncToken": "1",
            "items": [
                {"network": "104.192.136.0", "mask_len": 21, "cidr": "104.192.136.0/21",
                 "mask": "255.255.248.0", "product": ["bitbucket"], "direction": ["egress", "ingress"],
                 "region": ["global"], "perimeter": "global"},
                {"network": "18.205.93.0", "mask_len": 25, "cidr": "18.205.93.0/25",
                 "product": ["jira", "confluence"], "direction": ["egress"],
                 "region": ["us-east-1"], "perimeter": "global"},
                {"network": "13.200.41.128", "mask_len": 25, "cidr": "13.200.41.128/25",
                 "product": ["bitbucket"], "direction": ["ingress"],
                 "region": ["ap-south-1"], "perimeter": "global"},
                {"network": "2401:1d80:3000::", "mask_len": 36, "cidr": "2401:1d80:3000::/36",
                 "product": ["bitbucket"], "direction": ["egress"],
                 "region": ["global"], "perimeter": "global"}
            ]
        }),
    );
    let url = format!("{}/ip-ranges", w.issuer.origin());
    let out = w
        .test("init")
        .args([
            "--yes",
            "--output",
            "json",
            "--source-ip",
            "bitbucket",
            "--ip-ranges-url",
            &url,
        ])
        .run();
    let warnings = out.json()["warnings"].to_string();
    assert!(warnings.contains("4x/8x"), "{warnings}");
    let c = trust(&aws)["Statement"][0]["Condition"].clone();
    assert_eq!(
        sorted(&c["IpAddress"]["aws:SourceIp"]),
        ["104.192.136.0/21", "2401:1d80:3000::/36"]
    );
}

#[test]
fn managed_policies_session_length_and_boundary_follow_the_flags() {
    let w = World::start();
    let aws = w.clients();
    // Customer-managed policies (moto does not load AWS's managed ones by default).
    let create = |name: &str| -> String {
        let doc = json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" }]
        });
        aws.create_policy(name, &doc)
    };
    let deploy = create("deploy-app");
    let boundary = create("pipeline-boundary");
    let (deploy, boundary) = (deploy.as_str(), boundary.as_str());
    w.test("init")
        .args([
            "--yes",
            "-q",
            "--policy-arn",
            deploy,
            "--max-session-duration",
            "7200",
            "--permissions-boundary",
            boundary,
        ])
        .run();
    assert_eq!(attached(&aws), [deploy]);
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.max_session_duration(), Some(7200));
    assert_eq!(
        role.permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn()),
        Some(boundary)
    );

    // Back to the defaults: detached, 3600 s, no boundary.
    w.moto.start_recording();
    w.test("init").args(["--yes", "-q"]).run();
    let ops: BTreeSet<String> = w.moto.mutating_calls().into_iter().map(|c| c.1).collect();
    assert_eq!(
        ops,
        [
            "DeleteRolePermissionsBoundary",
            "DetachRolePolicy",
            "UpdateRole"
        ]
        .map(String::from)
        .into()
    );
    assert!(attached(&aws).is_empty());
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.max_session_duration(), Some(3600));
    assert!(role.permissions_boundary().is_none());

    // Administrator access needs --allow-admin, refused before anything is read.
    w.moto.start_recording();
    let f = w
        .test("init")
        .args([
            "--yes",
            "--policy-arn",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        ])
        .expect_exit(64)
        .run_error();
    assert!(f.line.contains("--allow-admin"), "{f:?}");
    assert!(w.moto.calls().is_empty(), "AWS was called");
}

/// A customer-managed policy of one statement in this account; returns its ARN.
fn create_policy(aws: &Clients, name: &str, statement: Value) -> String {
    aws.create_policy(
        name,
        &json!({"Version": "2012-10-17", "Statement": [statement]}),
    )
}

#[test]
fn admin_equivalent_customer_policies_need_allow_admin() {
    let w = World::start();
    let aws = w.clients();
    let not_action = create_policy(
        &aws,
        "all-but-get-object",
        json!({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}),
    );
    let iam_star = create_policy(
        &aws,
        "iam-everything",
        json!({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
    );
    let put_star = create_policy(
        &aws,
        "put-anything",
        json!({"Sid": "Escalate", "Effect": "Allow", "Action": ["s3:GetObject", "iam:Put*"], "Resource": "*"}),
    );
    let narrow = create_policy(
        &aws,
        "iam-read",
        json!({"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}),
    );
    for (arn, statement, allows) in [
        (
            &not_action,
            "statement 1",
            "every action except s3:GetObject",
        ),
        (&iam_star, "statement 1", "iam:PutRolePolicy"),
        (&put_star, "statement \"Escalate\"", "iam:PutRolePolicy"),
    ] {
        w.moto.start_recording();
        // (A narrow --source-ip keeps stderr to the one error line.)
        let f = w
            .test("init")
            .args([
                "--yes",
                "--policy-arn",
                arn,
                "--source-ip",
                "203.0.113.0/24",
            ])
            .expect_exit(64)
            .run_error();
        for part in [arn.as_str(), statement, allows, "--allow-admin"] {
            assert!(f.line.contains(part), "{part}: {f:?}");
        }
        // The same judgement in CloudFormation mode, before any stack call.
        let out = w
            .test("init")
            .args(["--yes", "--mode", "cloudformation", "--policy-arn", arn])
            .expect_exit(64)
            .run();
        assert!(
            out.stderr.contains(allows) && out.stderr.contains("--allow-admin"),
            "{out:?}"
        );
        assert_eq!(w.moto.mutating_calls(), vec![], "{arn}: nothing written");
        w.moto.stop_recording();
    }
    // Reading IAM is not escalation.
    w.test("init")
        .args(["--yes", "-q", "--policy-arn", &narrow])
        .run();
    // The explicit opt-in attaches it, loudly, and the read-back accepts it.
    let out = w
        .test("init")
        .args(["--yes", "--policy-arn", &iam_star, "--allow-admin"])
        .run();
    assert!(
        out.stderr.contains("warning: --policy-arn") && out.stderr.contains(&iam_star),
        "{out:?}"
    );

    assert_eq!(attached(&aws), [iam_star]);
}

/// `--repository-uuid` flags for `n` repositories.
fn repositories(n: usize) -> Vec<String> {
    (0..n)
        .flat_map(|i| {
            [
                "--repository-uuid".to_string(),
                format!("{{{i:08x}-2222-4e5f-8a9b-abcdefabcdef}}"),
            ]
        })
        .collect()
}

#[test]
fn a_trust_policy_over_the_default_quota_warns_and_one_over_the_maximum_is_refused() {
    let w = World::start();
    // About 2,600 characters: over the default 2,048, under the adjustable 8,192.
    let mut args = vec!["init".to_string()];
    args.extend(w.setup_flags());
    args.extend(repositories(50));
    args.extend(["--yes".to_string(), "-q".to_string()]);
    let out = Test::new().args(&args).run();
    assert!(
        out.stderr.contains("'Role trust policy length'")
            && out.stderr.contains("default quota of 2048")
            && out.stderr.contains("up to 8192"),
        "{}",
        out.stderr
    );
    // The warning is about the policy written: it is that large.
    let size = trust(&w.clients()).to_string().len();
    assert!((2048..8192).contains(&size), "{size}");

    // Over 8,192 no account accepts it: refused before any AWS call.
    w.moto.start_recording();
    let mut args = vec!["init".to_string()];
    args.extend(w.setup_flags());
    args.extend(repositories(200));
    args.push("--yes".to_string());
    let out = Test::new().args(&args).expect_exit(64).run();
    assert!(
        out.stderr.contains("trust policy would be about") && out.stderr.contains("at most 8192"),
        "{}",
        out.stderr
    );
    assert_eq!(w.moto.calls(), vec![]);

    // Under the default quota: no warning.
    w.test("plan")
        .expect_stderr_lacks("Role trust policy length")
        .run();
}

#[test]
fn custom_audiences_are_tested_with_the_set_operator_pair() {
    let w = World::start();
    let aws = w.clients();
    let custom = "deploy.example.com";
    w.test("init")
        .args(["--yes", "-q", "--audience", custom])
        .run();
    let aud_key = format!("{}:aud", w.issuer.host_path());
    let condition = &trust(&aws)["Statement"][0]["Condition"];
    let want = BTreeSet::from([w.audience(), custom.to_string()]);
    for op in ["ForAnyValue:StringEquals", "ForAllValues:StringEquals"] {
        let got: BTreeSet<String> = strings(&condition[op][&aud_key]).into_iter().collect();
        assert_eq!(got, want, "{op}: {condition}");
    }
    assert!(condition.get("StringEquals").is_none(), "{condition}");
    let provider = provider(&w, &aws);
    let ids: BTreeSet<String> = provider.client_id_list().iter().cloned().collect();
    assert_eq!(ids, want);

    w.assert_rerun_writes_nothing("init", &["--yes", "-q", "--audience", custom]);
}

//! The role and state options of `init`, read back from (local) AWS: deployment environments,
//! source IPs (explicit and Atlassian's published ranges), managed policies, session length,
//! permissions boundary, key prefix, KMS (each form of --kms-key) and tags, and the trust
//! policy's size against IAM's quotas.

use crate::common::Test;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::aws::{policy_json, strings, Clients};
use crate::common::fixture::{World, BUCKET, ENV_UUID, REPO_UUID, ROLE, TABLE};
use crate::common::kms::create_key;

fn trust(aws: &Clients) -> Value {
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    policy_json(role.assume_role_policy_document().unwrap())
}

fn inline(aws: &Clients) -> Value {
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

fn provider(
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

fn sorted(v: &Value) -> Vec<String> {
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

#[test]
fn key_prefix_kms_key_and_tags() {
    let w = World::start();
    let aws = w.clients();
    let kms = create_key(&w.moto, &w.region, None).arn;
    let out = w
        .test("init")
        .args([
            "--yes",
            "--output",
            "json",
            "--state-key-prefix",
            "platform/prod",
            "--kms-key",
            &kms,
            "--tag",
            "team=platform",
            "--noncurrent-days",
            "30",
        ])
        .run();
    let backend = out.json()["next_steps"]["backend"]
        .as_str()
        .unwrap()
        .to_string();
    // Attribute lines, with the alignment padding folded away.
    let attrs: Vec<String> = backend
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        attrs.contains(&"key = \"platform/prod/terraform.tfstate\"".to_string()),
        "{backend}"
    );
    assert!(backend.contains(&kms), "{backend}");

    // The role may list and write only under the prefix, and use the key.
    let p = inline(&aws);
    let statements = p["Statement"].as_array().unwrap();
    let list = statements
        .iter()
        .find(|s| strings(&s["Action"]) == ["s3:ListBucket"])
        .unwrap();
    assert_eq!(
        sorted(&list["Condition"]["StringLike"]["s3:prefix"]),
        ["platform/prod", "platform/prod/*"]
    );
    let objects = statements
        .iter()
        .find(|s| strings(&s["Action"]).contains(&"s3:PutObject".to_string()))
        .unwrap();
    assert_eq!(
        strings(&objects["Resource"]),
        [format!("arn:aws:s3:::{BUCKET}/platform/prod/*")]
    );
    let key = statements
        .iter()
        .find(|s| strings(&s["Resource"]) == [kms.clone()])
        .expect("a statement for the KMS key");
    assert_eq!(
        sorted(&key["Action"]),
        ["kms:Decrypt", "kms:GenerateDataKey"]
    );

    // SSE-KMS with a bucket key, and the retention in days.
    let enc = aws
        .block_on(aws.s3.get_bucket_encryption().bucket(BUCKET).send())
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(kms.as_str()));
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    let lc = aws
        .block_on(
            aws.s3
                .get_bucket_lifecycle_configuration()
                .bucket(BUCKET)
                .send(),
        )
        .unwrap();
    assert_eq!(
        lc.rules()[0]
            .noncurrent_version_expiration()
            .unwrap()
            .noncurrent_days(),
        Some(30)
    );

    // The tag is on all four resources, next to managed-by and the version that created it.
    let has = |tags: Vec<(String, String)>| {
        tags.contains(&("team".into(), "platform".into()))
            && tags.contains(&("managed-by".into(), "bootstrap".into()))
            && tags.contains(&("bootstrap-version".into(), env!("CARGO_PKG_VERSION").into()))
    };
    let provider = provider(&w, &aws);
    assert!(has(provider
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    assert!(has(role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));
    let bucket_tags = aws
        .block_on(aws.s3.get_bucket_tagging().bucket(BUCKET).send())
        .unwrap();
    assert!(has(bucket_tags
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));
    let table_arn = format!(
        "arn:aws:dynamodb:us-east-1:{}:table/{TABLE}",
        w.moto.account_id()
    );
    let table_tags = aws
        .block_on(
            aws.dynamodb
                .list_tags_of_resource()
                .resource_arn(table_arn)
                .send(),
        )
        .unwrap();
    assert!(has(table_tags
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()));

    // And the whole thing is stable.
    w.assert_rerun_writes_nothing(
        "init",
        &[
            "--yes",
            "-q",
            "--state-key-prefix",
            "platform/prod",
            "--kms-key",
            &kms,
            "--tag",
            "team=platform",
            "--noncurrent-days",
            "30",
        ],
    );
}

/// The Resource of the role's KMS statement.
fn kms_grant(aws: &Clients) -> Vec<String> {
    let p = inline(aws);
    let st = p["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| strings(&s["Action"]).contains(&"kms:GenerateDataKey".to_string()))
        .cloned()
        .unwrap_or_else(|| panic!("no KMS statement in {p}"));
    strings(&st["Resource"])
}

fn bucket_key(aws: &Clients) -> String {
    let enc = aws
        .block_on(aws.s3.get_bucket_encryption().bucket(BUCKET).send())
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    default.kms_master_key_id().unwrap().to_string()
}

#[test]
fn every_form_of_kms_key_grants_the_key_arn_and_they_all_converge() {
    let w = World::start();
    let aws = w.clients();
    let key = create_key(&w.moto, &w.region, Some("alias/terraform-state"));
    assert!(key.arn.contains(":key/"), "{}", key.arn);
    let alias_arn = format!(
        "arn:aws:kms:{}:{}:alias/terraform-state",
        w.region,
        w.moto.account_id()
    );
    let forms = [
        ("alias name", "alias/terraform-state".to_string()),
        ("key ARN", key.arn.clone()),
        ("key id", key.id.clone()),
        ("alias ARN", alias_arn),
    ];
    // The first form creates everything; the others name the same key, so they find
    // nothing to change: the grant and the bucket name the key ARN whatever the form.
    for (i, (form, given)) in forms.iter().enumerate() {
        w.moto.start_recording();
        let out = w
            .test("init")
            .args(["--yes", "--output", "json", "--kms-key", given])
            .run();
        assert_eq!(kms_grant(&aws), std::slice::from_ref(&key.arn), "{form}");
        assert_eq!(bucket_key(&aws), key.arn, "{form}");
        let backend = out.json()["next_steps"]["backend"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(backend.contains(&key.arn), "{form}: {backend}");
        if i > 0 {
            assert_eq!(w.moto.mutating_calls(), vec![], "{form}");
        }
        assert!(
            w.moto.calls().iter().any(|(_, op)| op == "DescribeKey"),
            "{form}: the key is looked up"
        );
    }
}

#[test]
fn a_kms_key_that_does_not_exist_is_refused_before_any_write() {
    let w = World::start();
    create_key(&w.moto, &w.region, Some("alias/other"));
    for missing in [
        "alias/terraform-state".to_string(),
        "1234abcd-12ab-34cd-56ef-1234567890ab".to_string(),
        format!(
            "arn:aws:kms:{}:{}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            w.region,
            w.moto.account_id()
        ),
    ] {
        for mode in ["direct", "cloudformation"] {
            w.moto.start_recording();
            let out = w
                .test("init")
                .args(["--yes", "--mode", mode, "--kms-key", &missing])
                .expect_exit(64)
                .run();
            assert!(
                out.stderr.contains(&format!("--kms-key {missing}"))
                    && out.stderr.contains("NotFoundException"),
                "{mode} {missing}: {}",
                out.stderr
            );
            assert_eq!(w.moto.mutating_calls(), vec![], "{mode} {missing}");
        }
    }
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

//! `bootstrap init` in direct mode against moto: a fresh init creates everything (read back
//! field by field with the AWS SDK), a re-run makes no mutating call (counted by moto's own
//! recorder), `plan --detailed-exitcode`, and the refusal to write without confirmation.

use crate::common;

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{
    BillingMode, KeyType, PointInTimeRecoveryStatus, ScalarAttributeType, SseStatus,
};
use aws_sdk_s3::types::{BucketVersioningStatus, ExpirationStatus, ObjectOwnership};
use serde_json::{json, Value};

use crate::common::aws::{policy_json, strings};
use crate::common::fixture::{World, BUCKET, REPO_UUID, ROLE, TABLE};

/// (Effect, action, resource) triples of a policy: an exact picture of what it grants.
fn grants(policy: &Value) -> BTreeSet<(String, String, String)> {
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let mut out = BTreeSet::new();
    for s in &statements {
        for a in strings(&s["Action"]) {
            for r in strings(&s["Resource"]) {
                out.insert((s["Effect"].as_str().unwrap().to_string(), a.clone(), r));
            }
        }
    }
    out
}

fn triples(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(e, a, r)| (e.to_string(), a.to_string(), r.to_string()))
        .collect()
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn fresh_init_creates_everything() {
    let w = World::start();
    let aws = w.clients();
    let account = w.moto.account_id();
    w.moto.start_recording();
    let out = w.test("init").args(["--yes", "--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["applied"], true);

    // What init reports matches the names AWS uses.
    let role_arn = format!("arn:aws:iam::{account}:role/{ROLE}");
    assert_eq!(doc["outputs"]["role_arn"], role_arn);
    assert_eq!(doc["outputs"]["provider_arn"], w.provider_arn());
    assert_eq!(doc["outputs"]["state_bucket"], BUCKET);
    assert_eq!(doc["outputs"]["lock_table"], TABLE);
    assert_eq!(doc["outputs"]["region"], "us-east-1");
    assert_eq!(doc["next_steps"]["variables"]["AWS_ROLE_ARN"], role_arn);
    // The step it suggests handles the token as the generated pipeline does: in a file
    // outside the clone, never echoed.
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/bitbucket-pipelines.yml"),
    )
    .unwrap();
    let step = doc["next_steps"]["pipeline_step"].as_str().unwrap();
    let token_lines: Vec<&str> = step
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("TOKEN"))
        .collect();
    assert_eq!(token_lines.len(), 2, "{step}");
    for line in token_lines {
        assert!(
            template.lines().any(|t| t.trim() == line),
            "{line:?} is not the template's"
        );
    }

    // us-east-1: CreateBucket carries no LocationConstraint.
    let create = w
        .moto
        .recorded_requests()
        .into_iter()
        .find(|r| common::classify(r).1 == "CreateBucket")
        .expect("a CreateBucket request");
    assert!(
        !create.body_str().contains("LocationConstraint"),
        "{}",
        create.body_str()
    );

    // --- OIDC provider ---
    let p = aws
        .block_on(
            aws.iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(w.provider_arn())
                .send(),
        )
        .expect("the provider exists");
    assert_eq!(
        p.url().unwrap().trim_start_matches("https://"),
        w.issuer.host_path()
    );
    assert_eq!(p.client_id_list(), [w.audience()]);
    assert_eq!(p.thumbprint_list(), [w.pki.thumbprint()]);
    assert!(p
        .tags()
        .iter()
        .any(|t| t.key() == "managed-by" && t.value() == "bootstrap"));

    // --- role: trust exactly as the contract says ---
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .expect("the role exists")
        .role
        .unwrap();
    assert_eq!(role.arn(), role_arn);
    assert_eq!(role.max_session_duration(), Some(3600));
    assert!(role.permissions_boundary().is_none());
    assert!(role
        .tags()
        .iter()
        .any(|t| t.key() == "managed-by" && t.value() == "bootstrap"));
    let trust = policy_json(role.assume_role_policy_document().unwrap());
    let statements = trust["Statement"].as_array().expect("a statement list");
    assert_eq!(statements.len(), 1, "{trust:#}");
    let s = &statements[0];
    assert_eq!(s["Effect"], "Allow");
    assert_eq!(s["Principal"], json!({ "Federated": w.provider_arn() }));
    assert_eq!(strings(&s["Action"]), ["sts:AssumeRoleWithWebIdentity"]);
    let hp = w.issuer.host_path();
    let condition = s["Condition"].as_object().unwrap();
    let operators: Vec<&String> = condition.keys().collect();
    assert_eq!(operators, ["StringEquals", "StringLike"], "{trust:#}");
    let eq = condition["StringEquals"].as_object().unwrap();
    assert_eq!(eq.len(), 1);
    assert_eq!(strings(&eq[&format!("{hp}:aud")]), [w.audience()]);
    let like = condition["StringLike"].as_object().unwrap();
    assert_eq!(like.len(), 1);
    assert_eq!(
        strings(&like[&format!("{hp}:sub")]),
        [format!("{REPO_UUID}:*")]
    );

    // --- role: the state-access policy grants exactly what the S3 backend needs ---
    let inline = aws.inline_policy(ROLE, "terraform-state-access");
    let bucket_arn = format!("arn:aws:s3:::{BUCKET}");
    let objects = format!("{bucket_arn}/*");
    let table_arn = format!("arn:aws:dynamodb:us-east-1:{account}:table/{TABLE}");
    assert_eq!(
        grants(&inline),
        triples(&[
            ("Allow", "s3:ListBucket", &bucket_arn),
            ("Allow", "s3:GetObject", &objects),
            ("Allow", "s3:PutObject", &objects),
            (
                "Allow",
                "s3:DeleteObject",
                &format!("{bucket_arn}/*.tflock")
            ),
            ("Allow", "s3:DeleteObject", &format!("{bucket_arn}/env:/*")),
            ("Allow", "dynamodb:DescribeTable", &table_arn),
            ("Allow", "dynamodb:GetItem", &table_arn),
            ("Allow", "dynamodb:PutItem", &table_arn),
            ("Allow", "dynamodb:DeleteItem", &table_arn),
        ])
    );
    let attached = aws
        .block_on(aws.iam.list_attached_role_policies().role_name(ROLE).send())
        .unwrap();
    assert!(attached.attached_policies().is_empty());

    // --- state bucket ---
    let s3 = &aws.s3;
    let v = aws
        .block_on(s3.get_bucket_versioning().bucket(BUCKET).send())
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let enc = aws
        .block_on(s3.get_bucket_encryption().bucket(BUCKET).send())
        .unwrap();
    let rules = enc.server_side_encryption_configuration().unwrap().rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        rules[0]
            .apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let pab = aws
        .block_on(s3.get_public_access_block().bucket(BUCKET).send())
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(pab.block_public_acls(), Some(true));
    assert_eq!(pab.ignore_public_acls(), Some(true));
    assert_eq!(pab.block_public_policy(), Some(true));
    assert_eq!(pab.restrict_public_buckets(), Some(true));
    let own = aws
        .block_on(s3.get_bucket_ownership_controls().bucket(BUCKET).send())
        .unwrap();
    let own_rules = own.ownership_controls().unwrap().rules();
    assert_eq!(own_rules.len(), 1);
    assert_eq!(
        own_rules[0].object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
    let policy = aws
        .block_on(s3.get_bucket_policy().bucket(BUCKET).send())
        .unwrap();
    let policy = policy_json(policy.policy().unwrap());
    let statements = policy["Statement"].as_array().unwrap();
    // TLS only, and every role of the tool kept to its own state: a prefixed one to its
    // prefix, this one (no prefix) to the state at the top of the bucket.
    let sids: Vec<&str> = statements
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(
        sids,
        [
            "DenyInsecureTransport",
            "DenyStateOutsideRolePrefix",
            "DenyStateOutsideTopLevelState"
        ],
        "{policy:#}"
    );
    let mut top = strings(&statements[2]["NotResource"]);
    top.sort();
    assert_eq!(
        top,
        [
            format!("{bucket_arn}/env:/*"),
            format!("{bucket_arn}/terraform.tfstate"),
            format!("{bucket_arn}/terraform.tfstate.tflock"),
        ],
        "{policy:#}"
    );
    let deny = &statements[0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(strings(&deny["Action"]), ["s3:*"]);
    let mut resources = strings(&deny["Resource"]);
    resources.sort();
    assert_eq!(resources, [bucket_arn.clone(), objects.clone()]);
    assert_eq!(
        deny["Condition"],
        json!({ "Bool": { "aws:SecureTransport": "false" } })
    );
    let lc = aws
        .block_on(
            s3.get_bucket_lifecycle_configuration()
                .bucket(BUCKET)
                .send(),
        )
        .unwrap();
    assert_eq!(lc.rules().len(), 1);
    let rule = &lc.rules()[0];
    assert_eq!(rule.status(), &ExpirationStatus::Enabled);
    assert_eq!(
        rule.noncurrent_version_expiration()
            .unwrap()
            .noncurrent_days(),
        Some(90)
    );
    assert_eq!(
        rule.abort_incomplete_multipart_upload()
            .unwrap()
            .days_after_initiation(),
        Some(7)
    );
    // The rule covers the whole bucket.
    assert_eq!(rule.filter().and_then(|f| f.prefix()).unwrap_or(""), "");
    let tags = aws
        .block_on(s3.get_bucket_tagging().bucket(BUCKET).send())
        .unwrap();
    assert!(tags
        .tag_set()
        .iter()
        .any(|t| t.key() == "managed-by" && t.value() == "bootstrap"));
    let location = aws
        .block_on(s3.get_bucket_location().bucket(BUCKET).send())
        .unwrap();
    assert!(location
        .location_constraint()
        .is_none_or(|c| c.as_str().is_empty()));

    // --- lock table ---
    let db = &aws.dynamodb;
    let t = aws
        .block_on(db.describe_table().table_name(TABLE).send())
        .unwrap()
        .table
        .unwrap();
    let keys = t.key_schema();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].attribute_name(), "LockID");
    assert_eq!(keys[0].key_type(), &KeyType::Hash);
    let attrs = t.attribute_definitions();
    assert_eq!(attrs.len(), 1);
    assert_eq!(attrs[0].attribute_name(), "LockID");
    assert_eq!(attrs[0].attribute_type(), &ScalarAttributeType::S);
    assert_eq!(
        t.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(
        t.sse_description().unwrap().status(),
        Some(&SseStatus::Enabled)
    );
    assert_eq!(t.deletion_protection_enabled(), Some(true));
    let backups = aws
        .block_on(db.describe_continuous_backups().table_name(TABLE).send())
        .unwrap();
    assert_eq!(
        backups
            .continuous_backups_description()
            .unwrap()
            .point_in_time_recovery_description()
            .unwrap()
            .point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
    let table_tags = aws
        .block_on(
            db.list_tags_of_resource()
                .resource_arn(t.table_arn().unwrap())
                .send(),
        )
        .unwrap();
    assert!(table_tags
        .tags()
        .iter()
        .any(|t| t.key() == "managed-by" && t.value() == "bootstrap"));
}

#[test]
fn a_rerun_makes_no_mutating_call() {
    let w = World::start();
    let out = w.test("init").args(["--yes", "-q"]).run();
    // -q: no plan and no progress on stderr, only warnings.
    assert!(
        out.stderr.lines().all(|l| l.starts_with("warning: ")),
        "{out:?}"
    );

    w.moto.start_recording();
    let out = w.test("init").args(["--yes", "--output", "json"]).run();
    let recorded = w.moto.calls();
    let mutating = w.moto.mutating_calls();
    assert_eq!(mutating, vec![], "a re-run changed AWS: {recorded:?}");
    // 18: every resource's settings and tags, every policy on the role (one listing each of
    // inline and attached policies, plus one read per policy found), and one listing of the
    // roles (for stale ones).
    assert!(
        recorded.len() <= 18,
        "{} read calls: {recorded:?}",
        recorded.len()
    );

    // The tool's own count agrees with moto's.
    let doc = out.json();
    assert_eq!(doc["applied"], false);
    assert_eq!(doc["changes"], false);
    assert_eq!(doc["aws_calls"]["mutating"], 0);
    assert_eq!(doc["aws_calls"]["total"], recorded.len(), "{recorded:?}");

    w.test("init")
        .arg("--yes")
        .expect_stdout_contains("nothing to change")
        .run();
}

/// What real AWS refuses on a first run (tests/aws_layer.py), with windows wide enough that
/// the tool meets them: a table CREATING 0.6 s, then refusing point-in-time recovery for 1 s
/// more; each bucket configuration write in progress for 20 ms, refusing any other meanwhile;
/// a new role unknown to reads for 0.2 s. The first init succeeds without one conflicting
/// bucket write, having waited out the backup gap, and a re-run writes nothing.
#[test]
fn a_first_init_survives_what_real_aws_refuses() {
    // A new user's first run on a real account: lock table, a KMS key named by its alias and
    // a source range, against AWS's timing and refusals.
    let w = World::start_at_scale("0.1");
    let key = common::kms::create_key(&w.moto, &w.region, Some("alias/terraform-state"));
    let flags = [
        "--kms-key",
        "alias/terraform-state",
        "--source-ip",
        "203.0.113.0/24",
    ];
    let mut first = vec!["--yes", "--output", "json"];
    first.extend(flags);
    w.test("init").args(&first).run();
    let refused: Vec<String> = w.moto.refusals().into_iter().map(|(k, _)| k).collect();
    assert!(
        refused.contains(&"dynamodb:ContinuousBackupsUnavailableException".to_string()),
        "the backup gap was met and waited out: {refused:?}"
    );
    assert!(
        !refused.contains(&"s3:OperationAborted".to_string()),
        "bucket settings are written one at a time: {refused:?}"
    );
    let aws = w.clients();
    let backups = aws
        .block_on(
            aws.dynamodb
                .describe_continuous_backups()
                .table_name(TABLE)
                .send(),
        )
        .unwrap();
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    assert_eq!(pitr, Some(&PointInTimeRecoveryStatus::Enabled));
    // The alias was resolved: the grant names the key ARN, the trust the source range.
    let inline = aws.inline_policy(ROLE, "terraform-state-access");
    let kms: Vec<(String, String, String)> = grants(&inline)
        .into_iter()
        .filter(|(_, action, _)| action.starts_with("kms:"))
        .collect();
    assert!(!kms.is_empty(), "no KMS grant");
    assert!(kms.iter().all(|(_, _, r)| *r == key.arn), "{kms:?}");
    let role = aws
        .block_on(aws.iam.get_role().role_name(ROLE).send())
        .unwrap()
        .role
        .unwrap();
    let trust = policy_json(role.assume_role_policy_document().unwrap());
    assert_eq!(
        strings(&trust["Statement"][0]["Condition"]["IpAddress"]["aws:SourceIp"]),
        ["203.0.113.0/24"]
    );
    let mut again = vec!["--yes"];
    again.extend(flags);
    w.assert_rerun_writes_nothing("init", &again);
}

#[test]
fn plan_is_read_only_and_its_detailed_exit_code_says_whether_there_are_changes() {
    let w = World::start();
    // Changes to make: exit 0 without --detailed-exitcode, 2 with it; plan writes nothing.
    w.test("plan")
        .expect_stdout_contains("create")
        .expect_no_writes()
        .run();
    let out = w
        .test("plan")
        .args(["--detailed-exitcode", "--output", "json"])
        .expect_exit(2)
        .expect_no_writes()
        .run();
    let doc = out.json();
    assert_eq!(doc["changes"], true);
    let actions: Vec<(&str, &str)> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("oidc-provider", "create"),
            ("role", "create"),
            ("state-bucket", "create"),
            ("lock-table", "create")
        ]
    );
    w.test("init").args(["--yes", "-q"]).run();
    w.test("plan")
        .arg("--detailed-exitcode")
        .expect_stdout_contains("nothing to change")
        .run();
}

#[test]
fn init_without_yes_and_without_a_terminal_refuses_to_write() {
    let w = World::start();
    // The harness runs bootstrap with stdin from /dev/null: no terminal. Nothing is written.
    let out = w.test("init").expect_exit(64).expect_no_writes().run();
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{out:?}");
    assert!(last.contains("no terminal"), "{out:?}");
    assert!(last.contains("--yes"), "{out:?}");
    // The plan it refused to apply was shown.
    assert!(out.stderr.contains("create"), "{out:?}");
    let out = w
        .test("init")
        .args(["--output", "json"])
        .expect_exit(64)
        .expect_no_writes()
        .run();
    assert_eq!(out.json()["exit_code"], 64);
}

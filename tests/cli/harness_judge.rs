//! The shared harness's request judge on its own: signed requests mapped to the IAM actions,
//! resources and context keys they need, and judged through the evaluator.

use crate::common;
use crate::common::authz::{all_needs, denied, needs, unused_grants, Env};

/// A signed request as a client would send it, for the request judge.
fn signed(
    service: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> common::RecordedRequest {
    let mut h: std::collections::BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    h.insert(
        "Authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential=testing/20250101/eu-west-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=00"
        ),
    );
    if body.starts_with("Action=") {
        h.insert(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        );
    }
    common::RecordedRequest::from_parts(
        method,
        &format!("http://127.0.0.1:1{path}"),
        h,
        body.as_bytes().to_vec(),
    )
}

/// `(action, resource, context)` of one need.
type NeedRow = (String, String, Vec<(String, Vec<String>)>);

/// `(action, resource, context)` of each need, for comparing.
fn needs_of(req: &common::RecordedRequest, env: &Env) -> Vec<NeedRow> {
    needs(req, env)
        .into_iter()
        .map(|n| (n.action, n.resource, n.context.into_iter().collect()))
        .collect()
}

fn need(action: &str, resource: &str, context: &[(&str, &str)]) -> NeedRow {
    (
        action.to_string(),
        resource.to_string(),
        context
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect(),
    )
}

#[test]
#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
fn the_request_judge_maps_s3_requests_to_bucket_and_object_actions() {
    let env = Env::moto("us-east-1");
    let s3 = |method: &str, path: &str, headers: &[(&str, &str)]| {
        needs_of(&signed("s3", method, path, headers, ""), &env)
    };
    let bucket = "arn:aws:s3:::tf-state";
    for (method, path, action) in [
        ("GET", "/tf-state?versioning", "s3:GetBucketVersioning"),
        ("PUT", "/tf-state?versioning", "s3:PutBucketVersioning"),
        ("GET", "/tf-state?policy", "s3:GetBucketPolicy"),
        ("PUT", "/tf-state?tagging", "s3:PutBucketTagging"),
        ("PUT", "/tf-state?lifecycle", "s3:PutLifecycleConfiguration"),
        (
            "GET",
            "/tf-state?encryption",
            "s3:GetEncryptionConfiguration",
        ),
        (
            "PUT",
            "/tf-state?publicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ),
        (
            "GET",
            "/tf-state?ownershipControls",
            "s3:GetBucketOwnershipControls",
        ),
        ("HEAD", "/tf-state", "s3:ListBucket"),
        ("PUT", "/tf-state", "s3:CreateBucket"),
        ("DELETE", "/tf-state", "s3:DeleteBucket"),
    ] {
        assert_eq!(
            s3(method, path, &[]),
            [need(action, bucket, &[])],
            "{method} {path}"
        );
    }
    assert_eq!(
        s3(
            "GET",
            "/tf-state?list-type=2&prefix=env%3A%2F&delimiter=%2F",
            &[]
        ),
        [need(
            "s3:ListBucket",
            bucket,
            &[("s3:delimiter", "/"), ("s3:prefix", "env:/")]
        )]
    );
    assert_eq!(
        s3("GET", "/tf-state?versions&prefix=team", &[]),
        [need(
            "s3:ListBucketVersions",
            bucket,
            &[("s3:prefix", "team")]
        )]
    );
    let lock = "arn:aws:s3:::tf-state/team/terraform.tfstate.tflock";
    assert_eq!(
        s3(
            "PUT",
            "/tf-state/team/terraform.tfstate.tflock",
            &[("If-None-Match", "*")]
        ),
        [need("s3:PutObject", lock, &[("s3:if-none-match", "*")])]
    );
    assert_eq!(
        s3("DELETE", "/tf-state/team/terraform.tfstate.tflock", &[]),
        [need("s3:DeleteObject", lock, &[])]
    );
    assert_eq!(
        s3(
            "DELETE",
            "/tf-state/team/terraform.tfstate.tflock?versionId=3",
            &[]
        ),
        [need("s3:DeleteObjectVersion", lock, &[])]
    );
    assert_eq!(
        s3("HEAD", "/tf-state/env%3A/dev/x", &[]),
        [need(
            "s3:GetObject",
            "arn:aws:s3:::tf-state/env:/dev/x",
            &[]
        )]
    );
    // Objects in a bucket encrypted with a KMS key need the key too.
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let kms_env = Env::moto("us-east-1").with_bucket_kms_key(key);
    let get = needs_of(
        &signed("s3", "GET", "/tf-state/t.tfstate", &[], ""),
        &kms_env,
    );
    assert_eq!(
        get,
        [
            need("s3:GetObject", "arn:aws:s3:::tf-state/t.tfstate", &[]),
            need("kms:Decrypt", key, &[])
        ]
    );
    let put = needs_of(
        &signed("s3", "PUT", "/tf-state/t.tfstate", &[], ""),
        &kms_env,
    );
    assert_eq!(put[1], need("kms:GenerateDataKey", key, &[]));
}

#[test]
#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
fn the_request_judge_maps_iam_dynamodb_kms_and_cloudformation_requests() {
    let env = Env::moto("us-east-1");
    let role = "arn:aws:iam::123456789012:role/deploy";
    let create = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=CreateRole&Version=2010-05-08&RoleName=deploy&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fb&Tags.member.1.Key=managed-by&Tags.member.1.Value=bootstrap",
    );
    assert_eq!(
        needs_of(&create, &env),
        [
            need(
                "iam:CreateRole",
                role,
                &[(
                    "iam:PermissionsBoundary",
                    "arn:aws:iam::123456789012:policy/b"
                )]
            ),
            need("iam:TagRole", role, &[]),
        ]
    );
    let attach = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=AttachRolePolicy&Version=2010-05-08&RoleName=deploy&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
    );
    assert_eq!(
        needs_of(&attach, &env),
        [need(
            "iam:AttachRolePolicy",
            role,
            &[("iam:PolicyARN", "arn:aws:iam::aws:policy/ReadOnlyAccess")]
        )]
    );
    let provider = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https%3A%2F%2Fidp.example%2Fo",
    );
    assert_eq!(
        needs_of(&provider, &env),
        [need(
            "iam:CreateOpenIDConnectProvider",
            "arn:aws:iam::123456789012:oidc-provider/idp.example/o",
            &[]
        )]
    );
    let list = signed(
        "iam",
        "POST",
        "/",
        &[],
        "Action=ListOpenIDConnectProviders&Version=2010-05-08",
    );
    assert_eq!(
        needs_of(&list, &env),
        [need("iam:ListOpenIDConnectProviders", "*", &[])]
    );
    let whoami = signed(
        "sts",
        "POST",
        "/",
        &[],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    assert!(needs_of(&whoami, &env).is_empty());

    // DynamoDB: the region comes from the request's signature.
    let put_item = signed(
        "dynamodb",
        "POST",
        "/",
        &[("X-Amz-Target", "DynamoDB_20120810.PutItem")],
        r#"{"TableName":"locks","Item":{"LockID":{"S":"b/k"}}}"#,
    );
    assert_eq!(
        needs_of(&put_item, &env),
        [need(
            "dynamodb:PutItem",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/locks",
            &[("dynamodb:LeadingKeys", "b/k")]
        )]
    );
    let describe_key = signed(
        "kms",
        "POST",
        "/",
        &[("X-Amz-Target", "TrentService.DescribeKey")],
        r#"{"KeyId":"1234abcd"}"#,
    );
    assert_eq!(
        needs_of(&describe_key, &env),
        [need(
            "kms:DescribeKey",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd",
            &[]
        )]
    );
    let change_set = signed(
        "cloudformation",
        "POST",
        "/",
        &[],
        "Action=CreateChangeSet&Version=2010-05-15&StackName=boot&ChangeSetName=cs1",
    );
    assert_eq!(
        needs_of(&change_set, &env),
        [need(
            "cloudformation:CreateChangeSet",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/boot/id",
            &[]
        )]
    );
}

#[test]
fn the_request_judge_allows_and_refuses_through_the_evaluator() {
    let env = Env::moto("us-east-1");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Lock", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
             "Resource": "arn:aws:s3:::tf-state/team/*.tflock"},
            {"Sid": "Unused", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::tf-state/team/*"}
        ]
    });
    let put_lock = signed(
        "s3",
        "PUT",
        "/tf-state/team/terraform.tfstate.tflock",
        &[],
        "",
    );
    let put_state = signed("s3", "PUT", "/tf-state/team/terraform.tfstate", &[], "");
    let lock_needs = all_needs(std::slice::from_ref(&put_lock), &env);
    assert!(denied(&policy, &lock_needs).is_empty());
    let refused = denied(&policy, &all_needs(&[put_lock, put_state], &env));
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].starts_with("s3:PutObject on arn:aws:s3:::tf-state/team/terraform.tfstate")
            && refused[0].contains("`Lock` allows `s3:PutObject` but not on"),
        "{refused:?}"
    );
    // The other direction: grants no request used.
    let unused = unused_grants(&policy, &lock_needs);
    let names: Vec<String> = unused
        .iter()
        .map(|(sid, a, _)| format!("{sid} {a}"))
        .collect();
    assert_eq!(names, ["Lock s3:DeleteObject", "Unused s3:GetObject"]);
}

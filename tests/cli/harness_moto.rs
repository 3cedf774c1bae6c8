//! The shared harness's moto on its own: it starts, answers and records; and the AWS
//! behaviour layer in front of it (latency, conflicting bucket writes, the account-regional
//! namespace). The layer's other behaviours are in `harness_layer.rs`.

use crate::common;
use crate::common::aws::Clients;
use crate::common::{classify, Moto};
use std::time::{Duration, Instant};

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn moto_starts_answers_and_records() {
    // Plain moto: a GetRole right after CreateRole is what this test records; through the
    // behaviour layer IAM would not show the role yet.
    let moto = Moto::start_plain();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let (status, _) = common::moto::http(moto.port(), "GET", "/moto-api/data.json", b"").unwrap();
    assert_eq!(status, 200);

    moto.start_recording();
    let sign = |service: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00"
        )
    };
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let iam = sign("iam");
    let call = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        let (status, body) =
            common::moto::http_request(moto.port(), method, path, headers, body.as_bytes())
                .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    };
    call(
        "POST",
        "/",
        &[("Content-Type", form), ("Authorization", &iam)],
        "Action=CreateRole&Version=2010-05-08&RoleName=harness&AssumeRolePolicyDocument=%7B%7D",
    );
    call(
        "POST",
        "/",
        &[("Content-Type", form), ("Authorization", &iam)],
        "Action=GetRole&Version=2010-05-08&RoleName=harness",
    );
    let ddb = sign("dynamodb");
    call(
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ("Authorization", &ddb),
        ],
        "{}",
    );
    let s3 = sign("s3");
    call("PUT", "/harness-bucket", &[("Authorization", &s3)], "");
    call(
        "GET",
        "/harness-bucket?versioning",
        &[("Authorization", &s3)],
        "",
    );
    moto.stop_recording();
    // Not recorded.
    call(
        "POST",
        "/",
        &[("Content-Type", form), ("Authorization", &iam)],
        "Action=ListRoles&Version=2010-05-08",
    );

    let recorded = moto.recorded_requests();
    let classified: Vec<_> = recorded.iter().map(classify).collect();
    let expect = |s: &str, o: &str, m: bool| (s.to_string(), o.to_string(), m);
    assert_eq!(
        classified,
        vec![
            expect("iam", "CreateRole", true),
            expect("iam", "GetRole", false),
            expect("dynamodb", "ListTables", false),
            expect("s3", "CreateBucket", true),
            expect("s3", "GetBucketVersioning", false),
        ],
        "{recorded:#?}"
    );
    assert_eq!(recorded[0].action.as_deref(), Some("CreateRole"));
    assert_eq!(
        recorded[2].target.as_deref(),
        Some("DynamoDB_20120810.ListTables")
    );
    assert_eq!(
        moto.mutating_calls(),
        vec![
            ("iam".to_string(), "CreateRole".to_string()),
            ("s3".to_string(), "CreateBucket".to_string())
        ]
    );

    // start_recording starts from an empty recording.
    moto.start_recording();
    assert!(moto.recorded_requests().is_empty());
    moto.stop_recording();
}

// ---------------------------------------------------------------- the AWS behaviour layer
//
// Each behaviour of tests/aws_layer.py, shown with raw SDK clients (their own retries off)
// through the layer. Scales above the suite's default make the windows wide enough to hit
// reliably from a test.

/// The AWS error code of an SDK error.
pub fn code_of<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    refusal(e).0
}

/// `(code, message)` of an SDK error.
pub fn refusal<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> (String, String)
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let service = e.as_service_error();
    (
        service.and_then(|s| s.code()).unwrap_or("none").to_string(),
        service.and_then(|s| s.message()).unwrap_or("").to_string(),
    )
}

/// moto behind the behaviour layer at `scale`, and us-east-1 clients through the layer.
pub fn layer(scale: &str) -> (Moto, Clients) {
    let moto = Moto::start_layer(scale);
    let aws = Clients::through_layer(&moto, "us-east-1");
    (moto, aws)
}

/// Poll `f` every 20 ms until it is true; panics after `limit`.
pub fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
pub fn layer_adds_latency_to_every_call() {
    // Scale 1: real-world latency, 50 ms per call.
    let (moto, aws) = layer("1");
    let plain = Clients::new(&moto, "us-east-1");
    let start = Instant::now();
    aws.block_on(aws.s3.list_buckets().send()).unwrap();
    let layered = start.elapsed();
    assert!(layered >= Duration::from_millis(50), "{layered:?}");
    let start = Instant::now();
    plain.block_on(plain.s3.list_buckets().send()).unwrap();
    assert!(
        start.elapsed() < layered,
        "the plain endpoint has no latency"
    );
}

#[test]
pub fn layer_refuses_overlapping_bucket_configuration_writes_with_operation_aborted() {
    let (moto, aws) = layer("0.2");
    aws.block_on(aws.s3.create_bucket().bucket("layer-bucket").send())
        .unwrap();
    moto.start_recording();
    let versioning = aws
        .s3
        .put_bucket_versioning()
        .bucket("layer-bucket")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send();
    let public_access = aws
        .s3
        .put_public_access_block()
        .bucket("layer-bucket")
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .build(),
        )
        .send();
    let (a, b) = aws.block_on(async { tokio::join!(versioning, public_access) });
    let codes: Vec<String> = [a.err().map(|e| code_of(&e)), b.err().map(|e| code_of(&e))]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(codes, vec!["OperationAborted".to_string()]);
    // The refused write never reached moto: its recorder shows the one that did, the layer
    // lists the refusal.
    assert_eq!(
        moto.mutating_calls().len(),
        1,
        "{:?}",
        moto.mutating_calls()
    );
    let refusals = moto.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].0, "s3:OperationAborted");
    // One after the other, both are accepted.
    aws.block_on(
        aws.s3
            .put_bucket_tagging()
            .bucket("layer-bucket")
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("k")
                            .value("v")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
}

#[test]
pub fn layer_models_the_account_regional_namespace_and_tags_at_creation() {
    use aws_sdk_s3::types::{BucketNamespace, CreateBucketConfiguration, Tag};
    let (moto, aws) = layer("0.02");
    let account = moto.account_id();
    let create = |name: String, namespace: Option<BucketNamespace>| {
        aws.block_on(
            aws.s3
                .create_bucket()
                .bucket(name)
                .set_bucket_namespace(namespace)
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .tags(Tag::builder().key("team").value("infra").build().unwrap())
                        .build(),
                )
                .send(),
        )
        .map(|_| ())
        .map_err(|e| code_of(&e))
    };
    let ours = format!("state-{account}-us-east-1-an");
    // A name of the account regional form without the header, or with the header but
    // another account's or region's suffix, or a plain name with it: refused, not created.
    let missing = create(ours.clone(), None).unwrap_err();
    assert_eq!(missing, "MissingNamespaceHeader");
    for wrong in [
        "state-210987654321-us-east-1-an".to_string(),
        format!("state-{account}-eu-west-1-an"),
        "plain-state".to_string(),
    ] {
        let e = create(wrong.clone(), Some(BucketNamespace::AccountRegional)).unwrap_err();
        assert_eq!(e, "InvalidNamespaceHeader", "{wrong}");
    }
    assert_eq!(moto.mutating_calls(), Vec::<(String, String)>::new());
    let behaviours: Vec<String> = moto.refusals().into_iter().map(|r| r.0).collect();
    assert_eq!(
        behaviours,
        [
            "s3:MissingNamespaceHeader",
            "s3:InvalidNamespaceHeader",
            "s3:InvalidNamespaceHeader",
            "s3:InvalidNamespaceHeader"
        ]
    );
    // With the header and the caller's own suffix: created, with the tags of the call.
    create(ours.clone(), Some(BucketNamespace::AccountRegional)).unwrap();
    let tags = aws
        .block_on(aws.s3.get_bucket_tagging().bucket(&ours).send())
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("team", "infra")]);
}

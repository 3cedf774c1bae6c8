//! AWS SDK clients pointed at a [`Moto`](super::Moto), for tests that read AWS back (or
//! change it out of band) independently of the tool under test.

use std::future::Future;

use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;

use super::moto::Moto;

/// IAM, S3, DynamoDB, STS and CloudFormation clients for one moto and region, with a runtime to drive them from
/// plain `#[test]` functions.
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sts: aws_sdk_sts::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub region: String,
    rt: tokio::runtime::Runtime,
}

impl Clients {
    /// Clients that see moto as it is (no behaviour layer): for reading AWS back or changing
    /// it out of band.
    pub fn new(moto: &Moto, region: &str) -> Clients {
        Self::at(&moto.plain_endpoint(), region, RetryConfig::standard())
    }

    /// Clients through the behaviour layer, with the SDK's retries off so every refusal
    /// shows: for tests of the layer itself.
    pub fn through_layer(moto: &Moto, region: &str) -> Clients {
        Self::at(&moto.endpoint(), region, RetryConfig::disabled())
    }

    fn at(endpoint: &str, region: &str, retry: RetryConfig) -> Clients {
        let creds = Credentials::new("testing", "testing", None, None, "tests");
        let region_v = Region::new(region.to_string());
        macro_rules! config {
            ($service:ident) => {
                $service::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(region_v.clone())
                    .endpoint_url(endpoint)
                    .credentials_provider(creds.clone())
                    .retry_config(retry.clone())
            };
        }
        let iam = config!(aws_sdk_iam).build();
        let s3 = config!(aws_sdk_s3).force_path_style(true).build();
        let dynamodb = config!(aws_sdk_dynamodb).build();
        let sts = config!(aws_sdk_sts).build();
        let cloudformation = config!(aws_sdk_cloudformation).build();
        Clients {
            iam: aws_sdk_iam::Client::from_conf(iam),
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            sts: aws_sdk_sts::Client::from_conf(sts),
            cloudformation: aws_sdk_cloudformation::Client::from_conf(cloudformation),
            region: region.to_string(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime"),
        }
    }

    /// Run one SDK future to completion.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The role's inline policy `name`, as a document.
    pub fn inline_policy(&self, role: &str, name: &str) -> Value {
        let out = self
            .block_on(
                self.iam
                    .get_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("GetRolePolicy {role}/{name}: {e:?}"));
        policy_json(out.policy_document())
    }

    /// Create a customer-managed policy (made by hand, out of band); returns its ARN.
    pub fn create_policy(&self, name: &str, document: &Value) -> String {
        self.block_on(
            self.iam
                .create_policy()
                .policy_name(name)
                .policy_document(document.to_string())
                .send(),
        )
        .expect("CreatePolicy")
        .policy
        .and_then(|p| p.arn)
        .expect("policy arn")
    }
}

/// What someone else puts on a role by hand, out of band (the adoption and drift cases).
impl Clients {
    /// Put the inline policy `name` holding the one `statement` on `role`.
    pub fn put_role_policy(&self, role: &str, name: &str, statement: Value) {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [statement]});
        self.block_on(
            self.iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(doc.to_string())
                .send(),
        )
        .unwrap_or_else(|e| panic!("PutRolePolicy {role}/{name} by hand: {e:?}"));
    }

    /// Create the customer-managed policy `name` and attach it to `role`; returns its ARN.
    pub fn attach_new_policy(&self, role: &str, name: &str, document: &Value) -> String {
        let arn = self.create_policy(name, document);
        self.block_on(
            self.iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(&arn)
                .send(),
        )
        .unwrap_or_else(|e| panic!("AttachRolePolicy {role} {arn} by hand: {e:?}"));
        arn
    }

    /// The names of the role's inline policies, sorted.
    pub fn inline_policy_names(&self, role: &str) -> Vec<String> {
        let mut names = self
            .block_on(self.iam.list_role_policies().role_name(role).send())
            .unwrap_or_else(|e| panic!("ListRolePolicies {role}: {e:?}"))
            .policy_names()
            .to_vec();
        names.sort();
        names
    }

    /// The role's tags as sorted `(key, value)` pairs.
    pub fn role_tags(&self, role: &str) -> Vec<(String, String)> {
        let role = self
            .block_on(self.iam.get_role().role_name(role).send())
            .unwrap_or_else(|e| panic!("GetRole {role}: {e:?}"))
            .role
            .expect("GetRole returns the role");
        let mut tags: Vec<(String, String)> = role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        tags.sort();
        tags
    }
}

/// A policy document as IAM returns it (URL-encoded JSON) or as S3 does (plain JSON).
pub fn policy_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        let decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .expect("policy is UTF-8");
        serde_json::from_str(&decoded)
            .unwrap_or_else(|e| panic!("policy is not JSON: {e}: {decoded}"))
    })
}

/// A policy value that may be a string or a one-element list, as a list of strings.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().expect("a string").to_string())
            .collect(),
        other => panic!("expected a string or a list of strings, got {other}"),
    }
}

/// Create a symmetric KMS key in moto (`TrentService.CreateKey`, no SDK client needed) and
/// return its key ARN.
pub fn create_kms_key(moto: &Moto, region: &str) -> String {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20250101/{region}/kms/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=00"
    );
    let (status, body) = super::moto::http_request(
        moto.port(),
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "TrentService.CreateKey"),
            ("Authorization", &auth),
        ],
        br#"{"Description":"terraform state"}"#,
    )
    .expect("kms CreateKey");
    let body: Value = serde_json::from_slice(&body).expect("CreateKey answers JSON");
    assert_eq!(status, 200, "kms CreateKey: {body}");
    body["KeyMetadata"]["Arn"]
        .as_str()
        .expect("CreateKey returns the key ARN")
        .to_string()
}

//! Moto's request recorder, read back: each recorded request as a [`RecordedRequest`], and
//! [`classify`], which names its service and operation and says whether it writes (what
//! [`Moto::mutating_calls`](super::Moto::mutating_calls) counts).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

/// One AWS request as moto's recorder saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Full URL as received (`http://127.0.0.1:PORT/path?query`).
    pub url: String,
    /// Raw (percent-encoded) path.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// Signing service from the SigV4 credential scope (`iam`, `sts`, `s3`, `dynamodb`,
    /// `cloudformation`), when signed.
    pub service: Option<String>,
    /// Query-protocol `Action` (form body or query string), when present.
    pub action: Option<String>,
    /// `X-Amz-Target` header (JSON protocols such as DynamoDB), when present.
    pub target: Option<String>,
}

impl RecordedRequest {
    pub(super) fn from_entry(entry: &Value) -> RecordedRequest {
        let method = entry["method"].as_str().unwrap_or_default().to_string();
        let url = entry["url"].as_str().unwrap_or_default().to_string();
        let headers: BTreeMap<String, String> = entry["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let body = match entry["body"].as_str() {
            None => Vec::new(),
            Some(b) if entry["body_encoded"].as_bool() == Some(true) => {
                STANDARD.decode(b).expect("recorder body is base64")
            }
            Some(b) => b.as_bytes().to_vec(),
        };
        RecordedRequest::from_parts(&method, &url, headers, body)
    }

    /// A request seen somewhere else than moto's recorder (e.g. by the fault-injection
    /// proxy), described the same way so [`classify`] works on it.
    pub fn from_parts(
        method: &str,
        url: &str,
        headers: BTreeMap<String, String>,
        body: Vec<u8>,
    ) -> RecordedRequest {
        let method = method.to_string();
        let url = url.to_string();
        let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let path_and_query = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path_and_query.to_string(), None),
        };
        let mut req = RecordedRequest {
            method,
            url,
            path,
            query,
            headers,
            body,
            service: None,
            action: None,
            target: None,
        };
        req.service = req.header("authorization").and_then(scope_service);
        req.target = req.header("x-amz-target").map(str::to_string);
        req.action = req.param("Action");
        req
    }

    /// Header value, name case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query-protocol parameter from the form body, else from the query string.
    pub fn param(&self, name: &str) -> Option<String> {
        let is_form = self
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if is_form || self.body.starts_with(b"Action=") {
            if let Some(v) = url::form_urlencoded::parse(&self.body)
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
            {
                return Some(v);
            }
        }
        self.query.as_deref().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The request body as JSON (DynamoDB), `Value::Null` when it is not JSON.
    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request` (SigV4) or
/// `Credential=AKID/DATE/SERVICE/aws4_request` (SigV4a) -> SERVICE.
fn scope_service(authorization: &str) -> Option<String> {
    let cred = authorization.split("Credential=").nth(1)?;
    let cred = cred.split([',', ' ']).next()?;
    let parts: Vec<&str> = cred.split('/').collect();
    let pos = parts.iter().position(|p| *p == "aws4_request")?;
    pos.checked_sub(1).map(|i| parts[i].to_string())
}

fn service_from_version(version: &str) -> Option<&'static str> {
    match version {
        "2010-05-08" => Some("iam"),
        "2011-06-15" => Some("sts"),
        "2010-05-15" => Some("cloudformation"),
        _ => None,
    }
}

fn is_read_operation(op: &str) -> bool {
    const READ_PREFIXES: &[&str] = &[
        "Get",
        "List",
        "Describe",
        "Head",
        "Query",
        "Scan",
        "BatchGet",
        "TransactGet",
        "Validate",
        "Estimate",
        "Simulate",
    ];
    READ_PREFIXES.iter().any(|p| op.starts_with(p))
}

/// `(service, operation, mutating)` for a recorded request.
///
/// IAM, STS and CloudFormation use the query protocol (`Action=`), DynamoDB the JSON protocol
/// (`X-Amz-Target: DynamoDB_20120810.Op`), S3 REST (GET/HEAD read; PUT/POST/DELETE mutate; the
/// operation name is derived from method, path depth and sub-resource). STS calls never mutate.
pub fn classify(req: &RecordedRequest) -> (String, String, bool) {
    let service = req
        .service
        .clone()
        .or_else(|| {
            req.target.as_deref().and_then(|t| {
                t.starts_with("DynamoDB")
                    .then(|| "dynamodb".to_string())
                    .or_else(|| t.split('_').next().map(str::to_lowercase))
            })
        })
        .or_else(|| {
            req.param("Version")
                .and_then(|v| service_from_version(&v))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "s3".to_string());

    if let Some(target) = &req.target {
        let op = target.rsplit('.').next().unwrap_or(target).to_string();
        let mutating = !is_read_operation(&op);
        return (service, op, mutating);
    }
    if service != "s3" {
        if let Some(action) = &req.action {
            let mutating = service != "sts" && !is_read_operation(action);
            return (service, action.clone(), mutating);
        }
    }
    let op = s3_operation(req);
    let mutating = matches!(req.method.as_str(), "PUT" | "POST" | "DELETE");
    (service, op, mutating)
}

#[allow(
    clippy::too_many_lines,
    reason = "a table of S3 requests and their operation names"
)]
fn s3_operation(req: &RecordedRequest) -> String {
    let segments: Vec<&str> = req
        .path
        .trim_start_matches('/')
        .splitn(2, '/')
        .filter(|s| !s.is_empty())
        .collect();
    let keys: Vec<String> = req
        .query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let has = |k: &str| keys.iter().any(|x| x == k);
    let method = req.method.as_str();
    let verb = match method {
        "GET" => "Get",
        "PUT" => "Put",
        "DELETE" => "Delete",
        "HEAD" => "Head",
        _ => "Post",
    };

    match segments.len() {
        0 => "ListBuckets".to_string(),
        1 => {
            const BUCKET_SUBRESOURCES: &[(&str, &str)] = &[
                ("versioning", "BucketVersioning"),
                ("encryption", "BucketEncryption"),
                ("publicAccessBlock", "PublicAccessBlock"),
                ("ownershipControls", "BucketOwnershipControls"),
                ("policyStatus", "BucketPolicyStatus"),
                ("policy", "BucketPolicy"),
                ("lifecycle", "BucketLifecycleConfiguration"),
                ("tagging", "BucketTagging"),
                ("acl", "BucketAcl"),
                ("location", "BucketLocation"),
                ("logging", "BucketLogging"),
                ("cors", "BucketCors"),
                ("website", "BucketWebsite"),
                ("notification", "BucketNotificationConfiguration"),
                ("replication", "BucketReplication"),
                ("object-lock", "ObjectLockConfiguration"),
                ("accelerate", "BucketAccelerateConfiguration"),
                ("requestPayment", "BucketRequestPayment"),
            ];
            if has("versions") {
                return "ListObjectVersions".to_string();
            }
            if has("uploads") {
                return "ListMultipartUploads".to_string();
            }
            if method == "POST" && has("delete") {
                return "DeleteObjects".to_string();
            }
            for (sub, name) in BUCKET_SUBRESOURCES {
                if has(sub) {
                    return format!("{verb}{name}");
                }
            }
            match method {
                "GET" if has("list-type") => "ListObjectsV2".to_string(),
                "GET" => "ListObjects".to_string(),
                "HEAD" => "HeadBucket".to_string(),
                "PUT" => "CreateBucket".to_string(),
                "DELETE" => "DeleteBucket".to_string(),
                _ => format!("{method} bucket"),
            }
        }
        _ => {
            if has("tagging") {
                return format!("{verb}ObjectTagging");
            }
            if has("acl") {
                return format!("{verb}ObjectAcl");
            }
            if has("uploads") && method == "POST" {
                return "CreateMultipartUpload".to_string();
            }
            if has("uploadId") {
                return match method {
                    "PUT" => "UploadPart",
                    "POST" => "CompleteMultipartUpload",
                    "DELETE" => "AbortMultipartUpload",
                    _ => "ListParts",
                }
                .to_string();
            }
            match method {
                "PUT" if req.header("x-amz-copy-source").is_some() => "CopyObject".to_string(),
                "PUT" => "PutObject".to_string(),
                "GET" => "GetObject".to_string(),
                "HEAD" => "HeadObject".to_string(),
                "DELETE" => "DeleteObject".to_string(),
                _ => format!("{method} object"),
            }
        }
    }
}

//! A local AWS: `moto_server` as a child process, plus its request recorder so tests can
//! count AWS calls independently of the tool under test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use tempfile::TempDir;

use super::issuer::unused_port;

/// moto's fixed account id.
pub const ACCOUNT_ID: &str = "123456789012";

fn moto_executable() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "MOTO_SERVER={} does not exist; run ./scripts/test (it installs moto into .venv)",
            path.display()
        );
        return path;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto_server not found at {} and MOTO_SERVER is not set; run ./scripts/test \
         (it creates .venv with moto[server]) or set MOTO_SERVER",
        path.display()
    );
    path
}

fn start_timeout() -> Duration {
    let secs = std::env::var("MOTO_START_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// The layer's time scale in tests: real-world constants times this (50 ms of latency is
/// 1 ms, a table CREATING for 6 s is 120 ms), so the behaviours fire but the suite stays fast.
pub const TEST_SCALE: f64 = 0.02;

fn python() -> PathBuf {
    let python = moto_executable().with_file_name("python");
    assert!(
        python.exists(),
        "{} not found next to moto_server; run ./scripts/test",
        python.display()
    );
    python
}

/// A running moto (behind the behaviour layer unless started plain). Killed on drop.
pub struct Moto {
    child: Child,
    /// Where the tool under test is pointed: through the layer (plain moto for
    /// [`Moto::start_plain`]).
    port: u16,
    /// The same moto without the layer.
    plain_port: u16,
    dir: TempDir,
}

impl std::fmt::Debug for Moto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moto").field("port", &self.port).finish()
    }
}

impl Moto {
    /// moto behind the AWS behaviour layer (`tests/aws_layer.py`): per-call latency, S3
    /// `OperationAborted` on overlapping bucket configuration writes, DynamoDB table
    /// transitions and the backup gap, IAM read-after-create and assume-after-create delays,
    /// IAM throttling, CloudFormation operations that take time. Time constants are the
    /// real-world ones times `AWS_LAYER_SCALE` ([`TEST_SCALE`] unless set). The same
    /// process also serves moto without the layer ([`Moto::plain_endpoint`]) and the
    /// test-only hooks of `tests/moto_faults.py`. Panics (never skips) when moto is not
    /// installed or does not come up.
    pub fn start() -> Moto {
        let scale = std::env::var("AWS_LAYER_SCALE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| TEST_SCALE.to_string());
        Self::start_layer(&scale)
    }

    /// Like [`Moto::start`], with the layer's time constants at `scale` times the real-world
    /// ones (1.0: real time).
    pub fn start_layer(scale: &str) -> Moto {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/aws_layer.py");
        Self::start_program(
            python(),
            &[script.to_string_lossy().into_owned()],
            Some(scale),
            false,
        )
    }

    /// Like [`Moto::start`], with AWS's managed policies in the account (ReadOnlyAccess, which
    /// every plan role holds), as in every real account. moto loads them on the first IAM call,
    /// which then takes a second or two, so only the worlds that attach one ask for them.
    pub fn start_with_managed_policies() -> Moto {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/aws_layer.py");
        let moto = Self::start_program(
            python(),
            &[script.to_string_lossy().into_owned()],
            Some(&TEST_SCALE.to_string()),
            true,
        );
        // Load them now, not inside the first timed or counted call of a test.
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
        let _ = http_request(
            moto.plain_port,
            "POST",
            "/",
            &[
                ("Authorization", auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"Action=ListPolicies&Scope=AWS&MaxItems=1&Version=2010-05-08",
        );
        moto
    }

    /// Plain `moto_server` (no behaviour layer), for the few tests that need moto's own
    /// instant answers.
    pub fn start_plain() -> Moto {
        Self::start_program(moto_executable(), &[], None, false)
    }

    /// The CloudFormation fault hooks of `tests/moto_faults.py` ([`Moto::fail_stack_create`],
    /// termination protection) are part of every [`Moto::start`].
    pub fn start_with_faults() -> Moto {
        Self::start()
    }

    /// Create stack `stack` in `region` as a failed, rolled-back first create: its events
    /// say `resource` (of `resource_type`) failed with `reason`. Needs
    /// [`Moto::start_with_faults`].
    pub fn fail_stack_create(
        &self,
        region: &str,
        stack: &str,
        resource: &str,
        resource_type: &str,
        reason: &str,
    ) {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("region", region)
            .append_pair("stack", stack)
            .append_pair("resource", resource)
            .append_pair("type", resource_type)
            .append_pair("reason", reason)
            .finish();
        self.api(
            "POST",
            &format!("/x-test/cloudformation/failed-create?{query}"),
        );
    }

    /// Put the existing stack `stack` in `region` into `status`, as a failed or running
    /// operation leaves it (`tests/moto_faults.py`, `stack_status`).
    pub fn set_stack_status(&self, region: &str, stack: &str, status: &str) {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("region", region)
            .append_pair("stack", stack)
            .append_pair("status", status)
            .finish();
        self.api(
            "POST",
            &format!("/x-test/cloudformation/stack-status?{query}"),
        );
    }

    /// Make every StackSet operation fail in `account` with `reason` (`None`: work there
    /// again), as the behaviour layer models per-account results.
    pub fn fail_stackset_account(&self, account: &str, reason: Option<&str>) {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("account", account)
            .append_pair("reason", reason.unwrap_or_default())
            .finish();
        self.api("POST", &format!("/x-layer/stackset-account?{query}"));
    }

    /// Give resource `resource` of stack `stack` in `region` the drift detection result
    /// `status` (MODIFIED, DELETED, IN_SYNC; NOT_CHECKED forgets it), as DetectStackDrift
    /// leaves it (modelled in `tests/aws_layer.py`).
    pub fn set_drift(&self, region: &str, stack: &str, resource: &str, status: &str) {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("region", region)
            .append_pair("stack", stack)
            .append_pair("resource", resource)
            .append_pair("status", status)
            .finish();
        self.api("POST", &format!("/x-layer/drift?{query}"));
    }

    fn start_program(
        exe: PathBuf,
        pre_args: &[String],
        layer_scale: Option<&str>,
        managed_policies: bool,
    ) -> Moto {
        let deadline = Instant::now() + start_timeout();
        let mut last_log = String::new();
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("moto-")
                .tempdir()
                .expect("moto temp dir");
            let log_path = dir.path().join("moto.log");
            let log = std::fs::File::create(&log_path).expect("moto log file");
            let port = unused_port();
            let mut command = Command::new(&exe);
            command
                .args(pre_args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            let plain_port = match layer_scale {
                Some(scale) => {
                    let plain = unused_port();
                    command
                        .args(["--plain-port", &plain.to_string()])
                        .env("AWS_LAYER_SCALE", scale);
                    plain
                }
                None => port,
            };
            if managed_policies {
                command.env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
            }
            let child = command
                .current_dir(dir.path())
                .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
                .env_remove("MOTO_ENABLE_RECORDING")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
            let mut moto = Moto {
                child,
                port,
                plain_port,
                dir,
            };
            match moto.wait_ready(deadline) {
                Ok(()) => {
                    // Make sure the recording file exists so download works before any
                    // recording started.
                    moto.reset_recording();
                    return moto;
                }
                Err(exited) => {
                    last_log = moto.log();
                    if !exited {
                        panic!(
                            "moto_server on port {port} not ready after {:?}; log:\n{last_log}",
                            start_timeout()
                        );
                    }
                    // dropped here: child already exited; try another port
                }
            }
        }
        panic!("moto_server kept exiting at startup; last log:\n{last_log}");
    }

    /// Ok when ready; Err(true) when the child exited, Err(false) on timeout.
    fn wait_ready(&mut self, deadline: Instant) -> Result<(), bool> {
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(true);
            }
            let up = |port| matches!(http(port, "GET", "/moto-api/", b""), Ok((200, _)));
            if up(self.port) && up(self.plain_port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(false);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url`: through the behaviour layer.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The same moto without the behaviour layer: for tests that read AWS back or change it
    /// out of band, which must see what is there at once.
    pub fn plain_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.plain_port)
    }

    /// What the layer refused since the last reset, as `behaviour` (`s3:OperationAborted`,
    /// `dynamodb:ContinuousBackupsUnavailableException`, ...) and `detail`. Refused requests
    /// never reach moto, so its recorder does not list them. Empty for plain moto.
    pub fn refusals(&self) -> Vec<(String, String)> {
        if self.plain_port == self.port {
            return Vec::new();
        }
        let body = self.api("GET", "/x-layer/refusals");
        let doc: Value = serde_json::from_slice(&body).expect("layer refusals are JSON");
        doc["refusals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["behaviour"].as_str().unwrap_or_default().to_string(),
                            r["detail"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn account_id(&self) -> &'static str {
        ACCOUNT_ID
    }

    /// Everything moto printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    fn api(&self, method: &str, path: &str) -> Vec<u8> {
        match http(self.port, method, path, b"") {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!(
                "moto {method} {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ),
            Err(e) => panic!("moto {method} {path}: {e}"),
        }
    }

    /// Drop every resource in every moto backend.
    pub fn reset(&self) {
        self.api("POST", "/moto-api/reset");
    }

    /// Erase the recording, then record every AWS request from now on.
    pub fn start_recording(&self) {
        self.reset_recording();
        self.api("POST", "/moto-api/recorder/start-recording");
    }

    pub fn stop_recording(&self) {
        self.api("POST", "/moto-api/recorder/stop-recording");
    }

    /// Erase the recording (recording stays on or off as it was).
    pub fn reset_recording(&self) {
        self.api("POST", "/moto-api/recorder/reset-recording");
    }

    /// The requests recorded since `start_recording` (recording may still be on).
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        let body = self.api("GET", "/moto-api/recorder/download-recording");
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let entry: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad recorder line {line:?}: {e}"));
                RecordedRequest::from_entry(&entry)
            })
            .collect()
    }

    /// `(service, operation)` of every recorded request that changes AWS state.
    pub fn mutating_calls(&self) -> Vec<(String, String)> {
        self.recorded_requests()
            .iter()
            .map(classify)
            .filter(|(_, _, mutating)| *mutating)
            .map(|(s, o, _)| (s, o))
            .collect()
    }

    /// The operation names of the recorded mutating calls, sorted (for comparing a set of
    /// writes whatever order they ran in).
    pub fn mutating_ops(&self) -> Vec<String> {
        let mut ops: Vec<String> = self.mutating_calls().into_iter().map(|c| c.1).collect();
        ops.sort();
        ops
    }

    /// `(service, operation)` of every recorded request.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.recorded_requests()
            .iter()
            .map(classify)
            .map(|(s, o, _)| (s, o))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    fn from_entry(entry: &Value) -> RecordedRequest {
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

/// Minimal HTTP/1.0 exchange with moto on 127.0.0.1: `(status, body)`.
pub fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    http_request(port, method, path, &[], body)
}

/// Like [`http`], with extra request headers.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;

    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of response head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

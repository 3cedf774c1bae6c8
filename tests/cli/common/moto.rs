//! A local AWS: `moto_server` as a child process, plus its request recorder so tests can
//! count AWS calls independently of the tool under test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::issuer::unused_port;
pub use super::recorder::{classify, RecordedRequest};

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

//! The `bootstrap` binary as a subprocess with a clean, deterministic environment.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// An empty HOME shared by commands that do not ask for their own (under cargo's per-target
/// temp dir, so nothing leaks into /tmp).
fn shared_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&base).expect("create CARGO_TARGET_TMPDIR");
        tempfile::Builder::new()
            .prefix("home-")
            .tempdir_in(base)
            .expect("temp HOME")
            .keep()
    })
}

fn timeout() -> Duration {
    let secs = std::env::var("BOOTSTRAP_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(secs)
}

/// `bootstrap` with a clean environment and a shared empty HOME.
pub(super) fn bootstrap_cmd() -> Command {
    bootstrap_cmd_in(shared_home())
}

/// `bootstrap` with a clean environment: only PATH, HOME=`home`, fake AWS credentials,
/// region us-east-1, IMDS disabled, NO_COLOR=1.
pub(super) fn bootstrap_cmd_in(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// What a finished `bootstrap` run produced.
#[derive(Clone)]
pub struct CliOutput {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout parsed as exactly one JSON document (panics with the output otherwise).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{self:?}"))
    }
}

/// Run a prepared command with optional stdin (what [`Test::run`](super::Test::run) does).
/// Kills it and panics after `BOOTSTRAP_TEST_TIMEOUT_SECS` (default 120).
pub(super) fn run_cmd_with_stdin(mut cmd: Command, stdin: Option<&[u8]>) -> CliOutput {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let stdin_thread = stdin.map(|data| {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let data = data.to_vec();
        std::thread::spawn(move || {
            // The command may exit without reading: ignore a broken pipe.
            let _ = pipe.write_all(&data);
        })
    });
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });

    let deadline = Instant::now() + timeout();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bootstrap") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(t) = stdin_thread {
        let _ = t.join();
    }
    let output = CliOutput {
        code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned(),
    };
    if status.is_none() {
        panic!("bootstrap timed out after {:?}\n{output:?}", timeout());
    }
    output
}

/// A failed run, checked in both output modes (see [`Test::run_error`](super::Test::run_error)).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The one error line of text mode, without the `error: ` label.
    pub line: String,
    /// The `error` object of `--output json`.
    pub json: Value,
}

/// The entry for one resource kind (`oidc-provider`, `role`, `state-bucket`, `lock-table`)
/// in the `resources` list of a `plan`, `init` or `status` JSON document.
#[track_caller]
pub fn resource<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    doc["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no resources list in {doc:#}"))
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {doc:#}"))
}

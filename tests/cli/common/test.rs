//! [`Test`]: one run of `bootstrap`, described step by step, then run and checked, in the
//! style of just's test builder: what goes in (arguments, environment, stdin, HOME, working
//! directory) and what must come out (exit code, text on stdout and stderr, no AWS write).
//!
//! ```ignore
//! let out = w
//!     .test("plan")
//!     .args(["--detailed-exitcode"])
//!     .expect_exit(2)
//!     .expect_stdout_contains("create")
//!     .expect_no_writes()
//!     .run();
//! ```
//!
//! `run` returns the [`CliOutput`] for checks the builder does not express.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cli::{bootstrap_cmd, bootstrap_cmd_in, run_cmd_with_stdin, CliOutput};
use super::moto::Moto;

/// One `bootstrap` run and what it must produce. Unless told otherwise it must exit 0.
#[must_use = "a Test does nothing until `run`"]
pub struct Test<'a> {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    bare: bool,
    home: Option<PathBuf>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    code: i32,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_lacks: Vec<String>,
    moto: Option<&'a Moto>,
    no_writes: bool,
}

impl Default for Test<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Test<'a> {
    /// `bootstrap` with the harness's clean environment (see [`bootstrap_cmd_in`]) and no
    /// arguments yet.
    pub fn new() -> Test<'a> {
        Test {
            args: Vec::new(),
            env: Vec::new(),
            bare: false,
            home: None,
            dir: None,
            stdin: None,
            code: 0,
            stdout: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_lacks: Vec::new(),
            moto: None,
            no_writes: false,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set one environment variable (on top of the clean environment).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Only `PATH`, `HOME` and `NO_COLOR=1`: no AWS credentials or region, as a shell where
    /// nothing is set (what `--help` must be rendered in, since clap shows `env` values).
    pub fn bare_env(mut self) -> Self {
        self.bare = true;
        self
    }

    /// Run with this HOME instead of the shared empty one.
    pub fn home(mut self, home: impl AsRef<Path>) -> Self {
        self.home = Some(home.as_ref().to_path_buf());
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Pipe `input` into stdin (otherwise stdin is /dev/null: no terminal).
    pub fn stdin(mut self, input: impl AsRef<[u8]>) -> Self {
        self.stdin = Some(input.as_ref().to_vec());
        self
    }

    /// The exit code the run must end with (default 0).
    pub fn expect_exit(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    /// stdout must be exactly `text`.
    pub fn expect_stdout(mut self, text: impl Into<String>) -> Self {
        self.stdout = Some(text.into());
        self
    }

    pub fn expect_stdout_contains(mut self, text: impl Into<String>) -> Self {
        self.stdout_contains.push(text.into());
        self
    }

    pub fn expect_stderr_contains(mut self, text: impl Into<String>) -> Self {
        self.stderr_contains.push(text.into());
        self
    }

    pub fn expect_stdout_lacks(mut self, text: impl Into<String>) -> Self {
        self.stdout_lacks.push(text.into());
        self
    }

    pub fn expect_stderr_lacks(mut self, text: impl Into<String>) -> Self {
        self.stderr_lacks.push(text.into());
        self
    }

    /// Count writes on this moto (see [`Test::expect_no_writes`]); a world's tests have it.
    pub fn moto(mut self, moto: &'a Moto) -> Self {
        self.moto = Some(moto);
        self
    }

    /// The run must make no mutating AWS call, as moto's own recorder counts them (the
    /// recording is restarted just before the run and left on after it).
    pub fn expect_no_writes(mut self) -> Self {
        self.no_writes = true;
        self
    }

    fn command(&self) -> Command {
        let mut cmd = match (&self.home, self.bare) {
            (_, true) => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
                cmd.env_clear().stdin(Stdio::null()).env("NO_COLOR", "1");
                if let Some(path) = std::env::var_os("PATH") {
                    cmd.env("PATH", path);
                }
                let home = self.home.clone().unwrap_or_else(std::env::temp_dir);
                cmd.env("HOME", home);
                cmd
            }
            (Some(home), false) => bootstrap_cmd_in(home),
            (None, false) => bootstrap_cmd(),
        };
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Run `bootstrap`, check every expectation (panicking with the whole output when one
    /// fails), and return the output.
    #[track_caller]
    pub fn run(self) -> CliOutput {
        let moto = self.no_writes.then(|| {
            let moto = self
                .moto
                .expect("expect_no_writes needs a moto: use World::test or Test::moto");
            moto.start_recording();
            moto
        });
        let out = run_cmd_with_stdin(self.command(), self.stdin.as_deref());
        let what = self.describe();
        assert_eq!(
            out.code,
            Some(self.code),
            "{what}: unexpected exit code\n{out:?}"
        );
        if let Some(want) = &self.stdout {
            assert_eq!(&out.stdout, want, "{what}: stdout\n{out:?}");
        }
        for (stream, text, wanted) in self.expectations(&out) {
            assert!(
                text.contains(wanted.as_str()),
                "{what}: {stream} lacks {wanted:?}\n{out:?}"
            );
        }
        for (stream, text, unwanted) in self.refusals(&out) {
            assert!(
                !text.contains(unwanted.as_str()),
                "{what}: {stream} contains {unwanted:?}\n{out:?}"
            );
        }
        if let Some(moto) = moto {
            let writes = moto.mutating_calls();
            assert_eq!(writes, vec![], "{what} wrote to AWS\n{out:?}");
        }
        out
    }

    fn expectations<'o>(&'o self, out: &'o CliOutput) -> Vec<(&'static str, &'o str, &'o String)> {
        let stdout = self
            .stdout_contains
            .iter()
            .map(|t| ("stdout", out.stdout.as_str(), t));
        let stderr = self
            .stderr_contains
            .iter()
            .map(|t| ("stderr", out.stderr.as_str(), t));
        stdout.chain(stderr).collect()
    }

    fn refusals<'o>(&'o self, out: &'o CliOutput) -> Vec<(&'static str, &'o str, &'o String)> {
        let stdout = self
            .stdout_lacks
            .iter()
            .map(|t| ("stdout", out.stdout.as_str(), t));
        let stderr = self
            .stderr_lacks
            .iter()
            .map(|t| ("stderr", out.stderr.as_str(), t));
        stdout.chain(stderr).collect()
    }

    /// `bootstrap ARGS`, for failure messages.
    fn describe(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        format!("bootstrap {}", args.join(" "))
    }
}

//! [`Test`]: one run of `bootstrap`, described step by step, then run and checked, in the
//! style of just's test builder: what goes in (arguments, environment, stdin, HOME, working
//! directory) and what must come out (the exit code, text on stdout and stderr, no AWS write,
//! and any further check a helper attaches with [`Test::check`]).
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
//! `run` returns the [`CliOutput`] for checks the builder does not express; `run_error`
//! runs a failing command in both output modes and checks the error contract (see
//! [`Test::run_error`]). This is the one way the tests run the binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;

use super::cli::{bootstrap_cmd, bootstrap_cmd_in, run_cmd_with_stdin, CliOutput, Failure};
use super::moto::Moto;

/// The exit a run must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Code(i32),
    /// One of these codes.
    OneOf(&'static [i32]),
    /// Any code but this one (not a signal).
    Not(i32),
    /// Any non-zero code (not a signal).
    Failure,
    /// Not checked: the test checks something else of the output.
    Any,
}

/// A further check of a run's whole output (see [`Test::check`]).
type Check<'a> = Rc<dyn Fn(&CliOutput) + 'a>;

/// One `bootstrap` run and what it must produce. Unless told otherwise it must exit 0.
#[must_use = "a Test does nothing until `run`"]
#[derive(Clone)]
pub struct Test<'a> {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_removed: Vec<OsString>,
    bare: bool,
    home: Option<PathBuf>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    exit: Exit,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_lacks: Vec<String>,
    moto: Option<&'a Moto>,
    no_writes: bool,
    checks: Vec<Check<'a>>,
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
            env_removed: Vec::new(),
            bare: false,
            home: None,
            dir: None,
            stdin: None,
            exit: Exit::Code(0),
            stdout: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_lacks: Vec::new(),
            moto: None,
            no_writes: false,
            checks: Vec::new(),
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

    /// Remove one variable of the clean environment (e.g. the fake AWS credentials).
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_removed.push(key.into());
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
        self.exit = Exit::Code(code);
        self
    }

    /// The exit code must be one of `codes` (for a run whose outcome the test does not fix,
    /// e.g. a verdict that depends on the machine).
    pub fn expect_exit_in(mut self, codes: &'static [i32]) -> Self {
        self.exit = Exit::OneOf(codes);
        self
    }

    /// The run may end with any code but `code` (e.g. 64, a usage error, for input that
    /// must be accepted whatever then happens).
    pub fn expect_exit_not(mut self, code: i32) -> Self {
        self.exit = Exit::Not(code);
        self
    }

    /// The run must fail, with whatever non-zero code.
    pub fn expect_failure(mut self) -> Self {
        self.exit = Exit::Failure;
        self
    }

    /// The exit code is not checked: for a run whose test is about something else of its
    /// output (a leaked secret, say) and may succeed or fail.
    pub fn any_exit(mut self) -> Self {
        self.exit = Exit::Any;
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

    /// A further check of the whole output, run after the builder's own (for what a helper
    /// always checks, e.g. that a written file is valid).
    pub fn check(mut self, check: impl Fn(&CliOutput) + 'a) -> Self {
        self.checks.push(Rc::new(check));
        self
    }

    /// The command [`Test::run`] starts (for the harness's own tests of its environment).
    pub fn command(&self) -> Command {
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
        for k in &self.env_removed {
            cmd.env_remove(k);
        }
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
        match self.exit {
            Exit::Code(code) => assert_eq!(
                out.code,
                Some(code),
                "{what}: unexpected exit code\n{out:?}"
            ),
            Exit::OneOf(codes) => assert!(
                out.code.is_some_and(|c| codes.contains(&c)),
                "{what}: exit code not one of {codes:?}\n{out:?}"
            ),
            Exit::Not(code) => assert!(
                out.code.is_some_and(|c| c != code),
                "{what}: exit code {code} (or a signal)\n{out:?}"
            ),
            Exit::Failure => assert!(
                out.code.is_some_and(|c| c != 0),
                "{what}: expected a failure\n{out:?}"
            ),
            Exit::Any => {}
        }
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
        for check in &self.checks {
            check(&out);
        }
        out
    }

    /// Run a command that must fail (with the code of [`Test::expect_exit`]) twice, once
    /// with `-q` in text mode and once with `--output json`, and check the error contract:
    /// the expected code both times (and every other expectation of the builder); in text
    /// mode nothing on stdout and exactly one line, `error: ...`, on stderr; in JSON mode
    /// stdout is one JSON document `{"error": {...}, "exit_code": code}`.
    #[track_caller]
    pub fn run_error(self) -> Failure {
        let Exit::Code(code) = self.exit else {
            panic!("run_error needs the exact code: use expect_exit");
        };
        assert_ne!(code, 0, "run_error is for a failing command");
        let text = self.clone().arg("-q").expect_stdout("").run();
        let lines: Vec<&str> = text.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stderr:\n{text:?}"
        );
        let line = lines[0]
            .strip_prefix("error: ")
            .unwrap_or_else(|| panic!("the stderr line does not start with `error: `:\n{text:?}"))
            .to_string();
        let json_run = self.args(["--output", "json"]).run();
        let doc = json_run.json();
        assert_eq!(doc["exit_code"], code, "{json_run:?}");
        let err = doc["error"].clone();
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no error.message in the JSON document:\n{json_run:?}"
        );
        Failure { line, json: err }
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

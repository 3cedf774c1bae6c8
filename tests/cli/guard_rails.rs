//! Every mistaken command line is refused before anything is touched: exit 64, one line that
//! says what is wrong and what is accepted, and not one connection to AWS or the issuer.
//!
//! The AWS endpoint, the issuer and the IP-ranges URL all point at one local listener that
//! counts the connections it receives; a control case proves that a valid command line does
//! reach it.

use crate::common;
use crate::common::Test;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::fixture::{World, REPO_UUID, WORKSPACE_UUID};
use serde_json::json;

/// A TCP listener that only counts connections (and closes them).
struct Listener {
    port: u16,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        c.fetch_add(1, Ordering::SeqCst);
                        drop(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Listener {
            port,
            count,
            stop,
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A case: how to change the valid base command line, and what the one error line must say.
pub struct Case {
    pub name: &'static str,
    /// Flags removed from the base (with their value).
    pub remove: &'static [&'static str],
    /// Arguments added at the end.
    pub add: Vec<String>,
    /// Config file contents (`--config FILE`), if any.
    pub config: Option<&'static str>,
    /// Every one of these must be in the error line.
    pub expect: &'static [&'static str],
}

pub fn case(name: &'static str, add: &[&str], expect: &'static [&'static str]) -> Case {
    Case {
        name,
        remove: &[],
        add: add.iter().map(ToString::to_string).collect(),
        config: None,
        expect,
    }
}

impl Case {
    pub fn removing(mut self, flags: &'static [&'static str]) -> Case {
        self.remove = flags;
        self
    }

    pub fn config(mut self, text: &'static str) -> Case {
        self.config = Some(text);
        self
    }
}

/// The valid base: `init --yes` with every network destination at the listener.
fn base(port: u16) -> Vec<(String, Option<String>)> {
    let url = format!("http://127.0.0.1:{port}");
    [
        ("--endpoint-url", Some(url.clone())),
        ("--region", Some("us-east-1".to_string())),
        (
            "--issuer-url",
            Some(format!("https://127.0.0.1:{port}/oidc")),
        ),
        (
            "--ip-ranges-url",
            Some(format!("https://127.0.0.1:{port}/ranges")),
        ),
        ("--workspace-uuid", Some(WORKSPACE_UUID.to_string())),
        ("--repository-uuid", Some(REPO_UUID.to_string())),
        ("--yes", None),
    ]
    .into_iter()
    .map(|(f, v)| (f.to_string(), v))
    .collect()
}

fn args_for(c: &Case, port: u16, config_path: Option<&std::path::Path>) -> Vec<String> {
    let mut args = vec!["init".to_string()];
    for (flag, value) in base(port) {
        if c.remove.contains(&flag.as_str()) {
            continue;
        }
        args.push(flag);
        args.extend(value);
    }
    args.extend(c.add.iter().cloned());
    if let Some(p) = config_path {
        args.push("--config".into());
        args.push(p.display().to_string());
    }
    args
}

pub fn long(n: usize) -> String {
    "a".repeat(n)
}

/// Every mistaken command line of the table (`guard_rails_trust.rs`,
/// `guard_rails_resources.rs`).
fn cases() -> Vec<Case> {
    let mut cases = crate::guard_rails_trust::trust_cases();
    cases.extend(crate::guard_rails_resources::resource_cases());
    cases
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "every refusal checked the same way, in one loop over the cases"
)]
fn every_bad_input_is_refused_with_exit_64_one_line_and_no_connection() {
    let listener = Listener::start();
    let dir = tempfile::tempdir().expect("temp dir");

    // Control: the valid base does reach the listener (and then fails, as it is no AWS).
    let control = Case {
        name: "control",
        remove: &[],
        add: vec![],
        config: None,
        expect: &[],
    };
    let out = Test::new()
        .args(args_for(&control, listener.port, None))
        .expect_exit(1)
        .run();
    assert!(
        listener.connections() > 0,
        "the valid command line must reach the listener, or this test proves nothing\n{out:?}"
    );

    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let config_path = c.config.map(|text| {
            let p = dir.path().join(format!("case-{i}.toml"));
            std::fs::write(&p, text).expect("write config");
            p
        });
        for json in [false, true] {
            let before = listener.connections();
            let mut args = args_for(c, listener.port, config_path.as_deref());
            if json && !c.add.iter().any(|a| a == "--output") {
                args.extend(["--output".to_string(), "json".to_string()]);
            } else if json {
                continue;
            }
            // The exit code is judged below, with the case's other problems.
            let out = Test::new().args(&args).any_exit().run();
            if std::env::var_os("SHOW_GUARD_RAILS").is_some() && !json {
                eprintln!("{:<40} {}", c.name, out.stderr.trim());
            }
            let connections = listener.connections() - before;
            let problem = if out.code != Some(64) {
                Some(format!("exit {:?}, expected 64", out.code))
            } else if connections != 0 {
                Some(format!("{connections} connection(s) made"))
            } else if json {
                let doc: serde_json::Value = match serde_json::from_str(&out.stdout) {
                    Ok(d) => d,
                    Err(e) => {
                        failures.push(format!(
                            "{} (json): stdout is not one JSON document: {e}\n{out:?}",
                            c.name
                        ));
                        continue;
                    }
                };
                let msg = format!(
                    "{} {}",
                    doc["error"]["message"].as_str().unwrap_or_default(),
                    doc["error"]["hint"].as_str().unwrap_or_default()
                );
                if doc["exit_code"] != json!(64) || doc["error"]["kind"] != json!("usage") {
                    Some(format!("JSON error document: {doc}"))
                } else {
                    c.expect
                        .iter()
                        .find(|e| !msg.contains(*e))
                        .map(|e| format!("message lacks {e:?}: {msg}"))
                }
            } else {
                // The configuration file in use is announced; the rest is the error.
                let lines: Vec<&str> = out
                    .stderr
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with("using configuration "))
                    .collect();
                if lines.len() != 1 || !lines[0].starts_with("error: ") {
                    Some(format!("expected one error line on stderr, got {lines:?}"))
                } else if !out.stdout.is_empty() {
                    Some(format!("stdout not empty: {:?}", out.stdout))
                } else {
                    c.expect
                        .iter()
                        .find(|e| !lines[0].contains(*e))
                        .map(|e| format!("message lacks {e:?}: {}", lines[0]))
                }
            };
            if let Some(p) = problem {
                failures.push(format!(
                    "{}{}: {p}\nargs: {args:?}\n{out:?}",
                    c.name,
                    if json { " (json)" } else { "" }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!(
        "guard rails: {} bad inputs refused with exit 64, one line and no connection (text and JSON)",
        cases.len()
    );
}

/// The one error line of a text-mode run (the configuration announcement aside).
pub fn error_line(out: &common::CliOutput) -> String {
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line\n{out:?}");
    errors[0].to_string()
}

#[test]
fn the_configuration_file_in_use_is_announced() {
    let w = World::start();
    // Explicit: named with --config, announced even with -q.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("team.toml");
    std::fs::write(&file, "role-name = \"from-file\"\n").unwrap();
    w.test("plan")
        .args(["-q", "--config", &file.display().to_string()])
        .expect_stderr_contains(format!("using configuration {}", file.display()))
        .run();
    // Implicit: ./bootstrap.toml in the working directory.
    let mut args = vec!["plan".to_string(), "-q".to_string()];
    args.extend(w.setup_flags());
    let in_dir = Test::new().args(&args).current_dir(dir.path());
    in_dir
        .clone()
        .expect_stderr_lacks("using configuration")
        .run();
    std::fs::write(
        dir.path().join("bootstrap.toml"),
        "role-name = \"from-file\"\n",
    )
    .unwrap();
    in_dir
        .expect_stderr_contains("using configuration ./bootstrap.toml")
        .run();
}

#[test]
fn a_remote_plain_http_endpoint_is_refused_wherever_it_comes_from() {
    let listener = Listener::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let base_args = |port: u16| -> Vec<String> {
        let mut args = vec!["init".to_string()];
        for (flag, value) in base(port) {
            if flag != "--endpoint-url" {
                args.push(flag);
                args.extend(value);
            }
        }
        args
    };
    let remote = "http://203.0.113.7:4566";
    // From the environment.
    let out = Test::new()
        .env("AWS_ENDPOINT_URL", remote)
        .args(base_args(listener.port))
        .expect_exit(64)
        .run();
    assert!(error_line(&out).contains("plain http"), "{out:?}");
    // From a per-service variable the AWS SDK would also obey.
    let out = Test::new()
        .env("AWS_ENDPOINT_URL_IAM", remote)
        .args(base_args(listener.port))
        .expect_exit(64)
        .run();
    assert!(error_line(&out).contains("AWS_ENDPOINT_URL_IAM"), "{out:?}");
    assert!(error_line(&out).contains("plain http"), "{out:?}");
    // From a ./bootstrap.toml nobody named: announced, then refused.
    std::fs::write(
        dir.path().join("bootstrap.toml"),
        format!("endpoint-url = \"{remote}\"\n"),
    )
    .unwrap();
    let out = Test::new()
        .current_dir(dir.path())
        .args(base_args(listener.port))
        .expect_exit(64)
        .run();
    assert!(
        out.stderr
            .starts_with("using configuration ./bootstrap.toml\n"),
        "{out:?}"
    );
    assert!(error_line(&out).contains(remote), "{out:?}");
    assert_eq!(listener.connections(), 0, "nothing was contacted");
    // Loopback stays allowed over http (the listener is reached).
    for local in ["http://127.0.0.1", "http://localhost", "http://[::1]"] {
        let mut args = base_args(listener.port);
        let url = if local.contains("[::1]") {
            format!("{local}:1")
        } else {
            format!("{local}:{}", listener.port)
        };
        args.extend(["--endpoint-url".to_string(), url]);
        Test::new().args(&args).expect_exit_not(64).run();
    }
}

#[test]
fn token_inputs_that_never_end_are_refused_before_any_connection() {
    let listener = Listener::start();
    let args = |token: &str| -> Vec<String> {
        [
            "verify",
            "--offline",
            "--token",
            token,
            "--issuer-url",
            &format!("https://127.0.0.1:{}/oidc", listener.port),
            "--workspace-uuid",
            WORKSPACE_UUID,
            "--repository-uuid",
            REPO_UUID,
        ]
        .map(String::from)
        .to_vec()
    };
    let out = Test::new().args(args("/dev/zero")).expect_exit(64).run();
    let line = error_line(&out);
    assert!(
        line.contains("/dev/zero") && line.contains("more than 64 KiB"),
        "{out:?}"
    );
    let out = Test::new()
        .args(args("-"))
        .stdin("e".repeat(100 * 1024))
        .expect_exit(64)
        .run();
    assert!(
        error_line(&out).contains("stdin holds more than 64 KiB"),
        "{out:?}"
    );
    assert_eq!(listener.connections(), 0);
}

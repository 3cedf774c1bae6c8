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
use crate::common::inspect::Inspect;
use crate::common::issuer::{Framing, Response};
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
struct Case {
    name: &'static str,
    /// Flags removed from the base (with their value).
    remove: &'static [&'static str],
    /// Arguments added at the end.
    add: Vec<String>,
    /// Config file contents (`--config FILE`), if any.
    config: Option<&'static str>,
    /// Every one of these must be in the error line.
    expect: &'static [&'static str],
}

fn case(name: &'static str, add: &[&str], expect: &'static [&'static str]) -> Case {
    Case {
        name,
        remove: &[],
        add: add.iter().map(ToString::to_string).collect(),
        config: None,
        expect,
    }
}

impl Case {
    fn removing(mut self, flags: &'static [&'static str]) -> Case {
        self.remove = flags;
        self
    }

    fn config(mut self, text: &'static str) -> Case {
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

fn long(n: usize) -> String {
    "a".repeat(n)
}

#[allow(clippy::too_many_lines, reason = "a table of cases, one line each")]
fn cases() -> Vec<Case> {
    let long_issuer = format!("https://example.com/{}", long(260));
    let long_audience = long(151);
    let long_role = long(65);
    let long_tag_value = format!("team={}", long(257));
    let many_tags: Vec<String> = (0..41)
        .flat_map(|i| ["--tag".to_string(), format!("k{i}=v")])
        .collect();
    let many_repos: Vec<String> = (0..40)
        .flat_map(|i| {
            [
                "--repository-uuid".to_string(),
                format!("{{{i:08x}-2222-4e5f-8a9b-abcdefabcdef}}"),
            ]
        })
        .chain((0..3).flat_map(|i| {
            [
                "--environment-uuid".to_string(),
                format!("{{{i:08x}-3333-4a1b-9c2d-fedcbafedcba}}"),
            ]
        }))
        .collect();
    let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut cases = vec![
        // issuer
        case(
            "issuer over http",
            &["--issuer-url", "http://example.com/oidc"],
            &["--issuer-url", "only https://"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer with a query",
            &["--issuer-url", "https://example.com/oidc?x=1"],
            &["--issuer-url", "no query"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer with a fragment",
            &["--issuer-url", "https://example.com/oidc#top"],
            &["--issuer-url", "fragment"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer with credentials",
            &["--issuer-url", "https://user:pw@example.com/oidc"],
            &["--issuer-url", "credentials in the URL"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer not a URL",
            &["--issuer-url", "example.com/oidc"],
            &["--issuer-url", "not a URL"],
        )
        .removing(&["--issuer-url"]),
        case(
            "discovery URL for issuer",
            &[
                "--issuer-url",
                "https://example.com/oidc/.well-known/openid-configuration",
            ],
            &["--issuer-url", "not the issuer"],
        )
        .removing(&["--issuer-url"]),
        case(
            "issuer too long",
            &["--issuer-url", &long_issuer],
            &["--issuer-url", "at most 255"],
        )
        .removing(&["--issuer-url"]),
        case(
            "workspace slug with spaces",
            &["--workspace", "Acme Corp"],
            &["--workspace", "lowercase letters"],
        )
        .removing(&["--issuer-url"]),
        // --workspace beside --issuer-url is accepted: the workspace names it for the
        // Bitbucket API, the issuer URL overrides the derived one (tests/cli/bitbucket.rs).
        case("no issuer at all", &[], &["no OIDC issuer", "--workspace"])
            .removing(&["--issuer-url"]),
        // audience and UUIDs
        case(
            "workspace uuid junk",
            &["--workspace-uuid", "not-a-uuid"],
            &["--workspace-uuid", "expected a UUID"],
        )
        .removing(&["--workspace-uuid"]),
        case(
            "workspace uuid unbalanced brace",
            &["--workspace-uuid", "{6a3f1c2e-1111-4c9d-9a8b-0123456789ab"],
            &["--workspace-uuid", "unbalanced braces"],
        )
        .removing(&["--workspace-uuid"]),
        case("no audience", &[], &["no audience", "--workspace-uuid"])
            .removing(&["--workspace-uuid"]),
        case(
            "empty audience",
            &["--audience", ""],
            &["--audience", "1 to 150"],
        ),
        case(
            "audience with spaces around",
            &["--audience", " my-aud"],
            &["--audience", "without leading or trailing spaces"],
        ),
        case(
            "audience too long",
            &["--audience", &long_audience],
            &["--audience", "1 to 150"],
        ),
        case(
            "repository uuid star",
            &["--repository-uuid", "*"],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid braced star",
            &["--repository-uuid", "{*}"],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid with a wildcard inside",
            &["--repository-uuid", "{0f6b3c1d-2222-4e5f-8a9b-abcdef*}"],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid too short",
            &["--repository-uuid", "0f6b3c1d-2222-4e5f-8a9b-abcdefabcde"],
            &["--repository-uuid", "expected a UUID"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "repository uuid without dashes",
            &["--repository-uuid", "0f6b3c1d22224e5f8a9babcdefabcdef"],
            &["--repository-uuid", "expected a UUID"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "environment uuid wildcard",
            &[
                "--environment-uuid",
                "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcb?}",
            ],
            &["--environment-uuid", "wildcards are not accepted"],
        ),
        case(
            "environment uuid star",
            &["--environment-uuid", "*"],
            &["--environment-uuid", "name each deployment environment"],
        ),
        case(
            "workspace uuid star",
            &["--workspace-uuid", "*"],
            &["--workspace-uuid", "your workspace's UUID"],
        )
        .removing(&["--workspace-uuid"]),
        case(
            "environment without repository",
            &["--environment-uuid", "7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba"],
            &["--environment-uuid needs --repository-uuid"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "no repository restriction",
            &[],
            &["no --repository-uuid", "--allow-any-repository"],
        )
        .removing(&["--repository-uuid"]),
        case(
            "any repository and a repository",
            &["--allow-any-repository"],
            &["--allow-any-repository contradicts --repository-uuid"],
        ),
        // source IPs
        case(
            "whole IPv4 internet",
            &["--source-ip", "0.0.0.0/0"],
            &["--source-ip", "matches every address"],
        ),
        case(
            "whole IPv6 internet",
            &["--source-ip", "::/0"],
            &["--source-ip", "matches every address"],
        ),
        case(
            "whole internet, IPv4-mapped",
            &["--source-ip", "::ffff:0.0.0.0/96"],
            &["--source-ip", "matches every address"],
        ),
        // Ranges that are each narrow can add up to everything: the union is judged.
        case(
            "IPv4 halves add up to the internet",
            &["--source-ip", "0.0.0.0/1", "--source-ip", "128.0.0.0/1"],
            &[
                "0.0.0.0/1, 128.0.0.0/1",
                "all of IPv4",
                "union is 0.0.0.0/0",
                "--source-ip",
            ],
        ),
        case(
            "IPv4 quarters add up to the internet",
            &[
                "--source-ip",
                "0.0.0.0/2",
                "--source-ip",
                "64.0.0.0/2",
                "--source-ip",
                "128.0.0.0/2",
                "--source-ip",
                "192.0.0.0/2",
            ],
            &["all of IPv4 (0.0.0.0/0)"],
        ),
        case(
            "IPv6 halves add up to the internet",
            &["--source-ip", "::/1", "--source-ip", "8000::/1"],
            &["all of IPv6 (::/0)", "union is ::/0"],
        ),
        case(
            "IPv4-mapped half plus an IPv4 half",
            &[
                "--source-ip",
                "::ffff:0.0.0.0/97",
                "--source-ip",
                "128.0.0.0/1",
            ],
            &["all of IPv4"],
        ),
        case(
            "halves from the config file",
            &[],
            &["all of IPv4", "--source-ip"],
        )
        .config("source-ip = [\"0.0.0.0/1\", \"128.0.0.0/1\"]\n"),
        case(
            "prefix too long",
            &["--source-ip", "10.0.0.0/33"],
            &["--source-ip", "expected a CIDR"],
        ),
        case(
            "not an address",
            &["--source-ip", "office"],
            &["--source-ip", "expected a CIDR", "bitbucket"],
        ),
        // role
        case(
            "empty role name",
            &["--role-name", ""],
            &["--role-name", "1 to 64"],
        ),
        case(
            "role name too long",
            &["--role-name", &long_role],
            &["--role-name", "1 to 64"],
        ),
        case(
            "role name with a space",
            &["--role-name", "deploy role"],
            &["--role-name", "letters, digits"],
        ),
        case(
            "AdministratorAccess",
            &[
                "--policy-arn",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ],
            &["AdministratorAccess", "--allow-admin"],
        ),
        case(
            "policy ARN of another service",
            &["--policy-arn", "arn:aws:s3:::bucket"],
            &["--policy-arn", "expected a managed policy ARN"],
        ),
        case(
            "policy ARN with a short account",
            &["--policy-arn", "arn:aws:iam::12345:policy/deploy"],
            &["--policy-arn", "expected a managed policy ARN"],
        ),
        case(
            "policy name with a space",
            &["--policy-arn", "arn:aws:iam::123456789012:policy/bad name"],
            &["--policy-arn", "expected a managed policy ARN"],
        ),
        case(
            "boundary not an ARN",
            &["--permissions-boundary", "boundary"],
            &["--permissions-boundary", "expected a managed policy ARN"],
        ),
        case(
            "session too short",
            &["--max-session-duration", "899"],
            &["--max-session-duration 899", "900 to 43200"],
        ),
        case(
            "session too long",
            &["--max-session-duration", "43201"],
            &["--max-session-duration 43201", "900 to 43200"],
        ),
        case(
            "session not a number",
            &["--max-session-duration", "1h"],
            &["--max-session-duration", "invalid value"],
        ),
        // state
        case(
            "bucket with capitals",
            &["--state-bucket", "Tf_State"],
            &["--state-bucket", "lowercase letters"],
        ),
        case(
            "bucket too short",
            &["--state-bucket", "ab"],
            &["--state-bucket", "3 to 63"],
        ),
        case(
            "bucket like an IP",
            &["--state-bucket", "192.168.1.1"],
            &["--state-bucket", "IP address"],
        ),
        case(
            "bucket with a reserved prefix",
            &["--state-bucket", "xn--state"],
            &["--state-bucket", "cannot start with xn--"],
        ),
        case(
            "bucket with a dot",
            &["--state-bucket", "state.bucket"],
            &["--state-bucket", "dots"],
        ),
        case(
            "table too short",
            &["--lock-table", "ab"],
            &["--lock-table", "3 to 255"],
        ),
        case(
            "table with punctuation",
            &["--lock-table", "locks!"],
            &["--lock-table", "3 to 255"],
        ),
        case(
            "table and no table",
            &["--lock-table", "locks", "--no-lock-table"],
            &["--lock-table", "cannot be used with"],
        ),
        case(
            "KMS key in no form KMS knows",
            &["--kms-key", "state-key"],
            &["--kms-key", "expected a KMS key ARN"],
        ),
        case(
            "KMS key in another region",
            &[
                "--kms-key",
                "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ],
            &["--kms-key is in eu-west-1", "us-east-1"],
        ),
        case(
            "prefix with a leading slash",
            &["--state-key-prefix", "/state"],
            &["--state-key-prefix", "no leading '/'"],
        ),
        case(
            "noncurrent days zero",
            &["--noncurrent-days", "0"],
            &["--noncurrent-days 0", "1 to 3650"],
        ),
        // tags
        case("tag without =", &["--tag", "team"], &["--tag", "KEY=VALUE"]),
        case(
            "tag with aws: prefix",
            &["--tag", "aws:owner=me"],
            &["--tag", "reserved by AWS"],
        ),
        case(
            "tag given twice",
            &["--tag", "team=a", "--tag", "team=b"],
            &["--tag \"team\" given twice"],
        ),
        case(
            "tag key bootstrap uses",
            &["--tag", "managed-by=me"],
            &["--tag", "set by bootstrap"],
        ),
        case(
            "tag value too long",
            &["--tag", &long_tag_value],
            &["--tag", "up to 256"],
        ),
        Case {
            name: "too many tags",
            remove: &[],
            add: many_tags,
            config: None,
            expect: &["41 tags", "at most 40"],
        },
        // global
        case(
            "region not a region",
            &["--region", "Europe"],
            &["--region", "expected a region name"],
        )
        .removing(&["--region"]),
        case(
            "endpoint not http",
            &["--endpoint-url", "ftp://127.0.0.1"],
            &["--endpoint-url", "http(s)://"],
        )
        .removing(&["--endpoint-url"]),
        case(
            "endpoint over plain http to another host",
            &["--endpoint-url", "http://203.0.113.7:4566"],
            &["--endpoint-url", "plain http", "https://"],
        )
        .removing(&["--endpoint-url"]),
        case(
            "endpoint over plain http by name",
            &["--endpoint-url", "http://localstack.example.com"],
            &["--endpoint-url", "plain http"],
        )
        .removing(&["--endpoint-url"]),
        case(
            "endpoint over plain http from the config file",
            &[],
            &["--endpoint-url", "plain http", "configuration file"],
        )
        .config("endpoint-url = \"http://10.0.0.1:4566\"\n")
        .removing(&["--endpoint-url"]),
        case(
            "timeout zero",
            &["--timeout", "0"],
            &["--timeout 0", "1 to 300"],
        ),
        case(
            "ip ranges over http",
            &["--ip-ranges-url", "http://127.0.0.1/ranges"],
            &["--ip-ranges-url", "only https://"],
        )
        .removing(&["--ip-ranges-url"]),
        case(
            "profile with a space",
            &["--profile", "my profile"],
            &["--profile", "without spaces"],
        ),
        case(
            "output format unknown",
            &["--output", "yaml"],
            &["--output", "invalid value", "text, json"],
        ),
        case(
            "mode unknown",
            &["--mode", "terraform"],
            &["--mode", "invalid value", "direct, cloudformation"],
        ),
        case(
            "missing config file",
            &["--config", "/nonexistent/bootstrap.toml"],
            &["cannot read config file", "--config"],
        ),
        case(
            "missing CA bundle",
            &["--ca-bundle", "/nonexistent/ca.pem"],
            &["cannot read --ca-bundle"],
        ),
        // config file
        case(
            "config unknown key",
            &[],
            &[
                "unknown key `role-nam`; did you mean `role-name`?",
                "line 1",
            ],
        )
        .config("role-nam = \"deploy\"\n"),
        case(
            "config setting written after [tags]",
            &[],
            &[
                "line 3: `region` is a setting",
                "[tags]",
                "above the first [table]",
            ],
        )
        .config("[tags]\nteam = \"infra\"\nregion = \"eu-west-1\"\n"),
        case(
            "unknown AWS profile",
            &["--profile", "nosuch"],
            &["--profile nosuch", "no such profile"],
        ),
        case("config wrong type", &[], &["invalid type", "line 2"])
            .config("role-name = \"deploy\"\nmax-session-duration = \"long\"\n"),
        case("config bad syntax", &[], &["line 1", "config file"]).config("role-name = deploy\n"),
        case(
            "config bad value",
            &[],
            &["--state-bucket", "lowercase letters"],
        )
        .config("state-bucket = \"Upper\"\n"),
        case(
            "config wildcard repository",
            &[],
            &["--repository-uuid", "wildcards are not accepted"],
        )
        .config("repository-uuid = [\"*\"]\n")
        .removing(&["--repository-uuid"]),
        Case {
            name: "trust policy too large",
            remove: &["--repository-uuid"],
            add: many_repos,
            config: None,
            expect: &["trust policy would be", "at most 8192"],
        },
    ];
    // Files that never end are cut at their cap, at once.
    cases.push(Case {
        name: "CA bundle that never ends",
        remove: &[],
        add: s(&["--ca-bundle", "/dev/zero"]),
        config: None,
        expect: &["--ca-bundle /dev/zero", "more than 4 MiB"],
    });
    cases.push(Case {
        name: "config file that never ends",
        remove: &[],
        add: s(&["--config", "/dev/zero"]),
        config: None,
        expect: &["config file /dev/zero", "more than 1 MiB"],
    });
    cases.push(Case {
        name: "CA bundle without certificates",
        remove: &[],
        add: s(&["--ca-bundle", "Cargo.toml"]),
        config: None,
        expect: &["--ca-bundle", "no PEM certificates"],
    });
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

fn admin_policy(action: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadState", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "Everything", "Effect": "Allow", "Action": [action], "Resource": "*"}
        ]
    })
}

#[test]
fn a_customer_policy_granting_everything_is_refused_before_any_write() {
    let w = World::start();
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let star = aws.create_policy("all-star", &admin_policy("*"));
    let star_star = aws.create_policy("all-star-star", &admin_policy("*:*"));
    let narrow = aws.create_policy(
        "narrow",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    );
    let missing = format!("arn:aws:iam::{}:policy/does-not-exist", w.moto.account_id());

    for (arn, expect) in [
        (&star, "grants full administrator access"),
        (&star_star, "grants full administrator access"),
        (&missing, "no such managed policy"),
    ] {
        w.moto.start_recording();
        let out = w
            .test("init")
            .args(["--yes", "--policy-arn", arn])
            .expect_exit(64)
            .run();
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{out:?}");
        assert!(errors[0].contains(expect), "{out:?}");
        assert!(errors[0].contains(arn.as_str()), "{out:?}");
        if expect.contains("administrator") {
            assert!(errors[0].contains("--allow-admin"), "{out:?}");
            assert!(
                errors[0].contains("Everything"),
                "names the statement\n{out:?}"
            );
        }
        assert_eq!(
            w.moto.mutating_calls(),
            vec![],
            "{arn}: nothing may be written"
        );
        // `plan` refuses the same way.
        w.test("plan")
            .args(["--policy-arn", arn])
            .expect_exit(64)
            .run();
    }

    // A broad but not unlimited policy is fine; *:* with --allow-admin goes ahead, loudly.
    w.test("init")
        .args(["--yes", "--policy-arn", &narrow])
        .run();
    let out = w
        .test("init")
        .args(["--yes", "--policy-arn", &star, "--allow-admin"])
        .run();
    assert!(
        out.stderr.contains("warning: --policy-arn") && out.stderr.contains("--allow-admin"),
        "{out:?}"
    );
    assert_eq!(
        aws.attached_policy_arns("bitbucket-pipelines-deploy"),
        vec![star.clone()]
    );
}

#[test]
fn risky_but_valid_settings_are_warned_about_loudly() {
    let w = World::start();
    // No source-IP condition.
    w.test("plan")
        .args(["-q"])
        .expect_stderr_contains("warning: no --source-ip")
        .run();
    // A broad range and a long session.
    w.test("plan")
        .args([
            "-q",
            "--source-ip",
            "10.0.0.0/8",
            "--max-session-duration",
            "43200",
        ])
        .expect_stderr_contains("warning: --source-ip 10.0.0.0/8 is a very broad range")
        .expect_stderr_contains("warning: --max-session-duration 43200")
        .run();
    // Any repository.
    let mut args = vec!["plan".to_string(), "-q".to_string()];
    args.extend(w.flags());
    args.extend(["--workspace-uuid", WORKSPACE_UUID, "--allow-any-repository"].map(String::from));
    Test::new()
        .args(args)
        .expect_stderr_contains("warning: --allow-any-repository: EVERY repository")
        .run();
}

/// The one error line of a text-mode run (the configuration announcement aside).
fn error_line(out: &common::CliOutput) -> String {
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line\n{out:?}");
    errors[0].to_string()
}

/// A probe of `--ip-ranges-url`: name, the document served (null: a body without end), extra
/// flags, the exit code, and what the error line must say.
type RangeProbe = (
    &'static str,
    serde_json::Value,
    &'static [&'static str],
    i32,
    &'static [&'static str],
);

#[test]
fn source_ranges_from_the_url_are_judged_as_one_union_before_any_write() {
    let w = World::start();
    let ranges = |cidrs: &[&str]| {
        json!({"items": cidrs.iter().map(|c| json!({
            "cidr": c, "product": ["bitbucket"], "direction": ["egress"]
        })).collect::<Vec<_>>()})
    };
    let url = format!("{}/ip-ranges", w.issuer.origin());
    let cases: [RangeProbe; 4] = [
        (
            "the document's halves add up to IPv4",
            ranges(&["0.0.0.0/1", "128.0.0.0/1"]),
            &[],
            64,
            &["all of IPv4", "--ip-ranges-url", "0.0.0.0/1, 128.0.0.0/1"],
        ),
        (
            "the document plus a flag add up to IPv4",
            ranges(&["0.0.0.0/1", "104.192.136.0/21"]),
            &["--source-ip", "128.0.0.0/1"],
            64,
            &["all of IPv4", "union is 0.0.0.0/0"],
        ),
        (
            "the document lists ::/0",
            ranges(&["104.192.136.0/21", "::/0"]),
            &[],
            64,
            &["all of IPv6"],
        ),
        (
            "a document that never ends",
            serde_json::Value::Null,
            &[],
            1,
            &["Atlassian IP ranges", "/ip-ranges", "larger than 8 MiB"],
        ),
    ];
    for (name, doc, extra, code, expect) in cases {
        if doc.is_null() {
            w.issuer
                .set_route("/ip-ranges", Response::endless(Framing::Chunked));
        } else {
            w.issuer.set_json("/ip-ranges", 200, &doc);
        }
        w.moto.start_recording();
        let mut args = vec!["--yes", "--source-ip", "bitbucket", "--ip-ranges-url", &url];
        args.extend_from_slice(extra);
        let out = w.test("init").args(&args).expect_exit(code).run();
        let line = error_line(&out);
        for e in expect {
            assert!(line.contains(e), "{name}: lacks {e:?}\n{out:?}");
        }
        assert_eq!(w.moto.mutating_calls(), vec![], "{name}: nothing written");
    }
}

#[test]
fn a_missing_permissions_boundary_is_refused_before_any_write() {
    let w = World::start();
    let missing = format!(
        "arn:aws:iam::{}:policy/no-such-boundary",
        w.moto.account_id()
    );
    let cases: [(&str, &[&str]); 3] = [
        ("init", &["--yes"]),
        ("plan", &[]),
        ("init", &["--yes", "--mode", "cloudformation"]),
    ];
    for (cmd, extra) in cases {
        w.moto.start_recording();
        let mut args = extra.to_vec();
        args.extend(["--permissions-boundary", &missing]);
        let out = w.test(cmd).args(&args).expect_exit(64).run();
        let line = error_line(&out);
        assert!(line.contains(&missing), "names the ARN\n{out:?}");
        assert!(line.contains("--permissions-boundary"), "{out:?}");
        assert!(line.contains("no such managed policy"), "{out:?}");
        assert_eq!(
            w.moto.mutating_calls(),
            vec![],
            "{cmd} {extra:?}: nothing written"
        );
        let stack_calls: Vec<_> = w
            .moto
            .calls()
            .into_iter()
            .filter(|(service, _)| service == "cloudformation")
            .collect();
        assert_eq!(stack_calls, vec![], "{cmd} {extra:?}: no stack call");
    }
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

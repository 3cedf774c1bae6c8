//! The whole outputs users read most, as snapshots (tests/snapshots/outputs): the text and the
//! `--output json` of `plan`, `init` and `status` in the main scenarios of each mode (direct,
//! a CloudFormation stack, a StackSet), so a
//! change to any line shows as a reviewed diff rather than slipping past a `.contains`.
//!
//! What differs from run to run is normalised before the comparison ([`normalise`]): the
//! ports of moto and the issuer, the temporary CA bundle path, the thumbprints of the
//! certificates generated for each test, UUIDs AWS generates (stack ids), times, and the
//! `aws_calls` trace of a JSON document (kept as the operations called, mutating and read
//! apart). After an intended change (or a merge that changes an output), accept the new
//! outputs with `INSTA_UPDATE=always cargo test --test cli outputs::` and review the diff.

use crate::cloudformation_stackset::{stackset, A, B, SET};
use crate::common::fixture::{World, ENV_UUID, REPO_UUID, ROLE, WORKSPACE_UUID};
use crate::common::CliOutput;
use serde_json::{json, Value};

/// `--mode cloudformation` and `extra`.
fn cfn<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["--mode", "cloudformation"];
    a.extend_from_slice(extra);
    a
}

/// `--output json` and `extra`.
fn json<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["--output", "json"];
    a.extend_from_slice(extra);
    a
}

/// Run `bootstrap CMD <setup flags> EXTRA` in `w` and compare its exit code and whole stdout
/// with the snapshot `name` (the snapshot pins the exit code).
fn check(w: &World, name: &str, cmd: &str, extra: &[&str]) {
    let out = w.test(cmd).args(extra).any_exit().run();
    let line = format!("bootstrap {cmd} {}", extra.join(" "));
    snapshot(name, line.trim_end(), w, &out);
}

/// Run `bootstrap CMD` against the StackSet of `cloudformation_stackset.rs` (two accounts)
/// and compare its exit code and whole stdout with the snapshot `name`.
fn check_stackset(w: &World, name: &str, cmd: &str, extra: &[&str]) {
    let accounts = format!("{A},{B}");
    let out = stackset(w, cmd, &accounts, extra).any_exit().run();
    let line = format!(
        "bootstrap {cmd} --stackset {SET} --accounts {accounts} --regions eu-west-1 {}",
        extra.join(" ")
    );
    snapshot(name, line.trim_end(), w, &out);
}

fn snapshot(name: &str, description: &str, w: &World, out: &CliOutput) {
    let code = out.code.map_or("signal".to_string(), |c| c.to_string());
    // insta trims trailing whitespace; the last newline is pinned here.
    assert!(
        out.stdout.ends_with('\n') && !out.stdout.ends_with("\n\n"),
        "{description}: stdout ends in one newline\n{out:?}"
    );
    let stdout = match serde_json::from_str::<Value>(&out.stdout) {
        Ok(doc) => json_document(description, &out.stdout, doc),
        Err(_) => out.stdout.clone(),
    };
    let text = format!("exit code: {code}\n{}", normalise(w, &stdout));
    insta::with_settings!({
        snapshot_path => "../snapshots/outputs",
        prepend_module_to_snapshot => false,
        description => description,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// A `--output json` document (pretty-printed, as the tool prints it) with what depends on
/// timing replaced: the trace of AWS calls (their order and times vary with concurrency,
/// their count with retries) keeps the operations called, once each, mutating and read
/// apart; an event's clock time goes.
fn json_document(description: &str, stdout: &str, mut doc: Value) -> String {
    assert!(
        stdout.starts_with("{\n  \""),
        "{description}: pretty-printed JSON"
    );
    untime(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

fn untime(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    "aws_calls" => *value = calls_summary(value),
                    "time" if value.is_string() => *value = json!("[TIME]"),
                    _ => untime(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(untime),
        _ => {}
    }
}

/// `{"mutating": ["IAM CreateRole", ...], "read": [...]}`: each sorted, each operation once.
fn calls_summary(calls: &Value) -> Value {
    let operations = |mutating: bool| {
        let mut ops: Vec<String> = calls["calls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["mutating"] == mutating)
            .map(|c| format!("{} {}", str_of(&c["service"]), str_of(&c["operation"])))
            .collect();
        ops.sort();
        ops.dedup();
        ops
    };
    json!({ "mutating": operations(true), "read": operations(false) })
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// `text` with what differs between runs replaced by a placeholder in brackets.
fn normalise(w: &World, text: &str) -> String {
    let mut t = text
        .replace(&w.issuer.url(), "https://[ISSUER]")
        .replace(&w.issuer.host_path(), "[ISSUER]")
        .replace(&w.moto.endpoint(), "http://[MOTO]")
        .replace(&w.pki.ca_bundle_arg(), "[CA_BUNDLE]");
    // The fixed UUIDs of the fixture stay readable; any other one was generated.
    let fixed = [WORKSPACE_UUID, REPO_UUID, ENV_UUID].map(|u| u.trim_matches(['{', '}']));
    t = mask(&t, "[UUID]", |w| is_uuid(w) && !fixed.contains(&w));
    t = mask(&t, "[THUMBPRINT]", |w| {
        w.len() == 40 && w.chars().all(|c| c.is_ascii_hexdigit())
    });
    t = mask_times(&t);
    t
}

fn is_uuid(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Each maximal run of ASCII letters, digits and dashes for which `hit` holds, replaced.
fn mask(text: &str, placeholder: &str, hit: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if hit(word) {
            out.push_str(placeholder);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// RFC 3339 times (`2026-12-07T17:41:08Z`, `...08.123+00:00`), replaced by `[TIME]`.
fn mask_times(text: &str) -> String {
    let b = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let fits = b.len() - i >= shape.len()
            && shape.iter().zip(&b[i..]).all(|(s, c)| match s {
                b'd' => c.is_ascii_digit(),
                s => s == c,
            });
        if !fits {
            let c = text[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        i += shape.len();
        // Fractional seconds and the offset belong to the time.
        while i < b.len() && (b[i].is_ascii_digit() || b".Z+:".contains(&b[i])) {
            i += 1;
        }
        out.push_str("[TIME]");
    }
    out
}

/// Lengthen the role's sessions out of band: drift `status` reports.
fn lengthen_sessions(w: &World) {
    let aws = w.clients();
    let update = aws
        .iam
        .update_role()
        .role_name(ROLE)
        .max_session_duration(7200);
    aws.block_on(update.send()).unwrap();
}

#[test]
fn direct_mode_plan_init_rerun_and_status_whole() {
    let w = World::start();
    check(&w, "direct-plan-fresh", "plan", &[]);
    check(&w, "direct-plan-fresh-json", "plan", &json(&[]));
    check(&w, "direct-init", "init", &["--yes"]);
    check(&w, "direct-plan-rerun", "plan", &["--detailed-exitcode"]);
    check(&w, "direct-plan-rerun-json", "plan", &json(&[]));
    check(
        &w,
        "direct-status-in-sync",
        "status",
        &["--detailed-exitcode"],
    );
    check(&w, "direct-status-in-sync-json", "status", &json(&[]));
    lengthen_sessions(&w);
    check(
        &w,
        "direct-status-drifted",
        "status",
        &["--detailed-exitcode"],
    );
    let drifted = json(&["--detailed-exitcode"]);
    check(&w, "direct-status-drifted-json", "status", &drifted);
}

#[test]
fn direct_mode_init_json_whole() {
    let w = World::start();
    check(&w, "direct-init-json", "init", &json(&["--yes"]));
}

#[test]
fn cloudformation_stack_plan_init_and_status_whole() {
    let w = World::start();
    check(&w, "stack-plan-fresh", "plan", &cfn(&[]));
    check(&w, "stack-plan-fresh-json", "plan", &cfn(&json(&[])));
    check(
        &w,
        "stack-status-missing",
        "status",
        &cfn(&["--detailed-exitcode"]),
    );
    check(&w, "stack-init", "init", &cfn(&["--yes"]));
    check(
        &w,
        "stack-plan-rerun",
        "plan",
        &cfn(&["--detailed-exitcode"]),
    );
    check(
        &w,
        "stack-status-in-sync",
        "status",
        &cfn(&["--detailed-exitcode"]),
    );
    let in_sync = cfn(&json(&["--detailed-exitcode"]));
    check(&w, "stack-status-in-sync-json", "status", &in_sync);
}

#[test]
fn cloudformation_stack_init_json_whole() {
    let w = World::start();
    check(&w, "stack-init-json", "init", &cfn(&json(&["--yes"])));
}

#[test]
fn stackset_plan_init_and_status_whole() {
    let w = World::start();
    check_stackset(&w, "stackset-plan-fresh", "plan", &[]);
    check_stackset(&w, "stackset-plan-fresh-json", "plan", &json(&[]));
    check_stackset(&w, "stackset-init", "init", &["--yes"]);
    let rerun = ["--detailed-exitcode"];
    check_stackset(&w, "stackset-plan-rerun", "plan", &rerun);
    check_stackset(&w, "stackset-status-in-sync", "status", &rerun);
    let in_sync = json(&["--detailed-exitcode"]);
    check_stackset(&w, "stackset-status-in-sync-json", "status", &in_sync);
}

#[test]
fn stackset_init_json_whole() {
    let w = World::start();
    check_stackset(&w, "stackset-init-json", "init", &json(&["--yes"]));
}

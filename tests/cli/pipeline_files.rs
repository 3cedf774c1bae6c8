//! The files `bootstrap pipeline` writes and how: the sample configuration drives them,
//! existing ones are kept without `--force`, the JSON output is one document, the account
//! comes from STS, no generated value reaches a script line, shell in values is
//! refused and links in the out dir are never followed.

use crate::common::fixture::{World, ENV_UUID};
use crate::common::Test;
use crate::pipeline::{out_dir, pipeline, read_yaml, script, valid_pipeline_in, ACCOUNT};
use crate::pipeline_backend::attrs;
use serde_norway::Value as Yaml;
use std::path::Path;

/// The sample examples/bootstrap.toml, as a user would use it: `--config` and nothing else
/// but the command-only flags.
#[test]
fn the_sample_config_drives_the_generated_files() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bootstrap.toml");
    let dir = out_dir();
    let out = Test::new()
        .args(
            [
                "pipeline",
                "--config",
                &sample.display().to_string(),
                "--out-dir",
                &dir.path().display().to_string(),
                "--account-id",
                ACCOUNT,
            ]
            .map(String::from)
            .to_vec(),
        )
        .check(valid_pipeline_in(dir.path()))
        .run();
    // Offline (--account-id), the tool cannot look for a bucket of an earlier version: it
    // says which name such an account uses.
    assert!(
        out.stderr.contains(&format!(
            "pass --state-bucket terraform-state-{ACCOUNT}-eu-west-1 for it"
        )),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!(
            "AWS_ROLE_ARN = arn:aws:iam::{ACCOUNT}:role/bitbucket-pipelines-deploy"
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("AWS_REGION   = eu-west-1"), "{out:?}");
    let a = attrs(&std::fs::read_to_string(dir.path().join("backend.tf")).unwrap());
    let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("bucket"),
        Some(format!("\"terraform-state-{ACCOUNT}-eu-west-1-an\""))
    );
    assert_eq!(
        get("dynamodb_table").as_deref(),
        Some("\"terraform-state-lock\"")
    );
}

#[test]
fn existing_files_are_kept_without_force() {
    let dir = out_dir();
    let yml = dir.path().join("bitbucket-pipelines.yml");
    std::fs::write(&yml, "# mine\n").unwrap();
    let out = pipeline(dir.path(), &[]).run();
    assert_eq!(
        std::fs::read_to_string(&yml).unwrap(),
        "# mine\n",
        "an existing pipeline is never replaced without --force"
    );
    assert!(dir.path().join("backend.tf").exists(), "{out:?}");
    // What would have been written is shown, to merge in.
    assert!(
        out.stdout
            .contains("bitbucket-pipelines.yml exists, so it was left as it is"),
        "{out:?}"
    );
    assert!(out.stdout.contains("  definitions:"), "{out:?}");
    assert!(out.stdout.contains("  pipelines:"), "{out:?}");
    assert!(out.stdout.contains("--force replaces it"), "{out:?}");
    assert!(
        out.stdout
            .contains("give each of these steps `image: hashicorp/terraform:"),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains(&format!("wrote {}", yml.display())),
        "{out:?}"
    );

    // Both exist: nothing is written, both are shown; the JSON document says which.
    let backend = dir.path().join("backend.tf");
    std::fs::write(&backend, "# my backend\n").unwrap();
    let out = pipeline(dir.path(), &["--output", "json"]).run();
    let doc = out.json();
    assert_eq!(doc["files"], serde_json::json!([]), "{out:?}");
    let kept = doc["kept"].as_array().expect("kept");
    assert_eq!(kept.len(), 2, "{out:?}");
    assert!(kept[1]["content"]
        .as_str()
        .unwrap()
        .contains("backend \"s3\""));
    assert_eq!(std::fs::read_to_string(&backend).unwrap(), "# my backend\n");

    pipeline(dir.path(), &["--force"]).run();
    assert_ne!(std::fs::read_to_string(&yml).unwrap(), "# mine\n");
    assert_ne!(std::fs::read_to_string(&backend).unwrap(), "# my backend\n");
}

#[test]
fn json_output_is_one_document() {
    let dir = out_dir();
    let out = pipeline(dir.path(), &["--output", "json", "--no-lock-table"]).run();
    let doc = out.json();
    assert_eq!(
        doc["variables"]["AWS_ROLE_ARN"],
        format!("arn:aws:iam::{ACCOUNT}:role/bitbucket-pipelines-deploy")
    );
    assert_eq!(doc["variables"]["AWS_REGION"], "eu-west-1");
    assert_eq!(doc["variables"]["scope"], "repository");
    assert!(doc["lock_table"].is_null());
    // --account-id given: no AWS call at all.
    assert_eq!(doc["aws_calls"]["total"], 0);
}

#[test]
fn account_comes_from_sts_without_account_id() {
    let w = World::start();
    let dir = out_dir();
    let mut args = vec![
        "pipeline".to_string(),
        "--out-dir".into(),
        dir.path().display().to_string(),
    ];
    args.extend(w.setup_flags());
    Test::new()
        .args(args)
        .check(valid_pipeline_in(dir.path()))
        .expect_stdout_contains(format!(
            "AWS_ROLE_ARN = arn:aws:iam::{}:role/bitbucket-pipelines-deploy",
            w.moto.account_id()
        ))
        .run();
    let backend = std::fs::read_to_string(dir.path().join("backend.tf")).unwrap();
    assert!(backend.contains("\"tf-state-test\""), "{backend}");
}

/// Every script line of every step in the generated pipeline.
fn all_script_lines(doc: &Yaml) -> Vec<String> {
    doc["definitions"]["steps"]
        .as_sequence()
        .expect("definitions.steps")
        .iter()
        .flat_map(|s| script(&s["step"]))
        .collect()
}

#[test]
fn no_generated_value_reaches_a_script_line() {
    let dir = out_dir();
    let deployment = "Prod eu-1.x";
    let branch = "release/*";
    pipeline(
        dir.path(),
        &[
            "--environment-uuid",
            ENV_UUID,
            "--deployment",
            deployment,
            "--branch",
            branch,
            "--role-name",
            "deployer.prod",
            "--audience",
            "sts.amazonaws.com",
        ],
    )
    .run();
    let doc = read_yaml(dir.path());
    // The values are where they belong, exactly as given...
    let stage = doc["pipelines"]["branches"][branch]
        .as_sequence()
        .expect("the branch pipeline, keyed by the pattern")
        .iter()
        .find_map(|i| i.get("stage"))
        .expect("a deployment stage");
    assert_eq!(stage["deployment"].as_str(), Some(deployment));
    // ...and in no script line, where a shell would read them.
    let lines = all_script_lines(&doc);
    assert!(lines.len() >= 8, "{lines:?}");
    for value in [
        deployment,
        branch,
        "deployer.prod",
        ACCOUNT,
        "eu-west-1",
        "sts.amazonaws.com",
    ] {
        for line in &lines {
            assert!(
                !line.contains(value),
                "{value:?} in the script line {line:?}"
            );
        }
    }
}

#[test]
fn shell_in_values_and_branch_patterns_for_every_branch_are_refused() {
    let cases: [(&[&str], &[&str]); 9] = [
        (
            &["--deployment", "Prod$(touch x)"],
            &["--deployment", "letters, digits"],
        ),
        (&["--deployment", "Prod`touch x`"], &["--deployment"]),
        (&["--deployment", "Prod\"; touch x; \""], &["--deployment"]),
        (&["--branch", "**"], &["--branch", "matches every branch"]),
        (&["--branch", "*"], &["--branch", "matches every branch"]),
        (&["--branch", "**/*"], &["--branch", "matches every branch"]),
        (
            &["--branch", "{main,**}"],
            &["--branch", "matches every branch"],
        ),
        (&["--branch", "main$(touch x)"], &["--branch", "glob"]),
        (&["--branch", "main: {x: 1}"], &["--branch"]),
    ];
    for (extra, expect) in cases {
        let dir = out_dir();
        let mut args = vec!["--environment-uuid", ENV_UUID];
        if !extra.contains(&"--deployment") {
            args.extend(["--deployment", "Production"]);
        }
        args.extend_from_slice(extra);
        let out = pipeline(dir.path(), &args).expect_exit(64).run();
        let line = out.stderr.trim();
        assert_eq!(line.lines().count(), 1, "{out:?}");
        for e in expect {
            assert!(line.contains(e), "{extra:?}: lacks {e:?}\n{out:?}");
        }
        let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(written.is_empty(), "{extra:?}: nothing may be written");
    }
}

#[test]
fn links_in_the_out_dir_are_never_followed() {
    let dir = out_dir();
    let victim = dir.path().join("victim.txt");
    for (name, dangling) in [("bitbucket-pipelines.yml", true), ("backend.tf", false)] {
        if !dangling {
            std::fs::write(&victim, "keep me\n").unwrap();
        }
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for force in [false, true] {
            pipeline(dir.path(), if force { &["--force"] } else { &[] })
                .expect_exit(64)
                .expect_stderr_contains("is a symbolic link")
                .expect_stderr_contains(name)
                .run();
        }
        if dangling {
            assert!(!victim.exists(), "a dangling link was followed");
        } else {
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
        }
        std::fs::remove_file(&link).unwrap();
    }
    // Without links, the files are written (and are regular files).
    pipeline(dir.path(), &[]).run();
    for name in ["bitbucket-pipelines.yml", "backend.tf"] {
        let meta = std::fs::symlink_metadata(dir.path().join(name)).unwrap();
        assert!(meta.is_file(), "{name}");
    }
}

//! Terraform through one pipeline across two accounts: the `terraform init
//! -backend-config=...` line of its steps, run as a step runs it with each environment's
//! deployment variables, keeps each environment's state in that account's own bucket.

use crate::common::fixture::World;
use crate::common::Test;
use crate::terraform::{local_backend, require_terraform, MAIN_TF};
use serde_json::Value;
use std::process::{Command, Stdio};

// --- A pipeline across accounts -------------------------------------------------------------

/// One pipeline across two accounts: the `terraform init -backend-config=...` line of its
/// steps, run as a step runs it with each environment's deployment variables, keeps each
/// environment's state in that account's own bucket.
#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn each_stage_of_a_pipeline_across_accounts_keeps_its_state_in_its_own_bucket() {
    use crate::common::fixture::{REPO_UUID, WORKSPACE_UUID};

    require_terraform();
    let dir = tempfile::Builder::new()
        .prefix("tf-multi-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let accounts = [
        ("Staging", World::start(), "tf-state-staging"),
        ("Production", World::start(), "tf-state-prod"),
    ];
    let mut deployments = Vec::new();
    for (name, w, bucket) in &accounts {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "endpoint-url = \"{}\"\nregion = \"us-east-1\"\nissuer-url = \"{}\"\nca-bundle = \"{}\"\nworkspace-uuid = \"{WORKSPACE_UUID}\"\nrepository-uuid = [\"{REPO_UUID}\"]\nstate-bucket = \"{bucket}\"\nrole-name = \"{}-deploy\"\n",
                w.moto.endpoint(),
                w.issuer.url(),
                w.pki.ca_bundle_arg(),
                name.to_lowercase()
            ),
        )
        .unwrap();
        let config_arg = config.display().to_string();
        Test::new()
            .args(["init", "--config", config_arg.as_str(), "--yes", "-q"])
            .run();
        // The TLS-only bucket statement: see the first test (moto denies on it regardless).
        let aws = w.clients();
        aws.block_on(aws.s3.delete_bucket_policy().bucket(*bucket).send())
            .unwrap();
        deployments.push(format!("{name}={config_arg}"));
    }
    let repo = dir.path().join("repo");
    let repo_arg = repo.display().to_string();
    let mut args = vec![
        "pipeline",
        "--out-dir",
        repo_arg.as_str(),
        "--output",
        "json",
    ];
    for d in &deployments {
        args.extend(["--deployment", d.as_str()]);
    }
    let out = Test::new().args(args).run();
    let doc = out.json();
    let pipeline = std::fs::read_to_string(repo.join("bitbucket-pipelines.yml")).unwrap();
    let init_line = pipeline
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("- terraform init -input=false -backend-config"))
        .expect("the steps' terraform init line")
        .trim_start_matches("- ")
        .to_string();

    for (i, (name, w, bucket)) in accounts.iter().enumerate() {
        let env = &doc["environments"][i];
        assert_eq!(env["name"], *name, "{doc}");
        let vars: Vec<(String, String)> = env["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                (
                    kv[0].as_str().unwrap().to_string(),
                    kv[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let work = dir.path().join(format!("work-{name}"));
        std::fs::create_dir_all(work.join("home")).unwrap();
        std::fs::copy(repo.join("backend.tf"), work.join("backend.tf")).unwrap();
        std::fs::write(work.join("main.tf"), MAIN_TF).unwrap();
        std::fs::write(
            work.join("local.s3.tfbackend"),
            local_backend(&w.moto.endpoint()),
        )
        .unwrap();
        // The step's own line, with what only a local AWS needs added.
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!(
                "{init_line} -backend-config=local.s3.tfbackend -no-color && terraform apply -auto-approve -input=false -no-color"
            ))
            .current_dir(&work)
            .env_clear()
            .env("HOME", work.join("home"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        if let Some(path) = std::env::var_os("PATH") {
            sh.env("PATH", path);
        }
        let run = sh.output().expect("run the step's terraform lines");
        assert!(
            run.status.success(),
            "{name}: {init_line}\n{}\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        let key = vars
            .iter()
            .find(|(k, _)| k == "TF_STATE_KEY")
            .map(|(_, v)| v.clone())
            .unwrap();
        let aws = w.clients();
        let object = aws
            .block_on(aws.s3.get_object().bucket(*bucket).key(&key).send())
            .unwrap_or_else(|e| panic!("{name}: no state at s3://{bucket}/{key}: {e:?}"));
        let body = aws.block_on(object.body.collect()).unwrap().into_bytes();
        let state: Value = serde_json::from_slice(&body).expect("the state is JSON");
        assert_eq!(
            state["outputs"]["hello"]["value"],
            "state kept by bootstrap in default"
        );
    }
}

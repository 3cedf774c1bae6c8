//! What a careful user trips over: `--profile` beside credentials in the environment, a
//! setting written after `[tags]`, a key misspelt, `init`'s next steps for roles limited to
//! environments, hints that would replace a file's list, and a run that waits silently.

use std::path::{Path, PathBuf};

use crate::common::fixture::{World, ENV_UUID, REPO_UUID, WORKSPACE_UUID};
use crate::common::{bitbucket_claims, fake_uuid, mint_token, Test};
use crate::roles::{three_roles, with_config};

const PROFILE_KEY: &str = "AKIAPROFILE000000001";

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
}

/// A HOME whose ~/.aws holds the profile `deploy` (region in config, keys in credentials).
fn home_with_profile() -> tempfile::TempDir {
    let home = temp_dir();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(aws.join("config"), "[profile deploy]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[deploy]\naws_access_key_id = {PROFILE_KEY}\naws_secret_access_key = profile-secret\n"
        ),
    )
    .unwrap();
    home
}

/// The access key ids the recorded AWS requests were signed with.
fn signing_keys(w: &World) -> Vec<String> {
    let mut keys: Vec<String> = w
        .moto
        .recorded_requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(ToString::to_string))
        .filter_map(|auth| {
            let rest = auth.split("Credential=").nth(1)?;
            Some(rest.split('/').next()?.to_string())
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn profile_wins_over_credentials_in_the_environment() {
    let w = World::start();
    let home = home_with_profile();
    w.moto.start_recording();
    // The harness's environment holds AWS_ACCESS_KEY_ID=testing.
    w.test("plan")
        .args(["--profile", "deploy"])
        .home(home.path())
        .run();
    assert_eq!(signing_keys(&w), vec![PROFILE_KEY.to_string()]);

    // Without --profile the environment's credentials are used, as before.
    w.moto.start_recording();
    w.test("plan").home(home.path()).run();
    assert_eq!(signing_keys(&w), vec!["testing".to_string()]);
}

#[test]
fn an_unknown_profile_is_refused_before_any_aws_call() {
    let w = World::start();
    let home = home_with_profile();
    w.moto.start_recording();
    w.test("plan")
        .args(["--profile", "nosuch"])
        .home(home.path())
        .expect_exit(64)
        .expect_stderr_contains("--profile nosuch: no such profile")
        .expect_stderr_contains("there are: deploy")
        .run();
    assert!(
        w.moto.recorded_requests().is_empty(),
        "an AWS call was made"
    );
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("bootstrap.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_setting_after_a_tags_table_is_refused_not_made_a_tag() {
    let w = World::start();
    let dir = temp_dir();
    let config = write(
        dir.path(),
        "[tags]\nteam = \"infra\"\nregion = \"eu-west-1\"\n",
    );
    w.test("plan")
        .args(["--config", &config.display().to_string()])
        .expect_exit(64)
        .expect_stderr_contains("line 3: `region` is a setting")
        .expect_stderr_contains("move `region = ...` above the first [table]")
        .expect_no_writes()
        .run();

    // A role's own tags: a role setting after [role.tags] is refused the same way.
    let config = write(
        dir.path(),
        &format!(
            "[[role]]\nname = \"deploy\"\nrepository-uuid = [\"{REPO_UUID}\"]\n[role.tags]\nteam = \"infra\"\naccess = \"plan\"\n"
        ),
    );
    with_config(&w, "plan", &config)
        .expect_exit(64)
        .expect_stderr_contains("`access` is a setting")
        .expect_stderr_contains("[role.tags]")
        .run();
}

#[test]
fn an_unknown_key_names_the_closest_one_only() {
    let dir = temp_dir();
    let config = write(dir.path(), "statebucket = \"x\"\n");
    Test::new()
        .args(["plan", "--config", &config.display().to_string()])
        .expect_exit(64)
        .expect_stderr_contains("unknown key `statebucket`; did you mean `state-bucket`?")
        .expect_stderr_lacks("`noncurrent-days`")
        .run();
}

#[test]
fn init_next_steps_for_a_role_limited_to_an_environment() {
    let w = World::start();
    let out = w
        .test("init")
        .args(["--yes", "--environment-uuid", ENV_UUID])
        .run();
    let next = &out.stdout[out.stdout.find("Next:").expect("a Next: block")..];
    assert!(
        next.contains("deployment variables of the environment"),
        "{next}"
    );
    assert!(next.contains("Repository settings > Deployments"), "{next}");
    assert!(!next.contains("repository variables"), "{next}");
    assert!(next.contains("deployment: ENVIRONMENT-NAME"), "{next}");
    assert!(next.contains("bootstrap pipeline --out-dir"), "{next}");

    // A role of every step: repository variables, and no deployment in the step.
    let w = World::start();
    let out = w.test("init").args(["--yes"]).run();
    let next = &out.stdout[out.stdout.find("Next:").expect("a Next: block")..];
    assert!(next.contains("repository variables"), "{next}");
    assert!(!next.contains("deployment:"), "{next}");
    assert!(next.contains("bootstrap pipeline --out-dir"), "{next}");
}

#[test]
fn init_next_steps_speak_of_each_role() {
    let w = World::start_with_managed_policies();
    let dir = temp_dir();
    let config = three_roles(&dir);
    let out = with_config(&w, "init", &config).args(["--yes"]).run();
    let next = &out.stdout[out.stdout.find("Next:").expect("a Next: block")..];
    let line = |name: &str| {
        next.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}\n{next}"))
            .to_string()
    };
    assert!(line("infra-plan").contains("repository variable"), "{next}");
    assert!(
        line("infra-apply").contains(&format!("deployment variable of environment {ENV_UUID}")),
        "{next}"
    );
    assert!(line("app-cdk").contains("repository variable"), "{next}");
    assert!(next.contains("Give each step that deploys"), "{next}");
    assert!(
        next.contains("bootstrap pipeline --out-dir DIR --role NAME"),
        "{next}"
    );
}

#[test]
fn a_verify_hint_speaks_of_the_file_in_use() {
    let w = World::start();
    let dir = temp_dir();
    let config = write(
        dir.path(),
        &format!("workspace-uuid = \"{WORKSPACE_UUID}\"\nrepository-uuid = [\"{REPO_UUID}\"]\n"),
    );
    let other = fake_uuid(42);
    let claims = bitbucket_claims(
        &w.issuer.url(),
        &format!("ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}"),
        &other,
        "{5e1d7c3b-4444-4f6a-8b9c-0a1b2c3d4e5f}",
        None,
    );
    let token = dir.path().join("token.jwt");
    std::fs::write(&token, mint_token(&w.issuer, claims)).unwrap();
    Test::new()
        .arg("verify")
        .args(w.flags())
        .args([
            "--offline",
            "--token",
            &token.display().to_string(),
            "--config",
            &config.display().to_string(),
        ])
        .expect_exit(3)
        .expect_stdout_contains(format!(
            "add {other} to repository-uuid in {}",
            config.display()
        ))
        .expect_stdout_lacks("add --repository-uuid")
        .run();
}

#[test]
fn a_table_creating_wait_is_told_on_stderr_unless_quiet() {
    // At a quarter of real-world time the table is CREATING for 1.5 s: the first look comes
    // well within it even on a loaded machine (at the default scale it is 0.12 s).
    let w = World::start_at_scale("0.25");
    w.test("init")
        .args(["--yes"])
        .expect_stderr_contains(
            "waiting for lock table terraform-state-lock to become ACTIVE (CREATING",
        )
        .run();
    let w = World::start();
    w.test("init")
        .args(["--yes", "-q"])
        .expect_stderr_lacks("waiting for")
        .run();
}

#[test]
fn help_lists_only_what_applies_to_each_command() {
    for (cmd, absent) in [
        (
            "pipeline",
            &[
                "--allow-admin",
                "--noncurrent-days",
                "--tag",
                "--policy-arn",
                "--ip-ranges-url",
            ][..],
        ),
        (
            "operator-policy",
            &[
                "--allow-admin",
                "--noncurrent-days",
                "--tag",
                "--max-session-duration",
            ][..],
        ),
        (
            "destroy",
            &[
                "--allow-admin",
                "--noncurrent-days",
                "--tag",
                "--repository-uuid",
                "--kms-key",
                "--stackset",
            ][..],
        ),
    ] {
        let out = Test::new().bare_env().args([cmd, "--help"]).run();
        for flag in absent {
            let listed = out.stdout.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("{flag} ")) || l == *flag
            });
            assert!(!listed, "{cmd} --help lists {flag}\n{out:?}");
        }
        let man = Test::new().bare_env().args(["man", cmd]).run();
        assert!(
            !man.stdout.contains("\\-\\-version"),
            "man {cmd} lists -V\n{man:?}"
        );
    }
    // The defaults of --output and --color are shown.
    Test::new()
        .bare_env()
        .args(["plan", "--help"])
        .expect_stdout_contains("[default: text]")
        .expect_stdout_contains("[default: auto]")
        .run();
    // The unlisted flags are still accepted, so one command line serves init and destroy.
    let w = World::start();
    w.test("destroy")
        .args([
            "--yes",
            "--tag",
            "team=infra",
            "--allow-admin",
            "--noncurrent-days",
            "30",
        ])
        .run();
}

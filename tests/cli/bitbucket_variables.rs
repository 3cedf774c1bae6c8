//! The pipeline's variables in Bitbucket (the local Bitbucket API of `bitbucket.rs`):
//! `pipeline --set-variables` sets what each place needs and nothing else, `status` reports
//! them missing, in sync or drifted, and one pipeline promotes through two accounts.

use crate::bitbucket::{by_names, by_uuids, Bb, WORKSPACE};
use crate::common::bitbucket::TOKEN;
use crate::common::Test;

/// The pipeline's variables, set for the plan/apply pair of [`by_names`].
#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn pipeline_set_variables_sets_what_each_place_needs_touches_nothing_else_and_reruns_without_a_write(
) {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    bb.api.add_variable("infra", None, "OTHER", "kept", false);
    bb.api
        .add_variable("infra", None, "AWS_REGION", "eu-west-1", false);
    bb.api.add_variable(
        "infra",
        Some("Staging"),
        "AWS_ROLE_ARN",
        "staging-role",
        false,
    );
    let out_dir = bb.dir.path().join("repo");
    let account = "210987654321";
    let pipeline = |extra: &[&str]| {
        bb.test("pipeline", &names)
            .args(["--out-dir", &out_dir.display().to_string(), "--force"])
            .args(["--account-id", account, "--deployment", "Production"])
            .args(extra.iter().copied())
    };
    // Without a terminal and without --yes, nothing is written.
    pipeline(&["--set-variables"])
        .expect_exit(64)
        .expect_stderr_contains("+ infra deployment variable of Production AWS_ROLE_ARN")
        .expect_stderr_contains("~ infra repository variable AWS_REGION: eu-west-1 -> us-east-1")
        .run();
    assert!(bb.api.writes().is_empty());

    let out = pipeline(&["--set-variables", "--yes"]).run();
    let plan = format!("arn:aws:iam::{account}:role/infra-plan");
    let apply = format!("arn:aws:iam::{account}:role/infra-apply");
    let pair = |arn: &str, region: Option<&str>| {
        let mut v = vec![("AWS_ROLE_ARN".to_string(), arn.to_string())];
        if let Some(r) = region {
            v.push(("AWS_REGION".to_string(), r.to_string()));
        }
        v
    };
    let mut infra = pair(&plan, Some("us-east-1"));
    infra.push(("OTHER".into(), "kept".into()));
    infra.sort();
    assert_eq!(bb.api.variables("infra", None), infra, "{out:?}");
    let mut net = pair(&plan, Some("us-east-1"));
    net.sort();
    assert_eq!(bb.api.variables("platform-network", None), net);
    assert_eq!(
        bb.api.variables("infra", Some("Production")),
        pair(&apply, None)
    );
    // Another environment's variable and the other repository's environments: untouched.
    assert_eq!(
        bb.api.variables("infra", Some("Staging")),
        pair("staging-role", None)
    );
    assert!(bb
        .api
        .variables("platform-network", Some("Production"))
        .is_empty());
    let written = bb.api.writes();
    assert_eq!(written.len(), 5, "{written:#?}");
    assert!(written.iter().any(|w| w.method == "PUT"), "{written:#?}");

    // A re-run changes nothing in Bitbucket.
    bb.api.clear_log();
    let again = pipeline(&["--set-variables", "--yes", "--output", "json"]).run();
    assert!(bb.api.writes().is_empty(), "{:#?}", bb.api.writes());
    let doc = again.json();
    let states = doc["bitbucket_variables"]
        .as_array()
        .expect("variables")
        .clone();
    assert_eq!(states.len(), 5, "{doc}");
    assert!(states.iter().all(|s| s["action"] == "in_sync"), "{doc}");
    bb.api.assert_conforms();

    // Without credentials (and without names), --set-variables names what to set.
    let uuids = bb.config("uuids.toml", &by_uuids(&bb.api));
    bb.bare("pipeline", &uuids)
        .args(["--out-dir", &out_dir.display().to_string(), "--force"])
        .args([
            "--account-id",
            account,
            "--deployment",
            "Production",
            "--set-variables",
        ])
        .args(["--workspace", WORKSPACE])
        .expect_exit(64)
        .expect_stderr_contains("--set-variables needs Bitbucket credentials")
        .expect_stderr_contains("BITBUCKET_TOKEN")
        .run();
}

#[test]
fn status_reports_the_bitbucket_variables_missing_in_sync_and_drifted() {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    bb.test("init", &names).arg("--yes").run();
    let status = || bb.test("status", &names).arg("--detailed-exitcode");
    status()
        .expect_exit(2)
        .expect_stdout_contains("variable      missing   infra repository AWS_ROLE_ARN")
        .expect_stdout_contains("variable      missing   infra deployment Production AWS_ROLE_ARN")
        .expect_stdout_contains("run `bootstrap pipeline --set-variables`")
        .expect_no_writes()
        .run();
    let out_dir = bb.dir.path().join("repo");
    bb.test("pipeline", &names)
        .args(["--out-dir", &out_dir.display().to_string()])
        .args([
            "--account-id",
            bb.w.moto.account_id(),
            "--deployment",
            "Production",
        ])
        .args(["--set-variables", "--yes"])
        .run();
    bb.api.clear_log();
    status()
        .expect_stdout_contains("variable      in sync   platform-network repository AWS_REGION")
        .expect_stdout_contains("everything is in sync")
        .expect_no_writes()
        .run();
    assert!(bb.api.writes().is_empty());
    // Someone points the production deployment at another role.
    bb.api.edit_variable(
        "infra",
        Some("Production"),
        "AWS_ROLE_ARN",
        "arn:aws:iam::111111111111:role/other",
    );
    status()
        .expect_exit(2)
        .expect_stdout_contains("variable      drifted   infra deployment Production AWS_ROLE_ARN")
        .expect_stdout_contains(
            "value: is arn:aws:iam::111111111111:role/other, should be arn:aws:iam::",
        )
        .expect_stdout_lacks("everything is in sync")
        .run();
    // Without credentials, status is what it always was.
    bb.bare("status", &bb.config("uuids.toml", &by_uuids(&bb.api)))
        .expect_stdout_lacks("variable ")
        .run();
    bb.api.assert_conforms();
}

#[test]
fn status_does_not_report_missing_the_variables_pipeline_put_in_a_deployment_it_cannot_know() {
    let bb = Bb::start();
    let one = bb.config(
        "one.toml",
        &format!("workspace = \"{WORKSPACE}\"\n\n[[role]]\nname = \"deploy\"\nrepository = [\"infra\"]\n"),
    );
    bb.test("init", &one).arg("--yes").run();
    let out_dir = bb.dir.path().join("repo");
    bb.test("pipeline", &one)
        .args(["--out-dir", &out_dir.display().to_string()])
        .args(["--account-id", bb.w.moto.account_id()])
        .args(["--deployment", "Production", "--set-variables", "--yes"])
        .run();
    assert!(!bb.api.variables("infra", Some("Production")).is_empty());
    bb.test("status", &one)
        .arg("--detailed-exitcode")
        .expect_stdout_lacks("missing")
        .expect_stderr_contains("not found as repository variables, so not reported missing: infra AWS_ROLE_ARN, infra AWS_REGION")
        .expect_no_writes()
        .run();
}

/// The configuration of one environment's account: its own AWS endpoint, bucket and roles.
fn account_config(moto: &str, issuer: &str, bucket: &str, roles: &str) -> String {
    format!(
        "endpoint-url = \"{moto}\"\nregion = \"us-east-1\"\nissuer-url = \"{issuer}\"\nworkspace = \"{WORKSPACE}\"\nstate-bucket = \"{bucket}\"\n\n{roles}"
    )
}

#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, in order")]
fn one_pipeline_promotes_through_two_accounts_each_stage_with_its_role_and_backend() {
    let bb = Bb::start();
    let prod_aws = crate::common::Moto::start();
    let staging = bb.config(
        "staging.toml",
        &account_config(
            &bb.w.moto.endpoint(),
            &bb.w.issuer.url(),
            "tf-state-staging",
            "[[role]]\nname = \"staging-plan\"\naccess = \"plan\"\nrepository = [\"infra\"]\n\n[[role]]\nname = \"staging-apply\"\nrepository = [\"infra\"]\nenvironment = [\"Staging\"]\n",
        ),
    );
    let prod = bb.config(
        "prod.toml",
        &account_config(
            &prod_aws.endpoint(),
            &bb.w.issuer.url(),
            "tf-state-prod",
            "[[role]]\nname = \"prod-deploy\"\nrepository = [\"infra\"]\nenvironment = [\"Production\"]\n",
        ),
    );
    let out_dir = bb.dir.path().join("repo");
    let bundle = bb.bundle.path().display().to_string();
    let pipeline = || {
        Test::new()
            .arg("pipeline")
            .args(["--ca-bundle", &bundle, "--bitbucket-api-url", &bb.api.url()])
            .args(["--out-dir", &out_dir.display().to_string(), "--force"])
            .arg("--deployment")
            .arg(format!("Staging={}", staging.display()))
            .arg("--deployment")
            .arg(format!("Production={}", prod.display()))
            .args(["--set-variables", "--yes"])
            .env("BITBUCKET_TOKEN", TOKEN)
            .current_dir(bb.dir.path())
            .expect_stdout_lacks(TOKEN)
            .expect_stderr_lacks(TOKEN)
    };
    pipeline().run();
    let file = out_dir.join("bitbucket-pipelines.yml");
    crate::common::schema::assert_valid_pipeline(&file);
    let text = std::fs::read_to_string(&file).unwrap();
    let account = bb.w.moto.account_id();
    let role = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    let staging_at = text
        .find("deployment: \"Staging\"")
        .expect("a Staging stage");
    let prod_at = text
        .find("deployment: \"Production\"")
        .expect("a Production stage");
    assert!(staging_at < prod_at, "{text}");
    assert!(
        text.contains(&format!(
            "# Staging: account {account}, role {}",
            role("staging-apply")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "# Production: account {account}, role {}",
            role("prod-deploy")
        )),
        "{text}"
    );
    // Production waits for a person; staging's stage starts with the branch.
    assert!(text[prod_at..].contains("trigger: manual"), "{text}");
    assert!(
        !text[staging_at..prod_at].contains("trigger: manual"),
        "{text}"
    );
    assert!(
        text.contains("-backend-config=\"bucket=$TF_STATE_BUCKET\""),
        "{text}"
    );
    let backend = std::fs::read_to_string(out_dir.join("backend.tf")).unwrap();
    assert!(
        !backend
            .lines()
            .any(|l| l.trim_start().starts_with("bucket")),
        "{backend}"
    );

    let get = |env: Option<&str>, key: &str| {
        bb.api
            .variables("infra", env)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    assert_eq!(get(Some("Staging"), "AWS_ROLE_ARN"), role("staging-apply"));
    assert_eq!(get(Some("Staging"), "TF_STATE_BUCKET"), "tf-state-staging");
    assert_eq!(get(Some("Production"), "AWS_ROLE_ARN"), role("prod-deploy"));
    assert_eq!(get(Some("Production"), "TF_STATE_BUCKET"), "tf-state-prod");
    assert_eq!(get(Some("Production"), "TF_STATE_REGION"), "us-east-1");
    // Branches plan with the first environment's plan role and backend.
    assert_eq!(get(None, "AWS_ROLE_ARN"), role("staging-plan"));
    assert_eq!(get(None, "TF_STATE_BUCKET"), "tf-state-staging");

    bb.api.clear_log();
    // Every answer takes a while: the two accounts are learned at once, so each asks the
    // API what the other asks (the workspace, the repository) at the same time.
    bb.api.set_delay(std::time::Duration::from_millis(200));
    pipeline().run();
    assert!(bb.api.writes().is_empty(), "{:#?}", bb.api.writes());
    let log = bb.api.exchanges();
    let overlapping = log.iter().enumerate().any(|(i, a)| {
        log[i + 1..]
            .iter()
            .any(|b| a.target == b.target && a.started < b.ended && b.started < a.ended)
    });
    assert!(
        overlapping,
        "the stages were learned one after the other: {log:#?}"
    );
    // Both stages deploy from one repository: its environments are listed once to find the
    // two environments' variables (the stages' own name lookups use its slug).
    let listings = log
        .iter()
        .filter(|e| e.target.contains("%7B") && e.target.ends_with("/environments"))
        .count();
    assert_eq!(listings, 1, "{log:#?}");
    bb.api.assert_conforms();
}

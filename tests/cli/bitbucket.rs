//! The Bitbucket API half against a local Bitbucket API (its own CA, every exchange checked
//! against Atlassian's OpenAPI document): names instead of UUIDs give the same trust
//! policies, resolved in few round trips, refused with the closest match when unknown, and
//! explained when credentials, scopes, the rate limit or the server get in the way.

use std::path::PathBuf;
use std::time::Duration;

use tempfile::{NamedTempFile, TempDir};

use crate::common::bitbucket::{BitbucketApi, API_TOKEN, EMAIL, TOKEN};
use crate::common::fixture::{World, BUCKET};
use crate::common::inspect::Inspect;
use crate::common::pki::write_pem_file;
use crate::common::Test;

const WORKSPACE: &str = "acme";

/// A world, a local Bitbucket API with repositories `infra` (Staging, Production) and
/// `platform-network` (Production), and a CA bundle trusting both the issuer and the API.
struct Bb {
    w: World,
    api: BitbucketApi,
    bundle: NamedTempFile,
    dir: TempDir,
}

impl Bb {
    fn start() -> Bb {
        let w = World::start_with_managed_policies();
        let api = BitbucketApi::start(WORKSPACE);
        api.add_repository("infra", &["Staging", "Production"]);
        api.add_repository("platform-network", &["Production"]);
        let bundle = write_pem_file(&[&w.pki.root.pem, api.ca_pem()]);
        Bb {
            w,
            api,
            bundle,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Flags reaching moto, the issuer and the API, without the Bitbucket credentials.
    fn flags(&self) -> Vec<String> {
        self.flags_with(&self.bundle.path().display().to_string(), &self.api.url())
    }

    /// The same with another CA bundle and API URL.
    fn flags_with(&self, bundle: &str, api_url: &str) -> Vec<String> {
        vec![
            "--endpoint-url".into(),
            self.w.moto.endpoint(),
            "--region".into(),
            self.w.region.clone(),
            "--issuer-url".into(),
            self.w.issuer.url(),
            "--ca-bundle".into(),
            bundle.into(),
            "--bitbucket-api-url".into(),
            api_url.into(),
            "--state-bucket".into(),
            BUCKET.into(),
        ]
    }

    /// Write `text` as a config file named `name`.
    fn config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// `bootstrap CMD --config FILE` with the access token set.
    fn test(&self, cmd: &str, config: &PathBuf) -> Test<'_> {
        self.bare(cmd, config).env("BITBUCKET_TOKEN", TOKEN)
    }

    /// The same without Bitbucket credentials.
    fn bare(&self, cmd: &str, config: &PathBuf) -> Test<'_> {
        self.bare_with(cmd, config, self.flags())
    }

    fn bare_with(&self, cmd: &str, config: &PathBuf, flags: Vec<String>) -> Test<'_> {
        Test::new()
            .arg(cmd)
            .args(flags)
            .arg("--config")
            .arg(config)
            .moto(&self.w.moto)
            .expect_stdout_lacks(TOKEN)
            .expect_stderr_lacks(TOKEN)
    }
}

/// Roles by names: a plan role for two repositories, an apply role for one environment; the
/// pair keeps one state (the pipeline's plan and apply steps share one backend).
fn by_names() -> String {
    format!(
        r#"workspace = "{WORKSPACE}"

[[role]]
name = "infra-plan"
access = "plan"
repository = ["infra", "platform-network"]
state-key-prefix = "infra"

[[role]]
name = "infra-apply"
repository = ["infra"]
environment = ["Production"]
state-key-prefix = "infra"
"#
    )
}

/// The same roles by UUIDs, as they were written before names.
fn by_uuids(api: &BitbucketApi) -> String {
    format!(
        r#"workspace-uuid = "{ws}"

[[role]]
name = "infra-plan"
access = "plan"
repository-uuid = ["{infra}", "{net}"]
state-key-prefix = "infra"

[[role]]
name = "infra-apply"
repository-uuid = ["{infra}"]
environment-uuid = ["{prod}"]
state-key-prefix = "infra"
"#,
        ws = api.workspace_uuid().trim_matches(|c| c == '{' || c == '}'),
        infra = api.repository("infra").uuid,
        net = api.repository("platform-network").uuid,
        prod = api.environment_uuid("infra", "Production"),
    )
}

#[test]
fn names_give_the_same_trust_policies_as_uuids_and_plan_shows_each_name_with_its_uuid() {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    let infra = bb.api.repository("infra").uuid;
    let prod = bb.api.environment_uuid("infra", "Production");
    bb.test("plan", &names)
        .expect_no_writes()
        .expect_stdout_contains(format!("bitbucket repository infra = {infra}"))
        .expect_stdout_contains(format!(
            "bitbucket environment Production of infra = {prod}"
        ))
        .expect_stdout_contains(format!(
            "bitbucket workspace acme = {}",
            bb.api.workspace_uuid()
        ))
        .expect_stdout_lacks("Staging")
        .run();
    // init shows the names with their UUIDs in the plan it applies, as plan does.
    bb.test("init", &names)
        .arg("--yes")
        .expect_stderr_contains(format!("bitbucket repository infra = {infra}"))
        .expect_stderr_contains(format!(
            "bitbucket environment Production of infra = {prod}"
        ))
        .run();

    // The trust policies hold UUIDs only, exactly those of the UUID form.
    let aws = Inspect::new(&bb.w.moto.endpoint());
    let trust = serde_json::to_string(&aws.trust_policy("infra-apply")).unwrap();
    assert!(trust.contains(&format!("{infra}:{prod}:*")), "{trust}");
    assert!(
        !trust.contains("Production") && !trust.contains("infra:"),
        "{trust}"
    );
    let uuids = bb.config("uuids.toml", &by_uuids(&bb.api));
    bb.bare("plan", &uuids)
        .arg("--detailed-exitcode")
        .expect_no_writes()
        .expect_stdout_contains("nothing to change")
        .run();
    // And a re-run by names writes nothing.
    bb.test("init", &names)
        .arg("--yes")
        .expect_no_writes()
        .run();
    bb.api.assert_conforms();
    assert!(bb.api.writes().is_empty());
}

#[test]
fn thirty_repository_names_cost_at_most_three_sequential_round_trips() {
    let bb = Bb::start();
    let slugs: Vec<String> = (0..30).map(|n| format!("service-{n:02}")).collect();
    for s in &slugs {
        bb.api.add_repository(s, &[]);
    }
    for n in 30..45 {
        bb.api.add_repository(&format!("other-{n}"), &[]);
    }
    let list = slugs
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = bb.config(
        "many.toml",
        &format!("workspace = \"{WORKSPACE}\"\nrepository = [{list}]\n"),
    );
    // Each answer takes a while, so requests sent together overlap and sequential ones
    // cannot.
    bb.api.set_delay(Duration::from_millis(300));
    let out = bb.test("plan", &config).run();
    let trips = bb.api.round_trips();
    eprintln!("30 repository names: {trips} sequential round trip(s)");
    let requests = bb.api.exchanges();
    assert!(trips <= 3, "{trips} sequential round trips\n{requests:#?}");
    let queries = requests
        .iter()
        .filter(|e| e.target.contains("/repositories/acme?q="))
        .count();
    assert!(
        queries <= 3,
        "{queries} repository queries, not one per name\n{requests:#?}"
    );
    for s in &slugs {
        let uuid = bb.api.repository(s).uuid;
        assert!(
            out.stdout.contains(&format!("repository {s} = {uuid}")),
            "{out:?}"
        );
    }
    bb.api.assert_conforms();
}

#[test]
fn a_name_that_does_not_exist_is_refused_before_any_aws_call_naming_the_closest() {
    let bb = Bb::start();
    let repo = bb.config(
        "repo.toml",
        &format!("workspace = \"{WORKSPACE}\"\nrepository = [\"infra\", \"platform-netwrk\"]\n"),
    );
    bb.test("init", &repo)
        .arg("--yes")
        .expect_exit(64)
        .expect_stderr_contains(
            "repository \"platform-netwrk\" not found in workspace acme; the closest is \"platform-network\"",
        )
        .expect_no_writes()
        .run();
    let env = bb.config(
        "env.toml",
        &format!(
            "workspace = \"{WORKSPACE}\"\nrepository = [\"infra\"]\nenvironment = [\"Prod\"]\nplan-apply = true\n"
        ),
    );
    bb.test("init", &env)
        .arg("--yes")
        .expect_exit(64)
        .expect_stderr_contains(
            "environment \"Prod\" not found in repository infra; the closest is \"Production\"",
        )
        .expect_no_writes()
        .run();
    bb.api.assert_conforms();
}

#[test]
fn names_without_credentials_are_refused_naming_the_variables_to_set() {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    bb.bare("plan", &names)
        .expect_exit(64)
        .expect_stderr_contains("BITBUCKET_TOKEN")
        .expect_stderr_contains("BITBUCKET_EMAIL and BITBUCKET_API_TOKEN")
        .expect_no_writes()
        .run();
    assert!(bb.api.exchanges().is_empty());
    // Half of the API-token pair names the other half.
    bb.bare("plan", &names)
        .env("BITBUCKET_EMAIL", EMAIL)
        .expect_exit(64)
        .expect_stderr_contains("BITBUCKET_EMAIL is set without BITBUCKET_API_TOKEN")
        .run();
    // Without names, half a pair in the environment changes nothing.
    let uuids = bb.config("uuids.toml", &by_uuids(&bb.api));
    bb.bare("plan", &uuids)
        .env("BITBUCKET_EMAIL", EMAIL)
        .expect_no_writes()
        .run();
    assert!(bb.api.exchanges().is_empty());
    // The API-token pair is sent as Basic and works.
    bb.bare("plan", &names)
        .env("BITBUCKET_EMAIL", EMAIL)
        .env("BITBUCKET_API_TOKEN", API_TOKEN)
        .expect_stdout_contains("bitbucket repository infra")
        .expect_stdout_lacks(API_TOKEN)
        .expect_stderr_lacks(API_TOKEN)
        .run();
    assert!(bb.api.exchanges().iter().all(|e| e
        .authorization
        .as_deref()
        .is_some_and(|a| a.starts_with("Basic "))));
    bb.api.assert_conforms();
}

#[test]
fn a_refused_token_or_a_missing_scope_is_explained() {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    bb.bare("plan", &names)
        .env("BITBUCKET_TOKEN", "not-the-token")
        .expect_exit(1)
        .expect_stderr_contains("HTTP 401")
        .expect_stderr_contains("BITBUCKET_TOKEN")
        .expect_stderr_lacks("not-the-token")
        .run();
    bb.api.set_scopes(&["account", "repository"]);
    bb.test("plan", &names)
        .expect_exit(1)
        .expect_stderr_contains("HTTP 403")
        .expect_stderr_contains("scope pipeline")
        .expect_no_writes()
        .run();
    bb.api.assert_conforms();
}

#[test]
fn the_rate_limit_is_waited_out_within_bounds() {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    bb.api.rate_limit(2, 1);
    bb.test("plan", &names)
        .expect_stdout_contains("bitbucket repository infra")
        .run();
    let limited = bb
        .api
        .exchanges()
        .iter()
        .filter(|e| e.status == 429)
        .count();
    assert_eq!(limited, 2);
    // Each retry waits for the answer before it: the round-trip measure sees the sequence.
    assert!(bb.api.round_trips() >= 3, "{:#?}", bb.api.exchanges());
    // A wait longer than the bound is reported, not waited for.
    bb.api.rate_limit(1, 600);
    let started = std::time::Instant::now();
    bb.test("plan", &names)
        .expect_exit(1)
        .expect_stderr_contains("HTTP 429")
        .expect_stderr_contains("wait 600 seconds")
        .run();
    assert!(started.elapsed() < Duration::from_secs(60));
    bb.api.assert_conforms();
}

#[test]
fn the_api_is_reached_only_over_trusted_tls_and_never_through_a_redirect() {
    let bb = Bb::start();
    let names = bb.config("names.toml", &by_names());
    // The API's CA is not trusted by default: only the issuer's is in this bundle.
    let issuer_only = bb.flags_with(&bb.w.pki.ca_bundle_arg(), &bb.api.url());
    bb.bare_with("plan", &names, issuer_only)
        .env("BITBUCKET_TOKEN", TOKEN)
        .expect_exit(1)
        .expect_stderr_contains("localhost")
        .run();
    assert!(bb.api.exchanges().is_empty());
    // A redirect elsewhere is not followed: the other host never sees the token.
    let other = BitbucketApi::start(WORKSPACE);
    bb.api
        .redirect_all(&format!("{}/workspaces/acme", other.url()));
    bb.test("plan", &names)
        .expect_exit(1)
        .expect_stderr_contains("not followed")
        .run();
    assert!(other.exchanges().is_empty());
    // Plain http is refused for any host but this machine.
    let bundle = bb.bundle.path().display().to_string();
    let plain = bb.flags_with(&bundle, "http://bitbucket.example/2.0");
    bb.bare_with("plan", &names, plain)
        .env("BITBUCKET_TOKEN", TOKEN)
        .expect_exit(64)
        .expect_stderr_contains("--bitbucket-api-url")
        .run();
}

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
    let run = || {
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
    run().run();
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
    run().run();
    assert!(bb.api.writes().is_empty(), "{:#?}", bb.api.writes());
    bb.api.assert_conforms();
}

#[test]
fn an_endless_or_silent_api_is_cut_off_in_size_and_time() {
    let bb = Bb::start();
    let names = bb.config(
        "repos.toml",
        &format!("workspace = \"{WORKSPACE}\"\nrepository = [\"infra\"]\n"),
    );
    // The issuer's server plays a misbehaving API (the bundle trusts its CA).
    let issuer = &bb.w.issuer;
    let api_url = format!("{}/2.0", issuer.origin());
    let bundle = bb.bundle.path().display().to_string();
    let workspace = crate::common::Response::json(
        200,
        &serde_json::json!({"type": "workspace", "uuid": "{00000001-0001-4000-8000-000000000001}"}),
    );
    issuer.set_route("/2.0/workspaces/acme", workspace);
    issuer.set_route(
        "/2.0/repositories/acme",
        crate::common::Response::endless(crate::common::issuer::Framing::Chunked),
    );
    bb.bare_with("plan", &names, bb.flags_with(&bundle, &api_url))
        .env("BITBUCKET_TOKEN", TOKEN)
        .expect_exit(1)
        .expect_stderr_contains("larger than 4 MiB")
        .expect_no_writes()
        .run();
    issuer.set_route(
        "/2.0/repositories/acme",
        crate::common::Response::json(200, &serde_json::json!({"values": []}))
            .with_delay(Duration::from_secs(5)),
    );
    let started = std::time::Instant::now();
    bb.bare_with("plan", &names, bb.flags_with(&bundle, &api_url))
        .args(["--timeout", "1"])
        .env("BITBUCKET_TOKEN", TOKEN)
        .expect_exit(1)
        .expect_stderr_contains("did not answer within 1s")
        .expect_no_writes()
        .run();
    assert!(started.elapsed() < Duration::from_secs(5));
}

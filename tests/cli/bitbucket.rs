//! The Bitbucket API half against a local Bitbucket API (its own CA, every exchange checked
//! against Atlassian's OpenAPI document): names instead of UUIDs give the same trust
//! policies, resolved in few round trips, refused with the closest match when unknown, and
//! explained when credentials, scopes, the rate limit or the server get in the way. The
//! pipeline's Bitbucket variables are in `bitbucket_variables.rs`.

use std::path::PathBuf;
use std::time::Duration;

use tempfile::{NamedTempFile, TempDir};

use crate::common::bitbucket::{BitbucketApi, API_TOKEN, EMAIL, TOKEN};
use crate::common::fixture::{World, BUCKET};
use crate::common::inspect::Inspect;
use crate::common::pki::write_pem_file;
use crate::common::Test;

pub const WORKSPACE: &str = "acme";

/// A world, a local Bitbucket API with repositories `infra` (Staging, Production) and
/// `platform-network` (Production), and a CA bundle trusting both the issuer and the API.
pub struct Bb {
    pub w: World,
    pub api: BitbucketApi,
    pub bundle: NamedTempFile,
    pub dir: TempDir,
}

impl Bb {
    pub fn start() -> Bb {
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
    pub fn flags(&self) -> Vec<String> {
        self.flags_with(&self.bundle.path().display().to_string(), &self.api.url())
    }

    /// The same with another CA bundle and API URL.
    pub fn flags_with(&self, bundle: &str, api_url: &str) -> Vec<String> {
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
    pub fn config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// `bootstrap CMD --config FILE` with the access token set.
    pub fn test(&self, cmd: &str, config: &PathBuf) -> Test<'_> {
        self.bare(cmd, config).env("BITBUCKET_TOKEN", TOKEN)
    }

    /// The same without Bitbucket credentials.
    pub fn bare(&self, cmd: &str, config: &PathBuf) -> Test<'_> {
        self.bare_with(cmd, config, self.flags())
    }

    pub fn bare_with(&self, cmd: &str, config: &PathBuf, flags: Vec<String>) -> Test<'_> {
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
pub fn by_names() -> String {
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
pub fn by_uuids(api: &BitbucketApi) -> String {
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

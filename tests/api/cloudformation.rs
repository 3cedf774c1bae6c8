//! The rendered CloudFormation template: golden files for the default settings and each
//! variant, cfn-lint and checkov on every variant, and equivalence with direct mode (the
//! policies in the template, once CloudFormation resolves them, are the documents direct mode
//! writes for the same settings).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bootstrap::config::{Inputs, RoleInputs, Settings};
use bootstrap::model::template::{self, RenderOptions, Template};
use bootstrap::model::{self, Account};
use serde_json::{json, Value};

const WORKSPACE: &str = "acme";
const WORKSPACE_UUID: &str = "6a3f1c2e-1111-4c9d-9a8b-0123456789ab";
const REPO: &str = "{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}";
const REPO2: &str = "{1a2b3c4d-5555-4e5f-8a9b-000000000002}";
const ENV: &str = "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba}";
/// Two fixed thumbprints (issuer host and a JWKS host), as the issuer would give them.
const THUMBPRINTS: [&str; 2] = [
    "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
    "b2c5a6f35d4fe0b3d0b9f61d5e1c7a8b9c0d1e2f",
];

fn base() -> Inputs {
    Inputs {
        workspace: Some(WORKSPACE.into()),
        workspace_uuid: Some(WORKSPACE_UUID.into()),
        repository_uuid: vec![REPO.into()],
        ..Default::default()
    }
}

/// Every variant the template is checked in: name, inputs, StackSet or not.
fn variants() -> Vec<(&'static str, Inputs, bool)> {
    let mut v = Vec::new();
    v.push(("default", base(), false));

    let mut i = base();
    i.kms_key =
        Some("arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0".into());
    v.push(("kms-key", i, false));

    // A key id: the key of that id in the deploying account and region (Fn::Sub).
    let mut i = base();
    i.kms_key = Some("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0".into());
    v.push(("kms-key-id", i, false));

    // Custom audiences: aud arrives as a list, tested with ForAnyValue: and ForAllValues:.
    let mut i = base();
    i.audience = vec!["deploy.example.com".into()];
    v.push(("custom-audiences", i, false));

    let mut i = base();
    i.no_lock_table = Some(true);
    v.push(("no-lock-table", i, false));

    let mut i = base();
    i.source_ip = vec!["203.0.113.0/24".into(), "198.51.100.7".into()];
    v.push(("source-ip", i, false));

    let mut i = base();
    i.repository_uuid = vec![REPO.into(), REPO2.into()];
    i.environment_uuid = vec![ENV.into()];
    v.push(("environments", i, false));

    let mut i = base();
    i.state_bucket = Some("acme-terraform-state".into());
    i.state_key_prefix = Some("platform/prod".into());
    i.lock_table = Some("acme-locks".into());
    i.role_name = Some("acme-deploy".into());
    i.policy_arn = vec![
        "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        "arn:aws:iam::123456789012:policy/acme-deploy".into(),
    ];
    i.permissions_boundary = Some("arn:aws:iam::123456789012:policy/acme-boundary".into());
    i.max_session_duration = Some(7200);
    i.noncurrent_days = Some(30);
    i.tags = Some(BTreeMap::from([
        ("team".to_string(), "platform".to_string()),
        ("cost-center".to_string(), "42".to_string()),
    ]));
    v.push(("everything", i, false));

    let mut i = base();
    i.state_bucket = Some("acme-tf-123456789012-eu-west-1-an".into());
    v.push(("account-regional-bucket", i, false));

    let mut i = base();
    i.policy_arn = vec!["arn:aws:iam::123456789012:policy/acme-deploy".into()];
    v.push(("stackset", i, true));

    v.push(("three-roles", three_roles(), false));
    v.push(("three-roles-stackset", three_roles(), true));
    v
}

/// `[[role]]` tables: a plan role, an apply role for one environment with a policy of the
/// account, and a CDK role of another repository.
fn three_roles() -> Inputs {
    let role = |name: &str, access: &str, repo: &str| RoleInputs {
        name: Some(name.into()),
        access: Some(access.into()),
        repository_uuid: vec![repo.into()],
        ..Default::default()
    };
    let mut apply = role("infra-apply", "apply", REPO);
    apply.environment_uuid = vec![ENV.into()];
    apply.policy_arn = vec!["arn:aws:iam::123456789012:policy/acme-deploy".into()];
    Inputs {
        repository_uuid: Vec::new(),
        role: vec![
            role("infra-plan", "plan", REPO),
            apply,
            role("app-cdk", "cdk", REPO2),
        ],
        ..base()
    }
}

fn settings(i: Inputs) -> Settings {
    Settings::from_inputs(i).expect("valid inputs")
}

fn render(i: Inputs, stackset: bool) -> Template {
    let s = settings(i);
    let thumbprints: Vec<String> = THUMBPRINTS.iter().map(ToString::to_string).collect();
    template::build(
        &s,
        &thumbprints,
        &[],
        RenderOptions {
            stackset,
            ..Default::default()
        },
    )
    .expect("renders")
}

/// Rendered templates are compared with reviewed snapshots (insta), in
/// tests/snapshots/cloudformation: a difference fails. After an intended change, accept the
/// new templates with `cargo insta review` (or run with `INSTA_UPDATE=always`), review
/// `git diff tests/snapshots`, and commit.
#[test]
fn rendered_templates_match_reviewed_golden_files() {
    for (name, inputs, stackset) in variants() {
        // The header names the tool's version; the snapshots say VERSION so that a release
        // does not change them.
        let yaml = render(inputs, stackset).yaml().replace(
            &format!("Rendered by bootstrap {}.", env!("CARGO_PKG_VERSION")),
            "Rendered by bootstrap VERSION.",
        );
        insta::with_settings!({
            snapshot_path => "../snapshots/cloudformation",
            prepend_module_to_snapshot => false,
            description => format!("the {name} variant, rendered as YAML"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, yaml);
        });
    }
}

#[test]
fn yaml_reads_back_as_the_template() {
    for (name, inputs, stackset) in variants() {
        let t = render(inputs, stackset);
        let parsed: Value = serde_norway::from_str(&t.yaml())
            .unwrap_or_else(|e| panic!("{name}: the YAML does not parse: {e}"));
        assert_eq!(parsed, t.body, "{name}: YAML and JSON templates differ");
        let parsed: Value = serde_json::from_str(&t.json()).unwrap();
        assert_eq!(parsed, t.body, "{name}");
    }
}

/// A checker from the checkers venv (`.venv-checkers/bin`), else from PATH. Never skipped: a
/// missing tool fails the test.
fn tool(name: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv-checkers/bin")
        .join(name);
    if venv.exists() {
        return venv;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("{name} not found in .venv-checkers/bin or on PATH; run ./scripts/test (it installs cfn-lint and checkov there)");
}

/// Every variant in both formats, written to a fresh directory.
fn write_variants(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (name, inputs, stackset) in variants() {
        let t = render(inputs, stackset);
        for (ext, body) in [("yaml", t.yaml()), ("json", t.json())] {
            let p = dir.join(format!("{name}.{ext}"));
            std::fs::write(&p, body).unwrap();
            files.push(p);
        }
    }
    files
}

#[test]
fn cfn_lint_finds_no_errors_or_warnings_in_any_variant() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_variants(dir.path());
    let out = Command::new(tool("cfn-lint"))
        .args(["--format", "parseable"])
        .args(&files)
        .output()
        .expect("run cfn-lint");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim().is_empty(),
        "cfn-lint (exit {:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn checkov_passes_every_variant_and_every_suppression_is_justified_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_variants(dir.path());
    let out = Command::new(tool("checkov"))
        .args(["--framework", "cloudformation", "--skip-download"])
        .args(["-o", "json", "-d"])
        .arg(dir.path())
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let summary = &report["summary"];
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    let failed: Vec<String> = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {} {}", c["check_id"], c["file_path"], c["resource"]))
        .collect();
    assert!(
        failed.is_empty(),
        "checkov failed checks:\n{}",
        failed.join("\n")
    );
    assert_eq!(summary["failed"], 0, "{summary}");
    // Every file was scanned: each has passed checks.
    for f in &files {
        let name = format!("/{}", f.file_name().unwrap().to_string_lossy());
        let passed = report["results"]["passed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["file_path"] == name.as_str())
            .count();
        assert!(
            passed > 10,
            "{name}: only {passed} checks passed; was it scanned?"
        );
    }

    // Suppressions: each has a written reason, and each names a check that would otherwise
    // run on that resource (no stale or speculative suppressions).
    let skipped = report["results"]["skipped_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (name, inputs, stackset) in variants() {
        let t = render(inputs, stackset);
        for (id, resource) in t.body["Resources"].as_object().unwrap() {
            for skip in resource["Metadata"]["checkov"]["skip"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let check = skip["id"].as_str().unwrap();
                let comment = skip["comment"].as_str().unwrap_or("");
                assert!(
                    comment.len() > 40,
                    "{name} {id} {check}: no real justification"
                );
                let used = skipped.iter().any(|s| {
                    s["check_id"] == check
                        && s["file_path"] == format!("/{name}.yaml").as_str()
                        && s["resource"]
                            .as_str()
                            .is_some_and(|r| r.ends_with(id.as_str()))
                });
                assert!(
                    used,
                    "{name} {id}: suppression of {check} matched nothing checkov ran"
                );
            }
        }
    }
}

/// The stack the resolved templates are deployed as.
const STACK_NAME: &str = "boot-stack";

/// What CloudFormation substitutes, for one account: pseudo-parameters, conditions
/// (`Fn::If`, `AWS::NoValue`), and the `Ref` and `Fn::GetAtt Arn` of the template's
/// resources, derived from their properties by AWS's ARN formats.
struct Resolver {
    account: Account,
    conditions: BTreeMap<String, bool>,
    refs: BTreeMap<String, String>,
    arns: BTreeMap<String, String>,
}

impl Resolver {
    fn new(template: &Value, account: &Account) -> Resolver {
        let mut r = Resolver {
            account: account.clone(),
            conditions: BTreeMap::new(),
            refs: BTreeMap::new(),
            arns: BTreeMap::new(),
        };
        let (p, a, region) = (&account.partition, &account.id, &account.region);
        if let Some(conditions) = template["Conditions"].as_object() {
            for (name, c) in conditions {
                let holds = r.condition(c);
                r.conditions.insert(name.clone(), holds);
            }
        }
        let res = &template["Resources"];
        let url = res["OidcProvider"]["Properties"]["Url"].as_str().unwrap();
        let provider_arn = format!(
            "arn:{p}:iam::{a}:oidc-provider/{}",
            url.strip_prefix("https://").unwrap()
        );
        r.refs.insert("OidcProvider".into(), provider_arn.clone());
        r.arns.insert("OidcProvider".into(), provider_arn);
        // BucketName, or BucketNamePrefix to which S3 appends -ACCOUNT-REGION-an in the
        // account regional namespace (AWS::S3::Bucket; CDK's BucketNamespace documents the
        // resulting name).
        let props = r.resolve(&res["StateBucket"]["Properties"]);
        let bucket = match (
            props["BucketName"].as_str(),
            props["BucketNamePrefix"].as_str(),
        ) {
            (Some(name), None) => name.to_string(),
            (None, Some(prefix)) => {
                assert_eq!(props["BucketNamespace"], "account-regional");
                format!("{prefix}-{a}-{region}-an")
            }
            other => panic!("the bucket is named by exactly one property: {other:?}"),
        };
        r.arns
            .insert("StateBucket".into(), format!("arn:{p}:s3:::{bucket}"));
        r.refs.insert("StateBucket".into(), bucket);
        if let Some(t) = res["LockTable"]["Properties"]["TableName"].as_str() {
            r.refs.insert("LockTable".into(), t.to_string());
            r.arns.insert(
                "LockTable".into(),
                format!("arn:{p}:dynamodb:{region}:{a}:table/{t}"),
            );
        }
        for (id, resource) in res.as_object().unwrap() {
            if let Some(role) = resource["Properties"]["RoleName"].as_str() {
                r.arns
                    .insert(id.clone(), format!("arn:{p}:iam::{a}:role/{role}"));
            }
        }
        r
    }

    fn var(&self, name: &str) -> String {
        match name {
            "AWS::AccountId" => self.account.id.clone(),
            "AWS::Partition" => self.account.partition.clone(),
            "AWS::Region" => self.account.region.clone(),
            "AWS::StackName" => STACK_NAME.into(),
            other => match other.split_once('.') {
                Some((id, "Arn")) => self.arns.get(id).cloned(),
                Some(_) => None,
                None => self.refs.get(other).cloned(),
            }
            .unwrap_or_else(|| panic!("unresolvable ${{{other}}}")),
        }
    }

    fn sub(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                out.push_str("${");
                rest = lit;
                continue;
            }
            let end = after.find('}').expect("closed ${...}");
            out.push_str(&self.var(&after[..end]));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A condition's value (`Fn::And`, `Fn::Not`, `Fn::Equals`).
    fn condition(&self, c: &Value) -> bool {
        let m = c.as_object().expect("a condition is an object");
        let (f, args) = m.iter().next().expect("one function");
        let args = args.as_array().expect("arguments");
        match f.as_str() {
            "Fn::And" => args.iter().all(|a| self.condition(a)),
            "Fn::Not" => !self.condition(&args[0]),
            "Fn::Equals" => self.resolve(&args[0]) == self.resolve(&args[1]),
            other => panic!("unmodelled condition function {other}"),
        }
    }

    /// `v` as CloudFormation resolves it; `Null` for `AWS::NoValue` (the property is left out).
    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("Fn::If") => {
                let a = m["Fn::If"].as_array().unwrap();
                let holds = self.conditions[a[0].as_str().unwrap()];
                self.resolve(&a[if holds { 1 } else { 2 }])
            }
            Value::Object(m) if m.len() == 1 && m.get("Ref") == Some(&json!("AWS::NoValue")) => {
                Value::Null
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
                json!(self.sub(m["Fn::Sub"].as_str().expect("Fn::Sub of a string")))
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
                json!(self.var(m["Ref"].as_str().unwrap()))
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("Fn::GetAtt") => {
                let a = &m["Fn::GetAtt"];
                json!(self.var(&format!(
                    "{}.{}",
                    a[0].as_str().unwrap(),
                    a[1].as_str().unwrap()
                )))
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.resolve(x)))
                    .filter(|(_, x)| !x.is_null())
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.resolve(x)).collect()),
            other => other.clone(),
        }
    }
}

fn accounts() -> Vec<Account> {
    vec![
        Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        },
        Account {
            id: "210987654321".into(),
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
        },
        Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "me-south-1".into(),
        },
    ]
}

/// A stack deployed with the global default name of earlier versions keeps it: the template
/// rendered for it names the bucket exactly as the deployed one does (no replacement).
#[test]
fn a_deployed_global_default_bucket_keeps_its_name() {
    let s = settings(base());
    let thumbprints: Vec<String> = THUMBPRINTS.iter().map(ToString::to_string).collect();
    let render = |keep_global_bucket| {
        let opts = RenderOptions {
            keep_global_bucket,
            ..Default::default()
        };
        template::build(&s, &thumbprints, &[], opts).unwrap()
    };
    let (new, kept) = (render(false), render(true));
    let name = |t: &Template| t.body["Resources"]["StateBucket"]["Properties"].clone();
    assert_eq!(
        name(&kept)["BucketName"],
        json!({ "Fn::Sub": "terraform-state-${AWS::AccountId}-${AWS::Region}" })
    );
    assert!(name(&kept).get("BucketNamePrefix").is_none());
    assert!(kept.body.get("Conditions").is_none());
    assert!(template::names_global_default(&kept.body));
    // A new stack's template is in the account regional namespace where there is one, and
    // is not taken for the earlier form.
    assert!(name(&new).get("BucketNamePrefix").is_some());
    assert!(!template::names_global_default(&new.body));
    // The policies differ only in how they name the bucket: both by reference.
    let policies =
        |t: &Template| t.body["Resources"]["DeployRole"]["Properties"]["Policies"].clone();
    assert_eq!(policies(&new), policies(&kept));
}

#[test]
fn template_policies_resolve_to_the_documents_direct_mode_writes() {
    let thumbprints: Vec<String> = THUMBPRINTS.iter().map(ToString::to_string).collect();
    for (name, inputs, stackset) in variants() {
        let s = settings(inputs.clone());
        let t = render(inputs, stackset);
        for account in accounts() {
            // A new setup's default bucket: in the account regional namespace where the
            // region has it (eu-west-1), the global name elsewhere (aws-cn, me-south-1), as
            // direct mode names it.
            let Ok(direct) = model::desired(&s, &account, &thumbprints, &[]) else {
                // A --state-bucket of the account regional form belongs to one account and
                // region: deployed elsewhere, direct mode refuses it (and so does `init`).
                assert!(s
                    .state
                    .bucket
                    .as_deref()
                    .is_some_and(|b| b.ends_with("-an")));
                continue;
            };
            let r = Resolver::new(&t.body, &account);
            let res = r.resolve(&t.body["Resources"]);
            let ctx = format!("{name} in {}", account.region);
            for want in &direct.roles {
                same_role(&res, want, stackset, &account, &ctx);
            }
            // Direct mode writes its statements into the bucket policy (merged with any
            // foreign ones; on a new bucket there are none).
            assert_eq!(
                res["StateBucketPolicy"]["Properties"]["PolicyDocument"],
                bootstrap::model::policy::merge_bucket_policy(
                    None,
                    &direct.bucket.policy_statements
                ),
                "{ctx}: bucket policy"
            );
            assert_eq!(
                res["StateBucketPolicy"]["Properties"]["Bucket"],
                direct.bucket.name.as_str()
            );
            assert_eq!(r.refs["StateBucket"], direct.bucket.name, "{ctx}");
            if s.state.bucket.is_none() {
                let regional = account.partition == "aws" && account.region != "me-south-1";
                assert_eq!(direct.bucket.name.ends_with("-an"), regional, "{ctx}");
            }
            let provider = &res["OidcProvider"]["Properties"];
            assert_eq!(provider["Url"], direct.provider.url.as_str());
            assert_eq!(provider["ClientIdList"], json!(direct.provider.client_ids));
            assert_eq!(
                provider["ThumbprintList"],
                json!(direct.provider.thumbprints)
            );
            assert_eq!(
                res["LockTable"]["Properties"]["TableName"].as_str(),
                direct.table.as_ref().map(|t| t.name.as_str()),
                "{ctx}"
            );
        }
    }
}

/// The role resource of `res` named as `want` holds, once resolved, what direct mode writes.
fn same_role(
    res: &Value,
    want: &bootstrap::model::DesiredRole,
    stackset: bool,
    account: &Account,
    ctx: &str,
) {
    let role = res
        .as_object()
        .unwrap()
        .values()
        .map(|r| &r["Properties"])
        .find(|p| p["RoleName"] == want.name.as_str())
        .unwrap_or_else(|| panic!("{ctx}: no role {}", want.name));
    let ctx = format!("{ctx}, role {}", want.name);
    assert_eq!(
        role["AssumeRolePolicyDocument"], want.trust_policy,
        "{ctx}: trust"
    );
    assert_eq!(role["Policies"].as_array().unwrap().len(), 1, "{ctx}");
    assert_eq!(
        role["Policies"][0]["PolicyName"],
        want.inline_policy_name.as_str(),
        "{ctx}"
    );
    assert_eq!(
        role["Policies"][0]["PolicyDocument"], want.inline_policy,
        "{ctx}: inline policy"
    );
    assert_eq!(role["MaxSessionDuration"], want.max_session_duration);
    // Direct mode's tags, and the stack's name under bootstrap-stack: how direct mode knows
    // the role is the stack's (CloudFormation puts no aws:cloudformation:* tags on roles).
    let mut tags = want.tags.clone();
    tags.insert("bootstrap-stack".into(), STACK_NAME.into());
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    assert_eq!(role["Tags"], json!(tags), "{ctx}: tags");
    let managed: Vec<String> = role["ManagedPolicyArns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    if stackset {
        // Account-specific policies follow the account the instance runs in.
        assert_eq!(managed.len(), want.managed_policies.len(), "{ctx}");
        for (got, given) in managed.iter().zip(&want.managed_policies) {
            let parts: Vec<&str> = given.splitn(6, ':').collect();
            let expected = if parts[4] == "aws" {
                given.clone()
            } else {
                format!("arn:{}:iam::{}:{}", account.partition, account.id, parts[5])
            };
            assert_eq!(got, &expected, "{ctx}");
        }
    } else {
        assert_eq!(managed, want.managed_policies, "{ctx}");
    }
}

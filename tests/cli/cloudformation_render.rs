//! `bootstrap render` as a user runs it: against a local HTTPS issuer with its own PKI, and
//! with no AWS at all.

use crate::common::Test;

use crate::common::{unused_port, Issuer, Pki};
use serde_json::Value;

const WORKSPACE_UUID: &str = "6a3f1c2e-1111-4c9d-9a8b-0123456789ab";
const REPO_UUID: &str = "{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}";

struct Local {
    pki: Pki,
    issuer: Issuer,
}

impl Local {
    fn start() -> Local {
        let pki = Pki::new();
        let issuer = Issuer::start(&pki);
        Local { pki, issuer }
    }

    /// `bootstrap render` with a full setup. AWS is pointed at a closed port: render must not
    /// need it.
    fn render(&self, extra: &[&str]) -> Test<'static> {
        let mut args: Vec<String> = vec![
            "render".into(),
            "--endpoint-url".into(),
            format!("http://127.0.0.1:{}", unused_port()),
            "--issuer-url".into(),
            self.issuer.url(),
            "--ca-bundle".into(),
            self.pki.ca_bundle_arg(),
            "--workspace-uuid".into(),
            WORKSPACE_UUID.into(),
            "--repository-uuid".into(),
            REPO_UUID.into(),
        ];
        args.extend(extra.iter().map(ToString::to_string));
        Test::new().args(args)
    }
}

#[test]
fn render_prints_a_yaml_template_with_the_issuers_verified_thumbprint() {
    let l = Local::start();
    let out = l.render(&[]).run();
    let t: Value = serde_norway::from_str(&out.stdout).expect("stdout is the YAML template");
    let provider = &t["Resources"]["OidcProvider"]["Properties"];
    assert_eq!(provider["Url"], l.issuer.url().as_str());
    // The thumbprint is the SHA-1 of the intermediate CA the local issuer serves.
    assert_eq!(
        provider["ThumbprintList"],
        serde_json::json!([l.pki.intermediate().sha1_hex()])
    );
    assert_eq!(
        provider["ClientIdList"],
        serde_json::json!([format!("ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}")])
    );
    let sub = &t["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        [0]["Condition"]["StringLike"][format!("{}:sub", l.issuer.host_path())];
    assert_eq!(sub, &format!("{REPO_UUID}:*"));
    assert!(
        out.stdout.starts_with("# "),
        "comments for reviewers come first"
    );
    assert!(l.issuer.hit_count(&l.issuer.discovery_path()) >= 1);
}

#[test]
fn render_to_a_link_replaces_the_link_and_never_writes_through_it() {
    let l = Local::start();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let link = dir.path().join("bootstrap.yaml");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    l.render(&["-o", link.to_str().unwrap()]).run();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&link)
        .unwrap()
        .contains("AWS::IAM::Role"));
}

#[test]
fn render_json_to_a_file_and_one_json_document_on_stdout() {
    let l = Local::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bootstrap.json");
    let out = l
        .render(&[
            "--format",
            "json",
            "-o",
            file.to_str().unwrap(),
            "--output",
            "json",
        ])
        .run();
    let doc = out.json();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["template"], written);
    assert_eq!(doc["file"], file.to_str().unwrap());
    assert_eq!(doc["template_version"], "bootstrap/1");
    assert_eq!(
        written["Outputs"]["TemplateVersion"]["Value"],
        "bootstrap/1"
    );
    let ids: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["logical_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "OidcProvider",
            "DeployRole",
            "StateBucket",
            "StateBucketPolicy",
            "LockTable"
        ]
    );
}

#[test]
fn render_no_lock_table_has_no_table_and_no_table_output() {
    let l = Local::start();
    let out = l.render(&["--no-lock-table"]).run();
    let t: Value = serde_norway::from_str(&out.stdout).unwrap();
    assert!(t["Resources"].get("LockTable").is_none());
    assert!(t["Outputs"].get("LockTableName").is_none());
    let statements =
        &t["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    assert!(statements
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["Sid"] != "StateLockTable"));
}

#[test]
fn invalid_template_inputs_fail_before_any_network_call() {
    let l = Local::start();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--stackset", "--state-bucket", "my-bucket"],
            "--state-bucket",
        ),
        (&["--tag", "team="], "--tag"),
        (&["-o", "/nonexistent-dir/t.yaml"], "-o"),
        (&["--format", "xml"], "--format"),
    ];
    for (extra, flag) in cases {
        let out = l.render(extra).expect_exit(64).run();
        assert!(out.stderr.contains(flag), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    }
    assert!(l.issuer.hits().is_empty(), "nothing was fetched");
}

#[test]
fn render_stackset_is_account_neutral() {
    let l = Local::start();
    let out = l
        .render(&[
            "--stackset",
            "--policy-arn",
            "arn:aws:iam::123456789012:policy/deploy",
        ])
        .expect_stderr_contains("each account attaches its own policy")
        .run();
    assert!(!out.stdout.contains("123456789012"), "no fixed account id");
    let t: Value = serde_norway::from_str(&out.stdout).unwrap();
    assert_eq!(
        t["Resources"]["DeployRole"]["Properties"]["ManagedPolicyArns"][0]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/deploy"
    );
}

#[test]
fn render_with_three_roles_holds_each_role_and_its_arn_output() {
    let l = Local::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bootstrap.toml");
    let other = "{1a2b3c4d-5555-4e6f-8a9b-0123456789ab}";
    std::fs::write(
        &config,
        format!(
            "[[role]]\nname = \"infra-plan\"\naccess = \"plan\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n\
             [[role]]\nname = \"infra-apply\"\nrepository-uuid = [\"{REPO_UUID}\"]\n\n\
             [[role]]\nname = \"app-cdk\"\naccess = \"cdk\"\nrepository-uuid = [\"{other}\"]\n"
        ),
    )
    .expect("write config");
    let out = Test::new()
        .args([
            "render".to_string(),
            "--endpoint-url".into(),
            format!("http://127.0.0.1:{}", unused_port()),
            "--issuer-url".into(),
            l.issuer.url(),
            "--ca-bundle".into(),
            l.pki.ca_bundle_arg(),
            "--workspace-uuid".into(),
            WORKSPACE_UUID.into(),
            "--config".into(),
            config.display().to_string(),
        ])
        .run();
    let t: Value = serde_norway::from_str(&out.stdout).expect("stdout is the YAML template");
    let res = &t["Resources"];
    let role = |id: &str| &res[id]["Properties"];
    assert_eq!(role("DeployRoleInfraPlan")["RoleName"], "infra-plan");
    assert_eq!(
        role("DeployRoleInfraPlan")["ManagedPolicyArns"],
        serde_json::json!([{ "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess" }])
    );
    assert_eq!(role("DeployRoleInfraApply")["RoleName"], "infra-apply");
    assert_eq!(
        role("DeployRoleAppCdk")["Policies"][0]["PolicyName"],
        "cdk-bootstrap-roles"
    );
    assert!(res.get("DeployRole").is_none(), "{res}");
    let sub = format!("{}:sub", l.issuer.host_path());
    assert_eq!(
        role("DeployRoleAppCdk")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
            ["StringLike"][sub.as_str()],
        format!("{other}:*")
    );
    let outputs = &t["Outputs"];
    for (output, id) in [
        ("RoleArnInfraPlan", "DeployRoleInfraPlan"),
        ("RoleArnInfraApply", "DeployRoleInfraApply"),
        ("RoleArnAppCdk", "DeployRoleAppCdk"),
    ] {
        assert_eq!(
            outputs[output]["Value"],
            serde_json::json!({ "Fn::GetAtt": [id, "Arn"] })
        );
    }
    assert!(outputs.get("RoleArn").is_none());
}

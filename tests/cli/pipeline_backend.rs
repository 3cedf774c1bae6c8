//! The backend.tf `bootstrap pipeline` writes, accepted by the real Terraform (`fmt -check`,
//! `init -backend=false`, `validate`) and admitting the releases its constraint names.

use crate::pipeline::{out_dir, pipeline, ACCOUNT};
use std::path::{Path, PathBuf};
use std::process::Command;

// --- backend.tf ------------------------------------------------------------------------

/// The `terraform` binary on PATH. These checks are how backend.tf is proven valid, so a
/// machine without Terraform fails them rather than skipping them.
fn terraform() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("terraform"))
                .find(|p| p.is_file())
        })
        .expect("terraform is not on PATH: the backend.tf checks (fmt -check, init -backend=false, validate) need Terraform 1.11 or later")
}

fn terraform_ok(tf: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(tf)
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_DATA_DIR", dir.join(".terraform"))
        .output()
        .expect("run terraform");
    assert!(
        out.status.success(),
        "terraform {args:?} failed\n--- stdout\n{}\n--- stderr\n{}\n--- backend.tf\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("backend.tf")).unwrap_or_default()
    );
}

/// backend.tf as written for `extra`, checked by terraform.
fn backend(extra: &[&str]) -> String {
    let dir = out_dir();
    pipeline(dir.path(), extra).run();
    // Only backend.tf in the directory Terraform checks.
    std::fs::remove_file(dir.path().join("bitbucket-pipelines.yml")).unwrap();
    let tf = terraform();
    terraform_ok(&tf, dir.path(), &["fmt", "-check", "-diff"]);
    terraform_ok(
        &tf,
        dir.path(),
        &["init", "-backend=false", "-input=false", "-no-color"],
    );
    terraform_ok(&tf, dir.path(), &["validate", "-no-color"]);
    std::fs::read_to_string(dir.path().join("backend.tf")).unwrap()
}

/// `name = value` pairs of the backend "s3" block, whitespace-insensitive.
pub fn attrs(hcl: &str) -> Vec<(String, String)> {
    let start = hcl.find("backend \"s3\" {").expect("an s3 backend block");
    hcl[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim() != "}")
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn backend_with_lock_table_and_kms_key() {
    let kms = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let hcl = backend(&["--kms-key", &kms, "--state-key-prefix", "infra/prod"]);
    let a = attrs(&hcl);
    let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // The default bucket name of a new setup: in the account regional namespace.
    assert_eq!(
        get("bucket"),
        Some(format!("\"terraform-state-{ACCOUNT}-eu-west-1-an\"").as_str())
    );
    assert_eq!(get("key"), Some("\"infra/prod/terraform.tfstate\""));
    // Other workspaces stay under the prefix the role may write (Terraform's default is
    // `env:` at the top of the bucket).
    assert_eq!(get("workspace_key_prefix"), Some("\"infra/prod/env:\""));
    assert_eq!(get("region"), Some("\"eu-west-1\""));
    assert_eq!(get("encrypt"), Some("true"));
    assert_eq!(get("use_lockfile"), Some("true"));
    assert_eq!(get("dynamodb_table"), Some("\"terraform-state-lock\""));
    assert_eq!(get("kms_key_id"), Some(format!("\"{kms}\"").as_str()));
}

#[test]
fn backend_without_lock_table() {
    let hcl = backend(&["--no-lock-table", "--state-bucket", "my-tf-state"]);
    let a = attrs(&hcl);
    let names: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "bucket",
            "key",
            "workspace_key_prefix",
            "region",
            "encrypt",
            "use_lockfile"
        ]
    );
    assert_eq!(a[0].1, "\"my-tf-state\"");
    assert_eq!(a[1].1, "\"terraform.tfstate\"");
    assert_eq!(a[2].1, "\"env:\"");
}

/// The `required_version` constraint of backend.tf.
fn required_version(hcl: &str) -> String {
    let line = hcl
        .lines()
        .find(|l| l.trim_start().starts_with("required_version"))
        .expect("backend.tf sets required_version");
    let (_, value) = line.split_once('=').expect("required_version = ...");
    value.trim().trim_matches('"').to_string()
}

fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v
        .trim()
        .split('.')
        .map(|p| p.parse::<u64>().expect("a number"));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// Whether `v` meets a Terraform/OpenTofu version constraint such as `>= 1.10.0, < 2.0.0`.
/// An operator this does not know fails the test rather than passing it.
fn satisfies(constraint: &str, v: &str) -> bool {
    constraint.split(',').all(|c| {
        let c = c.trim();
        let op_len = c.find(|ch: char| ch.is_ascii_digit()).expect("a version");
        let (op, want) = (c[..op_len].trim(), version(&c[op_len..]));
        let have = version(v);
        match op {
            ">=" => have >= want,
            ">" => have > want,
            "<=" => have <= want,
            "<" => have < want,
            "" | "=" => have == want,
            "!=" => have != want,
            other => panic!("constraint operator {other:?} not understood by this test"),
        }
    })
}

#[test]
fn backend_admits_opentofu_1_10_and_the_terraform_of_the_image() {
    let constraint = required_version(&backend(&[]));
    // OpenTofu 1.10 is its first release with use_lockfile; its version is what OpenTofu
    // checks required_version against.
    assert!(satisfies(&constraint, "1.10.0"), "{constraint}");
    assert!(satisfies(&constraint, "1.11.0"), "{constraint}");
    // Older releases do not know use_lockfile and must be refused by the constraint.
    assert!(!satisfies(&constraint, "1.9.1"), "{constraint}");
}

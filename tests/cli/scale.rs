//! Scale: one configuration with the most roles it accepts (100), through the AWS behaviour
//! layer at real-world time (IAM's throttling refills 10 writes a second after a burst of
//! 15, so 200 role writes are throttled for certain): `init` converges every role, the
//! throttled writes are retried, and a re-run writes nothing.

use std::fmt::Write;

use crate::common::fixture::{World, BUCKET, WORKSPACE_UUID};
use crate::common::inspect::Inspect;
use crate::common::Test;

#[test]
fn a_hundred_roles_converge_under_iam_throttling() {
    let w = World::start_at_scale("1");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("set = \"platform\"\n");
    for n in 0..100 {
        let _ = write!(
            text,
            "\n[[role]]\nname = \"repo-{n:03}\"\nrepository-uuid = [\"{{{n:08x}-2222-4e5f-8a9b-abcdefabcdef}}\"]\n"
        );
    }
    let config = dir.path().join("bootstrap.toml");
    std::fs::write(&config, text).expect("write config");
    let test = || {
        Test::new()
            .arg("init")
            .args(w.flags())
            .args(["--workspace-uuid", WORKSPACE_UUID, "--state-bucket", BUCKET])
            .arg("--config")
            .arg(&config)
            .args(["--yes", "-q"])
            .moto(&w.moto)
    };
    test().run();
    let throttled = w
        .moto
        .refusals()
        .iter()
        .filter(|(kind, _)| kind == "iam:Throttling")
        .count();
    assert!(throttled > 0, "the layer throttled no IAM write");
    let aws = Inspect::new(&w.moto.plain_endpoint());
    let mut roles = aws.role_names();
    roles.sort();
    let want: Vec<String> = (0..100).map(|n| format!("repo-{n:03}")).collect();
    assert_eq!(roles, want);
    for name in ["repo-000", "repo-057", "repo-099"] {
        assert_eq!(aws.inline_policy_names(name).len(), 1, "{name}");
        assert_eq!(aws.role_tags(name)["bootstrap-set"], "platform");
    }
    test().expect_no_writes().run();
}

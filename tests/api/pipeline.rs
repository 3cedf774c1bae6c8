//! The generated bitbucket-pipelines.yml in both shapes, one role and a plan/apply pair, in
//! every variant of the settings that changes its steps, validated against Atlassian's
//! published schema (`schema`, shared with the CLI tests).

use bootstrap::config::{Inputs, Settings};
use bootstrap::model::pipeline::{render_files, Pipeline, RoleChoice};
use bootstrap::model::{self, Account};

// The CLI tests' copy, where the harness's items are `pub` for every module of that binary.
#[allow(unreachable_pub)]
#[path = "../cli/common/schema.rs"]
mod schema;

const ENV: &str = "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba}";

fn base() -> Inputs {
    Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("6a3f1c2e-1111-4c9d-9a8b-0123456789ab".into()),
        repository_uuid: vec!["{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}".into()],
        ..Default::default()
    }
}

/// The settings variants: plain, IP-restricted, custom audiences, limited to an environment.
fn variants() -> Vec<(&'static str, Inputs)> {
    let mut ip = base();
    ip.source_ip = vec!["203.0.113.0/24".into()];
    let mut audiences = base();
    audiences.audience = vec![
        "sts.amazonaws.com".into(),
        "https://vault.example.com".into(),
    ];
    let mut env = base();
    env.environment_uuid = vec![ENV.into()];
    vec![
        ("plain", base()),
        ("source-ip", ip),
        ("audiences", audiences),
        ("environment", env),
    ]
}

#[test]
fn both_shapes_validate_against_the_schema_in_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    let account = Account {
        id: "210987654321".into(),
        partition: "aws".into(),
        region: "eu-west-1".into(),
    };
    let mut checked = 0;
    for (name, inputs) in variants() {
        let mut pair = inputs.clone();
        pair.plan_apply = Some(true);
        pair.environment_uuid = vec![ENV.into()];
        for (shape, inputs) in [("one", inputs), ("plan-apply", pair)] {
            let settings = Settings::from_inputs(inputs).unwrap();
            let d = model::desired(&settings, &account, &[], &[]).unwrap();
            let chosen = RoleChoice::of(&settings.roles.iter().collect::<Vec<_>>()).unwrap();
            assert_eq!(chosen.all().len(), if shape == "one" { 1 } else { 2 });
            let p = Pipeline::new(&settings, &chosen, Some("Production"), Some("release/*"));
            let files = render_files(&p.unwrap(), &chosen.arns(&d).unwrap(), &d).unwrap();
            let file = dir.path().join(format!("{name}-{shape}.yml"));
            std::fs::write(&file, &files.pipeline).unwrap();
            schema::assert_valid_pipeline(&file);
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

//! The pipeline for a plan role and an apply role, rendered and read back as YAML: which
//! pipeline runs which step, and which variable holds which role.

use serde_norway::Value as Yaml;

use super::*;
use crate::config::{Inputs, RoleInputs, Settings};
use crate::error::Kind;
use crate::model::{self, Account, DesiredState};

const PLAN: &str = "arn:aws:iam::210987654321:role/infra-plan";
const APPLY: &str = "arn:aws:iam::210987654321:role/infra-apply";
const REPO: &str = "{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}";
const ENV: &str = "{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba}";

fn inputs() -> Inputs {
    Inputs {
        workspace: Some("acme".into()),
        workspace_uuid: Some("6a3f1c2e-1111-4c9d-9a8b-0123456789ab".into()),
        ..Default::default()
    }
}

/// A `[[role]]` table of `access` named `name`, limited to `envs`.
fn table(name: &str, access: &str, envs: &[&str]) -> RoleInputs {
    RoleInputs {
        name: Some(name.into()),
        repository_uuid: vec![REPO.into()],
        environment_uuid: envs.iter().map(ToString::to_string).collect(),
        access: Some(access.into()),
        ..Default::default()
    }
}

/// The settings of `tables`.
fn tables(tables: Vec<RoleInputs>) -> Settings {
    Settings::from_inputs(Inputs {
        role: tables,
        ..inputs()
    })
    .unwrap()
}

/// infra-plan and infra-apply (limited to ENV), both with `source_ip`.
fn settings(source_ip: &[&str]) -> Settings {
    let mut plan = table("infra-plan", "plan", &[]);
    let mut apply = table("infra-apply", "apply", &[ENV]);
    plan.source_ip = source_ip.iter().map(ToString::to_string).collect();
    apply.source_ip.clone_from(&plan.source_ip);
    tables(vec![plan, apply])
}

/// The configured roles, chosen for the pipeline.
fn chosen(s: &Settings) -> Result<RoleChoice<'_>, crate::error::Error> {
    RoleChoice::of(&s.roles.iter().collect::<Vec<_>>())
}

fn desired(s: &Settings) -> DesiredState {
    let account = Account {
        id: "210987654321".into(),
        partition: "aws".into(),
        region: "eu-west-1".into(),
    };
    model::desired(s, &account, &[], &[]).unwrap()
}

fn pair() -> PipelineRoles {
    PipelineRoles::PlanApply {
        plan_arn: PLAN.into(),
        apply_arn: APPLY.into(),
    }
}

/// The pipeline for the pair, deploying to `Production` from `main`.
fn render(s: &Settings) -> String {
    let c = chosen(s).unwrap();
    let p = Pipeline::new(s, &c, Some("Production"), None).unwrap();
    let d = desired(s);
    assert_eq!(c.arns(&d).unwrap(), pair());
    render_files(&p, &pair(), &d).unwrap().pipeline
}

/// The step names of a pipeline, with `stage(DEPLOYMENT)` before the steps of a stage.
fn items(v: &Yaml) -> Vec<String> {
    let mut out = Vec::new();
    for item in v.as_sequence().expect("a pipeline is a list") {
        if let Some(step) = item.get("step") {
            out.push(step["name"].as_str().unwrap().to_string());
        } else {
            let stage = &item["stage"];
            out.push(format!("stage({})", stage["deployment"].as_str().unwrap()));
            out.extend(items(&stage["steps"]));
        }
    }
    out
}

#[test]
fn branches_and_pull_requests_plan_and_only_the_deployment_stage_applies() {
    let text = render(&settings(&[]));
    let doc: Yaml = serde_norway::from_str(&text).unwrap();
    let pipelines = &doc["pipelines"];
    assert_eq!(
        items(&pipelines["default"]),
        ["Terraform validate", "Terraform plan"]
    );
    assert_eq!(
        items(&pipelines["pull-requests"]["**"]),
        ["Terraform validate", "Terraform plan"]
    );
    assert_eq!(
        items(&pipelines["branches"]["main"]),
        [
            "Terraform validate",
            "stage(Production)",
            "Terraform plan",
            "Terraform apply"
        ]
    );
    // Nothing else runs: no other branch, tag or custom pipeline.
    let keys: Vec<&str> = pipelines
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["default", "pull-requests", "branches"]);
    assert_eq!(pipelines["branches"].as_mapping().unwrap().len(), 1);
}

/// The script lines of the step definition named `name`.
fn script(doc: &Yaml, name: &str) -> Vec<String> {
    let step = doc["definitions"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| &s["step"])
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap();
    step["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_plan_step_needs_no_state_write() {
    let doc: Yaml = serde_norway::from_str(&render(&settings(&[]))).unwrap();
    let plan = script(&doc, "Terraform plan");
    let terraform: Vec<&String> = plan.iter().filter(|l| l.starts_with("terraform")).collect();
    assert_eq!(
        terraform,
        [
            "terraform init -input=false",
            "terraform plan -input=false -out=tfplan"
        ],
        "plan reads the state and takes the lock (the default -lock=true), and writes none"
    );
}

#[test]
fn the_header_says_which_variable_holds_which_role() {
    let text = render(&settings(&[]));
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    let header = header.join("\n");
    let expected = format!(
        "Set these repository variables\n\
         # (Repository settings > Repository variables):\n\
         #   AWS_ROLE_ARN = {PLAN}\n\
         #   AWS_REGION   = eu-west-1\n\
         # and these deployment variables of the Production environment\n\
         # (Repository settings > Deployments):\n\
         #   AWS_ROLE_ARN = {APPLY}\n"
    );
    assert!(header.contains(&expected), "{header}");
    assert!(header.starts_with(&format!(
        "# Generated by `bootstrap pipeline` for the plan role {PLAN}\n# and the apply role {APPLY}."
    )));
    // Each ARN in the header twice (the summary line, its variable) and nowhere else.
    assert_eq!(text.matches(PLAN).count(), 2, "{text}");
    assert_eq!(text.matches(APPLY).count(), 2, "{text}");
}

#[test]
fn ip_restricted_pairs_run_every_aws_step_as_4x() {
    let doc: Yaml = serde_norway::from_str(&render(&settings(&["203.0.113.0/24"]))).unwrap();
    for step in doc["definitions"]["steps"].as_sequence().unwrap() {
        let step = &step["step"];
        let aws = step.get("oidc").is_some();
        assert_eq!(
            step.get("size").and_then(|s| s.as_str()),
            aws.then_some("4x")
        );
    }
}

#[test]
fn a_pair_needs_a_deployment_environment() {
    let s = settings(&[]);
    let e = Pipeline::new(&s, &chosen(&s).unwrap(), None, None).unwrap_err();
    assert_eq!(e.kind, Kind::Usage);
    assert!(e.hint.unwrap().contains("--deployment NAME"));
    // A role not limited to an environment needs none, and rendering a pair into its
    // pipeline is a bug, not a pipeline without a stage.
    let s = tables(vec![table("infra-plan", "plan", &[])]);
    let one = Pipeline::new(&s, &chosen(&s).unwrap(), None, None).unwrap();
    let e = render_files(&one, &pair(), &desired(&s)).unwrap_err();
    assert_eq!(e.kind, Kind::Failure);
    // The other checks still hold for a pair.
    let s = settings(&[]);
    let e = Pipeline::new(&s, &chosen(&s).unwrap(), Some("Production"), Some("**")).unwrap_err();
    assert!(e.message.contains("matches every branch"), "{}", e.message);
}

#[test]
fn only_one_role_or_a_plan_apply_pair_makes_a_pipeline() {
    let one = tables(vec![table("infra-apply", "apply", &[ENV])]);
    assert!(matches!(chosen(&one).unwrap(), RoleChoice::One(r) if r.name == "infra-apply"));
    // Either order of the pair.
    let pair = tables(vec![
        table("infra-apply", "apply", &[ENV]),
        table("infra-plan", "plan", &[]),
    ]);
    let RoleChoice::PlanApply { plan, apply } = chosen(&pair).unwrap() else {
        panic!("not a pair");
    };
    assert_eq!(
        (plan.name.as_str(), apply.name.as_str()),
        ("infra-plan", "infra-apply")
    );
    let refused = [
        (
            vec![
                table("a", "plan", &[]),
                table("b", "apply", &[ENV]),
                table("c", "cdk", &[]),
            ],
            "3 roles: a (plan), b (apply), c (cdk)",
        ),
        (
            vec![table("a", "apply", &[ENV]), table("b", "apply", &[ENV])],
            "2 roles",
        ),
        (
            vec![table("a", "plan", &[]), table("b", "apply", &[])],
            "apply role b is not limited to deployment environments",
        ),
        (
            vec![table("a", "plan", &[ENV]), table("b", "apply", &[ENV])],
            "plan role a is limited to deployment environments",
        ),
        (
            vec![
                table("x-plan", "plan", &[]),
                table("y-apply", "apply", &[ENV]),
            ],
            "the pipeline's plan and apply steps use one backend",
        ),
    ];
    for (roles, why) in refused {
        let e = chosen(&tables(roles)).unwrap_err();
        assert_eq!(e.kind, Kind::Usage, "{why}");
        assert!(e.message.contains(why), "{why}: {}", e.message);
    }
}

#[test]
fn placements_list_each_scope_once() {
    let s = settings(&[]);
    let one = PipelineRoles::One { arn: PLAN.into() };
    let branch_only = Pipeline::defaults(&[]);
    let staged = Pipeline::new(&s, &chosen(&s).unwrap(), Some("Prod 1"), None).unwrap();
    let repo = |arn: &str| Placement {
        scope: Scope::Repository,
        role_arn: arn.into(),
        region: Some("eu-west-1".into()),
    };
    assert_eq!(
        one.placements(branch_only.deployment.as_deref(), "eu-west-1"),
        [repo(PLAN)]
    );
    assert_eq!(
        one.placements(staged.deployment.as_deref(), "eu-west-1"),
        [Placement {
            scope: Scope::Deployment("Prod 1".into()),
            ..repo(PLAN)
        }]
    );
    assert_eq!(
        pair().placements(staged.deployment.as_deref(), "eu-west-1"),
        [
            repo(PLAN),
            Placement {
                scope: Scope::Deployment("Prod 1".into()),
                role_arn: APPLY.into(),
                region: None,
            }
        ]
    );
    assert_eq!(
        Scope::Deployment("Prod 1".into()).kind(),
        "deployment variables of the Prod 1 environment"
    );
}

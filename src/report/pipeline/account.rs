//! `pipeline`'s body for one account: the files written for the settings' roles and the
//! Bitbucket variables to set.

use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::shared::{kept_text, variables_text, KeptFile};
use super::Paint;
use crate::bitbucket::variables::VariableState;
use crate::model::pipeline::{Pipeline, PipelineRoles, Placement, Scope};
use crate::model::{Account, DesiredState};

/// One file `pipeline` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: String,
    /// `bitbucket-pipelines` or `terraform-backend`.
    pub kind: &'static str,
}

/// The variables to set in Bitbucket, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Variables {
    /// `deployment` (variables of the deployment environment) or `repository`.
    pub scope: &'static str,
    pub deployment: Option<String>,
    #[serde(rename = "AWS_ROLE_ARN")]
    pub aws_role_arn: String,
    /// Absent where the steps read the region from the repository variable.
    #[serde(rename = "AWS_REGION", skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<String>,
}

impl Variables {
    fn of(p: &Placement) -> Self {
        let (scope, deployment) = match &p.scope {
            Scope::Repository => ("repository", None),
            Scope::Deployment(env) => ("deployment", Some(env.clone())),
        };
        Variables {
            scope,
            deployment,
            aws_role_arn: p.role_arn.clone(),
            aws_region: p.region.clone(),
        }
    }
}

/// The files for the settings' roles in one account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountBody {
    /// The files written.
    pub files: Vec<WrittenFile>,
    /// The files that existed and were left as they are.
    pub kept: Vec<KeptFile>,
    /// The roles the steps assume: `{"kind": "one", "arn"}` or
    /// `{"kind": "plan_apply", "plan_arn", "apply_arn"}`.
    pub roles: PipelineRoles,
    /// The variables of the first scope: the one role's, or the plan role's repository
    /// variables.
    pub variables: Variables,
    /// For a plan/apply pair: the apply role's deployment variables, which override the
    /// repository variables in the deployment stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_variables: Option<Variables>,
    /// The one role (absent for a plan/apply pair: see `roles`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub state_bucket: String,
    /// The backend's key (absent for a `cdk` role, which has no Terraform state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_key: Option<String>,
    pub lock_table: Option<String>,
    pub ip_restricted: bool,
    pub custom_audiences: Vec<String>,
    pub account: Account,
    pub aws_calls: Value,
    /// Every scope's variables, in the order the text shows them.
    #[serde(skip)]
    pub placements: Vec<Placement>,
    /// With `--set-variables`: each managed variable in Bitbucket, as found and what was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitbucket_variables: Option<Vec<VariableState>>,
}

impl AccountBody {
    /// The result of writing `pipeline_path` and `backend_path` (none for a `cdk` role) for
    /// `p`, `roles` and `d`; `state_prefix` is the backend's key prefix.
    pub fn new(
        p: &Pipeline,
        roles: &PipelineRoles,
        d: &DesiredState,
        files: (String, Option<String>),
        state_prefix: Option<&str>,
        aws_calls: Value,
    ) -> Self {
        let placements = roles.placements(p.deployment.as_deref(), &d.account.region);
        let (pipeline_path, backend_path) = files;
        let mut written = vec![WrittenFile {
            path: pipeline_path,
            kind: "bitbucket-pipelines",
        }];
        written.extend(backend_path.map(|path| WrittenFile {
            path,
            kind: "terraform-backend",
        }));
        AccountBody {
            files: written,
            kept: Vec::new(),
            roles: roles.clone(),
            variables: Variables::of(&placements[0]),
            deployment_variables: placements.get(1).map(Variables::of),
            role_arn: match roles {
                PipelineRoles::One { arn } => Some(arn.clone()),
                PipelineRoles::PlanApply { .. } => None,
            },
            state_bucket: d.bucket.name.clone(),
            state_key: state_prefix.map(crate::model::state::state_key),
            lock_table: d.table.as_ref().map(|t| t.name.clone()),
            ip_restricted: p.ip_restricted,
            custom_audiences: p.custom_audiences.clone(),
            account: d.account.clone(),
            aws_calls,
            placements,
            bitbucket_variables: None,
        }
    }

    /// `path` existed: it is not written, and its would-be `content` is shown instead.
    pub fn keep(&mut self, path: &str, content: &str) {
        if let Some(i) = self.files.iter().position(|f| f.path == path) {
            let f = self.files.remove(i);
            self.kept.push(KeptFile {
                path: f.path,
                kind: f.kind,
                content: content.to_string(),
            });
        }
    }

    /// Which role runs where, for a plan/apply pair.
    fn split_text(&self, text: &mut String) {
        let (PipelineRoles::PlanApply { .. }, Some(env)) =
            (&self.roles, &self.deployment_variables)
        else {
            return;
        };
        let env = env.deployment.as_deref().unwrap_or_default();
        let _ = writeln!(
            text,
            "\nBranches and pull requests plan with the plan role; the {env} deployment stage plans and applies with the apply role."
        );
    }

    /// The variables to set, scope by scope.
    fn variables_text(&self, text: &mut String) {
        for (i, v) in self.placements.iter().enumerate() {
            let lead = if i == 0 { "\nIn Bitbucket, set" } else { "and" };
            let _ = writeln!(
                text,
                "{lead} these {} ({}):",
                v.scope.kind(),
                v.scope.place()
            );
            let _ = writeln!(text, "  AWS_ROLE_ARN = {}", v.role_arn);
            if let Some(region) = &v.region {
                let _ = writeln!(text, "  AWS_REGION   = {region}");
            }
        }
        if self.placements.len() > 1 {
            let _ = writeln!(
                text,
                "A deployment variable overrides the repository variable of the same name in the steps of its environment."
            );
        }
    }
}

impl AccountBody {
    pub(super) fn text(&self, _paint: Paint) -> String {
        let mut text = String::new();
        for f in &self.files {
            let _ = writeln!(text, "wrote {}", f.path);
        }
        kept_text(&self.kept, &mut text);
        self.split_text(&mut text);
        match &self.bitbucket_variables {
            Some(states) => {
                let _ = write!(text, "\nBitbucket variables:\n{}", variables_text(states));
            }
            None => self.variables_text(&mut text),
        }
        if self.ip_restricted {
            let roles = if self.roles.is_plan_apply() {
                "The roles are"
            } else {
                "The role is"
            };
            let _ = writeln!(
                text,
                "\n{roles} IP-restricted: the steps run as size 4x with atlassian-ip-ranges (billed at 4x)."
            );
        }
        if !self.custom_audiences.is_empty() {
            let _ = writeln!(
                text,
                "The steps ask for the custom audiences {}.",
                self.custom_audiences.join(", ")
            );
        }
        let _ = writeln!(
            text,
            "\nCommit {}. Check a step's token against the role with `bootstrap verify --token FILE`.",
            if self.files.len() == 1 { "the file" } else { "both files" }
        );
        text
    }
}

#[cfg(test)]
mod tests {
    use super::super::PipelineReport;
    use super::*;
    use crate::config::{Inputs, Settings};
    use crate::model::pipeline::RoleChoice;
    use crate::report::Report;

    const PLAN: &str = "arn:aws:iam::210987654321:role/infra-plan";
    const APPLY: &str = "arn:aws:iam::210987654321:role/infra-apply";

    /// The report of writing the files for `roles`, deploying to `Production` for a pair.
    fn report(roles: PipelineRoles) -> PipelineReport {
        let mut inputs = Inputs {
            workspace: Some("acme".into()),
            workspace_uuid: Some("6a3f1c2e-1111-4c9d-9a8b-0123456789ab".into()),
            repository_uuid: vec!["{0f6b3c1d-2222-4e5f-8a9b-abcdefabcdef}".into()],
            ..Default::default()
        };
        if roles.is_plan_apply() {
            inputs.plan_apply = Some(true);
            inputs.environment_uuid = vec!["{7c8d9e0f-3333-4a1b-9c2d-fedcbafedcba}".into()];
        }
        let s = Settings::from_inputs(inputs).unwrap();
        let account = Account {
            id: "210987654321".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        let d = crate::model::desired(&s, &account, &[], &[]).unwrap();
        let chosen = RoleChoice::of(&s.roles.iter().collect::<Vec<_>>()).unwrap();
        let deployment = roles.is_plan_apply().then_some("Production");
        let p = Pipeline::new(&s, &chosen, deployment, None).unwrap();
        let files = (
            "out/bitbucket-pipelines.yml".into(),
            Some("out/backend.tf".into()),
        );
        PipelineReport::Account(Box::new(AccountBody::new(
            &p,
            &roles,
            &d,
            files,
            Some(""),
            serde_json::json!({"total": 0}),
        )))
    }

    fn pair() -> PipelineRoles {
        PipelineRoles::PlanApply {
            plan_arn: PLAN.into(),
            apply_arn: APPLY.into(),
        }
    }

    #[test]
    fn a_pair_names_both_roles_and_where_each_goes_in_text() {
        let text = report(pair()).text(Paint::NONE);
        let expected = format!(
            "wrote out/bitbucket-pipelines.yml\n\
             wrote out/backend.tf\n\
             \n\
             Branches and pull requests plan with the plan role; the Production deployment stage plans and applies with the apply role.\n\
             \n\
             In Bitbucket, set these repository variables (Repository settings > Repository variables):\n\
             \x20 AWS_ROLE_ARN = {PLAN}\n\
             \x20 AWS_REGION   = eu-west-1\n\
             and these deployment variables of the Production environment (Repository settings > Deployments):\n\
             \x20 AWS_ROLE_ARN = {APPLY}\n\
             A deployment variable overrides the repository variable of the same name in the steps of its environment.\n"
        );
        assert!(text.starts_with(&expected), "{text}");
    }

    #[test]
    fn a_pair_names_both_roles_and_where_each_goes_in_json() {
        let doc = serde_json::to_value(report(pair())).unwrap();
        assert_eq!(
            doc["roles"],
            serde_json::json!({"kind": "plan_apply", "plan_arn": PLAN, "apply_arn": APPLY})
        );
        assert_eq!(
            doc["variables"],
            serde_json::json!({"scope": "repository", "deployment": null, "AWS_ROLE_ARN": PLAN, "AWS_REGION": "eu-west-1"})
        );
        assert_eq!(
            doc["deployment_variables"],
            serde_json::json!({"scope": "deployment", "deployment": "Production", "AWS_ROLE_ARN": APPLY})
        );
        assert!(doc.get("role_arn").is_none(), "{doc}");
    }

    #[test]
    fn one_role_keeps_its_document_and_text() {
        let r = report(PipelineRoles::One { arn: PLAN.into() });
        let doc = serde_json::to_value(&r).unwrap();
        assert_eq!(doc["role_arn"], PLAN);
        assert_eq!(doc["variables"]["AWS_ROLE_ARN"], PLAN);
        assert_eq!(
            doc["roles"],
            serde_json::json!({"kind": "one", "arn": PLAN})
        );
        assert!(doc.get("deployment_variables").is_none(), "{doc}");
        let text = r.text(Paint::NONE);
        assert!(text.contains(&format!(
            "\n\nIn Bitbucket, set these repository variables (Repository settings > Repository variables):\n  AWS_ROLE_ARN = {PLAN}\n  AWS_REGION   = eu-west-1\n\n"
        )), "{text}");
        assert!(!text.contains("plan role"), "{text}");
    }
}

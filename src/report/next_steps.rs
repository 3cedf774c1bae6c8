//! What to do after `init` (both modes): the Bitbucket variables, the pipeline step and the
//! Terraform backend block.

use std::fmt::Write;

use serde::Serialize;

/// The repository variables a pipeline step needs.
#[derive(Debug, Clone, Serialize)]
pub struct Variables {
    #[serde(rename = "AWS_ROLE_ARN")]
    pub role_arn: String,
    #[serde(rename = "AWS_REGION")]
    pub region: String,
}

/// One configured role, for the "Next:" block of a configuration with several.
#[derive(Debug, Clone, Serialize)]
pub struct RoleArn {
    pub name: String,
    pub access: &'static str,
    pub arn: String,
    /// The deployment environments it trusts only (empty: every step of its repositories),
    /// whose deployment variables then hold its ARN.
    pub environments: Vec<String>,
}

impl RoleArn {
    /// Where its ARN goes in Bitbucket.
    fn place(&self) -> String {
        match self.environments.as_slice() {
            [] => "repository variable".to_string(),
            [one] => format!("deployment variable of environment {one}"),
            many => format!("deployment variable of environments {}", many.join(", ")),
        }
    }
}

/// `init`'s "Next:" block; serialized, its `next_steps` document.
#[derive(Debug, Clone, Serialize)]
pub struct NextSteps {
    /// The variables of a one-role configuration (the first role's ARN with several).
    pub variables: Variables,
    /// Every role with its ARN: with several, each repository or deployment environment sets
    /// AWS_ROLE_ARN to the one it uses.
    pub roles: Vec<RoleArn>,
    /// A Bitbucket step with `oidc: true` that hands the token to the AWS SDKs.
    pub pipeline_step: String,
    /// The `terraform { backend "s3" { ... } }` block.
    pub backend: String,
    /// The step asks for custom audiences (the text says so instead of `oidc: true`).
    #[serde(skip)]
    pub custom_audiences: bool,
}

impl NextSteps {
    /// The block as people read it, after `init`'s summary.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let oidc = if self.custom_audiences {
            "these OpenID Connect audiences"
        } else {
            "`oidc: true`"
        };
        match self.roles.as_slice() {
            [one] if !one.environments.is_empty() => {
                let _ = writeln!(
                    text,
                    "\nNext: in Bitbucket, set these deployment variables of the {} (Repository settings > Deployments):",
                    one.place().trim_start_matches("deployment variable of ")
                );
                let _ = writeln!(text, "  AWS_ROLE_ARN = {}", self.variables.role_arn);
                let _ = writeln!(text, "  AWS_REGION   = {}", self.variables.region);
                let _ = writeln!(
                    text,
                    "The role trusts deployment steps only: give the deploying step {oidc} and, in `deployment:`, the name of that environment:\n"
                );
            }
            [_] | [] => {
                let _ = writeln!(
                    text,
                    "\nNext: in Bitbucket, set these repository variables (Repository settings > Repository variables):"
                );
                let _ = writeln!(text, "  AWS_ROLE_ARN = {}", self.variables.role_arn);
                let _ = writeln!(text, "  AWS_REGION   = {}", self.variables.region);
                let _ = writeln!(text, "and give the deploying step {oidc}:\n");
            }
            _ => self.roles_text(&mut text, oidc),
        }
        for l in self.pipeline_step.lines() {
            let _ = writeln!(text, "  {l}");
        }
        let _ = writeln!(text, "\nTerraform backend:\n");
        for l in self.backend.lines() {
            let _ = writeln!(text, "  {l}");
        }
        let _ = writeln!(
            text,
            "\n`bootstrap pipeline --out-dir DIR{}` writes bitbucket-pipelines.yml and backend.tf for these settings.",
            if self.roles.len() > 1 { " --role NAME" } else { "" }
        );
        text
    }

    /// Several roles: each one's ARN goes where the steps that use it read AWS_ROLE_ARN.
    fn roles_text(&self, text: &mut String, oidc: &str) {
        let _ = writeln!(
            text,
            "\nNext: in Bitbucket, set AWS_ROLE_ARN for each role where its steps read it: a repository variable (Repository settings > Repository variables) for a role of every step, a deployment variable (Repository settings > Deployments) for a role limited to environments:"
        );
        let width = self.roles.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let place_width = self
            .roles
            .iter()
            .map(|r| r.place().len())
            .max()
            .unwrap_or(0);
        for r in &self.roles {
            let _ = writeln!(
                text,
                "  {:width$}  {:5}  {:place_width$}  AWS_ROLE_ARN = {}",
                r.name,
                r.access,
                r.place(),
                r.arn
            );
        }
        let _ = writeln!(
            text,
            "and everywhere:\n  AWS_REGION   = {}",
            self.variables.region
        );
        let limited = self.roles.iter().any(|r| !r.environments.is_empty());
        let _ = writeln!(
            text,
            "Give each step that deploys with one of these roles {oidc}{}:\n",
            if limited {
                " (and, for a role limited to environments, `deployment:` naming one of them)"
            } else {
                ""
            }
        );
    }
}
